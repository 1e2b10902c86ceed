//! Physics tests of the coherent engine: analytic limits, conservation, equilibrium, symmetry,
//! convergence.

use proptest::prelude::*;
use spinpath::model::{default_lever_arms, Axis, Chain, Lead, MagneticState, Site};
use spinpath::negf::{ChainSolver, Integration};
use spinpath::units::{fermi, kt_mev, E_OVER_H_NA_PER_MEV};

fn site(name: &str, energy: f64, splitting: f64, axis: Axis, lever_arm: f64) -> Site {
    Site {
        name: name.into(),
        energy,
        splitting,
        axis,
        lever_arm,
    }
}

fn lead(site: usize, width: f64, p: f64, dmu: f64, t: f64) -> Lead {
    Lead {
        site,
        width,
        polarization: p,
        spin_accumulation: dmu,
        temperature: t,
    }
}

fn tight() -> Integration {
    Integration {
        rel_tol: 1e-9,
        abs_tol_na: 1e-12,
        ..Integration::default()
    }
}

/// One spin-degenerate level between two leads: T(E) = Γ_L Γ_R / ((E − ε)² + (Γ_L + Γ_R)²/4)
/// per spin, and at low temperature I = (e/h)·2·(Γ_LΓ_R/Γ)·2[atan(2(μ_L−ε)/Γ) − atan(2(μ_R−ε)/Γ)].
#[test]
fn single_level_matches_breit_wigner() {
    let (eps, gl, gr) = (0.7, 0.3, 0.5);
    let chain = Chain::new(
        vec![site("d", eps, 0.0, Axis::Left, 0.0)],
        vec![],
        lead(0, gl, 0.0, 0.0, 0.01),
        lead(0, gr, 0.0, 0.0, 0.01),
    )
    .unwrap();
    let s = ChainSolver::new(&chain, &MagneticState::parallel()).unwrap();
    let es: Vec<f64> = (0..41).map(|k| -2.0 + 0.1 * k as f64).collect();
    for p in s.spectrum(0.0, &es) {
        let bw = gl * gr / ((p.energy_mev - eps).powi(2) + (gl + gr).powi(2) / 4.0);
        assert!(
            (p.transmission_up - bw).abs() < 1e-12,
            "E = {}",
            p.energy_mev
        );
        assert!((p.transmission_down - bw).abs() < 1e-12);
        // DOS of a Lorentzian level: (Γ/2π)/((E−ε)² + Γ²/4).
        let g = gl + gr;
        let dos = (g / (2.0 * std::f64::consts::PI)) / ((p.energy_mev - eps).powi(2) + g * g / 4.0);
        assert!((p.dos_per_mev[0][0] - dos).abs() < 1e-10);
    }
    for v in [-3.0, -1.0, 0.5, 1.4, 2.0, 5.0] {
        let r = s.bias_point(v, &tight());
        let g = gl + gr;
        let (ml, mr) = (v / 2.0, -v / 2.0);
        let exact = E_OVER_H_NA_PER_MEV
            * 2.0
            * (gl * gr / g)
            * 2.0
            * ((2.0 * (ml - eps) / g).atan() - (2.0 * (mr - eps) / g).atan());
        assert!(
            (r.current() - exact).abs() < 1e-5 * exact.abs().max(1.0),
            "V = {v}: {} vs {exact}",
            r.current()
        );
        assert!(r.converged);
    }
}

