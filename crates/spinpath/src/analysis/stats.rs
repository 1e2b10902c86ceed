//! Current statistics at fixed bias: histograms of the deviation from the mean, and branches.
//!
//! Input: samples (bias in mV, current in nA), many per bias value (e.g. repeated reads). Samples
//! are grouped by bias (values equal to within `bias_tolerance`). For each bias the deviation
//! I − ⟨I⟩ is histogrammed with bins of `bin` nA centred on multiples of the bin width.
//!
//! Branches: the histogram of each bias is cut into runs of contiguous non-empty bins; every run
//! holding at least `min_occupation` of the samples is a branch, with its mean current and
//! occupation. Branches are named by current: the highest `ON`, the lowest `OFF`, any between `MID`;
//! a lone branch is `SINGLE`. Two branches closer than about one bin merge into one.

use super::mean_sd;
use crate::error::{Error, Result};
use crate::table::Table;

/// Options of [`current_statistics`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatsOptions {
    /// Histogram bin width in nA (default 1).
    pub bin: f64,
    /// Samples whose bias differs by at most this (mV) share a group (default 1e-6).
    pub bias_tolerance: f64,
    /// Smallest fraction of a bias's samples that makes a branch (default 0.05).
    pub min_occupation: f64,
}

impl Default for StatsOptions {
    fn default() -> Self {
        StatsOptions {
            bin: 1.0,
            bias_tolerance: 1e-6,
            min_occupation: 0.05,
        }
    }
}

/// A current branch at one bias.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// Bias in mV.
    pub bias: f64,
    /// `ON`, `MID`, `OFF` or `SINGLE`.
    pub name: String,
    /// Mean current of the branch's samples, nA.
    pub current: f64,
    /// Standard deviation of its samples, nA.
    pub sd: f64,
    /// Fraction of the bias's samples in the branch.
    pub occupation: f64,
    /// Number of samples.
    pub n: usize,
}

/// Statistics of all bias values.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentStats {
    /// Histogram: columns `bias_mV`, `deviation_nA` (bin centre), `count`, `fraction`.
    pub histogram: Table,
    /// Per bias: columns `bias_mV`, `n_samples`, `mean_nA`, `sd_nA`, `n_branches`.
    pub summary: Table,
    /// All branches, by bias then current.
    pub branches: Vec<Branch>,
}

impl CurrentStats {
    /// Columns `bias_mV`, `branch`, `current_nA`, `sd_nA`, `occupation`, `n_samples`.
    pub fn branch_table(&self) -> Result<Table> {
        let b = &self.branches;
        let mut t = Table::new();
        t.push_f64("bias_mV", b.iter().map(|x| x.bias).collect())?;
        t.push_str("branch", b.iter().map(|x| x.name.clone()).collect())?;
        t.push_f64("current_nA", b.iter().map(|x| x.current).collect())?;
        t.push_f64("sd_nA", b.iter().map(|x| x.sd).collect())?;
        t.push_f64("occupation", b.iter().map(|x| x.occupation).collect())?;
        t.push_f64("n_samples", b.iter().map(|x| x.n as f64).collect())?;
        Ok(t)
    }
}

/// The white-noise σ (nA) of the current readings, from the differences of successive samples at
/// the same bias (within `bias_tolerance` mV; acquisition order within each bias):
/// σ = Q₂₅(|d|)/(0.3186·√2) from the lower quartile of |d| (the quartile of a half-normal of scale
/// √2·σ), which stays set by the noise while up to half the differences are switches between
/// branches (it then underestimates σ, which errs towards a finer bin).
/// `None` with fewer than 4 such differences or when the readings are identical.
pub fn noise_sigma_of_samples(bias: &[f64], current: &[f64], bias_tolerance: f64) -> Option<f64> {
    let n = bias.len().min(current.len());
    let mut order: Vec<usize> = (0..n).filter(|&k| bias[k].is_finite()).collect();
    order.sort_by(|&a, &b| bias[a].total_cmp(&bias[b]));
    let d: Vec<f64> = order
        .windows(2)
        .filter(|w| {
            (bias[w[1]] - bias[w[0]]).abs() <= bias_tolerance
                && current[w[0]].is_finite()
                && current[w[1]].is_finite()
        })
        .map(|w| current[w[1]] - current[w[0]])
        .collect();
    if d.len() < 4 {
        return None;
    }
    let mut a: Vec<f64> = d.iter().map(|v| v.abs()).collect();
    a.sort_by(f64::total_cmp);
    let q = a[(a.len() - 1) / 4];
    let s = q / (0.3186 * std::f64::consts::SQRT_2);
    (s.is_finite() && s > 0.0).then_some(s)
}

