//! The interacting-dot model: orbitals, dots, leads, Fock states and constant-interaction energies.
//!
//! Many-body states are occupation bitmasks over spin-orbitals: spin-orbital `k = 2·i + s` belongs to
//! orbital `i`, with `s = 0` for spin up (σ = +1, along +z) and `s = 1` for spin down (σ = −1).
//! Spins are collinear (quantisation axis z), so the Pauli master equation needs no coherences.

use crate::error::{Error, Result};

/// ħ in meV·s: a coupling Γ (meV) is the rate Γ/ħ (1/s).
pub const HBAR_MEV_S: f64 = 6.582_119_569e-13;

/// e/ħ × 1 meV in nA (= 2π × e/h × 1 meV = 2π × 38.7405 nA = 243.41 nA): the current carried by a
/// rate R given in meV (R/ħ electrons per second).
pub const E_OVER_HBAR_NA_PER_MEV: f64 = std::f64::consts::TAU * crate::units::E_OVER_H_NA_PER_MEV;

/// Elementary charge in C.
pub const ELEMENTARY_CHARGE_C: f64 = 1.602_176_634e-19;

/// Largest number of spinful orbitals accepted (2^(2·8) = 65 536 many-body states).
pub const MAX_ORBITALS: usize = 8;

/// Magnetic configuration of the junction. In `P` both leads are magnetised along +z; in `AP` the
/// right lead is reversed (−z).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Magnet {
    /// Parallel.
    P,
    /// Antiparallel (right lead along −z).
    AP,
}

impl Magnet {
    /// `"P"` or `"AP"`.
    pub fn label(self) -> &'static str {
        match self {
            Magnet::P => "P",
            Magnet::AP => "AP",
        }
    }
}

/// Lead-induced exchange field on the dot levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExchangeField {
    /// No induced field (only the user-set `zeeman` / `exchange_P|AP` splittings).
    #[default]
    None,
    /// König–Martinek field of each lead (single-level formula, see [`konig_martinek_field`]).
    KonigMartinek,
}

/// Re ψ(x + iy) for x > 0: recurrence up to Re ≥ 10, then the asymptotic series (error < 1e-13).
pub fn re_digamma_complex(x: f64, y: f64) -> f64 {
    use num_complex::Complex64;
    let mut z = Complex64::new(x, y);
    let mut acc = Complex64::new(0.0, 0.0);
    while z.re < 10.0 {
        acc -= z.inv();
        z += 1.0;
    }
    let w2 = (z * z).inv();
    // ψ(z) ≈ ln z − 1/(2z) − Σ B_2k/(2k z^{2k})
    let series = w2
        * (1.0 / 12.0
            - w2 * (1.0 / 120.0 - w2 * (1.0 / 252.0 - w2 * (1.0 / 240.0 - w2 * (1.0 / 132.0)))));
    (acc + z.ln() - 0.5 * z.inv() - series).re
}

/// König–Martinek exchange field (meV) of one lead on a level ε with charging energy U, along the
/// lead's magnetisation (Braun, König & Martinek, PRB 70, 195345 (2004)):
///   B = (p·Γ/π)·[Re ψ(½ + i(ε + U − μ)/(2πk_BT)) − Re ψ(½ + i(ε − μ)/(2πk_BT))].
/// B > 0 lowers the spin parallel to the lead magnetisation (second-order level renormalisation:
/// E_↑ − E_↓ = −B). A zero temperature is evaluated at 1 mK.
pub fn konig_martinek_field(
    p: f64,
    gamma_mev: f64,
    eps_mev: f64,
    u_mev: f64,
    mu_mev: f64,
    kt_mev: f64,
) -> f64 {
    if p == 0.0 || gamma_mev == 0.0 {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * kt_mev.max(crate::units::kt_mev(1e-3));
    p * gamma_mev / std::f64::consts::PI
        * (re_digamma_complex(0.5, (eps_mev + u_mev - mu_mev) / w)
            - re_digamma_complex(0.5, (eps_mev - mu_mev) / w))
}

/// Which electrode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadSide {
    /// Left electrode, μ_L = +V/2.
    Left = 0,
    /// Right electrode, μ_R = −V/2.
    Right = 1,
}

