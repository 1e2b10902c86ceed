//! Output power of a device that can act as a generator.
//!
//! Output power P = −I·V (nW = nA·mV·1e-3), positive when the device delivers power, i.e. in the
//! generator quadrants I·V < 0. Each monotonic segment of a sweep is analysed on its own, with I(V)
//! linearly interpolated between points: the open-circuit voltages (zero crossings of I), the
//! short-circuit current (I at V = 0), the maximum output power (also between points: along a
//! linear piece P(V) is a parabola whose vertex is checked) and the bias ranges that generate.

use super::derivative::{split_segments, Direction};
use super::Trace;
use crate::error::{Error, Result};
use crate::table::Table;
use crate::units::NA_MV_TO_NW;

/// Output power −I·V in nW for a current in nA and a bias in mV.
pub fn output_power_nw(bias_mv: f64, current_na: f64) -> f64 {
    -current_na * bias_mv * NA_MV_TO_NW
}

/// Power figures of one monotonic segment.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentPower {
    /// Segment index.
    pub segment: usize,
    /// Sweep direction.
    pub direction: Direction,
    /// Open-circuit voltages (I = 0) in mV, in sweep order.
    pub voc_mv: Vec<f64>,
    /// Short-circuit current (I at V = 0) in nA, if the segment reaches V = 0.
    pub isc_na: Option<f64>,
    /// Maximum output power in nW, if any point of the segment generates.
    pub max_power_nw: Option<f64>,
    /// Bias of the maximum in mV.
    pub max_power_bias_mv: Option<f64>,
    /// Bias ranges (low, high) in mV where −I·V > 0.
    pub generating_mv: Vec<(f64, f64)>,
}

/// Power analysis of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerResult {
    /// Per-segment figures.
    pub segments: Vec<SegmentPower>,
    /// Largest output power over all segments in nW (`None` if the device never generates).
    pub max_power_nw: Option<f64>,
    /// Its bias in mV.
    pub max_power_bias_mv: Option<f64>,
    /// Its segment.
    pub max_power_segment: Option<usize>,
    /// Table of the points (see [`power`]).
    pub table: Table,
}

