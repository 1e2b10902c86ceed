//! Analysis of measured (or simulated) data: the analyses of the papers as library functions.
//!
//! Every function takes plain slices or a [`Trace`] and returns typed results plus [`Table`]s with
//! unit-carrying column names, so the same code serves measurement files (read with [`read`]) and
//! simulation results. Units: bias in mV, current in nA, field in Oe, power in nW, conductance
//! (dI/dV) in nA/mV (= µS), TMR in percent where a column says `_percent`.
//!
//! Conventions (see `docs/analysis.md`):
//! - TMR = I_P/I_AP − 1; TMR < −100 % ⇔ I_P and I_AP have opposite signs.
//! - Output power = −I·V (nW = nA·mV·1e-3), positive when the device delivers power.
//! - A bias sweep 0 → +Vmax → −Vmax → +Vmax → 0 is split into monotonic segments
//!   ([`derivative::split_segments`]).
//! - Undefined values are NaN in memory and empty cells in CSV, never infinities.
//!
//! [`Table`]: crate::table::Table

pub mod derivative;
pub mod jumps;
pub mod outputs;
pub mod peaks;
pub mod power;
pub mod read;
pub mod shift;
pub mod stats;
pub mod tmr;

use crate::error::{Error, Result};

/// A sampled curve y(x) in acquisition order (x need not be monotonic).
///
/// Units are those of the caller; the analyses document what they expect (usually x = bias in mV,
/// y = current in nA).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    /// Abscissae in acquisition order.
    pub x: Vec<f64>,
    /// Ordinates, one per abscissa.
    pub y: Vec<f64>,
}

