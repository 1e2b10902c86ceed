//! The many-body Hamiltonian of the dots and what the master equations in its eigenbasis share.
//!
//! H = Σ_k ε_k(V) n_k + Σ_d U_d N_d(N_d − 1)/2 + Σ_{d<d'} U_dd' N_d N_d'   (the constant-interaction
//! part, [`DotModel::state_energy`], spins along z)
//!   + Σ_{hoppings, σ} t·(d†_{aσ} d_{bσ} + h.c.)                          (spin-conserving tunnelling)
//!   + Σ_{exchanges} [J·S_a·S_b + J_z·S^z_a S^z_b + D·(S_a × S_b)]          (S = σ/2).
//!
//! It is built on the Fock states (bitmasks over spin-orbitals k = 2·i + s, as in
//! [`crate::master::model`]) and diagonalised block by block — per particle number N, and per
//! (N, S_z) when H conserves S_z (every term here does unless a DM vector has x/y components) —
//! with nalgebra's Hermitian eigen solver.
//!
//! **Basis conventions.** Each eigenstate is stored under the index of the Fock state it is
//! assigned to (a one-to-one greedy assignment by largest weight within its block), so state
//! indices stay bitmasks and labels are those of the dominant Fock state. Inside a degenerate
//! multiplet the basis is made canonical by diagonalising the tie-break operator Σ_s (s + 1)|s⟩⟨s|
//! projected on the multiplet: without hopping the eigenstates are then exactly the Fock states,
//! and the Pauli approach reproduces the Fock-state master equation. The 1vN and Redfield results
//! do not depend on the basis inside a multiplet (tested by rotating it, `tests/manybody.rs`).
//!
//! **Leads.** Each lead r has two channels α = ± (electron spin along its magnetisation n_r; the
//! left lead along +z, the right one at `angle_deg` in the x–z plane). The tunnelling amplitude of
//! channel (r, α) to orbital i, spin σ is τ = √(Γ_{r,i}(1 + α·p_r))·⟨σ|α⟩ with Γ = 2π|t|²ρ, and its
//! chemical potential μ_{r,α} = μ_r + α·Δμ_r/2 (μ_L = +V/2, μ_R = −V/2). In the eigenbasis the
//! channel's operator is A_cb = Σ_{iσ} τ_{iσ}⟨c|d†_{iσ}|b⟩ (N_c = N_b + 1).
//!
//! **Spinterface leads** ([`Spinterface`], Pauli only): the channel's coupling becomes
//! Γ_{r,i}·λ_α(E) at the transition energy E (the spin-split spinterface level integrated out), and
//! with `exchange_field = "konig-martinek"` each orbital's levels are split by the spinterface
//! field [`spinterface_field`] (bias- and spin-accumulation-dependent) instead of the wide-band
//! König–Martinek formula.
//!
//! **Mediated (Fransson) exchange** ([`ManyBody::with_mediated`], `[[dots.coupling]]
//! mediated_v_meV`): a coupling's J, J_z, D_z become the configured constants plus the
//! bias-dependent exchange mediated by the non-interacting path through the two orbitals
//! ([`super::fransson`]), evaluated once per [`ManyBody::spectrum`] call (i.e. per bias). With no
//! mediated coupling nothing changes.

use super::fransson::{self, Fransson, MediatedExchange, Path, PathLead};
use super::spectrum::{fermion_sign, Amplitude, Spectrum};
use crate::device::{Device, Exchange, Hopping};
use crate::error::{Error, Result};
use crate::master::model::HBAR_MEV_S;
use crate::master::model::{konig_martinek_field, spinterface_field, LeadSide};
use crate::master::{DotModel, ExchangeField, Magnet, PointResult, RateSet, Spinterface};
use crate::model::{Axis, MagneticState};
use crate::units::{fermi, kt_mev};
use nalgebra::{DMatrix, DVector};
use num_complex::Complex64;

/// Largest number of spinful orbitals the many-body approaches accept (4^6 = 4096 states).
pub const MAX_MANY_BODY_ORBITALS: usize = 6;

/// Largest number of many-body states the density-matrix approaches (1vN, Redfield) accept.
pub const MAX_DENSITY_MATRIX_STATES: usize = 256;

const C0: Complex64 = Complex64 { re: 0.0, im: 0.0 };

/// One lead channel: lead `lead`, electron spin α = ±1 along the lead's magnetisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// 0 left, 1 right.
    pub lead: usize,
    /// +1 majority (along the magnetisation), −1 minority.
    pub alpha: i8,
    /// ⟨σ|α⟩ for σ = ↑, ↓ (z basis).
    pub spinor: [Complex64; 2],
    /// Γ_{r,i}(1 + α p_r) per orbital, meV.
    pub gamma_mev: Vec<f64>,
    /// μ_{r,α} − μ_r = α·Δμ_r/2, meV.
    pub mu_shift_mev: f64,
    /// k_B T of the lead, meV (at least 1 mK).
    pub kt_mev: f64,
    /// The spin index (0 = ↑, 1 = ↓ along z) this channel is reported under: for the left lead and
    /// a right lead within 90° of +z, α = + is ↑; for a right lead nearer −z (AP), α = + is ↓.
    pub report_spin: usize,
}

/// The dots' many-body Hamiltonian in one magnetic state, ready to be diagonalised at any bias.
#[derive(Debug, Clone)]
pub struct ManyBody {
    /// The constant-interaction part (levels, charging, Zeeman along z).
    pub model: DotModel,
    /// The configuration the diagonal part is evaluated in (P for non-collinear states).
    pub magnet: Magnet,
    /// True for collinear leads (θ = 0° or 180°).
    pub collinear: bool,
    hoppings: Vec<Hopping>,
    /// (spin-orbital pair and coefficient) terms of the exchange couplings:
    /// coefficient · d†_{p} d_{q} d†_{r} d_{s}.
    exchange_terms: Vec<([usize; 4], Complex64)>,
    /// True when H conserves S_z (blocks by (N, S_z)).
    pub conserves_sz: bool,
    /// The Fock states of each block.
    blocks: Vec<Vec<usize>>,
    /// The four lead channels (left +, left −, right +, right −).
    pub channels: Vec<Channel>,
    /// Half band width of the leads, meV.
    pub band_mev: f64,
    /// Spinterfaces of the leads (energy-dependent couplings), with each lead's polarisation.
    spinterfaces: [Option<(Spinterface, f64)>; 2],
    /// Lead-induced field computed here (spinterface devices); `None` when off.
    field_leads: Option<[FieldLead; 2]>,
    /// When the Hamiltonian moves rigidly with the bias (every orbital has the same lever arm α
    /// and no bias-dependent field acts), its spectrum at V = 0 and α: at any V the eigenvectors
    /// are the same and each state's energy is E(0) + α·V·N (N its electron number), so the
    /// per-bias diagonalisation is skipped.
    rigid: Option<(Box<Spectrum>, f64)>,
    /// The density-matrix generator's structure over the rigid spectrum (built at the first
    /// [`ManyBody::liouvillian`] call).
    rigid_plan: std::sync::OnceLock<LiouvillianPlan>,
    /// Exchange couplings mediated by the path through their orbitals (bias-dependent).
    mediated: Vec<MediatedExchange>,
    /// Hoppings, Γ per orbital, p, Δμ and k_BT of the leads as given (for the mediated paths).
    path_leads: [FieldLead; 2],
}