/// Γ ≪ k_BT: the sequential-tunnelling (rate-equation) limit of a non-interacting level,
/// I = (e/h)·Σ_σ 2π Γ_Lσ Γ_Rσ / (Γ_Lσ + Γ_Rσ) · [f_L(ε) − f_R(ε)]. The resonance is 0.1 meV wide and
/// sits away from every chemical potential: the adaptive integration must not miss it.
#[test]
fn narrow_resonance_is_not_missed_and_matches_sequential_tunnelling() {
    let (eps, gl, gr, t) = (13.37, 0.04, 0.06, 295.0);
    let p = 0.4;
    let chain = Chain::new(
        vec![site("d", eps, 0.0, Axis::Left, 0.0)],
        vec![],
        lead(0, gl, p, 0.0, t),
        lead(0, gr, p, 0.0, t),
    )
    .unwrap();
    let s = ChainSolver::new(&chain, &MagneticState::parallel()).unwrap();
    let kt = kt_mev(t);
    for v in [-20.0, 10.0, 30.0] {
        let r = s.bias_point(v, &Integration::default());
        let df = fermi(eps, v / 2.0, kt) - fermi(eps, -v / 2.0, kt);
        let exact: f64 = [1.0, -1.0]
            .iter()
            .map(|sg| {
                let (a, b) = (gl * (1.0 + sg * p), gr * (1.0 + sg * p));
                2.0 * std::f64::consts::PI * a * b / (a + b)
            })
            .sum::<f64>()
            * df
            * E_OVER_H_NA_PER_MEV;
        // The Lorentzian tails make the corrections O(Γ/k_BT) ≈ 4e-3 relative.
        assert!(
            (r.current() - exact).abs() < 1e-2 * exact.abs(),
            "V = {v}: {} vs {exact}",
            r.current()
        );
        // Against a brute-force composite Simpson integral of the Breit–Wigner formula on a grid
        // that resolves the resonance (1 µeV steps near it): the adaptive result must agree tightly.
        let brute: f64 = [1.0, -1.0]
            .iter()
            .map(|sg| {
                let (a, b) = (gl * (1.0 + sg * p), gr * (1.0 + sg * p));
                let g = |e: f64| {
                    a * b / ((e - eps).powi(2) + (a + b).powi(2) / 4.0)
                        * (fermi(e, v / 2.0, kt) - fermi(e, -v / 2.0, kt))
                };
                simpson(g, -1200.0, eps - 2.0, 0.01)
                    + simpson(g, eps - 2.0, eps + 2.0, 1e-4)
                    + simpson(g, eps + 2.0, 1200.0, 0.01)
            })
            .sum::<f64>()
            * E_OVER_H_NA_PER_MEV;
        assert!(
            (r.current() - brute).abs() < 1e-5 * brute.abs(),
            "V = {v}: {} vs brute force {brute}",
            r.current()
        );
    }
}

fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, h: f64) -> f64 {
    let n = (((b - a) / h).ceil() as usize).max(2) & !1usize;
    let h = (b - a) / n as f64;
    let mut s = f(a) + f(b);
    for k in 1..n {
        s += if k % 2 == 1 { 4.0 } else { 2.0 } * f(a + k as f64 * h);
    }
    s * h / 3.0
}

fn spin_engine_like(sp: f64, angle: f64) -> (Chain, MagneticState) {
    let a = default_lever_arms(4);
    let chain = Chain::new(
        vec![
            site("SP1", 0.0, 2.0, Axis::Left, a[0]),
            site("PM1", -2.75, 0.0, Axis::Left, a[1]),
            site("PM2", -2.25, 0.3, Axis::Fixed([1.0, 0.5, 0.2]), a[2]),
            site("SP2", 0.0, 2.0, Axis::Right, a[3]),
        ],
        vec![1.0, 0.8, 1.2],
        lead(0, 10.0, 0.35, sp, 295.0),
        lead(3, 8.0, 0.3, sp * 0.3, 295.0),
    )
    .unwrap();
    let state = MagneticState {
        name: "tilted".into(),
        angle_deg: angle,
        energy_overrides: vec![],
        splitting_overrides: vec![],
    };
    (chain, state)
}

#[test]
fn current_is_the_same_through_every_bond() {
    for angle in [0.0, 180.0, 63.0] {
        let (chain, state) = spin_engine_like(8.4, angle);
        let s = ChainSolver::new(&chain, &state).unwrap();
        for v in [-4.0, 0.0, 1.3] {
            let r = s.bias_point(v, &tight());
            let bonds = s.bond_currents(v, &tight());
            assert_eq!(bonds.len(), 3);
            let i = r.current();
            assert!(i.abs() > 1e-3, "test needs a non-zero current, got {i}");
            for (k, b) in bonds.iter().enumerate() {
                assert!(
                    (b - i).abs() < 1e-6 * i.abs().max(1e-3),
                    "θ={angle} V={v} bond {k}: {b} vs {i}"
                );
            }
            assert!((r.current_into_right() - i).abs() < 1e-9 * i.abs().max(1.0));
        }
    }
}