/// One spinful orbital.
#[derive(Debug, Clone, PartialEq)]
pub struct Orbital {
    /// Index of the dot it belongs to.
    pub dot: usize,
    /// Bare level ε_i at zero bias, meV.
    pub energy_mev: f64,
    /// Lever arm α_i (dimensionless, [−½, ½]): ε_i(V) = ε_i + α_i·V (V in mV). α = +½ follows μ_L,
    /// α = −½ follows μ_R, α = 0 stays at the mid-point potential.
    pub lever_arm: f64,
    /// Zeeman splitting, meV: E_σ = ε − σ·(zeeman + exchange + induced field)/2 (positive values
    /// lower spin up).
    pub zeeman_mev: f64,
    /// Extra spin splitting in the P configuration, meV (the simple spin-accumulation/exchange model).
    pub exchange_p_mev: f64,
    /// Extra spin splitting in the AP configuration, meV.
    pub exchange_ap_mev: f64,
}

/// One dot: a set of orbitals sharing a charging energy.
#[derive(Debug, Clone, PartialEq)]
pub struct Dot {
    /// Name used in the configuration (e.g. `transport`, `gate`).
    pub name: String,
    /// Intra-dot charging energy U_d (meV): E gains U_d·N_d(N_d − 1)/2.
    pub charging_mev: f64,
}

/// One electrode.
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    /// Coupling Γ_{r,i} (meV) to each orbital; 0 where the lead does not touch the orbital's dot.
    pub gamma_mev: Vec<f64>,
    /// Spin polarisation p ∈ [−1, 1]: Γ_σ = Γ·(1 + σ·m·p) with m = ±1 the lead's magnetisation.
    pub polarization: f64,
    /// Spin accumulation Δμ (meV): μ_σ = μ + σ·m·Δμ/2.
    pub spin_accumulation_mev: f64,
    /// Temperature, K.
    pub temperature_k: f64,
}

/// A spinterface between a ferromagnetic electrode and the dots: one spin-split level
/// (paper 1: "10 meV-wide bands centred on E_F at V = 0, spin-split by SP") broadened by its
/// coupling to the electrode, integrated out exactly (it is non-interacting). The dots then see an
/// energy-dependent, spin-dependent coupling (per channel α = ±1 along the lead magnetisation):
///
///   Γ_{r,i,α}(E) = Γ_{r,i} · (W·W_α/4) / ((E − c_α(V))² + (W_α/2)²),   W_α = W·(1 + α p_r),
///   c_α(V) = E0 + α·SP/2 + a·V,
///
/// i.e. t_i² W_α/((E − c_α)² + W_α²/4) with Γ_{r,i} = 4t_i²/W: the coherent chain's SP site (lead
/// self-energy −(i/2)W(1 + αp)) seen from its neighbour. Held by [`crate::device::Device`]
/// (`spinterfaces`, one per lead); the many-body approaches apply it. The lead's `polarization` is then the
/// polarisation p of the electrode–spinterface coupling (it no longer multiplies Γ_{r,i} directly).
/// The majority level sits at E0 + SP/2 (the coherent preset's convention).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spinterface {
    /// Centre E0 of the level at V = 0, meV.
    pub energy_mev: f64,
    /// Spin splitting SP (majority at +SP/2 along the lead magnetisation), meV.
    pub splitting_mev: f64,
    /// Width W of the level (its coupling to the electrode), meV; > 0.
    pub width_mev: f64,
    /// Lever arm a: the level moves by a·V (meV per mV).
    pub lever_arm: f64,
}

