//! What each analysis reports: its `summary.json` entries, its printed summary and its figure,
//! built from the result types so that the command line and the Python bindings show the same
//! thing. Units as everywhere in [`crate::analysis`]: mV, nA, Oe, nW, nA/mV.

use super::derivative::{Averaged, Didv, Direction, Method};
use super::jumps::Jumps;
use super::peaks::{CommonSpacing, Peak};
use super::power::PowerResult;
use super::shift::{weighted_mean_shift, ShiftFit};
use super::stats::CurrentStats;
use super::tmr::{IhLoop, State, TmrCurve};
use super::{interp_sorted, Trace};
use crate::error::Result;
use crate::plot::{Figure, Panel, Series};
use crate::table::Table;
use serde_json::{json, Value};
use std::fmt::Write as _;

/// A figure panel with a zero line.
pub fn panel(title: &str, x: &str, y: &str, series: Vec<Series>) -> Panel {
    Panel {
        title: title.into(),
        x_label: x.into(),
        y_label: y.into(),
        series,
        zero_line: true,
        ..Panel::default()
    }
}

/// A number with `digits` decimals, or `—` when undefined.
pub fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.digits$}"),
        _ => "—".into(),
    }
}

fn list(v: &[f64], digits: usize) -> String {
    if v.is_empty() {
        "none".to_string()
    } else {
        v.iter()
            .map(|z| format!("{z:.digits$}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

// ---------------------------------------------------------------------------------------------
// dI/dV

/// The derivative method as JSON.
pub fn method_json(m: Method) -> Value {
    match m {
        Method::SavitzkyGolay { window, order } => {
            json!({"savitzky_golay": {"window": window, "order": order}})
        }
        Method::FiniteDifference => json!("finite_difference"),
    }
}

/// dI/dV of one file's sweeps: the derivative per point and its average over the sweeps.
#[derive(Debug, Clone, PartialEq)]
pub struct DidvSummary<'a> {
    /// Points of the trace.
    pub points: usize,
    /// Per-point derivative.
    pub didv: &'a Didv,
    /// Average over sweeps.
    pub averaged: &'a Averaged,
}

impl DidvSummary<'_> {
    fn max(&self) -> (Option<f64>, Option<f64>, Option<f64>) {
        let (gx, gy) = self.averaged.covered();
        let g0 = interp_sorted(&gx, &gy, 0.0);
        let imax = gy
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i);
        (g0, imax.map(|i| gy[i]), imax.map(|i| gx[i]))
    }

    fn up(&self) -> usize {
        self.didv
            .segments
            .iter()
            .filter(|x| x.direction == Direction::Up)
            .count()
    }

    /// Points, segments (up/down), sweeps per bias, dI/dV at zero bias, maximum and its bias.
    pub fn summary(&self) -> Value {
        let (g0, max, at) = self.max();
        let up = self.up();
        json!({
            "points": self.points,
            "segments": self.didv.segments.len(),
            "segments_up": up,
            "segments_down": self.didv.segments.len() - up,
            "max_sweeps_per_bias": self.averaged.n.iter().copied().max().unwrap_or(0),
            "didv_at_zero_nA_per_mV": g0,
            "max_didv_nA_per_mV": max,
            "max_didv_bias_mV": at,
        })
    }

    /// One line for a terminal.
    pub fn text(&self, file: &str) -> String {
        let (g0, max, at) = self.max();
        let up = self.up();
        format!(
            "{file}: {} points, {} segments ({up} up, {} down), up to {} sweeps per bias; dI/dV(0) = {} nA/mV, max {} nA/mV at {} mV\n",
            self.points,
            self.didv.segments.len(),
            self.didv.segments.len() - up,
            self.averaged.n.iter().copied().max().unwrap_or(0),
            fmt_opt(g0, 4),
            fmt_opt(max, 4),
            fmt_opt(at, 3),
        )
    }
}

/// I(V) and the averaged dI/dV (with faint up/down means) of named files.
pub fn didv_figure(files: &[(String, &Trace, &Averaged)]) -> Figure {
    let mut iv = Vec::new();
    let mut g = Vec::new();
    for (k, (name, t, avg)) in files.iter().enumerate() {
        iv.push(Series::line(name.clone(), t.x.clone(), t.y.clone(), k));
        g.push(Series::line(
            format!("{name} mean"),
            avg.grid.clone(),
            avg.mean.clone(),
            k,
        ));
        for (what, y) in [("up", &avg.mean_up), ("down", &avg.mean_down)] {
            g.push(Series::line(format!("{name} {what}"), avg.grid.clone(), y.clone(), k).faint());
        }
    }
    Figure::new(
        vec![
            panel("I(V)", "bias (mV)", "current (nA)", iv),
            panel(
                "dI/dV (averaged over sweeps)",
                "bias (mV)",
                "dI/dV (nA/mV)",
                g,
            ),
        ],
        2,
    )
}

// ---------------------------------------------------------------------------------------------
// TMR(V)

/// A (bias in mV, value) pair.
type BiasValue = (f64, f64);

impl TmrCurve {
    /// (bias, TMR) of the largest and of the smallest defined TMR.
    fn extremes(&self) -> (Option<BiasValue>, Option<BiasValue>) {
        let finite: Vec<(f64, f64)> = self
            .bias
            .iter()
            .zip(&self.tmr_percent)
            .filter(|(_, t)| t.is_finite())
            .map(|(b, t)| (*b, *t))
            .collect();
        (
            finite.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1)),
            finite.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1)),
        )
    }

    /// Grid, threshold, undefined points, extreme TMRs and their bias, opposite-sign regions and
    /// the zero crossings of both currents.
    pub fn summary(&self) -> Value {
        let (max, min) = self.extremes();
        json!({
            "grid_points": self.bias.len(),
            "bias_range_mV": [self.bias.first(), self.bias.last()],
            "min_ap_current_nA": self.min_ap_current,
            "undefined_points": self.ap_near_zero.iter().filter(|&&b| b).count(),
            "max_tmr_percent": max.map(|m| m.1), "max_tmr_bias_mV": max.map(|m| m.0),
            "min_tmr_percent": min.map(|m| m.1), "min_tmr_bias_mV": min.map(|m| m.0),
            "opposite_sign_regions_mV": self.opposite_regions.iter().map(|r| json!([r.0, r.1])).collect::<Vec<_>>(),
            "current_P_zero_crossings_mV": self.zeros_p,
            "current_AP_zero_crossings_mV": self.zeros_ap,
        })
    }

    /// A few lines for a terminal.
    pub fn text(&self) -> String {
        let (max, min) = self.extremes();
        let at = |v: f64| {
            self.bias
                .iter()
                .position(|b| (b - v).abs() < 1e-9 + 1e-6 * v.abs())
                .map(|i| self.tmr_percent[i])
        };
        let mut s = format!(
            "TMR = I_P/I_AP − 1 on {} bias points from {} to {} mV ({} undefined where |I_AP| ≤ {:.3e} nA)\n",
            self.bias.len(),
            fmt_opt(self.bias.first().copied(), 3),
            fmt_opt(self.bias.last().copied(), 3),
            self.ap_near_zero.iter().filter(|&&b| b).count(),
            self.min_ap_current
        );
        let _ = writeln!(
            s,
            "  max {} % at {} mV, min {} % at {} mV; at +1 mV: {} %, at −1 mV: {} %",
            fmt_opt(max.map(|m| m.1), 1),
            fmt_opt(max.map(|m| m.0), 3),
            fmt_opt(min.map(|m| m.1), 1),
            fmt_opt(min.map(|m| m.0), 3),
            fmt_opt(at(1.0), 1),
            fmt_opt(at(-1.0), 1)
        );
        let _ = writeln!(
            s,
            "  I_P = 0 at {} mV; I_AP = 0 at {} mV",
            list(&self.zeros_p, 4),
            list(&self.zeros_ap, 4)
        );
        for r in &self.opposite_regions {
            let _ = writeln!(
                s,
                "  I_P and I_AP of opposite sign (TMR < −100 %) from {:.3} to {:.3} mV",
                r.0, r.1
            );
        }
        s
    }

    /// The averaged currents and the TMR.
    pub fn figure(&self) -> Figure {
        Figure::new(
            vec![
                panel(
                    "I(V), sweep averages",
                    "bias (mV)",
                    "current (nA)",
                    vec![
                        Series::line("I_P", self.bias.clone(), self.current_p.clone(), 2),
                        Series::line("I_AP", self.bias.clone(), self.current_ap.clone(), 1),
                    ],
                ),
                Panel {
                    bands: vec![crate::plot::Band {
                        axis: crate::plot::BandAxis::Y,
                        from: f64::NEG_INFINITY,
                        to: -100.0,
                        label: "TMR < −100 %: I_P, I_AP of opposite sign".into(),
                        color: None,
                    }],
                    ..panel(
                        "TMR = I_P/I_AP − 1",
                        "bias (mV)",
                        "TMR (%)",
                        vec![Series::line(
                            "TMR",
                            self.bias.clone(),
                            self.tmr_percent.clone(),
                            0,
                        )],
                    )
                },
            ],
            2,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Power

impl PowerResult {
    /// A few lines for a terminal.
    pub fn text(&self, file: &str) -> String {
        let vocs: Vec<f64> = self
            .segments
            .iter()
            .flat_map(|g| g.voc_mv.iter().copied())
            .collect();
        let iscs: Vec<f64> = self.segments.iter().filter_map(|g| g.isc_na).collect();
        let mut s = format!("{file}:\n");
        match self.max_power_nw {
            Some(p) => {
                let _ = writeln!(
                    s,
                    "  maximum output power {:.4e} nW at {} mV (segment {})",
                    p,
                    fmt_opt(self.max_power_bias_mv, 4),
                    self.max_power_segment.unwrap_or(0)
                );
            }
            None => s += "  never generates (I·V ≥ 0 everywhere)\n",
        }
        let _ = writeln!(
            s,
            "  open-circuit voltage(s): {} mV; short-circuit current(s): {} nA",
            list(&vocs, 4),
            list(&iscs, 4)
        );
        s
    }
}

/// I(V), output power and the generating points of named files.
pub fn power_figure(files: &[(String, &PowerResult)]) -> Figure {
    let (mut iv, mut pv, mut gv) = (Vec::new(), Vec::new(), Vec::new());
    for (k, (name, r)) in files.iter().enumerate() {
        let b = r.table.f64("bias_mV").unwrap_or(&[]).to_vec();
        let i = r.table.f64("current_nA").unwrap_or(&[]).to_vec();
        let pw = r.table.f64("power_nW").unwrap_or(&[]).to_vec();
        iv.push(Series::line(name.clone(), b.clone(), i, k));
        // Only the generating points, so that a small output power is visible.
        let (gx, gy): (Vec<f64>, Vec<f64>) = b.iter().zip(&pw).filter(|p| *p.1 > 0.0).unzip();
        gv.push((name.clone(), gx, gy, k));
        pv.push((name.clone(), b, pw, k));
    }
    let p_max = pv
        .iter()
        .flat_map(|p| p.2.iter().map(|v| v.abs()))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let (fp, p_unit) = crate::plot::engineering(p_max, "nW");
    let pv: Vec<Series> = pv
        .into_iter()
        .map(|(name, x, y, k)| Series::line(name, x, y.iter().map(|v| v * fp).collect(), k))
        .collect();
    let p_label = format!("power ({p_unit})");
    // The generated power is often pW-scale: an engineering prefix keeps the ticks readable.
    let g_max = gv
        .iter()
        .flat_map(|g| g.2.iter().map(|v| v.abs()))
        .fold(0.0, f64::max);
    let (f, unit) = crate::plot::engineering(g_max, "nW");
    let gv: Vec<Series> = gv
        .into_iter()
        .map(|(name, x, y, k)| {
            Series::line(name, x, y.iter().map(|v| v * f).collect(), k).markers()
        })
        .collect();
    let g_label = format!("power ({unit})");
    Figure::new(
        vec![
            panel("I(V)", "bias (mV)", "current (nA)", iv),
            panel("output power −I·V", "bias (mV)", &p_label, pv),
            panel("generating points (−I·V > 0)", "bias (mV)", &g_label, gv),
        ],
        3,
    )
}

// ---------------------------------------------------------------------------------------------
// Peaks

/// The peaks of one curve, for a terminal.
pub fn peaks_text(file: &str, peaks: &[Peak], dips: bool) -> String {
    let mut s = format!(
        "{file}: {} {}\n",
        peaks.len(),
        if dips { "dips" } else { "peaks" }
    );
    for p in peaks {
        let _ = writeln!(
            s,
            "  at {:.4} mV: height {:.4}, prominence {:.4}, FWHM {} mV",
            p.position,
            p.height,
            p.prominence,
            fmt_opt(Some(p.fwhm), 4)
        );
    }
    s
}

/// Summary of a peak search over named curves (`signal` names the y unit).
pub fn peaks_summary(
    sets: &[(String, Vec<Peak>)],
    signal: &str,
    tolerance: f64,
    common: Option<&CommonSpacing>,
) -> Value {
    let mut v = json!({
        "signal": signal,
        "files": sets.iter().map(|(n, ps)| json!({"dataset": n, "peaks": ps.len()})).collect::<Vec<_>>(),
        "spacing_tolerance_mV": tolerance,
    });
    if let Some(c) = common {
        v["common_spacing_mV"] = json!(c.spacing);
        v["common_spacing_sd_mV"] = json!(c.spacing_sd);
        v["datasets_with_pair"] = json!(c.pairs.len());
    }
    v
}

/// The common spacing line for a terminal.
pub fn spacing_text(c: &CommonSpacing, datasets: usize) -> String {
    format!(
        "common peak spacing {:.4} mV (sd {}) in {} of {datasets} datasets\n",
        c.spacing,
        fmt_opt(Some(c.spacing_sd), 4),
        c.pairs.len(),
    )
}

/// A named curve (x, y) with its peaks.
pub type PeakCurve = (String, Vec<f64>, Vec<f64>, Vec<Peak>);

/// Curves with their peaks marked.
pub fn peaks_figure(curves: &[PeakCurve], signal: &str) -> Figure {
    let mut series = Vec::new();
    for (k, (name, x, y, ps)) in curves.iter().enumerate() {
        series.push(Series::line(name.clone(), x.clone(), y.clone(), k));
        series.push(
            Series::line(
                "",
                ps.iter().map(|p| p.position).collect(),
                ps.iter().map(|p| p.height).collect(),
                k,
            )
            .markers(),
        );
    }
    let ylab = if signal == "nA_per_mV" {
        "dI/dV (nA/mV)"
    } else {
        "signal"
    };
    Figure::new(vec![panel("peaks", "bias (mV)", ylab, series)], 1)
}

// ---------------------------------------------------------------------------------------------
// Shift

/// The windows' shifts for a terminal, with the windows left out of the mean.
pub fn shift_text(fits: &[ShiftFit]) -> String {
    let mut s = format!(
        "shift of the AP curve onto the P curve (G_AP(V) ≈ G_P(V − δ)), {} window(s):\n",
        fits.len()
    );
    for f in fits {
        let _ = writeln!(
            s,
            "  window {:.3}..{:.3} mV, mean bias {:.3} mV: δ = {} ± {} mV ({} points){}",
            f.start,
            f.end,
            f.bias,
            fmt_opt(Some(f.shift), 4),
            fmt_opt(Some(f.shift_err), 4),
            f.n,
            if f.at_bound {
                " [at the search bound]"
            } else {
                ""
            }
        );
    }
    let n_bound = fits.iter().filter(|f| f.at_bound).count();
    if n_bound > 0 {
        let _ = writeln!(
            s,
            "  {n_bound} window(s) ended on the search bound and are left out of the mean; raise --max-shift"
        );
    }
    let _ = writeln!(
        s,
        "  weighted mean shift {} mV",
        fmt_opt(Some(weighted_mean_shift(fits)), 4)
    );
    s
}

/// Summary of a rolling shift.
pub fn shift_summary(fits: &[ShiftFit], signal: &str, window: f64) -> Value {
    json!({
        "signal": signal,
        "convention": "G_AP(V) ≈ G_P(V − shift)",
        "window_mV": window,
        "windows": fits.len(),
        "weighted_mean_shift_mV": weighted_mean_shift(fits),
        "windows_at_bound": fits.iter().filter(|f| f.at_bound).count(),
    })
}

/// P, AP and AP moved by the mean shift; δ per window.
pub fn shift_figure(p: &Trace, ap: &Trace, fits: &[ShiftFit], signal: &str) -> Figure {
    let mean = weighted_mean_shift(fits);
    let m = if mean.is_finite() { mean } else { 0.0 };
    let shifted_x: Vec<f64> = ap.x.iter().map(|x| x - m).collect();
    let ylab = if signal == "nA_per_mV" {
        "dI/dV (nA/mV)"
    } else {
        "signal"
    };
    Figure::new(
        vec![
            panel(
                "P, AP and AP shifted by −δ",
                "bias (mV)",
                ylab,
                vec![
                    Series::line("P", p.x.clone(), p.y.clone(), 2),
                    Series::line("AP", ap.x.clone(), ap.y.clone(), 1).faint(),
                    Series::line("AP shifted", shifted_x, ap.y.clone(), 1),
                ],
            ),
            panel(
                "shift per window",
                "bias (mV)",
                "shift (mV)",
                vec![Series::line(
                    "δ",
                    fits.iter().map(|f| f.bias).collect(),
                    fits.iter().map(|f| f.shift).collect(),
                    0,
                )
                .markers()],
            ),
        ],
        2,
    )
}

// ---------------------------------------------------------------------------------------------
// Current statistics

impl CurrentStats {
    /// Bias values and how many have two or more branches.
    pub fn counts(&self) -> (usize, usize) {
        let multi = self
            .summary
            .f64("n_branches")
            .map_or(0, |v| v.iter().filter(|&&n| n >= 2.0).count());
        (self.summary.n_rows(), multi)
    }

    /// One line for a terminal, and warnings for branches much wider than the reading noise
    /// `noise_sigma` (nA): they may hold branches closer than the bin.
    pub fn text(
        &self,
        file: &str,
        samples: usize,
        bin: f64,
        min_occupation: f64,
        noise_sigma: Option<f64>,
    ) -> String {
        let (n_bias, multi) = self.counts();
        let mut s = format!(
            "{file}: {n_bias} bias values, {samples} samples, {multi} bias values with two or more branches (bin {bin:.4e} nA, min occupation {min_occupation})\n",
        );
        if let Some(sig) = noise_sigma {
            for b in self
                .branches
                .iter()
                .filter(|b| b.n >= 5 && b.sd > 3.0 * sig)
            {
                let _ = writeln!(
                    s,
                    "  warning: at {} mV the {} branch spreads {:.3e} nA, over 3× the reading noise {:.3e} nA: it may hold branches closer than the bin; try a smaller --bin",
                    b.bias, b.name, b.sd, sig
                );
            }
        }
        s
    }
}

/// The branches of named files.
pub fn stats_figure(files: &[(String, &CurrentStats)]) -> Figure {
    let mut series = Vec::new();
    for (k, (name, r)) in files.iter().enumerate() {
        for (j, branch) in ["OFF", "MID", "ON", "SINGLE"].iter().enumerate() {
            let b: Vec<_> = r.branches.iter().filter(|b| b.name == *branch).collect();
            if !b.is_empty() {
                series.push(
                    Series::line(
                        format!("{name} {branch}"),
                        b.iter().map(|b| b.bias).collect(),
                        b.iter().map(|b| b.current).collect(),
                        k * 4 + j,
                    )
                    .markers(),
                );
            }
        }
    }
    Figure::new(
        vec![panel(
            "current branches",
            "bias (mV)",
            "current (nA)",
            series,
        )],
        1,
    )
}

// ---------------------------------------------------------------------------------------------
// Jumps

/// Columns `cycle`, `sequence`.
pub fn cycles_table(seqs: &[(i64, String)]) -> Result<Table> {
    let mut t = Table::new();
    t.push_f64("cycle", seqs.iter().map(|c| c.0 as f64).collect())?;
    t.push_str("sequence", seqs.iter().map(|c| c.1.clone()).collect())?;
    Ok(t)
}

impl Jumps {
    /// Jumps, sequence, noise and cycles of one file.
    pub fn summary(&self, cycles: usize) -> Value {
        json!({
            "jumps": self.jumps.len(),
            "sequence": self.sequence(),
            "noise_sigma_nA": self.noise_sigma,
            "cycles": cycles,
        })
    }
}

/// The success table's first rows for a terminal.
pub fn success_text(table: &Table, expect: Option<&str>, rate: f64, cycles: usize) -> String {
    let mut s = String::new();
    if let Some(e) = expect {
        let _ = writeln!(
            s,
            "success rate of `{e}`: {:.1} % of {cycles} cycles",
            100.0 * rate
        );
    }
    let seq_col = table.str("sequence").unwrap_or(&[]);
    let cnt_col = table.f64("count").unwrap_or(&[]);
    for (q, c) in seq_col.iter().zip(cnt_col).take(8) {
        let _ = writeln!(s, "  {q}: {c} cycle(s)");
    }
    s
}

/// Current traces of named files with their jumps marked.
pub fn jumps_figure(files: &[(String, Vec<f64>, Vec<f64>, &Jumps)]) -> Figure {
    let mut series = Vec::new();
    for (k, (name, x, y, j)) in files.iter().enumerate() {
        series.push(Series::line(name.clone(), x.clone(), y.clone(), k));
        series.push(
            Series::line(
                "",
                j.jumps.iter().map(|v| v.x).collect(),
                j.jumps.iter().map(|v| v.after).collect(),
                k + 1,
            )
            .markers(),
        );
    }
    Figure::new(
        vec![panel(
            "current and jumps",
            "time or sample",
            "current (nA)",
            series,
        )],
        1,
    )
}

// ---------------------------------------------------------------------------------------------
// I(H) loops

impl IhLoop {
    fn switch_field(&self, to: State) -> f64 {
        self.switches
            .iter()
            .find(|s| s.to == to)
            .map_or(f64::NAN, |s| s.field)
    }

    /// Levels, TMR, threshold and switches of one loop at `bias_mv`.
    pub fn summary(&self, bias_mv: f64) -> Value {
        json!({
            "bias_mV": bias_mv,
            "current_P_nA": self.i_p.0, "stderr_current_P_nA": self.i_p.1,
            "current_AP_nA": self.i_ap.0, "stderr_current_AP_nA": self.i_ap.1,
            "tmr_percent": self.tmr_percent.0, "stderr_tmr_percent": self.tmr_percent.1,
            "threshold_nA": self.threshold,
            "switches": self.switches.iter().map(|s| json!({
                "field_Oe": s.field, "field_before_Oe": s.field_before, "field_after_Oe": s.field_after,
                "from": s.from.as_str(), "to": s.to.as_str(), "sweep": s.sweep.as_str()
            })).collect::<Vec<_>>(),
        })
    }

    /// A few lines for a terminal.
    pub fn text(&self, file: &str, bias_mv: f64) -> String {
        let mut s = format!(
            "{file} (bias {} mV): I_P = {:.5} ± {:.5} nA ({} points), I_AP = {:.5} ± {:.5} nA ({} points), TMR = {} ± {} %\n",
            fmt_opt(Some(bias_mv), 3),
            self.i_p.0,
            self.i_p.1,
            self.n_p,
            self.i_ap.0,
            self.i_ap.1,
            self.n_ap,
            fmt_opt(Some(self.tmr_percent.0), 1),
            fmt_opt(Some(self.tmr_percent.1), 1)
        );
        for sw in &self.switches {
            let _ = writeln!(
                s,
                "  {} → {} at {:.1} Oe (between {} and {} Oe, field sweeping {})",
                sw.from.as_str(),
                sw.to.as_str(),
                sw.field,
                sw.field_before,
                sw.field_after,
                sw.sweep.as_str()
            );
        }
        s
    }
}

/// One row per loop: `file`, `bias_mV`, levels, TMR and the switching fields.
pub fn ih_points_table(rows: &[(String, f64, &IhLoop)]) -> Result<Table> {
    let col = |f: &dyn Fn(&IhLoop) -> f64| rows.iter().map(|r| f(r.2)).collect::<Vec<f64>>();
    let mut t = Table::new();
    t.push_str("file", rows.iter().map(|r| r.0.clone()).collect())?;
    t.push_f64("bias_mV", rows.iter().map(|r| r.1).collect())?;
    t.push_f64("current_P_nA", col(&|r| r.i_p.0))?;
    t.push_f64("stderr_current_P_nA", col(&|r| r.i_p.1))?;
    t.push_f64("current_AP_nA", col(&|r| r.i_ap.0))?;
    t.push_f64("stderr_current_AP_nA", col(&|r| r.i_ap.1))?;
    t.push_f64("tmr_percent", col(&|r| r.tmr_percent.0))?;
    t.push_f64("stderr_tmr_percent", col(&|r| r.tmr_percent.1))?;
    t.push_f64("switch_to_AP_field_Oe", col(&|r| r.switch_field(State::AP)))?;
    t.push_f64("switch_to_P_field_Oe", col(&|r| r.switch_field(State::P)))?;
    Ok(t)
}

/// The loops with their levels, and TMR versus bias when there are several loops.
pub fn ih_figure(loops: &[(String, f64, &Trace, &IhLoop)]) -> Figure {
    let mut series = Vec::new();
    for (k, (name, _, t, r)) in loops.iter().enumerate() {
        let states: Vec<f64> = r
            .states
            .iter()
            .map(|st| if *st == State::P { r.i_p.0 } else { r.i_ap.0 })
            .collect();
        series.push(Series::line(name.clone(), t.x.clone(), t.y.clone(), k).markers());
        series.push(Series::line(format!("{name}: P/AP levels"), t.x.clone(), states, k).dashed());
    }
    let mut main = panel("I(H) loops", "field (Oe)", "current (nA)", series);
    for (k, (_, _, _, r)) in loops.iter().enumerate() {
        for sw in &r.switches {
            main.vlines.push(crate::plot::VLine::new(
                sw.field,
                format!("{}→{} {:.0} Oe", sw.from.as_str(), sw.to.as_str(), sw.field),
                k,
            ));
        }
    }
    let mut panels = vec![main];
    if loops.len() > 1 {
        panels.push(panel(
            "TMR from I(H) loops",
            "bias (mV)",
            "TMR (%)",
            vec![Series::line(
                "TMR",
                loops.iter().map(|r| r.1).collect(),
                loops.iter().map(|r| r.3.tmr_percent.0).collect(),
                0,
            )
            .markers()],
        ));
    }
    let cols = panels.len();
    Figure::new(panels, cols)
}
