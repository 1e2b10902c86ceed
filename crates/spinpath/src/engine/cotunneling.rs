//! Sequential plus cotunnelling (second order in Γ) rates between many-body states in one classical
//! master equation.
//!
//! Rates are written against [`Spectrum`] (energies and creation amplitudes ⟨a|d†_{iσ}|b⟩), not
//! against Fock bitmasks, so they apply to any many-body eigenbasis. Conventions (see
//! docs/formalism.md, "Cotunnelling"):
//!
//! * lead r ∈ {L = 0, R = 1}, spin σ along z (0 = ↑, 1 = ↓); Γ_{r,i,σ} = Γ_{r,i}(1 + σ m_r p_r),
//!   μ_{r,σ} = μ_r + σ m_r Δμ_r/2 with μ_L = +V/2, μ_R = −V/2 (meV); the couplings of one lead to
//!   several orbitals add coherently: t_{r,i,σ} ∝ √Γ_{r,i,σ} (real, positive).
//! * Sequential: W(a → b) = |Σ_i √Γ_{riσ} ⟨b|d†_{iσ}|a⟩|² f((E_b − E_a − μ_{rσ})/k_BT) for adding
//!   an electron from lead r, and the same weight times 1 − f for the reverse. On Fock states this
//!   is exactly [`crate::master::RateSet::build`] (tested).
//! * Cotunnelling a → b (N_a = N_b): an electron of energy ω enters from (r, σ) and one of energy
//!   ω − (E_b − E_a) leaves to (r', σ'):
//!   W = (1/2π) ∫dω |A(ω)|² f_r(ω)[1 − f_{r'}(ω − E_b + E_a)], with
//!   A(ω) = Σ_c α_c/(ω − x_c + iη_c) + Σ_c' β_c'/(ω − y_c' − iη_c'),
//!   α_c = u_{rσ}(a→c)·ū_{r'σ'}(b→c), x_c = E_c − E_a (electron first, N_c = N_a + 1),
//!   β_c' = u_{rσ}(c'→b)·ū_{r'σ'}(c'→a), y_c' = E_b − E_c' (hole first, N_c' = N_a − 1),
//!   u_{rσ}(s→t) = Σ_i √Γ_{riσ} ⟨t|d†_{iσ}|s⟩ and η_c half the sequential escape rate of c.
//! * Regularisation (Turek & Matveev, PRB 65, 115332 (2002)): the broadened integral is evaluated
//!   in closed form (digamma functions of complex argument) and the part that diverges as 1/η — the
//!   pinch of two poles on opposite sides of the real axis, iπ F(x)·(sign) per pole, which is the
//!   sequential process counted again — is subtracted. What remains is finite at every bias and
//!   tends to the plain second-order rate far from resonances. Negative remainders (possible within
//!   ~k_BT of a resonance, where the sequential rates dominate by orders of magnitude) are set to 0.
//!
//! Rates are in meV (divide by ħ for 1/s), as every [`RateSet`].

use super::spectrum::Spectrum;
use super::{Approach, Kernel, Prepared};
use crate::device::Device;
use crate::error::{Error, Result};
use crate::master::rates::Transition;
use crate::master::{DotModel, LeadSide, Magnet, RateSet};
use crate::model::MagneticState;
use crate::units::{fermi, kt_mev};
use num_complex::Complex64;
use std::collections::BTreeMap;
use std::f64::consts::PI;

/// Sequential and cotunnelling rates (first and second order in Γ) in one master equation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cotunneling;

/// Lead parameters the rates need, per channel q = 2·r + s (lead r, spin s).
#[derive(Debug, Clone, PartialEq)]
pub struct LeadChannels {
    /// Γ_{r,i,σ} (meV) per channel and orbital: `gamma_mev[q][i]`.
    pub gamma_mev: [Vec<f64>; 4],
    /// Spin-resolved electrochemical potential μ_{r,σ} (meV) per channel.
    pub mu_mev: [f64; 4],
    /// k_BT of both leads (meV); cotunnelling needs one temperature (see [`LeadChannels::from_model`]).
    pub kt_mev: f64,
}

