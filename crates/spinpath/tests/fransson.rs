//! Bias-dependent (Fransson) exchange mediated by a spin-resolved path (engine/fransson.rs) and its
//! use in the many-body engine (`[[dots.coupling]] mediated_v_meV`, issue 13 item 1).

use nalgebra::DMatrix;
use num_complex::Complex64;
use spinpath::engine::fransson::{exchange, exchange_table, Fransson, Path, PathLead};
use spinpath::engine::manybody::ManyBody;
use spinpath::quad::{integrate, Tolerance};
use spinpath::reproduce::spin_engine::INTERACTING_PRESET;
use spinpath::units::fermi;

const W: f64 = 10.0;
const T_SP: f64 = 1.0;
const KT: f64 = 1.5;

/// SP_L – 1 – 2 – SP_R: SP levels at E0 ± SP/2 (majority +), widths W(1 ± p), spin-split chemical
/// potentials on the left (±dmu/2) and right (±dmu_r/2); `ap` flips the right lead's magnetisation.
#[allow(clippy::too_many_arguments)]
fn chain(p: f64, sp: f64, v: f64, t12: f64, dmu: f64, dmu_r: f64, ap: bool) -> Path {
    let m_r = if ap { -1.0 } else { 1.0 };
    let alpha_r = [m_r, -m_r];
    Path {
        levels_mev: vec![
            [sp / 2.0, -sp / 2.0],
            [-1.2, -1.2],
            [0.7, 0.7],
            alpha_r.map(|a| 0.3 + a * sp / 2.0),
        ],
        hoppings: vec![(0, 1, T_SP), (1, 2, t12), (2, 3, T_SP)],
        leads: vec![
            PathLead {
                couplings: vec![1.0, 0.0, 0.0, 0.0],
                width_mev: [W * (1.0 + p), W * (1.0 - p)],
                mu_mev: [v / 2.0 + dmu / 2.0, v / 2.0 - dmu / 2.0],
                kt_mev: KT,
            },
            PathLead {
                couplings: vec![0.0, 0.0, 0.0, 1.0],
                width_mev: alpha_r.map(|a| W * (1.0 + a * p)),
                mu_mev: alpha_r.map(|a| -v / 2.0 + a * dmu_r / 2.0),
                kt_mev: KT,
            },
        ],
    }
}

fn tol(rel: f64) -> Tolerance {
    Tolerance {
        rel,
        abs: 1e-14,
        max_intervals: 20000,
    }
}

fn fr(path: &Path, v: f64) -> Fransson {
    let r = exchange(path, 1, 2, v, tol(1e-9)).unwrap();
    assert!(r.converged, "{r:?}");
    r
}

fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()) + abs
}

/// Pauli matrices.
fn pauli() -> [DMatrix<Complex64>; 3] {
    let c = |re: f64, im: f64| Complex64::new(re, im);
    [
        DMatrix::from_row_slice(2, 2, &[c(0., 0.), c(1., 0.), c(1., 0.), c(0., 0.)]),
        DMatrix::from_row_slice(2, 2, &[c(0., 0.), c(0., -1.), c(0., 1.), c(0., 0.)]),
        DMatrix::from_row_slice(2, 2, &[c(1., 0.), c(0., 0.), c(0., 0.), c(-1., 0.)]),
    ]
}

/// 2×2 spin matrix of G^r_{nm} (diagonal: the path is collinear).
fn spin_block(path: &Path, w: f64, n: usize, m: usize) -> DMatrix<Complex64> {
    let mut g = DMatrix::<Complex64>::zeros(2, 2);
    for s in 0..2 {
        g[(s, s)] = path.retarded(w, s).unwrap()[(n, m)];
    }
    g
}

