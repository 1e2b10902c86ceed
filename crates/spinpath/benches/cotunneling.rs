//! Benchmarks of the cotunnelling approach (issue 12): the cost per bias point (rates + steady
//! state + currents) of sequential + cotunnelling rates against the Pauli rates alone, on a single
//! spinful level (4 states) and on the memristive preset (64 states, inside the Coulomb gap).
//!
//! Run: `cargo bench -p spinpath --bench cotunneling -- --quick`

use criterion::{criterion_group, criterion_main, Criterion};
use spinpath::engine::cotunneling::CotunnelingPrepared;
use spinpath::engine::{Kernel, Prepared};
use spinpath::master::steady::{self, SteadyOptions};
use spinpath::master::{Dot, DotModel, ExchangeField, Lead, Magnet, Orbital, PointResult, RateSet};
use std::hint::black_box;

fn level() -> DotModel {
    let lead = |g: f64| Lead {
        gamma_mev: vec![g],
        polarization: 0.3,
        spin_accumulation_mev: 0.0,
        temperature_k: 4.2,
    };
    DotModel {
        dots: vec![Dot {
            name: "d".into(),
            charging_mev: 40.0,
        }],
        orbitals: vec![Orbital {
            dot: 0,
            energy_mev: -15.0,
            lever_arm: 0.0,
            zeeman_mev: 0.3,
            exchange_p_mev: 0.0,
            exchange_ap_mev: 0.0,
        }],
        inter_dot_mev: vec![vec![0.0]],
        leads: [lead(0.05), lead(0.05)],
        exchange_field: ExchangeField::None,
    }
}

fn memristive() -> DotModel {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/memristive-cb.toml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let (mut m, _) = spinpath::master::spec::load(path, &text).unwrap();
    for l in &mut m.leads {
        l.temperature_k = 4.2;
    }
    m
}

fn point(rates: &RateSet) -> f64 {
    let p = steady::solve(rates, &SteadyOptions::default()).unwrap();
    PointResult::from_probabilities(rates, p).current_na
}

fn bench(c: &mut Criterion) {
    for (name, model, bias) in [
        ("level_4_states", level(), 5.0),
        ("preset_64_states", memristive(), -50.0),
    ] {
        let prepared = CotunnelingPrepared::from_model(model.clone(), Magnet::P).unwrap();
        c.bench_function(&format!("cotunneling/{name}"), |b| {
            b.iter(|| {
                let Kernel::Rates(r) = prepared.kernel(black_box(bias)).unwrap() else {
                    unreachable!()
                };
                point(&r)
            })
        });
        c.bench_function(&format!("pauli/{name}"), |b| {
            b.iter(|| point(&RateSet::build(&model, black_box(bias), Magnet::P)))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
