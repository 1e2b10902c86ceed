//! Many-body dots: hopping and exchange between dots, Pauli in the eigenbasis, 1vN and Redfield.
//! Every test compares against something that can fail: an analytic spectrum or limit, a
//! conservation law, equilibrium, a symmetry, or a second method.

use num_complex::Complex64;
use spinpath::device::Device;
use spinpath::engine::dynamics::{Dynamics, SteadyState, Transient};
use spinpath::engine::manybody::{Liouvillian, ManyBody, Rule};
use spinpath::engine::spectrum::{Amplitude, Spectrum};
use spinpath::engine::{ApproachKind, ApproachSettings, Kernel};
use spinpath::master::{PointResult, RateSet};

/// A serial double dot: `l` touches the left lead, `r` the right one.
#[allow(clippy::too_many_arguments)]
fn serial(
    eps: [f64; 2],
    u: [f64; 2],
    u_inter: f64,
    t: f64,
    gamma: [f64; 2],
    p: f64,
    temperature_k: f64,
    extra: &str,
) -> Device {
    let text = format!(
        r#"
[dots]
temperature_K = {temperature_k}
[[dots.dot]]
name = "l"
charging_meV = {u0}
lever_arm = 0.0
orbitals = [{{ energy_meV = {e0} }}]
[[dots.dot]]
name = "r"
charging_meV = {u1}
lever_arm = 0.0
orbitals = [{{ energy_meV = {e1} }}]
[[dots.coupling]]
dots = ["l", "r"]
energy_meV = {u_inter}
hopping_meV = {t}
{extra}
[dots.leads.left]
gamma_meV = {{ l = {g0} }}
polarization = {p}
[dots.leads.right]
gamma_meV = {{ r = {g1} }}
polarization = {p}
"#,
        u0 = u[0],
        u1 = u[1],
        e0 = eps[0],
        e1 = eps[1],
        g0 = gamma[0],
        g1 = gamma[1],
    );
    spinpath::master::spec::load_device("dd.toml", &text)
        .unwrap()
        .0
}

fn steady(dev: &Device, approach: &str, state: &str, bias_mv: f64) -> PointResult {
    let a = ApproachKind::from_name(approach)
        .unwrap()
        .build(&ApproachSettings::default());
    let prep = a.prepare(dev, dev.state(state).unwrap()).unwrap();
    let k = prep.kernel(bias_mv).unwrap();
    SteadyState::default().step(&k, 0.0).unwrap()
}

fn liouvillian(dev: &Device, rule: Rule, state: &str, bias_mv: f64) -> Liouvillian {
    ManyBody::new(dev, dev.state(state).unwrap(), "1vn", true)
        .unwrap()
        .liouvillian(bias_mv, rule)
        .unwrap()
}

#[test]
fn bonding_antibonding_splitting_is_2t() {
    for t in [0.05, 0.3, 1.7] {
        let dev = serial([0.4, 0.4], [20.0, 20.0], 5.0, t, [0.01, 0.01], 0.0, 4.2, "");
        let mb = ManyBody::new(&dev, &dev.states[0], "pauli", false).unwrap();
        let sp = mb.spectrum(0.0);
        let mut one: Vec<f64> = (0..sp.len())
            .filter(|&s| sp.n_electrons[s] == 1)
            .map(|s| sp.energies_mev[s])
            .collect();
        one.sort_by(f64::total_cmp);
        // Two spins × (ε − t, ε + t).
        let want = [0.4 - t, 0.4 - t, 0.4 + t, 0.4 + t];
        for (a, b) in one.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "t = {t}: {one:?}");
        }
        // Bonding state: half on each dot.
        let b = (0..sp.len())
            .find(|&s| sp.n_electrons[s] == 1 && (sp.energies_mev[s] - (0.4 - t)).abs() < 1e-9)
            .unwrap();
        assert!((sp.dot_charges[b][0] - 0.5).abs() < 1e-12);
    }
}