/// A histogram bin (nA) chosen from the noise: 1.5 σ of [`noise_sigma_of_samples`], so that a branch
/// spans a few bins and two branches separated by more than about 8 σ stay apart. `None` when the
/// noise cannot be estimated.
pub fn bin_from_noise(bias: &[f64], current: &[f64], bias_tolerance: f64) -> Option<f64> {
    noise_sigma_of_samples(bias, current, bias_tolerance).map(|s| 1.5 * s)
}

/// The histogram bin (nA): `given`, else [`bin_from_noise`]. Returns the bin, its source (`given`
/// or `1.5 sigma of the reading noise`) and the noise σ when it could be estimated; an error when
/// no bin is given and the noise cannot be estimated.
pub fn choose_bin(
    given: Option<f64>,
    bias: &[f64],
    current: &[f64],
    bias_tolerance: f64,
) -> Result<(f64, &'static str, Option<f64>)> {
    let sigma = noise_sigma_of_samples(bias, current, bias_tolerance);
    match (given, sigma) {
        (Some(b), s) => Ok((b, "given", s)),
        (None, Some(s)) => Ok((1.5 * s, "1.5 sigma of the reading noise", Some(s))),
        (None, None) => Err(Error::invalid(
            "histogram bin",
            "cannot estimate the reading noise (fewer than 4 successive samples at one bias, or \
             identical readings) to choose the bin; give it (--bin NA)",
        )),
    }
}