/// What the induced field needs of one lead: Γ per orbital (meV), p, Δμ (meV), k_BT (meV).
type FieldLead = (Vec<f64>, f64, f64, f64);

fn unfit(approach: &str, message: String) -> Error {
    Error::invalid(format!("approach `{approach}`"), message)
}

/// d†_p d_q on Fock state `s`: the new state and the fermionic sign, or `None`.
fn hop(s: usize, p: usize, q: usize) -> Option<(usize, f64)> {
    if s >> q & 1 == 0 {
        return None;
    }
    let s1 = s ^ (1 << q);
    if s1 >> p & 1 == 1 {
        return None;
    }
    Some((s1 | (1 << p), fermion_sign(s1, q) * fermion_sign(s1, p)))
}

/// Twice S_z of a Fock state.
fn two_sz(s: usize, nso: usize) -> i32 {
    (0..nso)
        .filter(|k| s >> k & 1 == 1)
        .map(|k| if k % 2 == 0 { 1 } else { -1 })
        .sum()
}

/// The terms c·d†_p d_q d†_r d_s of J·S_a·S_b + J_z S^z_a S^z_b + D·(S_a × S_b).
fn exchange_terms(e: &Exchange) -> Vec<([usize; 4], Complex64)> {
    let i = Complex64::i();
    let one = Complex64::new(1.0, 0.0);
    // Pauli matrices τ^x, τ^y, τ^z (index 0 = ↑).
    let tau: [[[Complex64; 2]; 2]; 3] = [
        [[C0, one], [one, C0]],
        [[C0, -i], [i, C0]],
        [[one, C0], [C0, -one]],
    ];
    // M_{αβ}: J δ_αβ + J_z δ_αz δ_βz + Σ_γ D_γ ε_{γαβ}.
    let mut m = [[0.0; 3]; 3];
    for (a, row) in m.iter_mut().enumerate() {
        row[a] += e.j_mev;
    }
    m[2][2] += e.jz_mev;
    let d = e.dm_mev;
    m[1][2] += d[0];
    m[2][1] -= d[0];
    m[2][0] += d[1];
    m[0][2] -= d[1];
    m[0][1] += d[2];
    m[1][0] -= d[2];
    let mut out = Vec::new();
    for s1 in 0..2 {
        for s2 in 0..2 {
            for t1 in 0..2 {
                for t2 in 0..2 {
                    let mut c = C0;
                    for (al, row) in m.iter().enumerate() {
                        for (be, &mab) in row.iter().enumerate() {
                            c += 0.25 * mab * tau[al][s1][s2] * tau[be][t1][t2];
                        }
                    }
                    if c.norm() > 0.0 {
                        out.push(([2 * e.a + s1, 2 * e.a + s2, 2 * e.b + t1, 2 * e.b + t2], c));
                    }
                }
            }
        }
    }
    out
}

/// Re ψ(½ + iy): the recurrence in real arithmetic up to Re z = 8.5 (skipped for |y| ≥ 10), then
/// the asymptotic series to B_10 (truncation error < 2e-13). Equals
/// [`crate::master::model::re_digamma_complex`] at x = ½ (tested), 3–5× faster.
pub fn re_digamma_half(y: f64) -> f64 {
    let mut acc = 0.0;
    let mut x = 0.5;
    if y.abs() < 10.0 {
        for _ in 0..8 {
            acc -= x / (x * x + y * y);
            x += 1.0;
        }
    }
    let r2 = x * x + y * y;
    let z = Complex64::new(x, y);
    let w2 = (z * z).inv();
    let series = w2
        * (1.0 / 12.0
            - w2 * (1.0 / 120.0 - w2 * (1.0 / 252.0 - w2 * (1.0 / 240.0 - w2 * (1.0 / 132.0)))));
    acc + 0.5 * r2.ln() - 0.5 * x / r2 - series.re
}

/// ⟨σ|α⟩ for a magnetisation at `theta` (radians) in the x–z plane; exact at 0 and π.
fn spinor(theta_deg: f64, alpha: i8) -> [Complex64; 2] {
    let t = theta_deg.rem_euclid(360.0);
    let (c, s) = if t == 0.0 {
        (1.0, 0.0)
    } else if t == 180.0 {
        (0.0, 1.0)
    } else {
        let h = t.to_radians() / 2.0;
        (h.cos(), h.sin())
    };
    if alpha > 0 {
        [Complex64::new(c, 0.0), Complex64::new(s, 0.0)]
    } else {
        [Complex64::new(-s, 0.0), Complex64::new(c, 0.0)]
    }
}

