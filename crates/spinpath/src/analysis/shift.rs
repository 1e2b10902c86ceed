//! Voltage shift between two conductance curves (paper 2, Methods D).
//!
//! In a rolling bias window the AP curve is fitted onto the P curve with the shift δ as the only
//! parameter: δ minimises S(δ) = Σᵢ [G_P(Vᵢ) − G_AP(Vᵢ + δ)]² over the P points Vᵢ of the window, so
//! that G_AP(V) ≈ G_P(V − δ): a positive δ means the AP features sit at higher bias. G_AP between its
//! points is a C¹ cubic Hermite interpolant (slopes from three-point differences), so S is smooth in
//! δ. The minimum is bracketed by a scan in steps of a quarter of the P grid step over
//! [−max_shift, +max_shift] and refined by golden-section search.
//!
//! Standard error: σ_δ² = s² / Σᵢ Jᵢ², with s² = S(δ̂)/(n − 1) and Jᵢ = ∂rᵢ/∂δ = −G_AP′(Vᵢ + δ̂)
//! (Gauss–Newton / Jacobian estimate). If the residuals are positively correlated (smoothed
//! derivatives are), s² is inflated by (1 + ρ)/(1 − ρ) with ρ the lag-1 autocorrelation of the
//! residuals (capped at 0.9), the usual effective-sample-size correction.
//!
//! The points used are those of the window whose shifted positions Vᵢ ± max_shift stay inside the
//! AP curve, so the same points enter S for every trial δ. The result is reported at the mean bias
//! of those points.

use super::{median_step, Trace};
use crate::error::{Error, Result};
use crate::table::Table;

/// A C¹ piecewise-cubic Hermite interpolant through sorted points.
#[derive(Debug, Clone)]
pub struct Hermite {
    x: Vec<f64>,
    y: Vec<f64>,
    m: Vec<f64>,
}

impl Hermite {
    /// Build from points (sorted here; non-finite points and repeated x dropped). Needs ≥ 2 points.
    pub fn new(x: &[f64], y: &[f64]) -> Result<Self> {
        let mut pts: Vec<(f64, f64)> = x
            .iter()
            .zip(y)
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .map(|(a, b)| (*a, *b))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        pts.dedup_by(|a, b| a.0 == b.0);
        if pts.len() < 2 {
            return Err(Error::invalid(
                "interpolant",
                "need at least 2 distinct finite points",
            ));
        }
        let (x, y): (Vec<f64>, Vec<f64>) = pts.into_iter().unzip();
        let n = x.len();
        let sec = |i: usize| (y[i + 1] - y[i]) / (x[i + 1] - x[i]);
        let mut m = vec![0.0; n];
        m[0] = sec(0);
        m[n - 1] = sec(n - 2);
        for i in 1..n - 1 {
            let (h0, h1) = (x[i] - x[i - 1], x[i + 1] - x[i]);
            m[i] = (sec(i - 1) * h1 + sec(i) * h0) / (h0 + h1);
        }
        Ok(Hermite { x, y, m })
    }

    /// The x range covered.
    pub fn range(&self) -> (f64, f64) {
        (self.x[0], self.x[self.x.len() - 1])
    }

    /// Weights of the data values yₖ in the slope mⱼ (a linear combination of neighbours).
    fn slope_weights(&self, j: usize) -> Vec<(usize, f64)> {
        let n = self.x.len();
        let h = |k: usize| self.x[k + 1] - self.x[k];
        if j == 0 {
            return vec![(0, -1.0 / h(0)), (1, 1.0 / h(0))];
        }
        if j == n - 1 {
            return vec![(n - 2, -1.0 / h(n - 2)), (n - 1, 1.0 / h(n - 2))];
        }
        let (h0, h1) = (h(j - 1), h(j));
        let a = h1 / (h0 * (h0 + h1));
        let b = h0 / (h1 * (h0 + h1));
        vec![(j - 1, -a), (j, a - b), (j + 1, b)]
    }

