//! Coherent spinful transport through a chain: non-equilibrium Green's functions in Landauer form.
//!
//! The chain is finalised once per magnetic state into a [`ChainSolver`] (2×2 spin blocks per
//! site, lead self-energies, spinors of the lead channels); each bias point is then an energy
//! integral of Green's functions computed by the recursive Green's function method (O(N) per
//! energy, no heap allocation in the energy loop).
//!
//! ## Terminals
//! Each ferromagnetic lead r ∈ {L, R} has two channels s = ± (majority, minority along its
//! magnetisation n_r), with coupling Γ_{r,s} = W_r(1 + s·p_r)·|u_{r,s}⟩⟨u_{r,s}| and chemical
//! potential μ_{r,s} = μ_r + s·Δμ_r/2. Treating the four channels as terminals i, j of the
//! Landauer–Büttiker formula,
//!
//! J_i = (e/h) ∫ dE Σ_j T_ij(E) [f_i(E) − f_j(E)],   T_ij = Tr[Γ_i G^r Γ_j G^a],
//!
//! is exact for a non-interacting chain, collinear or not. Because every Γ_i is rank one,
//! T_ij = W_i W_j |⟨u_i|G^r_{x_i x_j}|u_j⟩|². J_i is the current *from* channel i *into* the chain.
//!
//! Terminal order everywhere: `[L+, L−, R+, R−]`.

#[path = "negf_poles.rs"]
pub mod poles;

use crate::error::{Error, Result};
use crate::model::{Axis, Chain, MagneticState};
use crate::quad::{integrate, Integral, Tolerance};
use crate::units::{fermi, kt_mev, E_OVER_H_NA_PER_MEV, NA_MV_TO_NW};
use nalgebra::{DMatrix, Matrix2, Vector2};
use num_complex::Complex64;

type M2 = Matrix2<Complex64>;
type V2 = Vector2<Complex64>;

const I: Complex64 = Complex64::new(0.0, 1.0);

/// Energy-integration settings of the coherent engine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Integration {
    /// Relative tolerance of each current, against the scale of the spin-channel currents.
    pub rel_tol: f64,
    /// Absolute tolerance, nA.
    pub abs_tol_na: f64,
    /// Maximum number of integration intervals per bias point.
    pub max_intervals: usize,
    /// The Fermi window extends this many k_BT beyond the extreme chemical potentials.
    pub window_kt: f64,
    /// Use the closed-form (pole) energy integrals wherever they apply (collinear wide-band chains;
    /// quadrature elsewhere): `[run.integration] method = "poles"`.
    pub closed_form: bool,
}

impl Default for Integration {
    fn default() -> Self {
        Integration {
            rel_tol: 1e-6,
            abs_tol_na: 1e-9,
            max_intervals: 4000,
            window_kt: 40.0,
            closed_form: false,
        }
    }
}

/// An exchange coupling between sites: site `site` feels the spin-splitting vector
/// J·m_from, with m_from = Tr(ρσ) the spin polarisation of site `from` (J in meV).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExchangeLink {
    /// The site that feels the field.
    pub site: usize,
    /// The site whose spin polarisation sets it.
    pub from: usize,
    /// J, meV per unit spin polarisation.
    pub coupling_mev: f64,
}

/// Settings of the self-consistent exchange loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelfConsistency {
    /// Stop when no field changes by more than this, meV.
    pub tolerance_mev: f64,
    /// Give up after this many iterations (an error names it).
    pub max_iterations: usize,
    /// Linear mixing of the new fields into the old, in (0, 1].
    pub mixing: f64,
}

impl Default for SelfConsistency {
    fn default() -> Self {
        SelfConsistency {
            tolerance_mev: 1e-6,
            max_iterations: 200,
            mixing: 0.5,
        }
    }
}

/// Everything the coherent engine reports at one bias point.
///
/// Currents are charge currents in nA with the project's sign convention; energies in meV; powers
/// in nW. Terminal order: `[L+, L−, R+, R−]` (majority/minority along each lead's magnetisation).
#[derive(Debug, Clone, PartialEq)]
pub struct BiasPoint {
    /// Bias V, mV.
    pub bias_mv: f64,
    /// Current from each channel into the chain, nA.
    pub channel_current_na: [f64; 4],
    /// Energy current from each channel into the chain, nW.
    pub channel_energy_nw: [f64; 4],
    /// Chemical potential of each channel, meV.
    pub mu_mev: [f64; 4],
    /// Temperatures of the left and right leads, K.
    pub temperature_k: [f64; 2],
    /// Estimated absolute integration error of the channel currents, nA (summed).
    pub error_na: f64,
    /// Number of energy points evaluated.
    pub evaluations: usize,
    /// Whether the integration met its tolerance.
    pub converged: bool,
    /// Self-consistent exchange fields (splitting vectors, meV) of every site; empty without
    /// exchange links.
    pub exchange_fields_mev: Vec<[f64; 3]>,
    /// Self-consistency iterations used (0 without exchange links).
    pub iterations: usize,
}

