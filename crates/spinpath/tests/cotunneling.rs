//! Physics tests of the cotunnelling approach (issue 12). Expected values are computed
//! independently: Landauer's formula from the coherent engine, closed-form second-order rates,
//! Boltzmann factors, the Pauli master equation.

use spinpath::device::Device;
use spinpath::engine::cotunneling::{self, CotunnelingPrepared, LeadChannels, Order};
use spinpath::engine::spectrum::Spectrum;
use spinpath::engine::{ApproachKind, ApproachSettings, Kernel, Prepared};
use spinpath::master::steady::{self, SteadyOptions};
use spinpath::master::{Dot, DotModel, ExchangeField, Lead, Magnet, Orbital, PointResult, RateSet};
use spinpath::units::{kt_mev, E_OVER_H_NA_PER_MEV};

fn lead(gamma: f64, p: f64, t: f64) -> Lead {
    Lead {
        gamma_mev: vec![gamma],
        polarization: p,
        spin_accumulation_mev: 0.0,
        temperature_k: t,
    }
}

/// One spinful level ε (meV), charging U (meV), Zeeman splitting (meV, positive lowers ↑).
fn level(e: f64, u: f64, zeeman: f64, gl: f64, gr: f64, t: f64) -> DotModel {
    let m = DotModel {
        dots: vec![Dot {
            name: "d".into(),
            charging_mev: u,
        }],
        orbitals: vec![Orbital {
            dot: 0,
            energy_mev: e,
            lever_arm: 0.0,
            zeeman_mev: zeeman,
            exchange_p_mev: 0.0,
            exchange_ap_mev: 0.0,
        }],
        inter_dot_mev: vec![vec![0.0]],
        leads: [lead(gl, 0.0, t), lead(gr, 0.0, t)],
        exchange_field: ExchangeField::None,
    };
    m.validate().unwrap();
    m
}

fn solve(r: &RateSet) -> PointResult {
    let p = steady::solve(r, &SteadyOptions::default()).unwrap();
    PointResult::from_probabilities(r, p)
}

fn cot_rates(m: &DotModel, v: f64, magnet: Magnet) -> RateSet {
    let prepared = CotunnelingPrepared::from_model(m.clone(), magnet).unwrap();
    match prepared.kernel(v).unwrap() {
        Kernel::Rates(r) => r,
        _ => panic!("cotunnelling gives rates"),
    }
}

fn cot(m: &DotModel, v: f64, magnet: Magnet) -> PointResult {
    solve(&cot_rates(m, v, magnet))
}

fn pauli(m: &DotModel, v: f64, magnet: Magnet) -> PointResult {
    solve(&RateSet::build(m, v, magnet))
}

/// The memristive preset's dot model (examples/memristive-cb.toml), at 4.2 K.
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

#[test]
fn sequential_rates_from_the_spectrum_equal_pauli() {
    // Two methods: the spectrum-based sequential rates and master::rates on Fock states, on the
    // memristive preset (two dots, three orbitals, exchange splittings, both configurations).
    let m = memristive();
    for magnet in [Magnet::P, Magnet::AP] {
        for v in [-400.0, -50.0, 0.0, 120.0, 600.0] {
            let sp = Spectrum::from_fock(&m, v, magnet);
            let leads = LeadChannels::from_model(&m, v, magnet).unwrap();
            let a = solve(&cotunneling::rates(&sp, &leads, Order::Sequential).unwrap());
            let b = pauli(&m, v, magnet);
            // (At V = 0 both are round-off, ~1e-160 nA.)
            assert!(
                (a.current_na - b.current_na).abs() <= 1e-9 * b.current_na.abs() + 1e-30,
                "{magnet:?} {v} mV: {} vs {}",
                a.current_na,
                b.current_na
            );
            for (x, y) in a.probabilities.iter().zip(&b.probabilities) {
                assert!((x - y).abs() < 1e-9, "{magnet:?} {v} mV: p {x} vs {y}");
            }
        }
    }
}