    /// Σₖ wₖ² for the value and for the derivative at `t`, where wₖ = ∂(interpolant)/∂yₖ: the factor
    /// by which independent noise of variance σ² on the points enters the interpolated value
    /// (σ²·Σw²) and slope. `None` outside the range.
    pub fn noise_gain(&self, t: f64) -> Option<(f64, f64)> {
        let w = self.weights(t)?;
        Some((
            w.iter().map(|e| e.1 * e.1).sum(),
            w.iter().map(|e| e.2 * e.2).sum(),
        ))
    }

    /// The weights (k, ∂value/∂yₖ, ∂slope/∂yₖ) of the data values in the interpolant at `t`: the
    /// interpolant is linear in the data. `None` outside the range.
    pub fn weights(&self, t: f64) -> Option<Vec<(usize, f64, f64)>> {
        let (lo, hi) = self.range();
        if !(t >= lo && t <= hi) {
            return None;
        }
        let i = self
            .x
            .partition_point(|&v| v <= t)
            .clamp(1, self.x.len() - 1)
            - 1;
        let h = self.x[i + 1] - self.x[i];
        let s = (t - self.x[i]) / h;
        let (s2, s3) = (s * s, s * s * s);
        let basis = [
            (2.0 * s3 - 3.0 * s2 + 1.0, (6.0 * s2 - 6.0 * s) / h),
            ((s3 - 2.0 * s2 + s) * h, (3.0 * s2 - 4.0 * s + 1.0)),
            (-2.0 * s3 + 3.0 * s2, (-6.0 * s2 + 6.0 * s) / h),
            ((s3 - s2) * h, (3.0 * s2 - 2.0 * s)),
        ];
        let mut w: Vec<(usize, f64, f64)> = Vec::with_capacity(8);
        let mut add = |k: usize, v: f64, d: f64| match w.iter_mut().find(|e| e.0 == k) {
            Some(e) => {
                e.1 += v;
                e.2 += d;
            }
            None => w.push((k, v, d)),
        };
        add(i, basis[0].0, basis[0].1);
        add(i + 1, basis[2].0, basis[2].1);
        for (k, c) in self.slope_weights(i) {
            add(k, basis[1].0 * c, basis[1].1 * c);
        }
        for (k, c) in self.slope_weights(i + 1) {
            add(k, basis[3].0 * c, basis[3].1 * c);
        }
        Some(w)
    }

    /// Value and derivative at `t`, `None` outside the range.
    pub fn eval(&self, t: f64) -> Option<(f64, f64)> {
        let (lo, hi) = self.range();
        if !(t >= lo && t <= hi) {
            return None;
        }
        let i = self
            .x
            .partition_point(|&v| v <= t)
            .clamp(1, self.x.len() - 1)
            - 1;
        let h = self.x[i + 1] - self.x[i];
        let s = (t - self.x[i]) / h;
        let (y0, y1, m0, m1) = (self.y[i], self.y[i + 1], self.m[i] * h, self.m[i + 1] * h);
        let s2 = s * s;
        let s3 = s2 * s;
        let v = (2.0 * s3 - 3.0 * s2 + 1.0) * y0
            + (s3 - 2.0 * s2 + s) * m0
            + (-2.0 * s3 + 3.0 * s2) * y1
            + (s3 - s2) * m1;
        let d = ((6.0 * s2 - 6.0 * s) * y0
            + (3.0 * s2 - 4.0 * s + 1.0) * m0
            + (-6.0 * s2 + 6.0 * s) * y1
            + (3.0 * s2 - 2.0 * s) * m1)
            / h;
        Some((v, d))
    }
}

/// Options of [`rolling_shift`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShiftOptions {
    /// Window width in mV (default 40).
    pub window: f64,
    /// Distance between window starts in mV (default window/4).
    pub step: Option<f64>,
    /// Largest |δ| searched in mV (default a quarter of the smaller of the window and the P range).
    pub max_shift: Option<f64>,
    /// Fewest points in a window (default 5).
    pub min_points: usize,
}

