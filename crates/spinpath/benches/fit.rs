//! Benchmark of a spin-engine fit: two 400-point I(V) curves (P and AP), 7 free parameters.
//! Run with `cargo bench -p spinpath --bench fit`; figures in docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use spinpath::config::parse_coherent_run;
use spinpath::fit::expr::Expr;
use spinpath::fit::models::SpinEngineModel;
use spinpath::fit::params::{Param, Parameters};
use spinpath::fit::{fit, Dataset, FitModel, FitOptions};
use spinpath::negf::Integration;

fn fit_bench(c: &mut Criterion) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/spin-engine.toml"
    );
    let run =
        parse_coherent_run(path, &std::fs::read_to_string(path).expect("preset")).expect("parses");
    let spec = run.spin_engine.expect("spin engine");
    let integration = Integration {
        rel_tol: 1e-8,
        ..run.integration
    };
    let gen = SpinEngineModel::new(
        spec,
        &Parameters::new(vec![]).expect("empty"),
        &["P", "AP"],
        integration,
    )
    .expect("model");
    let x: Vec<f64> = (0..400).map(|k| -5.0 + 10.0 * k as f64 / 399.0).collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let data: Vec<Dataset> = ["P", "AP"]
        .iter()
        .enumerate()
        .map(|(d, s)| Dataset {
            name: s.to_string(),
            y: gen
                .predict(&[], d, &x)
                .expect("predict")
                .iter()
                .map(|y| y + 0.005 * (rng.random_range(-1.0..1.0) + rng.random_range(-1.0..1.0)))
                .collect(),
            x: x.clone(),
            sigma: Some(vec![0.005; x.len()]),
        })
        .collect();
    let params = Parameters::new(vec![
        Param::new("spin_accumulation_meV", 7.0).bounds(0.0, 20.0),
        Param::new("polarization_left", 0.3).bounds(-1.0, 1.0),
        Param::new("accumulation_ratio_right", 0.25).bounds(-1.0, 1.0),
        Param::new("P.dimer_energy_meV", -2.0).bounds(-6.0, 2.0),
        Param::new("P.dimer_asymmetry_meV", 0.4).bounds(-2.0, 2.0),
        Param::new("delta", 3.0).bounds(0.0, 6.0),
        Param::new("AP.dimer_energy_meV", 0.0)
            .tied(Expr::parse("P.dimer_energy_meV + delta").expect("expr")),
        Param::new("AP.dimer_asymmetry_meV", -0.6).bounds(-2.0, 2.0),
    ])
    .expect("params");
    let model = SpinEngineModel::new(spec, &params, &["P", "AP"], integration).expect("model");
    let r = fit(&model, &params, &data, &FitOptions::default(), &|_| {}).expect("fit");
    eprintln!(
        "7-parameter fit of 2 × 400 points: {} model evaluations, reduced χ² {:.3}, success {}",
        r.evaluations, r.reduced_chi2, r.success
    );
    let mut g = c.benchmark_group("spin_engine_fit");
    g.sample_size(10);
    g.bench_function("2x400_points_7_free_parameters", |b| {
        b.iter(|| fit(&model, &params, &data, &FitOptions::default(), &|_| {}).expect("fit"))
    });
    g.finish();
}

criterion_group!(benches, fit_bench);
criterion_main!(benches);
