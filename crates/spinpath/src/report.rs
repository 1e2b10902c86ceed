//! Results of a coherent-chain run: tables (`iv.csv`, `tmr.csv`, spectra), the summary and the
//! figure, all built from [`StateSweep`]s. Writers read the same tables, so files, figures and the
//! printed summary agree.

use crate::config::CoherentRun;
use crate::error::Result;
use crate::negf::{BiasPoint, ChainSolver};
use crate::plot::{Band, BandAxis, Figure, Panel, Series};
use crate::sweep::StateSweep;
use crate::table::Table;
use serde::Serialize;

/// Linear interpolation of y(x) at `x0` (x ascending); `None` outside the grid.
pub fn interpolate(x: &[f64], y: &[f64], x0: f64) -> Option<f64> {
    if x.is_empty() || x0 < x[0] || x0 > x[x.len() - 1] {
        return None;
    }
    let k = x.partition_point(|&v| v < x0);
    if k == 0 {
        return Some(y[0]);
    }
    let (x1, x2, y1, y2) = (x[k - 1], x[k], y[k - 1], y[k]);
    if x2 == x1 {
        return Some(y2);
    }
    Some(y1 + (y2 - y1) * (x0 - x1) / (x2 - x1))
}

/// Abscissae where y(x) changes sign, linearly interpolated (x ascending). A sample exactly at
/// zero counts once.
pub fn zero_crossings(x: &[f64], y: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    for k in 0..x.len().saturating_sub(1) {
        let (y1, y2) = (y[k], y[k + 1]);
        if y1 == 0.0 {
            if k == 0 || y[k - 1] != 0.0 {
                out.push(x[k]);
            }
        } else if y1 * y2 < 0.0 {
            out.push(x[k] - y1 * (x[k + 1] - x[k]) / (y2 - y1));
        }
    }
    if let (Some(&yl), Some(&xl)) = (y.last(), x.last()) {
        if yl == 0.0 && (y.len() < 2 || y[y.len() - 2] != 0.0) {
            out.push(xl);
        }
    }
    out
}

/// TMR = I_P/I_AP − 1; `None` (written as an empty cell) where |I_AP| is below `floor_na`.
pub fn tmr(i_p: f64, i_ap: f64, floor_na: f64) -> Option<f64> {
    (i_ap.abs() > floor_na).then(|| i_p / i_ap - 1.0)
}

/// A distinct TMR peak: a local maximum of TMR(V) that is not the flank of a pole.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[allow(non_snake_case)]
pub struct TmrPeak {
    /// Bias of the maximum, mV (parabolic refinement on the grid).
    pub bias_mV: f64,
    /// TMR at the maximum (fraction, 1.0 = 100 %).
    pub tmr: f64,
    /// Full width at half maximum (half of `tmr`), mV; both half-maximum points lie between the
    /// neighbouring current zeros.
    pub fwhm_mV: f64,
    /// Distance to the nearest zero of I_P or I_AP, mV (infinite when neither crosses zero).
    pub distance_to_current_zero_mV: f64,
}

/// TMR extremes split into distinct peaks and poles.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[allow(non_snake_case)]
pub struct TmrExtremes {
    /// Positive local maxima of TMR(V) whose half-maximum points are reached on both sides before
    /// any zero of I_P or I_AP: peaks of the ratio itself, with their widths.
    pub peaks: Vec<TmrPeak>,
    /// Poles: biases where I_AP crosses zero (TMR → ±∞), mV.
    pub poles_mV: Vec<f64>,
    /// Biases where I_P crosses zero (TMR = −100 %), mV.
    pub p_current_zeros_mV: Vec<f64>,
}

