//! Bias-dependent (Fransson-type) exchange between two localized spins mediated by a
//! non-interacting, spin-resolved conduction path — the PM1–PM2 dimer's J(V), J_z(V), D_z(V).
//!
//! **Model.** Two localized spins S_1, S_2 couple to sites a, b of a non-interacting path,
//!
//!   H_int = v·(S_1·s_a + S_2·s_b),   s_n = Σ_{σσ'} c†_{nσ} σ_{σσ'} c_{nσ'}   (Pauli matrices, no ½),
//!
//! with v in meV (so v = J_sd/2 for the J_sd·S·s convention with s = c†σc/2). The path
//! ([`Path`]) is collinear along z: per spin σ = ↑, ↓ a real symmetric site Hamiltonian H_σ and
//! wide-band leads with Σ^r_σ = −(i/2)·W_σ·c cᵀ, Σ^<_σ = i·W_σ·f(ω − μ_σ)·c cᵀ,
//! Σ^>_σ = −i·W_σ·(1 − f)·c cᵀ (so Σ^> − Σ^< = Σ^r − Σ^a: one convention, not the 2× one of
//! formalism-notes §2.2). G^r_σ = (ω − H_σ − Σ^r_σ)⁻¹, G^<_σ = G^r_σ Σ^<_σ G^a_σ.
//!
//! **Result** (second order in v, static limit of the retarded kernel), an effective
//!
//!   H_eff = J·S_1·S_2 + J_z·S^z_1 S^z_2 + D_z·(S_1 × S_2)_z            (meV; J > 0 antiferromagnetic)
//!
//! — the convention of [`crate::device::Exchange`], so the values add to the configured constants.
//! With K_{σσ'} = −i∫dω/2π [G^r_{ab,σ}G^<_{ba,σ'} + G^<_{ab,σ}G^a_{ba,σ'}] and L the same with a↔b,
//!
//!   J   = (v²/2)(K_{↑↓} + K_{↓↑} + L_{↑↓} + L_{↓↑})
//!   J_z = (v²/2)(K_{↑↑} + K_{↓↓} + L_{↑↑} + L_{↓↓}) − J
//!   D_z = (v²/2)·i·(K_{↓↑} − K_{↑↓} − L_{↓↑} + L_{↑↓})
//!
//! Derivation (docs/fransson.md): the field on S_2 is v⟨s_b⟩ with ⟨s_b^j⟩ = v·χ^{ji}_{ba}·S_1^i in
//! linear response, χ^{ij}_{nm}(t) = −iθ(t)⟨[s^i_n(t), s^j_m]⟩; symmetrising the two directions
//! gives 𝕁^{ij} = (v²/2)(χ^{ij}_{ab} + χ^{ji}_{ba}). Wick + Langreth give χ^{ij}_{ab}(Ω = 0) =
//! −i∫dω/2π Tr[σ^i G^r_{ab} σ^j G^<_{ba} + σ^i G^<_{ab} σ^j G^a_{ba}], and for spin-diagonal G the
//! traces are K_{↑↓} + K_{↓↑} (xx, yy), K_{↑↑} + K_{↓↓} (zz), ±i(K_{↓↑} − K_{↑↓}) (xy, yx), i.e. the
//! formulas above with D_z = 𝕁^{xy} = −𝕁^{yx}. Each is real (χ of Hermitian operators); the
//! imaginary parts are returned as a check. In equilibrium J reduces to the RKKY form
//! −(v²/π)·Im∫f·Tr[σ^x G^r_{ab} σ^x G^r_{ba}] and D_z = 0 (G^r and G^< are then symmetric);
//! a bias makes G^<_{ab} ≠ G^<_{ba} (a bond current) and, with spin-polarised leads, D_z ≠ 0.
//!
//! Tested (`tests/fransson.rs`): the RKKY form, the grand-potential (Lloyd) second derivative in
//! equilibrium, isotropy without spin polarisation, the spin-flip symmetry, quadrature
//! convergence, the t_ab² scaling.

use crate::error::{Error, Result};
use crate::quad::{integrate, Tolerance};
use crate::units::fermi;
use nalgebra::{DMatrix, DVector};
use num_complex::Complex64;
use std::f64::consts::PI;

