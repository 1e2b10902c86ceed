//! Physics tests of the interacting-dot master equation (issue 3). Every expected value is computed
//! independently (closed forms, Boltzmann weights, quadrature), never copied from a run.
#![allow(clippy::needless_range_loop)] // index loops over matrix entries read more clearly here

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use spinpath::engine::pauli::PauliPrepared;
use spinpath::master::model::{E_OVER_HBAR_NA_PER_MEV, HBAR_MEV_S};
use spinpath::master::protocol::{self, StateSweep};
use spinpath::master::steady::{self, SteadyMethod, SteadyOptions};
use spinpath::master::{
    kmc, spec, transient, Dot, DotModel, ExchangeField, Lead, Magnet, Orbital, PointResult,
    RateSet, Transient,
};
use spinpath::units::{fermi, kt_mev, E_OVER_H_NA_PER_MEV};

fn uniform(rng: &mut Xoshiro256PlusPlus, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * ((rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
}

fn orbital(dot: usize, e: f64) -> Orbital {
    Orbital {
        dot,
        energy_mev: e,
        lever_arm: 0.0,
        zeeman_mev: 0.0,
        exchange_p_mev: 0.0,
        exchange_ap_mev: 0.0,
    }
}

fn lead(gamma: Vec<f64>, p: f64, t: f64) -> Lead {
    Lead {
        gamma_mev: gamma,
        polarization: p,
        spin_accumulation_mev: 0.0,
        temperature_k: t,
    }
}

/// One spinful level between two leads.
fn single_level(e: f64, u: f64, gl: f64, gr: f64, pl: f64, pr: f64, t: f64) -> DotModel {
    let m = DotModel {
        dots: vec![Dot {
            name: "d".into(),
            charging_mev: u,
        }],
        orbitals: vec![orbital(0, e)],
        inter_dot_mev: vec![vec![0.0]],
        leads: [lead(vec![gl], pl, t), lead(vec![gr], pr, t)],
        exchange_field: ExchangeField::None,
    };
    m.validate().unwrap();
    m
}

fn steady_point(m: &DotModel, v: f64, magnet: Magnet) -> PointResult {
    let r = RateSet::build(m, v, magnet);
    let p = steady::solve(&r, &SteadyOptions::default()).unwrap();
    PointResult::from_probabilities(&r, p)
}

#[test]
fn non_interacting_level_matches_closed_form_per_spin() {
    // U = 0: each spin is an independent two-state system, I_σ = (e/ħ) Γ_Lσ Γ_Rσ/(Γ_Lσ+Γ_Rσ)(f_L − f_R)
    // evaluated at the spin's own level ε_σ (Zeeman split), with Γ_rσ = Γ_r(1 + σ m_r p_r) and the
    // right lead's spin accumulation shifting its chemical potential per spin.
    for &(magnet, m_r) in &[(Magnet::P, 1.0), (Magnet::AP, -1.0)] {
        let mut m = single_level(0.7, 0.0, 0.013, 0.004, 0.4, -0.25, 12.0);
        m.orbitals[0].zeeman_mev = 0.9;
        m.orbitals[0].lever_arm = 0.2;
        m.leads[1].spin_accumulation_mev = 0.6;
        for &v in &[-7.0, -1.3, 0.0, 0.6, 2.5, 9.0] {
            let res = steady_point(&m, v, magnet);
            let kt = kt_mev(12.0);
            let mut total = 0.0;
            for (s, sigma) in [(0, 1.0), (1, -1.0)] {
                let eps = 0.7 + 0.2 * v - sigma * 0.45;
                let gl = 0.013 * (1.0 + sigma * 0.4);
                let gr = 0.004 * (1.0 - sigma * m_r * 0.25);
                // Spin accumulation on the right lead: μ_Rσ = −V/2 + σ m_R Δμ/2.
                let mu_r = -v / 2.0 + sigma * m_r * 0.3;
                let i = E_OVER_HBAR_NA_PER_MEV * gl * gr / (gl + gr)
                    * (fermi(eps, v / 2.0, kt) - fermi(eps, mu_r, kt));
                assert!(
                    (res.current_spin_na[s] - i).abs() <= 1e-10 * i.abs().max(1e-3),
                    "spin {s} V={v}: {} vs {i}",
                    res.current_spin_na[s]
                );
                // No spin flips: each spin's current is conserved through the dot.
                assert!((res.current_right_spin_na[s] - i).abs() <= 1e-9 * i.abs().max(1e-3));
                total += i;
            }
            assert!((res.current_na - total).abs() <= 1e-10 * total.abs().max(1e-3));
            assert!((res.current_right_na - res.current_na).abs() <= 1e-9 * total.abs().max(1e-6));
        }
    }
}

#[test]
fn infinite_u_level_has_spin_degeneracy_factor() {
    // U → ∞: states 0, ↑, ↓. I = (e/ħ)·2Γ_LΓ_R(f_L − f_R)/(Γ_L(1 + f_L) + Γ_R(1 + f_R)).
    let (gl, gr, t) = (0.02, 0.007, 20.0);
    let m = single_level(1.5, 1e5, gl, gr, 0.0, 0.0, t);
    let kt = kt_mev(t);
    for &v in &[-10.0, -3.0, 0.5, 3.0, 4.0, 12.0] {
        let (fl, fr) = (fermi(1.5, v / 2.0, kt), fermi(1.5, -v / 2.0, kt));
        let expect = E_OVER_HBAR_NA_PER_MEV * 2.0 * gl * gr * (fl - fr)
            / (gl * (1.0 + fl) + gr * (1.0 + fr));
        let got = steady_point(&m, v, Magnet::P).current_na;
        assert!(
            (got - expect).abs() <= 1e-10 * expect.abs().max(1e-6),
            "V={v}: {got} vs {expect}"
        );
        // And it differs from the non-interacting value (the factor is really tested).
        let free = 2.0 * E_OVER_HBAR_NA_PER_MEV * gl * gr / (gl + gr) * (fl - fr);
        if v.abs() > 5.0 {
            assert!((got - free).abs() > 0.05 * free.abs());
        }
    }
}

fn random_model(rng: &mut Xoshiro256PlusPlus, n_orb: usize, n_dots: usize, t: f64) -> DotModel {
    let kt = kt_mev(t);
    let orbitals: Vec<Orbital> = (0..n_orb)
        .map(|i| {
            let mut o = orbital(i % n_dots, uniform(rng, -4.0, 4.0) * kt);
            o.lever_arm = uniform(rng, -0.5, 0.5);
            o.zeeman_mev = uniform(rng, -1.0, 1.0) * kt;
            o.exchange_p_mev = uniform(rng, 0.0, 1.0) * kt;
            o.exchange_ap_mev = uniform(rng, 0.0, 1.0) * kt;
            o
        })
        .collect();
    let mut inter = vec![vec![0.0; n_dots]; n_dots];
    for a in 0..n_dots {
        for b in a + 1..n_dots {
            let x = uniform(rng, 0.0, 3.0) * kt;
            inter[a][b] = x;
            inter[b][a] = x;
        }
    }
    let m = DotModel {
        dots: (0..n_dots)
            .map(|d| Dot {
                name: format!("d{d}"),
                charging_mev: uniform(rng, 0.0, 4.0) * kt,
            })
            .collect(),
        orbitals,
        inter_dot_mev: inter,
        leads: [
            lead(
                (0..n_orb).map(|_| uniform(rng, 0.001, 0.05)).collect(),
                uniform(rng, -0.9, 0.9),
                t,
            ),
            lead(
                (0..n_orb)
                    .map(|i| {
                        if n_dots > 1 && i % n_dots == n_dots - 1 {
                            0.0
                        } else {
                            uniform(rng, 0.001, 0.05)
                        }
                    })
                    .collect(),
                uniform(rng, -0.9, 0.9),
                t,
            ),
        ],
        exchange_field: ExchangeField::None,
    };
    m.validate().unwrap();
    m
}

#[test]
fn equilibrium_gives_zero_current_and_boltzmann_occupations() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    for trial in 0..20 {
        let t = uniform(&mut rng, 2.0, 50.0);
        let mut m = random_model(&mut rng, 3, 2, t);
        if trial % 4 < 2 {
            // The induced exchange field shifts the energies; detailed balance must still hold.
            m.exchange_field = ExchangeField::KonigMartinek;
        }
        let magnet = if trial % 2 == 0 {
            Magnet::P
        } else {
            Magnet::AP
        };
        let res = steady_point(&m, 0.0, magnet);
        let scale = E_OVER_HBAR_NA_PER_MEV * 0.05;
        assert!(
            res.current_na.abs() < 1e-10 * scale,
            "trial {trial}: I = {}",
            res.current_na
        );
        for s in 0..2 {
            assert!(res.current_spin_na[s].abs() < 1e-10 * scale);
        }
        let kt = kt_mev(t);
        let w: Vec<f64> = (0..m.n_states())
            .map(|s| (-m.state_energy(s, 0.0, magnet) / kt).exp())
            .collect();
        let z: f64 = w.iter().sum();
        for s in 0..m.n_states() {
            assert!(
                (res.probabilities[s] - w[s] / z).abs() < 1e-9,
                "trial {trial} state {s}: {} vs {}",
                res.probabilities[s],
                w[s] / z
            );
        }
    }
}

#[test]
fn transient_conserves_probability_and_relaxes_to_steady_state() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let m = random_model(&mut rng, 3, 2, 10.0);
    let rates = RateSet::build(&m, 3.0, Magnet::AP);
    let n = m.n_states();
    let mut p = vec![0.0; n];
    p[0] = 1.0;
    for &dwell in &[1e-15, 1e-12, 1e-10, 1e-6] {
        let sum = transient::propagated_sum(&rates, &p, dwell);
        assert!((sum - 1.0).abs() < 1e-10, "dwell {dwell}: sum {sum}");
        let q = transient::evolve(&rates, &p, dwell).unwrap();
        assert!(q.iter().all(|x| *x >= 0.0));
    }
    // Long times: the steady state.
    let slow = rates.out_rate.iter().copied().fold(f64::INFINITY, f64::min);
    let q = transient::evolve(&rates, &p, 1e3 * HBAR_MEV_S / slow).unwrap();
    let ss = steady::solve(&rates, &SteadyOptions::default()).unwrap();
    for (a, b) in q.iter().zip(&ss) {
        assert!((a - b).abs() < 1e-8, "{a} vs {b}");
    }
    // Short times differ from it (the test can fail).
    let q = transient::evolve(&rates, &p, 1e-3 * HBAR_MEV_S / slow).unwrap();
    assert!(q.iter().zip(&ss).any(|(a, b)| (a - b).abs() > 1e-3));
}

