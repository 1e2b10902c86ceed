//! Benchmarks of the coherent engine (criterion). Run with
//! `cargo bench -p spinpath --bench negf`; figures are recorded in docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion};
use spinpath::config::parse_coherent_run;
use spinpath::negf::ChainSolver;
use spinpath::sweep::sweep_bias;
use std::hint::black_box;

fn preset() -> spinpath::config::CoherentRun {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/spin-engine.toml"
    );
    parse_coherent_run(path, &std::fs::read_to_string(path).expect("preset exists"))
        .expect("preset parses")
}

fn iv_curves(c: &mut Criterion) {
    let run = preset();
    assert_eq!(run.bias_mv.len(), 2001);
    assert_eq!(run.integration.rel_tol, 1e-6);
    let solvers: Vec<ChainSolver> = run
        .states
        .iter()
        .map(|s| ChainSolver::new(&run.chain, s).expect("valid"))
        .collect();
    let sweep_all = || -> usize {
        solvers
            .iter()
            .map(|s| {
                sweep_bias(s, &run.bias_mv, &run.integration, &|| {})
                    .iter()
                    .map(|p| p.evaluations)
                    .sum::<usize>()
            })
            .sum()
    };
    let evaluations = sweep_all();
    eprintln!("2001-point I(V) in P and AP at rel_tol 1e-6: {evaluations} energy points in total");

    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let mut g = c.benchmark_group("spin_engine_iv_2001x2");
    g.sample_size(10);
    g.bench_function("one_core", |b| {
        b.iter(|| one.install(|| black_box(sweep_all())))
    });
    g.bench_function("all_cores", |b| b.iter(|| black_box(sweep_all())));
    g.finish();

    let solver = &solvers[0];
    let mut g = c.benchmark_group("spin_engine_single_bias");
    g.bench_function("bias_point_V=0.5mV", |b| {
        b.iter(|| black_box(solver.bias_point(black_box(0.5), &run.integration)))
    });
    let energies: Vec<f64> = (0..1000).map(|k| -20.0 + 0.04 * k as f64).collect();
    g.bench_function("spectrum_1000_energies_with_dos", |b| {
        b.iter(|| black_box(solver.spectrum(0.5, &energies)))
    });
    g.finish();
}

criterion_group!(benches, iv_curves);
criterion_main!(benches);