#[test]
fn exchange_spectrum_singlet_triplet_and_dm() {
    // Two singly occupied dots (large U, deep levels, large inter-dot cost for 2 on one dot):
    // J·S1·S2 splits the (1,1) sector into a triplet at +J/4 and a singlet at −3J/4; adding a DM
    // vector D gives {J/4, J/4, −J/4 ± ½√(J² + |D|²)} whatever its direction (with D ⟂ z the
    // S_z blocks are lost: the N-only diagonalisation must give the same numbers).
    let (j, d) = (0.8, 0.6);
    let base = |extra: &str| {
        serial(
            [-1.0, -1.0],
            [50.0, 50.0],
            0.0,
            0.0,
            [0.01, 0.01],
            0.0,
            4.2,
            extra,
        )
    };
    let levels = |dev: &Device| {
        let mb = ManyBody::new(dev, &dev.states[0], "1vn", true).unwrap();
        let sp = mb.spectrum(0.0);
        let mut e: Vec<f64> = (0..sp.len())
            .filter(|&s| sp.n_electrons[s] == 2 && sp.energies_mev[s] < 0.0)
            .map(|s| sp.energies_mev[s] + 2.0)
            .collect();
        e.sort_by(f64::total_cmp);
        (e, mb.conserves_sz)
    };
    let (e, _) = levels(&base(&format!("exchange_J_meV = {j}")));
    let want = [-0.75 * j, 0.25 * j, 0.25 * j, 0.25 * j];
    for (a, b) in e.iter().zip(want) {
        assert!((a - b).abs() < 1e-12, "{e:?}");
    }
    let r = 0.5 * (j * j + d * d).sqrt();
    let mut want = [0.25 * j, 0.25 * j, -0.25 * j + r, -0.25 * j - r];
    want.sort_by(f64::total_cmp);
    for (dm, conserves) in [
        ("[0.0, 0.0, 0.6]", true),
        ("[0.6, 0.0, 0.0]", false),
        ("[0.0, 0.36, 0.48]", false),
    ] {
        let (e, c) = levels(&base(&format!("exchange_J_meV = {j}\ndm_meV = {dm}")));
        assert_eq!(c, conserves);
        assert_eq!(e.len(), 4);
        for (a, b) in e.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "D = {dm}: {e:?} vs {want:?}");
        }
    }
    // Ising: ±Jz/4 on parallel/antiparallel spins.
    let (e, _) = levels(&base("exchange_Jz_meV = 0.4"));
    for (a, b) in e.iter().zip([-0.1, -0.1, 0.1, 0.1]) {
        assert!((a - b).abs() < 1e-12, "{e:?}");
    }
}

/// Dense matrix of d†_k (orbital, spin) from a spectrum's amplitudes.
fn dense(sp: &Spectrum, orbital: usize, spin: u8) -> nalgebra::DMatrix<Complex64> {
    let n = sp.len();
    let mut m = nalgebra::DMatrix::zeros(n, n);
    for a in &sp.amplitudes {
        if a.orbital == orbital && a.spin == spin {
            m[(a.to, a.from)] += a.value;
        }
    }
    m
}

#[test]
fn eigenbasis_amplitudes_anticommute() {
    // {d_k, d†_k'} = δ_kk' must survive the change to the eigenbasis (hopping + DM exchange).
    let dev = serial(
        [0.1, 0.5],
        [3.0, 2.0],
        1.0,
        0.7,
        [0.01, 0.01],
        0.0,
        4.2,
        "exchange_J_meV = 0.3\ndm_meV = [0.2, 0.1, 0.3]",
    );
    let mb = ManyBody::new(&dev, &dev.states[0], "1vn", true).unwrap();
    let sp = mb.spectrum(0.3);
    let id = nalgebra::DMatrix::<Complex64>::identity(sp.len(), sp.len());
    for k in 0..4 {
        for kp in 0..4 {
            let a = dense(&sp, k / 2, (k % 2) as u8);
            let b = dense(&sp, kp / 2, (kp % 2) as u8);
            let ac = a.adjoint() * &b + &b * a.adjoint();
            let want = if k == kp {
                id.clone()
            } else {
                id.clone() * Complex64::new(0.0, 0.0)
            };
            assert!((ac - want).norm() < 1e-10, "k={k} k'={kp}");
        }
    }
}

