//! Transient evolution p(t + τ) = exp(L·τ/ħ)·p(t) of the master equation.
//!
//! The rates of a slow gating dot and a fast transport dot differ by many orders of magnitude, so the
//! generator is stiff; the propagator is computed as a dense matrix exponential (nalgebra's Padé
//! approximant with scaling and squaring), which is exact for any stiffness. Probabilities are
//! re-normalised after each step (the propagator conserves them up to round-off, which the tests
//! check). Dense: limited to [`MAX_TRANSIENT_STATES`] states.

use super::model::HBAR_MEV_S;
use super::rates::RateSet;
use super::steady::generator;
use crate::error::{Error, Result};
use nalgebra::DVector;

/// Largest state space the dense propagator accepts.
pub const MAX_TRANSIENT_STATES: usize = 1024;

/// Evolve `p` for `dwell_s` seconds under fixed `rates`. Returns the new probabilities.
pub fn evolve(rates: &RateSet, p: &[f64], dwell_s: f64) -> Result<Vec<f64>> {
    let n = rates.n_states;
    if n > MAX_TRANSIENT_STATES {
        return Err(Error::invalid(
            "transient solver",
            format!(
                "{n} many-body states; the dense propagator supports up to {MAX_TRANSIENT_STATES}"
            ),
        ));
    }
    if !(dwell_s.is_finite() && dwell_s >= 0.0) {
        return Err(Error::invalid(
            "transient solver",
            format!("dwell time {dwell_s} s; allowed >= 0"),
        ));
    }
    if p.len() != n {
        return Err(Error::invalid(
            "transient solver",
            "probability vector of wrong length",
        ));
    }
    let l = generator(rates) * (dwell_s / HBAR_MEV_S);
    let prop = l.exp();
    let q = prop * DVector::from_column_slice(p);
    let mut out: Vec<f64> = q.iter().map(|x| x.max(0.0)).collect();
    let sum: f64 = out.iter().sum();
    if !(sum.is_finite() && sum > 0.0) {
        return Err(Error::Numerical {
            context: "transient evolution".into(),
            message: format!("propagator lost the probability (sum {sum})"),
        });
    }
    out.iter_mut().for_each(|x| *x /= sum);
    Ok(out)
}

/// The sum of the propagated probabilities before re-normalisation (for conservation checks).
pub fn propagated_sum(rates: &RateSet, p: &[f64], dwell_s: f64) -> f64 {
    let l = generator(rates) * (dwell_s / HBAR_MEV_S);
    (l.exp() * DVector::from_column_slice(p)).sum()
}