/// Find the TMR peaks away from the zeros of I_P and I_AP (with their FWHM) and, separately, the
/// poles (zeros of I_AP). `v` ascending (mV), currents in nA. A grid maximum next to a pole is the
/// pole's flank and is not a peak: a peak's half maximum must be reached on both sides within the
/// interval between the surrounding current zeros.
pub fn tmr_extremes(v: &[f64], ip: &[f64], iap: &[f64]) -> TmrExtremes {
    let n = v.len();
    let poles = zero_crossings(v, iap);
    let pz = zero_crossings(v, ip);
    let mut zeros: Vec<f64> = poles.iter().chain(&pz).copied().collect();
    zeros.sort_by(f64::total_cmp);
    let t: Vec<Option<f64>> = ip
        .iter()
        .zip(iap)
        .map(|(&a, &b)| tmr(a, b, TMR_FLOOR_NA))
        .collect();
    let mut peaks = Vec::new();
    for k in 1..n.saturating_sub(1) {
        let (Some(a), Some(b), Some(c)) = (t[k - 1], t[k], t[k + 1]) else {
            continue;
        };
        if !(b > 0.0 && b > a && b >= c) {
            continue;
        }
        // The interval between the current zeros around v[k].
        let lo_z = zeros.iter().rev().find(|&&z| z < v[k]).copied();
        let hi_z = zeros.iter().find(|&&z| z > v[k]).copied();
        if lo_z.is_some_and(|z| z > v[k - 1]) || hi_z.is_some_and(|z| z < v[k + 1]) {
            continue;
        }
        let half = b / 2.0;
        // Walk left and right to the half maximum, staying inside (lo_z, hi_z) and finite TMR.
        let mut left = None;
        let mut j = k;
        while j > 0 {
            let (Some(t1), Some(t0)) = (t[j], t[j - 1]) else {
                break;
            };
            if lo_z.is_some_and(|z| v[j - 1] < z) || t0 > b {
                break;
            }
            if t0 <= half {
                left = Some(v[j - 1] + (half - t0) * (v[j] - v[j - 1]) / (t1 - t0));
                break;
            }
            j -= 1;
        }
        let mut right = None;
        let mut j = k;
        while j + 1 < n {
            let (Some(t0), Some(t1)) = (t[j], t[j + 1]) else {
                break;
            };
            if hi_z.is_some_and(|z| v[j + 1] > z) || t1 > b {
                break;
            }
            if t1 <= half {
                right = Some(v[j] + (t0 - half) * (v[j + 1] - v[j]) / (t0 - t1));
                break;
            }
            j += 1;
        }
        let (Some(l), Some(r)) = (left, right) else {
            continue;
        };
        // Parabolic refinement of the maximum.
        let den = a - 2.0 * b + c;
        let h = v[k + 1] - v[k];
        let (bias, value) = if den < 0.0 && (v[k] - v[k - 1] - h).abs() < 1e-9 * h.abs().max(1.0) {
            let d = 0.5 * (a - c) / den;
            (v[k] + d * h, b - 0.25 * (a - c) * d)
        } else {
            (v[k], b)
        };
        let dist = zeros
            .iter()
            .map(|z| (z - bias).abs())
            .fold(f64::INFINITY, f64::min);
        peaks.push(TmrPeak {
            bias_mV: bias,
            tmr: value,
            fwhm_mV: r - l,
            distance_to_current_zero_mV: dist,
        });
    }
    TmrExtremes {
        peaks,
        poles_mV: poles,
        p_current_zeros_mV: pz,
    }
}

/// Bias intervals (mV) where two curves have opposite signs (TMR < −100 %), with interpolated ends.
pub fn opposite_sign_ranges(x: &[f64], a: &[f64], b: &[f64]) -> Vec<[f64; 2]> {
    let prod: Vec<f64> = a.iter().zip(b).map(|(p, q)| p * q).collect();
    // Boundaries are where either curve crosses zero.
    let mut cuts: Vec<f64> = zero_crossings(x, a);
    cuts.extend(zero_crossings(x, b));
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let mut edges = vec![x[0]];
    edges.extend(
        cuts.iter()
            .copied()
            .filter(|c| *c > x[0] && *c < x[x.len() - 1]),
    );
    edges.push(x[x.len() - 1]);
    let mut out: Vec<[f64; 2]> = Vec::new();
    for w in edges.windows(2) {
        let mid = 0.5 * (w[0] + w[1]);
        if let Some(p) = interpolate(x, &prod, mid) {
            let pa = interpolate(x, a, mid).unwrap_or(0.0);
            let pb = interpolate(x, b, mid).unwrap_or(0.0);
            if p < 0.0 && pa * pb < 0.0 {
                match out.last_mut() {
                    Some(last) if last[1] == w[0] => last[1] = w[1],
                    _ => out.push([w[0], w[1]]),
                }
            }
        }
    }
    out
}