/// A wide-band lead of a [`Path`]: Σ^r_σ = −(i/2)·W_σ·c cᵀ on the path's sites.
#[derive(Debug, Clone, PartialEq)]
pub struct PathLead {
    /// Amplitudes c_n per path site (dimensionless, or √meV when `width_mev` is then 1 per meV).
    pub couplings: Vec<f64>,
    /// W_σ for σ = ↑, ↓ (meV when the couplings are dimensionless); must be > 0.
    pub width_mev: [f64; 2],
    /// Chemical potential μ_σ for σ = ↑, ↓, meV.
    pub mu_mev: [f64; 2],
    /// k_B T, meV (evaluated at 1 mK at least).
    pub kt_mev: f64,
}

/// A non-interacting, spin-resolved (collinear along z) path: site levels, real spin-conserving
/// hoppings and wide-band leads.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// Level of each site for σ = ↑, ↓, meV.
    pub levels_mev: Vec<[f64; 2]>,
    /// Hoppings (n, m, t): H contains t·(c†_n c_m + h.c.) for both spins, meV.
    pub hoppings: Vec<(usize, usize, f64)>,
    /// Leads.
    pub leads: Vec<PathLead>,
}

/// The mediated exchange at one bias (meV, [`H_eff`](self) convention).
#[derive(Debug, Clone, PartialEq)]
pub struct Fransson {
    /// Heisenberg J, meV.
    pub j_mev: f64,
    /// Ising J_z, meV.
    pub jz_mev: f64,
    /// Dzyaloshinskii–Moriya D_z, meV.
    pub dz_mev: f64,
    /// Imaginary parts of (J, J_z, D_z), meV: zero up to quadrature error (a check).
    pub imag_mev: [f64; 3],
    /// Estimated quadrature error of (J, J_z, D_z) together, meV.
    pub error_mev: f64,
    /// Number of energy points.
    pub evaluations: usize,
    /// Whether the quadrature met its tolerance.
    pub converged: bool,
}

impl Fransson {
    /// No exchange (disconnected sites or v = 0).
    pub fn zero() -> Fransson {
        Fransson {
            j_mev: 0.0,
            jz_mev: 0.0,
            dz_mev: 0.0,
            imag_mev: [0.0; 3],
            error_mev: 0.0,
            evaluations: 0,
            converged: true,
        }
    }
}

/// A bias-dependent exchange between orbitals `a` and `b` of a device, mediated by the path
/// through them (`[[dots.coupling]] mediated_v_meV`): coupling v (meV) of each orbital's spin to
/// its path site (see the module documentation for the convention).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MediatedExchange {
    /// First orbital.
    pub a: usize,
    /// Second orbital (≠ `a`).
    pub b: usize,
    /// Coupling v, meV.
    pub v_mev: f64,
}

/// One row of an exchange table: the couplings of one orbital pair at one bias in one state.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeRow {
    /// Bias, mV.
    pub bias_mv: f64,
    /// Magnetic state name (e.g. `P`, `AP`).
    pub state: String,
    /// The orbital pair.
    pub a: usize,
    /// Second orbital.
    pub b: usize,
    /// Total Heisenberg J (configured constant + mediated), meV.
    pub j_mev: f64,
    /// Total Ising J_z, meV.
    pub jz_mev: f64,
    /// Total D_z, meV.
    pub dz_mev: f64,
    /// The mediated part alone.
    pub mediated: Fransson,
}

impl ExchangeRow {
    /// The CSV header of [`ExchangeRow::csv`]: `bias_mV,state,J_meV,Jz_meV,Dz_meV`.
    pub const CSV_HEADER: &'static str = "bias_mV,state,J_meV,Jz_meV,Dz_meV";

    /// The row as CSV (totals), matching [`ExchangeRow::CSV_HEADER`].
    pub fn csv(&self) -> String {
        format!(
            "{},{},{},{},{}",
            self.bias_mv, self.state, self.j_mev, self.jz_mev, self.dz_mev
        )
    }
}

fn invalid(message: String) -> Error {
    Error::invalid("mediated exchange", message)
}

/// Smallest k_B T used (1 mK), meV.
fn kt_floor() -> f64 {
    crate::units::kt_mev(1e-3)
}

impl Path {
    /// Number of sites.
    pub fn len(&self) -> usize {
        self.levels_mev.len()
    }

