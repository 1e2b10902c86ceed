//! Benchmarks of the interacting-dot engine (issue 3): steady state of a spinful double dot
//! (16 states), a 6-orbital steady state (4096 states, sparse), a transient step of the preset
//! (64 states), and Monte Carlo tunnelling events per second.
//!
//! Run: `cargo bench -p spinpath --bench master -- --quick`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use spinpath::master::steady::{self, SteadyOptions};
use spinpath::master::{
    kmc, transient, Dot, DotModel, ExchangeField, Lead, Magnet, Orbital, RateSet,
};
use std::hint::black_box;

fn orbital(dot: usize, e: f64, lever: f64) -> Orbital {
    Orbital {
        dot,
        energy_mev: e,
        lever_arm: lever,
        zeeman_mev: 0.1,
        exchange_p_mev: 0.0,
        exchange_ap_mev: 0.5,
    }
}

/// A serial-ish double dot: one spinful orbital per dot, both dots touching both leads.
fn double_dot() -> DotModel {
    DotModel {
        dots: vec![
            Dot {
                name: "a".into(),
                charging_mev: 4.0,
            },
            Dot {
                name: "b".into(),
                charging_mev: 5.0,
            },
        ],
        orbitals: vec![orbital(0, 0.5, 0.2), orbital(1, 1.0, -0.2)],
        inter_dot_mev: vec![vec![0.0, 1.0], vec![1.0, 0.0]],
        leads: [
            Lead {
                gamma_mev: vec![0.01, 0.002],
                polarization: 0.4,
                spin_accumulation_mev: 0.0,
                temperature_k: 10.0,
            },
            Lead {
                gamma_mev: vec![0.002, 0.01],
                polarization: 0.4,
                spin_accumulation_mev: 0.0,
                temperature_k: 10.0,
            },
        ],
        exchange_field: ExchangeField::None,
    }
}

fn six_orbitals() -> DotModel {
    let orbitals = (0..6)
        .map(|i| orbital(i % 3, -2.0 + 0.8 * i as f64, 0.1))
        .collect();
    DotModel {
        dots: (0..3)
            .map(|d| Dot {
                name: format!("d{d}"),
                charging_mev: 3.0,
            })
            .collect(),
        orbitals,
        inter_dot_mev: vec![
            vec![0.0, 1.0, 0.5],
            vec![1.0, 0.0, 1.0],
            vec![0.5, 1.0, 0.0],
        ],
        leads: [
            Lead {
                gamma_mev: vec![0.01; 6],
                polarization: 0.3,
                spin_accumulation_mev: 0.0,
                temperature_k: 30.0,
            },
            Lead {
                gamma_mev: vec![0.01; 6],
                polarization: 0.3,
                spin_accumulation_mev: 0.0,
                temperature_k: 30.0,
            },
        ],
        exchange_field: ExchangeField::None,
    }
}

fn bench(c: &mut Criterion) {
    let dd = double_dot();
    dd.validate().unwrap();
    let opts = SteadyOptions::default();
    c.bench_function(
        "steady_double_dot_16_states (rates + solve + currents)",
        |b| {
            b.iter(|| {
                let r = RateSet::build(&dd, black_box(6.0), Magnet::AP);
                let p = steady::solve(&r, &opts).unwrap();
                black_box(spinpath::master::PointResult::from_probabilities(&r, p).current_na)
            })
        },
    );

    // The same point along a sweep: the rate set is rebuilt in place (no allocation but the
    // probability vector), the steady solve reuses its per-thread scratch and cached connectivity.
    let mut reused = RateSet::build(&dd, 5.0, Magnet::AP);
    c.bench_function(
        "steady_double_dot_16_states_in_place (rebuild + solve + currents)",
        |b| {
            b.iter(|| {
                reused.rebuild(&dd, black_box(6.0), Magnet::AP);
                let p = steady::solve(&reused, &opts).unwrap();
                black_box(reused.particle_flux(&p))
            })
        },
    );

    let r16 = RateSet::build(&dd, 6.0, Magnet::AP);
    c.bench_function("steady_double_dot_16_states_solve_only", |b| {
        b.iter(|| black_box(steady::solve(black_box(&r16), &opts).unwrap()))
    });
    c.bench_function("rates_double_dot_16_states_build_only", |b| {
        b.iter(|| black_box(RateSet::build(&dd, black_box(6.0), Magnet::AP)))
    });

    let big = six_orbitals();
    big.validate().unwrap();
    let mut g = c.benchmark_group("large");
    g.sample_size(10);
    g.bench_function("steady_6_orbitals_4096_states_sparse", |b| {
        b.iter(|| {
            let r = RateSet::build(&big, black_box(8.0), Magnet::P);
            black_box(steady::solve(&r, &opts).unwrap())
        })
    });
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/memristive-cb.toml"
    ))
    .unwrap();
    let (preset, _) = spinpath::master::spec::load("memristive-cb.toml", &text).unwrap();
    let r = RateSet::build(&preset, 200.0, Magnet::P);
    let p0 = steady::solve(&r, &opts).unwrap();
    g.bench_function("transient_step_preset_64_states_dwell_1ms", |b| {
        b.iter(|| black_box(transient::evolve(&r, &p0, 1e-3).unwrap()))
    });
    g.finish();

    // Monte Carlo throughput: a double dot in the transport regime; ~1e5 events per iteration.
    let r = RateSet::build(&dd, 6.0, Magnet::P);
    let mean_rate =
        r.out_rate.iter().sum::<f64>() / r.n_states as f64 / spinpath::master::model::HBAR_MEV_S;
    let duration = 1e5 / mean_rate;
    let mut sim = kmc::Gillespie::new(42, 0);
    let events = sim
        .run(&r, duration, duration / 100.0, u64::MAX)
        .unwrap()
        .events;
    let mut g = c.benchmark_group("monte_carlo");
    g.throughput(Throughput::Elements(events));
    g.sample_size(20);
    g.bench_function("gillespie_double_dot_events", |b| {
        b.iter(|| {
            black_box(
                sim.run(&r, duration, duration / 100.0, u64::MAX)
                    .unwrap()
                    .events,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