impl BiasPoint {
    /// Charge current left → right, nA (the current leaving the left lead).
    pub fn current(&self) -> f64 {
        self.channel_current_na[0] + self.channel_current_na[1]
    }
    /// Current leaving the left lead in its majority channel (spin ↑ along +z), nA.
    pub fn current_up(&self) -> f64 {
        self.channel_current_na[0]
    }
    /// Current leaving the left lead in its minority channel (spin ↓ along +z), nA.
    pub fn current_down(&self) -> f64 {
        self.channel_current_na[1]
    }
    /// Current arriving in the right lead, nA (equals [`Self::current`] by conservation).
    pub fn current_into_right(&self) -> f64 {
        -(self.channel_current_na[2] + self.channel_current_na[3])
    }
    /// Spin current into the left lead (majority − minority along its magnetisation), nA.
    pub fn spin_current_into_left(&self) -> f64 {
        -(self.channel_current_na[0] - self.channel_current_na[1])
    }
    /// Spin current into the right lead (majority − minority along its magnetisation), nA.
    pub fn spin_current_into_right(&self) -> f64 {
        -(self.channel_current_na[2] - self.channel_current_na[3])
    }
    /// Electrical power delivered by the device, −I·V, nW (positive when it is a generator).
    pub fn power_out(&self) -> f64 {
        -self.current() * self.bias_mv * NA_MV_TO_NW
    }
    /// Energy current into lead r (0 = left, 1 = right), nW.
    pub fn energy_into_lead(&self, r: usize) -> f64 {
        -(self.channel_energy_nw[2 * r] + self.channel_energy_nw[2 * r + 1])
    }
    /// Heat current into lead r (0 = left, 1 = right), nW: energy minus μ times particles.
    pub fn heat_into_lead(&self, r: usize) -> f64 {
        (2 * r..2 * r + 2)
            .map(|i| {
                -(self.channel_energy_nw[i]
                    - self.mu_mev[i] * self.channel_current_na[i] * NA_MV_TO_NW)
            })
            .sum()
    }
    /// Free energy drawn from the spin accumulations, nW: Σ_i (μ_i − μ_r) J_i.
    pub fn spin_free_energy(&self) -> f64 {
        let mu_l = 0.5 * (self.mu_mev[0] + self.mu_mev[1]);
        let mu_r = 0.5 * (self.mu_mev[2] + self.mu_mev[3]);
        let c = &self.channel_current_na;
        ((self.mu_mev[0] - mu_l) * c[0]
            + (self.mu_mev[1] - mu_l) * c[1]
            + (self.mu_mev[2] - mu_r) * c[2]
            + (self.mu_mev[3] - mu_r) * c[3])
            * NA_MV_TO_NW
    }
    /// Total free energy dissipated, Σ_i μ_i J_i = I·V + spin free energy, nW. The second law
    /// requires it to be ≥ 0 when both leads have the same temperature.
    pub fn dissipation(&self) -> f64 {
        (0..4)
            .map(|i| self.mu_mev[i] * self.channel_current_na[i])
            .sum::<f64>()
            * NA_MV_TO_NW
    }
    /// Entropy production rate Σ_r Q_r/T_r, nW/K (≥ 0); `None` if a lead is at 0 K.
    pub fn entropy_production(&self) -> Option<f64> {
        if self.temperature_k.iter().any(|&t| t <= 0.0) {
            return None;
        }
        Some(
            self.heat_into_lead(0) / self.temperature_k[0]
                + self.heat_into_lead(1) / self.temperature_k[1],
        )
    }
    /// Efficiency of spin-to-electrical conversion, P_out / spin free energy; `None` unless the
    /// device delivers power and draws free energy from the spin accumulation.
    pub fn efficiency(&self) -> Option<f64> {
        let p = self.power_out();
        let f = self.spin_free_energy();
        (p > 0.0 && f > 0.0).then(|| p / f)
    }
}

/// Spectral quantities at one energy.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralPoint {
    /// Energy, meV.
    pub energy_mev: f64,
    /// Transmission from the left lead's majority (↑) channel into the right lead.
    pub transmission_up: f64,
    /// Transmission from the left lead's minority (↓) channel into the right lead.
    pub transmission_down: f64,
    /// Density of states per site and spin (↑, ↓ along +z), 1/meV.
    pub dos_per_mev: Vec<[f64; 2]>,
}

/// Direction of the right electrode for a magnetic state (x–z plane), with exact values for
/// multiples of 90° so that P and AP are exactly collinear.
fn right_direction(angle_deg: f64) -> [f64; 3] {
    let a = angle_deg.rem_euclid(360.0);
    let exact = [
        (0.0, [0.0, 0.0, 1.0]),
        (90.0, [1.0, 0.0, 0.0]),
        (180.0, [0.0, 0.0, -1.0]),
        (270.0, [-1.0, 0.0, 0.0]),
    ];
    for (deg, v) in exact {
        if (a - deg).abs() < 1e-12 {
            return v;
        }
    }
    let t = a.to_radians();
    [t.sin(), 0.0, t.cos()]
}

fn normalize(v: [f64; 3]) -> [f64; 3] {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    [v[0] / n, v[1] / n, v[2] / n]
}

/// n·σ as a 2×2 matrix.
fn n_sigma(n: [f64; 3]) -> M2 {
    M2::new(
        Complex64::new(n[2], 0.0),
        Complex64::new(n[0], -n[1]),
        Complex64::new(n[0], n[1]),
        Complex64::new(-n[2], 0.0),
    )
}

/// Spinors (majority, minority) along the unit vector n.
fn spinors(n: [f64; 3]) -> [V2; 2] {
    let theta = n[2].clamp(-1.0, 1.0).acos();
    let phi = n[1].atan2(n[0]);
    let (c, s) = if n[2] == 1.0 {
        (1.0, 0.0)
    } else if n[2] == -1.0 {
        (0.0, 1.0)
    } else {
        ((theta / 2.0).cos(), (theta / 2.0).sin())
    };
    let e = Complex64::from_polar(1.0, phi);
    [
        V2::new(Complex64::new(c, 0.0), e * s),
        V2::new(-e.conj() * s, Complex64::new(c, 0.0)),
    ]
}

