//! Kinetic Monte Carlo (Gillespie) of single-electron tunnelling events.
//!
//! From the current state s the waiting time is exponential with the total escape rate Γ_s/ħ and the
//! event is chosen with probability W/Γ_s. The charge entering from the left lead is counted in
//! windows of the instrument integration time τ, giving the sampled current I_k = e·ΔN_k/τ, its mean,
//! standard deviation, the standard error of the mean and the Fano factor var(ΔN)/⟨ΔN⟩.
//! Random numbers: Xoshiro256++ seeded from a user `u64`.

use super::model::{ELEMENTARY_CHARGE_C, HBAR_MEV_S};
use super::rates::{PointResult, RateSet};
use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A stochastic trajectory sampled by the instrument.
#[derive(Debug, Clone, PartialEq)]
pub struct KmcTrace {
    /// End time of each sample window, s.
    pub time_s: Vec<f64>,
    /// Current through the left junction averaged over each window, nA.
    pub current_na: Vec<f64>,
    /// Many-body state at the end of each window.
    pub state: Vec<u32>,
    /// Fraction of the time spent in each state.
    pub time_fraction: Vec<f64>,
    /// Tunnelling events simulated.
    pub events: u64,
    /// Net electrons entering from the left lead per window, per spin.
    pub counts_spin: Vec<[i64; 2]>,
    /// Event-resolved state history: `(time_s, new_state)` of the first `history_limit` events.
    pub history: Vec<(f64, u32)>,
}

/// A seeded Gillespie simulator that keeps its state between bias points.
#[derive(Debug, Clone)]
pub struct Gillespie {
    rng: Xoshiro256PlusPlus,
    /// Current many-body state.
    pub state: u32,
    /// Seed it was created with.
    pub seed: u64,
    /// How many events per run are recorded in [`KmcTrace::history`] (default 0).
    pub history_limit: usize,
}

#[inline]
fn uniform01(rng: &mut Xoshiro256PlusPlus) -> f64 {
    // 53 random bits in (0, 1]: never zero, so ln() is finite.
    ((rng.next_u64() >> 11) as f64 + 1.0) * (1.0 / 9_007_199_254_740_992.0)
}

impl Gillespie {
    /// A simulator starting in `state`.
    pub fn new(seed: u64, state: u32) -> Self {
        Gillespie {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            state,
            seed,
            history_limit: 0,
        }
    }

    /// Simulate `duration_s` seconds, sampling the current every `integration_s` seconds.
    /// `max_events` bounds the work (an error names it when exceeded).
    pub fn run(
        &mut self,
        rates: &RateSet,
        duration_s: f64,
        integration_s: f64,
        max_events: u64,
    ) -> Result<KmcTrace> {
        if !(integration_s > 0.0 && duration_s >= integration_s && duration_s.is_finite()) {
            return Err(Error::invalid(
                "Monte Carlo",
                format!("duration {duration_s} s and integration time {integration_s} s: need 0 < integration <= duration"),
            ));
        }
        if self.state as usize >= rates.n_states {
            return Err(Error::invalid("Monte Carlo", "initial state out of range"));
        }
        // Whole windows only; the relative slack absorbs round-off (2e-7 / 1e-9 = 199.99…).
        let n_windows = (duration_s / integration_s * (1.0 + 1e-12)).floor() as usize;
        let to_s = HBAR_MEV_S; // rate (meV) → 1/s is rate / ħ
        let mut trace = KmcTrace {
            time_s: Vec::with_capacity(n_windows),
            current_na: Vec::with_capacity(n_windows),
            state: Vec::with_capacity(n_windows),
            time_fraction: vec![0.0; rates.n_states],
            events: 0,
            counts_spin: Vec::with_capacity(n_windows),
            history: Vec::new(),
        };
        let mut t = 0.0;
        let mut window_end = integration_s;
        let mut counts = [0i64; 2];
        let t_end = n_windows as f64 * integration_s;
        // Next event time.
        let mut next = t + self.waiting(rates, to_s);
        while trace.time_s.len() < n_windows {
            if next >= window_end {
                // Close the window.
                trace.time_fraction[self.state as usize] += window_end - t;
                t = window_end;
                let n = (counts[0] + counts[1]) as f64;
                trace
                    .current_na
                    .push(n * ELEMENTARY_CHARGE_C / integration_s * 1e9);
                trace.time_s.push(window_end);
                trace.state.push(self.state);
                trace.counts_spin.push(counts);
                counts = [0; 2];
                window_end += integration_s;
                continue;
            }
            trace.time_fraction[self.state as usize] += next - t;
            t = next;
            let out = rates.leaving(self.state as usize);
            let total = rates.out_rate[self.state as usize];
            let mut target = uniform01(&mut self.rng) * total;
            let mut chosen = out[out.len() - 1];
            for tr in out {
                target -= tr.rate;
                if target <= 0.0 {
                    chosen = *tr;
                    break;
                }
            }
            if chosen.lead == 0 {
                counts[chosen.spin as usize] += i64::from(chosen.dn);
            }
            if let Some((0, spin)) = chosen.exit {
                counts[spin as usize] -= 1;
            }
            self.state = chosen.to;
            trace.events += 1;
            if trace.history.len() < self.history_limit {
                trace.history.push((t, self.state));
            }
            if trace.events > max_events {
                return Err(Error::invalid(
                    "Monte Carlo",
                    format!("more than {max_events} events before {t_end:.3e} s; shorten the duration or raise the event limit"),
                ));
            }
            next = t + self.waiting(rates, to_s);
        }
        let total: f64 = trace.time_fraction.iter().sum();
        if total > 0.0 {
            trace.time_fraction.iter_mut().for_each(|x| *x /= total);
        }
        Ok(trace)
    }

    fn waiting(&mut self, rates: &RateSet, hbar: f64) -> f64 {
        let r = rates.out_rate[self.state as usize];
        if r <= 0.0 {
            f64::INFINITY
        } else {
            -uniform01(&mut self.rng).ln() * hbar / r
        }
    }
}

impl KmcTrace {
    /// Summarise into a [`PointResult`] (mean current, standard error, noise, Fano factor, time
    /// fractions as probabilities).
    pub fn summarize(&self, bias_mv: f64, integration_s: f64) -> PointResult {
        let n = self.current_na.len() as f64;
        let mean = self.current_na.iter().sum::<f64>() / n;
        let var = if n > 1.0 {
            self.current_na
                .iter()
                .map(|x| (x - mean).powi(2))
                .sum::<f64>()
                / (n - 1.0)
        } else {
            f64::NAN
        };
        let per_e = ELEMENTARY_CHARGE_C / integration_s * 1e9; // nA per electron in a window
        let mean_n = mean / per_e;
        let var_n = var / (per_e * per_e);
        let up = self.counts_spin.iter().map(|c| c[0] as f64).sum::<f64>() / n * per_e;
        let dn = self.counts_spin.iter().map(|c| c[1] as f64).sum::<f64>() / n * per_e;
        PointResult {
            bias_mv,
            current_na: mean,
            current_right_na: f64::NAN,
            current_spin_na: [up, dn],
            current_right_spin_na: [f64::NAN; 2],
            current_err_na: (var / n).sqrt(),
            current_noise_na: var.sqrt(),
            fano: if mean_n != 0.0 {
                var_n / mean_n.abs()
            } else {
                f64::NAN
            },
            probabilities: self.time_fraction.clone(),
        }
    }
}