impl Default for ShiftOptions {
    fn default() -> Self {
        ShiftOptions {
            window: 40.0,
            step: None,
            max_shift: None,
            min_points: 5,
        }
    }
}

/// The fit of one window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShiftFit {
    /// Window start, mV.
    pub start: f64,
    /// Window end, mV.
    pub end: f64,
    /// Mean bias of the points used, mV.
    pub bias: f64,
    /// δ in mV (NaN if the window could not be fitted).
    pub shift: f64,
    /// Standard error of δ in mV.
    pub shift_err: f64,
    /// Points used.
    pub n: usize,
    /// RMS residual (units of G).
    pub rms: f64,
    /// δ ended on ±max_shift: the true minimum may lie outside the searched range.
    pub at_bound: bool,
}

/// Fit one window: the P points `vp`, `gp` (all used) against the AP interpolant, |δ| ≤ `max_shift`;
/// `ap_sigma` is the noise σ of the AP points (0 to switch the noise-bias correction off).
pub fn fit_shift(
    vp: &[f64],
    gp: &[f64],
    ap: &Hermite,
    ap_sigma: f64,
    max_shift: f64,
    grid_step: f64,
) -> Option<ShiftFit> {
    let n = vp.len();
    if n < 3 || !(max_shift.is_finite() && max_shift > 0.0) {
        return None;
    }
    let var_ap = if ap_sigma.is_finite() {
        ap_sigma * ap_sigma
    } else {
        0.0
    };
    let cost = |d: f64| -> f64 {
        vp.iter()
            .zip(gp)
            .map(|(&v, &g)| match (ap.eval(v + d), ap.noise_gain(v + d)) {
                (Some((a, _)), Some((w, _))) => (g - a).powi(2) - var_ap * w,
                _ => f64::INFINITY,
            })
            .sum()
    };
    let h = (grid_step / 4.0).min(max_shift / 4.0).max(max_shift * 1e-6);
    let steps = (2.0 * max_shift / h).ceil() as usize;
    let mut best = (f64::INFINITY, 0.0);
    for k in 0..=steps {
        let d = (-max_shift + k as f64 * h).min(max_shift);
        let c = cost(d);
        if c < best.0 {
            best = (c, d);
        }
    }
    if !best.0.is_finite() {
        return None;
    }
    // Golden-section refinement in [d − h, d + h] ∩ [−max, max].
    let (mut a, mut b) = ((best.1 - h).max(-max_shift), (best.1 + h).min(max_shift));
    let g = 0.5 * (5f64.sqrt() - 1.0);
    let mut c = b - g * (b - a);
    let mut d = a + g * (b - a);
    let (mut fc, mut fd) = (cost(c), cost(d));
    for _ in 0..80 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - g * (b - a);
            fc = cost(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + g * (b - a);
            fd = cost(d);
        }
        if (b - a).abs() < 1e-12 * max_shift.max(1.0) {
            break;
        }
    }
    let delta = if fc.min(fd) <= best.0 {
        0.5 * (a + b)
    } else {
        best.1
    };
    // Residuals, slopes and the interpolation weights at the optimum.
    let mut res = Vec::with_capacity(n);
    let mut der = Vec::with_capacity(n);
    let mut wts = Vec::with_capacity(n);
    let mut jj = 0.0;
    for (&v, &gv) in vp.iter().zip(gp) {
        let (val, d) = ap.eval(v + delta)?;
        let w = ap.weights(v + delta)?;
        let wd: f64 = w.iter().map(|e| e.2 * e.2).sum();
        res.push(gv - val);
        der.push(d);
        jj += d * d - var_ap * wd;
        wts.push(w);
    }
    let ss: f64 = res.iter().map(|r| r * r).sum();
    let s2 = ss / (n - 1) as f64;
    let gain = |w: &Vec<(usize, f64, f64)>| w.iter().map(|e| e.1 * e.1).sum::<f64>();
    let w_bar = wts.iter().map(gain).sum::<f64>() / n as f64;
    // The P part of the residual variance (P noise and any misfit beyond a pure shift).
    let var_p = (s2 - var_ap * w_bar).max(0.0);
    // δ̂ − δ ≈ Σᵢ Jᵢ eᵢ / ΣJ²: its variance with white noise on both curves, the AP noise entering
    // through the interpolation weights (neighbouring residuals share AP points).
    let mut proj: Vec<(usize, f64)> = Vec::new();
    for (d, w) in der.iter().zip(&wts) {
        for &(k, wv, _) in w {
            match proj.iter_mut().find(|e| e.0 == k) {
                Some(e) => e.1 += d * wv,
                None => proj.push((k, d * wv)),
            }
        }
    }
    let sum_d2: f64 = der.iter().map(|d| d * d).sum();
    let var_num = var_p * sum_d2 + var_ap * proj.iter().map(|e| e.1 * e.1).sum::<f64>();
    // Correlated noise beyond that (smoothed inputs): inflate by 1 + 2·Σₗ ρₗ, the ρₗ being the
    // autocorrelations of the residuals in excess of those the shared AP points explain, summed
    // over lags while they stay significant (> 2/√n).
    let mean_r = res.iter().sum::<f64>() / n as f64;
    let var_r: f64 = res.iter().map(|r| (r - mean_r).powi(2)).sum();
    let var_pred = var_p + var_ap * w_bar;
    let mut inflation = 1.0;
    if var_r > 0.0 && var_pred > 0.0 {
        let significant = 2.0 / (n as f64).sqrt();
        for lag in 1..=(n / 4).min(20) {
            let rho_obs = (0..n - lag)
                .map(|i| (res[i] - mean_r) * (res[i + lag] - mean_r))
                .sum::<f64>()
                / var_r;
            let cov_pred = (0..n - lag)
                .map(|i| {
                    wts[i]
                        .iter()
                        .map(|a| {
                            wts[i + lag]
                                .iter()
                                .filter(|b| b.0 == a.0)
                                .map(|b| a.1 * b.1)
                                .sum::<f64>()
                        })
                        .sum::<f64>()
                })
                .sum::<f64>()
                * var_ap
                / (n - lag) as f64;
            let excess = rho_obs - cov_pred / var_pred;
            if excess < significant {
                break;
            }
            inflation += 2.0 * excess;
        }
    }
    let inflation = inflation.min(20.0);
    let err = if jj > 0.0 {
        (var_num * inflation).sqrt() / jj
    } else {
        f64::NAN
    };
    Some(ShiftFit {
        start: f64::NAN,
        end: f64::NAN,
        bias: vp.iter().sum::<f64>() / n as f64,
        shift: if jj > 0.0 { delta } else { f64::NAN },
        shift_err: err,
        n,
        rms: (ss / n as f64).sqrt(),
        at_bound: (delta.abs() - max_shift).abs() < 1e-9 * max_shift.max(1.0),
    })
}