    /// True without sites.
    pub fn is_empty(&self) -> bool {
        self.levels_mev.is_empty()
    }

    /// Check sizes and values (finite; lead widths > 0).
    pub fn validate(&self) -> Result<()> {
        let n = self.len();
        if n == 0 {
            return Err(invalid("the path has no sites".into()));
        }
        if self.levels_mev.iter().flatten().any(|x| !x.is_finite()) {
            return Err(invalid("a path level is not finite".into()));
        }
        for &(i, j, t) in &self.hoppings {
            if i >= n || j >= n || i == j || !t.is_finite() {
                return Err(invalid(format!(
                    "hopping ({i}, {j}, {t}) is invalid on a {n}-site path"
                )));
            }
        }
        for (k, l) in self.leads.iter().enumerate() {
            if l.couplings.len() != n || l.couplings.iter().any(|x| !x.is_finite()) {
                return Err(invalid(format!(
                    "lead {k}: {n} finite couplings are needed, got {:?}",
                    l.couplings
                )));
            }
            if l.width_mev.iter().any(|w| !(w.is_finite() && *w > 0.0)) {
                return Err(invalid(format!(
                    "lead {k}: widths {:?} meV; both spins need a width > 0 (a polarisation of ±1 leaves one spin without broadening: use |p| < 1)",
                    l.width_mev
                )));
            }
            if l.mu_mev.iter().any(|x| !x.is_finite()) || !l.kt_mev.is_finite() || l.kt_mev < 0.0 {
                return Err(invalid(format!(
                    "lead {k}: chemical potentials and temperature must be finite (k_BT ≥ 0)"
                )));
            }
        }
        Ok(())
    }

    /// The sites connected to `start` through non-zero hoppings.
    fn component(&self, start: usize) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut stack = vec![start];
        seen[start] = true;
        while let Some(s) = stack.pop() {
            for &(i, j, t) in &self.hoppings {
                if t == 0.0 {
                    continue;
                }
                for (p, q) in [(i, j), (j, i)] {
                    if p == s && !seen[q] {
                        seen[q] = true;
                        stack.push(q);
                    }
                }
            }
        }
        seen
    }

    /// H_σ (real symmetric), meV.
    pub fn hamiltonian(&self, spin: usize) -> DMatrix<f64> {
        let n = self.len();
        let mut h = DMatrix::<f64>::zeros(n, n);
        for (i, l) in self.levels_mev.iter().enumerate() {
            h[(i, i)] = l[spin];
        }
        for &(i, j, t) in &self.hoppings {
            h[(i, j)] += t;
            h[(j, i)] += t;
        }
        h
    }

    /// G^r_σ(ω) = (ω − H_σ − Σ^r_σ)⁻¹ (1/meV). `None` if singular (a site without broadening
    /// exactly at a level).
    pub fn retarded(&self, omega: f64, spin: usize) -> Option<DMatrix<Complex64>> {
        let n = self.len();
        let h = self.hamiltonian(spin);
        let mut m = DMatrix::<Complex64>::from_fn(n, n, |i, j| Complex64::new(-h[(i, j)], 0.0));
        for i in 0..n {
            m[(i, i)] += omega;
        }
        for l in &self.leads {
            let w = l.width_mev[spin];
            for i in 0..n {
                for j in 0..n {
                    m[(i, j)] += Complex64::new(0.0, 0.5 * w * l.couplings[i] * l.couplings[j]);
                }
            }
        }
        m.try_inverse()
    }

    /// G^<_σ(ω) = G^r Σ^< G^a with Σ^<_σ = i Σ_leads W_σ f(ω − μ_σ) c cᵀ (1/meV), from `gr`.
    pub fn lesser(&self, omega: f64, spin: usize, gr: &DMatrix<Complex64>) -> DMatrix<Complex64> {
        let n = self.len();
        let mut gl = DMatrix::<Complex64>::zeros(n, n);
        for l in &self.leads {
            let f = fermi(omega, l.mu_mev[spin], l.kt_mev.max(kt_floor()));
            let wf = l.width_mev[spin] * f;
            if wf == 0.0 {
                continue;
            }
            let c = DVector::<Complex64>::from_iterator(
                n,
                l.couplings.iter().map(|&x| Complex64::new(x, 0.0)),
            );
            let u = gr * c;
            for i in 0..n {
                for j in 0..n {
                    gl[(i, j)] += Complex64::new(0.0, wf) * u[i] * u[j].conj();
                }
            }
        }
        gl
    }

    /// The integrands of (J, J_z, D_z)/v² at ω for the sites `a`, `b` (1/meV): per unit energy,
    /// complex (the imaginary parts integrate to zero).
    pub fn integrand(&self, omega: f64, a: usize, b: usize) -> Option<[Complex64; 3]> {
        let mut gr_ab = [Complex64::default(); 2];
        let mut gr_ba = [Complex64::default(); 2];
        let mut gl_ab = [Complex64::default(); 2];
        let mut gl_ba = [Complex64::default(); 2];
        for s in 0..2 {
            let gr = self.retarded(omega, s)?;
            let gl = self.lesser(omega, s, &gr);
            gr_ab[s] = gr[(a, b)];
            gr_ba[s] = gr[(b, a)];
            gl_ab[s] = gl[(a, b)];
            gl_ba[s] = gl[(b, a)];
        }
        // K_{σσ'} and L_{σσ'} per unit energy: −i/(2π)[...]; G^a_{ba} = conj(G^r_{ab}).
        let mi = Complex64::new(0.0, -1.0 / (2.0 * PI));
        let mut k = [[Complex64::default(); 2]; 2];
        let mut l = [[Complex64::default(); 2]; 2];
        for s in 0..2 {
            for t in 0..2 {
                k[s][t] = mi * (gr_ab[s] * gl_ba[t] + gl_ab[s] * gr_ab[t].conj());
                l[s][t] = mi * (gr_ba[s] * gl_ab[t] + gl_ba[s] * gr_ba[t].conj());
            }
        }
        let (u, d) = (0, 1);
        let j = 0.5 * (k[u][d] + k[d][u] + l[u][d] + l[d][u]);
        let jz = 0.5 * (k[u][u] + k[d][d] + l[u][u] + l[d][d]) - j;
        let dz = 0.5 * Complex64::i() * (k[d][u] - k[u][d] - l[d][u] + l[u][d]);
        Some([j, jz, dz])
    }
}