/// Per-state figures of merit.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[allow(non_snake_case)]
pub struct StateSummary {
    /// State name.
    pub state: String,
    /// Angle of the right electrode, degrees.
    pub angle_deg: f64,
    /// Current at V = 0 (short-circuit current), nA; absent if 0 is outside the grid.
    pub current_at_zero_bias_nA: Option<f64>,
    /// Biases where I = 0 (open-circuit voltages), mV.
    pub open_circuit_voltages_mV: Vec<f64>,
    /// Largest output power −I·V on the grid, nW (≤ 0 if the device never delivers power).
    pub max_power_nW: f64,
    /// Bias of the largest output power, mV.
    pub bias_at_max_power_mV: f64,
    /// Efficiency P_out / spin free energy at the maximum-power point (absent if not a generator).
    pub efficiency_at_max_power: Option<f64>,
    /// Largest efficiency on the grid (absent if never a generator); ≤ 1 by the second law.
    pub max_efficiency: Option<f64>,
    /// Free energy drawn from the spin accumulation at V = 0, nW.
    pub spin_free_energy_at_zero_bias_nW: Option<f64>,
    /// Smallest total dissipation Σμ_iJ_i on the grid, nW (≥ 0 by the second law at equal T).
    pub min_dissipation_nW: f64,
    /// Largest integration error estimate on the grid, nA.
    pub max_integration_error_nA: f64,
    /// Whether every bias point met the integration tolerance.
    pub all_converged: bool,
    /// Total number of energy points evaluated.
    pub energy_evaluations: usize,
}

/// Comparison of the P and AP states (present when both were run).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[allow(non_snake_case)]
pub struct TmrSummary {
    /// Bias ranges where I_P and I_AP have opposite signs (TMR < −100 %), mV.
    pub ranges_tmr_below_minus_100_percent_mV: Vec<[f64; 2]>,
    /// Largest TMR on the grid (fraction, 1.0 = 100 %).
    pub max_tmr: Option<f64>,
    /// Bias of the largest TMR, mV.
    pub bias_at_max_tmr_mV: Option<f64>,
    /// Smallest TMR on the grid.
    pub min_tmr: Option<f64>,
    /// Bias of the smallest TMR, mV.
    pub bias_at_min_tmr_mV: Option<f64>,
    /// The TMR extremes split into distinct peaks away from the current zeros (with FWHM) and
    /// poles (I_AP = 0), see [`tmr_extremes`]; `max_tmr` above may be a pole's flank.
    pub extremes: TmrExtremes,
}

/// Everything `summary.json` holds.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[allow(non_snake_case)]
pub struct Summary {
    /// spinpath version that produced the results.
    pub spinpath_version: String,
    /// Title from the run file.
    pub title: Option<String>,
    /// Per-state figures of merit.
    pub states: Vec<StateSummary>,
    /// P vs AP, when both are present.
    pub tmr: Option<TmrSummary>,
    /// Integration settings used.
    pub rel_tol: f64,
    /// Absolute tolerance used, nA.
    pub abs_tol_nA: f64,
}

/// Below this |I_AP| (nA) the TMR is reported as undefined (empty cell).
pub const TMR_FLOOR_NA: f64 = 1e-9;

fn state_summary(s: &StateSweep) -> StateSummary {
    let v = s.bias();
    let i = s.current();
    let (k_max, p_max) = s.points.iter().map(|p| p.power_out()).enumerate().fold(
        (0, f64::NEG_INFINITY),
        |acc, (k, p)| if p > acc.1 { (k, p) } else { acc },
    );
    let f_spin: Vec<f64> = s.points.iter().map(|p| p.spin_free_energy()).collect();
    StateSummary {
        state: s.state.clone(),
        angle_deg: s.angle_deg,
        current_at_zero_bias_nA: interpolate(&v, &i, 0.0),
        open_circuit_voltages_mV: zero_crossings(&v, &i),
        max_power_nW: p_max,
        bias_at_max_power_mV: v.get(k_max).copied().unwrap_or(f64::NAN),
        efficiency_at_max_power: s.points.get(k_max).and_then(|p| p.efficiency()),
        max_efficiency: s
            .points
            .iter()
            .filter_map(|p| p.efficiency())
            .fold(None, |m: Option<f64>, e| Some(m.map_or(e, |m| m.max(e)))),
        spin_free_energy_at_zero_bias_nW: interpolate(&v, &f_spin, 0.0),
        min_dissipation_nW: s
            .points
            .iter()
            .map(|p| p.dissipation())
            .fold(f64::INFINITY, f64::min),
        max_integration_error_nA: s.points.iter().map(|p| p.error_na).fold(0.0, f64::max),
        all_converged: s.points.iter().all(|p| p.converged),
        energy_evaluations: s.points.iter().map(|p| p.evaluations).sum(),
    }
}