/// Rolling-window shift of `ap` onto `p` (x = bias in mV, y = conductance; single-valued curves,
/// e.g. sweep averages). Windows start at the lowest P bias and advance by `step` while they fit in
/// the P range; a window wider than the range is the whole range.
///
/// Without an explicit `max_shift` the search starts at a quarter of the window and is doubled, up
/// to half the P bias range, while any window's δ ends on the bound, so that the default does not
/// clip the answer. Windows still at the bound are flagged `at_bound` and left out of
/// [`weighted_mean_shift`].
pub fn rolling_shift(p: &Trace, ap: &Trace, opts: ShiftOptions) -> Result<Vec<ShiftFit>> {
    if opts.max_shift.is_some() {
        return rolling_shift_bounded(p, ap, opts);
    }
    let (lo, hi) =
        p.x.iter()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
    let range = hi - lo;
    let mut max_shift = 0.25 * opts.window.min(range);
    let run = |m: f64| {
        rolling_shift_bounded(
            p,
            ap,
            ShiftOptions {
                max_shift: Some(m),
                ..opts
            },
        )
    };
    // Windows with a shift inside the bound: the ones that count.
    let useful = |f: &[ShiftFit]| {
        f.iter()
            .filter(|f| f.shift.is_finite() && !f.at_bound)
            .count()
    };
    let mut fits = run(max_shift)?;
    // A wider search uses fewer points (their shifted positions must stay inside the AP curve), so
    // every width up to half the range is tried while windows stick at the bound, and the one with
    // the most windows inside their bound is kept (the narrowest on a tie).
    let mut current = fits.clone();
    while current.iter().any(|f| f.at_bound) && 2.0 * max_shift <= 0.5 * range {
        max_shift *= 2.0;
        current = run(max_shift)?;
        if useful(&current) > useful(&fits) {
            fits = current.clone();
        }
    }
    Ok(fits)
}

