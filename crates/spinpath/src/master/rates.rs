//! Sequential-tunnelling (Fermi golden rule) rates between Fock states.
//!
//! For a transition that adds an electron in spin-orbital k (orbital i, spin σ) from lead r, with
//! addition energy ΔE = E(n + k) − E(n):
//!   W_in  = Γ_{r,i,σ}·f((ΔE − μ_{r,σ})/k_BT_r),   W_out = Γ_{r,i,σ}·(1 − f(...)) for the reverse,
//! with Γ_{r,i,σ} = Γ_{r,i}(1 + σ·m_r·p_r) and μ_{r,σ} = μ_r + σ·m_r·Δμ_r/2, μ_L = +V/2, μ_R = −V/2.
//! Rates are stored in meV (the rate is W/ħ per second).

use super::model::{DotModel, LeadSide, Magnet};
use crate::units::{fermi, kt_mev};

/// One allowed single-electron transition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition {
    /// Initial state (bitmask).
    pub from: u32,
    /// Final state (bitmask).
    pub to: u32,
    /// Rate in meV (divide by ħ for 1/s).
    pub rate: f64,
    /// Lead: 0 left, 1 right.
    pub lead: u8,
    /// Spin: 0 up, 1 down.
    pub spin: u8,
    /// +1 when an electron enters the dots from the lead, −1 when it leaves to the lead.
    pub dn: i8,
    /// Second-order (cotunnelling) transitions move an electron through the dots in one event: it
    /// enters from `lead`/`spin` (`dn = +1`) and leaves to lead `exit.0` with spin `exit.1`
    /// (0 left/right, 0 up/down). `None` for a sequential (single-electron) transition.
    pub exit: Option<(u8, u8)>,
}

/// A transition whose rate is too small for a linear-domain `f64` (below [`TINY_RATE_MEV`], possibly
/// underflowed to zero), kept by its natural logarithm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogRate {
    /// Initial state (bitmask).
    pub from: u32,
    /// Final state (bitmask).
    pub to: u32,
    /// ln(W / 1 meV): finite for any T > 0 and Γ > 0, however large the barrier in units of k_BT.
    pub ln_rate: f64,
}

/// Rates below this (meV) are also recorded as logarithms in [`RateSet::tiny`]: the linear domain
/// loses them to underflow (a 310 meV barrier at 1 K is a factor e^-3600).
pub const TINY_RATE_MEV: f64 = 1e-250;

/// ln f(y) for the Fermi function f(y) = 1/(1 + e^y), without overflow or underflow.
#[inline]
fn ln_fermi(y: f64) -> f64 {
    use crate::units::UNDERFLOW_EXPONENT;
    // e^-|y| is exactly 0 beyond the underflow exponent: skip libm's slow underflow path.
    if y > UNDERFLOW_EXPONENT {
        -y
    } else if y < -UNDERFLOW_EXPONENT {
        -0.0
    } else if y > 0.0 {
        -y - (-y).exp().ln_1p()
    } else {
        -y.exp().ln_1p()
    }
}

/// All transitions at one bias and magnetic configuration, grouped by initial state.
#[derive(Debug, Clone)]
pub struct RateSet {
    /// Number of many-body states.
    pub n_states: usize,
    /// Transitions sorted by `from`.
    pub transitions: Vec<Transition>,
    /// `transitions[offsets[s]..offsets[s+1]]` leave state s.
    pub offsets: Vec<usize>,
    /// Total escape rate of each state, meV.
    pub out_rate: Vec<f64>,
    /// Bias, mV.
    pub bias_mv: f64,
    /// Transitions with a non-zero coupling whose rate is below [`TINY_RATE_MEV`] (those that
    /// underflowed to zero are missing from `transitions`), as logarithms, sorted by `from`. The
    /// steady-state solver falls back to a log-domain elimination on them when the linear one cannot
    /// resolve the chain (very low temperature, barriers of thousands of k_BT).
    pub tiny: Vec<LogRate>,
}

