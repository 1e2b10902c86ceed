//! Peaks of conductance or TMR curves: position, height, prominence, FWHM; and pairs of peaks with
//! a common spacing (Coulomb gaps) tracked across datasets.
//!
//! - A peak is a local maximum (the middle of a flat top) whose prominence is at least
//!   `min_prominence`. The prominence is the height above the higher of the two bases, each base
//!   being the lowest point between the peak and the nearest higher point on that side (or the end
//!   of the curve).
//! - The FWHM is the distance between the interpolated crossings of the half level on both sides.
//!   The half level is `height − prominence/2` by default (half-maximum above the local
//!   background), or `height/2` ([`HalfLevel::Zero`]) for peaks on a zero baseline. If a side never
//!   crosses it before the curve ends or rises above the peak, the FWHM is undefined (NaN).

use super::{mean_sd, Trace};
use crate::error::{Error, Result};
use crate::table::Table;

/// Reference for the half-maximum level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HalfLevel {
    /// `height − prominence/2`.
    #[default]
    Prominence,
    /// `height/2` (zero baseline).
    Zero,
}

/// Options of [`find_peaks`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PeakOptions {
    /// Minimum prominence (units of y). Default: the larger of 5σ of the noise (second differences)
    /// and 5 % of the curve's range.
    pub min_prominence: Option<f64>,
    /// Half level of the FWHM.
    pub half_level: HalfLevel,
    /// Look for dips (minima) instead: the curve is negated, heights are reported negated back.
    pub dips: bool,
}

/// One peak.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    /// Index of the maximum in the (sorted) curve.
    pub index: usize,
    /// Position (x of the maximum).
    pub position: f64,
    /// Height (y at the maximum).
    pub height: f64,
    /// Prominence (≥ 0).
    pub prominence: f64,
    /// Full width at half maximum (NaN if a side does not cross).
    pub fwhm: f64,
    /// Left half-level crossing.
    pub left: f64,
    /// Right half-level crossing.
    pub right: f64,
}

/// Find peaks of y(x). x is sorted increasingly first (with y), so a single-valued curve is
/// expected (e.g. a sweep average); NaN points are dropped.
pub fn find_peaks(x: &[f64], y: &[f64], opts: PeakOptions) -> Result<Vec<Peak>> {
    let mut pts: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| (*a, if opts.dips { -*b } else { *b }))
        .collect();
    if pts.len() < 3 {
        return Err(Error::invalid("peaks", "need at least 3 finite points"));
    }
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (xs, ys): (Vec<f64>, Vec<f64>) = pts.into_iter().unzip();
    let n = ys.len();
    let min_prom = match opts.min_prominence {
        Some(p) if p >= 0.0 => p,
        Some(p) => {
            return Err(Error::invalid(
                "peaks",
                format!("minimum prominence must be ≥ 0, got {p}"),
            ))
        }
        None => {
            let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (5.0 * super::noise_sigma(&ys)).max(0.05 * (hi - lo))
        }
    };
    let mut peaks = Vec::new();
    let mut i = 1;
    while i + 1 < n {
        if ys[i] > ys[i - 1] {
            // Extend over a flat top.
            let mut j = i;
            while j + 1 < n && ys[j + 1] == ys[i] {
                j += 1;
            }
            if j + 1 < n && ys[j + 1] < ys[i] {
                let k = (i + j) / 2;
                if let Some(p) = describe(&xs, &ys, k, opts.half_level) {
                    if p.prominence >= min_prom && p.prominence > 0.0 {
                        peaks.push(p);
                    }
                }
            }
            i = j + 1;
        } else {
            i += 1;
        }
    }
    if opts.dips {
        for p in &mut peaks {
            p.height = -p.height;
        }
    }
    Ok(peaks)
}

fn describe(xs: &[f64], ys: &[f64], k: usize, half: HalfLevel) -> Option<Peak> {
    let h = ys[k];
    let n = ys.len();
    // Bases: lowest point before a higher point (or the end) on each side.
    let mut left_min = h;
    let mut l = k;
    while l > 0 && ys[l - 1] <= h {
        l -= 1;
        left_min = left_min.min(ys[l]);
    }
    let mut right_min = h;
    let mut r = k;
    while r + 1 < n && ys[r + 1] <= h {
        r += 1;
        right_min = right_min.min(ys[r]);
    }
    let prominence = h - left_min.max(right_min);
    let level = match half {
        HalfLevel::Prominence => h - 0.5 * prominence,
        HalfLevel::Zero => 0.5 * h,
    };
    let cross = |from: usize, step: isize| -> f64 {
        let mut a = from as isize;
        loop {
            let b = a + step;
            if b < 0 || b >= n as isize {
                return f64::NAN;
            }
            let (ia, ib) = (a as usize, b as usize);
            if ys[ib] > h {
                return f64::NAN;
            }
            if ys[ib] <= level {
                let t = if ys[ia] == ys[ib] {
                    0.0
                } else {
                    (ys[ia] - level) / (ys[ia] - ys[ib])
                };
                return xs[ia] + t * (xs[ib] - xs[ia]);
            }
            a = b;
        }
    };
    let left = cross(k, -1);
    let right = cross(k, 1);
    Some(Peak {
        index: k,
        position: xs[k],
        height: h,
        prominence,
        fwhm: right - left,
        left,
        right,
    })
}