/// Integrate `f(ω)` over (−∞, hi] with a mapped tail below `lo` and breakpoints in between.
fn integrate_line(f: impl Fn(f64) -> [f64; 3], lo: f64, hi: f64, inner: &[f64]) -> [f64; 3] {
    let mut bp = vec![lo, hi];
    bp.extend(inner.iter().filter(|&&x| x > lo && x < hi));
    bp.sort_by(f64::total_cmp);
    let t = tol(1e-10);
    let main = integrate(|w, out| out.copy_from_slice(&f(w)), 3, 3, &bp, t);
    let tail = integrate(
        |u, out| {
            if u <= 0.0 {
                out.fill(0.0);
                return;
            }
            let w = lo - (1.0 - u) / u;
            let v = f(w);
            for k in 0..3 {
                out[k] = v[k] / (u * u);
            }
        },
        3,
        3,
        &[0.0, 1.0],
        t,
    );
    assert!(main.converged && tail.converged);
    [0, 1, 2].map(|k| main.value[k] + tail.value[k])
}

const BREAKS: [f64; 9] = [-5.0, -2.0, -1.2, -1.0, 0.0, 0.3, 0.7, 1.0, 2.0];

#[test]
fn equilibrium_matches_the_rkky_form() {
    // (a) V = 0, no spin accumulation: J^{ij} = −(v²/π) Im ∫ f Tr[σ^i G^r_12 σ^j G^r_21] dω,
    // computed from G^r alone with explicit Pauli traces (no G^<, no K/L decomposition), also with
    // polarised, spin-split spinterfaces (then J_z ≠ 0) and in AP.
    let v = 0.7;
    let s = pauli();
    for (p, sp, ap) in [(0.0, 0.0, false), (0.35, 2.0, false), (0.35, 2.0, true)] {
        let path = chain(p, sp, 0.0, 0.4, 0.0, 0.0, ap);
        let r = fr(&path, v);
        let rkky = integrate_line(
            |w| {
                let f = fermi(w, 0.0, KT);
                let g12 = spin_block(&path, w, 1, 2);
                let g21 = spin_block(&path, w, 2, 1);
                let tr = |i: usize, j: usize| (&s[i] * &g12 * &s[j] * &g21).trace().im;
                [
                    -v * v / std::f64::consts::PI * f * tr(0, 0),
                    -v * v / std::f64::consts::PI * f * tr(2, 2),
                    -v * v / std::f64::consts::PI * f * tr(0, 1),
                ]
            },
            -40.0,
            40.0 * KT,
            &BREAKS,
        );
        assert!(
            close(r.j_mev, rkky[0], 1e-6, 1e-12),
            "{p} {sp} {ap}: {r:?} vs {rkky:?}"
        );
        assert!(
            close(r.j_mev + r.jz_mev, rkky[1], 1e-6, 1e-12),
            "{r:?} vs {rkky:?}"
        );
        assert!(close(r.dz_mev, rkky[2], 1e-6, 1e-12), "{r:?} vs {rkky:?}");
        // In equilibrium G is symmetric (real hoppings): no DM.
        assert!(r.dz_mev.abs() < 1e-10, "{r:?}");
        // J_z on its own (a small difference of the two traces in equilibrium).
        assert!(
            close(r.jz_mev, rkky[1] - rkky[0], 1e-5, 1e-14),
            "{r:?} vs {rkky:?}"
        );
        if p != 0.0 {
            assert!(r.jz_mev.abs() > 1e-6 * r.j_mev.abs(), "{r:?}");
        }
    }
}