impl RateSet {
    /// Build the rates of `model` at bias `bias_mv` (mV) in configuration `magnet`.
    /// Transitions with a zero rate are dropped.
    pub fn build(model: &DotModel, bias_mv: f64, magnet: Magnet) -> RateSet {
        let n_states = model.n_states();
        let mut r = RateSet {
            n_states,
            transitions: Vec::with_capacity(2 * n_states * model.n_spin_orbitals()),
            offsets: Vec::with_capacity(n_states + 1),
            out_rate: Vec::with_capacity(n_states),
            bias_mv,
            tiny: Vec::new(),
        };
        r.rebuild(model, bias_mv, magnet);
        r
    }

    /// [`RateSet::build`] in place: the same rates, in the same order, reusing this set's
    /// vectors, so a bias sweep over one model allocates nothing after the first point (the
    /// single-particle energies live on the stack: at most 32 spin-orbitals, as states are `u32`
    /// bitmasks).
    pub fn rebuild(&mut self, model: &DotModel, bias_mv: f64, magnet: Magnet) {
        let n_states = model.n_states();
        let nso = model.n_spin_orbitals();
        let nd = model.dots.len();
        assert!(
            nso <= 32,
            "at most 32 spin-orbitals (states are u32 bitmasks)"
        );
        let sides = [LeadSide::Left, LeadSide::Right];
        // Per lead and spin: (μ_{r,σ}, kT, Γ factor (1 + σ m p)).
        let mut lead_par = [[(0.0, 0.0, 0.0); 2]; 2];
        for (r, side) in sides.iter().enumerate() {
            let lead = &model.leads[r];
            let m = DotModel::magnetisation_sign(*side, magnet);
            let mu = if r == 0 {
                bias_mv / 2.0
            } else {
                -bias_mv / 2.0
            };
            for (s, par) in lead_par[r].iter_mut().enumerate() {
                let sigma = if s == 0 { 1.0 } else { -1.0 };
                *par = (
                    mu + sigma * m * lead.spin_accumulation_mev / 2.0,
                    kt_mev(lead.temperature_k),
                    1.0 + sigma * m * lead.polarization,
                );
            }
        }
        // Single-particle energies, including any bias-dependent induced exchange field.
        let mut eps = [0.0f64; 32];
        let mut dot_of = [0usize; 32];
        for k in 0..nso {
            eps[k] = model.spin_orbital_energy(k, bias_mv, magnet);
            dot_of[k] = model.orbitals[k / 2].dot;
        }
        let dot_of = &dot_of[..nso];
        self.n_states = n_states;
        self.bias_mv = bias_mv;
        let transitions = &mut self.transitions;
        let offsets = &mut self.offsets;
        let tiny = &mut self.tiny;
        transitions.clear();
        offsets.clear();
        tiny.clear();
        self.out_rate.clear();
        self.out_rate.resize(n_states, 0.0);
        let mut charges = [0u32; 32];
        let charges = &mut charges[..nd];
        for (state, out) in self.out_rate.iter_mut().enumerate() {
            offsets.push(transitions.len());
            charges.iter_mut().for_each(|c| *c = 0);
            for (k, &d) in dot_of.iter().enumerate() {
                if state >> k & 1 == 1 {
                    charges[d] += 1;
                }
            }
            for k in 0..nso {
                let d = dot_of[k];
                let occupied = state >> k & 1 == 1;
                // Addition energy of spin-orbital k on top of the other electrons.
                let n_other_same = charges[d] - u32::from(occupied);
                let mut de = eps[k] + model.dots[d].charging_mev * n_other_same as f64;
                for (d2, &c) in charges.iter().enumerate() {
                    if d2 != d {
                        de += model.inter_dot_mev[d][d2] * c as f64;
                    }
                }
                let s = k % 2;
                for (r, par) in lead_par.iter().enumerate() {
                    let g = model.leads[r].gamma_mev[k / 2];
                    if g == 0.0 {
                        continue;
                    }
                    let (mu, kt, fac) = par[s];
                    // 1 − f(E − μ) is written f(μ − E): no cancellation deep below μ.
                    let (rate, dn) = if occupied {
                        (g * fac * fermi(mu, de, kt), -1)
                    } else {
                        (g * fac * fermi(de, mu, kt), 1)
                    };
                    if rate < TINY_RATE_MEV && g * fac > 0.0 && kt > 0.0 {
                        let y = (de - mu) / kt;
                        let ln_f = if occupied { ln_fermi(-y) } else { ln_fermi(y) };
                        tiny.push(LogRate {
                            from: state as u32,
                            to: (state ^ (1 << k)) as u32,
                            ln_rate: (g * fac).ln() + ln_f,
                        });
                    }
                    if rate > 0.0 {
                        *out += rate;
                        transitions.push(Transition {
                            from: state as u32,
                            to: (state ^ (1 << k)) as u32,
                            rate,
                            lead: r as u8,
                            spin: s as u8,
                            dn,
                            exit: None,
                        });
                    }
                }
            }
        }
        offsets.push(transitions.len());
    }