#[test]
fn eigenbasis_pauli_equals_fock_pauli_without_hopping() {
    // With a zero exchange coupling the device takes the many-body path, but the Fock states are
    // the eigenstates: currents must equal the Fock-state master equation's (P and AP, polarised
    // leads, spin accumulation, Zeeman splitting).
    let text = r#"
[dots]
temperature_K = 2.0
[[dots.dot]]
name = "a"
charging_meV = 3.0
orbitals = [{ energy_meV = 0.5, zeeman_meV = 0.2 }, { energy_meV = 1.3 }]
[[dots.dot]]
name = "b"
charging_meV = 2.0
lever_arm = -0.2
orbitals = [{ energy_meV = -0.4 }]
[[dots.coupling]]
dots = ["a", "b"]
energy_meV = 0.7
exchange_J_meV = 0.0
[dots.leads.left]
gamma_meV = { a = [0.02, 0.01], b = 0.005 }
polarization = 0.4
spin_accumulation_meV = 0.1
[dots.leads.right]
gamma_meV = { b = 0.03 }
polarization = -0.3
"#;
    let (dev, model, _) = spinpath::master::spec::load_device("t.toml", text).unwrap();
    // A zero coupling is no coupling: keep one explicit zero exchange to force the many-body path.
    let mut dev = dev;
    dev.exchanges.push(spinpath::device::Exchange {
        a: 0,
        b: 2,
        j_mev: 0.0,
        jz_mev: 0.0,
        dm_mev: [0.0; 3],
    });
    assert!(dev.is_many_body());
    for (state, magnet) in [
        ("P", spinpath::master::Magnet::P),
        ("AP", spinpath::master::Magnet::AP),
    ] {
        for v in [-4.0, -1.1, 0.0, 0.6, 2.5, 7.0] {
            let got = steady(&dev, "pauli", state, v);
            let rates = RateSet::build(&model, v, magnet);
            let p = spinpath::master::steady::solve(&rates, &Default::default()).unwrap();
            let want = PointResult::from_probabilities(&rates, p);
            let scale = want.current_na.abs().max(1e-6);
            assert!(
                (got.current_na - want.current_na).abs() < 1e-9 * scale,
                "{state} {v}: {} vs {}",
                got.current_na,
                want.current_na
            );
            for s in 0..2 {
                assert!((got.current_spin_na[s] - want.current_spin_na[s]).abs() < 1e-9 * scale);
                assert!(
                    (got.current_right_spin_na[s] - want.current_right_spin_na[s]).abs()
                        < 1e-9 * scale
                );
            }
            for (a, b) in got.probabilities.iter().zip(&want.probabilities) {
                assert!((a - b).abs() < 1e-10);
            }
        }
    }
}

#[test]
fn density_matrix_equals_pauli_when_no_coherence_is_fed() {
    // Serial double dot without hopping: the left lead touches only `l`, the right only `r`, so no
    // coherence between equal-charge states is ever fed, and 1vN and Redfield populations obey
    // the Pauli equation exactly.
    let dev0 = serial(
        [0.2, -0.3],
        [4.0, 4.0],
        1.0,
        0.0,
        [0.02, 0.03],
        0.3,
        3.0,
        "exchange_J_meV = 0.0",
    );
    let mut dev = dev0.clone();
    dev.exchanges.push(spinpath::device::Exchange {
        a: 0,
        b: 1,
        j_mev: 0.0,
        jz_mev: 0.0,
        dm_mev: [0.0; 3],
    });
    for state in ["P", "AP"] {
        for v in [-3.0, -0.5, 0.0, 1.0, 6.0] {
            let p = steady(&dev, "pauli", state, v);
            for a in ["1vn", "redfield"] {
                let q = steady(&dev, a, state, v);
                let scale = p.current_na.abs().max(1e-3);
                assert!(
                    (p.current_na - q.current_na).abs() < 1e-9 * scale,
                    "{a} {state} {v}: {} vs {}",
                    q.current_na,
                    p.current_na
                );
                for (x, y) in p.probabilities.iter().zip(&q.probabilities) {
                    assert!((x - y).abs() < 1e-9);
                }
            }
        }
    }
}

