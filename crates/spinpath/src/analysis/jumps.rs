//! Abrupt current jumps in a time trace, their sign sequence and write/read success tables.
//!
//! Detection: the point-to-point differences dᵢ = yᵢ₊₁ − yᵢ have a robust spread σ_d (1.4826 × MAD,
//! insensitive to the jumps themselves; floored by the RMS of the central 90 % of the differences
//! for digitised data whose MAD vanishes); a difference with |dᵢ − median(d)| > `threshold`·σ_d is part
//! of a jump. Consecutive flagged differences form one jump (a finite rise time); its size is the
//! mean of up to `level_points` points after it minus the mean of up to `level_points` points before
//! it (never reaching into a neighbouring jump). Groups whose size is below `threshold`·σ (σ = σ_d/√2,
//! the white-noise σ) are spikes, not jumps, and are dropped.
//!
//! Signs: `P` for a jump towards more negative current (size < 0), `N` for a jump back towards
//! positive current (size > 0).
//!
//! Cycles: with a cycle number per sample, the signs of the jumps in each cycle form its sequence
//! (`-` for none); [`success_table`] counts the cycles per sequence and, given the expected
//! sequence, the success rate (as in paper 2, Table S1).

use super::{mad_sigma, median};
use crate::error::{Error, Result};
use crate::table::Table;

/// Options of [`detect_jumps`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JumpOptions {
    /// Threshold in units of the robust σ of the differences (default 6).
    pub threshold: f64,
    /// Points averaged on each side to measure a jump (default 5).
    pub level_points: usize,
}

impl Default for JumpOptions {
    fn default() -> Self {
        JumpOptions {
            threshold: 6.0,
            level_points: 5,
        }
    }
}

/// One jump.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jump {
    /// Index of the first sample after the jump.
    pub index: usize,
    /// x (time, or sample index) midway between the last sample before and the first after.
    pub x: f64,
    /// Current change in nA (after − before).
    pub size: f64,
    /// `P` (towards more negative current) or `N` (towards positive).
    pub sign: char,
    /// Mean current before, nA.
    pub before: f64,
    /// Mean current after, nA.
    pub after: f64,
}

/// Jumps found in a trace and the noise they were judged against.
#[derive(Debug, Clone, PartialEq)]
pub struct Jumps {
    /// The jumps in time order.
    pub jumps: Vec<Jump>,
    /// White-noise σ of the current, nA.
    pub noise_sigma: f64,
}

impl Jumps {
    /// The sign sequence, e.g. `PNPN`.
    pub fn sequence(&self) -> String {
        self.jumps.iter().map(|j| j.sign).collect()
    }

    /// Columns `index`, `x`, `size_nA`, `sign`, `before_nA`, `after_nA` (`x_name` names the x column,
    /// e.g. `time_s` or `sample`).
    pub fn table(&self, x_name: &str) -> Result<Table> {
        let j = &self.jumps;
        let mut t = Table::new();
        t.push_f64("index", j.iter().map(|v| v.index as f64).collect())?;
        t.push_f64(x_name, j.iter().map(|v| v.x).collect())?;
        t.push_f64("size_nA", j.iter().map(|v| v.size).collect())?;
        t.push_str("sign", j.iter().map(|v| v.sign.to_string()).collect())?;
        t.push_f64("before_nA", j.iter().map(|v| v.before).collect())?;
        t.push_f64("after_nA", j.iter().map(|v| v.after).collect())?;
        Ok(t)
    }
}