fn rolling_shift_bounded(p: &Trace, ap: &Trace, opts: ShiftOptions) -> Result<Vec<ShiftFit>> {
    if !(opts.window.is_finite() && opts.window > 0.0) {
        return Err(Error::invalid(
            "shift window",
            format!("must be > 0 mV, got {}", opts.window),
        ));
    }
    let mut pts: Vec<(f64, f64)> =
        p.x.iter()
            .zip(&p.y)
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .map(|(a, b)| (*a, *b))
            .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    if pts.len() < opts.min_points.max(3) {
        return Err(Error::invalid("shift", "the P curve has too few points"));
    }
    let apf = Hermite::new(&ap.x, &ap.y)?;
    let ap_sigma = super::noise_sigma(&apf.y);
    let (alo, ahi) = apf.range();
    let (plo, phi) = (pts[0].0, pts[pts.len() - 1].0);
    let width = opts.window.min(phi - plo);
    let max_shift = opts.max_shift.unwrap_or(0.25 * width);
    if !(max_shift.is_finite() && max_shift > 0.0) {
        return Err(Error::invalid(
            "shift",
            format!("maximum shift must be > 0 mV, got {max_shift}"),
        ));
    }
    let step = opts.step.unwrap_or(opts.window / 4.0);
    if !(step.is_finite() && step > 0.0) {
        return Err(Error::invalid(
            "shift",
            format!("window step must be > 0 mV, got {step}"),
        ));
    }
    let px: Vec<f64> = pts.iter().map(|p| p.0).collect();
    let grid_step = median_step(&px);
    let mut out = Vec::new();
    let mut start = plo;
    loop {
        let end = start + width;
        let (vp, gp): (Vec<f64>, Vec<f64>) = pts
            .iter()
            .filter(|(v, _)| *v >= start - 1e-9 && *v <= end + 1e-9)
            .filter(|(v, _)| v - max_shift >= alo && v + max_shift <= ahi)
            .copied()
            .unzip();
        let mut fit = if vp.len() >= opts.min_points.max(3) {
            fit_shift(&vp, &gp, &apf, ap_sigma, max_shift, grid_step)
        } else {
            None
        };
        let f = fit.get_or_insert(ShiftFit {
            start,
            end,
            bias: if vp.is_empty() {
                0.5 * (start + end)
            } else {
                vp.iter().sum::<f64>() / vp.len() as f64
            },
            shift: f64::NAN,
            shift_err: f64::NAN,
            n: vp.len(),
            rms: f64::NAN,
            at_bound: false,
        });
        f.start = start;
        f.end = end;
        out.push(*f);
        if end >= phi - 1e-9 || out.len() > 1_000_000 {
            break;
        }
        start += step;
        if start + width > phi {
            start = phi - width;
        }
    }
    Ok(out)
}