#[test]
fn equilibrium_equals_the_grand_potential_second_derivative() {
    // Independent of the Keldysh formula and of its sign: classical spins S1 = s·e_i, S2 = s·e_j
    // enter the path as V = v S1·σ on site 1 and v S2·σ on site 2; the grand potential (Lloyd)
    // ΔΩ = (1/π) ∫ f Im ln det(1 − G^r_0 V) dω, and
    // Ω(+,+) − Ω(+,−) − Ω(−,+) + Ω(−,−) = 4 s² 𝕁^{ij} + O(v⁴) for H_eff = S1·𝕁·S2.
    // Narrow, strongly polarised spinterfaces at a lower temperature (a sizeable J_z); the O(v⁴)
    // remainder is removed by combining v and 2v (Richardson).
    let kt = 0.5;
    let mut path = chain(0.7, 4.0, 0.0, 0.4, 0.0, 0.0, false);
    for l in &mut path.leads {
        l.width_mev = l.width_mev.map(|w| w * 0.2);
        l.kt_mev = kt;
    }
    let spin = 1.0;
    let s = pauli();
    let r = fr(&path, 1.0);
    let n = path.len();
    let combo = |i: usize, j: usize, v: f64| {
        integrate_line(
            |w| {
                // G^r_0 over (site, spin), 2n × 2n, spin-block diagonal.
                let mut g = DMatrix::<Complex64>::zeros(2 * n, 2 * n);
                for sg in 0..2 {
                    let gs = path.retarded(w, sg).unwrap();
                    for a in 0..n {
                        for b in 0..n {
                            g[(2 * a + sg, 2 * b + sg)] = gs[(a, b)];
                        }
                    }
                }
                let mut acc = 0.0;
                for (s1, s2, sign) in [
                    (1.0, 1.0, 1.0),
                    (1.0, -1.0, -1.0),
                    (-1.0, 1.0, -1.0),
                    (-1.0, -1.0, 1.0),
                ] {
                    let mut vm = DMatrix::<Complex64>::zeros(2 * n, 2 * n);
                    for (site, axis, amp) in [(1, i, s1), (2, j, s2)] {
                        for x in 0..2 {
                            for y in 0..2 {
                                vm[(2 * site + x, 2 * site + y)] =
                                    s[axis][(x, y)] * (v * spin * amp);
                            }
                        }
                    }
                    let m = DMatrix::<Complex64>::identity(2 * n, 2 * n) - &g * vm;
                    acc += sign * m.determinant().ln().im;
                }
                let f = fermi(w, 0.0, kt);
                [f * acc / std::f64::consts::PI, 0.0, 0.0]
            },
            -40.0,
            40.0 * kt,
            &BREAKS,
        )[0] / (4.0 * spin * spin)
    };
    // 𝕁 per v² from v = 0.01 and 0.02: C(v) = 𝕁v² + bv⁴ → 𝕁 = (16C(v) − C(2v))/(12v²).
    let v = 0.01;
    let rich = |i: usize, j: usize| (16.0 * combo(i, j, v) - combo(i, j, 2.0 * v)) / (12.0 * v * v);
    let (jxx, jzz, jxy) = (rich(0, 0), rich(2, 2), rich(0, 1));
    assert!(
        r.j_mev.abs() > 1e-4 && r.jz_mev.abs() > 1e-3 * r.j_mev.abs(),
        "{r:?}"
    );
    assert!(close(r.j_mev, jxx, 1e-6, 1e-12), "{r:?} vs {jxx}");
    assert!(
        close(r.jz_mev, jzz - jxx, 1e-4, 1e-12),
        "{r:?} vs {}",
        jzz - jxx
    );
    assert!(
        (r.dz_mev - jxy).abs() < 1e-8 * r.j_mev.abs(),
        "{r:?} vs {jxy}"
    );
}

#[test]
fn without_spin_polarisation_the_exchange_is_isotropic_at_any_bias() {
    // (b) p = 0, SP = 0, no spin accumulation: J_z = 0 and D_z = 0, J ≠ 0 and bias-dependent.
    let mut js = Vec::new();
    for v in [-6.0, 0.0, 3.0, 8.0] {
        let r = fr(&chain(0.0, 0.0, v, 0.4, 0.0, 0.0, false), 0.7);
        assert!(r.j_mev.abs() > 1e-5, "{v}: {r:?}");
        assert!(
            r.jz_mev.abs() < 1e-9 * r.j_mev.abs().max(1e-3),
            "{v}: {r:?}"
        );
        assert!(
            r.dz_mev.abs() < 1e-9 * r.j_mev.abs().max(1e-3),
            "{v}: {r:?}"
        );
        js.push(r.j_mev);
    }
    assert!((js[0] - js[1]).abs() > 1e-3 * js[1].abs(), "{js:?}");
}