/// Columns `dataset`, `position_<x_unit>`, `height_<y_unit>`, `prominence_<y_unit>`,
/// `fwhm_<x_unit>`, `left_half_<x_unit>`, `right_half_<x_unit>` for peaks of several datasets.
pub fn peaks_table(sets: &[(String, Vec<Peak>)], x_unit: &str, y_unit: &str) -> Result<Table> {
    let rows: Vec<(&String, &Peak)> = sets
        .iter()
        .flat_map(|(n, ps)| ps.iter().map(move |p| (n, p)))
        .collect();
    let mut t = Table::new();
    t.push_str("dataset", rows.iter().map(|r| r.0.clone()).collect())?;
    t.push_f64(
        format!("position_{x_unit}"),
        rows.iter().map(|r| r.1.position).collect(),
    )?;
    t.push_f64(
        format!("height_{y_unit}"),
        rows.iter().map(|r| r.1.height).collect(),
    )?;
    t.push_f64(
        format!("prominence_{y_unit}"),
        rows.iter().map(|r| r.1.prominence).collect(),
    )?;
    t.push_f64(
        format!("fwhm_{x_unit}"),
        rows.iter().map(|r| r.1.fwhm).collect(),
    )?;
    t.push_f64(
        format!("left_half_{x_unit}"),
        rows.iter().map(|r| r.1.left).collect(),
    )?;
    t.push_f64(
        format!("right_half_{x_unit}"),
        rows.iter().map(|r| r.1.right).collect(),
    )?;
    Ok(t)
}

/// A pair of peaks of one dataset matching the common spacing.
#[derive(Debug, Clone, PartialEq)]
pub struct PeakPair {
    /// Dataset index.
    pub dataset: usize,
    /// Left peak position.
    pub left: f64,
    /// Right peak position.
    pub right: f64,
    /// right − left.
    pub spacing: f64,
    /// (left + right)/2.
    pub center: f64,
}

/// Peak pairs with a common spacing across datasets.
#[derive(Debug, Clone, PartialEq)]
pub struct CommonSpacing {
    /// Mean spacing of the matched pairs.
    pub spacing: f64,
    /// Standard deviation of the matched spacings (NaN for one pair).
    pub spacing_sd: f64,
    /// One pair per dataset that has one.
    pub pairs: Vec<PeakPair>,
}

impl CommonSpacing {
    /// Columns `dataset`, `left_<u>`, `right_<u>`, `spacing_<u>`, `center_<u>`; dataset names from
    /// `names`.
    pub fn table(&self, names: &[String], unit: &str) -> Result<Table> {
        let mut t = Table::new();
        t.push_str(
            "dataset",
            self.pairs
                .iter()
                .map(|p| {
                    names
                        .get(p.dataset)
                        .cloned()
                        .unwrap_or_else(|| p.dataset.to_string())
                })
                .collect(),
        )?;
        t.push_f64(
            format!("left_{unit}"),
            self.pairs.iter().map(|p| p.left).collect(),
        )?;
        t.push_f64(
            format!("right_{unit}"),
            self.pairs.iter().map(|p| p.right).collect(),
        )?;
        t.push_f64(
            format!("spacing_{unit}"),
            self.pairs.iter().map(|p| p.spacing).collect(),
        )?;
        t.push_f64(
            format!("center_{unit}"),
            self.pairs.iter().map(|p| p.center).collect(),
        )?;
        Ok(t)
    }
}