impl ManyBody {
    /// Prepare the many-body Hamiltonian of `device` in magnetic state `state` for `approach`.
    /// `coherent` approaches (1vN, Redfield) accept non-collinear leads and produce the
    /// lead-induced exchange field themselves; Pauli needs collinear leads.
    pub fn new(
        device: &Device,
        state: &MagneticState,
        approach: &str,
        coherent: bool,
    ) -> Result<ManyBody> {
        let theta = state.angle_deg.rem_euclid(360.0);
        if !theta.is_finite() {
            return Err(unfit(
                approach,
                format!("state `{}`: angle_deg is not finite", state.name),
            ));
        }
        let collinear = theta == 0.0 || theta == 180.0;
        if !collinear && !coherent {
            return Err(unfit(approach, format!(
                "state `{}` has angle_deg = {}: non-collinear leads need coherences between spin states, which the Pauli master equation drops; use approach = \"1vn\" or \"redfield\" (allowed for pauli: 0 or 180)",
                state.name, state.angle_deg
            )));
        }
        if device.orbitals.len() > MAX_MANY_BODY_ORBITALS {
            return Err(unfit(approach, format!(
                "{} spinful orbitals; the many-body eigenbasis approaches accept up to {MAX_MANY_BODY_ORBITALS} (4^{MAX_MANY_BODY_ORBITALS} states)",
                device.orbitals.len()
            )));
        }
        let has_si = device.spinterfaces.iter().any(Option::is_some);
        if has_si && coherent {
            return Err(unfit(approach, "spinterface leads (energy-dependent DOS) are implemented for approach = \"pauli\" only".into()));
        }
        let mut diag = device.clone();
        diag.hoppings.clear();
        diag.exchanges.clear();
        diag.spinterfaces = [None, None];
        if has_si {
            // The induced field is evaluated here (spinterface formula where a lead has one).
            diag.exchange_field = ExchangeField::None;
        }
        let mut st = state.clone();
        if !collinear {
            if let Some(o) = device
                .orbitals
                .iter()
                .find(|o| o.axis == Axis::Right && o.splitting_mev != 0.0)
            {
                return Err(unfit(approach, format!(
                    "orbital `{}` is split along the right lead, which state `{}` tilts to {}°; the many-body approaches quantise orbital splittings along z",
                    o.name, state.name, state.angle_deg
                )));
            }
            st.angle_deg = 0.0;
        }
        let (model, magnet) = diag.to_dot_model(&st, approach)?;
        if model.exchange_field != ExchangeField::None && (coherent || !collinear) {
            return Err(unfit(approach, "1vN and Redfield produce the lead-induced (König–Martinek) exchange field themselves from the principal-value terms; remove `exchange_field`".into()));
        }
        for h in &device.hoppings {
            if h.a == h.b || h.a >= device.orbitals.len() || h.b >= device.orbitals.len() {
                return Err(unfit(
                    approach,
                    format!("hopping between orbitals {} and {} is invalid", h.a, h.b),
                ));
            }
            if !h.t_mev.is_finite() {
                return Err(unfit(
                    approach,
                    format!("hopping {} meV is not finite", h.t_mev),
                ));
            }
        }
        let mut terms = Vec::new();
        for e in &device.exchanges {
            if e.a == e.b || e.a >= device.orbitals.len() || e.b >= device.orbitals.len() {
                return Err(unfit(
                    approach,
                    format!("exchange between orbitals {} and {} is invalid", e.a, e.b),
                ));
            }
            if !(e.j_mev.is_finite()
                && e.jz_mev.is_finite()
                && e.dm_mev.iter().all(|x| x.is_finite()))
            {
                return Err(unfit(approach, "an exchange coupling is not finite".into()));
            }
            terms.extend(exchange_terms(e));
        }
        if !(device.band_mev.is_finite() && device.band_mev > 0.0) {
            return Err(unfit(
                approach,
                format!("band_meV = {}; allowed > 0", device.band_mev),
            ));
        }
        let conserves_sz = device
            .exchanges
            .iter()
            .all(|e| e.dm_mev[0] == 0.0 && e.dm_mev[1] == 0.0);
        let nso = model.n_spin_orbitals();
        let n = model.n_states();
        let mut keys: Vec<(u32, i32)> = Vec::new();
        let mut blocks: Vec<Vec<usize>> = Vec::new();
        for s in 0..n {
            let key = (
                s.count_ones(),
                if conserves_sz { two_sz(s, nso) } else { 0 },
            );
            match keys.iter().position(|k| *k == key) {
                Some(b) => blocks[b].push(s),
                None => {
                    keys.push(key);
                    blocks.push(vec![s]);
                }
            }
        }
        let mut channels = Vec::new();
        for (r, lead) in model.leads.iter().enumerate() {
            let th = if r == 0 { 0.0 } else { theta };
            let near_minus_z = r == 1 && th.to_radians().cos() < 0.0;
            for alpha in [1i8, -1] {
                let a = f64::from(alpha);
                channels.push(Channel {
                    lead: r,
                    alpha,
                    spinor: spinor(th, alpha),
                    gamma_mev: lead
                        .gamma_mev
                        .iter()
                        .map(|g| {
                            if device.spinterfaces[r].is_some() {
                                // p enters through the spinterface's widths (λ_α).
                                *g
                            } else {
                                g * (1.0 + a * lead.polarization)
                            }
                        })
                        .collect(),
                    mu_shift_mev: a * lead.spin_accumulation_mev / 2.0,
                    kt_mev: kt_mev(lead.temperature_k).max(kt_mev(1e-3)),
                    report_spin: usize::from((alpha < 0) != near_minus_z),
                });
            }
        }
        let mut mb = ManyBody {
            model,
            magnet,
            collinear,
            hoppings: device.hoppings.clone(),
            exchange_terms: terms,
            conserves_sz,
            blocks,
            channels,
            band_mev: device.band_mev,
            spinterfaces: [0, 1]
                .map(|r| device.spinterfaces[r].map(|si| (si, device.leads[r].polarization))),
            mediated: Vec::new(),
            path_leads: [0, 1].map(|r| {
                let l = &device.leads[r];
                (
                    l.gamma_mev.clone(),
                    l.polarization,
                    l.spin_accumulation_mev,
                    kt_mev(l.temperature_k),
                )
            }),
            field_leads: (has_si && device.exchange_field != ExchangeField::None).then(|| {
                [0, 1].map(|r| {
                    let l = &device.leads[r];
                    (
                        l.gamma_mev.clone(),
                        l.polarization,
                        l.spin_accumulation_mev,
                        kt_mev(l.temperature_k),
                    )
                })
            }),
            rigid: None,
            rigid_plan: std::sync::OnceLock::new(),
        };
        if !device.mediated.is_empty() {
            mb = mb.with_mediated(&device.mediated)?;
        }
        mb.rigid = mb
            .rigid_lever_arm()
            .map(|a| (Box::new(mb.diagonalise(0.0)), a));
        Ok(mb)
    }

    /// The common lever arm α of every orbital when the Hamiltonian depends on the bias only
    /// through α·V·N (no lead-induced field, no per-orbital lever arms); `None` otherwise.
    fn rigid_lever_arm(&self) -> Option<f64> {
        if self.field_leads.is_some()
            || self.model.exchange_field != ExchangeField::None
            || !self.mediated.is_empty()
        {
            return None;
        }
        let a = self.model.orbitals.first()?.lever_arm;
        self.model
            .orbitals
            .iter()
            .all(|o| o.lever_arm == a)
            .then_some(a)
    }

    /// Number of many-body states.
    pub fn n_states(&self) -> usize {
        self.model.n_states()
    }

    /// Add exchange couplings mediated by the path through their orbitals (`[[dots.coupling]]
    /// mediated_v_meV`): at each bias the coupling's J, J_z, D_z gain the [`fransson::exchange`]
    /// values of [`ManyBody::mediated_path`]. Needs collinear leads; couplings with v = 0 are
    /// dropped (today's behaviour exactly). The list replaces the device's own
    /// ([`crate::device::Device::mediated`], applied by [`ManyBody::new`]). Errors name the coupling and what to change.
    pub fn with_mediated(mut self, mediated: &[MediatedExchange]) -> Result<ManyBody> {
        let no = self.model.orbitals.len();
        // These couplings replace any the device brought (no coupling counted twice).
        self.mediated.clear();
        for m in mediated {
            if m.a == m.b || m.a >= no || m.b >= no {
                return Err(Error::invalid(
                    "mediated exchange",
                    format!(
                        "orbitals {} and {}: two different orbitals of the {no} are needed",
                        m.a, m.b
                    ),
                ));
            }
            if !m.v_mev.is_finite() {
                return Err(Error::invalid(
                    "mediated exchange",
                    format!("mediated_v_meV = {} is not finite", m.v_mev),
                ));
            }
            if m.v_mev == 0.0 {
                continue;
            }
            if !self.collinear {
                return Err(Error::invalid("mediated exchange", "the mediated exchange is computed for collinear leads (angle_deg 0 or 180); remove mediated_v_meV for non-collinear states"));
            }
            // Structure and widths do not depend on the bias: check them once.
            fransson::exchange(
                &self.mediated_path(m, 0.0),
                0,
                1,
                m.v_mev,
                crate::quad::Tolerance {
                    max_intervals: 1,
                    ..Default::default()
                },
            )?;
            self.mediated.push(*m);
        }
        if !self.mediated.is_empty() {
            // The mediated exchange depends on the bias: no rigid spectrum.
            self.rigid = None;
            self.rigid_plan = std::sync::OnceLock::new();
        }
        Ok(self)
    }

    /// The mediated couplings in use (v ≠ 0).
    pub fn mediated(&self) -> &[MediatedExchange] {
        &self.mediated
    }