#[test]
fn tightening_the_tolerance_changes_the_result_within_the_tolerance() {
    let (chain, state) = spin_engine_like(8.4, 0.0);
    let s = ChainSolver::new(&chain, &state).unwrap();
    for v in [-3.5, 0.0, 0.7, 9.0] {
        let loose = s.bias_point(
            v,
            &Integration {
                rel_tol: 1e-4,
                ..Integration::default()
            },
        );
        let tight = s.bias_point(v, &tight());
        let scale = tight.current_up().abs() + tight.current_down().abs();
        assert!(
            (loose.current() - tight.current()).abs() <= 2e-4 * scale,
            "V={v}"
        );
        assert!(tight.evaluations >= loose.evaluations);
    }
}

/// Mirror image: reversing the chain, swapping the leads and reversing the bias reverses the
/// current, for any (non-symmetric) collinear P device.
#[test]
fn mirror_image_reverses_the_current() {
    let a = default_lever_arms(3);
    let chain = Chain::new(
        vec![
            site("A", 0.4, 1.0, Axis::Left, a[0]),
            site("B", -1.0, 0.0, Axis::Left, a[1]),
            site("C", 2.0, 0.5, Axis::Right, a[2]),
        ],
        vec![1.0, 0.6],
        lead(0, 5.0, 0.5, 3.0, 100.0),
        lead(2, 2.0, -0.2, -1.0, 200.0),
    )
    .unwrap();
    let m = chain.mirrored();
    let s = ChainSolver::new(&chain, &MagneticState::parallel()).unwrap();
    let sm = ChainSolver::new(&m, &MagneticState::parallel()).unwrap();
    for v in [-2.0, 0.0, 0.9] {
        let i = s.bias_point(v, &tight()).current();
        let im = sm.bias_point(-v, &tight()).current();
        assert!(i.abs() > 1e-3);
        assert!((i + im).abs() < 1e-7 * i.abs(), "V={v}: {i} vs {im}");
    }
}