/// Find the spacing shared by pairs of peaks in the most datasets. Every pair (i < j) of peaks of
/// every dataset proposes its spacing s; a proposal is supported by each dataset having a pair
/// within `tolerance` of s; the best-supported proposal (ties: the smallest spread) wins, and each
/// supporting dataset contributes its pair closest to it (ties: the larger summed prominence).
/// `None` if no dataset has two peaks.
pub fn common_spacing(sets: &[Vec<Peak>], tolerance: f64) -> Option<CommonSpacing> {
    let pairs_of = |ps: &Vec<Peak>| -> Vec<(f64, f64, f64)> {
        let mut v = Vec::new();
        for a in 0..ps.len() {
            for b in a + 1..ps.len() {
                let (l, r) = if ps[a].position <= ps[b].position {
                    (a, b)
                } else {
                    (b, a)
                };
                v.push((
                    ps[l].position,
                    ps[r].position,
                    ps[l].prominence + ps[r].prominence,
                ));
            }
        }
        v
    };
    let all: Vec<Vec<(f64, f64, f64)>> = sets.iter().map(pairs_of).collect();
    let mut best: Option<(usize, f64, Vec<PeakPair>)> = None;
    for cand in all.iter().flatten() {
        let s = cand.1 - cand.0;
        let mut chosen = Vec::new();
        for (d, ps) in all.iter().enumerate() {
            let pick = ps
                .iter()
                .filter(|p| ((p.1 - p.0) - s).abs() <= tolerance)
                .min_by(|a, b| {
                    let da = ((a.1 - a.0) - s).abs();
                    let db = ((b.1 - b.0) - s).abs();
                    da.total_cmp(&db).then(b.2.total_cmp(&a.2))
                });
            if let Some(p) = pick {
                chosen.push(PeakPair {
                    dataset: d,
                    left: p.0,
                    right: p.1,
                    spacing: p.1 - p.0,
                    center: 0.5 * (p.0 + p.1),
                });
            }
        }
        let spread = mean_sd(chosen.iter().map(|p| p.spacing)).1;
        let spread = if spread.is_finite() { spread } else { 0.0 };
        let better = match &best {
            None => true,
            Some((count, sp, _)) => {
                chosen.len() > *count || (chosen.len() == *count && spread < *sp)
            }
        };
        if better {
            best = Some((chosen.len(), spread, chosen));
        }
    }
    let (_, _, pairs) = best?;
    let (m, sd, _) = mean_sd(pairs.iter().map(|p| p.spacing));
    Some(CommonSpacing {
        spacing: m,
        spacing_sd: sd,
        pairs,
    })
}

/// Convenience: peaks of a single-valued curve given as a [`Trace`].
pub fn trace_peaks(t: &Trace, opts: PeakOptions) -> Result<Vec<Peak>> {
    find_peaks(&t.x, &t.y, opts)
}

/// The FWHM of a dI/dV peak corrected for the broadening by the derivative: a Lorentzian
/// dI/dV peak of trial width w (I(V) = (w/2)·atan((V − V₀)/(w/2)), sampled on the same bias step) is
/// differentiated with `method` and its FWHM measured as in [`find_peaks`]; w is adjusted until
/// that measured FWHM equals `measured` (fixed-point iteration). The model curve extends `extent`
/// = (left, right) mV from the peak, as the data do, so that a half level raised by a truncated
/// tail is reproduced too. Returns `measured` unchanged when
/// it is not finite, and NaN when it is narrower than what the derivative itself gives for an
/// infinitely sharp peak (the width is not resolved).
pub fn deconvolved_fwhm(
    measured: f64,
    step: f64,
    method: super::derivative::Method,
    half_level: HalfLevel,
    extent: (f64, f64),
) -> f64 {
    if !(measured.is_finite() && measured > 0.0 && step > 0.0 && step.is_finite()) {
        return measured;
    }
    // The measured width of a model peak of width w, averaged over where the peak sits between
    // grid points (on a point, a quarter and half a step off).
    let model_at = |w: f64, phase: f64| -> Option<f64> {
        let lo = (extent.0.abs() / step).round() as i64;
        let hi = (extent.1.abs() / step).round() as i64;
        if lo + hi > 400_000 || lo + hi < 4 {
            return None;
        }
        let x: Vec<f64> = (-lo..=hi).map(|k| k as f64 * step).collect();
        let y: Vec<f64> = x
            .iter()
            .map(|v| 0.5 * w * ((v - phase * step) / (0.5 * w)).atan())
            .collect();
        let d = super::derivative::didv(&Trace { x, y }, method).ok()?;
        let opts = PeakOptions {
            min_prominence: Some(0.0),
            half_level,
            dips: false,
        };
        let ps = find_peaks(&d.bias, &d.didv, opts).ok()?;
        ps.into_iter()
            .max_by(|a, b| a.height.total_cmp(&b.height))
            .map(|p| p.fwhm)
            .filter(|f| f.is_finite())
    };
    let model = |w: f64| -> Option<f64> {
        let v: Option<Vec<f64>> = [0.0, 0.25, 0.5].iter().map(|&p| model_at(w, p)).collect();
        v.map(|v| v.iter().sum::<f64>() / v.len() as f64)
    };
    // The narrowest width the derivative can give.
    match model(1e-3 * step) {
        Some(floor) if measured <= floor => return f64::NAN,
        None => return measured,
        _ => {}
    }
    let mut w = measured;
    for _ in 0..60 {
        let Some(m) = model(w) else {
            return measured;
        };
        let next = w * measured / m;
        if (next - w).abs() <= 1e-6 * w {
            return next;
        }
        w = next;
    }
    w
}