    /// The non-interacting path of a mediated coupling at `bias_mv`, spins along z: sites 0 and 1
    /// are orbitals a and b (levels ε_i(V) of this state, spin-degenerate: U, Zeeman and the
    /// constant exchange are left out), joined by the device's a–b hoppings; a lead with a
    /// spinterface adds its SP site (level c_α(V), α = σ·m_r, hopping √(Γ_{r,i}W/4) to orbital i,
    /// width W_α = W(1 + αp_r) to the electrode); a lead without one couples to the orbitals in the
    /// wide-band limit (amplitudes √Γ_{r,i}, widths 1 + αp_r). μ_{r,σ} = ±V/2 + αΔμ_r/2 (left +,
    /// right −), m_r = −1 for the right lead in AP: the conventions of
    /// [`ManyBody::spinterface_fields`] and of the lead channels.
    pub fn mediated_path(&self, m: &MediatedExchange, bias_mv: f64) -> Path {
        let orbs = [m.a, m.b];
        let mut levels: Vec<[f64; 2]> = orbs
            .iter()
            .map(|&i| {
                let o = &self.model.orbitals[i];
                let e = o.energy_mev + o.lever_arm * bias_mv;
                [e, e]
            })
            .collect();
        let t: f64 = self
            .hoppings
            .iter()
            .filter(|h| (h.a, h.b) == (m.a, m.b) || (h.a, h.b) == (m.b, m.a))
            .map(|h| h.t_mev)
            .sum();
        let mut hoppings = vec![(0, 1, t)];
        let mut leads = Vec::new();
        for (r, side) in [LeadSide::Left, LeadSide::Right].into_iter().enumerate() {
            let (g, p, dmu, kt) = &self.path_leads[r];
            if orbs.iter().all(|&i| g[i] == 0.0) {
                continue;
            }
            let mr = DotModel::magnetisation_sign(side, self.magnet);
            let mu0 = if r == 0 {
                bias_mv / 2.0
            } else {
                -bias_mv / 2.0
            };
            let alpha = [mr, -mr];
            let mu_mev = alpha.map(|a| mu0 + a * dmu / 2.0);
            match &self.spinterfaces[r] {
                Some((si, _)) => {
                    let k = levels.len();
                    levels.push(alpha.map(|a| si.level(a, *p, bias_mv).0));
                    for (s, &i) in orbs.iter().enumerate() {
                        if g[i] != 0.0 {
                            hoppings.push((s, k, (g[i] * si.width_mev / 4.0).sqrt()));
                        }
                    }
                    leads.push((
                        Some(k),
                        r,
                        alpha.map(|a| si.level(a, *p, bias_mv).1),
                        mu_mev,
                        *kt,
                    ));
                }
                // Wide band: amplitudes √Γ_{r,i} on the orbitals, widths 1 + αp.
                None => leads.push((None, r, alpha.map(|a| 1.0 + a * p), mu_mev, *kt)),
            }
        }
        let n = levels.len();
        let leads = leads
            .into_iter()
            .map(|(site, r, width_mev, mu_mev, kt)| {
                let mut couplings = vec![0.0; n];
                match site {
                    Some(k) => couplings[k] = 1.0,
                    None => {
                        for (s, &i) in orbs.iter().enumerate() {
                            couplings[s] = self.path_leads[r].0[i].max(0.0).sqrt();
                        }
                    }
                }
                PathLead {
                    couplings,
                    width_mev,
                    mu_mev,
                    kt_mev: kt,
                }
            })
            .collect();
        Path {
            levels_mev: levels,
            hoppings,
            leads,
        }
    }

    /// The mediated exchange of each coupling in [`ManyBody::mediated`] at `bias_mv` (meV; the
    /// default quadrature tolerance). Structure errors were caught by [`ManyBody::with_mediated`];
    /// an unexpected failure gives zero for that coupling.
    pub fn mediated_exchange(&self, bias_mv: f64) -> Vec<Fransson> {
        self.mediated
            .iter()
            .map(|m| {
                fransson::exchange(
                    &self.mediated_path(m, bias_mv),
                    0,
                    1,
                    m.v_mev,
                    crate::quad::Tolerance::default(),
                )
                .unwrap_or_else(|_| Fransson::zero())
            })
            .collect()
    }

    /// The many-body terms of the mediated exchange at `bias_mv` (empty without any).
    fn mediated_terms(&self, bias_mv: f64) -> Vec<([usize; 4], Complex64)> {
        if self.mediated.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (m, f) in self.mediated.iter().zip(self.mediated_exchange(bias_mv)) {
            out.extend(exchange_terms(&Exchange {
                a: m.a,
                b: m.b,
                j_mev: f.j_mev,
                jz_mev: f.jz_mev,
                dm_mev: [0.0, 0.0, f.dz_mev],
            }));
        }
        out
    }

    /// Induced field (meV, along +z) on every orbital at `bias_mv` for a device with spinterfaces
    /// and `exchange_field` on: Σ_r m_r·B_r, B_r the spinterface field of lead r (or the wide-band
    /// König–Martinek field for a lead without one), evaluated for the bare level ε_i(V) and the
    /// dot's U. Zeros otherwise (the wide-band field is then in [`DotModel::state_energy`]).
    pub fn spinterface_fields(&self, bias_mv: f64) -> Vec<f64> {
        let no = self.model.orbitals.len();
        let Some(leads) = &self.field_leads else {
            return vec![0.0; no];
        };
        (0..no)
            .map(|i| {
                let o = &self.model.orbitals[i];
                let eps = o.energy_mev + o.lever_arm * bias_mv;
                let u = self.model.dots[o.dot].charging_mev;
                let mut b = 0.0;
                for (r, side) in [LeadSide::Left, LeadSide::Right].into_iter().enumerate() {
                    let (g, p, dmu, kt) = &leads[r];
                    let mu = if r == 0 {
                        bias_mv / 2.0
                    } else {
                        -bias_mv / 2.0
                    };
                    let m = DotModel::magnetisation_sign(side, self.magnet);
                    b += m * match &self.spinterfaces[r] {
                        Some((si, _)) => {
                            spinterface_field(si, *p, g[i], eps, u, mu, *dmu, *kt, bias_mv)
                        }
                        None => konig_martinek_field(*p, g[i], eps, u, mu, *kt),
                    };
                }
                b
            })
            .collect()
    }

    /// The Hamiltonian on one block of Fock states (meV).
    fn block_hamiltonian(
        &self,
        block: &[usize],
        bias_mv: f64,
        extra: &[([usize; 4], Complex64)],
    ) -> DMatrix<Complex64> {
        let d = block.len();
        let mut h = DMatrix::<Complex64>::zeros(d, d);
        let pos = |s: usize| block.binary_search(&s).ok();
        let fields = self.spinterface_fields(bias_mv);
        let nso = self.model.n_spin_orbitals();
        for (col, &s) in block.iter().enumerate() {
            h[(col, col)] += self.model.state_energy(s, bias_mv, self.magnet);
            for k in 0..nso {
                if s >> k & 1 == 1 && fields[k / 2] != 0.0 {
                    let sigma = if k % 2 == 0 { 1.0 } else { -1.0 };
                    h[(col, col)] -= sigma * 0.5 * fields[k / 2];
                }
            }
            for hp in &self.hoppings {
                if hp.t_mev == 0.0 {
                    continue;
                }
                for spin in 0..2 {
                    let (ka, kb) = (2 * hp.a + spin, 2 * hp.b + spin);
                    for (p, q) in [(ka, kb), (kb, ka)] {
                        if let Some((s2, sg)) = hop(s, p, q) {
                            let row = pos(s2).expect("hopping conserves the block");
                            h[(row, col)] += hp.t_mev * sg;
                        }
                    }
                }
            }
            for &([p, q, r, t], c) in self.exchange_terms.iter().chain(extra) {
                let Some((s1, g1)) = (if r == t {
                    (s >> t & 1 == 1).then_some((s, 1.0))
                } else {
                    hop(s, r, t)
                }) else {
                    continue;
                };
                let Some((s2, g2)) = (if p == q {
                    (s1 >> q & 1 == 1).then_some((s1, 1.0))
                } else {
                    hop(s1, p, q)
                }) else {
                    continue;
                };
                let row = pos(s2).expect("exchange conserves the block");
                h[(row, col)] += c * (g1 * g2);
            }
        }
        h
    }