#[test]
fn equilibrium_has_no_current_and_gibbs_populations() {
    let dev = serial(
        [0.1, 0.3],
        [2.0, 2.5],
        0.8,
        0.25,
        [0.02, 0.01],
        0.5,
        5.0,
        "exchange_J_meV = 0.1",
    );
    // Pauli: exactly zero at V = 0 (detailed balance in the eigenbasis).
    for state in ["P", "AP"] {
        let r = steady(&dev, "pauli", state, 0.0);
        let on = steady(&dev, "pauli", state, 2.0).current_na.abs();
        assert!(on > 1e-3, "no current at 2 mV ({on})");
        assert!(
            r.current_na.abs() < 1e-10 * on,
            "{state}: I(0) = {}",
            r.current_na
        );
        for s in 0..2 {
            assert!(
                r.current_spin_na[s].abs() < 1e-10 * on,
                "{state}: spin current at V = 0"
            );
        }
    }
    // 1vN and Redfield are first order in Γ: their V = 0 current is a second-order artefact of
    // the non-secular coherences (it vanishes exactly when no coherence is fed, see
    // density_matrix_equals_pauli_when_no_coherence_is_fed). Check that it is O(Γ²): relative to
    // the current at 2 mV it halves with Γ, and it is below Γ/k_BT of it.
    let ratio = |g: f64, a: &str| {
        let d = serial(
            [0.1, 0.3],
            [2.0, 2.5],
            0.8,
            0.25,
            [g, g / 2.0],
            0.5,
            5.0,
            "exchange_J_meV = 0.1",
        );
        steady(&d, a, "P", 0.0).current_na / steady(&d, a, "P", 2.0).current_na
    };
    for a in ["1vn", "redfield"] {
        let (r1, r2) = (ratio(0.01, a), ratio(0.005, a));
        assert!(r1.abs() < 0.01 / spinpath::units::kt_mev(5.0), "{a}: {r1}");
        assert!(
            (r1 / r2 - 2.0).abs() < 0.1,
            "{a}: not second order: {r1} {r2}"
        );
    }
    // Pauli in the eigenbasis: Gibbs populations p ∝ exp(−E/kT) (μ = 0) at V = 0.
    let mb = ManyBody::new(&dev, &dev.states[0], "pauli", false).unwrap();
    let sp = mb.spectrum(0.0);
    let r = steady(&dev, "pauli", "P", 0.0);
    let kt = spinpath::units::kt_mev(5.0);
    let z: f64 = sp.energies_mev.iter().map(|e| (-e / kt).exp()).sum();
    for (s, p) in r.probabilities.iter().enumerate() {
        let want = (-sp.energies_mev[s] / kt).exp() / z;
        assert!((p - want).abs() < 1e-10, "state {s}: {p} vs {want}");
    }
}

#[test]
fn generators_conserve_the_trace_and_transient_reaches_steady() {
    let dev = serial(
        [0.1, 0.3],
        [2.0, 2.5],
        0.8,
        0.25,
        [0.02, 0.01],
        0.5,
        5.0,
        "exchange_J_meV = 0.1\ndm_meV = [0.05, 0.0, 0.02]",
    );
    for rule in [Rule::OneVn, Rule::Redfield] {
        for v in [-2.0, 0.7, 3.0] {
            let l = liouvillian(&dev, rule, "P", v);
            for c in 0..l.dim() {
                let s: f64 = l.population.iter().map(|&p| l.generator[(p, c)]).sum();
                assert!(s.abs() < 1e-13, "{rule:?} column {c}: {s}");
            }
            // Transient from the empty state for a long time = steady state.
            let ss = l.steady().unwrap();
            let mut x = vec![0.0; l.dim()];
            x[l.population[0]] = 1.0;
            let y = l.evolve(&x, 1e-6).unwrap();
            for (a, b) in y.iter().zip(&ss) {
                assert!((a - b).abs() < 1e-8, "{rule:?} {v}: {a} vs {b}");
            }
            // Through the dynamics object as well.
            let mut tr = Transient::default();
            let r = tr
                .step(&Kernel::Liouvillian(Box::new(l.clone())), 1e-6)
                .unwrap();
            let rs = l.result(&ss);
            assert!((r.current_na - rs.current_na).abs() < 1e-9 * rs.current_na.abs().max(1e-6));
            // Weak coupling: ρ stays positive.
            assert!(l.min_eigenvalue(&ss) > -1e-3, "{rule:?}");
        }
    }
}