#[test]
fn monte_carlo_mean_current_agrees_with_master_equation() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let mut m = random_model(&mut rng, 2, 1, 10.0);
    m.dots[0].charging_mev = 3.0;
    for (k, &v) in [4.0, -6.0].iter().enumerate() {
        let rates = RateSet::build(&m, v, Magnet::P);
        let me = PointResult::from_probabilities(
            &rates,
            steady::solve(&rates, &SteadyOptions::default()).unwrap(),
        );
        // ~2·10⁵ tunnelling events in 400 windows.
        let total_rate = rates.out_rate.iter().sum::<f64>() / rates.n_states as f64 / HBAR_MEV_S;
        let duration = 2e5 / total_rate;
        let mut sim = kmc::Gillespie::new(1234 + k as u64, 0);
        let trace = sim
            .run(&rates, duration, duration / 400.0, 10_000_000)
            .unwrap();
        let r = trace.summarize(v, duration / 400.0);
        assert!(r.current_err_na > 0.0);
        let z = (r.current_na - me.current_na) / r.current_err_na;
        assert!(
            z.abs() < 4.0,
            "V={v}: MC {} ± {} vs ME {} (z = {z})",
            r.current_na,
            r.current_err_na,
            me.current_na
        );
        assert!(
            me.current_na.abs() > 20.0 * r.current_err_na,
            "the comparison must be sensitive"
        );
        // Time fractions approach the probabilities.
        for (a, b) in r.probabilities.iter().zip(&me.probabilities) {
            assert!((a - b).abs() < 0.02);
        }
        // Sequential tunnelling suppresses shot noise below Poisson: 0 < F < 1.
        assert!(r.fano > 0.2 && r.fano < 1.0, "Fano {}", r.fano);
    }
}