fn find<'a>(sweeps: &'a [StateSweep], name: &str) -> Option<&'a StateSweep> {
    sweeps.iter().find(|s| s.state == name)
}

/// Build the summary of a run.
pub fn summarize(run: &CoherentRun, sweeps: &[StateSweep]) -> Summary {
    let tmr_summary = match (find(sweeps, "P"), find(sweeps, "AP")) {
        (Some(p), Some(ap)) => {
            let v = p.bias();
            let (ip, iap) = (p.current(), ap.current());
            let t: Vec<(f64, f64)> = v
                .iter()
                .zip(ip.iter().zip(&iap))
                .filter_map(|(&b, (&a, &c))| tmr(a, c, TMR_FLOOR_NA).map(|t| (b, t)))
                .collect();
            let max = t.iter().copied().fold(None, |m: Option<(f64, f64)>, x| {
                if m.is_none_or(|m| x.1 > m.1) {
                    Some(x)
                } else {
                    m
                }
            });
            let min = t.iter().copied().fold(None, |m: Option<(f64, f64)>, x| {
                if m.is_none_or(|m| x.1 < m.1) {
                    Some(x)
                } else {
                    m
                }
            });
            Some(TmrSummary {
                ranges_tmr_below_minus_100_percent_mV: opposite_sign_ranges(&v, &ip, &iap),
                max_tmr: max.map(|m| m.1),
                bias_at_max_tmr_mV: max.map(|m| m.0),
                min_tmr: min.map(|m| m.1),
                bias_at_min_tmr_mV: min.map(|m| m.0),
                extremes: tmr_extremes(&v, &ip, &iap),
            })
        }
        _ => None,
    };
    Summary {
        spinpath_version: env!("CARGO_PKG_VERSION").into(),
        title: run.title.clone(),
        states: sweeps.iter().map(state_summary).collect(),
        tmr: tmr_summary,
        rel_tol: run.integration.rel_tol,
        abs_tol_nA: run.integration.abs_tol_na,
    }
}

/// `iv.csv`: one row per (state, bias).
pub fn iv_table(sweeps: &[StateSweep], site_names: &[String]) -> Result<Table> {
    let rows = sweeps
        .iter()
        .flat_map(|s| s.points.iter().map(move |p| (s.state.as_str(), p)));
    let mut cols: Vec<(&str, Vec<f64>)> = [
        "bias_mV",
        "current_nA",
        "current_up_nA",
        "current_down_nA",
        "power_nW",
        "spin_current_left_nA",
        "spin_current_right_nA",
        "energy_current_left_nW",
        "energy_current_right_nW",
        "heat_current_left_nW",
        "heat_current_right_nW",
        "spin_free_energy_nW",
        "dissipation_nW",
        "efficiency",
        "integration_error_nA",
    ]
    .iter()
    .map(|n| (*n, Vec::new()))
    .collect();
    let mut states = Vec::new();
    for (st, p) in rows {
        states.push(st.to_string());
        let vals = [
            p.bias_mv,
            p.current(),
            p.current_up(),
            p.current_down(),
            p.power_out(),
            p.spin_current_into_left(),
            p.spin_current_into_right(),
            p.energy_into_lead(0),
            p.energy_into_lead(1),
            p.heat_into_lead(0),
            p.heat_into_lead(1),
            p.spin_free_energy(),
            p.dissipation(),
            p.efficiency().unwrap_or(f64::NAN),
            p.error_na,
        ];
        for (c, v) in cols.iter_mut().zip(vals) {
            c.1.push(v);
        }
    }
    // Differential conductance of each state's curve (three-point central differences of the
    // noise-free simulated current; empty for a single bias).
    let mut didv = Vec::new();
    for s in sweeps {
        let (v, i) = (s.bias(), s.current());
        match crate::analysis::derivative::derivative(
            &v,
            &i,
            crate::analysis::derivative::Method::FiniteDifference,
        ) {
            Ok(d) if d.len() == v.len() => didv.extend(d),
            _ => didv.extend(std::iter::repeat_n(f64::NAN, v.len())),
        }
    }
    let mut t = Table::new();
    t.push_str("state", states)?;
    for (n, v) in cols {
        t.push_f64(n, v)?;
    }
    t.push_f64("didv_nA_per_mV", didv)?;
    // Self-consistent exchange: the induced splitting |b| of every site that has one, and the
    // iterations used (columns only when the run has exchange links).
    let all: Vec<&BiasPoint> = sweeps.iter().flat_map(|s| s.points.iter()).collect();
    if all.iter().any(|p| !p.exchange_fields_mev.is_empty()) {
        let n_sites = all
            .iter()
            .map(|p| p.exchange_fields_mev.len())
            .max()
            .unwrap_or(0);
        for j in 0..n_sites {
            let col: Vec<f64> = all
                .iter()
                .map(|p| {
                    p.exchange_fields_mev.get(j).map_or(f64::NAN, |b| {
                        (b[0] * b[0] + b[1] * b[1] + b[2] * b[2]).sqrt()
                    })
                })
                .collect();
            if col.iter().any(|x| *x > 0.0) {
                let name = site_names
                    .get(j)
                    .cloned()
                    .unwrap_or_else(|| format!("site{j}"));
                t.push_f64(format!("exchange_splitting_{name}_meV"), col)?;
            }
        }
        t.push_f64(
            "sc_iterations",
            all.iter().map(|p| p.iterations as f64).collect(),
        )?;
    }
    Ok(t)
}