/// Inverse of a 2×2 complex matrix. A singular block (an energy exactly on a level that no lead
/// broadens) is regularised by an infinitesimal imaginary part, which is what G^r means there.
#[inline]
fn inv2(m: &M2) -> M2 {
    let mut det = m[(0, 0)] * m[(1, 1)] - m[(0, 1)] * m[(1, 0)];
    if det.norm_sqr() < 1e-300 {
        det += Complex64::new(0.0, 1e-150);
    }
    let d = det.inv();
    M2::new(m[(1, 1)] * d, -m[(0, 1)] * d, -m[(1, 0)] * d, m[(0, 0)] * d)
}

/// A chain finalised for one magnetic state: everything that does not depend on bias or energy.
#[derive(Debug, Clone)]
pub struct ChainSolver {
    n: usize,
    h0: Vec<M2>,
    lever: Vec<f64>,
    hop: Vec<f64>,
    site_l: usize,
    site_r: usize,
    sigma_l: M2,
    sigma_r: M2,
    gamma_l: M2,
    gamma_r: M2,
    u: [V2; 4],
    w: [f64; 4],
    dmu: [f64; 4],
    temperature: [f64; 2],
    /// Collinear fast path: every spin quantity is along ±z, so the chain splits into two scalar
    /// chains (spin ↑, ↓ along z). `spin_of[i]` is the z-spin (0 = ↑, 1 = ↓) of channel i.
    collinear: Option<Collinear>,
    /// Whether [`ChainSolver::bias_point`] uses the closed-form pole integrals where they apply.
    closed_form: bool,
}

#[derive(Debug, Clone)]
struct Collinear {
    /// Lead broadening on the lead sites per spin: (Γ_L,σ, Γ_R,σ), meV.
    gamma: [(f64, f64); 2],
    /// z-spin of each channel.
    spin_of: [usize; 4],
}

/// Scratch space of the recursive Green's function sweeps (allocated once per bias point).
struct Work {
    d: Vec<M2>,
    gl: Vec<M2>,
    gr: Vec<M2>,
}

impl ChainSolver {
    /// Finalise `chain` in magnetic state `state` (its energy overrides are applied here).
    pub fn new(chain: &Chain, state: &MagneticState) -> Result<Self> {
        if !state.angle_deg.is_finite() {
            return Err(Error::invalid(
                "state",
                format!("angle of state `{}` must be finite", state.name),
            ));
        }
        let chain = chain.in_state(state)?;
        let n_l = [0.0, 0.0, 1.0];
        let n_r = right_direction(state.angle_deg);
        let h0 = chain
            .sites()
            .iter()
            .map(|s| {
                let axis = match s.axis {
                    Axis::Left => n_l,
                    Axis::Right => n_r,
                    Axis::Fixed(v) => normalize(v),
                };
                M2::identity() * Complex64::new(s.energy, 0.0)
                    + n_sigma(axis) * Complex64::new(0.5 * s.splitting, 0.0)
            })
            .collect();
        let (l, r) = (chain.left(), chain.right());
        let gamma = |w: f64, p: f64, n: [f64; 3]| {
            (M2::identity() + n_sigma(n) * Complex64::new(p, 0.0)) * Complex64::new(w, 0.0)
        };
        let gamma_l = gamma(l.width, l.polarization, n_l);
        let gamma_r = gamma(r.width, r.polarization, n_r);
        let [ul_p, ul_m] = spinors(n_l);
        let [ur_p, ur_m] = spinors(n_r);
        let h0: Vec<M2> = h0;
        let is_diag = |m: &M2| m[(0, 1)].norm() == 0.0 && m[(1, 0)].norm() == 0.0;
        let u = [ul_p, ul_m, ur_p, ur_m];
        let collinear = (h0.iter().all(is_diag)
            && is_diag(&gamma_l)
            && is_diag(&gamma_r)
            && u.iter().all(|v| v[0].norm() == 1.0 || v[1].norm() == 1.0))
        .then(|| Collinear {
            gamma: [
                (gamma_l[(0, 0)].re, gamma_r[(0, 0)].re),
                (gamma_l[(1, 1)].re, gamma_r[(1, 1)].re),
            ],
            spin_of: std::array::from_fn(|i| if u[i][0].norm() == 1.0 { 0 } else { 1 }),
        });
        Ok(ChainSolver {
            collinear,
            closed_form: false,
            n: chain.len(),
            h0,
            lever: chain.sites().iter().map(|s| s.lever_arm).collect(),
            hop: chain.hoppings().to_vec(),
            site_l: l.site,
            site_r: r.site,
            sigma_l: gamma_l * Complex64::new(0.0, -0.5),
            sigma_r: gamma_r * Complex64::new(0.0, -0.5),
            gamma_l,
            gamma_r,
            u: [ul_p, ul_m, ur_p, ur_m],
            w: [
                l.width * (1.0 + l.polarization),
                l.width * (1.0 - l.polarization),
                r.width * (1.0 + r.polarization),
                r.width * (1.0 - r.polarization),
            ],
            dmu: [
                0.5 * l.spin_accumulation,
                -0.5 * l.spin_accumulation,
                0.5 * r.spin_accumulation,
                -0.5 * r.spin_accumulation,
            ],
            temperature: [l.temperature, r.temperature],
        })
    }

    /// Number of sites.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the collinear fast path (two scalar chains) is in use.
    pub fn is_collinear(&self) -> bool {
        self.collinear.is_some()
    }

    /// The same solver with the collinear fast path switched off: every energy then goes through
    /// the general 2×2-block recursion. For cross-checks of the two paths.
    pub fn without_fast_path(mut self) -> Self {
        self.collinear = None;
        self
    }