    /// Diagonalise at `bias_mv`: the spectrum (eigen-energies, charges, labels, creation
    /// amplitudes in the eigenbasis, indexed by the assigned Fock state). A Hamiltonian that moves
    /// rigidly with the bias (one lever arm for all orbitals, no induced field) is diagonalised
    /// once, when prepared, and shifted here.
    pub fn spectrum(&self, bias_mv: f64) -> Spectrum {
        match &self.rigid {
            Some((sp, alpha)) => {
                let mut s = (**sp).clone();
                s.bias_mv = bias_mv;
                if *alpha != 0.0 {
                    for (e, n) in s.energies_mev.iter_mut().zip(&s.n_electrons) {
                        *e += alpha * bias_mv * f64::from(*n);
                    }
                }
                s
            }
            None => self.diagonalise(bias_mv),
        }
    }

    /// [`ManyBody::spectrum`] computed by diagonalising at `bias_mv` whatever the Hamiltonian
    /// (the reference the rigid shortcut is tested against).
    pub fn diagonalise(&self, bias_mv: f64) -> Spectrum {
        let n = self.n_states();
        let nso = self.model.n_spin_orbitals();
        // Eigenvectors: for each global index, its block and coefficient vector over the block.
        let mut vec_of: Vec<(usize, DVector<Complex64>)> = vec![(0, DVector::zeros(0)); n];
        let mut energies = vec![0.0; n];
        let extra = self.mediated_terms(bias_mv);
        for (bi, block) in self.blocks.iter().enumerate() {
            let d = block.len();
            let h = self.block_hamiltonian(block, bias_mv, &extra);
            let eig = h.symmetric_eigen();
            let mut order: Vec<usize> = (0..d).collect();
            order.sort_by(|&a, &b| eig.eigenvalues[a].total_cmp(&eig.eigenvalues[b]));
            let mut vals: Vec<f64> = order.iter().map(|&i| eig.eigenvalues[i]).collect();
            let mut vecs: Vec<DVector<Complex64>> = order
                .iter()
                .map(|&i| eig.eigenvectors.column(i).into_owned())
                .collect();
            // Canonical basis inside degenerate multiplets.
            let mut start = 0;
            while start < d {
                let mut end = start + 1;
                while end < d && (vals[end] - vals[start]).abs() <= 1e-9 * (1.0 + vals[start].abs())
                {
                    end += 1;
                }
                if end - start > 1 {
                    let m = end - start;
                    let vc = DMatrix::from_columns(&vecs[start..end]);
                    let w = DMatrix::from_diagonal(&DVector::from_iterator(
                        d,
                        block.iter().map(|&s| Complex64::new(s as f64 + 1.0, 0.0)),
                    ));
                    let proj = vc.adjoint() * w * &vc;
                    let pe = proj.symmetric_eigen();
                    let mut po: Vec<usize> = (0..m).collect();
                    po.sort_by(|&a, &b| pe.eigenvalues[a].total_cmp(&pe.eigenvalues[b]));
                    let rotated = &vc * &pe.eigenvectors;
                    let mean = vals[start..end].iter().sum::<f64>() / m as f64;
                    for (k, &c) in po.iter().enumerate() {
                        vecs[start + k] = rotated.column(c).into_owned();
                        vals[start + k] = mean;
                    }
                }
                start = end;
            }
            // Phase: the largest component real and positive.
            for v in vecs.iter_mut() {
                let mut best = 0;
                for i in 0..d {
                    if v[i].norm() > v[best].norm() + 1e-12 {
                        best = i;
                    }
                }
                let ph = v[best].conj() / v[best].norm();
                *v *= ph;
            }
            // One-to-one assignment to the block's Fock states by largest weight.
            let mut cand: Vec<(f64, usize, usize)> = Vec::with_capacity(d * d);
            for (e, v) in vecs.iter().enumerate() {
                for i in 0..d {
                    cand.push((v[i].norm_sqr(), i, e));
                }
            }
            cand.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            let mut used_s = vec![false; d];
            let mut used_e = vec![false; d];
            for (_, i, e) in cand {
                if !used_s[i] && !used_e[e] {
                    used_s[i] = true;
                    used_e[e] = true;
                    energies[block[i]] = vals[e];
                    vec_of[block[i]] = (bi, vecs[e].clone());
                }
            }
        }
        // Block and position of every Fock state.
        let mut where_ = vec![(0usize, 0usize); n];
        for (bi, block) in self.blocks.iter().enumerate() {
            for (i, &s) in block.iter().enumerate() {
                where_[s] = (bi, i);
            }
        }
        // Members (global indices) of each block.
        let members = &self.blocks;
        let mut amplitudes = Vec::new();
        for from in 0..n {
            let (bf, ref vf) = vec_of[from];
            for k in 0..nso {
                // w = d†_k |from⟩ over Fock states.
                let mut target_block = None;
                let mut w: Vec<(usize, Complex64)> = Vec::new();
                for (i, &s) in self.blocks[bf].iter().enumerate() {
                    if s >> k & 1 == 0 && vf[i].norm() > 0.0 {
                        let s2 = s | (1 << k);
                        w.push((s2, vf[i] * fermion_sign(s, k)));
                        target_block = Some(where_[s2].0);
                    }
                }
                let Some(bt) = target_block else { continue };
                for &to in &members[bt] {
                    let (_, ref vt) = vec_of[to];
                    let mut acc = C0;
                    for &(s2, c) in &w {
                        acc += vt[where_[s2].1].conj() * c;
                    }
                    if acc.norm() > 1e-13 {
                        amplitudes.push(Amplitude {
                            to,
                            from,
                            orbital: k / 2,
                            spin: (k % 2) as u8,
                            value: acc,
                        });
                    }
                }
            }
        }
        amplitudes.sort_by_key(|a| (a.to, a.from));
        let nd = self.model.dots.len();
        let dot_charges = (0..n)
            .map(|g| {
                let (b, ref v) = vec_of[g];
                let mut q = vec![0.0; nd];
                for (i, &s) in self.blocks[b].iter().enumerate() {
                    let p = v[i].norm_sqr();
                    for (d, c) in self.model.dot_charges(s).into_iter().enumerate() {
                        q[d] += p * f64::from(c);
                    }
                }
                q
            })
            .collect();
        Spectrum {
            bias_mv,
            energies_mev: energies,
            n_electrons: (0..n).map(|s| s.count_ones()).collect(),
            dot_charges,
            labels: (0..n).map(|s| self.model.state_label(s)).collect(),
            amplitudes,
        }
    }