/// Detect jumps in current `y` (nA) sampled at `x` (time or index, same length).
pub fn detect_jumps(x: &[f64], y: &[f64], opts: JumpOptions) -> Result<Jumps> {
    if x.len() != y.len() {
        return Err(Error::invalid("jumps", "x and y differ in length"));
    }
    if !(opts.threshold.is_finite() && opts.threshold > 0.0) || opts.level_points == 0 {
        return Err(Error::invalid(
            "jumps",
            format!(
                "threshold must be > 0 and level points ≥ 1, got {} and {}",
                opts.threshold, opts.level_points
            ),
        ));
    }
    let n = y.len();
    if n < 3 {
        return Ok(Jumps {
            jumps: Vec::new(),
            noise_sigma: f64::NAN,
        });
    }
    let d: Vec<f64> = y.windows(2).map(|w| w[1] - w[0]).collect();
    let med = median(&d);
    // Robust spread; for digitised data with few distinct steps the MAD can vanish, so it is
    // floored by the RMS of the central 90 % of the differences.
    let mut dev: Vec<f64> = d.iter().map(|v| (v - med).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let keep = ((dev.len() as f64 * 0.9).ceil() as usize).clamp(1, dev.len());
    let trimmed_rms = (dev[..keep].iter().map(|v| v * v).sum::<f64>() / keep as f64).sqrt();
    let sd = mad_sigma(&d).max(trimmed_rms);
    let scale = y
        .iter()
        .map(|v| v.abs())
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let limit = (opts.threshold * sd).max(1e-12 * scale);
    let flagged: Vec<bool> = d.iter().map(|di| (di - med).abs() > limit).collect();
    // Groups of consecutive flagged differences: difference i joins samples i and i+1.
    let groups = super::tmr::runs(&flagged);
    let mut jumps = Vec::new();
    let sigma = sd / 2f64.sqrt();
    for (g, &(a, b)) in groups.iter().enumerate() {
        // Samples a..=b+1 take part; before: up to m samples ending at a, after: from b+1.
        let prev_end = if g == 0 { 0 } else { groups[g - 1].1 + 1 };
        let next_start = groups.get(g + 1).map_or(n - 1, |h| h.0);
        let m = opts.level_points;
        let before_lo = a.saturating_sub(m - 1).max(prev_end);
        let after_hi = (b + 1 + m - 1).min(next_start);
        let before = mean(&y[before_lo..=a]);
        let after = mean(&y[b + 1..=after_hi]);
        let size = after - before;
        if size.abs() <= (opts.threshold * sigma).max(1e-12 * scale) {
            continue;
        }
        jumps.push(Jump {
            index: b + 1,
            x: 0.5 * (x[a] + x[b + 1]),
            size,
            sign: if size < 0.0 { 'P' } else { 'N' },
            before,
            after,
        });
    }
    Ok(Jumps {
        jumps,
        noise_sigma: sigma,
    })
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// The sign sequence of each cycle, in order of first appearance of the cycle number; `cycle` gives
/// each sample's cycle (same length as the trace). Cycles without jumps have the sequence `-`.
pub fn cycle_sequences(jumps: &[Jump], cycle: &[i64]) -> Vec<(i64, String)> {
    let mut out: Vec<(i64, String)> = Vec::new();
    for &c in cycle {
        if out.last().is_none_or(|l| l.0 != c) && !out.iter().any(|l| l.0 == c) {
            out.push((c, String::new()));
        }
    }
    for j in jumps {
        if let Some(&c) = cycle.get(j.index) {
            if let Some(e) = out.iter_mut().find(|e| e.0 == c) {
                e.1.push(j.sign);
            }
        }
    }
    for e in &mut out {
        if e.1.is_empty() {
            e.1.push('-');
        }
    }
    out
}

/// Counts of cycles per sequence, most frequent first. Columns `sequence`, `count`, `fraction`,
/// `success` (`true` for the expected sequence; empty when none is given). Also returns the success
/// rate (NaN without an expected sequence or cycles).
pub fn success_table(sequences: &[(i64, String)], expected: Option<&str>) -> Result<(Table, f64)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for (_, s) in sequences {
        match counts.iter_mut().find(|c| &c.0 == s) {
            Some(c) => c.1 += 1,
            None => counts.push((s.clone(), 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let total = sequences.len();
    let mut t = Table::new();
    t.push_str("sequence", counts.iter().map(|c| c.0.clone()).collect())?;
    t.push_f64("count", counts.iter().map(|c| c.1 as f64).collect())?;
    t.push_f64(
        "fraction",
        counts.iter().map(|c| c.1 as f64 / total as f64).collect(),
    )?;
    t.push_str(
        "success",
        counts
            .iter()
            .map(|c| expected.map_or(String::new(), |e| (c.0 == e).to_string()))
            .collect(),
    )?;
    let rate = match expected {
        Some(e) if total > 0 => sequences.iter().filter(|s| s.1 == e).count() as f64 / total as f64,
        _ => f64::NAN,
    };
    Ok((t, rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(k: usize) -> f64 {
        // Deterministic pseudo-noise, uniform in [-0.05, 0.05] (SplitMix64 hash of k).
        let mut z = (k as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        0.1 * ((z >> 11) as f64 / (1u64 << 53) as f64 - 0.5)
    }

    #[test]
    fn known_jumps_are_found_with_their_signs() {
        // Levels: 0 → −3 (P) at 100, → 0 (N) at 250, spike at 300, → −2 (P) at 400 with a two-sample
        // rise, → 1 (N) at 600, on a slow drift.
        let n = 800;
        let level = |k: usize| {
            if k < 100 {
                0.0
            } else if k < 250 {
                -3.0
            } else if k < 400 {
                0.0
            } else if k == 400 {
                -1.0
            } else if k < 600 {
                -2.0
            } else {
                1.0
            }
        };
        let x: Vec<f64> = (0..n).map(|k| k as f64 * 1e-3).collect();
        let y: Vec<f64> = (0..n)
            .map(|k| level(k) + noise(k) + 1e-4 * k as f64 + if k == 300 { 5.0 } else { 0.0 })
            .collect();
        let j = detect_jumps(&x, &y, JumpOptions::default()).unwrap();
        assert_eq!(j.sequence(), "PNPN", "{:?}", j.jumps);
        let idx: Vec<usize> = j.jumps.iter().map(|v| v.index).collect();
        assert_eq!(idx, vec![100, 250, 401, 600]);
        assert!((j.jumps[0].size + 3.0).abs() < 0.1);
        assert!((j.jumps[3].size - 3.0).abs() < 0.1);
        assert!((j.jumps[0].x - 0.0995).abs() < 1e-9);
        // Cycles of 200 samples: 0 → P, 1 → N, 2 → P, 3 → N.
        let cycle: Vec<i64> = (0..n).map(|k| (k / 200) as i64).collect();
        let seqs = cycle_sequences(&j.jumps, &cycle);
        assert_eq!(
            seqs,
            vec![
                (0, "P".into()),
                (1, "N".into()),
                (2, "P".into()),
                (3, "N".into())
            ]
        );
        // Cycles of 400 samples: "PN" twice.
        let cycle: Vec<i64> = (0..n).map(|k| (k / 400) as i64).collect();
        let seqs = cycle_sequences(&j.jumps, &cycle);
        let (t, rate) = success_table(&seqs, Some("PN")).unwrap();
        assert_eq!(rate, 1.0);
        assert_eq!(t.str("sequence").unwrap(), &["PN".to_string()]);
    }

    #[test]
    fn success_table_counts_sequences() {
        let seqs: Vec<(i64, String)> = vec![
            (0, "PN".into()),
            (1, "PN".into()),
            (2, "P".into()),
            (3, "-".into()),
            (4, "PN".into()),
        ];
        let (t, rate) = success_table(&seqs, Some("PN")).unwrap();
        assert!((rate - 0.6).abs() < 1e-12);
        assert_eq!(t.f64("count").unwrap(), &[3.0, 1.0, 1.0]);
        assert_eq!(t.str("success").unwrap()[0], "true");
        let (_, none) = success_table(&seqs, None).unwrap();
        assert!(none.is_nan());
    }

    #[test]
    fn quiet_trace_has_no_jumps() {
        let x: Vec<f64> = (0..500).map(|k| k as f64).collect();
        let y: Vec<f64> = (0..500).map(noise).collect();
        assert!(detect_jumps(&x, &y, JumpOptions::default())
            .unwrap()
            .jumps
            .is_empty());
    }
}