#[test]
fn symmetric_device_p_ap_symmetries() {
    // Symmetric device: same Γ and p on both sides, level at the midpoint with α = 0.
    let m = single_level(0.0, 4.0, 0.01, 0.01, 0.5, 0.5, 15.0);
    for &v in &[1.0, 3.0, 7.0, 15.0] {
        for magnet in [Magnet::P, Magnet::AP] {
            let a = steady_point(&m, v, magnet).current_na;
            let b = steady_point(&m, -v, magnet).current_na;
            assert!(
                (a + b).abs() < 1e-10 * a.abs(),
                "{magnet:?} V={v}: {a} vs {b}"
            );
        }
        // TMR > 0 for p ≠ 0 ...
        let ip = steady_point(&m, v, Magnet::P).current_na;
        let iap = steady_point(&m, v, Magnet::AP).current_na;
        assert!(ip > iap * 1.01);
        // ... and reversing both polarisations leaves P and AP unchanged (spin-flip symmetry).
        let mut flipped = m.clone();
        flipped.leads[0].polarization = -0.5;
        flipped.leads[1].polarization = -0.5;
        assert!((steady_point(&flipped, v, Magnet::P).current_na - ip).abs() < 1e-10 * ip);
        assert!((steady_point(&flipped, v, Magnet::AP).current_na - iap).abs() < 1e-10 * iap);
    }
    // Unpolarised leads: P = AP.
    let m0 = single_level(0.0, 4.0, 0.01, 0.01, 0.0, 0.0, 15.0);
    let a = steady_point(&m0, 5.0, Magnet::P).current_na;
    let b = steady_point(&m0, 5.0, Magnet::AP).current_na;
    assert!((a - b).abs() < 1e-12 * a);
}

#[test]
fn agrees_with_coherent_breit_wigner_when_kt_much_larger_than_gamma() {
    // U = 0, unpolarised: Landauer I = 2 (e/h) ∫ T(E) (f_L − f_R) dE with
    // T(E) = Γ_LΓ_R / ((E − ε)² + (Γ_L + Γ_R)²/4), integrated numerically.
    let (gl, gr, t, eps) = (0.002, 0.003, 10.0, 0.8);
    let m = single_level(eps, 0.0, gl, gr, 0.0, 0.0, t);
    let kt = kt_mev(t);
    let g = gl + gr;
    for &v in &[0.5, 1.6, 3.0, -2.0] {
        // Substitution E = ε + (g/2) tan θ: T(E) dE = (2Γ_LΓ_R/g) dθ on θ ∈ (−π/2, π/2).
        let n = 200_000;
        let mut integral = 0.0;
        for k in 0..n {
            let th =
                -std::f64::consts::FRAC_PI_2 + std::f64::consts::PI * (k as f64 + 0.5) / n as f64;
            let e = eps + 0.5 * g * th.tan();
            integral += 2.0 * gl * gr / g
                * (fermi(e, v / 2.0, kt) - fermi(e, -v / 2.0, kt))
                * std::f64::consts::PI
                / n as f64;
        }
        let landauer = 2.0 * E_OVER_H_NA_PER_MEV * integral;
        let me = steady_point(&m, v, Magnet::P).current_na;
        assert!(
            (me - landauer).abs() < 0.01 * landauer.abs(),
            "V={v}: ME {me} vs Landauer {landauer}"
        );
    }
}