    /// The channel operators A^ν_cb (amplitudes τ of [`Channel`], no 1/√(2π)) from a spectrum:
    /// per channel, the non-zero (c, b, A_cb) sorted by (c, b).
    pub fn channel_couplings(&self, sp: &Spectrum) -> Vec<Vec<(usize, usize, Complex64)>> {
        self.channels
            .iter()
            .map(|ch| {
                let mut out: Vec<(usize, usize, Complex64)> = Vec::new();
                for a in &sp.amplitudes {
                    let g = ch.gamma_mev[a.orbital];
                    let u = ch.spinor[a.spin as usize];
                    if g == 0.0 || u.norm() == 0.0 {
                        continue;
                    }
                    let v = a.value * u * g.sqrt();
                    match out.last_mut() {
                        Some(last) if last.0 == a.to && last.1 == a.from => last.2 += v,
                        _ => out.push((a.to, a.from, v)),
                    }
                }
                out.retain(|x| x.2.norm() > 1e-15);
                out
            })
            .collect()
    }

    /// μ_{r,α} of channel `ch` at `bias_mv`, meV.
    pub fn channel_mu(&self, ch: &Channel, bias_mv: f64) -> f64 {
        let mu = if ch.lead == 0 {
            bias_mv / 2.0
        } else {
            -bias_mv / 2.0
        };
        mu + ch.mu_shift_mev
    }

    /// The Pauli rates between eigenstates at `bias_mv` (Fermi golden rule:
    /// W_{b→c} = |A_cb|² f(E_c − E_b), W_{c→b} = |A_cb|² (1 − f), meV).
    pub fn pauli_rates(&self, bias_mv: f64) -> RateSet {
        let sp = self.spectrum(bias_mv);
        let n = sp.len();
        let couplings = self.channel_couplings(&sp);
        let mut by_from: Vec<Vec<crate::master::rates::Transition>> = vec![Vec::new(); n];
        for (ch, list) in self.channels.iter().zip(&couplings) {
            let mu = self.channel_mu(ch, bias_mv);
            let si = self.spinterfaces[ch.lead];
            for &(c, b, a) in list {
                let de = sp.energies_mev[c] - sp.energies_mev[b];
                let g = match &si {
                    Some((si, p)) => {
                        a.norm_sqr() * si.dos_factor(f64::from(ch.alpha), *p, bias_mv, de)
                    }
                    None => a.norm_sqr(),
                };
                let f = fermi(de, mu, ch.kt_mev);
                // 1 − f without cancellation (as in master::rates).
                let f_out = fermi(mu, de, ch.kt_mev);
                for (from, to, rate, dn) in [(b, c, g * f, 1i8), (c, b, g * f_out, -1)] {
                    if rate > 0.0 {
                        by_from[from].push(crate::master::rates::Transition {
                            from: from as u32,
                            to: to as u32,
                            rate,
                            lead: ch.lead as u8,
                            spin: ch.report_spin as u8,
                            dn,
                            exit: None,
                        });
                    }
                }
            }
        }
        let mut transitions = Vec::new();
        let mut offsets = Vec::with_capacity(n + 1);
        let mut out_rate = vec![0.0; n];
        for (s, list) in by_from.into_iter().enumerate() {
            offsets.push(transitions.len());
            out_rate[s] = list.iter().map(|t| t.rate).sum();
            transitions.extend(list);
        }
        offsets.push(transitions.len());
        RateSet {
            n_states: n,
            transitions,
            offsets,
            out_rate,
            bias_mv,
            // Linear-domain rates only (no log-domain fallback for the eigenbasis yet).
            tiny: Vec::new(),
        }
    }

    /// The density-matrix generator at `bias_mv` under `rule` (1vN or Redfield).
    pub fn liouvillian(&self, bias_mv: f64, rule: Rule) -> Result<Liouvillian> {
        let sp = self.spectrum(bias_mv);
        if self.rigid.is_some() {
            let plan = match self.rigid_plan.get() {
                Some(p) => p,
                None => {
                    let p = LiouvillianPlan::new(self, &sp)?;
                    self.rigid_plan.get_or_init(|| p)
                }
            };
            return Liouvillian::from_plan(self, &sp, plan, bias_mv, rule);
        }
        Liouvillian::from_spectrum(self, &sp, bias_mv, rule)
    }
}

/// Which first-order density-matrix approach: they differ only in the energy each principal-value
/// and Fermi factor is evaluated at (docs/formalism.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// First-order von Neumann: the factor of a term pairs the intermediate state with the *other*
    /// index of the source element (the energy of the first-order element φ_cb it comes from).
    OneVn,
    /// Redfield (Born–Markov): the factor carries the transition energy of its own operator.
    Redfield,
}

/// The density-matrix kernel of 1vN or Redfield at one bias: dρ/dt = L·ρ (meV, i.e. per ħ) over the
/// real parametrisation of ρ (populations, then Re and Im of each kept coherence).
#[derive(Debug, Clone)]
pub struct Liouvillian {
    /// Bias, mV.
    pub bias_mv: f64,
    /// Number of many-body states.
    pub n_states: usize,
    /// Eigen-energies, meV.
    pub energies_mev: Vec<f64>,
    /// The kept elements (j ≤ k): ρ_jj is one real unknown, ρ_jk (j < k) two (Re, Im).
    pub pairs: Vec<(usize, usize)>,
    /// Position of each pair's first real unknown.
    pub offsets: Vec<usize>,
    /// Position of each state's population.
    pub population: Vec<usize>,
    /// The generator, meV.
    pub generator: DMatrix<f64>,
    /// Particle flux into the dots per (lead, reported spin): row vectors, meV.
    pub flux_rows: [[DVector<f64>; 2]; 2],
}

/// The bias-independent structure of a density-matrix generator over one spectrum's basis: the
/// kept (populations and coherences) element pairs and their positions, the channel operators A
/// (dense, with up/down neighbour lists) and which Fermi/principal-value factors the generator
/// reads. Built once per spectrum; for a rigid spectrum ([`ManyBody::spectrum`]) once per
/// prepared device, so that each bias point only evaluates the factors and assembles.
#[derive(Debug, Clone)]
pub struct LiouvillianPlan {
    n: usize,
    m: usize,
    pairs: Vec<(usize, usize)>,
    offsets: Vec<usize>,
    pos: Vec<u32>,
    population: Vec<usize>,
    a: Vec<Vec<Complex64>>,
    up: Vec<Vec<Vec<usize>>>,
    down: Vec<Vec<Vec<usize>>>,
    needed: Vec<bool>,
}