/// The exchange (meV) between spins coupled with `v_mev` to sites `a` and `b` of `path`, by
/// adaptive Gauss–Kronrod quadrature over ω ∈ (−∞, max μ + 40 k_BT] with breakpoints at the
/// levels of H_σ and the chemical potentials (the lower tail mapped to a finite interval; above
/// every μ the integrand carries G^< ∝ f and vanishes). `tol` applies to (J, J_z, D_z)/v² in meV.
/// Sites not connected to `a` are dropped; if `b` is not connected to `a`, the exchange is zero.
pub fn exchange(path: &Path, a: usize, b: usize, v_mev: f64, tol: Tolerance) -> Result<Fransson> {
    path.validate()?;
    let n = path.len();
    if a >= n || b >= n || a == b {
        return Err(invalid(format!(
            "sites {a} and {b} must be two different sites of the {n}-site path"
        )));
    }
    if !v_mev.is_finite() {
        return Err(invalid(format!("v = {v_mev} meV is not finite")));
    }
    let keep = path.component(a);
    if v_mev == 0.0 || !keep[b] {
        return Ok(Fransson::zero());
    }
    // Restrict to the connected component of a (other sites do not change G_ab).
    let idx: Vec<usize> = (0..n).filter(|&i| keep[i]).collect();
    let pos = |i: usize| idx.iter().position(|&x| x == i);
    let sub = Path {
        levels_mev: idx.iter().map(|&i| path.levels_mev[i]).collect(),
        hoppings: path
            .hoppings
            .iter()
            .filter_map(|&(i, j, t)| Some((pos(i)?, pos(j)?, t)))
            .collect(),
        leads: path
            .leads
            .iter()
            .map(|l| PathLead {
                couplings: idx.iter().map(|&i| l.couplings[i]).collect(),
                ..l.clone()
            })
            .filter(|l| l.couplings.iter().any(|&c| c != 0.0))
            .collect(),
    };
    if sub.leads.is_empty() {
        return Err(invalid(format!(
            "sites {a} and {b} are coupled to no lead: their levels have no broadening; give the orbitals a coupling Γ (or a spinterface)"
        )));
    }
    let (a, b) = (pos(a).unwrap_or(0), pos(b).unwrap_or(0));

    // Energy scales: levels, chemical potentials, temperatures, widths.
    let mut mu_min = f64::INFINITY;
    let mut mu_max = f64::NEG_INFINITY;
    let mut kt_max = kt_floor();
    let mut gamma_max: f64 = 0.0;
    for l in &sub.leads {
        for s in 0..2 {
            mu_min = mu_min.min(l.mu_mev[s]);
            mu_max = mu_max.max(l.mu_mev[s]);
            let cmax = l.couplings.iter().fold(0.0f64, |m, c| m.max(c * c));
            gamma_max = gamma_max.max(l.width_mev[s] * cmax);
        }
        kt_max = kt_max.max(l.kt_mev);
    }
    let mut levels = Vec::new();
    for s in 0..2 {
        levels.extend(sub.hamiltonian(s).symmetric_eigen().eigenvalues.iter());
    }
    let lev_min = levels.iter().cloned().fold(f64::INFINITY, f64::min);
    let scale = 1.0 + gamma_max;
    let hi = mu_max + 40.0 * kt_max;
    let lo = lev_min.min(mu_min - 40.0 * kt_max) - 10.0 * scale;
    let mut bp = vec![lo, hi];
    for &e in &levels {
        if e > lo && e < hi {
            bp.push(e);
        }
    }
    for l in &sub.leads {
        for s in 0..2 {
            let kt = l.kt_mev.max(kt_floor());
            for x in [-5.0, 0.0, 5.0] {
                let e = l.mu_mev[s] + x * kt;
                if e > lo && e < hi {
                    bp.push(e);
                }
            }
        }
    }
    bp.sort_by(f64::total_cmp);
    bp.dedup_by(|x, y| (*x - *y).abs() <= 1e-12 * (1.0 + y.abs()));

    let mut failed = false;
    let mut eval = |omega: f64, jac: f64, out: &mut [f64]| match sub.integrand(omega, a, b) {
        Some(v) => {
            for k in 0..3 {
                out[k] = v[k].re * jac;
                out[3 + k] = v[k].im * jac;
            }
        }
        None => {
            failed = true;
            out.iter_mut().for_each(|x| *x = 0.0);
        }
    };
    let main = integrate(|w, out| eval(w, 1.0, out), 6, 3, &bp, tol);
    // Tail ω = lo − scale·(1 − u)/u, u ∈ (0, 1], dω = scale/u² du.
    let tail = integrate(
        |u, out| {
            if u <= 0.0 {
                out.iter_mut().for_each(|x| *x = 0.0);
                return;
            }
            let w = lo - scale * (1.0 - u) / u;
            eval(w, scale / (u * u), out);
        },
        6,
        3,
        &[0.0, 1.0],
        tol,
    );
    if failed {
        return Err(invalid(
            "the path's Green's function is singular at some energy (a level without broadening)"
                .into(),
        ));
    }
    let v2 = v_mev * v_mev;
    let val = |k: usize| v2 * (main.value[k] + tail.value[k]);
    Ok(Fransson {
        j_mev: val(0),
        jz_mev: val(1),
        dz_mev: val(2),
        imag_mev: [val(3), val(4), val(5)],
        error_mev: v2 * (main.error + tail.error),
        evaluations: main.evaluations + tail.evaluations,
        converged: main.converged && tail.converged,
    })
}