#[test]
fn flipping_every_spin_keeps_j_and_jz_and_reverses_d() {
    // (c) A global π rotation about x maps ↑ ↔ ↓: p → −p, SP → −SP and every spin accumulation
    // → −Δμ. Then S^y, S^z → −S^y, −S^z: J S1·S2 and J_z S1z S2z are invariant, D_z (S1 × S2)_z
    // changes sign. Out of equilibrium D_z ≠ 0, so the test can fail.
    for ap in [false, true] {
        for v in [-4.0, 5.0] {
            let a = fr(&chain(0.35, 2.0, v, 0.4, 3.0, 1.0, ap), 0.7);
            let b = fr(&chain(-0.35, -2.0, v, 0.4, -3.0, -1.0, ap), 0.7);
            assert!(a.dz_mev.abs() > 1e-4 * a.j_mev.abs(), "{ap} {v}: {a:?}");
            assert!(close(a.j_mev, b.j_mev, 1e-7, 1e-12), "{a:?} {b:?}");
            assert!(close(a.jz_mev, b.jz_mev, 1e-7, 1e-12), "{a:?} {b:?}");
            assert!(close(a.dz_mev, -b.dz_mev, 1e-7, 1e-12), "{a:?} {b:?}");
        }
    }
    // D_z vanishes in equilibrium even with polarisation (G^< is then symmetric) …
    let e = fr(&chain(0.35, 2.0, 0.0, 0.4, 0.0, 0.0, false), 0.7);
    assert!(e.dz_mev.abs() < 1e-10, "{e:?}");
    // … and without it out of equilibrium.
    let n = fr(&chain(0.0, 0.0, 5.0, 0.4, 0.0, 0.0, false), 0.7);
    assert!(n.dz_mev.abs() < 1e-10, "{n:?}");
}

#[test]
fn exchange_is_real_and_scales_as_v_squared() {
    let path = chain(0.35, 2.0, 5.0, 0.4, 3.0, 1.0, true);
    let a = fr(&path, 0.5);
    let b = fr(&path, 1.0);
    for x in a.imag_mev {
        assert!(x.abs() < 1e-8 * a.j_mev.abs().max(1e-3), "{a:?}");
    }
    assert!(close(4.0 * a.j_mev, b.j_mev, 1e-12, 0.0));
    assert!(close(4.0 * a.dz_mev, b.dz_mev, 1e-12, 0.0));
}

#[test]
fn quadrature_converges_with_the_tolerance() {
    // (d) Loose and tight tolerances agree within the loose run's own error estimate, and the
    // tight one costs more points.
    let path = chain(0.35, 2.0, 5.0, 0.4, 3.0, 1.0, false);
    let loose = exchange(&path, 1, 2, 0.7, tol(1e-4)).unwrap();
    let tight = exchange(&path, 1, 2, 0.7, tol(1e-11)).unwrap();
    assert!(loose.converged && tight.converged);
    assert!(tight.evaluations > loose.evaluations);
    for (x, y) in [
        (loose.j_mev, tight.j_mev),
        (loose.jz_mev, tight.jz_mev),
        (loose.dz_mev, tight.dz_mev),
    ] {
        assert!(
            (x - y).abs() <= loose.error_mev.max(1e-14),
            "{loose:?} {tight:?}"
        );
    }
    assert!(
        tight.error_mev < 1e-9 * tight.j_mev.abs() * 10.0,
        "{tight:?}"
    );
}