impl LeadChannels {
    /// The channels of `model`'s leads at bias `bias_mv` (mV) in configuration `magnet`.
    /// Errors when the two leads have different temperatures (the closed-form energy integral of the
    /// cotunnelling rates assumes one).
    pub fn from_model(model: &DotModel, bias_mv: f64, magnet: Magnet) -> Result<LeadChannels> {
        let (tl, tr) = (model.leads[0].temperature_k, model.leads[1].temperature_k);
        if (tl - tr).abs() > 1e-12 * tl.max(tr) {
            return Err(Error::invalid(
                "approach `cotunneling`",
                format!("the left and right leads have different temperatures ({tl} K, {tr} K); the cotunnelling rates need one lead temperature (set left.temperature_K = right.temperature_K)"),
            ));
        }
        let mut gamma_mev: [Vec<f64>; 4] = Default::default();
        let mut mu_mev = [0.0; 4];
        for (r, side) in [LeadSide::Left, LeadSide::Right].into_iter().enumerate() {
            let lead = &model.leads[r];
            let m = DotModel::magnetisation_sign(side, magnet);
            let mu = if r == 0 {
                bias_mv / 2.0
            } else {
                -bias_mv / 2.0
            };
            for s in 0..2 {
                let sigma = if s == 0 { 1.0 } else { -1.0 };
                let q = 2 * r + s;
                mu_mev[q] = mu + sigma * m * lead.spin_accumulation_mev / 2.0;
                gamma_mev[q] = lead
                    .gamma_mev
                    .iter()
                    .map(|g| g * (1.0 + sigma * m * lead.polarization))
                    .collect();
            }
        }
        Ok(LeadChannels {
            gamma_mev,
            mu_mev,
            // A zero temperature is evaluated at 1 mK (the digamma forms need k_BT > 0).
            kt_mev: kt_mev(tl).max(kt_mev(1e-3)),
        })
    }
}

/// ψ(z) for Re z > 0: recurrence up to Re ≥ 10, then the asymptotic series (error < 1e-13).
pub fn digamma_complex(z: Complex64) -> Complex64 {
    let mut z = z;
    let mut acc = Complex64::new(0.0, 0.0);
    while z.re < 10.0 {
        acc -= z.inv();
        z += 1.0;
    }
    let w2 = (z * z).inv();
    let series = w2
        * (1.0 / 12.0
            - w2 * (1.0 / 120.0 - w2 * (1.0 / 252.0 - w2 * (1.0 / 240.0 - w2 * (1.0 / 132.0)))));
    acc + z.ln() - 0.5 * z.inv() - series
}

/// ψ'(z) (trigamma) for Re z > 0: recurrence up to Re ≥ 10, then the asymptotic series.
pub fn trigamma_complex(z: Complex64) -> Complex64 {
    let mut z = z;
    let mut acc = Complex64::new(0.0, 0.0);
    while z.re < 10.0 {
        acc += (z * z).inv();
        z += 1.0;
    }
    let w = z.inv();
    let w2 = w * w;
    // ψ'(z) ≈ 1/z + 1/(2z²) + Σ B_2k / z^{2k+1}
    let series = w
        + 0.5 * w2
        + w * w2
            * (1.0 / 6.0
                - w2 * (1.0 / 30.0 - w2 * (1.0 / 42.0 - w2 * (1.0 / 30.0 - w2 * (5.0 / 66.0)))));
    acc + series
}

/// The energy window of one cotunnelling channel: F(ω) = f((ω − μ_in)/kT)·[1 − f((ω − Δ − μ_out)/kT)]
/// with Δ = E_b − E_a (meV), and its Cauchy transforms.
struct Window {
    mu_in: f64,
    mu_out_shift: f64, // Δ + μ_out
    kt: f64,
    nb: f64, // Bose factor n_B(Δ + μ_out − μ_in)
}

