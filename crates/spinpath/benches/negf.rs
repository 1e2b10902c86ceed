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
}

/// One bias point of the spin-engine preset (P): quadrature, closed form, and a spectrum.
fn single_bias(c: &mut Criterion) {
    let run = preset();
    let solver = &ChainSolver::new(&run.chain, &run.states[0]).expect("valid");
    let mut g = c.benchmark_group("spin_engine_single_bias");
    g.bench_function("bias_point_V=0.5mV", |b| {
        b.iter(|| black_box(solver.bias_point(black_box(0.5), &run.integration)))
    });
    g.bench_function("bias_point_exact_V=0.5mV (poles + digamma)", |b| {
        b.iter(|| black_box(solver.bias_point_exact(black_box(0.5)).expect("collinear")))
    });
    // The whole 2001-point P curve in closed form on one core: the poles are tracked from point
    // to point (`sweep_bias` with method = "poles"); divide by 2001 for the cost per bias point.
    let exact = ChainSolver::new(&run.chain, &run.states[0])
        .expect("valid")
        .with_closed_form(true);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    g.bench_function("curve_2001_points_exact_one_core (tracked poles)", |b| {
        b.iter(|| {
            one.install(|| black_box(sweep_bias(&exact, &run.bias_mv, &run.integration, &|| {})))
        })
    });
    let energies: Vec<f64> = (0..1000).map(|k| -20.0 + 0.04 * k as f64).collect();
    g.bench_function("spectrum_1000_energies_with_dos", |b| {
        b.iter(|| black_box(solver.spectrum(0.5, &energies)))
    });
    g.finish();
}

/// A collinear chain of `n` sites (spinterface-like ends, disordered middle), both leads 2 meV wide,
/// 30 K, lever arms dropping linearly from ½ to −½.
fn long_chain(n: usize) -> ChainSolver {
    use spinpath::model::{Axis, Chain, Lead, MagneticState, Site};
    let sites = (0..n)
        .map(|j| Site {
            name: format!("s{j}"),
            energy: 0.3 * ((j * 7 % 11) as f64 - 5.0),
            splitting: if j % 3 == 0 { 0.4 } else { 0.0 },
            axis: Axis::Left,
            lever_arm: 0.5 - j as f64 / (n - 1) as f64,
        })
        .collect();
    let lead = |site| Lead {
        site,
        width: 2.0,
        polarization: 0.4,
        spin_accumulation: 0.0,
        temperature: 30.0,
    };
    let chain = Chain::new(sites, vec![1.5; n - 1], lead(0), lead(n - 1)).expect("valid");
    ChainSolver::new(&chain, &MagneticState::parallel()).expect("valid")
}

/// Cost per bias point against chain length (issue 18 item 2): quadrature and closed form.
fn chain_length(c: &mut Criterion) {
    let opts = spinpath::negf::Integration::default();
    let mut g = c.benchmark_group("chain_length_per_bias_point");
    g.sample_size(10);
    for n in [16usize, 64, 256] {
        let s = long_chain(n);
        g.bench_function(format!("quadrature_N={n}"), |b| {
            b.iter(|| black_box(s.bias_point(black_box(1.0), &opts)))
        });
        g.bench_function(format!("exact_N={n}"), |b| {
            b.iter(|| black_box(s.bias_point_exact(black_box(1.0)).expect("collinear")))
        });
        // 16 consecutive bias points (1.00 … 1.15 mV) with the poles tracked from point to point;
        // divide by 16 for the cost per bias point along a sweep.
        let mut scratch = spinpath::negf::poles::PoleScratch::tracking();
        g.bench_function(format!("exact_tracked_16_points_N={n}"), |b| {
            b.iter(|| {
                for k in 0..16 {
                    let v = 1.0 + 0.01 * k as f64;
                    black_box(
                        s.bias_point_exact_with(black_box(v), &mut scratch)
                            .expect("collinear"),
                    );
                }
            })
        });
        g.bench_function(format!("resonances_N={n}"), |b| {
            b.iter(|| black_box(s.resonances(black_box(1.0))))
        });
    }
    g.finish();
}

criterion_group!(benches, single_bias, chain_length, iv_curves);
criterion_main!(benches);