impl LiouvillianPlan {
    /// The structure for `sp` (its amplitudes and electron numbers; energies are not read).
    pub fn new(mb: &ManyBody, sp: &Spectrum) -> Result<LiouvillianPlan> {
        let n = sp.len();
        if n > MAX_DENSITY_MATRIX_STATES {
            return Err(Error::invalid(
                "density-matrix approach",
                format!("{n} many-body states; 1vN and Redfield accept up to {MAX_DENSITY_MATRIX_STATES} (4 spinful orbitals)"),
            ));
        }
        let nso = mb.model.n_spin_orbitals();
        // Coherences kept: equal N, and equal S_z when H conserves it and the leads are collinear.
        let key = |s: usize| {
            (
                sp.n_electrons[s],
                if mb.conserves_sz && mb.collinear {
                    two_sz(s, nso)
                } else {
                    0
                },
            )
        };
        let mut pairs = Vec::new();
        let mut offsets = Vec::new();
        let mut pos = vec![u32::MAX; n * n];
        let mut population = vec![0; n];
        let mut m = 0usize;
        for j in 0..n {
            for k in j..n {
                if key(j) == key(k) {
                    pairs.push((j, k));
                    offsets.push(m);
                    pos[j * n + k] = m as u32;
                    pos[k * n + j] = m as u32;
                    if j == k {
                        population[j] = m;
                        m += 1;
                    } else {
                        m += 2;
                    }
                }
            }
        }
        let couplings = mb.channel_couplings(sp);
        let nch = mb.channels.len();
        // Dense A per channel, up/down neighbour lists, factor tables x', y'.
        let mut a = vec![vec![C0; n * n]; nch];
        let mut up = vec![vec![Vec::new(); n]; nch];
        let mut down = vec![vec![Vec::new(); n]; nch];
        for (c, list) in couplings.iter().enumerate() {
            for &(hi, lo, v) in list {
                a[c][hi * n + lo] = v;
                up[c][lo].push(hi);
                down[c][hi].push(lo);
            }
        }
        // Factor pairs the generator reads: for every coupled (hi, lo), (hi, any state of lo's
        // coherence group) and (any state of hi's group, lo).
        let mut group_of = vec![usize::MAX; n];
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for s in 0..n {
            if group_of[s] == usize::MAX {
                let g = groups.len();
                let members: Vec<usize> = (s..n).filter(|&t| key(t) == key(s)).collect();
                for &t in &members {
                    group_of[t] = g;
                }
                groups.push(members);
            }
        }
        let mut needed = vec![false; n * n];
        for list in &couplings {
            for &(hi, lo, _) in list {
                for &t in &groups[group_of[lo]] {
                    needed[hi * n + t] = true;
                }
                for &t in &groups[group_of[hi]] {
                    needed[t * n + lo] = true;
                }
            }
        }
        Ok(LiouvillianPlan {
            n,
            m,
            pairs,
            offsets,
            pos,
            population,
            a,
            up,
            down,
            needed,
        })
    }
}

impl Liouvillian {
    /// The generator for a given spectrum (its amplitudes define the basis; tests rotate it).
    pub fn from_spectrum(
        mb: &ManyBody,
        sp: &Spectrum,
        bias_mv: f64,
        rule: Rule,
    ) -> Result<Liouvillian> {
        let plan = LiouvillianPlan::new(mb, sp)?;
        Liouvillian::from_plan(mb, sp, &plan, bias_mv, rule)
    }

    /// The generator at `bias_mv` for a spectrum whose structure `plan` was built from (same
    /// amplitudes and electron numbers; the energies are read from `sp`).
    pub fn from_plan(
        mb: &ManyBody,
        sp: &Spectrum,
        plan: &LiouvillianPlan,
        bias_mv: f64,
        rule: Rule,
    ) -> Result<Liouvillian> {
        let n = plan.n;
        if sp.len() != n {
            return Err(Error::invalid(
                "density-matrix approach",
                format!(
                    "internal: a plan for {n} states used with a spectrum of {}",
                    sp.len()
                ),
            ));
        }
        let m = plan.m;
        let (pos, needed) = (&plan.pos, &plan.needed);
        let (a, up, down) = (&plan.a, &plan.up, &plan.down);
        let e = &sp.energies_mev;
        let nch = mb.channels.len();
        // x'(E) = f/2 + iφ/2π, y'(E) = (1 − f)/2 + iφ/2π at E = E_hi − E_lo, per channel; channels
        // with the same (μ, T) share them.
        let mut xf = vec![vec![C0; n * n]; nch];
        let mut yf = vec![vec![C0; n * n]; nch];
        let mut done: Vec<(f64, f64, usize)> = Vec::new();
        for (c, ch) in mb.channels.iter().enumerate() {
            if ch.gamma_mev.iter().all(|&g| g == 0.0) {
                continue;
            }
            let mu = mb.channel_mu(ch, bias_mv);
            let kt = ch.kt_mev;
            if let Some(&(_, _, c0)) = done.iter().find(|d| d.0 == mu && d.1 == kt) {
                xf[c] = xf[c0].clone();
                yf[c] = yf[c0].clone();
                continue;
            }
            done.push((mu, kt, c));
            let w = std::f64::consts::TAU * kt;
            let log_d = (mb.band_mev / w).ln();
            for hi in 0..n {
                for lo in 0..n {
                    if !needed[hi * n + lo] {
                        continue;
                    }
                    let de = e[hi] - e[lo];
                    let f = fermi(de, mu, kt);
                    let phi = re_digamma_half((de - mu) / w) - log_d;
                    let im = phi / std::f64::consts::TAU;
                    xf[c][hi * n + lo] = Complex64::new(f / 2.0, im);
                    yf[c][hi * n + lo] = Complex64::new((1.0 - f) / 2.0, im);
                }
            }
        }
        let mut gen = DMatrix::<f64>::zeros(m, m);
        let zero_row = DVector::<f64>::zeros(m);
        let mut flux = [
            [zero_row.clone(), zero_row.clone()],
            [zero_row.clone(), zero_row],
        ];
        let ovn = rule == Rule::OneVn;
        let mut contrib: Vec<(usize, usize, Complex64, usize)> = Vec::new();
        let mut adjoint: Vec<(usize, usize, Complex64, usize)> = Vec::new();
        // D[E_jk] for an ordered pair: contributions (b, b', value, channel or usize::MAX).
        let apply = |j: usize, k: usize, out: &mut Vec<(usize, usize, Complex64, usize)>| {
            out.clear();
            out.push((j, k, Complex64::new(0.0, -(e[j] - e[k])), usize::MAX));
            for c in 0..nch {
                let (a, up, down, xf, yf) = (&a[c], &up[c], &down[c], &xf[c], &yf[c]);
                let e1 = if ovn { k } else { j };
                let e2 = if ovn { j } else { k };
                // Left multiplication: target (b, k).
                for &hi in &up[j] {
                    let f = a[hi * n + j] * xf[hi * n + e1];
                    for &b in &down[hi] {
                        out.push((b, k, -a[hi * n + b].conj() * f, c));
                    }
                }
                for &lo in &down[j] {
                    let f = a[j * n + lo].conj() * yf[e1 * n + lo];
                    for &b in &up[lo] {
                        out.push((b, k, -a[b * n + lo] * f, c));
                    }
                }
                // Right multiplication: target (j, b').
                for &hi in &up[k] {
                    let f = a[hi * n + k].conj() * xf[hi * n + e2].conj();
                    for &bp in &down[hi] {
                        out.push((j, bp, -a[hi * n + bp] * f, c));
                    }
                }
                for &lo in &down[k] {
                    let f = a[k * n + lo] * yf[e2 * n + lo].conj();
                    for &bp in &up[lo] {
                        out.push((j, bp, -a[bp * n + lo].conj() * f, c));
                    }
                }
                // Sandwich into N + 1: target (c1, c2).
                for &c1 in &up[j] {
                    for &c2 in &up[k] {
                        let v = a[c1 * n + j]
                            * a[c2 * n + k].conj()
                            * (xf[c1 * n + e1] + xf[c2 * n + e2].conj());
                        out.push((c1, c2, v, c));
                    }
                }
                // Sandwich into N − 1: target (a1, a2).
                for &a1 in &down[j] {
                    for &a2 in &down[k] {
                        let v = a[j * n + a1].conj()
                            * a[k * n + a2]
                            * (yf[e1 * n + a1] + yf[e2 * n + a2].conj());
                        out.push((a1, a2, v, c));
                    }
                }
            }
        };
        let charges = &sp.n_electrons;
        let report: Vec<(usize, usize)> = mb
            .channels
            .iter()
            .map(|ch| (ch.lead, ch.report_spin))
            .collect();
        let add = |col: usize,
                   coef: Complex64,
                   out: &[(usize, usize, Complex64, usize)],
                   gen: &mut DMatrix<f64>,
                   flux: &mut [[DVector<f64>; 2]; 2]| {
            for &(b, bp, v, c) in out {
                if b > bp {
                    continue;
                }
                let p = pos[b * n + bp];
                if p == u32::MAX {
                    continue;
                }
                let w = coef * v;
                let p = p as usize;
                if b == bp {
                    gen[(p, col)] += w.re;
                    if c != usize::MAX {
                        let (r, s) = report[c];
                        flux[r][s][col] += w.re * f64::from(charges[b]);
                    }
                } else {
                    gen[(p, col)] += w.re;
                    gen[(p + 1, col)] += w.im;
                }
            }
        };
        let one = Complex64::new(1.0, 0.0);
        let i = Complex64::i();
        for (idx, &(j, k)) in plan.pairs.iter().enumerate() {
            let col = plan.offsets[idx];
            apply(j, k, &mut contrib);
            if j == k {
                add(col, one, &contrib, &mut gen, &mut flux);
            } else {
                // ρ = x (E_jk + E_kj) + y i(E_jk − E_kj).
                // D[E_kj] = D[E_jk]† (the generator preserves Hermiticity).
                add(col, one, &contrib, &mut gen, &mut flux);
                add(col + 1, i, &contrib, &mut gen, &mut flux);
                adjoint.clear();
                adjoint.extend(contrib.iter().map(|&(b, bp, v, c)| (bp, b, v.conj(), c)));
                add(col, one, &adjoint, &mut gen, &mut flux);
                add(col + 1, -i, &adjoint, &mut gen, &mut flux);
            }
        }
        Ok(Liouvillian {
            bias_mv,
            n_states: n,
            energies_mev: sp.energies_mev.clone(),
            pairs: plan.pairs.clone(),
            offsets: plan.offsets.clone(),
            population: plan.population.clone(),
            generator: gen,
            flux_rows: flux,
        })
    }