/// `tmr.csv`: P and AP currents on the common grid and TMR = I_P/I_AP − 1 (empty where I_AP ≈ 0).
pub fn tmr_table(p: &StateSweep, ap: &StateSweep) -> Result<Table> {
    let (ip, iap) = (p.current(), ap.current());
    let tmr_v: Vec<f64> = ip
        .iter()
        .zip(&iap)
        .map(|(&a, &b)| tmr(a, b, TMR_FLOOR_NA).unwrap_or(f64::NAN))
        .collect();
    let mut t = Table::new();
    t.push_f64("bias_mV", p.bias())?;
    t.push_f64("current_p_nA", ip.clone())?;
    t.push_f64("current_ap_nA", iap.clone())?;
    t.push_f64("tmr_percent", tmr_v.iter().map(|x| 100.0 * x).collect())?;
    t.push_f64("tmr", tmr_v)?;
    t.push_str(
        "opposite_signs",
        ip.iter()
            .zip(&iap)
            .map(|(a, b)| (a * b < 0.0).to_string())
            .collect(),
    )?;
    Ok(t)
}

/// The I(V) figure in the spirit of paper 1 Fig. 3(b, c): spin-resolved currents, I_P and I_AP,
/// TMR, and output power vs bias.
pub fn iv_figure(sweeps: &[StateSweep]) -> Figure {
    let color = |k: usize, name: &str| match name {
        "P" => 0,
        "AP" => 1,
        _ => 2 + k,
    };
    let mut spin = Panel {
        title: "(a) spin-resolved current (faint: spin ↓)".into(),
        x_label: "bias (mV)".into(),
        y_label: "current (nA)".into(),
        zero_line: true,
        ..Panel::default()
    };
    let mut total = Panel {
        title: "(b) current".into(),
        x_label: "bias (mV)".into(),
        y_label: "current (nA)".into(),
        zero_line: true,
        ..Panel::default()
    };
    // The generator window: the biases where some state delivers power (P_out = −I·V > 0).
    let gen: Vec<f64> = sweeps
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|p| p.power_out() > 0.0)
        .map(|p| p.bias_mv)
        .collect();
    let window = (!gen.is_empty()).then(|| {
        let lo = gen.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = gen.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    });
    let window_band = |(lo, hi): (f64, f64)| Band {
        axis: BandAxis::X,
        from: lo,
        to: hi,
        label: "P_out > 0".into(),
        color: Some(4),
    };
    if let Some(w) = window {
        total.bands.push(window_band(w));
    }
    for (k, s) in sweeps.iter().enumerate() {
        let c = color(k, &s.state);
        let v = s.bias();
        spin.series.push(Series::line(
            format!("{} ↑", s.state),
            v.clone(),
            s.points.iter().map(|p| p.current_up()).collect(),
            c,
        ));
        spin.series.push(
            Series::line(
                format!("{} ↓", s.state),
                v.clone(),
                s.points.iter().map(|p| p.current_down()).collect(),
                c,
            )
            .faint(),
        );
        total.series.push(Series::line(
            format!("I_{}", s.state),
            v.clone(),
            s.current(),
            c,
        ));
    }
    let mut panels = vec![spin, total];
    if let (Some(p), Some(ap)) = (find(sweeps, "P"), find(sweeps, "AP")) {
        // Clip |TMR| > 500 % (the line breaks there) so the sign structure stays readable.
        let t: Vec<f64> = p
            .current()
            .iter()
            .zip(ap.current())
            .map(|(&a, b)| {
                tmr(a, b, TMR_FLOOR_NA)
                    .map(|t| 100.0 * t)
                    .filter(|t| t.abs() <= 500.0)
                    .unwrap_or(f64::NAN)
            })
            .collect();
        let mut panel = Panel {
            title: "(c) TMR = I_P/I_AP − 1 (|TMR| ≤ 500 % shown)".into(),
            x_label: "bias (mV)".into(),
            y_label: "TMR (%)".into(),
            series: vec![Series::line("TMR", p.bias(), t, 3)],
            zero_line: true,
            bands: vec![Band {
                axis: BandAxis::Y,
                from: f64::NEG_INFINITY,
                to: -100.0,
                label: "TMR < −100 %: I_P, I_AP of opposite sign".into(),
                color: None,
            }],
            ..Panel::default()
        };
        if let Some(w) = window {
            panel.bands.push(Band {
                label: String::new(),
                ..window_band(w)
            });
        }
        panels.push(panel);
    }
    match window {
        Some((lo, hi)) => {
            // Zoom panels on the generator window (it is often a small part of the bias axis).
            let pad = 0.25 * (hi - lo).max(1e-6);
            let range = (lo - pad, hi + pad);
            let inside = |p: &&crate::negf::BiasPoint| p.bias_mv >= range.0 && p.bias_mv <= range.1;
            let mut zoom_i = Panel {
                title: format!("(d) zoom: generator window {lo:.3}–{hi:.3} mV"),
                x_label: "bias (mV)".into(),
                y_label: "current (nA)".into(),
                zero_line: true,
                x_range: Some(range),
                y_from_visible: true,
                bands: vec![window_band((lo, hi))],
                ..Panel::default()
            };
            let p_max = sweeps
                .iter()
                .flat_map(|s| s.points.iter().filter(|p| inside(p)))
                .map(|p| p.power_out().abs())
                .fold(0.0, f64::max);
            let (f, unit) = crate::plot::engineering(p_max, "nW");
            let mut zoom_p = Panel {
                title: "(e) output power P_out = −I·V in the window".into(),
                x_label: "bias (mV)".into(),
                y_label: format!("P_out ({unit})"),
                zero_line: true,
                x_range: Some(range),
                y_from_visible: true,
                bands: vec![window_band((lo, hi))],
                ..Panel::default()
            };
            for (k, s) in sweeps.iter().enumerate() {
                let c = color(k, &s.state);
                zoom_i.series.push(Series::line(
                    format!("I_{}", s.state),
                    s.bias(),
                    s.current(),
                    c,
                ));
                zoom_p.series.push(Series::line(
                    format!("P_out, {}", s.state),
                    s.bias(),
                    s.points.iter().map(|p| f * p.power_out()).collect(),
                    c,
                ));
            }
            panels.push(zoom_i);
            panels.push(zoom_p);
        }
        None => {
            let all_max = sweeps
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.power_out().abs()))
                .fold(0.0, f64::max);
            let (f, unit) = crate::plot::engineering(all_max, "nW");
            let mut power = Panel {
                title: "(d) output power P_out = −I·V (< 0: dissipated)".into(),
                x_label: "bias (mV)".into(),
                y_label: format!("P_out ({unit})"),
                zero_line: true,
                ..Panel::default()
            };
            for (k, s) in sweeps.iter().enumerate() {
                power.series.push(Series::line(
                    s.state.clone(),
                    s.bias(),
                    s.points.iter().map(|p| f * p.power_out()).collect(),
                    color(k, &s.state),
                ));
            }
            panels.push(power);
        }
    }
    let mut cond = Panel {
        title: format!(
            "({}) differential conductance dI/dV",
            if window.is_some() { "f" } else { "e" }
        ),
        x_label: "bias (mV)".into(),
        y_label: "dI/dV (nA/mV = µS)".into(),
        ..Panel::default()
    };
    for (k, s) in sweeps.iter().enumerate() {
        if let Ok(d) = crate::analysis::derivative::derivative(
            &s.bias(),
            &s.current(),
            crate::analysis::derivative::Method::FiniteDifference,
        ) {
            cond.series.push(Series::line(
                s.state.clone(),
                s.bias(),
                d,
                color(k, &s.state),
            ));
        }
    }
    panels.push(cond);
    Figure::new(panels, 2)
}