#[test]
fn exchange_vanishes_as_the_hopping_squared() {
    // (e) The only path from 1 to 2 is t12: G_12 ∝ t12, so 𝕁 ∝ t12² (and exactly 0 at t12 = 0).
    let at = |t: f64| fr(&chain(0.35, 2.0, 4.0, t, 3.0, 1.0, false), 0.7);
    let (a, b) = (at(1e-3), at(2e-3));
    for (x, y) in [
        (a.j_mev, b.j_mev),
        (a.jz_mev, b.jz_mev),
        (a.dz_mev, b.dz_mev),
    ] {
        assert!(close(4.0 * x, y, 2e-5, 1e-16), "{x} {y}");
    }
    assert!(a.j_mev.abs() > 0.0);
    assert_eq!(at(0.0), Fransson::zero());
}

// ---- the many-body engine ----

/// The interacting preset without its own `mediated_v_meV` line.
fn base() -> String {
    let lines: Vec<&str> = INTERACTING_PRESET
        .lines()
        .filter(|l| !l.trim_start().starts_with("mediated_v_meV"))
        .collect();
    assert!(
        lines.len() < INTERACTING_PRESET.lines().count()
            || !INTERACTING_PRESET.contains("mediated_v_meV")
    );
    lines.join("\n") + "\n"
}

fn preset_with(v: Option<f64>) -> String {
    let extra = match v {
        Some(v) => format!("dm_meV = [0.0, 0.0, 0.5]\nmediated_v_meV = {v}"),
        None => "dm_meV = [0.0, 0.0, 0.5]".into(),
    };
    base().replacen("dm_meV = [0.0, 0.0, 0.5]", &extra, 1)
}

fn load(
    v: Option<f64>,
) -> (
    spinpath::device::Device,
    Vec<spinpath::engine::fransson::MediatedExchange>,
) {
    let text = preset_with(v);
    assert_ne!(text, base() + if v.is_some() { "" } else { "x" });
    let (d, _, _, m) = spinpath::master::spec::load_device_mediated("t.toml", &text).unwrap();
    (d, m)
}

#[test]
fn config_parses_mediated_v_and_zero_keeps_todays_spectrum() {
    let (d0, m0) = load(None);
    assert!(m0.is_empty());
    let (dz, mz) = load(Some(0.0));
    assert!(mz.is_empty());
    let (d1, m1) = load(Some(0.5));
    assert_eq!(m1.len(), 1);
    assert_eq!((m1[0].a, m1[0].b, m1[0].v_mev), (0, 1, 0.5));
    // The run path carries the couplings in the device.
    let (dr, _, _) =
        spinpath::master::spec::load_device("t.toml", &preset_with(Some(0.5))).unwrap();
    assert_eq!(dr.mediated, m1);
    // A wrong value names the key.
    let bad = base().replacen(
        "dm_meV = [0.0, 0.0, 0.5]",
        "dm_meV = [0.0, 0.0, 0.5]\nmediated_v_meV = 1e9",
        1,
    );
    let err = spinpath::master::spec::load_device_mediated("t.toml", &bad).unwrap_err();
    assert!(err.to_string().contains("mediated_v_meV"), "{err}");
    for st in ["P", "AP"] {
        let a = ManyBody::new(&d0, d0.state(st).unwrap(), "pauli", false).unwrap();
        let b = ManyBody::new(&dz, dz.state(st).unwrap(), "pauli", false)
            .unwrap()
            .with_mediated(&mz)
            .unwrap();
        let c = ManyBody::new(&d1, d1.state(st).unwrap(), "pauli", false)
            .unwrap()
            .with_mediated(&m1)
            .unwrap();
        for v in [-6.0, 0.0, 4.0] {
            let (sa, sb, sc) = (a.spectrum(v), b.spectrum(v), c.spectrum(v));
            assert_eq!(sa.energies_mev, sb.energies_mev);
            let diff: f64 = sa
                .energies_mev
                .iter()
                .zip(&sc.energies_mev)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            assert!(
                diff > 1e-6,
                "{st} {v}: the mediated exchange changes nothing"
            );
        }
    }
}