impl PowerResult {
    /// The summary as JSON (the `segments` and maximum-power entries of `summary.json`), shared by
    /// the command line and the Python bindings.
    pub fn summary_json(&self) -> serde_json::Value {
        let segments: Vec<serde_json::Value> = self
            .segments
            .iter()
            .map(|g| {
                serde_json::json!({
                    "segment": g.segment,
                    "direction": g.direction.as_str(),
                    "open_circuit_voltages_mV": g.voc_mv,
                    "short_circuit_current_nA": g.isc_na,
                    "max_power_nW": g.max_power_nw,
                    "max_power_bias_mV": g.max_power_bias_mv,
                    "generating_ranges_mV": g.generating_mv.iter().map(|r| serde_json::json!([r.0, r.1])).collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::json!({
            "max_power_nW": self.max_power_nw,
            "max_power_bias_mV": self.max_power_bias_mv,
            "max_power_segment": self.max_power_segment,
            "segments": segments,
        })
    }
}

/// Analyse a sweep (x = bias in mV, y = current in nA). The table has columns `segment`,
/// `direction`, `bias_mV`, `current_nA`, `power_nW` (−I·V), `generating` (`true` where I·V < 0).
pub fn power(trace: &Trace) -> Result<PowerResult> {
    let segs = split_segments(&trace.x);
    if segs.is_empty() {
        return Err(Error::invalid(
            "power",
            "no monotonic bias segment with at least 2 points (is the bias column right?)",
        ));
    }
    let mut seg_col = Vec::new();
    let mut dir_col = Vec::new();
    let mut bias = Vec::new();
    let mut cur = Vec::new();
    let mut pw = Vec::new();
    let mut gen = Vec::new();
    let mut out = Vec::new();
    for s in &segs {
        let v = &trace.x[s.start..s.end];
        let i = &trace.y[s.start..s.end];
        for k in 0..v.len() {
            seg_col.push(s.index as f64);
            dir_col.push(s.direction.as_str().to_string());
            bias.push(v[k]);
            cur.push(i[k]);
            let p = output_power_nw(v[k], i[k]);
            pw.push(p);
            gen.push((p > 0.0).to_string());
        }
        out.push(segment_power(s.index, s.direction, v, i));
    }
    let best = out
        .iter()
        .filter_map(|s| s.max_power_nw.map(|p| (p, s.max_power_bias_mv, s.segment)))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let mut table = Table::new();
    table.push_f64("segment", seg_col)?;
    table.push_str("direction", dir_col)?;
    table.push_f64("bias_mV", bias)?;
    table.push_f64("current_nA", cur)?;
    table.push_f64("power_nW", pw)?;
    table.push_str("generating", gen)?;
    Ok(PowerResult {
        segments: out,
        max_power_nw: best.map(|b| b.0),
        max_power_bias_mv: best.and_then(|b| b.1),
        max_power_segment: best.map(|b| b.2),
        table,
    })
}

/// Power figures of one monotonic piece `v` (mV), `i` (nA).
pub fn segment_power(segment: usize, direction: Direction, v: &[f64], i: &[f64]) -> SegmentPower {
    let n = v.len().min(i.len());
    let mut voc = Vec::new();
    let mut isc = None;
    let mut best: Option<(f64, f64)> = None;
    let consider = |bias: f64, p: f64, best: &mut Option<(f64, f64)>| {
        if p > 0.0 && best.is_none_or(|b| p > b.1) {
            *best = Some((bias, p));
        }
    };
    // Breakpoints where −I·V changes sign: zeros of I and of V.
    let mut breaks: Vec<f64> = Vec::new();
    for k in 0..n {
        // An exact zero is an open-circuit voltage only next to a non-zero current: a file of
        // zero currents (nothing connected) has none.
        let beside = |j: Option<usize>| j.and_then(|j| i.get(j)).is_some_and(|c| *c != 0.0);
        if i[k] == 0.0 && (beside(k.checked_sub(1)) || beside((k + 1 < n).then_some(k + 1))) {
            voc.push(v[k]);
            breaks.push(v[k]);
        }
        if v[k] == 0.0 {
            isc.get_or_insert(i[k]);
            breaks.push(0.0);
        }
        consider(v[k], output_power_nw(v[k], i[k]), &mut best);
        if k + 1 == n {
            break;
        }
        let (v1, v2, i1, i2) = (v[k], v[k + 1], i[k], i[k + 1]);
        if i1 * i2 < 0.0 {
            let z = v1 - i1 * (v2 - v1) / (i2 - i1);
            voc.push(z);
            breaks.push(z);
        }
        if v1 * v2 < 0.0 {
            isc.get_or_insert(i1 - v1 * (i2 - i1) / (v2 - v1));
            breaks.push(0.0);
        }
        // Vertex of P(V) = −V·(i1 + s(V − v1)) on this piece.
        let s = (i2 - i1) / (v2 - v1);
        if s > 0.0 {
            let vstar = -(i1 - s * v1) / (2.0 * s);
            if vstar > v1.min(v2) && vstar < v1.max(v2) {
                let istar = i1 + s * (vstar - v1);
                consider(vstar, output_power_nw(vstar, istar), &mut best);
            }
        }
    }
    // Generating ranges: between consecutive breakpoints (and the ends), test the midpoint.
    let mut generating: Vec<(f64, f64)> = Vec::new();
    if n >= 2 {
        let (lo, hi) = (v[0].min(v[n - 1]), v[0].max(v[n - 1]));
        let mut pts: Vec<f64> = breaks.into_iter().filter(|b| *b > lo && *b < hi).collect();
        pts.push(lo);
        pts.push(hi);
        pts.sort_by(f64::total_cmp);
        pts.dedup();
        let (xs, ys): (Vec<f64>, Vec<f64>) = if v[0] <= v[n - 1] {
            (v[..n].to_vec(), i[..n].to_vec())
        } else {
            (
                v[..n].iter().rev().copied().collect(),
                i[..n].iter().rev().copied().collect(),
            )
        };
        for w in pts.windows(2) {
            let mid = 0.5 * (w[0] + w[1]);
            let Some(im) = super::interp_sorted(&xs, &ys, mid) else {
                continue;
            };
            if output_power_nw(mid, im) > 0.0 {
                match generating.last_mut() {
                    Some(last) if last.1 == w[0] => last.1 = w[1],
                    _ => generating.push((w[0], w[1])),
                }
            }
        }
    }
    SegmentPower {
        segment,
        direction,
        voc_mv: voc,
        isc_na: isc,
        max_power_nw: best.map(|b| b.1),
        max_power_bias_mv: best.map(|b| b.0),
        generating_mv: generating,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_generator_has_textbook_figures() {
        // I = G·(V − V0) with G = 0.5 nA/mV, V0 = 1.2 mV: Isc = −0.6 nA, Voc = 1.2 mV,
        // P_max = G·V0²/4 ·1e-3 nW at V0/2 (between grid points).
        let g = 0.5;
        let v0 = 1.2;
        let mut v: Vec<f64> = (0..=13).map(|k| k as f64 * 0.23).collect();
        v.extend((1..=26).map(|k| 13.0 * 0.23 - k as f64 * 0.23));
        let i: Vec<f64> = v.iter().map(|x| g * (x - v0)).collect();
        let r = power(&Trace::new(v, i).unwrap()).unwrap();
        assert_eq!(r.segments.len(), 2);
        for s in &r.segments {
            assert_eq!(s.voc_mv.len(), 1);
            assert!((s.voc_mv[0] - v0).abs() < 1e-12);
            assert!((s.isc_na.unwrap() + g * v0).abs() < 1e-12);
            assert!((s.max_power_nw.unwrap() - g * v0 * v0 / 4.0 * 1e-3).abs() < 1e-15);
            assert!((s.max_power_bias_mv.unwrap() - v0 / 2.0).abs() < 1e-12);
            assert_eq!(s.generating_mv.len(), 1);
            let (a, b) = s.generating_mv[0];
            assert!(a.abs() < 1e-12 && (b - v0).abs() < 1e-12, "{a} {b}");
        }
        assert!((r.max_power_nw.unwrap() - 0.18e-3).abs() < 1e-15);
        let p = r.table.f64("power_nW").unwrap();
        assert!((p[1] - 0.23 * 0.5 * (1.2 - 0.23) * 1e-3).abs() < 1e-15);
    }

    #[test]
    fn passive_device_never_generates() {
        let v: Vec<f64> = (-10..=10).map(|k| k as f64 * 0.1).collect();
        let i: Vec<f64> = v.iter().map(|x| 2.0 * x).collect();
        let r = power(&Trace::new(v, i).unwrap()).unwrap();
        assert!(r.max_power_nw.is_none());
        assert!(r.segments[0].generating_mv.is_empty());
        assert_eq!(r.segments[0].voc_mv, vec![0.0]);
        assert_eq!(r.segments[0].isc_na, Some(0.0));
    }
}