#[test]
fn non_interacting_level_deep_in_the_gap_agrees_with_landauer() {
    // U = 0: the exact current is Landauer's. Level 20 meV above E_F, Γ = 0.1 meV per lead, 2.3 K:
    // the second-order rates must give the coherent engine's current to 2 %, where the sequential
    // current is many orders of magnitude smaller.
    let m = level(20.0, 0.0, 0.0, 0.1, 0.1, 2.3);
    let device = Device::from_dot_model(&m);
    let negf = ApproachKind::Negf
        .build(&ApproachSettings::default())
        .prepare(&device, device.state("P").unwrap())
        .unwrap();
    for v in [-6.0, -3.0, -1.0, 0.5, 2.0, 4.0, 6.0] {
        let Kernel::Coherent(bp) = negf.kernel(v).unwrap() else {
            panic!("negf is coherent")
        };
        let exact = bp.current();
        let c = cot(&m, v, Magnet::P).current_na;
        let s = pauli(&m, v, Magnet::P).current_na;
        // The issue asks for 2 %; the intermediate state's width η = (Γ_L + Γ_R)/2 is the exact
        // Breit–Wigner width and the Turek–Matveev term vanishes this far from resonance, so the
        // agreement is in fact to round-off (measured ~1e-12).
        assert!(
            (c - exact).abs() < 1e-8 * exact.abs(),
            "{v} mV: cotunnelling {c} nA vs Landauer {exact} nA"
        );
        assert!(s.abs() < 1e-6 * exact.abs(), "{v} mV: sequential {s} nA");
    }
}

/// (e/h)·Γ_LΓ_R (nA per meV² of |amplitude|² × meV of window).
fn prefactor(gl: f64, gr: f64) -> f64 {
    E_OVER_H_NA_PER_MEV * gl * gr
}

#[test]
fn elastic_and_spin_flip_cotunnelling_through_a_singly_occupied_level() {
    // ε = −40 meV, U = 80 meV: the ground state is a spin doublet, E₋ = −ε = 40 meV,
    // E₊ = ε + U = 40 meV. Linear conductance from both doublet states (probability ½ each):
    //   G = (e²/h) Γ_LΓ_R [1/E₋² + 1/E₊² + (1/E₊ + 1/E₋)²]
    // (spin-conserving through the empty and the doubly occupied state, plus the spin-flip
    // channel in which the two paths interfere constructively).
    let (gl, gr) = (0.05, 0.02);
    for (e, u) in [(-40.0, 80.0), (-20.0, 80.0)] {
        let m = level(e, u, 0.0, gl, gr, 1.0);
        let (em, ep) = (-e, e + u);
        let s = 1.0 / (em * em) + 1.0 / (ep * ep) + (1.0 / ep + 1.0 / em).powi(2);
        for v in [0.2, 0.5, -0.8] {
            let i = cot(&m, v, Magnet::P).current_na;
            let expect = prefactor(gl, gr) * s * v;
            assert!(
                (i - expect).abs() < 5e-3 * expect.abs(),
                "ε={e} {v} mV: {i} vs {expect}"
            );
        }
    }
    // U = 0 with the level half filled: the electron-first and hole-first spin-flip paths have equal
    // and opposite amplitudes (a non-interacting level cannot flip a spin); only the broadenings of
    // the two intermediate states differ, a relative (η/ε)² remainder.
    let m = level(-30.0, 0.0, 0.0, gl, gr, 1.0);
    let r = cot_rates(&m, 0.5, Magnet::P);
    let flips: f64 = r
        .transitions
        .iter()
        .filter(|t| t.exit.is_some() && t.from != t.to && (t.from == 1 || t.from == 2))
        .map(|t| t.rate)
        .sum();
    let elastic: f64 = r
        .transitions
        .iter()
        .filter(|t| t.exit.is_some() && t.from == t.to && t.from == 1)
        .map(|t| t.rate)
        .sum();
    assert!(
        flips < 1e-4 * elastic,
        "U = 0 spin flips {flips} vs {elastic}"
    );
}