impl Spinterface {
    /// Centre c_α (meV) and width W_α (meV) of channel α (±1 along the lead magnetisation) at
    /// `bias_mv` for a lead of polarisation `p`.
    pub fn level(&self, alpha: f64, p: f64, bias_mv: f64) -> (f64, f64) {
        (
            self.energy_mev + alpha * self.splitting_mev / 2.0 + self.lever_arm * bias_mv,
            self.width_mev * (1.0 + alpha * p),
        )
    }

    /// The dimensionless DOS factor λ_α(E) = (W·W_α/4)/((E − c_α)² + (W_α/2)²): Γ_{r,i,α}(E) =
    /// Γ_{r,i}·λ_α(E). λ = W/W_α at the level's centre, → 0 far from it.
    pub fn dos_factor(&self, alpha: f64, p: f64, bias_mv: f64, e_mev: f64) -> f64 {
        let (c, w) = self.level(alpha, p, bias_mv);
        if w <= 0.0 {
            return 0.0;
        }
        let x = e_mev - c;
        self.width_mev * w / 4.0 / (x * x + w * w / 4.0)
    }

    /// Check the parameters (finite, W > 0); `side` names the lead in the message.
    pub fn validate(&self, side: &str) -> Result<()> {
        check(
            self.energy_mev.is_finite()
                && self.splitting_mev.is_finite()
                && self.lever_arm.is_finite(),
            "lead",
            format!("{side} lead: spinterface energy, splitting and lever arm must be finite"),
        )?;
        check(
            self.width_mev.is_finite() && self.width_mev > 0.0,
            "lead",
            format!(
                "{side} lead: spinterface width_meV = {}; allowed > 0 meV",
                self.width_mev
            ),
        )
    }
}

/// Exchange field (meV, along the lead magnetisation; B > 0 lowers the majority spin, the
/// [`konig_martinek_field`] convention) on a level ε with charging energy U from one lead *with a
/// spinterface*: the second-order level renormalisation
///
///   E_↑ − E_↓ = −B,  B = (1/2π) Σ_α α · P∫ dω Γ_α(ω) [(1 − f_α(ω))/(ω − ε) + f_α(ω)/(ω − ε − U)]
///
/// with the spinterface's Lorentzian Γ_α(ω) = Γ·λ_α(ω) and the channel's own chemical potential
/// μ_α = μ + αΔμ/2 (spin accumulation). In closed form (Γ_α = 2t² Im 1/(ω − z_α),
/// z_α = c_α + iW_α/2, 2t² = Γ·W/2, ∫ f_α(ω)/(ω − w) dω = C + iπ/2 + ψ(½ + (w − μ_α)/(2πi k_BT))
/// for Im w > 0 with a real, band-dependent C that cancels):
///
///   P∫ Γ_α/(ω − y) = 2t² π Re 1/(z_α − y)
///   P∫ Γ_α f_α/(ω − y) = 2t² { Im[ψ_z/(z_α − y)] − Im[1/(z_α − y)]·Re ψ_y + (π/2) Re[1/(z_α − y)] },
///
/// ψ_z = ψ(½ + (z_α − μ_α)/(2πi k_BT)), Re ψ_y = Re ψ(½ + i(y − μ_α)/(2πk_BT)).
///
/// It depends on the bias through μ_α, c_α(V) and ε(V), and on the spin accumulation. Unlike the
/// wide-band formula it does not vanish for U = 0 (the spin-split spinterface shifts the two spins
/// of the level differently). Tested against direct quadrature and the wide-band limit.
#[allow(clippy::too_many_arguments)]
pub fn spinterface_field(
    si: &Spinterface,
    p: f64,
    gamma_mev: f64,
    eps_mev: f64,
    u_mev: f64,
    mu_mev: f64,
    spin_accumulation_mev: f64,
    kt_mev: f64,
    bias_mv: f64,
) -> f64 {
    use num_complex::Complex64;
    use std::f64::consts::PI;
    if gamma_mev == 0.0 {
        return 0.0;
    }
    let w = 2.0 * PI * kt_mev.max(crate::units::kt_mev(1e-3));
    let two_t2 = gamma_mev * si.width_mev / 2.0;
    let mut b = 0.0;
    for alpha in [1.0, -1.0] {
        let (c, wa) = si.level(alpha, p, bias_mv);
        if wa <= 0.0 {
            continue;
        }
        let mu = mu_mev + alpha * spin_accumulation_mev / 2.0;
        let z = Complex64::new(c, wa / 2.0);
        // F(z) for Im z > 0: ψ(½ + (z − μ)/(2πi k_BT)).
        let fz = crate::engine::cotunneling::digamma_complex(
            Complex64::new(0.5, 0.0) + (z - mu) / Complex64::new(0.0, w),
        );
        let pv_f = |y: f64| {
            let inv = (z - y).inv();
            (fz * inv).im - inv.im * re_digamma_complex(0.5, (y - mu) / w) + PI / 2.0 * inv.re
        };
        let pv_1 = |y: f64| PI * (z - y).inv().re;
        let i_alpha = pv_1(eps_mev) - pv_f(eps_mev) + pv_f(eps_mev + u_mev);
        b += alpha * two_t2 * i_alpha;
    }
    b / (2.0 * PI)
}