    /// The same solver with [`ChainSolver::bias_point`] switched to the closed-form pole integrals
    /// ([`ChainSolver::bias_point_exact`]) wherever they apply; elsewhere (non-collinear states,
    /// coalescing poles) it still integrates by quadrature. Off by default: the presets' default
    /// quadrature (rel_tol 1e-6) differs from the exact values by up to ~5e-9 relative, and results
    /// are kept identical.
    pub fn with_closed_form(mut self, on: bool) -> Self {
        self.closed_form = on;
        self
    }

    /// Always false (a chain has at least one site).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Chemical potentials of the channels `[L+, L−, R+, R−]` at bias V (mV), meV.
    pub fn chemical_potentials(&self, bias_mv: f64) -> [f64; 4] {
        let (ml, mr) = (0.5 * bias_mv, -0.5 * bias_mv);
        [
            ml + self.dmu[0],
            ml + self.dmu[1],
            mr + self.dmu[2],
            mr + self.dmu[3],
        ]
    }

    fn site_hamiltonians(&self, bias_mv: f64) -> Vec<M2> {
        self.h0
            .iter()
            .zip(&self.lever)
            .map(|(h, a)| h + M2::identity() * Complex64::new(a * bias_mv, 0.0))
            .collect()
    }

    fn work(&self) -> Work {
        Work {
            d: vec![M2::zeros(); self.n],
            gl: vec![M2::zeros(); self.n],
            gr: vec![M2::zeros(); self.n],
        }
    }

    /// Left- and right-connected sweeps at energy `e` (meV).
    fn sweep(&self, e: f64, hv: &[M2], w: &mut Work) {
        let n = self.n;
        let ez = M2::identity() * Complex64::new(e, 0.0);
        for j in 0..n {
            let mut d = ez - hv[j];
            if j == self.site_l {
                d -= self.sigma_l;
            }
            if j == self.site_r {
                d -= self.sigma_r;
            }
            w.d[j] = d;
        }
        w.gl[0] = inv2(&w.d[0]);
        for j in 1..n {
            let t2 = self.hop[j - 1] * self.hop[j - 1];
            w.gl[j] = inv2(&(w.d[j] - w.gl[j - 1] * Complex64::new(t2, 0.0)));
        }
        w.gr[n - 1] = inv2(&w.d[n - 1]);
        for j in (0..n - 1).rev() {
            let t2 = self.hop[j] * self.hop[j];
            w.gr[j] = inv2(&(w.d[j] - w.gr[j + 1] * Complex64::new(t2, 0.0)));
        }
    }

    /// Full diagonal block G_jj after a sweep.
    fn g_diag(&self, j: usize, w: &Work) -> M2 {
        let mut d = w.d[j];
        if j > 0 {
            d -= w.gl[j - 1] * Complex64::new(self.hop[j - 1] * self.hop[j - 1], 0.0);
        }
        if j + 1 < self.n {
            d -= w.gr[j + 1] * Complex64::new(self.hop[j] * self.hop[j], 0.0);
        }
        inv2(&d)
    }

    /// Block G_ij given the diagonal block G_jj, after a sweep.
    fn g_block(&self, i: usize, j: usize, gjj: &M2, w: &Work) -> M2 {
        let mut g = *gjj;
        if i > j {
            for k in j + 1..=i {
                g = w.gr[k] * g * Complex64::new(self.hop[k - 1], 0.0);
            }
        } else {
            for k in (i..j).rev() {
                g = w.gl[k] * g * Complex64::new(self.hop[k], 0.0);
            }
        }
        g
    }

    /// Transmission matrix T_ij between the four channels at energy `e`.
    /// `t[i][j]` = W_i W_j |⟨u_i|G_{x_i x_j}|u_j⟩|².
    fn transmissions(&self, e: f64, hv: &[M2], w: &mut Work) -> [[f64; 4]; 4] {
        if let Some(c) = &self.collinear {
            return self.transmissions_collinear(c, e, hv);
        }
        self.sweep(e, hv, w);
        let (a, b) = (self.site_l, self.site_r);
        let gaa = self.g_diag(a, w);
        let (gbb, gba, gab) = if a == b {
            (gaa, gaa, gaa)
        } else {
            let gbb = self.g_diag(b, w);
            (
                gbb,
                self.g_block(b, a, &gaa, w),
                self.g_block(a, b, &gbb, w),
            )
        };
        let mut t = [[0.0; 4]; 4];
        for i in 0..4 {
            for j in 0..4 {
                if i == j {
                    continue;
                }
                let g = match (i < 2, j < 2) {
                    (true, true) => &gaa,
                    (true, false) => &gab,
                    (false, true) => &gba,
                    (false, false) => &gbb,
                };
                let amp = self.u[i].dotc(&(g * self.u[j]));
                t[i][j] = self.w[i] * self.w[j] * amp.norm_sqr();
            }
        }
        t
    }

    /// Collinear fast path: two independent scalar chains (spin ↑, ↓ along z). With left-connected
    /// g_j = (d_j − t_{j−1}² g_{j−1})⁻¹ and the sites beyond b folded into G_bb,
    /// G_ab = g_a t_a g_{a+1} ⋯ g_{b−1} t_{b−1} G_bb, and T_σ = Γ_Lσ Γ_Rσ |G_ab|².
    fn transmissions_collinear(&self, c: &Collinear, e: f64, hv: &[M2]) -> [[f64; 4]; 4] {
        let (a, b, n) = (self.site_l, self.site_r, self.n);
        let mut tsig = [0.0; 2];
        for (s, ts) in tsig.iter_mut().enumerate() {
            let (gam_l, gam_r) = c.gamma[s];
            let d = |j: usize| {
                let mut d = Complex64::new(e - hv[j][(s, s)].re, 0.0);
                if j == a {
                    d.im += 0.5 * gam_l;
                }
                if j == b {
                    d.im += 0.5 * gam_r;
                }
                d
            };
            *ts = gam_l * gam_r * g_ab_recursion(a, b, n, &self.hop, d).norm_sqr();
        }
        let mut t = [[0.0; 4]; 4];
        for i in 0..2 {
            for j in 2..4 {
                if c.spin_of[i] == c.spin_of[j] {
                    t[i][j] = tsig[c.spin_of[i]];
                    t[j][i] = t[i][j];
                }
            }
        }
        t
    }