#[test]
fn mediated_hamiltonian_equals_the_constant_one_with_the_same_couplings() {
    // Two routes to the same H: the mediated coupling at bias V, and a device whose constant
    // exchange is set to (configured + Fransson at V).
    let (d, m) = load(Some(0.8));
    for st in ["P", "AP"] {
        let mb = ManyBody::new(&d, d.state(st).unwrap(), "pauli", false)
            .unwrap()
            .with_mediated(&m)
            .unwrap();
        for v in [-5.0, 3.0] {
            let f = &mb.mediated_exchange(v)[0];
            assert!(f.converged && f.j_mev.abs() > 1e-5, "{f:?}");
            let mut dc = d.clone();
            dc.mediated.clear();
            let e = &mut dc.exchanges[0];
            e.j_mev += f.j_mev;
            e.jz_mev += f.jz_mev;
            e.dm_mev[2] += f.dz_mev;
            let mc = ManyBody::new(&dc, dc.state(st).unwrap(), "pauli", false).unwrap();
            let (x, y) = (mb.spectrum(v), mc.spectrum(v));
            for (p, q) in x.energies_mev.iter().zip(&y.energies_mev) {
                assert!((p - q).abs() < 1e-12, "{st} {v}: {p} {q}");
            }
        }
    }
}

#[test]
fn exchange_table_gives_totals_per_state_and_bias() {
    let (d, m) = load(Some(0.8));
    let states: Vec<_> = ["P", "AP"]
        .iter()
        .map(|s| d.state(s).unwrap().clone())
        .collect();
    let biases = [-6.0, 0.0, 6.0];
    let rows = exchange_table(&d, &m, &states, &biases).unwrap();
    assert_eq!(rows.len(), 6);
    for r in &rows {
        assert!(close(r.j_mev, 1.0 + r.mediated.j_mev, 1e-14, 1e-14));
        assert!(close(r.jz_mev, 0.5 + r.mediated.jz_mev, 1e-14, 1e-14));
        assert!(close(r.dz_mev, 0.5 + r.mediated.dz_mev, 1e-14, 1e-14));
        assert_eq!(r.csv().split(',').count(), 5);
    }
    assert_eq!(
        spinpath::engine::fransson::ExchangeRow::CSV_HEADER,
        "bias_mV,state,J_meV,Jz_meV,Dz_meV"
    );
    // The exchange depends on the bias and on the magnetic state.
    assert!((rows[0].j_mev - rows[2].j_mev).abs() > 1e-6);
    assert!((rows[0].j_mev - rows[3].j_mev).abs() > 1e-6);
}

#[test]
fn with_mediated_refuses_what_it_cannot_compute() {
    use spinpath::engine::fransson::MediatedExchange;
    let (d, _) = load(None);
    let mb = || ManyBody::new(&d, d.state("P").unwrap(), "pauli", false).unwrap();
    let bad = |a, b, v| {
        mb().with_mediated(&[MediatedExchange { a, b, v_mev: v }])
            .unwrap_err()
    };
    assert!(bad(0, 0, 1.0)
        .to_string()
        .contains("two different orbitals"));
    assert!(bad(0, 7, 1.0)
        .to_string()
        .contains("two different orbitals"));
    assert!(bad(0, 1, f64::NAN).to_string().contains("not finite"));
    // |p| = 1 leaves the minority spinterface channel without broadening.
    let mut dp = d.clone();
    dp.leads[0].polarization = 1.0;
    let e = ManyBody::new(&dp, dp.state("P").unwrap(), "pauli", false)
        .unwrap()
        .with_mediated(&[MediatedExchange {
            a: 0,
            b: 1,
            v_mev: 1.0,
        }])
        .unwrap_err();
    assert!(e.to_string().contains("|p| < 1"), "{e}");
    // v = 0 is dropped: nothing to compute.
    assert!(mb()
        .with_mediated(&[MediatedExchange {
            a: 0,
            b: 1,
            v_mev: 0.0
        }])
        .unwrap()
        .mediated()
        .is_empty());
}