#[test]
fn bias_reversal_symmetry_of_a_mirror_symmetric_double_dot() {
    // Equal dots, equal couplings, no lever arms: mirroring swaps the leads, so I(−V) = −I(V).
    let dev = serial(
        [0.5, 0.5],
        [3.0, 3.0],
        1.0,
        0.2,
        [0.02, 0.02],
        0.0,
        3.0,
        "exchange_J_meV = 0.05",
    );
    for a in ["pauli", "1vn", "redfield"] {
        for v in [0.4, 1.5, 3.3, 8.0] {
            let p = steady(&dev, a, "P", v).current_na;
            let m = steady(&dev, a, "P", -v).current_na;
            assert!(p.abs() > 1e-6, "{a}: no current at {v}");
            assert!((p + m).abs() < 1e-8 * p.abs(), "{a} {v}: {p} vs {m}");
        }
    }
}

#[test]
fn resonant_serial_transport_t_small_and_large() {
    // One electron at most (large U and U'), levels aligned, far inside a large bias window.
    // t ≫ Γ: bonding and antibonding are resolved, Pauli in the eigenbasis is right and 1vN
    // agrees with it. t ≪ Γ: the inter-dot step is the bottleneck, I → (e/ħ)·4t²/Γ_R
    // (golden rule into the Lorentzian of the right dot); 1vN gets it, Pauli does not.
    let g = 0.01;
    let run = |t: f64, a: &str| {
        let dev = serial([0.0, 0.0], [60.0, 60.0], 60.0, t, [g, g], 0.0, 1.0, "");
        steady(&dev, a, "P", 20.0).current_na
    };
    let ehbar = spinpath::master::model::E_OVER_HBAR_NA_PER_MEV;
    // t ≫ Γ: Pauli gives 2Γ/5 (four one-electron states fed at Γ/2 each, emptied at Γ/2).
    let big = 0.5;
    let pauli = run(big, "pauli");
    assert!((pauli - 0.4 * g * ehbar).abs() < 1e-3 * pauli, "{pauli}");
    for a in ["1vn", "redfield"] {
        let x = run(big, a);
        assert!((x - pauli).abs() < 0.01 * pauli, "{a}: {x} vs {pauli}");
    }
    // t ≪ Γ.
    for t in [2e-4, 5e-4] {
        let want = 4.0 * t * t / g * ehbar;
        for a in ["1vn", "redfield"] {
            let x = run(t, a);
            assert!((x - want).abs() < 0.05 * want, "{a} t={t}: {x} vs {want}");
        }
        let p = run(t, "pauli");
        assert!(
            p > 10.0 * want,
            "Pauli should miss the t ≪ Γ limit: {p} vs {want}"
        );
    }
}

#[test]
fn pauli_spin_blockade_rectifies() {
    // (0,1) ground state; forward bias (0,1) → (1,1) → (0,2) → (0,1) is blocked once a (1,1)
    // triplet is loaded (one orbital on the right dot: no (0,2) triplet); reverse bias goes through
    // the (0,2) singlet and any (1,1) state empties to the left: no blockade.
    let dev = serial(
        [-2.0, -5.0],
        [10.0, 5.0],
        2.0,
        0.05,
        [0.01, 0.01],
        0.0,
        1.0,
        "",
    );
    for a in ["pauli", "1vn", "redfield"] {
        let fwd = steady(&dev, a, "P", 2.0).current_na;
        let rev = steady(&dev, a, "P", -2.0).current_na;
        assert!(rev < 0.0 && fwd >= -1e-12, "{a}: {fwd} {rev}");
        assert!(
            rev.abs() > 10.0 * fwd.abs(),
            "{a}: rectification {} (fwd {fwd}, rev {rev})",
            rev.abs() / fwd.abs().max(1e-300)
        );
        // Blocked in a triplet: (1,1) triplet population ≈ 1 at forward bias.
        let p = steady(&dev, a, "P", 2.0);
        let (s_uu, s_dd) = (0b0101usize, 0b1010usize);
        assert!(
            p.probabilities[s_uu] + p.probabilities[s_dd] > 0.6,
            "{a}: {:?}",
            p.probabilities
        );
    }
}

/// 2·S_z of the Fock state an eigenstate is filed under (the S_z of the eigenstate when H conserves it).
fn two_sz(s: usize) -> i32 {
    (0..8)
        .filter(|k| s >> k & 1 == 1)
        .map(|k| if k % 2 == 0 { 1 } else { -1 })
        .sum()
}