/// A mirror-symmetric device with different spin accumulations: swapping the electrodes reverses
/// the current at V = 0.
#[test]
fn swapping_the_electrodes_of_a_symmetric_device_reverses_the_current() {
    let mk = |dl: f64, dr: f64| {
        Chain::new(
            vec![
                site("SP1", 0.0, 2.0, Axis::Left, 0.25),
                site("SP2", 0.0, 2.0, Axis::Right, -0.25),
            ],
            vec![1.0],
            lead(0, 10.0, 0.35, dl, 295.0),
            lead(1, 10.0, 0.35, dr, 295.0),
        )
        .unwrap()
    };
    let s1 = ChainSolver::new(&mk(8.4, 2.5), &MagneticState::parallel()).unwrap();
    let s2 = ChainSolver::new(&mk(2.5, 8.4), &MagneticState::parallel()).unwrap();
    let (i1, i2) = (
        s1.bias_point(0.0, &tight()).current(),
        s2.bias_point(0.0, &tight()).current(),
    );
    assert!(i1.abs() > 1e-4, "{i1}");
    assert!((i1 + i2).abs() < 1e-8 * i1.abs(), "{i1} vs {i2}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// No spin accumulation, no bias, equal temperatures: no current through any bond (computed
    /// from G^<, independently of the terminal formula), for random chains, fields and angles.
    #[test]
    fn equilibrium_carries_no_current(
        e in prop::collection::vec(-20.0f64..20.0, 3),
        split in prop::collection::vec(-5.0f64..5.0, 3),
        hop in prop::collection::vec(0.1f64..3.0, 2),
        wl in 0.1f64..20.0, wr in 0.1f64..20.0,
        pl in -1.0f64..1.0, pr in -1.0f64..1.0,
        angle in 0.0f64..360.0, temp in 1.0f64..400.0,
    ) {
        let chain = Chain::new(
            vec![
                site("a", e[0], split[0], Axis::Left, 0.3),
                site("b", e[1], split[1], Axis::Fixed([0.3, -0.2, 0.9]), 0.0),
                site("c", e[2], split[2], Axis::Right, -0.3),
            ],
            hop,
            lead(0, wl, pl, 0.0, temp),
            lead(2, wr, pr, 0.0, temp),
        ).unwrap();
        let state = MagneticState { name: "x".into(), angle_deg: angle, energy_overrides: vec![], splitting_overrides: vec![] };
        let s = ChainSolver::new(&chain, &state).unwrap();
        let r = s.bias_point(0.0, &Integration::default());
        prop_assert!(r.current().abs() < 1e-9);
        for b in s.bond_currents(0.0, &Integration::default()) {
            prop_assert!(b.abs() < 1e-7 * (wl + wr) * E_OVER_H_NA_PER_MEV, "bond current {}", b);
        }
    }

    /// Second law with a spin accumulation and a bias: the total dissipation Σ μ_i J_i and the
    /// entropy production are never negative, so the efficiency never exceeds 1.
    #[test]
    fn second_law_holds(
        sp in -20.0f64..20.0, v in -10.0f64..10.0, angle in 0.0f64..360.0,
        pl in -0.99f64..0.99, pr in -0.99f64..0.99,
    ) {
        let (chain, state) = spin_engine_like(sp, angle);
        let chain = chain.with_leads(
            Lead { polarization: pl, ..chain.left().clone() },
            Lead { polarization: pr, ..chain.right().clone() },
        ).unwrap();
        let s = ChainSolver::new(&chain, &state).unwrap();
        let r = s.bias_point(v, &tight());
        let scale = 1e-9 * (1.0 + r.spin_free_energy().abs() + r.power_out().abs());
        prop_assert!(r.dissipation() >= -scale, "dissipation {}", r.dissipation());
        prop_assert!(r.entropy_production().unwrap() >= -scale / 295.0);
        if let Some(eta) = r.efficiency() {
            prop_assert!(eta <= 1.0 + 1e-9, "efficiency {}", eta);
        }
        // Energy conservation: the energy currents into both leads add up to zero.
        let de = r.energy_into_lead(0) + r.energy_into_lead(1);
        prop_assert!(de.abs() < 1e-6 * (1.0 + r.energy_into_lead(0).abs()));
    }
}

/// The AP state (θ = 180°) is the P state with the right electrode flipped: p_R, its spin
/// accumulation and the splitting of the spinterface that follows it change sign (paper 1's recipe).
#[test]
fn antiparallel_equals_parallel_with_the_right_electrode_flipped() {
    let a = default_lever_arms(3);
    let mk = |pr: f64, dmu_r: f64, split_r: f64| {
        Chain::new(
            vec![
                site("SP1", 0.1, 2.0, Axis::Left, a[0]),
                site("PM", -1.0, 0.0, Axis::Left, a[1]),
                site("SP2", -0.2, split_r, Axis::Right, a[2]),
            ],
            vec![1.0, 0.7],
            lead(0, 10.0, 0.35, 8.4, 295.0),
            lead(2, 6.0, pr, dmu_r, 295.0),
        )
        .unwrap()
    };
    let ap = ChainSolver::new(&mk(0.35, 2.52, 2.0), &MagneticState::antiparallel()).unwrap();
    let flipped = ChainSolver::new(&mk(-0.35, -2.52, -2.0), &MagneticState::parallel()).unwrap();
    let p = ChainSolver::new(&mk(0.35, 2.52, 2.0), &MagneticState::parallel()).unwrap();
    for v in [-3.0, 0.0, 0.6] {
        let (x, y, z) = (
            ap.bias_point(v, &tight()),
            flipped.bias_point(v, &tight()),
            p.bias_point(v, &tight()),
        );
        assert!(
            (x.current_up() - y.current_up()).abs() < 1e-8 * x.current_up().abs().max(1e-3),
            "V={v}"
        );
        assert!(
            (x.current_down() - y.current_down()).abs() < 1e-8 * x.current_down().abs().max(1e-3),
            "V={v}"
        );
        // ... and it is a different state from P (the test would pass trivially otherwise).
        assert!(
            (x.current() - z.current()).abs() > 1e-3 * z.current().abs(),
            "V={v}"
        );
    }
}

/// The collinear fast path (two scalar chains) and the general 2×2-block recursion agree.
#[test]
fn collinear_fast_path_agrees_with_the_general_recursion() {
    for (angle, lead_r) in [(0.0, 3usize), (180.0, 3), (180.0, 2)] {
        let (chain, _) = spin_engine_like(8.4, 0.0);
        // Make every spin axis collinear with z so that the fast path applies.
        let sites: Vec<Site> = chain
            .sites()
            .iter()
            .map(|s| Site {
                axis: if matches!(s.axis, Axis::Fixed(_)) {
                    Axis::Left
                } else {
                    s.axis
                },
                ..s.clone()
            })
            .collect();
        let right = Lead {
            site: lead_r,
            ..chain.right().clone()
        };
        let left = Lead {
            site: 1,
            ..chain.left().clone()
        };
        let chain = Chain::new(sites, chain.hoppings().to_vec(), left, right).unwrap();
        let state = MagneticState {
            name: "s".into(),
            angle_deg: angle,
            energy_overrides: vec![],
            splitting_overrides: vec![],
        };
        let fast = ChainSolver::new(&chain, &state).unwrap();
        assert!(fast.is_collinear());
        let slow = fast.clone().without_fast_path();
        for v in [-2.0, 0.0, 0.8] {
            let (x, y) = (fast.bias_point(v, &tight()), slow.bias_point(v, &tight()));
            for k in 0..4 {
                assert!(
                    (x.channel_current_na[k] - y.channel_current_na[k]).abs()
                        < 1e-8 * (1.0 + y.channel_current_na[k].abs()),
                    "θ={angle} b={lead_r} V={v} channel {k}"
                );
            }
        }
    }
}

/// Non-equilibrium occupation of a Lorentzian level at low temperature:
/// n_σ = Σ_r (Γ_r/Γ)·[½ + atan(2(μ_r − ε_σ)/Γ)/π]; the spin polarisation m_z = n_↑ − n_↓.
/// (At 1e-4 K the Sommerfeld correction (π²/6)(k_BT)²A′ is below 1e-10.)
#[test]
fn site_densities_match_the_lorentzian_occupation() {
    let (eps, gl, gr, split) = (0.7, 0.3, 0.5, 0.4);
    let chain = Chain::new(
        vec![site("d", eps, split, Axis::Left, 0.0)],
        vec![],
        lead(0, gl, 0.0, 0.0, 1e-4),
        lead(0, gr, 0.0, 0.0, 1e-4),
    )
    .unwrap();
    for angle in [0.0, 180.0] {
        let s = ChainSolver::new(
            &chain,
            &MagneticState {
                name: "x".into(),
                angle_deg: angle,
                energy_overrides: vec![],
                splitting_overrides: vec![],
            },
        )
        .unwrap();
        for v in [0.0, 0.6, 2.5] {
            let d = s.site_densities(v, &tight())[0];
            let g = gl + gr;
            let occ = |e: f64| -> f64 {
                [(gl, v / 2.0), (gr, -v / 2.0)]
                    .iter()
                    .map(|(gr_, mu)| {
                        gr_ / g * (0.5 + (2.0 * (mu - e) / g).atan() / std::f64::consts::PI)
                    })
                    .sum()
            };
            let (up, down) = (occ(eps + split / 2.0), occ(eps - split / 2.0));
            assert!(
                (d[0] - (up + down)).abs() < 1e-8,
                "V={v}: n = {} vs {}",
                d[0],
                up + down
            );
            assert!(
                (d[3] - (up - down)).abs() < 1e-8,
                "V={v}: m_z = {} vs {}",
                d[3],
                up - down
            );
            assert!(d[1].abs() < 1e-9 && d[2].abs() < 1e-9);
        }
    }
}

/// Self-consistent exchange: J = 0 changes nothing; with J ≠ 0 the fields are a fixed point of
/// J·m, and the equilibrium still carries no current.
#[test]
fn self_consistent_exchange_is_a_fixed_point_and_keeps_equilibrium() {
    use spinpath::negf::{ExchangeLink, SelfConsistency};
    let (chain, state) = spin_engine_like(8.4, 0.0);
    let s = ChainSolver::new(&chain, &state).unwrap();
    let sc = SelfConsistency {
        tolerance_mev: 1e-9,
        ..SelfConsistency::default()
    };
    let zero = [ExchangeLink {
        site: 1,
        from: 0,
        coupling_mev: 0.0,
    }];
    let a = s
        .bias_point_self_consistent(0.5, &tight(), &zero, &sc)
        .unwrap();
    let b = s.bias_point(0.5, &tight());
    assert!((a.current() - b.current()).abs() < 1e-12);
    let links = [
        ExchangeLink {
            site: 1,
            from: 0,
            coupling_mev: 3.0,
        },
        ExchangeLink {
            site: 2,
            from: 3,
            coupling_mev: -2.0,
        },
    ];
    let p = s
        .bias_point_self_consistent(0.5, &tight(), &links, &sc)
        .unwrap();
    assert!(p.iterations > 1);
    let d = s
        .with_fields(&p.exchange_fields_mev)
        .site_densities(0.5, &tight());
    for l in &links {
        for c in 0..3 {
            let want = l.coupling_mev * d[l.from][c + 1];
            assert!(
                (p.exchange_fields_mev[l.site][c] - want).abs() < 1e-7,
                "site {} comp {c}",
                l.site
            );
        }
    }
    assert!(
        p.exchange_fields_mev[1].iter().any(|x| x.abs() > 1e-3),
        "a polarised spinterface induces a field"
    );
    assert!(
        (p.current() - b.current()).abs() > 1e-6,
        "and the field changes the current"
    );
    // Equilibrium: no spin accumulation, no bias → no current, whatever the fields.
    let (chain0, state0) = spin_engine_like(0.0, 30.0);
    let s0 = ChainSolver::new(&chain0, &state0).unwrap();
    let q = s0
        .bias_point_self_consistent(0.0, &tight(), &links, &sc)
        .unwrap();
    assert!(q.current().abs() < 1e-9);
}

/// A collinear spin-engine-like chain (every axis along ±z) with lead temperatures `tl`, `tr`.
fn collinear_engine(sp: f64, tl: f64, tr: f64) -> Chain {
    let a = default_lever_arms(4);
    Chain::new(
        vec![
            site("SP1", 0.0, 2.0, Axis::Left, a[0]),
            site("PM1", -2.75, 0.0, Axis::Left, a[1]),
            site("PM2", -2.25, 0.3, Axis::Fixed([0.0, 0.0, -1.0]), a[2]),
            site("SP2", 0.0, 2.0, Axis::Right, a[3]),
        ],
        vec![1.0, 0.8, 1.2],
        lead(0, 10.0, 0.35, sp, tl),
        lead(3, 8.0, 0.3, sp * 0.3, tr),
    )
    .unwrap()
}

/// Issue 18: the closed-form (pole/digamma) integrals agree with the adaptive quadrature to 1e-9
/// for charge, spin and energy currents, in P and AP, with spin accumulation and unequal lead
/// temperatures, from room temperature down to 1 K.
#[test]
fn closed_form_integrals_agree_with_quadrature() {
    let very_tight = Integration {
        rel_tol: 1e-12,
        abs_tol_na: 1e-14,
        max_intervals: 20_000,
        ..Integration::default()
    };
    for (tl, tr) in [(295.0, 295.0), (300.0, 250.0), (10.0, 10.0), (1.0, 2.0)] {
        let chain = collinear_engine(8.4, tl, tr);
        for state in [MagneticState::parallel(), MagneticState::antiparallel()] {
            let s = ChainSolver::new(&chain, &state).unwrap();
            assert!(s.is_collinear());
            for v in [-7.0, -0.3, 0.0, 0.9, 4.0] {
                let q = s.bias_point(v, &very_tight);
                let x = s.bias_point_exact(v).expect("collinear wide-band chain");
                let scale = q
                    .channel_current_na
                    .iter()
                    .map(|c| c.abs())
                    .fold(0.0, f64::max);
                for i in 0..4 {
                    let d = (q.channel_current_na[i] - x.channel_current_na[i]).abs();
                    assert!(
                        d <= 1e-9 * scale,
                        "{tl}/{tr} K {} V = {v}: channel {i}: {} vs {}",
                        state.name,
                        q.channel_current_na[i],
                        x.channel_current_na[i]
                    );
                }
                let escale = q
                    .channel_energy_nw
                    .iter()
                    .map(|c| c.abs())
                    .fold(0.0, f64::max);
                for i in 0..4 {
                    let d = (q.channel_energy_nw[i] - x.channel_energy_nw[i]).abs();
                    assert!(
                        d <= 1e-9 * escale,
                        "{tl}/{tr} K {} V = {v}: energy {i}: {} vs {}",
                        state.name,
                        q.channel_energy_nw[i],
                        x.channel_energy_nw[i]
                    );
                }
                // Conservation: charge and energy (at V = 0) leave as they enter.
                let sum: f64 = x.channel_current_na.iter().sum();
                assert!(sum.abs() <= 1e-12 * scale.max(1e-300));
            }
        }
    }
}

/// At T = 0 exactly the closed form is the arctangent formula of a Lorentzian level (no
/// quadrature can do this limit), and it is continuous with the T → 0 digamma form.
#[test]
fn closed_form_at_zero_temperature_is_the_arctangent_formula() {
    let (eps, gl, gr) = (0.7, 0.3, 0.5);
    for t in [0.0, 1e-7] {
        let chain = Chain::new(
            vec![site("d", eps, 0.0, Axis::Left, 0.0)],
            vec![],
            lead(0, gl, 0.0, 0.0, t),
            lead(0, gr, 0.0, 0.0, t),
        )
        .unwrap();
        let s = ChainSolver::new(&chain, &MagneticState::parallel()).unwrap();
        let g = gl + gr;
        for v in [-3.0, -1.0, 0.5, 1.4, 2.0, 5.0] {
            let x = s.bias_point_exact(v).unwrap();
            let exact = E_OVER_H_NA_PER_MEV
                * 2.0
                * (gl * gr / g)
                * 2.0
                * ((2.0 * (v / 2.0 - eps) / g).atan() - (2.0 * (-v / 2.0 - eps) / g).atan());
            assert!(
                (x.current() - exact).abs() < 1e-12 * exact.abs(),
                "T = {t} V = {v}: {} vs {exact}",
                x.current()
            );
        }
        // Equilibrium: no current and no energy current.
        let x = s.bias_point_exact(0.0).unwrap();
        assert_eq!(x.current(), 0.0);
    }
}

/// Long chains: the closed form agrees with the quadrature for 64 sites; non-collinear states fall
/// back (None) and `bias_point` still integrates them.
#[test]
fn closed_form_on_a_long_chain_and_fallback_when_not_collinear() {
    let n = 64;
    let sites: Vec<Site> = (0..n)
        .map(|j| {
            site(
                &format!("s{j}"),
                0.3 * ((j * 7 % 11) as f64 - 5.0),
                if j % 3 == 0 { 0.4 } else { 0.0 },
                Axis::Left,
                0.5 - j as f64 / (n - 1) as f64,
            )
        })
        .collect();
    let chain = Chain::new(
        sites,
        vec![1.5; n - 1],
        lead(0, 2.0, 0.4, 0.0, 30.0),
        lead(n - 1, 2.0, 0.4, 0.0, 30.0),
    )
    .unwrap();
    let tight = Integration {
        rel_tol: 1e-12,
        abs_tol_na: 1e-14,
        max_intervals: 50_000,
        ..Integration::default()
    };
    for state in [MagneticState::parallel(), MagneticState::antiparallel()] {
        let s = ChainSolver::new(&chain, &state).unwrap();
        for v in [0.5, 3.0] {
            let q = s.bias_point(v, &tight);
            let x = s.bias_point_exact(v).unwrap();
            let scale = q
                .channel_current_na
                .iter()
                .map(|c| c.abs())
                .fold(0.0, f64::max);
            for i in 0..4 {
                assert!(
                    (q.channel_current_na[i] - x.channel_current_na[i]).abs() <= 1e-9 * scale,
                    "{} V = {v}: {} vs {}",
                    state.name,
                    q.channel_current_na[i],
                    x.channel_current_na[i]
                );
            }
        }
    }
    let (c, st) = spin_engine_like(8.4, 63.0);
    let s = ChainSolver::new(&c, &st).unwrap();
    assert!(s.bias_point_exact(1.0).is_none());
    // Opting in: the closed form where it applies, the quadrature elsewhere.
    let q = s.bias_point(1.0, &Integration::default());
    let s = s.with_closed_form(true);
    assert_eq!(s.bias_point(1.0, &Integration::default()), q);
    let p = ChainSolver::new(&chain, &MagneticState::parallel())
        .unwrap()
        .with_closed_form(true);
    assert_eq!(p.bias_point(0.5, &tight), p.bias_point_exact(0.5).unwrap());
}

/// Issue 18: along a sweep the closed form tracks the poles from point to point (Newton from the
/// previous points' poles instead of a QL iteration). The tracked sweep gives the same currents
/// and energy currents as independent single points to 1e-12, tracking is actually used, and the
/// result does not depend on the number of threads.
#[test]
fn tracked_poles_along_a_sweep_match_independent_points() {
    use spinpath::negf::poles::PoleScratch;
    use spinpath::sweep::sweep_bias;
    let bias: Vec<f64> = (0..801).map(|k| -10.0 + 0.025 * k as f64).collect();
    for (tl, tr) in [(295.0, 295.0), (4.2, 10.0)] {
        let chain = collinear_engine(8.4, tl, tr);
        for state in [MagneticState::parallel(), MagneticState::antiparallel()] {
            let s = ChainSolver::new(&chain, &state)
                .unwrap()
                .with_closed_form(true);
            let mut scratch = PoleScratch::tracking();
            for &v in &bias {
                let t = s.bias_point_exact_with(v, &mut scratch).unwrap();
                let x = s.bias_point_exact(v).unwrap();
                let scale = x
                    .channel_current_na
                    .iter()
                    .map(|c| c.abs())
                    .fold(1e-300, f64::max);
                let escale = x
                    .channel_energy_nw
                    .iter()
                    .map(|c| c.abs())
                    .fold(1e-300, f64::max);
                for i in 0..4 {
                    let d = (t.channel_current_na[i] - x.channel_current_na[i]).abs();
                    assert!(
                        d <= 1e-12 * scale,
                        "{tl} K {} V = {v}: channel {i}",
                        state.name
                    );
                    let d = (t.channel_energy_nw[i] - x.channel_energy_nw[i]).abs();
                    assert!(
                        d <= 1e-12 * escale,
                        "{tl} K {} V = {v}: energy {i}",
                        state.name
                    );
                }
            }
            // All but the first point's two spins were tracked.
            assert!(
                scratch.tracked_count() >= 2 * (bias.len() - 1),
                "{} tracked of {}",
                scratch.tracked_count(),
                2 * bias.len()
            );
            let opts = Integration::default();
            let all = sweep_bias(&s, &bias, &opts, &|| {});
            let one = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap()
                .install(|| sweep_bias(&s, &bias, &opts, &|| {}));
            assert_eq!(all, one);
        }
    }
}