impl Trace {
    /// A trace from two equally long vectors of finite numbers.
    pub fn new(x: Vec<f64>, y: Vec<f64>) -> Result<Self> {
        if x.len() != y.len() {
            return Err(Error::invalid(
                "trace",
                format!("x has {} points but y has {}", x.len(), y.len()),
            ));
        }
        if let Some(i) = x
            .iter()
            .zip(&y)
            .position(|(a, b)| !a.is_finite() || !b.is_finite())
        {
            return Err(Error::invalid(
                "trace",
                format!("point {} is not finite (x = {}, y = {})", i, x[i], y[i]),
            ));
        }
        Ok(Trace { x, y })
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// True when the trace has no points.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }
}

/// Median of the finite values (NaN when there are none).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Robust standard deviation: 1.4826 × median absolute deviation from the median (equal to σ for
/// Gaussian data, insensitive to a minority of outliers such as jumps).
pub fn mad_sigma(values: &[f64]) -> f64 {
    let m = median(values);
    let dev: Vec<f64> = values.iter().map(|v| (v - m).abs()).collect();
    1.4826 * median(&dev)
}

/// Estimate of the white-noise σ of `y` from its second differences (robust, insensitive to a smooth
/// background): Var(y₊ − 2y + y₋) = 6σ². Returns NaN for fewer than 3 points.
pub fn noise_sigma(y: &[f64]) -> f64 {
    if y.len() < 3 {
        return f64::NAN;
    }
    let d2: Vec<f64> = y.windows(3).map(|w| w[0] - 2.0 * w[1] + w[2]).collect();
    mad_sigma(&d2) / 6f64.sqrt()
}

/// Linear interpolation of y(x) at `at`, for `x` strictly increasing. `None` outside [x₀, x_last].
pub fn interp_sorted(x: &[f64], y: &[f64], at: f64) -> Option<f64> {
    let n = x.len().min(y.len());
    if n == 0 || !at.is_finite() {
        return None;
    }
    // Points within a rounding error of the ends count as inside.
    let tol = 1e-9 * (x[n - 1] - x[0]).abs().max(f64::MIN_POSITIVE);
    if at < x[0] - tol || at > x[n - 1] + tol {
        return None;
    }
    let at = at.clamp(x[0], x[n - 1]);
    if n == 1 {
        return Some(y[0]);
    }
    // First index with x[i] >= at.
    let i = x[..n].partition_point(|&v| v < at);
    if i == 0 {
        return Some(y[0]);
    }
    let (x0, x1, y0, y1) = (x[i - 1], x[i], y[i - 1], y[i]);
    if x1 == x0 {
        return Some(0.5 * (y0 + y1));
    }
    Some(y0 + (y1 - y0) * (at - x0) / (x1 - x0))
}

/// A uniform grid `k·step` (k integer) covering [lo, hi]: the first point is the smallest multiple of
/// `step` ≥ lo (within 1e-9 step), the last the largest ≤ hi. The step is rounded to 9 significant
/// digits and the points to a millionth of the step, so that a median step of 0.1000000000000001 mV
/// gives the grid −3, −2.9, … rather than −3.0000000000000018. Empty if the interval is empty, the
/// step is not positive and finite, or the grid would exceed two million points.
pub fn uniform_grid(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    if !(step > 0.0 && step.is_finite() && lo.is_finite() && hi.is_finite()) || hi < lo {
        return Vec::new();
    }
    let digits = step.log10().floor() as i32;
    let round_to = |x: f64, exp: i32| {
        let scale = 10f64.powi(-exp);
        if scale.is_finite() && scale > 0.0 && (x * scale).is_finite() {
            (x * scale).round() / scale
        } else {
            x
        }
    };
    let step = round_to(step, digits - 8);
    let k0 = (lo / step - 1e-9).ceil();
    let k1 = (hi / step + 1e-9).floor();
    if !(k0.is_finite() && k1.is_finite()) || k1 < k0 || k1 - k0 > 2_000_000.0 {
        return Vec::new();
    }
    let (k0, k1) = (k0 as i64, k1 as i64);
    (k0..=k1)
        .map(|k| round_to(k as f64 * step, digits - 6))
        .collect()
}

/// Zero crossings of y(x) along the points in order, linearly interpolated; a point exactly at zero
/// counts once. NaN points break the curve.
pub fn zero_crossings(x: &[f64], y: &[f64]) -> Vec<f64> {
    let n = x.len().min(y.len());
    let mut out = Vec::new();
    for k in 0..n {
        if y[k] == 0.0 {
            out.push(x[k]);
        }
        if k + 1 < n && y[k] * y[k + 1] < 0.0 {
            out.push(x[k] - y[k] * (x[k + 1] - x[k]) / (y[k + 1] - y[k]));
        }
    }
    out
}

/// Median spacing |Δx| between consecutive points, ignoring zero steps (NaN if none).
pub fn median_step(x: &[f64]) -> f64 {
    let d: Vec<f64> = x
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .filter(|d| *d > 0.0)
        .collect();
    median(&d)
}

/// Mean, standard deviation and count of the finite values.
pub(crate) fn mean_sd(values: impl Iterator<Item = f64>) -> (f64, f64, usize) {
    let v: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    let n = v.len();
    if n == 0 {
        return (f64::NAN, f64::NAN, 0);
    }
    let m = v.iter().sum::<f64>() / n as f64;
    let sd = if n > 1 {
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        f64::NAN
    };
    (m, sd, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_and_grid() {
        let x = [0.0, 1.0, 3.0];
        let y = [0.0, 2.0, 0.0];
        assert_eq!(interp_sorted(&x, &y, 0.5), Some(1.0));
        assert_eq!(interp_sorted(&x, &y, 2.0), Some(1.0));
        assert_eq!(interp_sorted(&x, &y, 3.0), Some(0.0));
        assert_eq!(interp_sorted(&x, &y, 3.1), None);
        let g = uniform_grid(-0.25, 0.31, 0.1);
        assert_eq!(g.len(), 6);
        assert!((g[0] + 0.2).abs() < 1e-12 && (g[5] - 0.3).abs() < 1e-12);
        let g = uniform_grid(-3.0000000000000018, 3.0000000000000018, 0.10000000000000009);
        assert_eq!(g.len(), 61);
        assert_eq!((g[0], g[30], g[60]), (-3.0, 0.0, 3.0));
        assert!(uniform_grid(0.0, 1.0, 1e-9).is_empty());
    }

    #[test]
    fn zero_crossings_are_interpolated() {
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let y = [-1.0, 1.0, 0.0, f64::NAN, 2.0];
        assert_eq!(zero_crossings(&x, &y), vec![0.5, 2.0]);
    }

    #[test]
    fn robust_statistics() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        // One huge outlier does not move the MAD σ.
        let v = [-2.0, -1.0, 0.0, 1.0, 2.0, 1e6];
        assert!((mad_sigma(&v) - 1.4826 * 1.5).abs() < 1e-9);
        let w = [-2.0, -1.0, 0.0, 1.0, 2.0, 3.0];
        assert_eq!(mad_sigma(&v), mad_sigma(&w));
        assert!(Trace::new(vec![1.0], vec![f64::NAN]).is_err());
        assert!(Trace::new(vec![1.0], vec![]).is_err());
    }
}