#[test]
fn inelastic_step_and_spin_heating_at_the_zeeman_energy() {
    // Zeeman-split doublet (Δ = 0.5 meV, ↑ lower: ε_↑ = −50.25, ε_↓ = −49.75 meV), U = 100 meV,
    // 0.1 K, Γ_L = Γ_R. Elastic sums per state S_↑ = 1/(−ε_↑)² + 1/(ε_↓ + U)², S_↓ likewise, spin
    // flip S_sf = (1/E₊ + 1/E₋)² ≈ (2/50 meV)², c = (e/h)Γ_LΓ_R. At T → 0:
    //   excitation ↑→↓ (L→R only): c·S_sf·(V − Δ) for V > Δ;
    //   relaxation ↓→↑: L→R (V + Δ), L→L Δ, R→R Δ  ⇒ p_↓ = (V − Δ)/(2V + 2Δ);
    //   I = c[(p_↑ S_↑ + p_↓ S_↓) V + S_sf (p_↑ (V − Δ) + p_↓ (V + Δ))].
    // Below the step I = c S_↑ V (no spin flip); above it dI/dV jumps by ≈ c·S_sf·(1 + ½).
    let (g, delta) = (0.05, 0.5);
    let m = level(-50.0, 100.0, delta, g, g, 0.1);
    let (eu, ed, u): (f64, f64, f64) = (-50.25, -49.75, 100.0);
    let s_up = 1.0 / (eu * eu) + 1.0 / ((ed + u) * (ed + u));
    let s_dn = 1.0 / (ed * ed) + 1.0 / ((eu + u) * (eu + u));
    let s_sf = (1.0 / (ed + u) - 1.0 / ed).powi(2);
    let c = prefactor(g, g);
    let p_down = |v: f64| {
        if v > delta {
            (v - delta) / (2.0 * v + 2.0 * delta)
        } else {
            0.0
        }
    };
    let expect = |v: f64| {
        let pd = p_down(v);
        c * (((1.0 - pd) * s_up + pd * s_dn) * v
            + s_sf * ((1.0 - pd) * (v - delta).max(0.0) + pd * (v + delta)))
    };
    for v in [0.2, 0.4, 0.6, 0.8, 1.2, 2.0] {
        let r = cot(&m, v, Magnet::P);
        assert!(
            (r.current_na - expect(v)).abs() < 0.01 * expect(v),
            "{v} mV: {} vs {}",
            r.current_na,
            expect(v)
        );
        // Spin heating: the ↓ population (state bit 1) follows the rate balance.
        let pd = r.probabilities[0b10];
        assert!(
            (pd - p_down(v)).abs() < 0.01 * p_down(v).max(0.01),
            "{v} mV: p↓ {pd} vs {}",
            p_down(v)
        );
    }
    // dI/dV below and above the step.
    let didv = |v: f64| {
        (cot(&m, v + 0.01, Magnet::P).current_na - cot(&m, v - 0.01, Magnet::P).current_na) / 0.02
    };
    let (below, above) = (didv(0.35), didv(0.65));
    assert!(
        (below - c * s_up).abs() < 0.01 * c * s_up,
        "{below} vs {}",
        c * s_up
    );
    let above_expect = (expect(0.66) - expect(0.64)) / 0.02;
    assert!(
        (above - above_expect).abs() < 0.01 * above_expect,
        "{above} vs {above_expect}"
    );
    assert!(above / below > 2.0, "step ratio {}", above / below);
}

#[test]
fn no_current_in_equilibrium_and_detailed_balance() {
    // Two orbitals on two dots, polarised leads, Zeeman splitting, V = 0: every cotunnelling rate
    // and its reverse obey W(a→b, r→r') = W(b→a, r'→r)·exp(−(E_b − E_a)/kT), and no current flows.
    // A spin accumulation alone (V = 0) drives a current.
    let text = r#"
[dots]
temperature_K = 30.0
[[dots.dot]]
name = "a"
charging_meV = 12.0
orbitals = [{ energy_meV = -3.0, zeeman_meV = 0.4 }]
[[dots.dot]]
name = "b"
charging_meV = 9.0
orbitals = [{ energy_meV = 2.0 }]
[[dots.coupling]]
dots = ["a", "b"]
energy_meV = 2.0
[dots.leads.left]
gamma_meV = { a = 0.05, b = 0.02 }
polarization = 0.4
[dots.leads.right]
gamma_meV = { a = 0.01, b = 0.06 }
polarization = -0.3
"#;
    let (m, _) = spinpath::master::spec::load("t.toml", text).unwrap();
    for magnet in [Magnet::P, Magnet::AP] {
        let r = cot_rates(&m, 0.0, magnet);
        let sp = Spectrum::from_fock(&m, 0.0, magnet);
        let kt = kt_mev(30.0);
        let mut checked = 0;
        for t in r.transitions.iter().filter(|t| t.exit.is_some()) {
            let (lo, so) = t.exit.unwrap();
            let back = r
                .transitions
                .iter()
                .find(|u| {
                    u.from == t.to
                        && u.to == t.from
                        && u.lead == lo
                        && u.spin == so
                        && u.exit == Some((t.lead, t.spin))
                })
                .expect("reverse process");
            let boltz =
                (-(sp.energies_mev[t.to as usize] - sp.energies_mev[t.from as usize]) / kt).exp();
            assert!(
                (t.rate - back.rate * boltz).abs() < 1e-6 * t.rate,
                "{} → {}: {} vs {}",
                t.from,
                t.to,
                t.rate,
                back.rate * boltz
            );
            checked += 1;
        }
        assert!(checked > 20);
        let res = solve(&r);
        let scale = cot(&m, 1.0, magnet).current_na.abs();
        assert!(
            res.current_na.abs() < 1e-9 * scale,
            "{magnet:?}: {}",
            res.current_na
        );
        for s in 0..2 {
            assert!(res.current_spin_na[s].abs() < 1e-9 * scale);
        }
    }
    let mut acc = m.clone();
    acc.leads[1].spin_accumulation_mev = 0.5;
    let res = cot(&acc, 0.0, Magnet::P);
    assert!(res.current_na.abs() > 1e-6 * cot(&m, 1.0, Magnet::P).current_na.abs());
}

