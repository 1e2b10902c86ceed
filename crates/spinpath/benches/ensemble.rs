//! Benchmark of device ensembles (issue 17): sampling one junction's carbon (100 nm² × 2.5 nm,
//! 13 824 O sites at 0.05 % C) with its pairs, and one whole junction with a spin-engine candidate
//! run through the engine (81 biases × 2 states).
//! Run with `cargo bench -p spinpath --bench ensemble`; figures in docs/performance.md.

use criterion::{criterion_group, criterion_main, Criterion};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use spinpath::ensemble::{self, lattice};
use std::hint::black_box;

fn ensemble_bench(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ensemble.toml");
    let f =
        ensemble::parse(path, &std::fs::read_to_string(path).expect("example")).expect("parses");
    let slab = f.spec.slab();
    let p = f.spec.carbon_concentration_percent / 100.0;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    c.bench_function("ensemble: sample C sites and pairs of one junction", |b| {
        b.iter(|| {
            let atoms = lattice::sample_sites(&slab, p, &mut rng);
            black_box(lattice::pairs(&slab, &atoms).len())
        })
    });
    // The first junction of seed 1 with a spin-engine candidate.
    let with_engine = (0..10_000)
        .find(|&i| {
            ensemble::junction(&f, 1, i)
                .map(|j| j.engine_candidates > 0)
                .unwrap_or(false)
        })
        .expect("a candidate among 10^4 junctions");
    let mut g = c.benchmark_group("ensemble");
    g.sample_size(20);
    g.bench_function("junction with a spin-engine candidate (engine run)", |b| {
        b.iter(|| black_box(ensemble::junction(&f, 1, with_engine).expect("runs")))
    });
    g.finish();
}

criterion_group!(benches, ensemble_bench);
criterion_main!(benches);