    /// Number of real unknowns.
    pub fn dim(&self) -> usize {
        self.generator.nrows()
    }

    /// The steady state: L·ρ = 0 with Tr ρ = 1 (one population row replaced by the trace).
    pub fn steady(&self) -> Result<Vec<f64>> {
        let m = self.dim();
        let mut a = self.generator.clone();
        let mut rhs = DVector::<f64>::zeros(m);
        let row = self.population[0];
        for c in 0..m {
            a[(row, c)] = 0.0;
        }
        for &p in &self.population {
            a[(row, p)] = 1.0;
        }
        rhs[row] = 1.0;
        let x = a.lu().solve(&rhs).ok_or_else(|| Error::Numerical {
            context: "density-matrix steady state".into(),
            message: format!(
                "singular generator at {} mV (disconnected states?)",
                self.bias_mv
            ),
        })?;
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::Numerical {
                context: "density-matrix steady state".into(),
                message: format!("non-finite solution at {} mV", self.bias_mv),
            });
        }
        Ok(x.iter().copied().collect())
    }

    /// Evolve the density-matrix vector `x` for `dwell_s` seconds (matrix exponential).
    pub fn evolve(&self, x: &[f64], dwell_s: f64) -> Result<Vec<f64>> {
        if !(dwell_s.is_finite() && dwell_s >= 0.0) {
            return Err(Error::invalid(
                "transient solver",
                format!("dwell time {dwell_s} s; allowed >= 0"),
            ));
        }
        if x.len() != self.dim() {
            return Err(Error::invalid(
                "transient solver",
                "density-matrix vector of wrong length",
            ));
        }
        let prop = (&self.generator * (dwell_s / HBAR_MEV_S)).exp();
        let y = prop * DVector::from_column_slice(x);
        let tr: f64 = self.population.iter().map(|&p| y[p]).sum();
        if !(tr.is_finite() && tr > 0.0) {
            return Err(Error::Numerical {
                context: "density-matrix evolution".into(),
                message: format!("the propagator lost the trace ({tr})"),
            });
        }
        Ok(y.iter().map(|v| v / tr).collect())
    }

    /// The complex element ρ_jk of a density-matrix vector (0 when not kept).
    pub fn element(&self, x: &[f64], j: usize, k: usize) -> Complex64 {
        let (lo, hi) = (j.min(k), j.max(k));
        match self.pairs.binary_search(&(lo, hi)) {
            Ok(idx) => {
                let o = self.offsets[idx];
                if lo == hi {
                    Complex64::new(x[o], 0.0)
                } else if j < k {
                    Complex64::new(x[o], x[o + 1])
                } else {
                    Complex64::new(x[o], -x[o + 1])
                }
            }
            Err(_) => C0,
        }
    }

    /// Particle flux into the dots, `[lead][spin]` (meV, electrons per ħ).
    pub fn particle_flux(&self, x: &[f64]) -> [[f64; 2]; 2] {
        let xv = DVector::from_column_slice(x);
        let mut j = [[0.0; 2]; 2];
        for (r, row) in self.flux_rows.iter().enumerate() {
            for (s, v) in row.iter().enumerate() {
                j[r][s] = v.dot(&xv);
            }
        }
        j
    }

    /// Observables of a density-matrix vector: currents (nA, the master equations' signs) and the
    /// populations of the eigenstates as probabilities.
    pub fn result(&self, x: &[f64]) -> PointResult {
        PointResult::from_flux(
            self.bias_mv,
            self.particle_flux(x),
            self.population.iter().map(|&p| x[p]).collect(),
        )
    }

    /// The smallest eigenvalue of ρ (negative values flag a breakdown of positivity, which
    /// Redfield does not guarantee).
    pub fn min_eigenvalue(&self, x: &[f64]) -> f64 {
        let n = self.n_states;
        let mut rho = DMatrix::<Complex64>::zeros(n, n);
        for j in 0..n {
            for k in 0..n {
                rho[(j, k)] = self.element(x, j, k);
            }
        }
        rho.symmetric_eigen()
            .eigenvalues
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_digamma_matches_the_reference() {
        use crate::master::model::re_digamma_complex;
        let mut y = -400.0;
        while y < 400.0 {
            let a = re_digamma_half(y);
            let b = re_digamma_complex(0.5, y);
            assert!(
                (a - b).abs() < 1e-12 * (1.0 + b.abs()),
                "y = {y}: {a} vs {b}"
            );
            y += 0.137;
        }
        // Re ψ(½) = −γ − 2 ln 2.
        let want = -0.577_215_664_901_532_9 - 2.0 * std::f64::consts::LN_2;
        let got = re_digamma_half(0.0);
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
}
