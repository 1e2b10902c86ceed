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

/// Evolve `p` for `dwell_s` seconds and also return the probabilities averaged over the dwell,
/// (1/τ)∫₀^τ exp(L t/ħ) p dt — what an instrument integrating over the dwell sees (currents are
/// linear in the probabilities). The integral is the last column of the exponential of the
/// augmented generator [[L, p], [0, 0]]·τ (Van Loan). Returns (end, average); both normalised.
/// A zero dwell returns `p` twice.
pub fn evolve_averaged(rates: &RateSet, p: &[f64], dwell_s: f64) -> Result<(Vec<f64>, Vec<f64>)> {
    let end = evolve(rates, p, dwell_s)?;
    if dwell_s == 0.0 {
        return Ok((end, p.to_vec()));
    }
    let n = rates.n_states;
    let l = generator(rates);
    let mut m = nalgebra::DMatrix::zeros(n + 1, n + 1);
    m.view_mut((0, 0), (n, n)).copy_from(&l);
    for (i, &x) in p.iter().enumerate() {
        m[(i, n)] = x;
    }
    let scale = dwell_s / HBAR_MEV_S;
    let e = (m * scale).exp();
    // exp(M s)[0..n, n] = ∫₀^s exp(L u) p du in units of the scaled time.
    let mut avg: Vec<f64> = (0..n).map(|i| (e[(i, n)] / scale).max(0.0)).collect();
    let sum: f64 = avg.iter().sum();
    if !(sum.is_finite() && sum > 0.0) {
        return Err(Error::Numerical {
            context: "transient dwell average".into(),
            message: format!("the averaged probabilities sum to {sum}"),
        });
    }
    avg.iter_mut().for_each(|x| *x /= sum);
    Ok((end, avg))
}

/// The sum of the propagated probabilities before re-normalisation (for conservation checks).
pub fn propagated_sum(rates: &RateSet, p: &[f64], dwell_s: f64) -> f64 {
    let l = generator(rates) * (dwell_s / HBAR_MEV_S);
    (l.exp() * DVector::from_column_slice(p)).sum()
}

#[cfg(test)]
mod averaged_tests {
    use super::*;
    use crate::master::rates::Transition;

    /// A two-state system 0 ⇄ 1 with rates a (0 → 1) and b (1 → 0), in meV.
    fn two_state(a: f64, b: f64) -> RateSet {
        let t = |from, to, rate| Transition {
            from,
            to,
            rate,
            lead: 0,
            spin: 0,
            dn: if to > from { 1 } else { -1 },
            exit: None,
        };
        RateSet {
            n_states: 2,
            transitions: vec![t(0, 1, a), t(1, 0, b)],
            offsets: vec![0, 1, 2],
            out_rate: vec![a, b],
            bias_mv: 0.0,
            tiny: Vec::new(),
        }
    }

    #[test]
    fn dwell_average_matches_the_analytic_relaxation() {
        // p1(t) = p∞ (1 − e^{−k t}) from p1(0) = 0, k = (a + b)/ħ, p∞ = a/(a + b);
        // its average over τ is p∞ (1 − (1 − e^{−kτ})/(kτ)).
        let (a, b) = (3e-9, 1e-9);
        let r = two_state(a, b);
        let tau = 2e-4;
        let (end, avg) = evolve_averaged(&r, &[1.0, 0.0], tau).unwrap();
        let k = (a + b) / HBAR_MEV_S;
        let pinf = a / (a + b);
        let end_exact = pinf * (1.0 - (-k * tau).exp());
        let avg_exact = pinf * (1.0 - (1.0 - (-k * tau).exp()) / (k * tau));
        assert!(
            (end[1] - end_exact).abs() < 1e-10,
            "{} vs {end_exact}",
            end[1]
        );
        assert!(
            (avg[1] - avg_exact).abs() < 1e-10,
            "{} vs {avg_exact}",
            avg[1]
        );
        assert!((avg.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // The average lags the end value during a relaxation.
        assert!(avg[1] < end[1]);
    }
}