    /// Transitions leaving state `s`.
    pub fn leaving(&self, s: usize) -> &[Transition] {
        &self.transitions[self.offsets[s]..self.offsets[s + 1]]
    }

    /// Particle currents (meV, i.e. electrons per ħ) for occupation probabilities `p`:
    /// `[lead][spin]`, positive when electrons enter the dots from that lead.
    pub fn particle_flux(&self, p: &[f64]) -> [[f64; 2]; 2] {
        let mut j = [[0.0; 2]; 2];
        for t in &self.transitions {
            j[t.lead as usize][t.spin as usize] += f64::from(t.dn) * t.rate * p[t.from as usize];
            if let Some((lead, spin)) = t.exit {
                j[lead as usize][spin as usize] -= t.rate * p[t.from as usize];
            }
        }
        j
    }
}

/// Observables at one bias point (any solver).
#[derive(Debug, Clone, PartialEq)]
pub struct PointResult {
    /// Bias, mV.
    pub bias_mv: f64,
    /// Current through the left junction, nA (electrons entering from the left lead; positive flows
    /// left → right).
    pub current_na: f64,
    /// Current through the right junction, nA (electrons leaving to the right lead). Equals
    /// `current_na` in steady state; differs while the dots charge.
    pub current_right_na: f64,
    /// Left-junction current carried by spin up and spin down, nA.
    pub current_spin_na: [f64; 2],
    /// Right-junction current carried by spin up and spin down, nA (electrons leaving to the right
    /// lead); NaN for Monte Carlo, which counts the left junction only.
    pub current_right_spin_na: [f64; 2],
    /// Statistical standard error of `current_na` (Monte Carlo only), nA; 0 for deterministic solvers.
    pub current_err_na: f64,
    /// Sample standard deviation of the instrument-integrated current (Monte Carlo), nA; NaN otherwise.
    pub current_noise_na: f64,
    /// Fano factor of the charge counted per integration window (Monte Carlo), NaN otherwise.
    pub fano: f64,
    /// Probability (or time fraction) of each many-body state.
    pub probabilities: Vec<f64>,
}

impl PointResult {
    /// Assemble a deterministic result from probabilities.
    pub fn from_probabilities(rates: &RateSet, p: Vec<f64>) -> PointResult {
        let j = rates.particle_flux(&p);
        PointResult::from_flux(rates.bias_mv, j, p)
    }

    /// A deterministic result from the particle fluxes `j[lead][spin]` (meV, electrons per ħ,
    /// positive into the dots) and the state probabilities.
    pub fn from_flux(bias_mv: f64, j: [[f64; 2]; 2], probabilities: Vec<f64>) -> PointResult {
        let c = super::model::E_OVER_HBAR_NA_PER_MEV;
        PointResult {
            bias_mv,
            current_na: c * (j[0][0] + j[0][1]),
            current_right_na: -c * (j[1][0] + j[1][1]),
            current_spin_na: [c * j[0][0], c * j[0][1]],
            current_right_spin_na: [-c * j[1][0], -c * j[1][1]],
            current_err_na: 0.0,
            current_noise_na: f64::NAN,
            fano: f64::NAN,
            probabilities,
        }
    }

    /// Mean charge of each dot.
    pub fn mean_charges(&self, model: &DotModel) -> Vec<f64> {
        let mut n = vec![0.0; model.dots.len()];
        for (s, &p) in self.probabilities.iter().enumerate() {
            if p != 0.0 {
                for (d, c) in model.dot_charges(s).into_iter().enumerate() {
                    n[d] += p * c as f64;
                }
            }
        }
        n
    }
}