/// A validated model of capacitively coupled dots between two leads.
#[derive(Debug, Clone, PartialEq)]
pub struct DotModel {
    /// Dots.
    pub dots: Vec<Dot>,
    /// Spinful orbitals (each belongs to one dot).
    pub orbitals: Vec<Orbital>,
    /// Inter-dot coupling U_dd' (meV per electron pair), symmetric, zero diagonal.
    pub inter_dot_mev: Vec<Vec<f64>>,
    /// Left and right leads.
    pub leads: [Lead; 2],
    /// Lead-induced exchange field added to the spin splitting of every orbital.
    pub exchange_field: ExchangeField,
}

fn check(ok: bool, what: &str, message: String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(what, message))
    }
}

impl DotModel {
    /// Check the invariants (sizes, ranges, finiteness). Builders call this; it never panics.
    pub fn validate(&self) -> Result<()> {
        let nd = self.dots.len();
        let no = self.orbitals.len();
        check(nd >= 1, "dot model", "at least one dot is needed".into())?;
        check(
            (1..=MAX_ORBITALS).contains(&no),
            "dot model",
            format!("{no} orbitals; allowed 1..={MAX_ORBITALS} spinful orbitals"),
        )?;
        for (i, o) in self.orbitals.iter().enumerate() {
            check(
                o.dot < nd,
                "orbital",
                format!("orbital {i} refers to dot {} of {nd}", o.dot),
            )?;
            for (name, v) in [
                ("energy_meV", o.energy_mev),
                ("zeeman_meV", o.zeeman_mev),
                ("exchange_P_meV", o.exchange_p_mev),
                ("exchange_AP_meV", o.exchange_ap_mev),
            ] {
                check(
                    v.is_finite(),
                    "orbital",
                    format!("orbital {i}: {name} = {v} is not finite"),
                )?;
            }
            check(
                (-0.5..=0.5).contains(&o.lever_arm),
                "orbital",
                format!(
                    "orbital {i}: lever_arm = {}; allowed [-0.5, 0.5]",
                    o.lever_arm
                ),
            )?;
        }
        for d in &self.dots {
            check(
                d.charging_mev.is_finite() && d.charging_mev >= 0.0,
                "dot",
                format!(
                    "dot `{}`: charging_meV = {}; allowed >= 0",
                    d.name, d.charging_mev
                ),
            )?;
        }
        check(
            self.inter_dot_mev.len() == nd && self.inter_dot_mev.iter().all(|r| r.len() == nd),
            "dot model",
            "inter-dot coupling matrix must be n_dots × n_dots".into(),
        )?;
        for a in 0..nd {
            for b in 0..nd {
                let v = self.inter_dot_mev[a][b];
                check(
                    v.is_finite() && v >= 0.0 && v == self.inter_dot_mev[b][a] && (a != b || v == 0.0),
                    "dot model",
                    format!("inter-dot coupling [{a}][{b}] = {v}; must be finite, >= 0, symmetric, zero on the diagonal"),
                )?;
            }
        }
        for (side, l) in ["left", "right"].iter().zip(&self.leads) {
            check(
                l.gamma_mev.len() == no,
                "lead",
                format!("{side} lead: one Γ per orbital needed"),
            )?;
            check(
                l.gamma_mev.iter().all(|g| g.is_finite() && *g >= 0.0),
                "lead",
                format!("{side} lead: Γ must be finite and >= 0 meV"),
            )?;
            check(
                (-1.0..=1.0).contains(&l.polarization),
                "lead",
                format!(
                    "{side} lead: polarization = {}; allowed [-1, 1]",
                    l.polarization
                ),
            )?;
            check(
                l.spin_accumulation_mev.is_finite(),
                "lead",
                format!("{side} lead: spin_accumulation_meV must be finite"),
            )?;
            check(
                l.temperature_k.is_finite() && l.temperature_k >= 0.0,
                "lead",
                format!(
                    "{side} lead: temperature_K = {}; allowed >= 0",
                    l.temperature_k
                ),
            )?;
        }
        Ok(())
    }