#[test]
fn sparse_solver_agrees_with_dense_gth() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let m = random_model(&mut rng, 5, 2, 30.0);
    assert_eq!(m.n_states(), 1024);
    let rates = RateSet::build(&m, 12.0, Magnet::AP);
    let dense = steady::solve(
        &rates,
        &SteadyOptions {
            method: SteadyMethod::Dense,
            ..Default::default()
        },
    )
    .unwrap();
    let sparse = steady::solve(
        &rates,
        &SteadyOptions {
            method: SteadyMethod::Sparse,
            ..Default::default()
        },
    )
    .unwrap();
    for (a, b) in dense.iter().zip(&sparse) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
}

#[test]
fn six_orbitals_4096_states_steady_state() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
    let m = random_model(&mut rng, 6, 3, 30.0);
    assert_eq!(m.n_states(), 4096);
    let res = steady_point(&m, 8.0, Magnet::P);
    let sum: f64 = res.probabilities.iter().sum();
    assert!((sum - 1.0).abs() < 1e-12);
    // Current conservation: what enters from the left leaves to the right.
    assert!((res.current_na - res.current_right_na).abs() < 1e-6 * res.current_na.abs().max(1e-3));
    assert!(res.current_na > 0.0);
}

fn preset_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/memristive-cb.toml")
}

#[test]
fn memristive_preset_reproduces_paper_figures() {
    let path = preset_path();
    let text = std::fs::read_to_string(&path).unwrap();
    let (model, run) = spec::load("memristive-cb.toml", &text).unwrap();
    let run = run.unwrap();
    let points = protocol::sweep_points(&run.sweep_mv, run.step_mv);
    let mut sweeps = Vec::new();
    for magnet in [Magnet::P, Magnet::AP] {
        let mut solver = Transient::default();
        let res = protocol::run_sweep(
            &PauliPrepared::from_model(model.clone(), magnet),
            &points,
            run.dwell_s,
            &mut solver,
        )
        .unwrap();
        sweeps.push(StateSweep::new(
            Some(&model),
            magnet,
            points.clone(),
            res,
            run.gating_dot,
        ));
    }
    let s = protocol::summarize(
        &sweeps,
        run.peak_threshold,
        "transient",
        run.seed,
        run.dwell_s,
    );
    for g in &s.gaps {
        let gap = g.coulomb_gap_mv.expect("both edges found");
        assert!(
            (gap - 310.0).abs() < 6.0,
            "{} {}: gap {gap}",
            g.state,
            g.branch
        );
    }
    assert_eq!(s.gaps.len(), 4, "ON and OFF gaps in P and AP");
    for w in &s.writing_shift_mv {
        let v = w.shift_mv.expect("shift found");
        assert!((v - 70.0).abs() < 5.0, "{}: Δ_W = {v}", w.state);
    }
    // Writing events: ON→OFF at positive bias (E+), OFF→ON at negative bias (E−), nothing else.
    for e in &s.writing_events {
        match e.change.as_str() {
            "ON->OFF" => assert!(
                e.label == "E+" && e.bias_mv > 155.0 && e.bias_mv < 225.0,
                "{e:?}"
            ),
            "OFF->ON" => assert!(
                e.label == "E-" && e.bias_mv < -85.0 && e.bias_mv > -155.0,
                "{e:?}"
            ),
            _ => panic!("unexpected event {e:?}"),
        }
    }
    assert!(s.writing_events.iter().any(|e| e.label == "E+"));
    assert!(s.writing_events.iter().any(|e| e.label == "E-"));
    // The larger AP spin splitting moves the ON peaks outwards (to higher |V|).
    let on = s.p_ap_shift_mv.iter().find(|x| x.branch == "ON").unwrap();
    assert!(
        on.negative_edge_mv.unwrap() < -0.3 && on.positive_edge_mv.unwrap() > 0.3,
        "{on:?}"
    );
    // The steady state alone has no memory: one branch per bias, whatever the sweep direction.
    let mut st = spinpath::master::SteadyState::default();
    let res = protocol::run_sweep(
        &PauliPrepared::from_model(model.clone(), Magnet::P),
        &points,
        run.dwell_s,
        &mut st,
    )
    .unwrap();
    let sw = StateSweep::new(Some(&model), Magnet::P, points.clone(), res, run.gating_dot);
    for (i, a) in points.iter().enumerate() {
        for (j, b) in points.iter().enumerate().skip(i + 1) {
            if (a.bias_mv - b.bias_mv).abs() < 1e-9 {
                assert_eq!(sw.branch[i], sw.branch[j], "bias {}", a.bias_mv);
            }
        }
    }
}