impl Window {
    fn new(mu_in: f64, mu_out: f64, delta: f64, kt: f64) -> Window {
        let mut e0 = delta + mu_out - mu_in;
        // n_B·(f − f) → finite as e0 → 0; keep e0 off zero (relative error ~1e-7 there).
        if e0.abs() < 1e-7 * kt {
            e0 = 1e-7 * kt;
        }
        let nb = 1.0 / (e0 / kt).exp_m1();
        Window {
            mu_in,
            mu_out_shift: delta + mu_out,
            kt,
            nb,
        }
    }
    fn f(&self, x: f64) -> f64 {
        fermi(x, self.mu_in, self.kt) * (1.0 - fermi(x, self.mu_out_shift, self.kt))
    }
    fn arg(&self, z: Complex64, mu: f64) -> Complex64 {
        Complex64::new(0.5, 0.0) + (z - mu) / Complex64::new(0.0, 2.0 * PI * self.kt)
    }
    /// J(z) = ∫ F(ω)/(ω − z) dω (z off the real axis), from
    /// ∫ [f(ω − a) − f(ω − b)]/(ω − z) dω = ψ(½ + (z − a)/(2πi kT)) − ψ(½ + (z − b)/(2πi kT)), Im z > 0.
    fn cauchy(&self, z: Complex64) -> Complex64 {
        if z.im < 0.0 {
            return self.cauchy(z.conj()).conj();
        }
        self.nb
            * (digamma_complex(self.arg(z, self.mu_out_shift))
                - digamma_complex(self.arg(z, self.mu_in)))
    }
    /// J'(z) = ∫ F(ω)/(ω − z)² dω.
    fn cauchy_derivative(&self, z: Complex64) -> Complex64 {
        if z.im < 0.0 {
            return self.cauchy_derivative(z.conj()).conj();
        }
        let d = Complex64::new(0.0, 2.0 * PI * self.kt).inv();
        self.nb
            * d
            * (trigamma_complex(self.arg(z, self.mu_out_shift))
                - trigamma_complex(self.arg(z, self.mu_in)))
    }
    /// Regularised ∫ F(ω)/((ω − z1)(ω − w)) dω: the pinch term of poles on opposite sides of the
    /// real axis (the 1/η sequential double count) removed.
    fn pair(&self, z1: Complex64, w: Complex64) -> Complex64 {
        let dz = z1 - w;
        if z1.im * w.im > 0.0 && dz.norm() < 1e-6 * self.kt {
            return self.cauchy_derivative(0.5 * (z1 + w));
        }
        let mut num = self.cauchy(z1) - self.cauchy(w);
        if z1.im * w.im < 0.0 {
            let delta = |z: Complex64| Complex64::new(0.0, PI * z.im.signum() * self.f(z.re));
            num -= delta(z1) - delta(w);
        }
        num / dz
    }
}

/// One pole of a cotunnelling amplitude: coefficient and position (meV).
type Pole = (Complex64, Complex64);

/// The regularised cotunnelling rate (meV) of amplitude Σ coef/(ω − z) in window `win`.
fn channel_rate(poles: &[Pole], win: &Window) -> f64 {
    let mut acc = 0.0;
    for &(cp, zp) in poles {
        for &(cq, zq) in poles {
            acc += (cp * cq.conj() * win.pair(zp, zq.conj())).re;
        }
    }
    acc / (2.0 * PI)
}

/// u_q(s → t) = Σ_i √Γ_{q,i} ⟨t|d†_{iσ}|s⟩ per state and channel: `up[s][q]` lists (t, u) with
/// N_t = N_s + 1; `down[t][q]` lists (s, u) for the same amplitudes seen from the fuller state.
type Couplings = Vec<[Vec<(usize, Complex64)>; 4]>;

fn couplings(spectrum: &Spectrum, leads: &LeadChannels) -> (Couplings, Couplings) {
    let n = spectrum.len();
    let mut up: Couplings = vec![Default::default(); n];
    let mut down: Couplings = vec![Default::default(); n];
    let add = |list: &mut Vec<(usize, Complex64)>, k: usize, v: Complex64| {
        if let Some(e) = list.iter_mut().find(|e| e.0 == k) {
            e.1 += v;
        } else {
            list.push((k, v));
        }
    };
    for a in &spectrum.amplitudes {
        for r in 0..2 {
            let q = 2 * r + a.spin as usize;
            let g = leads.gamma_mev[q].get(a.orbital).copied().unwrap_or(0.0);
            if g > 0.0 {
                let v = a.value * g.sqrt();
                add(&mut up[a.from][q], a.to, v);
                add(&mut down[a.to][q], a.from, v);
            }
        }
    }
    (up, down)
}