/// Correct the widths of peaks found on an averaged dI/dV curve `x` (mV, sorted) for the
/// derivative's smoothing ([`deconvolved_fwhm`]); the half-level crossings are moved with the width.
pub fn correct_didv_widths(
    peaks: &mut [Peak],
    x: &[f64],
    method: super::derivative::Method,
    half_level: HalfLevel,
) {
    let step = super::median_step(x);
    let (lo, hi) = (
        x.first().copied().unwrap_or(0.0),
        x.last().copied().unwrap_or(0.0),
    );
    for p in peaks {
        let raw = p.fwhm;
        let extent = (p.position - lo, hi - p.position);
        let w = deconvolved_fwhm(raw, step, method, half_level, extent);
        if raw.is_finite() && raw > 0.0 {
            let r = if w.is_finite() { w / raw } else { f64::NAN };
            p.left = p.position - (p.position - p.left) * r;
            p.right = p.position + (p.right - p.position) * r;
        }
        p.fwhm = w;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lorentz(x: f64, x0: f64, gamma: f64, a: f64) -> f64 {
        a * gamma * gamma / ((x - x0).powi(2) + gamma * gamma)
    }

    #[test]
    fn fwhm_of_a_lorentzian() {
        // HWHM γ = 0.7: FWHM = 1.4, on a fine grid.
        let x: Vec<f64> = (0..=4000).map(|i| -20.0 + i as f64 * 0.01).collect();
        let y: Vec<f64> = x.iter().map(|&v| lorentz(v, 1.3, 0.7, 2.0)).collect();
        let p = find_peaks(
            &x,
            &y,
            PeakOptions {
                half_level: HalfLevel::Zero,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(p.len(), 1);
        assert!((p[0].position - 1.3).abs() < 1e-9);
        assert!((p[0].height - 2.0).abs() < 1e-12);
        assert!((p[0].fwhm - 1.4).abs() < 1e-4, "{}", p[0].fwhm);
        // Prominence-based half level: base at the far end is 2γ²/(21.3²) high, nearly zero.
        let p = find_peaks(&x, &y, PeakOptions::default()).unwrap();
        assert!((p[0].fwhm - 1.4).abs() < 5e-3, "{}", p[0].fwhm);
        assert!(p[0].prominence < 2.0 && p[0].prominence > 1.99);
    }

    #[test]
    fn prominence_filters_bumps_and_dips_work() {
        let x: Vec<f64> = (0..=600).map(|i| -3.0 + i as f64 * 0.01).collect();
        let y: Vec<f64> = x
            .iter()
            .map(|&v| {
                lorentz(v, -1.0, 0.2, 1.0) + lorentz(v, 1.0, 0.2, 1.0) + 0.02 * (40.0 * v).sin()
            })
            .collect();
        let p = find_peaks(
            &x,
            &y,
            PeakOptions {
                min_prominence: Some(0.3),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(p.len(), 2);
        assert!((p[0].position + 1.0).abs() < 0.05 && (p[1].position - 1.0).abs() < 0.05);
        let neg: Vec<f64> = y.iter().map(|v| -v).collect();
        let d = find_peaks(
            &x,
            &neg,
            PeakOptions {
                min_prominence: Some(0.3),
                dips: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(d.len(), 2);
        assert!(d[0].height < -0.9);
    }

    #[test]
    fn coulomb_gap_pairs_tracked_across_datasets() {
        let pk = |pos: f64, prom: f64| Peak {
            index: 0,
            position: pos,
            height: prom,
            prominence: prom,
            fwhm: 0.1,
            left: pos - 0.05,
            right: pos + 0.05,
        };
        // Gap of 2.0 mV centred at 0, 0.1, 0.2 plus distracting peaks.
        let sets = vec![
            vec![pk(-1.0, 1.0), pk(0.4, 0.3), pk(1.0, 1.0)],
            vec![pk(-0.9, 1.0), pk(1.1, 1.0), pk(2.5, 0.2)],
            vec![pk(-0.8, 1.0), pk(1.21, 1.0)],
        ];
        let c = common_spacing(&sets, 0.05).unwrap();
        assert_eq!(c.pairs.len(), 3);
        assert!((c.spacing - 2.003_333).abs() < 1e-3, "{}", c.spacing);
        assert!((c.pairs[1].center - 0.1).abs() < 1e-9);
        assert!(common_spacing(&[vec![pk(0.0, 1.0)]], 0.1).is_none());
    }
}