/// Spectra of one state at the run's spectrum biases: a transmission table and (optionally) a
/// site-resolved DOS table.
pub fn spectra_tables(
    run: &CoherentRun,
    solver: &ChainSolver,
    state: &str,
    names: &[String],
) -> Result<(Table, Option<Table>)> {
    let Some(sp) = &run.spectra else {
        return Ok((Table::new(), None));
    };
    let (mut st, mut b, mut e, mut tu, mut td) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut dst, mut db, mut de, mut ds, mut du, mut dd) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for &v in &sp.bias_mv {
        for p in solver.spectrum(v, &sp.energies_mev) {
            st.push(state.to_string());
            b.push(v);
            e.push(p.energy_mev);
            tu.push(p.transmission_up);
            td.push(p.transmission_down);
            if sp.dos {
                for (j, d) in p.dos_per_mev.iter().enumerate() {
                    dst.push(state.to_string());
                    db.push(v);
                    de.push(p.energy_mev);
                    ds.push(names[j].clone());
                    du.push(d[0]);
                    dd.push(d[1]);
                }
            }
        }
    }
    let mut t = Table::new();
    t.push_str("state", st)?;
    t.push_f64("bias_mV", b)?;
    t.push_f64("energy_meV", e)?;
    t.push_f64("transmission_up", tu)?;
    t.push_f64("transmission_down", td)?;
    let dos = if sp.dos {
        let mut d = Table::new();
        d.push_str("state", dst)?;
        d.push_f64("bias_mV", db)?;
        d.push_f64("energy_meV", de)?;
        d.push_str("site", ds)?;
        d.push_f64("dos_up_per_meV", du)?;
        d.push_f64("dos_down_per_meV", dd)?;
        Some(d)
    } else {
        None
    };
    Ok((t, dos))
}