/// Histogram the current per bias and detect its branches (bias in mV, current in nA).
pub fn current_statistics(
    bias: &[f64],
    current: &[f64],
    opts: StatsOptions,
) -> Result<CurrentStats> {
    if !(opts.bin > 0.0 && opts.bin.is_finite()) {
        return Err(Error::invalid(
            "histogram bin",
            format!("must be > 0 nA, got {}", opts.bin),
        ));
    }
    if !(opts.bias_tolerance.is_finite() && opts.bias_tolerance >= 0.0) {
        return Err(Error::invalid(
            "bias tolerance",
            format!("must be ≥ 0 mV, got {}", opts.bias_tolerance),
        ));
    }
    if !(0.0..=1.0).contains(&opts.min_occupation) {
        return Err(Error::invalid(
            "minimum occupation",
            format!("must be a fraction in [0, 1], got {}", opts.min_occupation),
        ));
    }
    if bias.len() != current.len() || bias.is_empty() {
        return Err(Error::invalid(
            "current statistics",
            "need equally many bias and current values, at least one",
        ));
    }
    // Group by bias.
    let mut order: Vec<usize> = (0..bias.len()).collect();
    order.sort_by(|&a, &b| bias[a].total_cmp(&bias[b]));
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for &k in &order {
        match groups.last_mut() {
            Some(g) if (bias[k] - bias[g[0]]).abs() <= opts.bias_tolerance => g.push(k),
            _ => groups.push(vec![k]),
        }
    }
    let (mut hb, mut hd, mut hc, mut hf) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut sb, mut sn, mut sm, mut ss, mut snb) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut branches = Vec::new();
    for g in &groups {
        let b = mean_sd(g.iter().map(|&k| bias[k])).0;
        let (mean, sd, n) = mean_sd(g.iter().map(|&k| current[k]));
        // Bin index of each sample's deviation, bins centred on multiples of the width. The span is
        // checked in floating point first, so that no integer conversion can overflow.
        let scaled: Vec<f64> = g
            .iter()
            .map(|&k| ((current[k] - mean) / opts.bin).round())
            .collect();
        let lo_f = scaled.iter().copied().fold(f64::INFINITY, f64::min);
        let hi_f = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let span = hi_f - lo_f;
        if span.is_nan() || span > 100_000.0 {
            return Err(Error::invalid(
                "histogram",
                format!(
                    "at {b} mV the currents span more than 100000 bins of {} nA; use a wider bin",
                    opts.bin
                ),
            ));
        }
        let bins: Vec<i64> = scaled.iter().map(|&v| v as i64).collect();
        let lo = *bins.iter().min().unwrap_or(&0);
        let hi = *bins.iter().max().unwrap_or(&0);
        let mut counts = vec![0usize; (hi - lo + 1) as usize];
        for &bi in &bins {
            counts[(bi - lo) as usize] += 1;
        }
        for (j, &c) in counts.iter().enumerate() {
            hb.push(b);
            hd.push((lo + j as i64) as f64 * opts.bin);
            hc.push(c as f64);
            hf.push(c as f64 / n as f64);
        }
        // Branches: runs of non-empty bins.
        let mut found: Vec<Branch> = Vec::new();
        let mut j = 0;
        while j < counts.len() {
            if counts[j] == 0 {
                j += 1;
                continue;
            }
            let start = j;
            while j < counts.len() && counts[j] > 0 {
                j += 1;
            }
            let members: Vec<f64> = g
                .iter()
                .zip(&bins)
                .filter(|(_, &bi)| bi - lo >= start as i64 && bi - lo < j as i64)
                .map(|(&k, _)| current[k])
                .collect();
            let occ = members.len() as f64 / n as f64;
            if occ >= opts.min_occupation && !members.is_empty() {
                let (m, s, c) = mean_sd(members.into_iter());
                found.push(Branch {
                    bias: b,
                    name: String::new(),
                    current: m,
                    sd: s,
                    occupation: occ,
                    n: c,
                });
            }
        }
        let nb = found.len();
        for (i, br) in found.iter_mut().enumerate() {
            br.name = if nb == 1 {
                "SINGLE"
            } else if i == 0 {
                "OFF"
            } else if i == nb - 1 {
                "ON"
            } else {
                "MID"
            }
            .to_string();
        }
        sb.push(b);
        sn.push(n as f64);
        sm.push(mean);
        ss.push(sd);
        snb.push(nb as f64);
        branches.extend(found);
    }
    let mut histogram = Table::new();
    histogram.push_f64("bias_mV", hb)?;
    histogram.push_f64("deviation_nA", hd)?;
    histogram.push_f64("count", hc)?;
    histogram.push_f64("fraction", hf)?;
    let mut summary = Table::new();
    summary.push_f64("bias_mV", sb)?;
    summary.push_f64("n_samples", sn)?;
    summary.push_f64("mean_nA", sm)?;
    summary.push_f64("sd_nA", ss)?;
    summary.push_f64("n_branches", snb)?;
    Ok(CurrentStats {
        histogram,
        summary,
        branches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_and_histograms_of_telegraph_samples() {
        // Bias 1 mV: 70 % at 10 nA, 30 % at 20 nA (spread ±0.3). Bias 2 mV: three branches
        // 0 / 8 / 16 nA with 50/20/30 %. Bias 3 mV: one branch.
        let mut b = Vec::new();
        let mut i = Vec::new();
        let wig = |k: usize| 0.3 * (((k * 7919) % 13) as f64 / 6.0 - 1.0);
        for k in 0..100 {
            b.push(1.0);
            i.push(if k % 10 < 7 { 10.0 } else { 20.0 } + wig(k));
            b.push(2.0);
            i.push(
                if k % 10 < 5 {
                    0.0
                } else if k % 10 < 7 {
                    8.0
                } else {
                    16.0
                } + wig(k),
            );
            b.push(3.0);
            i.push(5.0 + wig(k));
        }
        // A rare outlier below the occupation threshold.
        b.push(3.0);
        i.push(40.0);
        let s = current_statistics(&b, &i, StatsOptions::default()).unwrap();
        let at = |v: f64| {
            s.branches
                .iter()
                .filter(|x| x.bias == v)
                .cloned()
                .collect::<Vec<_>>()
        };
        let b1 = at(1.0);
        assert_eq!(b1.len(), 2);
        assert_eq!((b1[0].name.as_str(), b1[1].name.as_str()), ("OFF", "ON"));
        assert!((b1[0].occupation - 0.7).abs() < 1e-12 && (b1[0].current - 10.0).abs() < 0.2);
        let b2 = at(2.0);
        assert_eq!(
            b2.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
            vec!["OFF", "MID", "ON"]
        );
        assert!((b2[1].occupation - 0.2).abs() < 1e-12);
        let b3 = at(3.0);
        assert_eq!(b3.len(), 1);
        assert_eq!(b3[0].name, "SINGLE");
        // Histogram fractions sum to one per bias and bins are 1 nA apart.
        let bias = s.histogram.f64("bias_mV").unwrap();
        let frac = s.histogram.f64("fraction").unwrap();
        let total: f64 = bias
            .iter()
            .zip(frac)
            .filter(|(b, _)| **b == 2.0)
            .map(|(_, f)| f)
            .sum();
        assert!((total - 1.0).abs() < 1e-12);
        let dev = s.histogram.f64("deviation_nA").unwrap();
        assert!((dev[1] - dev[0] - 1.0).abs() < 1e-12);
        assert!(current_statistics(
            &b,
            &i,
            StatsOptions {
                bin: 0.0,
                ..Default::default()
            }
        )
        .is_err());
    }
}