/// Rotate the basis inside every degenerate pair (equal N and S_z) of a spectrum by a fixed unitary.
fn rotate_degenerate(sp: &Spectrum) -> Spectrum {
    let n = sp.len();
    let mut u = nalgebra::DMatrix::<Complex64>::identity(n, n);
    let mut done = vec![false; n];
    for a in 0..n {
        for b in a + 1..n {
            if !done[a]
                && !done[b]
                && sp.n_electrons[a] == sp.n_electrons[b]
                && two_sz(a) == two_sz(b)
                && (sp.energies_mev[a] - sp.energies_mev[b]).abs() < 1e-9
            {
                let (c, s) = (0.6f64, 0.8f64);
                let ph = Complex64::from_polar(1.0, 0.7);
                u[(a, a)] = Complex64::new(c, 0.0);
                u[(b, a)] = ph * s;
                u[(a, b)] = -ph.conj() * s;
                u[(b, b)] = Complex64::new(c, 0.0);
                done[a] = true;
                done[b] = true;
            }
        }
    }
    let mut out = sp.clone();
    out.amplitudes.clear();
    for orbital in 0..sp
        .amplitudes
        .iter()
        .map(|a| a.orbital + 1)
        .max()
        .unwrap_or(0)
    {
        for spin in 0..2u8 {
            let m = u.adjoint() * dense(sp, orbital, spin) * &u;
            for to in 0..n {
                for from in 0..n {
                    if m[(to, from)].norm() > 1e-14 {
                        out.amplitudes.push(Amplitude {
                            to,
                            from,
                            orbital,
                            spin,
                            value: m[(to, from)],
                        });
                    }
                }
            }
        }
    }
    out.amplitudes.sort_by_key(|a| (a.to, a.from));
    assert!(done.iter().any(|&d| d), "no degenerate pair to rotate");
    out
}

#[test]
fn density_matrix_results_do_not_depend_on_the_basis_of_a_multiplet() {
    // A parallel double dot with equal levels and no hopping: |↑,0⟩ and |0,↑⟩ are degenerate and
    // both leads couple to both dots (interference). 1vN and Redfield must give the same current in
    // any basis of the degenerate pairs.
    let text = r#"
[dots]
temperature_K = 2.0
[[dots.dot]]
name = "a"
charging_meV = 5.0
lever_arm = 0.0
orbitals = [{ energy_meV = 0.3 }]
[[dots.dot]]
name = "b"
charging_meV = 5.0
lever_arm = 0.0
orbitals = [{ energy_meV = 0.3 }]
[[dots.coupling]]
dots = ["a", "b"]
energy_meV = 1.0
exchange_J_meV = 0.0
[dots.leads.left]
gamma_meV = { a = 0.02, b = 0.01 }
polarization = 0.3
[dots.leads.right]
gamma_meV = { a = 0.005, b = 0.03 }
polarization = 0.3
"#;
    let (mut dev, _, _) = spinpath::master::spec::load_device("par.toml", text).unwrap();
    dev.exchanges.push(spinpath::device::Exchange {
        a: 0,
        b: 1,
        j_mev: 0.0,
        jz_mev: 0.0,
        dm_mev: [0.0; 3],
    });
    for state in ["P", "AP"] {
        let mb = ManyBody::new(&dev, dev.state(state).unwrap(), "1vn", true).unwrap();
        for v in [0.9, 2.0, -1.5] {
            let sp = mb.spectrum(v);
            let rot = rotate_degenerate(&sp);
            for rule in [Rule::OneVn, Rule::Redfield] {
                let l0 = Liouvillian::from_spectrum(&mb, &sp, v, rule).unwrap();
                let l1 = Liouvillian::from_spectrum(&mb, &rot, v, rule).unwrap();
                let i0 = l0.result(&l0.steady().unwrap()).current_na;
                let i1 = l1.result(&l1.steady().unwrap()).current_na;
                assert!(i0.abs() > 1e-4);
                assert!(
                    (i0 - i1).abs() < 1e-9 * i0.abs(),
                    "{state} {v} {rule:?}: {i0} vs {i1}"
                );
            }
        }
    }
}

