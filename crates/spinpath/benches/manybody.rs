//! Benchmarks of the many-body approaches (issue 11): one bias point (diagonalisation, kernel,
//! steady state and currents) of the 16-state serial double dot of `examples/double-dot.toml`
//! under Pauli (eigenbasis), 1vN and Redfield, collinear (P) and at 90° (1vN).
//!
//! Run: `cargo bench -p spinpath --bench manybody -- --quick`

use criterion::{criterion_group, criterion_main, Criterion};
use spinpath::engine::dynamics::{Dynamics, SteadyState};
use spinpath::engine::{ApproachKind, ApproachSettings};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/double-dot.toml"
    ))
    .unwrap();
    let (device, _, _) = spinpath::master::spec::load_device("double-dot.toml", &text).unwrap();
    let mut tilted = device.states[0].clone();
    tilted.angle_deg = 90.0;
    let cases = [
        ("pauli", device.states[0].clone()),
        ("1vn", device.states[0].clone()),
        ("redfield", device.states[0].clone()),
        ("1vn", tilted),
    ];
    for (name, state) in cases {
        let approach = ApproachKind::from_name(name)
            .unwrap()
            .build(&ApproachSettings::default());
        let prepared = approach.prepare(&device, &state).unwrap();
        let mut steady = SteadyState::default();
        c.bench_function(
            &format!(
                "double dot 16 states, {name}, {} deg: one bias point",
                state.angle_deg
            ),
            |b| {
                b.iter(|| {
                    let k = prepared.kernel(black_box(-1.3)).unwrap();
                    black_box(steady.step(&k, 0.0).unwrap().current_na)
                })
            },
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