#[test]
fn geometry_feeds_charging_energies() {
    let text = r#"
[dots]
temperature_K = 10.0
[[dots.dot]]
name = "t"
orbitals = [{ energy_meV = -100.0 }]
[[dots.dot]]
name = "g"
orbitals = [{ energy_meV = -100.0 }]
[dots.leads.left]
gamma_meV = { t = 0.01, g = 1e-6 }
[dots.leads.right]
gamma_meV = { t = 0.01 }
[dots.electrostatics.from_geometry]
transport = "t"
gate = "g"
electrode_spacing_nm = 3.0
distance_nm = 1.0
permittivity = 9.0
radius_nm = 0.2260
separation_nm = 0.4638
"#;
    let (m, run) = spec::load("geo.toml", text).unwrap();
    assert!(run.is_none());
    // U = e²/C: twice the paper's E_C = e²/2C = e·310 meV (issue 14).
    assert!(
        (m.dots[0].charging_mev - 620.0).abs() < 2.0,
        "{}",
        m.dots[0].charging_mev
    );
    assert!(
        (m.inter_dot_mev[0][1] - 70.0).abs() < 0.3,
        "{}",
        m.inter_dot_mev[0][1]
    );
}

#[test]
fn config_errors_name_line_key_and_range() {
    let text = "[dots]\ntemperature_K = 10.0\n[[dots.dot]]\nname = \"t\"\norbitals = [{ energy_meV = 1.0 }]\n[dots.leads.left]\ngamma_meV = { t = 0.01 }\npolarization = 1.5\n[dots.leads.right]\ngamma_meV = { t = 0.01 }\n";
    let e = spec::load("bad.toml", text).unwrap_err().to_string();
    assert!(
        e.contains("bad.toml:8")
            && e.contains("dots.leads.left.polarization")
            && e.contains("[-1, 1]"),
        "{e}"
    );
    let e = spec::load(
        "bad.toml",
        &text.replace("polarization = 1.5", "polarisation = 0.5"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("bad.toml") && e.contains("polarisation"), "{e}");
    let e = spec::load(
        "bad.toml",
        &text.replace("{ t = 0.01 }\npolarization = 1.5", "{ x = 0.01 }"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("unknown dot `x`"), "{e}");
}

#[test]
fn monte_carlo_fano_factor_matches_two_state_formula() {
    // U → ∞, large bias: 0 → σ at rate 2Γ_L in total, σ → 0 at rate Γ_R. Counting statistics of a
    // two-state renewal process: F = (a² + b²)/(a + b)² with a = 2Γ_L, b = Γ_R.
    let (gl, gr) = (0.01, 0.03);
    let m = single_level(0.0, 1e5, gl, gr, 0.0, 0.0, 4.0);
    let rates = RateSet::build(&m, 200.0, Magnet::P);
    let (a, b) = (2.0 * gl, gr);
    let expect = (a * a + b * b) / ((a + b) * (a + b));
    // Windows of ~200 transferred electrons, 3000 windows.
    let current_rate = a * b / (a + b) / HBAR_MEV_S;
    let window = 200.0 / current_rate;
    let mut sim = kmc::Gillespie::new(99, 0);
    let trace = sim
        .run(&rates, 3000.0 * window, window, 100_000_000)
        .unwrap();
    let r = trace.summarize(200.0, window);
    // Relative standard error of a variance from 3000 samples ≈ √(2/3000) ≈ 2.6 %.
    assert!(
        (r.fano - expect).abs() < 0.1 * expect,
        "Fano {} vs {expect}",
        r.fano
    );
    // Poisson (F = 1) is excluded: the test can fail.
    assert!(expect < 0.65);
}

#[test]
fn complex_digamma_and_konig_martinek_field() {
    use spinpath::master::model::{konig_martinek_field, re_digamma_complex};
    // ψ(½) = −γ − 2 ln 2, real arguments against statrs, and the recurrence ψ(z + 1) = ψ(z) + 1/z.
    assert!(
        (re_digamma_complex(0.5, 0.0) + 0.577_215_664_901_532_9 + 2.0 * 2f64.ln()).abs() < 1e-12
    );
    for &x in &[0.3, 1.0, 2.7, 12.0] {
        assert!((re_digamma_complex(x, 0.0) - statrs::function::gamma::digamma(x)).abs() < 1e-9);
    }
    for &y in &[0.1, 1.0, 7.5, 40.0, 1e3] {
        let d = re_digamma_complex(1.5, y) - re_digamma_complex(0.5, y);
        assert!(
            (d - 0.5 / (0.25 + y * y)).abs() < 1e-12 * (1.0 + d.abs()),
            "y={y}"
        );
        assert!((re_digamma_complex(0.5, y) - re_digamma_complex(0.5, -y)).abs() < 1e-14);
    }
    // Field: zero at the particle-hole symmetric point, ln-ratio at low temperature.
    let (p, g, u) = (0.4, 0.02, 10.0);
    assert!(konig_martinek_field(p, g, -5.0, u, 0.0, 0.1).abs() < 1e-15);
    let low_t = konig_martinek_field(p, g, -2.0, u, 0.0, 1e-3);
    let expect = p * g / std::f64::consts::PI * (8.0f64 / 2.0).ln();
    assert!(
        (low_t - expect).abs() < 1e-6 * expect,
        "{low_t} vs {expect}"
    );
    // Symmetric device at V = 0: the two fields add in P and cancel in AP.
    let mut m = single_level(-2.0, u, g, g, p, p, 10.0);
    m.exchange_field = ExchangeField::KonigMartinek;
    let b = konig_martinek_field(p, g, -2.0, u, 0.0, kt_mev(10.0));
    assert!((m.induced_field(0, 0.0, Magnet::P) - 2.0 * b).abs() < 1e-15);
    assert!(m.induced_field(0, 0.0, Magnet::AP).abs() < 1e-15);
    // At finite bias the AP field no longer cancels (bias-dependent, P/AP-dependent splitting).
    assert!(m.induced_field(0, 3.0, Magnet::AP).abs() > 1e-6);
}

#[test]
fn solvers_are_interchangeable_along_a_sweep() {
    use spinpath::master::{Dynamics as DotSolver, MonteCarlo, SteadyState};
    let m = single_level(1.0, 6.0, 0.01, 0.02, 0.3, 0.3, 20.0);
    let points = protocol::sweep_points(&[-8.0, 8.0], 4.0);
    assert_eq!(points.len(), 5);
    // Dwell long compared with 1/Γ: the transient reaches the steady state at every point.
    let dwell = 1e4 * HBAR_MEV_S / 0.01;
    let mut solvers: Vec<Box<dyn DotSolver>> = vec![
        Box::new(SteadyState::default()),
        Box::new(Transient::default()),
        Box::new(MonteCarlo::new(5, dwell / 200.0, 100_000_000)),
    ];
    let results: Vec<Vec<PointResult>> = solvers
        .iter_mut()
        .map(|s| {
            protocol::run_sweep(
                &PauliPrepared::from_model(m.clone(), Magnet::AP),
                &points,
                dwell,
                s.as_mut(),
            )
            .unwrap()
        })
        .collect();
    for i in 0..points.len() {
        let (st, tr, mc) = (&results[0][i], &results[1][i], &results[2][i]);
        assert!((st.current_na - tr.current_na).abs() < 1e-8 * st.current_na.abs().max(1e-3));
        let err = mc.current_err_na.max(1e-9);
        assert!(
            (mc.current_na - st.current_na).abs() < 5.0 * err,
            "V={}: MC {} ± {err} vs {}",
            points[i].bias_mv,
            mc.current_na,
            st.current_na
        );
    }
}

#[test]
fn agrees_with_the_coherent_negf_engine_for_a_single_level_when_kt_much_larger_than_gamma() {
    use spinpath::model::{Axis, Chain, Lead as ChainLead, MagneticState, Site};
    use spinpath::negf::{ChainSolver, Integration};
    let (t, eps, alpha, zeeman) = (10.0, 0.8, 0.1, 0.6);
    let (wl, wr, pl, pr, dmu) = (0.002, 0.003, 0.4, 0.2, 0.3);
    // The coherent engine puts the majority spin at ε + Δ/2; this engine lowers spin up for a
    // positive splitting: Δ_negf = −zeeman.
    let chain = Chain::new(
        vec![Site {
            name: "dot".into(),
            energy: eps,
            splitting: -zeeman,
            axis: Axis::Left,
            lever_arm: alpha,
        }],
        vec![],
        ChainLead {
            site: 0,
            width: wl,
            polarization: pl,
            spin_accumulation: dmu,
            temperature: t,
        },
        ChainLead {
            site: 0,
            width: wr,
            polarization: pr,
            spin_accumulation: 0.0,
            temperature: t,
        },
    )
    .unwrap();
    let mut m = single_level(eps, 0.0, wl, wr, pl, pr, t);
    m.orbitals[0].lever_arm = alpha;
    m.orbitals[0].zeeman_mev = zeeman;
    m.leads[0].spin_accumulation_mev = dmu;
    for (magnet, state) in [
        (Magnet::P, MagneticState::parallel()),
        (Magnet::AP, MagneticState::antiparallel()),
    ] {
        let solver = ChainSolver::new(&chain, &state).unwrap();
        for &v in &[-3.0, -1.0, 0.7, 1.8, 4.0] {
            let coherent = solver.bias_point(v, &Integration::default());
            let me = steady_point(&m, v, magnet);
            let tol = 0.01 * coherent.current().abs() + 1e-6;
            assert!(
                (me.current_na - coherent.current()).abs() < tol,
                "{magnet:?} V={v}: ME {} vs NEGF {}",
                me.current_na,
                coherent.current()
            );
            assert!(
                (me.current_spin_na[0] - coherent.current_up()).abs()
                    < 0.01 * coherent.current_up().abs() + 1e-6,
                "{magnet:?} V={v} up"
            );
            assert!(
                (me.current_spin_na[1] - coherent.current_down()).abs()
                    < 0.01 * coherent.current_down().abs() + 1e-6,
                "{magnet:?} V={v} down"
            );
        }
    }
}

/// ln Σ e^{x_i}.
fn ln_sum(x: &[f64]) -> f64 {
    let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    hi + x.iter().map(|v| (v - hi).exp()).sum::<f64>().ln()
}

/// ln f((E − μ)/kT) written without underflow.
fn ln_f(e: f64, mu: f64, kt: f64) -> f64 {
    let y = (e - mu) / kt;
    if y > 0.0 {
        -y - (-y).exp().ln_1p()
    } else {
        -y.exp().ln_1p()
    }
}

/// Issue 10 item 5: at zero bias the paper-2 preset (310 meV gap, a gating dot 2 eV deep) is in
/// equilibrium at every temperature: the steady state must be the Boltzmann distribution, computed
/// here in the log domain, and the current must vanish. Before the log-domain elimination the
/// rates underflowed and the solver failed below 10 K ("closed sets", "escape sum NaN").
#[test]
fn preset_at_zero_bias_is_boltzmann_down_to_100_mk() {
    let text = std::fs::read_to_string(preset_path()).unwrap();
    let (model, _) = spec::load("memristive-cb.toml", &text).unwrap();
    for &t in &[10.0, 4.2, 1.0, 0.3, 0.1] {
        let mut m = model.clone();
        for l in m.leads.iter_mut() {
            l.temperature_k = t;
        }
        let kt = kt_mev(t);
        for magnet in [Magnet::P, Magnet::AP] {
            let res = steady_point(&m, 0.0, magnet);
            assert!(
                res.current_na.abs() < 1e-12,
                "{t} K: I = {}",
                res.current_na
            );
            let lw: Vec<f64> = (0..m.n_states())
                .map(|s| -m.state_energy(s, 0.0, magnet) / kt)
                .collect();
            let z = ln_sum(&lw);
            for s in 0..m.n_states() {
                let exact = (lw[s] - z).exp();
                assert!(
                    (res.probabilities[s] - exact).abs() < 1e-9,
                    "{t} K {magnet:?} state {}: {} vs Boltzmann {exact}",
                    m.state_label(s),
                    res.probabilities[s]
                );
            }
        }
    }
}

/// A single spinful level in a 310 meV Coulomb gap (ε = −155 meV, U = 310 meV) at 0.1 K, unpolarised
/// leads: by spin symmetry the master equation is a birth–death chain 0 ↔ 1 ↔ 2 whose steady state
/// and current have a closed form, evaluated here in the log domain. Inside the gap the spin doublet
/// is degenerate and its two states only connect through e^(−18000) processes — the linear-domain
/// solver saw two closed sets there.
#[test]
fn coulomb_gap_of_310_mev_at_100_mk_matches_birth_death_closed_form() {
    let (eps, u, gl, gr, t) = (-155.0, 310.0, 0.02, 0.01, 0.1);
    let m = single_level(eps, u, gl, gr, 0.0, 0.0, t);
    let kt = kt_mev(t);
    for i in 0..=80 {
        let v = -400.0 + 10.0 * i as f64;
        let mu = [v / 2.0, -v / 2.0];
        let g = [gl, gr];
        // ln of the rates per lead: in/out of level ε (0 ↔ 1σ) and ε + U (1σ ↔ 2).
        let ln_in = |r: usize, e: f64| g[r].ln() + ln_f(e, mu[r], kt);
        let ln_out = |r: usize, e: f64| g[r].ln() + ln_f(mu[r], e, kt);
        let add = |a: f64, b: f64| ln_sum(&[a, b]);
        let (in0, out1) = (
            add(ln_in(0, eps), ln_in(1, eps)),
            add(ln_out(0, eps), ln_out(1, eps)),
        );
        let (in1, out2) = (
            add(ln_in(0, eps + u), ln_in(1, eps + u)),
            add(ln_out(0, eps + u), ln_out(1, eps + u)),
        );
        // p_1 is the total of both spins: p1/p0 = 2·W_in(ε)/W_out(ε), p2/p1 = W_in(ε+U)/(2·W_out(ε+U)).
        let l1 = std::f64::consts::LN_2 + in0 - out1;
        let l2 = l1 + in1 - std::f64::consts::LN_2 - out2;
        let z = ln_sum(&[0.0, l1, l2]);
        let (p0, p1, p2) = ((-z).exp(), (l1 - z).exp(), (l2 - z).exp());
        // Electrons entering from the left lead per ħ.
        let rate = |l: f64| l.exp();
        let j = 2.0 * p0 * rate(ln_in(0, eps)) - p1 * rate(ln_out(0, eps))
            + p1 * rate(ln_in(0, eps + u))
            - 2.0 * p2 * rate(ln_out(0, eps + u));
        let exact = E_OVER_HBAR_NA_PER_MEV * j;
        let res = steady_point(&m, v, Magnet::P);
        assert!(res.current_na.is_finite());
        let scale = E_OVER_HBAR_NA_PER_MEV * gl * gr / (gl + gr);
        assert!(
            (res.current_na - exact).abs() <= 1e-9 * exact.abs() + 1e-12 * scale,
            "V = {v} mV: I = {} vs closed form {exact}",
            res.current_na
        );
        let n = res.probabilities[1] + res.probabilities[2] + 2.0 * res.probabilities[3];
        assert!((n - (p1 + 2.0 * p2)).abs() < 1e-9, "V = {v}: <N> = {n}");
        // Spin symmetry of the degenerate doublet.
        assert!((res.probabilities[1] - res.probabilities[2]).abs() < 1e-12);
    }
    // The test can fail: outside the gap the current is the full sequential current.
    let res = steady_point(&m, 350.0, Magnet::P);
    assert!(res.current_na > 0.1 * E_OVER_HBAR_NA_PER_MEV * gl * gr / (gl + gr));
}

/// The paper-2 preset runs with the steady and the transient solver at 4.2, 1 and 0.3 K (issue 10
/// item 5): finite currents everywhere, and the transient (which starts from the steady state)
/// follows the steady state where the dwell is long against every relevant rate (the open gap).
#[test]
fn memristive_preset_solves_at_4k_1k_and_300_mk() {
    let text = std::fs::read_to_string(preset_path()).unwrap();
    let (model, run) = spec::load("memristive-cb.toml", &text).unwrap();
    let run = run.unwrap();
    let points = protocol::sweep_points(&[0.0, 320.0, -320.0, 320.0, 0.0], 8.0);
    for &t in &[4.2, 1.0, 0.3] {
        let mut m = model.clone();
        for l in m.leads.iter_mut() {
            l.temperature_k = t;
        }
        for magnet in [Magnet::P, Magnet::AP] {
            let mut st = spinpath::master::SteadyState::default();
            let steady = protocol::run_sweep(
                &PauliPrepared::from_model(m.clone(), magnet),
                &points,
                run.dwell_s,
                &mut st,
            )
            .unwrap();
            let mut tr = Transient::default();
            let trans = protocol::run_sweep(
                &PauliPrepared::from_model(m.clone(), magnet),
                &points,
                run.dwell_s,
                &mut tr,
            )
            .unwrap();
            for r in steady.iter().chain(&trans) {
                assert!(
                    r.current_na.is_finite(),
                    "{t} K {magnet:?} V = {}",
                    r.bias_mv
                );
                let sum: f64 = r.probabilities.iter().sum();
                assert!((sum - 1.0).abs() < 1e-12);
            }
            // Beyond both gap edges the transport dot conducts (|I| of order e·Γ/ħ ≈ nA).
            let top = steady.iter().find(|r| r.bias_mv == 320.0).unwrap();
            assert!(
                top.current_na > 0.1,
                "{t} K: I(320 mV) = {}",
                top.current_na
            );
        }
    }
}

/// Two methods agree: the linear-domain GTH and the log-domain GTH on the paper-2 preset at 10 K,
/// where both apply. (With 1 − f computed by subtraction, rates below e^-37 vanished and the linear
/// steady state put the gating dot in the wrong branch at 18 mV, AP: gate charge 2e-4 instead of 1.)
#[test]
fn linear_and_log_domain_gth_agree_on_the_preset() {
    let text = std::fs::read_to_string(preset_path()).unwrap();
    let (m, _) = spec::load("memristive-cb.toml", &text).unwrap();
    let gate = m.dot_index("gate").unwrap();
    for magnet in [Magnet::P, Magnet::AP] {
        for i in 0..=64 {
            let v = -320.0 + 10.0 * i as f64;
            let r = RateSet::build(&m, v, magnet);
            let a = steady::solve_dense(&r).unwrap();
            let b = steady::solve_dense_log(&r).unwrap();
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() < 1e-12, "V = {v}: {x} vs {y}");
            }
            let ia = PointResult::from_probabilities(&r, a);
            let ib = PointResult::from_probabilities(&r, b);
            assert!((ia.current_na - ib.current_na).abs() <= 1e-9 * ia.current_na.abs() + 1e-15);
            if v == 20.0 && magnet == Magnet::AP {
                assert!(
                    ia.mean_charges(&m)[gate] > 0.99,
                    "gating dot charged at 20 mV"
                );
            }
        }
    }
}