/// Figure of the transmission tables (one panel per state).
pub fn spectra_figure(tables: &[(String, Table)]) -> Figure {
    let panels = tables
        .iter()
        .map(|(state, t)| {
            let mut panel = Panel {
                title: format!("transmission, {state}"),
                x_label: "energy (meV)".into(),
                y_label: "T(E)".into(),
                ..Panel::default()
            };
            let (b, e, tu, td) = (
                t.f64("bias_mV").unwrap_or(&[]),
                t.f64("energy_meV").unwrap_or(&[]),
                t.f64("transmission_up").unwrap_or(&[]),
                t.f64("transmission_down").unwrap_or(&[]),
            );
            let mut biases: Vec<f64> = b.to_vec();
            biases.dedup();
            for (k, v) in biases.iter().enumerate() {
                let idx: Vec<usize> = (0..b.len()).filter(|&i| b[i] == *v).collect();
                let x: Vec<f64> = idx.iter().map(|&i| e[i]).collect();
                panel.series.push(Series::line(
                    format!("↑ V={v} mV"),
                    x.clone(),
                    idx.iter().map(|&i| tu[i]).collect(),
                    k,
                ));
                panel.series.push(
                    Series::line(
                        format!("↓ V={v} mV"),
                        x,
                        idx.iter().map(|&i| td[i]).collect(),
                        k,
                    )
                    .faint(),
                );
            }
            panel
        })
        .collect();
    Figure::new(panels, 1)
}

fn fmt_opt(x: Option<f64>, unit: &str) -> String {
    x.map_or_else(|| "—".into(), |v| format!("{v:.4} {unit}"))
}