/// J(V), J_z(V), D_z(V) of every mediated coupling of `device` in each of `states` (collinear:
/// 0° or 180°) at each bias (mV): the totals the many-body Hamiltonian uses (configured constants +
/// mediated part) and the mediated part alone. Rows are ordered by state, bias, coupling.
pub fn exchange_table(
    device: &crate::device::Device,
    mediated: &[MediatedExchange],
    states: &[crate::model::MagneticState],
    biases_mv: &[f64],
) -> Result<Vec<ExchangeRow>> {
    let mut rows = Vec::new();
    for st in states {
        let mb =
            super::manybody::ManyBody::new(device, st, "pauli", false)?.with_mediated(mediated)?;
        for &v in biases_mv {
            if !v.is_finite() {
                return Err(invalid(format!("bias {v} mV is not finite")));
            }
            // The couplings in use (v ≠ 0), aligned with their exchange values.
            for (m, fr) in mb.mediated().iter().zip(mb.mediated_exchange(v)) {
                let mut c = [0.0; 3];
                for e in &device.exchanges {
                    if (e.a, e.b) == (m.a, m.b) {
                        c[0] += e.j_mev;
                        c[1] += e.jz_mev;
                        c[2] += e.dm_mev[2];
                    } else if (e.a, e.b) == (m.b, m.a) {
                        // D·(S_b × S_a) = −D·(S_a × S_b).
                        c[0] += e.j_mev;
                        c[1] += e.jz_mev;
                        c[2] -= e.dm_mev[2];
                    }
                }
                rows.push(ExchangeRow {
                    bias_mv: v,
                    state: st.name.clone(),
                    a: m.a,
                    b: m.b,
                    j_mev: c[0] + fr.j_mev,
                    jz_mev: c[1] + fr.jz_mev,
                    dz_mev: c[2] + fr.dz_mev,
                    mediated: fr,
                });
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SP_L – 1 – 2 – SP_R with spin-split SP levels and polarised widths.
    fn chain(p: f64, sp: f64, v: f64, t12: f64, dmu: f64) -> Path {
        let w = 10.0;
        let t = 0.5;
        Path {
            levels_mev: vec![
                [sp / 2.0, -sp / 2.0],
                [-1.0, -1.0],
                [0.5, 0.5],
                [sp / 2.0, -sp / 2.0],
            ],
            hoppings: vec![(0, 1, t), (1, 2, t12), (2, 3, t)],
            leads: vec![
                PathLead {
                    couplings: vec![1.0, 0.0, 0.0, 0.0],
                    width_mev: [w * (1.0 + p), w * (1.0 - p)],
                    mu_mev: [v / 2.0 + dmu / 2.0, v / 2.0 - dmu / 2.0],
                    kt_mev: 2.0,
                },
                PathLead {
                    couplings: vec![0.0, 0.0, 0.0, 1.0],
                    width_mev: [w * (1.0 + p), w * (1.0 - p)],
                    mu_mev: [-v / 2.0, -v / 2.0],
                    kt_mev: 2.0,
                },
            ],
        }
    }

    #[test]
    fn lesser_and_greater_obey_the_spectral_sum_rule_in_equilibrium() {
        // G^< = −f (G^r − G^a) when all leads share μ and T.
        let mut p = chain(0.3, 2.0, 0.0, 0.3, 0.0);
        for l in &mut p.leads {
            l.mu_mev = [0.4, 0.4];
        }
        for &w in &[-3.0, 0.1, 2.5] {
            for s in 0..2 {
                let gr = p.retarded(w, s).unwrap();
                let gl = p.lesser(w, s, &gr);
                let f = fermi(w, 0.4, 2.0);
                let expect = -(gr.clone() - gr.adjoint()) * Complex64::new(f, 0.0);
                assert!((gl - expect).norm() < 1e-12);
            }
        }
    }

    #[test]
    fn imaginary_parts_vanish_and_no_dm_without_polarisation() {
        let p = chain(0.0, 0.0, 5.0, 0.3, 0.0);
        let r = exchange(&p, 1, 2, 1.0, Tolerance::default()).unwrap();
        assert!(r.converged);
        assert!(r.j_mev.abs() > 1e-6, "{r:?}");
        for x in r.imag_mev {
            assert!(x.abs() < 1e-8, "{r:?}");
        }
        assert!(r.jz_mev.abs() < 1e-10 && r.dz_mev.abs() < 1e-10, "{r:?}");
    }

    #[test]
    fn disconnected_sites_and_zero_coupling_give_zero() {
        let p = chain(0.3, 2.0, 5.0, 0.0, 0.0);
        assert_eq!(
            exchange(&p, 1, 2, 1.0, Tolerance::default()).unwrap(),
            Fransson::zero()
        );
        let p = chain(0.3, 2.0, 5.0, 0.3, 0.0);
        assert_eq!(
            exchange(&p, 1, 2, 0.0, Tolerance::default()).unwrap(),
            Fransson::zero()
        );
        assert!(exchange(&p, 1, 1, 1.0, Tolerance::default()).is_err());
        let mut q = p.clone();
        q.leads[0].width_mev[1] = 0.0;
        assert!(exchange(&q, 1, 2, 1.0, Tolerance::default()).is_err());
    }
}