#[test]
fn onevn_and_redfield_agree_at_weak_coupling() {
    let dev = serial(
        [0.2, 0.4],
        [3.0, 3.0],
        1.0,
        0.15,
        [0.002, 0.002],
        0.3,
        4.0,
        "exchange_J_meV = 0.05",
    );
    for state in ["P", "AP"] {
        for v in [0.8, 1.6, -2.4] {
            let a = steady(&dev, "1vn", state, v).current_na;
            let b = steady(&dev, "redfield", state, v).current_na;
            assert!((a - b).abs() < 0.02 * a.abs(), "{state} {v}: {a} vs {b}");
        }
    }
}

#[test]
fn configuration_errors_name_the_key_and_the_fix() {
    let good = r#"
[dots]
[[dots.dot]]
name = "l"
charging_meV = 3.0
orbitals = [{ energy_meV = 0.0 }]
[[dots.dot]]
name = "r"
charging_meV = 3.0
orbitals = [{ energy_meV = 0.0 }, { energy_meV = 1.0 }]
[[dots.coupling]]
dots = ["l", "r"]
HOP
[dots.leads.left]
gamma_meV = { l = 0.01 }
[dots.leads.right]
gamma_meV = { r = 0.01 }
"#;
    // The orbital-resolved form: 1×2.
    let (dev, _, _) = spinpath::master::spec::load_device(
        "ok.toml",
        &good.replace("HOP", "hopping_meV = [[0.1, 0.2]]"),
    )
    .unwrap();
    assert_eq!(dev.hoppings.len(), 2);
    assert_eq!(
        (dev.hoppings[1].a, dev.hoppings[1].b, dev.hoppings[1].t_mev),
        (0, 2, 0.2)
    );
    // Number form: orbital 0 to orbital 0 only.
    let (dev, _, _) =
        spinpath::master::spec::load_device("ok.toml", &good.replace("HOP", "hopping_meV = 0.1"))
            .unwrap();
    assert_eq!(dev.hoppings.len(), 1);
    let e = spinpath::master::spec::load_device(
        "bad.toml",
        &good.replace("HOP", "hopping_meV = [[0.1], [0.2]]"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("bad.toml:13")
            && e.contains("dots.coupling[0].hopping_meV")
            && e.contains("1×2"),
        "{e}"
    );
    let e = spinpath::master::spec::load_device(
        "bad.toml",
        &good.replace("HOP", "dm_meV = [0.1, 0.2]"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("dots.coupling[0].dm_meV") && e.contains("three"),
        "{e}"
    );
    let e = spinpath::master::spec::load_device(
        "bad.toml",
        &good.replace("HOP", "exchange_J_meV = 1e9"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("exchange_J_meV") && e.contains("[-10000, 10000]"),
        "{e}"
    );
    // The constant-interaction loader refuses a many-body file instead of dropping the hopping.
    let e = spinpath::master::spec::load("hop.toml", &good.replace("HOP", "hopping_meV = 0.1"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("hopping") && e.contains("run file"), "{e}");
    // Pauli refuses non-collinear leads and names the approaches that handle them.
    let (dev, _, _) =
        spinpath::master::spec::load_device("ok.toml", &good.replace("HOP", "hopping_meV = 0.1"))
            .unwrap();
    let mut tilted = dev.states[0].clone();
    tilted.angle_deg = 90.0;
    let pauli = ApproachKind::Pauli.build(&ApproachSettings::default());
    let e = pauli.prepare(&dev, &tilted).err().unwrap().to_string();
    assert!(e.contains("1vn") && e.contains("90"), "{e}");
    // 1vN takes it.
    let onevn = ApproachKind::OneVn.build(&ApproachSettings::default());
    let k = onevn.prepare(&dev, &tilted).unwrap().kernel(1.0).unwrap();
    assert!(SteadyState::default()
        .step(&k, 0.0)
        .unwrap()
        .current_na
        .is_finite());
    // Monte Carlo over a density matrix is refused at parse time.
    let run = format!("{}\n[dots_run]\nsweep_mV = [0.0, 1.0]\nstep_mV = 0.5\ndwell_s = 1e-3\napproach = \"1vn\"\nsolver = \"monte-carlo\"\n", good.replace("HOP", "hopping_meV = 0.1"));
    let e = spinpath::master::spec::load_device("mc.toml", &run)
        .unwrap_err()
        .to_string();
    assert!(e.contains("dots_run.solver") && e.contains("steady"), "{e}");
}

#[test]
fn collinear_limits_of_the_lead_angle() {
    // θ → 0 and θ → 180° under 1vN approach the P and AP results continuously.
    let dev = serial(
        [0.2, 0.4],
        [3.0, 3.0],
        1.0,
        0.15,
        [0.01, 0.01],
        0.5,
        4.0,
        "",
    );
    let a = ApproachKind::OneVn.build(&ApproachSettings::default());
    let at = |deg: f64| {
        let mut st = dev.states[0].clone();
        st.angle_deg = deg;
        let k = a.prepare(&dev, &st).unwrap().kernel(1.5).unwrap();
        SteadyState::default().step(&k, 0.0).unwrap().current_na
    };
    let p = steady(&dev, "1vn", "P", 1.5).current_na;
    let ap = steady(&dev, "1vn", "AP", 1.5).current_na;
    assert!((p - ap).abs() > 1e-3 * p.abs(), "no TMR: {p} {ap}");
    assert!((at(1e-4) - p).abs() < 1e-6 * p.abs());
    assert!((at(180.0 - 1e-4) - ap).abs() < 1e-6 * ap.abs());
    let mid = at(90.0);
    assert!(
        mid < p.max(ap) && mid > p.min(ap),
        "{mid} not between {p} and {ap}"
    );
}

/// A Hamiltonian that moves rigidly with the bias (one lever arm for every orbital) is diagonalised
/// once: its shifted spectrum has the energies of a fresh diagonalisation at every bias, and the
/// 1vN and Redfield currents are the same (the assignment of eigenvectors to Fock-state indices may
/// differ inside an exactly tied pair, which changes no observable); with different lever arms
/// nothing is cached (bit-identical).
#[test]
fn rigid_spectrum_equals_a_fresh_diagonalisation() {
    let base = serial(
        [-1.0, 0.5],
        [4.0, 4.0],
        0.7,
        0.4,
        [0.05, 0.08],
        0.3,
        20.0,
        "exchange_J_meV = 0.3\ndm_meV = [0.0, 0.0, 0.1]",
    );
    let sorted = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v
    };
    for (alpha, rigid) in [([0.0, 0.0], true), ([0.3, 0.3], true), ([0.3, -0.2], false)] {
        let mut dev = base.clone();
        dev.orbitals[0].lever_arm = alpha[0];
        dev.orbitals[1].lever_arm = alpha[1];
        let mb = ManyBody::new(&dev, dev.state("P").unwrap(), "1vn", true).unwrap();
        for v in [-7.3, -1.0, 0.0, 2.5, 11.0] {
            let a = mb.spectrum(v);
            let b = mb.diagonalise(v);
            assert_eq!(a.bias_mv, v);
            assert_eq!(a.labels, b.labels);
            assert_eq!(
                a.amplitudes.len(),
                b.amplitudes.len(),
                "α = {alpha:?}, V = {v}"
            );
            for (x, y) in sorted(&a.energies_mev).iter().zip(sorted(&b.energies_mev)) {
                if rigid {
                    assert!((x - y).abs() < 1e-10, "α = {alpha:?}, V = {v}: {x} vs {y}");
                } else {
                    assert_eq!(x.to_bits(), y.to_bits(), "not rigid: no shortcut");
                }
            }
            // The observables through the cached spectrum equal those of a fresh one.
            for rule in [Rule::OneVn, Rule::Redfield] {
                let l_cached = mb.liouvillian(v, rule).unwrap();
                let l_fresh = Liouvillian::from_spectrum(&mb, &b, v, rule).unwrap();
                let (ra, rb) = (
                    l_cached.result(&l_cached.steady().unwrap()),
                    l_fresh.result(&l_fresh.steady().unwrap()),
                );
                let tol = 1e-9 * (1.0 + rb.current_na.abs());
                assert!(
                    (ra.current_na - rb.current_na).abs() <= tol,
                    "{ra:?} vs {rb:?}"
                );
                for k in 0..2 {
                    assert!((ra.current_spin_na[k] - rb.current_spin_na[k]).abs() <= tol);
                }
                assert!(
                    (ra.current_na.abs() > 1e-6) || v == 0.0,
                    "a test that can fail: the current at {v} mV is {}",
                    ra.current_na
                );
            }
        }
    }
}