/// Sequential (first-order) transitions between the states of `spectrum`.
pub fn sequential_transitions(spectrum: &Spectrum, leads: &LeadChannels) -> Vec<Transition> {
    let (up, _) = couplings(spectrum, leads);
    sequential_from(&up, spectrum, leads)
}

fn sequential_from(up: &Couplings, spectrum: &Spectrum, leads: &LeadChannels) -> Vec<Transition> {
    let e = &spectrum.energies_mev;
    let mut out = Vec::new();
    for (a, chans) in up.iter().enumerate() {
        for (q, list) in chans.iter().enumerate() {
            for &(c, u) in list {
                let w = u.norm_sqr();
                let f = fermi(e[c] - e[a], leads.mu_mev[q], leads.kt_mev);
                let (lead, spin) = ((q / 2) as u8, (q % 2) as u8);
                for (from, to, rate, dn) in [(a, c, w * f, 1), (c, a, w * (1.0 - f), -1)] {
                    if rate > 0.0 {
                        out.push(Transition {
                            from: from as u32,
                            to: to as u32,
                            rate,
                            lead,
                            spin,
                            dn,
                            exit: None,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Cotunnelling (second-order) transitions, elastic (b = a, between different leads or spins) and
/// inelastic, for every pair of in/out channels; `width_mev[c]` is the broadening η_c of each
/// intermediate state (meV).
pub fn cotunneling_transitions(
    spectrum: &Spectrum,
    leads: &LeadChannels,
    width_mev: &[f64],
) -> Result<Vec<Transition>> {
    let (up, down) = couplings(spectrum, leads);
    cotunneling_from(&up, &down, spectrum, leads, width_mev)
}

fn cotunneling_from(
    up: &Couplings,
    down: &Couplings,
    spectrum: &Spectrum,
    leads: &LeadChannels,
    width_mev: &[f64],
) -> Result<Vec<Transition>> {
    let e = &spectrum.energies_mev;
    let i = Complex64::i();
    let mut out = Vec::new();
    let mut poles: BTreeMap<usize, Vec<Pole>> = BTreeMap::new();
    for a in 0..spectrum.len() {
        for q_in in 0..4 {
            for q_out in 0..4 {
                poles.clear();
                // Electron first: a → c (N + 1) → b.
                for &(c, u) in &up[a][q_in] {
                    for &(b, v) in &down[c][q_out] {
                        let z = Complex64::new(e[c] - e[a], 0.0) - i * width_mev[c];
                        poles.entry(b).or_default().push((u * v.conj(), z));
                    }
                }
                // Hole first: a → c' (N − 1) → b.
                for &(c, v) in &down[a][q_out] {
                    for &(b, u) in &up[c][q_in] {
                        let z = Complex64::new(e[b] - e[c], 0.0) + i * width_mev[c];
                        poles.entry(b).or_default().push((u * v.conj(), z));
                    }
                }
                for (&b, p) in &poles {
                    if b == a && q_in == q_out {
                        continue; // nothing moves, nothing changes
                    }
                    let win = Window::new(
                        leads.mu_mev[q_in],
                        leads.mu_mev[q_out],
                        e[b] - e[a],
                        leads.kt_mev,
                    );
                    let rate = channel_rate(p, &win);
                    if !rate.is_finite() {
                        return Err(Error::Numerical {
                            context: "cotunnelling rates".into(),
                            message: format!(
                                "non-finite rate {} → {} at bias {} mV",
                                spectrum.labels[a], spectrum.labels[b], spectrum.bias_mv
                            ),
                        });
                    }
                    if rate > 0.0 {
                        out.push(Transition {
                            from: a as u32,
                            to: b as u32,
                            rate,
                            lead: (q_in / 2) as u8,
                            spin: (q_in % 2) as u8,
                            dn: 1,
                            exit: Some(((q_out / 2) as u8, (q_out % 2) as u8)),
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Sort transitions by initial state into a [`RateSet`].
pub fn rate_set(n_states: usize, mut transitions: Vec<Transition>, bias_mv: f64) -> RateSet {
    transitions.sort_by_key(|t| t.from);
    let mut offsets = Vec::with_capacity(n_states + 1);
    let mut out_rate = vec![0.0; n_states];
    let mut k = 0;
    for (s, o) in out_rate.iter_mut().enumerate() {
        offsets.push(k);
        while k < transitions.len() && transitions[k].from as usize == s {
            *o += transitions[k].rate;
            k += 1;
        }
    }
    offsets.push(k);
    RateSet {
        n_states,
        transitions,
        offsets,
        out_rate,
        bias_mv,
        // Cotunnelling rates are kept in the linear domain only (no log-domain fallback yet).
        tiny: Vec::new(),
    }
}

/// Which orders of the tunnel coupling to include.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Sequential only (first order in Γ).
    Sequential,
    /// Sequential plus cotunnelling (first and second order).
    Cotunneling,
}

/// All rates of `spectrum` with `leads`: sequential, plus cotunnelling for [`Order::Cotunneling`]
/// with each intermediate state broadened by half its sequential escape rate (floored at
/// 10⁻⁶ k_BT).
pub fn rates(spectrum: &Spectrum, leads: &LeadChannels, order: Order) -> Result<RateSet> {
    let n = spectrum.len();
    let (up, down) = couplings(spectrum, leads);
    let mut transitions = sequential_from(&up, spectrum, leads);
    if order == Order::Cotunneling {
        let mut width = vec![0.0f64; n];
        for t in &transitions {
            width[t.from as usize] += 0.5 * t.rate;
        }
        width
            .iter_mut()
            .for_each(|w| *w = w.max(1e-6 * leads.kt_mev));
        let co = cotunneling_from(&up, &down, spectrum, leads, &width)?;
        transitions.extend(co);
    }
    Ok(rate_set(n, transitions, spectrum.bias_mv))
}

/// The dot model of one state, solved with sequential + cotunnelling rates.
pub struct CotunnelingPrepared {
    model: DotModel,
    magnet: Magnet,
}

impl CotunnelingPrepared {
    /// Prepare directly from a validated dot model (library use, tests, benchmarks); errors when
    /// the leads' temperatures differ.
    pub fn from_model(model: DotModel, magnet: Magnet) -> Result<Self> {
        LeadChannels::from_model(&model, 0.0, magnet)?;
        Ok(CotunnelingPrepared { model, magnet })
    }
}

impl Approach for Cotunneling {
    fn name(&self) -> &'static str {
        "cotunneling"
    }
    fn prepare(&self, device: &Device, state: &MagneticState) -> Result<Box<dyn Prepared>> {
        let (model, magnet) = device.to_dot_model(state, self.name())?;
        Ok(Box::new(CotunnelingPrepared::from_model(model, magnet)?))
    }
}

impl Prepared for CotunnelingPrepared {
    fn kernel(&self, bias_mv: f64) -> Result<Kernel> {
        if !bias_mv.is_finite() {
            return Err(Error::invalid(
                "bias",
                format!("bias {bias_mv} mV is not finite"),
            ));
        }
        let spectrum = Spectrum::from_fock(&self.model, bias_mv, self.magnet);
        let leads = LeadChannels::from_model(&self.model, bias_mv, self.magnet)?;
        Ok(Kernel::Rates(rates(&spectrum, &leads, Order::Cotunneling)?))
    }
    fn dot_model(&self) -> Option<&DotModel> {
        Some(&self.model)
    }
    fn magnet(&self) -> Option<Magnet> {
        Some(self.magnet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute-force ∫ F(ω) g(ω) dω on a fine grid.
    fn quad(win: &Window, g: impl Fn(f64) -> Complex64, lo: f64, hi: f64, n: usize) -> Complex64 {
        let h = (hi - lo) / n as f64;
        let mut acc = Complex64::new(0.0, 0.0);
        for k in 0..=n {
            let w = lo + h * k as f64;
            let weight = if k == 0 || k == n { 0.5 } else { 1.0 };
            acc += weight * win.f(w) * g(w);
        }
        acc * h
    }

    #[test]
    fn digamma_known_values() {
        // ψ(1) = −γ, ψ(½) = −γ − 2 ln 2, ψ'(1) = π²/6, Im ψ(½ + iy) = (π/2) tanh(πy).
        let g = 0.577_215_664_901_532_9;
        assert!((digamma_complex(Complex64::new(1.0, 0.0)).re + g).abs() < 1e-13);
        assert!((digamma_complex(Complex64::new(0.5, 0.0)).re + g + 2.0 * 2f64.ln()).abs() < 1e-13);
        assert!((trigamma_complex(Complex64::new(1.0, 0.0)).re - PI * PI / 6.0).abs() < 1e-13);
        for y in [0.1, 1.0, 7.0, 300.0] {
            let im = digamma_complex(Complex64::new(0.5, y)).im;
            assert!(
                (im - PI / 2.0 * (PI * y).tanh()).abs() < 1e-12,
                "y={y}: {im}"
            );
            // Re agrees with the master module's real-part routine.
            let re = crate::master::model::re_digamma_complex(0.5, y);
            assert!((digamma_complex(Complex64::new(0.5, y)).re - re).abs() < 1e-12);
        }
        // Trigamma is the derivative of digamma.
        let z = Complex64::new(0.7, -2.3);
        let h = 1e-5;
        let num = (digamma_complex(z + h) - digamma_complex(z - h)) / (2.0 * h);
        assert!((num - trigamma_complex(z)).norm() < 1e-8);
    }

    #[test]
    fn closed_form_matches_quadrature() {
        // Inelastic window (Δ = 0.3 meV), bias 1 meV, kT = 0.2 meV; poles at 0.4 meV off the axis
        // so that the grid resolves them.
        let win = Window::new(0.5, -0.5, 0.3, 0.2);
        for z in [
            Complex64::new(0.7, 0.4),
            Complex64::new(-1.5, -0.4),
            Complex64::new(3.0, 0.4),
        ] {
            let exact = win.cauchy(z);
            let num = quad(
                &win,
                |w| (Complex64::new(w, 0.0) - z).inv(),
                -12.0,
                12.0,
                400_000,
            );
            assert!((exact - num).norm() < 1e-7, "z={z}: {exact} vs {num}");
            let exact_d = win.cauchy_derivative(z);
            let num_d = quad(
                &win,
                |w| ((Complex64::new(w, 0.0) - z) * (Complex64::new(w, 0.0) - z)).inv(),
                -12.0,
                12.0,
                400_000,
            );
            assert!(
                (exact_d - num_d).norm() < 1e-7,
                "z={z}: {exact_d} vs {num_d}"
            );
        }
        // A pair on one side of the axis is the plain integral (no subtraction).
        let (z1, w) = (Complex64::new(0.2, -0.4), Complex64::new(1.1, -0.3));
        let num = quad(
            &win,
            |x| ((Complex64::new(x, 0.0) - z1) * (Complex64::new(x, 0.0) - w)).inv(),
            -12.0,
            12.0,
            400_000,
        );
        assert!((win.pair(z1, w) - num).norm() < 1e-7);
    }

    #[test]
    fn regularised_pinch_is_finite_and_tends_to_the_principal_part() {
        // |1/(ω − x + iη)|² − (π/η)δ(ω − x): as η → 0 the result converges (no 1/η growth).
        let win = Window::new(0.5, -0.5, 0.0, 0.2);
        let x = 0.3;
        let vals: Vec<f64> = [1e-2, 1e-3, 1e-4]
            .iter()
            .map(|&eta| {
                let z = Complex64::new(x, -eta);
                win.pair(z, z.conj()).re
            })
            .collect();
        assert!(vals.iter().all(|v| v.is_finite()));
        assert!((vals[1] - vals[2]).abs() < 0.01 * vals[2].abs().max(1.0));
        // Far from the window the regulator does nothing: equals the plain integral ≈ F-weighted 1/x².
        let z = Complex64::new(20.0, -1e-3);
        let plain = quad(
            &win,
            |w| Complex64::new(1.0 / ((w - 20.0) * (w - 20.0)), 0.0),
            -12.0,
            12.0,
            200_000,
        );
        assert!((win.pair(z, z.conj()).re - plain.re).abs() < 1e-6 * plain.re);
    }
}