#[test]
fn gamma_squared_scaling_in_the_gap_and_pauli_far_from_it() {
    // Deep in the gap the current is second order: doubling both Γ multiplies it by 4.
    let m1 = level(-15.0, 40.0, 0.0, 0.02, 0.03, 4.2);
    let m2 = level(-15.0, 40.0, 0.0, 0.04, 0.06, 4.2);
    for v in [1.0, 5.0, -8.0] {
        let (i1, i2) = (
            cot(&m1, v, Magnet::P).current_na,
            cot(&m2, v, Magnet::P).current_na,
        );
        assert!((i2 / i1 - 4.0).abs() < 1e-3, "{v} mV: ratio {}", i2 / i1);
    }
    // Far outside the gap (sequential transport, |V|/2 beyond ε and ε + U by many kT) cotunnelling
    // is a small correction: within 2 % of Pauli.
    for v in [100.0, -100.0] {
        let (c, s) = (
            cot(&m1, v, Magnet::P).current_na,
            pauli(&m1, v, Magnet::P).current_na,
        );
        assert!((c - s).abs() < 0.02 * s.abs(), "{v} mV: {c} vs {s}");
    }
}

#[test]
fn continuous_and_monotone_across_the_resonance() {
    // Empty level at ε = 5 meV, large U: the sequential current switches on at V = 2ε = 10 mV.
    // The cotunnelling current is finite everywhere, grows monotonically through the resonance
    // (no divergence, no dip) and joins the sequential current above it.
    let m = level(5.0, 200.0, 0.0, 0.05, 0.05, 4.2);
    let mut last = 0.0;
    let mut v = 0.5;
    while v <= 16.0 {
        let c = cot(&m, v, Magnet::P).current_na;
        let s = pauli(&m, v, Magnet::P).current_na;
        assert!(c.is_finite() && c > 0.0, "{v} mV: {c}");
        assert!(c >= last, "{v} mV: {c} < {last}");
        assert!(
            c >= s * 0.999,
            "{v} mV: cotunnelling {c} below sequential {s}"
        );
        if v > 13.0 {
            assert!((c - s) < 0.05 * s, "{v} mV: {c} vs {s}");
        }
        last = c;
        v += 0.25;
    }
}

#[test]
fn spin_flip_cotunnelling_lifts_a_spin_blockade() {
    // Right lead a half metal (p = 1 along −z in AP: accepts only ↓), left unpolarised; the level
    // is in the bias window and ↑ lies Δ = 0.4 meV above ↓ (zeeman < 0). Sequentially the dot
    // fills with ↑ and stays: a spin blockade. Cotunnelling flips ↑ → ↓ (an electron ↓ in from the
    // left, ↑ out to the left, gaining Δ), after which ↓ leaves to the right: a current ∝ Γ_L².
    let mut m = level(0.0, 300.0, -0.4, 0.05, 0.05, 0.5);
    m.leads[1].polarization = 1.0;
    let v = 20.0;
    let s = pauli(&m, v, Magnet::AP);
    let c = cot(&m, v, Magnet::AP);
    assert!(
        s.probabilities[0b01] > 0.999,
        "blockaded in ↑: {:?}",
        s.probabilities
    );
    assert!(
        c.current_na > 1e6 * s.current_na.abs().max(1e-300),
        "{} vs {}",
        c.current_na,
        s.current_na
    );
    assert!(c.probabilities[0b01] < s.probabilities[0b01]);
    // The lifted current is second order in Γ_L: doubling Γ_L quadruples it (it stays the
    // bottleneck while Γ_L² Δ/E² ≪ Γ_R).
    let mut m2 = m.clone();
    m2.leads[0].gamma_mev[0] *= 2.0;
    let c2 = cot(&m2, v, Magnet::AP);
    assert!(
        (c2.current_na / c.current_na - 4.0).abs() < 0.2,
        "ratio {}",
        c2.current_na / c.current_na
    );
}