    /// Number of spin-orbitals (2 × orbitals).
    pub fn n_spin_orbitals(&self) -> usize {
        2 * self.orbitals.len()
    }

    /// Number of many-body states, 4^(orbitals).
    pub fn n_states(&self) -> usize {
        1usize << self.n_spin_orbitals()
    }

    /// Index of a dot by name.
    pub fn dot_index(&self, name: &str) -> Option<usize> {
        self.dots.iter().position(|d| d.name == name)
    }

    /// Single-particle energy (meV) of spin-orbital `k` at bias `bias_mv` in configuration `magnet`.
    pub fn spin_orbital_energy(&self, k: usize, bias_mv: f64, magnet: Magnet) -> f64 {
        let o = &self.orbitals[k / 2];
        let sigma = if k.is_multiple_of(2) { 1.0 } else { -1.0 };
        let exch = match magnet {
            Magnet::P => o.exchange_p_mev,
            Magnet::AP => o.exchange_ap_mev,
        };
        o.energy_mev + o.lever_arm * bias_mv
            - sigma * 0.5 * (o.zeeman_mev + exch + self.induced_field(k / 2, bias_mv, magnet))
    }

    /// Induced exchange field (meV, along +z) on orbital `i`: Σ_r m_r·B_r with the König–Martinek B_r
    /// evaluated for the bare level ε_i(V), the dot's charging energy and μ_L = V/2, μ_R = −V/2.
    /// Zero unless [`ExchangeField::KonigMartinek`] is selected.
    pub fn induced_field(&self, i: usize, bias_mv: f64, magnet: Magnet) -> f64 {
        if self.exchange_field == ExchangeField::None {
            return 0.0;
        }
        let o = &self.orbitals[i];
        let eps = o.energy_mev + o.lever_arm * bias_mv;
        let u = self.dots[o.dot].charging_mev;
        let mut b = 0.0;
        for (r, side) in [LeadSide::Left, LeadSide::Right].into_iter().enumerate() {
            let lead = &self.leads[r];
            let mu = if r == 0 {
                bias_mv / 2.0
            } else {
                -bias_mv / 2.0
            };
            b += Self::magnetisation_sign(side, magnet)
                * konig_martinek_field(
                    lead.polarization,
                    lead.gamma_mev[i],
                    eps,
                    u,
                    mu,
                    crate::units::kt_mev(lead.temperature_k),
                );
        }
        b
    }

    /// Number of electrons on each dot in `state`.
    pub fn dot_charges(&self, state: usize) -> Vec<u32> {
        let mut n = vec![0u32; self.dots.len()];
        for k in 0..self.n_spin_orbitals() {
            if state >> k & 1 == 1 {
                n[self.orbitals[k / 2].dot] += 1;
            }
        }
        n
    }