/// Issue 18: `RateSet::rebuild` reuses one set across a sweep (different models, sizes, biases,
/// temperatures down to where rates underflow into `tiny`) and gives exactly the rates of a fresh
/// `RateSet::build`, in the same order.
#[test]
fn rebuilt_rate_sets_equal_fresh_ones() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(18);
    let mut reused = RateSet::build(
        &single_level(0.3, 2.0, 0.01, 0.02, 0.2, -0.1, 4.2),
        0.0,
        Magnet::P,
    );
    let mut tiny_seen = false;
    for (n_orb, n_dots, t) in [
        (2, 2, 10.0),
        (1, 1, 0.05),
        (3, 2, 1.0),
        (2, 1, 300.0),
        (3, 3, 0.1),
    ] {
        let m = random_model(&mut rng, n_orb, n_dots, t);
        for v in [-40.0, -1.0, 0.0, 0.7, 25.0] {
            for magnet in [Magnet::P, Magnet::AP] {
                let fresh = RateSet::build(&m, v, magnet);
                reused.rebuild(&m, v, magnet);
                assert_eq!(reused.n_states, fresh.n_states);
                assert_eq!(reused.transitions, fresh.transitions);
                assert_eq!(reused.offsets, fresh.offsets);
                assert_eq!(reused.out_rate, fresh.out_rate);
                assert_eq!(reused.tiny, fresh.tiny);
                assert_eq!(reused.bias_mv, v);
                tiny_seen |= !fresh.tiny.is_empty();
            }
        }
    }
    assert!(
        tiny_seen,
        "the low-temperature cases exercise the log-domain rates"
    );
}