#[test]
fn spin_decomposition_matches_explicit_pauli_traces_out_of_equilibrium() {
    // Step 3 of the derivation, D_z's sign included: 𝕁^{ij} = (v²/2)(χ^{ij}_{12} + χ^{ji}_{21}) with
    // χ^{ij}_{nm} = −i∫dω/2π Tr[σ^i G^r_{nm} σ^j G^<_{mn} + σ^i G^<_{nm} σ^j G^a_{mn}] evaluated with
    // explicit 2×2 spin matrices; then J = 𝕁^{xx} = 𝕁^{yy}, J + J_z = 𝕁^{zz}, D_z = 𝕁^{xy} = −𝕁^{yx}.
    let v = 0.7;
    let s = pauli();
    for ap in [false, true] {
        let path = chain(0.35, 2.0, 5.0, 0.4, 3.0, 1.0, ap);
        let r = fr(&path, v);
        let blocks = |w: f64| {
            let mut gr = [DMatrix::<Complex64>::zeros(2, 2), DMatrix::zeros(2, 2)];
            let mut gl = [DMatrix::<Complex64>::zeros(2, 2), DMatrix::zeros(2, 2)];
            for sg in 0..2 {
                let g = path.retarded(w, sg).unwrap();
                let l = path.lesser(w, sg, &g);
                for (k, (n, m)) in [(1, 2), (2, 1)].into_iter().enumerate() {
                    gr[k][(sg, sg)] = g[(n, m)];
                    gl[k][(sg, sg)] = l[(n, m)];
                }
            }
            (gr, gl)
        };
        let chi = |i: usize, j: usize, w: f64| {
            let (gr, gl) = blocks(w);
            let ga = [gr[1].adjoint(), gr[0].adjoint()]; // G^a_{21} = (G^r_{12})†, G^a_{12} = (G^r_{21})†
            let k = (&s[i] * &gr[0] * &s[j] * &gl[1] + &s[i] * &gl[0] * &s[j] * &ga[0]).trace();
            let l = (&s[j] * &gr[1] * &s[i] * &gl[0] + &s[j] * &gl[1] * &s[i] * &ga[1]).trace();
            (Complex64::new(0.0, -1.0 / (2.0 * std::f64::consts::PI)) * (k + l) * (v * v / 2.0)).re
        };
        let pairs = [(0, 0), (1, 1), (2, 2), (0, 1), (1, 0), (0, 2)];
        let mut out = Vec::new();
        for c in pairs.chunks(3) {
            out.extend(integrate_line(
                |w| {
                    [
                        chi(c[0].0, c[0].1, w),
                        chi(c[1].0, c[1].1, w),
                        chi(c[2].0, c[2].1, w),
                    ]
                },
                -40.0,
                5.0 + 40.0 * KT,
                &BREAKS,
            ));
        }
        let [xx, yy, zz, xy, yx, xz] = [out[0], out[1], out[2], out[3], out[4], out[5]];
        assert!(r.dz_mev.abs() > 1e-4 * r.j_mev.abs(), "{r:?}");
        assert!(
            close(r.j_mev, xx, 1e-7, 1e-13) && close(r.j_mev, yy, 1e-7, 1e-13),
            "{r:?} {xx} {yy}"
        );
        assert!(close(r.j_mev + r.jz_mev, zz, 1e-7, 1e-13), "{r:?} {zz}");
        assert!(
            close(r.dz_mev, xy, 1e-7, 1e-13) && close(r.dz_mev, -yx, 1e-7, 1e-13),
            "{r:?} {xy} {yx}"
        );
        assert!(xz.abs() < 1e-12, "{xz}");
    }
}