    /// Constant-interaction energy (meV) of a many-body state:
    /// E = Σ_k ε_k(V) n_k + Σ_d U_d N_d(N_d − 1)/2 + Σ_{d<d'} U_dd' N_d N_d'.
    pub fn state_energy(&self, state: usize, bias_mv: f64, magnet: Magnet) -> f64 {
        let mut e = 0.0;
        for k in 0..self.n_spin_orbitals() {
            if state >> k & 1 == 1 {
                e += self.spin_orbital_energy(k, bias_mv, magnet);
            }
        }
        let n = self.dot_charges(state);
        for (d, dot) in self.dots.iter().enumerate() {
            let nd = n[d] as f64;
            e += dot.charging_mev * nd * (nd - 1.0) / 2.0;
            for (d2, &n2) in n.iter().enumerate().skip(d + 1) {
                e += self.inter_dot_mev[d][d2] * nd * n2 as f64;
            }
        }
        e
    }

    /// Lead magnetisation sign m = ±1 in configuration `magnet`.
    pub fn magnetisation_sign(side: LeadSide, magnet: Magnet) -> f64 {
        match (side, magnet) {
            (LeadSide::Right, Magnet::AP) => -1.0,
            _ => 1.0,
        }
    }

    /// A human label of a state, e.g. `transport:↑0↓0|gate:00` → here `T[ud,..]`: for each dot the
    /// occupied spin-orbitals as `u`/`d` per orbital (`-` empty, `2` doubly occupied).
    pub fn state_label(&self, state: usize) -> String {
        let mut parts = Vec::new();
        for (d, dot) in self.dots.iter().enumerate() {
            let mut s = String::new();
            for (i, o) in self.orbitals.iter().enumerate() {
                if o.dot != d {
                    continue;
                }
                let up = state >> (2 * i) & 1 == 1;
                let dn = state >> (2 * i + 1) & 1 == 1;
                s.push(match (up, dn) {
                    (false, false) => '0',
                    (true, false) => 'u',
                    (false, true) => 'd',
                    (true, true) => '2',
                });
            }
            parts.push(format!("{}:{}", dot.name, s));
        }
        parts.join("|")
    }
}

#[cfg(test)]
mod spinterface_tests {
    use super::*;
    use crate::quad::{integrate, Tolerance};
    use crate::units::fermi;

    /// B by direct quadrature of its definition: (1/2π) Σ_α α P∫ Γ_α(ω)[(1 − f_α)/(ω − ε) +
    /// f_α/(ω − ε − U)] dω, the principal value by subtracting the integrand's value at the pole.
    #[allow(clippy::too_many_arguments)]
    fn field_by_quadrature(
        si: &Spinterface,
        p: f64,
        gamma: f64,
        eps: f64,
        u: f64,
        mu: f64,
        dmu: f64,
        kt: f64,
        v: f64,
    ) -> f64 {
        let mut b = 0.0;
        for alpha in [1.0, -1.0] {
            let m = mu + alpha * dmu / 2.0;
            let g = |w: f64| gamma * si.dos_factor(alpha, p, v, w);
            for (y, occupied) in [(eps, false), (eps + u, true)] {
                // h(ω) = Γ(ω)·n(ω) with n = 1 − f (empty intermediate) or f.
                let h = |w: f64| {
                    let f = fermi(w, m, kt);
                    g(w) * if occupied { f } else { 1.0 - f }
                };
                let hy = h(y);
                let l = 2.0e5;
                let (c, _) = si.level(alpha, p, v);
                let mut bp = vec![
                    y - l,
                    y - 1e3,
                    y,
                    y + 1e3,
                    y + l,
                    c,
                    m - 30.0 * kt,
                    m + 30.0 * kt,
                ];
                bp.retain(|x| (y - l..=y + l).contains(x));
                bp.sort_by(f64::total_cmp);
                bp.dedup();
                let r = integrate(
                    |w, out: &mut [f64]| out[0] = (h(w) - hy) / (w - y),
                    1,
                    1,
                    &bp,
                    Tolerance {
                        rel: 1e-11,
                        abs: 1e-13,
                        max_intervals: 200_000,
                    },
                );
                // The symmetric window carries no principal-value part of hy/(ω − y).
                b += alpha * r.value[0];
            }
        }
        b / (2.0 * std::f64::consts::PI)
    }