impl Summary {
    /// The short human summary the command line prints (one line per state, the TMR window).
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        if let Some(t) = &self.title {
            let _ = writeln!(out, "{t}");
        }
        for st in &self.states {
            let voc: Vec<String> = st
                .open_circuit_voltages_mV
                .iter()
                .map(|v| format!("{v:.3}"))
                .collect();
            let _ = writeln!(
                out,
                "  {:>3}: I(0) = {}, V_oc = [{}] mV, max power {:.4} nW at {:.3} mV (efficiency {})",
                st.state,
                fmt_opt(st.current_at_zero_bias_nA, "nA"),
                voc.join(", "),
                st.max_power_nW,
                st.bias_at_max_power_mV,
                st.efficiency_at_max_power
                    .map_or_else(|| "—".into(), |e| format!("{:.2} %", 100.0 * e)),
            );
            if !st.all_converged {
                let _ = writeln!(out, "       warning: some bias points did not reach the integration tolerance (max error {:.2e} nA)", st.max_integration_error_nA);
            }
        }
        if let Some(t) = &self.tmr {
            let r: Vec<String> = t
                .ranges_tmr_below_minus_100_percent_mV
                .iter()
                .map(|r| format!("{:.3}..{:.3}", r[0], r[1]))
                .collect();
            let _ = writeln!(
                out,
                "  TMR < −100 % (I_P, I_AP of opposite signs) for V in [{}] mV",
                r.join(", ")
            );
            if let (Some(m), Some(b)) = (t.max_tmr, t.bias_at_max_tmr_mV) {
                let _ = writeln!(out, "  max TMR {:.1} % at {:.3} mV", 100.0 * m, b);
            }
            for p in &t.extremes.peaks {
                let _ = writeln!(
                    out,
                    "  TMR peak {:.1} % at {:.3} mV (FWHM {:.3} mV, {:.3} mV from a current zero)",
                    100.0 * p.tmr,
                    p.bias_mV,
                    p.fwhm_mV,
                    p.distance_to_current_zero_mV
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossings_and_interpolation() {
        let x = [0.0, 1.0, 2.0, 3.0];
        let y = [-1.0, 1.0, 1.0, -3.0];
        let c = zero_crossings(&x, &y);
        assert_eq!(c.len(), 2);
        assert!((c[0] - 0.5).abs() < 1e-12 && (c[1] - 2.25).abs() < 1e-12);
        assert_eq!(interpolate(&x, &y, 0.25), Some(-0.5));
        assert_eq!(interpolate(&x, &y, 3.5), None);
    }

    #[test]
    fn opposite_sign_ranges_are_found() {
        let x: Vec<f64> = (0..=10).map(|k| k as f64).collect();
        let a: Vec<f64> = x.iter().map(|v| v - 2.5).collect(); // crosses at 2.5
        let b: Vec<f64> = x.iter().map(|v| v - 6.5).collect(); // crosses at 6.5
        let r = opposite_sign_ranges(&x, &a, &b);
        assert_eq!(r.len(), 1);
        assert!(
            (r[0][0] - 2.5).abs() < 1e-12 && (r[0][1] - 6.5).abs() < 1e-12,
            "{r:?}"
        );
    }

    #[test]
    fn tmr_peaks_are_separated_from_poles() {
        // I_AP crosses zero at 8 (a pole); I_P has a Lorentzian bump at 3 on a flat I_AP.
        let v: Vec<f64> = (0..=1000).map(|k| k as f64 * 0.01).collect();
        let iap: Vec<f64> = v.iter().map(|x| 8.0 - x).collect();
        let ip: Vec<f64> = v
            .iter()
            .zip(&iap)
            .map(|(x, a)| a * (1.0 + 3.0 / (1.0 + ((x - 3.0) / 0.5).powi(2))))
            .collect();
        let e = tmr_extremes(&v, &ip, &iap);
        assert_eq!(e.poles_mV.len(), 1);
        assert!((e.poles_mV[0] - 8.0).abs() < 1e-9);
        assert!(e.p_current_zeros_mV.len() == 1);
        // TMR = 3/(1 + ((x-3)/0.5)^2): peak 300 % at 3 mV, FWHM 1 mV; the pole is not a peak.
        assert_eq!(e.peaks.len(), 1, "{e:?}");
        let p = &e.peaks[0];
        assert!(
            (p.bias_mV - 3.0).abs() < 1e-3 && (p.tmr - 3.0).abs() < 1e-3,
            "{p:?}"
        );
        assert!((p.fwhm_mV - 1.0).abs() < 1e-2, "{p:?}");
        assert!((p.distance_to_current_zero_mV - 5.0).abs() < 1e-3);
        // A ratio that only rises into a pole has no peak.
        let ip2: Vec<f64> = vec![1.0; v.len()];
        let e2 = tmr_extremes(&v, &ip2, &iap);
        assert!(e2.peaks.is_empty(), "{e2:?}");
    }

    #[test]
    fn tmr_is_undefined_at_zero_ap_current() {
        assert_eq!(tmr(1.0, 0.0, 1e-9), None);
        assert_eq!(tmr(-1.0, 1.0, 1e-9), Some(-2.0));
    }
}