/// Inverse-variance weighted mean of the windows' shifts (mV), leaving out windows whose δ ended on
/// the search bound; NaN when no window is left. The windows overlap, so this is a summary figure,
/// not an independent estimate.
pub fn weighted_mean_shift(fits: &[ShiftFit]) -> f64 {
    let (mut sw, mut swx) = (0.0, 0.0);
    for f in fits
        .iter()
        .filter(|f| f.shift.is_finite() && f.shift_err > 0.0 && !f.at_bound)
    {
        let w = 1.0 / (f.shift_err * f.shift_err);
        sw += w;
        swx += w * f.shift;
    }
    if sw > 0.0 {
        swx / sw
    } else {
        f64::NAN
    }
}

/// Columns `bias_mV` (mean bias of the window's points), `shift_mV`, `shift_err_mV`,
/// `window_start_mV`, `window_end_mV`, `n_points`, `rms_residual`, `at_bound`.
pub fn shift_table(fits: &[ShiftFit]) -> Result<Table> {
    let mut t = Table::new();
    t.push_f64("bias_mV", fits.iter().map(|f| f.bias).collect())?;
    t.push_f64("shift_mV", fits.iter().map(|f| f.shift).collect())?;
    t.push_f64("shift_err_mV", fits.iter().map(|f| f.shift_err).collect())?;
    t.push_f64("window_start_mV", fits.iter().map(|f| f.start).collect())?;
    t.push_f64("window_end_mV", fits.iter().map(|f| f.end).collect())?;
    t.push_f64("n_points", fits.iter().map(|f| f.n as f64).collect())?;
    t.push_f64("rms_residual", fits.iter().map(|f| f.rms).collect())?;
    t.push_str(
        "at_bound",
        fits.iter().map(|f| f.at_bound.to_string()).collect(),
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64 + Box–Muller: reproducible Gaussian noise for the tests.
    struct Rng(u64);
    impl Rng {
        fn uniform(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }
        fn gauss(&mut self) -> f64 {
            let (u, v) = (self.uniform(), self.uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        }
    }

    fn pair(v: f64) -> f64 {
        let l = |x0: f64| 4.0 / ((v - x0).powi(2) + 4.0);
        1.0 + l(-6.0) + 0.7 * l(7.0)
    }

    #[test]
    fn hermite_reproduces_values_and_slopes_of_a_quadratic() {
        let x: Vec<f64> = (0..20).map(|i| i as f64 * 0.3).collect();
        let y: Vec<f64> = x.iter().map(|v| v * v).collect();
        let h = Hermite::new(&x, &y).unwrap();
        let (v, d) = h.eval(1.0).unwrap();
        assert!((v - 1.0).abs() < 1e-12 && (d - 2.0).abs() < 1e-12);
        assert!(h.eval(-0.1).is_none());
    }

    #[test]
    fn noise_free_shift_is_exact() {
        let v: Vec<f64> = (0..=400).map(|i| -40.0 + i as f64 * 0.2).collect();
        let p = Trace::new(v.clone(), v.iter().map(|&x| pair(x)).collect()).unwrap();
        let ap = Trace::new(v.clone(), v.iter().map(|&x| pair(x - 0.73)).collect()).unwrap();
        let fits = rolling_shift(
            &p,
            &ap,
            ShiftOptions {
                step: Some(10.0),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(fits.len(), 5);
        for f in &fits {
            assert!((f.shift - 0.73).abs() < 2e-3, "{f:?}");
            assert!(!f.at_bound);
            assert!(f.bias > f.start && f.bias < f.end);
        }
    }

    #[test]
    fn shift_of_noisy_lorentzian_pair_is_within_its_reported_error() {
        // 100 noise realisations × 2 disjoint windows: the truth is within 3σ of nearly every fit
        // and the z-scores have unit variance (errors neither optimistic nor pessimistic).
        let truth = 0.73;
        let sigma = 0.01;
        let v: Vec<f64> = (0..=400).map(|i| -40.0 + i as f64 * 0.2).collect();
        let mut z2 = Vec::new();
        let mut rng = Rng(12345);
        for _ in 0..100 {
            let p = Trace::new(
                v.clone(),
                v.iter().map(|&x| pair(x) + sigma * rng.gauss()).collect(),
            )
            .unwrap();
            let ap = Trace::new(
                v.clone(),
                v.iter()
                    .map(|&x| pair(x - truth) + sigma * rng.gauss())
                    .collect(),
            )
            .unwrap();
            let fits = rolling_shift(
                &p,
                &ap,
                ShiftOptions {
                    step: Some(40.0),
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!(fits.len(), 2);
            for f in fits {
                let z = (f.shift - truth) / f.shift_err;
                assert!(f.shift_err > 0.0 && f.shift_err < 0.1, "{f:?}");
                assert!(z.abs() < 5.0, "{f:?}");
                z2.push(z * z);
            }
        }
        let within3 = z2.iter().filter(|&&z| z < 9.0).count() as f64 / z2.len() as f64;
        let mean_z2 = z2.iter().sum::<f64>() / z2.len() as f64;
        eprintln!("white noise: within 3σ: {within3}, mean z² = {mean_z2}");
        assert!(within3 >= 0.97, "{within3}");
        assert!((0.7..1.3).contains(&mean_z2), "mean z² = {mean_z2}");
    }

    #[test]
    fn correlated_noise_inflates_the_error_honestly() {
        // Noise smoothed over 5 points (as a Savitzky–Golay derivative would be) on both curves.
        let truth = -1.1;
        let v: Vec<f64> = (0..=400).map(|i| -40.0 + i as f64 * 0.2).collect();
        let mut rng = Rng(777);
        let mut smooth_noise = |n: usize| {
            let white: Vec<f64> = (0..n + 4).map(|_| 0.01 * rng.gauss()).collect();
            white
                .windows(5)
                .map(|w| w.iter().sum::<f64>() / 5f64.sqrt())
                .collect::<Vec<f64>>()
        };
        let mut z2 = Vec::new();
        for _ in 0..100 {
            let (np, na) = (smooth_noise(v.len()), smooth_noise(v.len()));
            let p = Trace::new(
                v.clone(),
                v.iter().zip(&np).map(|(&x, e)| pair(x) + e).collect(),
            )
            .unwrap();
            let ap = Trace::new(
                v.clone(),
                v.iter()
                    .zip(&na)
                    .map(|(&x, e)| pair(x - truth) + e)
                    .collect(),
            )
            .unwrap();
            let fits = rolling_shift(
                &p,
                &ap,
                ShiftOptions {
                    step: Some(40.0),
                    ..Default::default()
                },
            )
            .unwrap();
            for f in fits {
                let z = (f.shift - truth) / f.shift_err;
                z2.push(z * z);
            }
        }
        let within3 = z2.iter().filter(|&&z| z < 9.0).count() as f64 / z2.len() as f64;
        let mean_z2 = z2.iter().sum::<f64>() / z2.len() as f64;
        eprintln!("correlated noise: within 3σ: {within3}, mean z² = {mean_z2}");
        assert!(within3 >= 0.97, "{within3}");
        assert!((0.65..1.45).contains(&mean_z2), "mean z² = {mean_z2}");
    }

    #[test]
    fn flat_curves_give_an_undefined_shift() {
        let v: Vec<f64> = (0..=50).map(|i| i as f64 * 0.1).collect();
        let p = Trace::new(v.clone(), vec![1.0; v.len()]).unwrap();
        let fits = rolling_shift(&p, &p, ShiftOptions::default()).unwrap();
        assert_eq!(fits.len(), 1);
        assert!(fits[0].shift.is_nan());
        let csv = shift_table(&fits).unwrap().to_csv_string().unwrap();
        assert!(!csv.contains("NaN") && !csv.contains("inf"));
    }
}