#[test]
fn memristive_preset_conducts_inside_the_gap() {
    // At 4.2 K inside the Coulomb gap the sequential current is ~1e-30 nA; cotunnelling gives a
    // finite current that grows with |V|, in both configurations, with a TMR.
    let m = memristive();
    let mut last = [0.0; 2];
    for v in [-10.0, -25.0, -50.0] {
        for (k, magnet) in [Magnet::P, Magnet::AP].into_iter().enumerate() {
            let c = cot(&m, v, magnet).current_na;
            let s = pauli(&m, v, magnet).current_na;
            assert!(c.is_finite() && c < 0.0, "{v} mV {magnet:?}: {c}");
            assert!(c.abs() > 1e6 * s.abs(), "{v} mV: {c} vs {s}");
            assert!(c.abs() > last[k]);
            last[k] = c.abs();
        }
    }
}

#[test]
fn monte_carlo_counts_cotunnelling_transfers() {
    // Two methods: a Gillespie trajectory over the cotunnelling kernel (each event moves an
    // electron through both junctions) against the steady-state current, in the gap of a
    // Zeeman-split doublet where every event is second order (elastic and spin flip). At
    // 0.5 mV ≈ 1.4 k_BT a quarter of the transfers run backwards (right → left): their exit leg
    // into the left lead must be counted.
    use spinpath::engine::dynamics::Dynamics;
    let m = level(-15.0, 40.0, 0.3, 0.05, 0.05, 4.2);
    let kernel = Kernel::Rates(cot_rates(&m, 0.5, Magnet::P));
    let steady = solve(match &kernel {
        Kernel::Rates(r) => r,
        _ => unreachable!(),
    });
    // ~2e5 transfers in the dwell.
    let rate_per_s = steady.current_na * 1e-9 / spinpath::master::model::ELEMENTARY_CHARGE_C;
    let dwell = 2e5 / rate_per_s;
    let mut mc = spinpath::master::MonteCarlo::new(7, dwell / 100.0, 100_000_000);
    mc.reset(&steady.probabilities);
    let r = mc.step(&kernel, dwell).unwrap();
    assert!(
        (r.current_na - steady.current_na).abs()
            < 5.0 * r.current_err_na.max(1e-3 * steady.current_na),
        "MC {} ± {} vs steady {}",
        r.current_na,
        r.current_err_na,
        steady.current_na
    );
    assert!((r.current_na - steady.current_na).abs() < 0.02 * steady.current_na);
}

#[test]
fn unequal_lead_temperatures_are_refused_with_file_line_and_keys() {
    let text = r#"
[dots]
temperature_K = 4.2
[[dots.dot]]
name = "d"
charging_meV = 10.0
orbitals = [{ energy_meV = 1.0 }]
[dots.leads.left]
gamma_meV = { d = 0.1 }
[dots.leads.right]
gamma_meV = { d = 0.1 }
temperature_K = 10.0
[dots_run]
approach = "cotunneling"
sweep_mV = [0.0, 1.0]
step_mV = 0.5
dwell_s = 0.0
"#;
    let err = spinpath::master::spec::load("hot.toml", text)
        .unwrap_err()
        .to_string();
    for needle in [
        "hot.toml",
        "hot.toml:14:",
        "dots_run.approach",
        "right.temperature_K = 10",
    ] {
        assert!(err.contains(needle), "`{needle}` missing from: {err}");
    }
    // The library constructor refuses it too.
    let (m, _) =
        spinpath::master::spec::load("ok.toml", &text.replace("approach = \"cotunneling\"\n", ""))
            .unwrap();
    let e = CotunnelingPrepared::from_model(m, Magnet::P)
        .err()
        .expect("refused");
    assert!(e.to_string().contains("temperature"), "{e}");
}