    /// Resonances of the open chain at bias V: (centre, half-width) from the eigenvalues of the
    /// non-Hermitian effective Hamiltonian H + Σ_L + Σ_R, meV.
    ///
    /// Collinear chains: two N×N complex-symmetric tridiagonal problems solved by QL iteration,
    /// O(N²) (spin ↑ first, then ↓). Otherwise a dense 2N×2N Schur decomposition, O(N³).
    pub fn resonances(&self, bias_mv: f64) -> Vec<(f64, f64)> {
        if let Some(c) = &self.collinear {
            let mut out = Vec::with_capacity(2 * self.n);
            for s in 0..2 {
                let heff = self.effective_diagonal(s, bias_mv, c.gamma[s]);
                match poles::eigenvalues(&heff, &self.hop) {
                    Some(z) => out.extend(z.iter().map(|z| (z.re, z.im.abs()))),
                    None => {
                        out.clear();
                        break;
                    }
                }
            }
            if out.len() == 2 * self.n {
                return out;
            }
        }
        let hv = self.site_hamiltonians(bias_mv);
        let m = 2 * self.n;
        let mut h = DMatrix::<Complex64>::zeros(m, m);
        for j in 0..self.n {
            let mut blk = hv[j];
            if j == self.site_l {
                blk += self.sigma_l;
            }
            if j == self.site_r {
                blk += self.sigma_r;
            }
            for (r, c) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                h[(2 * j + r, 2 * j + c)] = blk[(r, c)];
            }
            if j + 1 < self.n {
                for s in 0..2 {
                    h[(2 * j + s, 2 * j + 2 + s)] = Complex64::new(self.hop[j], 0.0);
                    h[(2 * j + 2 + s, 2 * j + s)] = Complex64::new(self.hop[j], 0.0);
                }
            }
        }
        match nalgebra::linalg::Schur::try_new(h.clone(), 1e-13, 10_000) {
            Some(schur) => {
                let (_, t) = schur.unpack();
                (0..m).map(|k| (t[(k, k)].re, t[(k, k)].im.abs())).collect()
            }
            None => (0..m).map(|k| (h[(k, k)].re, h[(k, k)].im.abs())).collect(),
        }
    }

    /// Breakpoints of the energy integral at bias V: the window ends, the chemical potentials and
    /// a ladder around each resonance (centre, ±3 and ±20 half-widths), sorted and deduplicated.
    fn breakpoints(&self, bias_mv: f64, mu: &[f64; 4], opts: &Integration) -> Vec<f64> {
        let kt = kt_mev(self.temperature[0].max(self.temperature[1]));
        let lo = mu.iter().copied().fold(f64::INFINITY, f64::min) - opts.window_kt * kt;
        let hi = mu.iter().copied().fold(f64::NEG_INFINITY, f64::max) + opts.window_kt * kt;
        let mut pts = vec![lo, hi];
        pts.extend(mu.iter().copied());
        // The Fermi steps get their own panels (μ ± {3, 12, 30} k_BT): when k_BT is much smaller
        // than a panel, no Gauss–Kronrod node would see the step's tail and the error estimate would
        // miss it (a k_BT·ln 2 error).
        for (i, m) in mu.iter().enumerate() {
            let kti = kt_mev(self.temperature[i / 2]);
            if kti > 0.0 {
                for k in [3.0, 12.0, 30.0] {
                    pts.push(m - k * kti);
                    pts.push(m + k * kti);
                }
            }
        }
        for (c, w) in self.resonances(bias_mv) {
            let w = w.max(1e-9);
            for k in [0.0, -3.0, 3.0, -20.0, 20.0] {
                pts.push(c + k * w);
            }
        }
        pts.retain(|&x| x.is_finite() && x >= lo && x <= hi);
        pts.sort_by(f64::total_cmp);
        pts.dedup_by(|a, b| (*a - *b).abs() <= 1e-12 * (1.0 + a.abs()));
        pts
    }

    /// Currents, spin currents and energy currents at bias V (mV).
    pub fn bias_point(&self, bias_mv: f64, opts: &Integration) -> BiasPoint {
        if self.uses_closed_form(opts) {
            if let Some(p) = self.bias_point_exact(bias_mv) {
                return p;
            }
        }
        self.bias_point_quadrature(bias_mv, opts)
    }

    /// Whether [`ChainSolver::bias_point`] tries the closed form first (opted in, collinear).
    pub fn uses_closed_form(&self, opts: &Integration) -> bool {
        (self.closed_form || opts.closed_form) && self.collinear.is_some()
    }

    /// [`ChainSolver::bias_point`] with caller-owned closed-form work arrays (for example a
    /// [`poles::PoleScratch::tracking`] one along a sweep).
    pub fn bias_point_with(
        &self,
        bias_mv: f64,
        opts: &Integration,
        scratch: &mut poles::PoleScratch,
    ) -> BiasPoint {
        if self.uses_closed_form(opts) {
            if let Some(p) = self.bias_point_exact_with(bias_mv, scratch) {
                return p;
            }
        }
        self.bias_point_quadrature(bias_mv, opts)
    }

    /// [`ChainSolver::bias_point`] by adaptive quadrature, whatever the closed-form setting.
    fn bias_point_quadrature(&self, bias_mv: f64, opts: &Integration) -> BiasPoint {
        let mu = self.chemical_potentials(bias_mv);
        let kt = [kt_mev(self.temperature[0]), kt_mev(self.temperature[1])];
        let kts = [kt[0], kt[0], kt[1], kt[1]];
        let hv = self.site_hamiltonians(bias_mv);
        let mut w = self.work();
        let bps = self.breakpoints(bias_mv, &mu, opts);
        let tol = Tolerance {
            rel: opts.rel_tol,
            abs: opts.abs_tol_na / E_OVER_H_NA_PER_MEV,
            max_intervals: opts.max_intervals,
        };
        let res: Integral = integrate(
            |e, out| {
                let t = self.transmissions(e, &hv, &mut w);
                let f: [f64; 4] = std::array::from_fn(|i| fermi(e, mu[i], kts[i]));
                for i in 0..4 {
                    let mut j_i = 0.0;
                    for j in 0..4 {
                        j_i += t[i][j] * (f[i] - f[j]);
                    }
                    out[i] = j_i;
                    out[4 + i] = e * j_i;
                }
            },
            8,
            4,
            &bps,
            tol,
        );
        BiasPoint {
            bias_mv,
            channel_current_na: std::array::from_fn(|i| res.value[i] * E_OVER_H_NA_PER_MEV),
            channel_energy_nw: std::array::from_fn(|i| {
                res.value[4 + i] * E_OVER_H_NA_PER_MEV * NA_MV_TO_NW
            }),
            mu_mev: mu,
            temperature_k: self.temperature,
            error_na: res.error * E_OVER_H_NA_PER_MEV,
            evaluations: res.evaluations,
            converged: res.converged,
            exchange_fields_mev: Vec::new(),
            iterations: 0,
        }
    }

    /// Currents, spin currents and energy currents at bias V (mV) in closed form, from the poles of
    /// the Green's function and digamma functions (see [`poles`]): exact to round-off at any
    /// temperature, T = 0 included, with no energy grid. `None` where the closed form does not apply
    /// (non-collinear states, a zero hopping, coalescing poles); [`ChainSolver::bias_point`] then
    /// integrates by quadrature. `evaluations` counts the poles used; `error_na` is 0.
    ///
    /// Uses a per-thread [`poles::PoleScratch`]: after the first call on a thread, a bias point
    /// allocates nothing (chains of any length).
    pub fn bias_point_exact(&self, bias_mv: f64) -> Option<BiasPoint> {
        poles::with_scratch(|s| self.bias_point_exact_with(bias_mv, s))
    }

    /// [`ChainSolver::bias_point_exact`] with caller-owned work arrays.
    pub fn bias_point_exact_with(
        &self,
        bias_mv: f64,
        scratch: &mut poles::PoleScratch,
    ) -> Option<BiasPoint> {
        let c = self.collinear.as_ref()?;
        if !self.both_spin_poles(bias_mv, scratch) {
            return None;
        }
        let poles = scratch.spins();
        let mu = self.chemical_potentials(bias_mv);
        let kt = [kt_mev(self.temperature[0]), kt_mev(self.temperature[1])];
        let kts = [kt[0], kt[0], kt[1], kt[1]];
        let mut particle = [0.0; 4];
        let mut energy = [0.0; 4];
        for i in 0..4 {
            (particle[i], energy[i]) = poles[c.spin_of[i]].particle_and_energy(mu[i], kts[i]);
        }
        // J_i = Σ_j ∫ T_ij (f_i − f_j): channel i exchanges with the other lead's channel of the same
        // z-spin only.
        let mut j_part = [0.0; 4];
        let mut j_energy = [0.0; 4];
        for i in 0..4 {
            for j in 0..4 {
                if (i < 2) != (j < 2) && c.spin_of[i] == c.spin_of[j] {
                    j_part[i] += particle[i] - particle[j];
                    j_energy[i] += energy[i] - energy[j];
                }
            }
        }
        if j_part.iter().chain(&j_energy).any(|x| !x.is_finite()) {
            return None;
        }
        Some(BiasPoint {
            bias_mv,
            channel_current_na: std::array::from_fn(|i| j_part[i] * E_OVER_H_NA_PER_MEV),
            channel_energy_nw: std::array::from_fn(|i| {
                j_energy[i] * E_OVER_H_NA_PER_MEV * NA_MV_TO_NW
            }),
            mu_mev: mu,
            temperature_k: self.temperature,
            error_na: 0.0,
            evaluations: poles[0].z.len() + poles[1].z.len(),
            converged: true,
            exchange_fields_mev: Vec::new(),
            iterations: 0,
        })
    }

    /// Transmission and site-resolved density of states at bias V (mV) for each energy (meV).
    pub fn spectrum(&self, bias_mv: f64, energies: &[f64]) -> Vec<SpectralPoint> {
        let hv = self.site_hamiltonians(bias_mv);
        let mut w = self.work();
        energies
            .iter()
            .map(|&e| {
                let t = self.transmissions(e, &hv, &mut w);
                self.sweep(e, &hv, &mut w);
                let dos = (0..self.n)
                    .map(|j| {
                        let g = self.g_diag(j, &w);
                        [
                            -g[(0, 0)].im / std::f64::consts::PI,
                            -g[(1, 1)].im / std::f64::consts::PI,
                        ]
                    })
                    .collect();
                SpectralPoint {
                    energy_mev: e,
                    transmission_up: t[0][2] + t[0][3],
                    transmission_down: t[1][2] + t[1][3],
                    dos_per_mev: dos,
                }
            })
            .collect()
    }

    /// Particle current through every bond j → j+1 at bias V, in nA, computed independently of
    /// the terminal formula from the lesser Green's function: J_{j→j+1} = (e/h) ∫ dE
    /// 2 Re Tr[H_{j,j+1} G^<_{j+1,j}], G^< = G^r Σ^< G^a, Σ^<_r = i Σ_s f_{r,s} Γ_{r,s}.
    /// Used to check current conservation; bonds outside the leads' span carry no current.
    pub fn bond_currents(&self, bias_mv: f64, opts: &Integration) -> Vec<f64> {
        let nb = self.n.saturating_sub(1);
        if nb == 0 {
            return Vec::new();
        }
        let mu = self.chemical_potentials(bias_mv);
        let kt = [kt_mev(self.temperature[0]), kt_mev(self.temperature[1])];
        let hv = self.site_hamiltonians(bias_mv);
        let mut w = self.work();
        let bps = self.breakpoints(bias_mv, &mu, opts);
        let proj = |u: &V2| u * u.adjoint();
        let pl = [proj(&self.u[0]), proj(&self.u[1])];
        let pr = [proj(&self.u[2]), proj(&self.u[3])];
        let tol = Tolerance {
            rel: opts.rel_tol,
            abs: opts.abs_tol_na / E_OVER_H_NA_PER_MEV,
            max_intervals: opts.max_intervals,
        };
        let mut col_a = vec![M2::zeros(); self.n];
        let mut col_b = vec![M2::zeros(); self.n];
        let res = integrate(
            |e, out| {
                self.sweep(e, &hv, &mut w);
                let (a, b) = (self.site_l, self.site_r);
                let gaa = self.g_diag(a, &w);
                let gbb = self.g_diag(b, &w);
                for j in 0..self.n {
                    col_a[j] = self.g_block(j, a, &gaa, &w);
                    col_b[j] = self.g_block(j, b, &gbb, &w);
                }
                let sl = (pl[0] * Complex64::new(self.w[0] * fermi(e, mu[0], kt[0]), 0.0)
                    + pl[1] * Complex64::new(self.w[1] * fermi(e, mu[1], kt[0]), 0.0))
                    * I;
                let sr = (pr[0] * Complex64::new(self.w[2] * fermi(e, mu[2], kt[1]), 0.0)
                    + pr[1] * Complex64::new(self.w[3] * fermi(e, mu[3], kt[1]), 0.0))
                    * I;
                for j in 0..nb {
                    let g_less = col_a[j + 1] * sl * col_a[j].adjoint()
                        + col_b[j + 1] * sr * col_b[j].adjoint();
                    out[j] = 2.0 * (g_less.trace() * Complex64::new(self.hop[j], 0.0)).re;
                }
            },
            nb,
            nb,
            &bps,
            tol,
        );
        res.value.iter().map(|v| v * E_OVER_H_NA_PER_MEV).collect()
    }

    /// Occupation and spin polarisation of every site at bias V: `[n, m_x, m_y, m_z]` with
    /// n = Tr ρ and m = Tr(ρσ), ρ = ∫ dE/(2π) G^<(E)/i the site's non-equilibrium density matrix.
    /// The energy integral runs from −∞ (a t ↦ E = lo − (1 − t)/t map below the Fermi window,
    /// where every Fermi function is 1) to the window's top.
    pub fn site_densities(&self, bias_mv: f64, opts: &Integration) -> Vec<[f64; 4]> {
        let n = self.n;
        let mu = self.chemical_potentials(bias_mv);
        let kt = [kt_mev(self.temperature[0]), kt_mev(self.temperature[1])];
        let kts = [kt[0], kt[0], kt[1], kt[1]];
        let hv = self.site_hamiltonians(bias_mv);
        let mut w = self.work();
        let bps = self.breakpoints(bias_mv, &mu, opts);
        let (lo, hi) = (bps[0], bps[bps.len() - 1]);
        let tol = Tolerance {
            rel: opts.rel_tol,
            abs: 1e-12,
            max_intervals: opts.max_intervals,
        };
        let mut col = [vec![M2::zeros(); n], vec![M2::zeros(); n]];
        let mut density = |e: f64, out: &mut [f64], weight: f64| {
            self.sweep(e, &hv, &mut w);
            let (a, b) = (self.site_l, self.site_r);
            let gaa = self.g_diag(a, &w);
            let gbb = self.g_diag(b, &w);
            for j in 0..n {
                col[0][j] = self.g_block(j, a, &gaa, &w);
                col[1][j] = self.g_block(j, b, &gbb, &w);
            }
            let f: [f64; 4] = std::array::from_fn(|i| {
                if e <= lo {
                    1.0
                } else {
                    fermi(e, mu[i], kts[i])
                }
            });
            out.iter_mut().for_each(|o| *o = 0.0);
            for j in 0..n {
                for i in 0..4 {
                    let c = f[i] * self.w[i] * weight / (2.0 * std::f64::consts::PI);
                    if c == 0.0 {
                        continue;
                    }
                    let v = col[i / 2][j] * self.u[i];
                    let (v0, v1) = (v[0], v[1]);
                    let cross = v0.conj() * v1;
                    out[4 * j] += c * (v0.norm_sqr() + v1.norm_sqr());
                    out[4 * j + 1] += c * 2.0 * cross.re;
                    out[4 * j + 2] += c * 2.0 * cross.im;
                    out[4 * j + 3] += c * (v0.norm_sqr() - v1.norm_sqr());
                }
            }
        };
        let window = integrate(|e, out| density(e, out, 1.0), 4 * n, 4 * n, &bps, tol);
        // Below the window: E = lo − (1 − t)/t, dE = dt/t²; resonances below lo become breakpoints.
        let mut tb = vec![0.0, 1.0];
        for (c, hw) in self.resonances(bias_mv) {
            for k in [0.0, -3.0, 3.0] {
                let e = c + k * hw.max(1e-9);
                if e < lo {
                    tb.push(1.0 / (1.0 + lo - e));
                }
            }
        }
        tb.sort_by(f64::total_cmp);
        tb.dedup();
        let tail = integrate(
            |t, out| {
                let e = lo - (1.0 - t) / t;
                density(e, out, 1.0 / (t * t));
            },
            4 * n,
            4 * n,
            &tb,
            tol,
        );
        let _ = hi;
        (0..n)
            .map(|j| std::array::from_fn(|c| window.value[4 * j + c] + tail.value[4 * j + c]))
            .collect()
    }

    /// The same solver with extra spin-splitting vectors (meV) added to the sites (e.g. exchange
    /// fields): H_j += (b_j·σ)/2. The collinear fast path survives fields along ±z only.
    pub fn with_fields(&self, fields: &[[f64; 3]]) -> ChainSolver {
        let mut s = self.clone();
        for (h, b) in s.h0.iter_mut().zip(fields) {
            let norm = (b[0] * b[0] + b[1] * b[1] + b[2] * b[2]).sqrt();
            if norm > 0.0 {
                *h += n_sigma([b[0] / norm, b[1] / norm, b[2] / norm])
                    * Complex64::new(0.5 * norm, 0.0);
            }
        }
        if fields.iter().any(|b| b[0] != 0.0 || b[1] != 0.0) {
            s.collinear = None;
        }
        s
    }

    /// A bias point with the sites' exchange fields found self-consistently: site `link.site`
    /// feels the splitting vector J·m of site `link.from`, m its non-equilibrium spin polarisation
    /// (see [`ChainSolver::site_densities`]). Linear mixing until the fields change by less than
    /// `sc.tolerance_mev`.
    pub fn bias_point_self_consistent(
        &self,
        bias_mv: f64,
        opts: &Integration,
        links: &[ExchangeLink],
        sc: &SelfConsistency,
    ) -> Result<BiasPoint> {
        let mut fields = vec![[0.0; 3]; self.n];
        for it in 1..=sc.max_iterations {
            let solver = self.with_fields(&fields);
            let d = solver.site_densities(bias_mv, opts);
            let mut target = vec![[0.0; 3]; self.n];
            for l in links {
                for c in 0..3 {
                    target[l.site][c] += l.coupling_mev * d[l.from][c + 1];
                }
            }
            let mut change: f64 = 0.0;
            for (f, t) in fields.iter_mut().zip(&target) {
                for c in 0..3 {
                    let new = (1.0 - sc.mixing) * f[c] + sc.mixing * t[c];
                    change = change
                        .max((new - f[c]).abs())
                        .max((t[c] - f[c]).abs() * sc.mixing);
                    f[c] = new;
                }
            }
            if !change.is_finite() {
                return Err(Error::Numerical {
                    context: format!("self-consistent exchange at {bias_mv} mV"),
                    message: "the fields diverged".into(),
                });
            }
            if change < sc.tolerance_mev {
                let mut p = self.with_fields(&fields).bias_point(bias_mv, opts);
                p.exchange_fields_mev = fields;
                p.iterations = it;
                return Ok(p);
            }
        }
        Err(Error::Numerical {
            context: format!("self-consistent exchange at {bias_mv} mV"),
            message: format!(
                "not converged to {} meV in {} iterations (lower the mixing or the couplings)",
                sc.tolerance_mev, sc.max_iterations
            ),
        })
    }

    /// The coupling matrices Γ_L and Γ_R (2×2, meV) as (re, im) pairs, for diagnostics.
    pub fn lead_gammas(&self) -> [[[f64; 2]; 4]; 2] {
        let flat = |m: &M2| {
            [
                [m[(0, 0)].re, m[(0, 0)].im],
                [m[(0, 1)].re, m[(0, 1)].im],
                [m[(1, 0)].re, m[(1, 0)].im],
                [m[(1, 1)].re, m[(1, 1)].im],
            ]
        };
        [flat(&self.gamma_l), flat(&self.gamma_r)]
    }
}

/// G_ab of one spin of a collinear chain by the scalar recursion: with left-connected
/// g_j = (d_j − t_{j−1}² g_{j−1})⁻¹ and the sites beyond b folded into G_bb,
/// G_ab = g_a t_a g_{a+1} ⋯ g_{b−1} t_{b−1} G_bb. `d(j)` is ω − (H + Σ)_jj at site j (a ≤ b < n).
/// Shared by the quadrature's transmissions and the closed form's pole expansion.
#[inline]
pub(crate) fn g_ab_recursion(
    a: usize,
    b: usize,
    n: usize,
    hop: &[f64],
    d: impl Fn(usize) -> Complex64,
) -> Complex64 {
    let mut beyond = Complex64::new(0.0, 0.0);
    for j in (b + 1..n).rev() {
        beyond = (d(j) - beyond).inv() * (hop[j - 1] * hop[j - 1]);
    }
    let mut before = Complex64::new(0.0, 0.0);
    let mut prod = Complex64::new(1.0, 0.0);
    for j in 0..b {
        let g = (d(j) - before).inv();
        if j >= a {
            prod *= g * hop[j];
        }
        before = g * (hop[j] * hop[j]);
    }
    prod * (d(b) - before - beyond).inv()
}
