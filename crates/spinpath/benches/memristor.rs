//! Benchmarks of paper 2's write mechanism (issue 14): the gate-resolved kinetics of one bias
//! point (two conditional steady states of the C5 model) and one full write/read cycle
//! (4 803 readings at 0.25 mV, cached kinetics).
//!
//! Run: `cargo bench -p spinpath --bench memristor -- --quick`

use criterion::{criterion_group, criterion_main, Criterion};
use spinpath::master::model::Magnet;
use spinpath::reproduce::memristor::{
    gate_junction, write_read, GateKinetics, WriteReadOptions, C5_DEVICE,
};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let (model, _) = spinpath::master::spec::load("memristor-c5.toml", C5_DEVICE).unwrap();
    let gate = model.dot_index("gate").unwrap();
    c.bench_function("gate kinetics, one bias point (uncached)", |b| {
        let mut v = -250.0;
        let mut k = GateKinetics::new(model.clone(), gate, Magnet::P).unwrap();
        b.iter(|| {
            v += 1e-6; // a new bias each time: no cache hit
            black_box(k.point(v).unwrap())
        })
    });
    let mut j = gate_junction("memristor-c5.toml", C5_DEVICE, 1).unwrap();
    let o = WriteReadOptions {
        cycles: 1,
        ..WriteReadOptions::default()
    };
    // Warm the kinetics cache, as in a run of many cycles.
    write_read(&mut j, &o, 1, &|| {}).unwrap();
    let mut seed = 0;
    c.bench_function(
        "write/read cycle (reset, write, read; cached kinetics)",
        |b| {
            b.iter(|| {
                seed += 1;
                black_box(write_read(&mut j, &o, seed, &|| {}).unwrap())
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