    #[test]
    fn spinterface_field_matches_quadrature() {
        let si = Spinterface {
            energy_mev: 0.3,
            splitting_mev: 2.0,
            width_mev: 10.0,
            lever_arm: 0.3,
        };
        for &(eps, u, mu, dmu, kt, v, p) in &[
            (-2.5, 100.0, 0.0, 8.4, 25.4, 0.0, 0.35),
            (1.0, 5.0, 1.5, -2.52, 25.4, 3.0, -0.35),
            (-0.7, 0.0, -2.0, 0.0, 2.0, -4.0, 0.6),
            (4.0, 20.0, 0.5, 3.0, 0.5, 1.0, 0.2),
        ] {
            let a = spinterface_field(&si, p, 0.4, eps, u, mu, dmu, kt, v);
            let b = field_by_quadrature(&si, p, 0.4, eps, u, mu, dmu, kt, v);
            assert!(
                (a - b).abs() < 2e-5 * b.abs().max(1e-3),
                "eps {eps} U {u}: closed form {a}, quadrature {b}"
            );
        }
    }

    #[test]
    fn spinterface_field_tends_to_the_wide_band_formula() {
        // W → ∞ at fixed Γ: Γ_α → Γ/(1 + αp), i.e. a wide-band lead with Γ' = Γ/(1 − p²) and
        // p' = −p; without spin accumulation the König–Martinek field follows.
        let (p, gamma, eps, u, mu, kt) = (0.35, 0.4, -2.5, 30.0, 0.7, 25.4);
        let w = 1.0e7;
        let si = Spinterface {
            energy_mev: 0.0,
            splitting_mev: 2.0,
            width_mev: w,
            lever_arm: 0.0,
        };
        let a = spinterface_field(&si, p, gamma, eps, u, mu, 0.0, kt, 0.0);
        let b = konig_martinek_field(-p, gamma / (1.0 - p * p), eps, u, mu, kt);
        assert!((a - b).abs() < 1e-4 * b.abs(), "{a} vs {b}");
        // And for U = 0 the wide-band field vanishes while the spinterface one does not.
        let si10 = Spinterface {
            width_mev: 10.0,
            ..si
        };
        assert!(spinterface_field(&si10, p, gamma, eps, 0.0, mu, 0.0, kt, 0.0).abs() > 1e-3);
        assert_eq!(konig_martinek_field(p, gamma, eps, 0.0, mu, kt), 0.0);
    }

    #[test]
    fn spinterface_without_splitting_or_polarisation_gives_no_field() {
        let si = Spinterface {
            energy_mev: 0.5,
            splitting_mev: 0.0,
            width_mev: 10.0,
            lever_arm: 0.2,
        };
        let b = spinterface_field(&si, 0.0, 0.4, -2.0, 50.0, 0.3, 0.0, 25.0, 1.0);
        assert!(b.abs() < 1e-15, "{b}");
        // Global spin flip (p, SP, Δμ → −) reverses the field.
        let si2 = Spinterface {
            splitting_mev: 2.0,
            ..si
        };
        let flipped = Spinterface {
            splitting_mev: -2.0,
            ..si
        };
        let a = spinterface_field(&si2, 0.35, 0.4, -2.0, 50.0, 0.3, 8.4, 25.0, 1.0);
        let c = spinterface_field(&flipped, -0.35, 0.4, -2.0, 50.0, 0.3, -8.4, 25.0, 1.0);
        assert!(
            a.abs() > 1e-4 && (a + c).abs() < 1e-12 * a.abs().max(1.0),
            "{a} {c}"
        );
    }
}
