//! Bias protocols and the analysis of a hysteretic I(V) run.
//!
//! A sweep visits turning points V₀ → V₁ → V₂ … with a fixed step, staying `dwell_s` at each point.
//! The branch at a point is `ON` when the gating dot holds less than half an electron on average, and
//! `OFF` otherwise (paper 2, Fig. 2(h): the charged gating atom shifts the Coulomb gap). A change of
//! branch between consecutive points is a writing event (`E+` at positive bias, `E-` at negative).

use super::model::{DotModel, Magnet};
use super::rates::{PointResult, RateSet};
use super::steady;
use crate::engine::dynamics::{steady_state, Dynamics};
use crate::engine::Prepared;
use crate::error::Result;
use crate::table::Table;
use serde::Serialize;

/// One bias point of a protocol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BiasPoint {
    /// Bias, mV.
    pub bias_mv: f64,
    /// Index of the sweep segment (between turning points).
    pub segment: usize,
    /// True when the bias increases along the segment.
    pub up: bool,
}

/// The bias points visiting `turning_mv` with steps of at most `step_mv`.
pub fn sweep_points(turning_mv: &[f64], step_mv: f64) -> Vec<BiasPoint> {
    let mut out = Vec::new();
    for (seg, w) in turning_mv.windows(2).enumerate() {
        let up = w[1] >= w[0];
        let n = ((w[1] - w[0]).abs() / step_mv).ceil().max(1.0) as usize;
        let first = if seg == 0 { 0 } else { 1 };
        for k in first..=n {
            out.push(BiasPoint {
                bias_mv: w[0] + (w[1] - w[0]) * k as f64 / n as f64,
                segment: seg,
                up,
            });
        }
    }
    out
}

/// Run `dynamics` along `points` over the kernels of `prepared` (any approach, one magnetic
/// state), starting from the steady state at the first point.
pub fn run_sweep(
    prepared: &dyn Prepared,
    points: &[BiasPoint],
    dwell_s: f64,
    dynamics: &mut dyn Dynamics,
) -> Result<Vec<PointResult>> {
    run_sweep_cancellable(
        prepared,
        points,
        dwell_s,
        dynamics,
        &crate::cancel::Cancel::new(),
    )
}

/// [`run_sweep`] that stops with [`crate::Error::Cancelled`] at the next bias point once
/// `cancel` is set.
pub fn run_sweep_cancellable(
    prepared: &dyn Prepared,
    points: &[BiasPoint],
    dwell_s: f64,
    dynamics: &mut dyn Dynamics,
    cancel: &crate::cancel::Cancel,
) -> Result<Vec<PointResult>> {
    let mut out = Vec::with_capacity(points.len());
    if let Some(first) = points.first() {
        let kernel = prepared.kernel(first.bias_mv)?;
        dynamics.reset(&steady_state(&kernel, &steady::SteadyOptions::default())?);
    }
    for p in points {
        cancel.check()?;
        let kernel = prepared.kernel(p.bias_mv)?;
        out.push(dynamics.step(&kernel, dwell_s)?);
    }
    Ok(out)
}

/// One configuration's sweep with its analysis inputs.
#[derive(Debug, Clone)]
pub struct StateSweep {
    /// Configuration.
    pub magnet: Magnet,
    /// Points.
    pub points: Vec<BiasPoint>,
    /// Results per point.
    pub results: Vec<PointResult>,
    /// Mean charge of every dot per point.
    pub charges: Vec<Vec<f64>>,
    /// Branch label per point (`ON`, `OFF`, or `-` without a gating dot).
    pub branch: Vec<&'static str>,
    /// dI/dV per point, nA/mV (= µS), central differences within a segment.
    pub didv: Vec<f64>,
}

impl StateSweep {
    /// Assemble from raw results. `model` gives the dot charges (`None` for an approach without
    /// many-body states: charges are then not reported and every point is on the `ON` branch).
    pub fn new(
        model: Option<&DotModel>,
        magnet: Magnet,
        points: Vec<BiasPoint>,
        results: Vec<PointResult>,
        gating_dot: Option<usize>,
    ) -> Self {
        let charges: Vec<Vec<f64>> = results
            .iter()
            .map(|r| model.map_or_else(Vec::new, |m| r.mean_charges(m)))
            .collect();
        let branch = charges
            .iter()
            .map(|c| match gating_dot {
                Some(g) if c.get(g).is_none_or(|&q| q < 0.5) => "ON",
                Some(_) => "OFF",
                None => "-",
            })
            .collect();
        let mut didv = vec![f64::NAN; points.len()];
        for i in 0..points.len() {
            let same = |j: usize| points[j].segment == points[i].segment;
            let lo = if i > 0 && same(i - 1) { i - 1 } else { i };
            let hi = if i + 1 < points.len() && same(i + 1) {
                i + 1
            } else {
                i
            };
            if hi > lo {
                didv[i] = (results[hi].current_na - results[lo].current_na)
                    / (points[hi].bias_mv - points[lo].bias_mv);
            }
        }
        StateSweep {
            magnet,
            points,
            results,
            charges,
            branch,
            didv,
        }
    }
}

/// A detected conductance peak.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Peak {
    /// Configuration.
    pub state: String,
    /// Branch.
    pub branch: String,
    /// `up` or `down`.
    pub direction: String,
    /// Position (parabolic refinement), mV.
    pub bias_mv: f64,
    /// dI/dV at the peak, µS.
    pub didv_us: f64,
}

/// A writing event (branch change).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WritingEvent {
    /// Configuration.
    pub state: String,
    /// `E+` (positive bias) or `E-`.
    pub label: String,
    /// Bias of the first point on the new branch, mV.
    pub bias_mv: f64,
    /// Branch before → after, e.g. `ON->OFF`.
    pub change: String,
    /// Sweep direction.
    pub direction: String,
}

/// Gap edges of one branch: the conductance peaks closest to zero bias on each side.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GapEdges {
    /// Configuration.
    pub state: String,
    /// Branch.
    pub branch: String,
    /// Negative edge (mV), median over sweep passes; NaN → null when absent.
    pub negative_mv: Option<f64>,
    /// Positive edge (mV).
    pub positive_mv: Option<f64>,
    /// Δ_CG = positive − negative (mV).
    pub coulomb_gap_mv: Option<f64>,
}

/// Δ_W of one configuration.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WritingShift {
    /// Configuration.
    pub state: String,
    /// Mean OFF − ON shift of the gap edges (mV); `null` when a branch lacks both edges.
    pub shift_mv: Option<f64>,
}

/// AP − P shift of the gap edges on one branch.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PApShift {
    /// Branch.
    pub branch: String,
    /// AP − P shift of the negative edge, mV.
    pub negative_edge_mv: Option<f64>,
    /// AP − P shift of the positive edge, mV.
    pub positive_edge_mv: Option<f64>,
}

/// Summary of a run (written as `summary.json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// Solver name.
    pub solver: String,
    /// Seed (Monte Carlo; recorded for every run).
    pub seed: u64,
    /// Dwell per point, s.
    pub dwell_s: f64,
    /// All peaks.
    pub peaks: Vec<Peak>,
    /// Gap edges per configuration and branch.
    pub gaps: Vec<GapEdges>,
    /// Δ_W per configuration: mean OFF − ON shift of the two edges, mV.
    pub writing_shift_mv: Vec<WritingShift>,
    /// Writing events.
    pub writing_events: Vec<WritingEvent>,
    /// AP − P shift of each edge per branch: (branch, negative edge shift, positive edge shift), mV.
    pub p_ap_shift_mv: Vec<PApShift>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

/// Local maxima of dI/dV above `threshold` × the largest dI/dV of the sweep, within runs of constant
/// segment and branch. Positions are refined by a parabola through the three highest points.
pub fn find_peaks(s: &StateSweep, threshold: f64) -> Vec<Peak> {
    let max = s
        .didv
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .fold(0.0, f64::max);
    let mut out = Vec::new();
    if max <= 0.0 {
        return out;
    }
    let n = s.points.len();
    let same = |a: usize, b: usize| {
        s.points[a].segment == s.points[b].segment && s.branch[a] == s.branch[b]
    };
    for i in 1..n.saturating_sub(1) {
        if !(same(i - 1, i) && same(i, i + 1)) {
            continue;
        }
        let (a, b, c) = (s.didv[i - 1], s.didv[i], s.didv[i + 1]);
        if !(b.is_finite() && a.is_finite() && c.is_finite())
            || b < threshold * max
            || b < a
            || b <= c
        {
            continue;
        }
        let (xa, xb, xc) = (
            s.points[i - 1].bias_mv,
            s.points[i].bias_mv,
            s.points[i + 1].bias_mv,
        );
        let denom = a - 2.0 * b + c;
        let h = 0.5 * (xc - xa);
        let x = if denom < 0.0 {
            xb + 0.5 * h * (a - c) / denom
        } else {
            xb
        };
        out.push(Peak {
            state: s.magnet.label().into(),
            branch: s.branch[i].into(),
            direction: if s.points[i].up { "up" } else { "down" }.into(),
            bias_mv: x,
            didv_us: b,
        });
    }
    out
}

/// Branch changes between consecutive points.
pub fn writing_events(s: &StateSweep) -> Vec<WritingEvent> {
    let mut out = Vec::new();
    for i in 1..s.points.len() {
        if s.branch[i] != s.branch[i - 1] {
            let v = s.points[i].bias_mv;
            out.push(WritingEvent {
                state: s.magnet.label().into(),
                label: if v >= 0.0 { "E+" } else { "E-" }.into(),
                bias_mv: v,
                change: format!("{}->{}", s.branch[i - 1], s.branch[i]),
                direction: if s.points[i].up { "up" } else { "down" }.into(),
            });
        }
    }
    out
}

/// Gap edges per branch: in every pass (segment) the peaks nearest zero on each side, then the
/// median over passes.
pub fn gap_edges(state: &str, peaks: &[Peak], branch: &str) -> GapEdges {
    let mine: Vec<&Peak> = peaks
        .iter()
        .filter(|p| p.state == state && p.branch == branch)
        .collect();
    let neg = median(group_nearest(&mine, |x| x < 0.0));
    let pos = median(group_nearest(&mine, |x| x > 0.0));
    GapEdges {
        state: state.into(),
        branch: branch.into(),
        negative_mv: neg,
        positive_mv: pos,
        coulomb_gap_mv: match (neg, pos) {
            (Some(n), Some(p)) => Some(p - n),
            _ => None,
        },
    }
}

/// For each sweep direction, the peak nearest zero bias on the selected side.
fn group_nearest(peaks: &[&Peak], side: impl Fn(f64) -> bool) -> Vec<f64> {
    let mut out = Vec::new();
    for dir in ["up", "down"] {
        let best = peaks
            .iter()
            .filter(|p| p.direction == dir && side(p.bias_mv))
            .map(|p| p.bias_mv)
            .min_by(|a, b| a.abs().total_cmp(&b.abs()));
        if let Some(b) = best {
            out.push(b);
        }
    }
    out
}

/// Analyse the sweeps of all configurations.
pub fn summarize(
    sweeps: &[StateSweep],
    threshold: f64,
    solver: &str,
    seed: u64,
    dwell_s: f64,
) -> Summary {
    let mut peaks = Vec::new();
    let mut events = Vec::new();
    for s in sweeps {
        peaks.extend(find_peaks(s, threshold));
        events.extend(writing_events(s));
    }
    let mut gaps = Vec::new();
    let mut shifts = Vec::new();
    for s in sweeps {
        let st = s.magnet.label();
        let on = gap_edges(st, &peaks, "ON");
        let off = gap_edges(st, &peaks, "OFF");
        let mut d = Vec::new();
        if let (Some(a), Some(b)) = (on.negative_mv, off.negative_mv) {
            d.push(b - a);
        }
        if let (Some(a), Some(b)) = (on.positive_mv, off.positive_mv) {
            d.push(b - a);
        }
        shifts.push(WritingShift {
            state: st.to_string(),
            shift_mv: if d.is_empty() {
                None
            } else {
                Some(d.iter().sum::<f64>() / d.len() as f64)
            },
        });
        let none = gap_edges(st, &peaks, "-");
        for g in [on, off, none] {
            if g.negative_mv.is_some() || g.positive_mv.is_some() {
                gaps.push(g);
            }
        }
    }
    let mut p_ap = Vec::new();
    for branch in ["ON", "OFF", "-"] {
        let p = gaps.iter().find(|g| g.state == "P" && g.branch == branch);
        let ap = gaps.iter().find(|g| g.state == "AP" && g.branch == branch);
        if let (Some(p), Some(ap)) = (p, ap) {
            let sub = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) => Some(a - b),
                _ => None,
            };
            p_ap.push(PApShift {
                branch: branch.to_string(),
                negative_edge_mv: sub(ap.negative_mv, p.negative_mv),
                positive_edge_mv: sub(ap.positive_mv, p.positive_mv),
            });
        }
    }
    Summary {
        solver: solver.into(),
        seed,
        dwell_s,
        peaks,
        gaps,
        writing_shift_mv: shifts,
        writing_events: events,
        p_ap_shift_mv: p_ap,
    }
}

/// The `iv.csv` table: `state,bias_mV,current_nA,current_up_nA,current_down_nA,power_nW,branch,direction`.
pub fn iv_table(sweeps: &[StateSweep]) -> Result<Table> {
    let mut state = Vec::new();
    let mut bias = Vec::new();
    let mut cur = Vec::new();
    let mut up = Vec::new();
    let mut dn = Vec::new();
    let mut pow = Vec::new();
    let mut br = Vec::new();
    let mut dir = Vec::new();
    for s in sweeps {
        for ((p, r), b) in s.points.iter().zip(&s.results).zip(&s.branch) {
            state.push(s.magnet.label().to_string());
            bias.push(p.bias_mv);
            cur.push(r.current_na);
            up.push(r.current_spin_na[0]);
            dn.push(r.current_spin_na[1]);
            pow.push(-r.current_na * p.bias_mv * crate::units::NA_MV_TO_NW);
            br.push(b.to_string());
            dir.push(if p.up { "up" } else { "down" }.to_string());
        }
    }
    let mut t = Table::new();
    t.push_str("state", state)?;
    t.push_f64("bias_mV", bias)?;
    t.push_f64("current_nA", cur)?;
    t.push_f64("current_up_nA", up)?;
    t.push_f64("current_down_nA", dn)?;
    t.push_f64("power_nW", pow)?;
    t.push_str("branch", br)?;
    t.push_str("direction", dir)?;
    Ok(t)
}

/// The `dots.csv` table: dI/dV, current error/noise and the mean charge of every dot per point.
pub fn detail_table(model: &DotModel, sweeps: &[StateSweep]) -> Result<Table> {
    let mut t = Table::new();
    let mut state = Vec::new();
    let mut bias = Vec::new();
    let mut didv = Vec::new();
    let mut err = Vec::new();
    let mut noise = Vec::new();
    let mut right = Vec::new();
    let mut right_up = Vec::new();
    let mut right_dn = Vec::new();
    let mut charges = vec![Vec::new(); model.dots.len()];
    for s in sweeps {
        for i in 0..s.points.len() {
            state.push(s.magnet.label().to_string());
            bias.push(s.points[i].bias_mv);
            didv.push(s.didv[i]);
            err.push(s.results[i].current_err_na);
            noise.push(s.results[i].current_noise_na);
            right.push(s.results[i].current_right_na);
            right_up.push(s.results[i].current_right_spin_na[0]);
            right_dn.push(s.results[i].current_right_spin_na[1]);
            for (d, c) in charges.iter_mut().enumerate() {
                c.push(s.charges[i][d]);
            }
        }
    }
    t.push_str("state", state)?;
    t.push_f64("bias_mV", bias)?;
    t.push_f64("dIdV_uS", didv)?;
    t.push_f64("current_right_nA", right)?;
    t.push_f64("current_right_up_nA", right_up)?;
    t.push_f64("current_right_down_nA", right_dn)?;
    t.push_f64("current_err_nA", err)?;
    t.push_f64("current_noise_nA", noise)?;
    for (d, c) in charges.into_iter().enumerate() {
        t.push_f64(format!("charge_{}_e", model.dots[d].name), c)?;
    }
    Ok(t)
}

/// Largest state space for which `occupations.csv` is written (one column per many-body state).
pub const MAX_OCCUPATION_COLUMNS: usize = 256;

/// The `occupations.csv` table: the probability of every many-body state per point, columns
/// `p_<label>` with labels from [`DotModel::state_label`] (`None` above
/// [`MAX_OCCUPATION_COLUMNS`] states).
pub fn occupation_table(model: &DotModel, sweeps: &[StateSweep]) -> Result<Option<Table>> {
    let n = model.n_states();
    if n > MAX_OCCUPATION_COLUMNS {
        return Ok(None);
    }
    let mut t = Table::new();
    let mut state = Vec::new();
    let mut bias = Vec::new();
    let mut cols = vec![Vec::new(); n];
    for s in sweeps {
        for (p, r) in s.points.iter().zip(&s.results) {
            state.push(s.magnet.label().to_string());
            bias.push(p.bias_mv);
            for (k, c) in cols.iter_mut().enumerate() {
                c.push(r.probabilities[k]);
            }
        }
    }
    t.push_str("state", state)?;
    t.push_f64("bias_mV", bias)?;
    for (k, c) in cols.into_iter().enumerate() {
        t.push_f64(format!("p_{}", model.state_label(k)), c)?;
    }
    Ok(Some(t))
}

/// The figure, laid out like paper 2 Fig. 2(a, b): per magnetic configuration, I(V) and dI/dV side
/// by side. Colour is the charge branch (ON blue, OFF vermillion, undetermined black) in every panel;
/// solid lines are the up-sweep of bias, dashed the down-sweep. The gap edges E+ (V > 0) and E− (V < 0)
/// of each branch — the largest dI/dV peak on each side — are marked with their bias.
pub fn figure(sweeps: &[StateSweep]) -> crate::plot::Figure {
    use crate::plot::{Figure, Panel, Series, VLine};
    let colour = |branch: &str| match branch {
        "ON" => 2,
        "OFF" => 1,
        _ => 0,
    };
    let mut panels = Vec::new();
    for s in sweeps {
        let state = s.magnet.label();
        let mut iv = Panel {
            title: format!("I(V), {state} (solid: bias swept up, dashed: down)"),
            x_label: "bias (mV)".into(),
            y_label: "current (nA)".into(),
            zero_line: true,
            ..Default::default()
        };
        let branched = s.branch.iter().any(|b| *b != "-");
        let mut didv = Panel {
            title: if branched {
                format!("dI/dV, {state}: gap edges E+ and E− per branch")
            } else {
                format!("dI/dV, {state}")
            },
            x_label: "bias (mV)".into(),
            y_label: "dI/dV (µS)".into(),
            zero_line: true,
            ..Default::default()
        };
        let x: Vec<f64> = s.points.iter().map(|p| p.bias_mv).collect();
        let cur: Vec<f64> = s.results.iter().map(|r| r.current_na).collect();
        for branch in ["ON", "OFF", "-"] {
            if !s.branch.contains(&branch) {
                continue;
            }
            for up in [true, false] {
                let keep = |k: usize| s.branch[k] == branch && s.points[k].up == up;
                let mask = |v: &[f64]| -> Vec<f64> {
                    (0..v.len())
                        .map(|k| if keep(k) { v[k] } else { f64::NAN })
                        .collect()
                };
                if !(0..x.len()).any(keep) {
                    continue;
                }
                let dir = if up { "up" } else { "down" };
                let label = if branch == "-" {
                    format!("{state}, swept {dir}")
                } else {
                    format!("{branch}, swept {dir}")
                };
                let line = |y: Vec<f64>| {
                    let ser = Series::line(label.clone(), x.clone(), y, colour(branch));
                    if up {
                        ser
                    } else {
                        ser.dashed()
                    }
                };
                iv.series.push(line(mask(&cur)));
                didv.series.push(line(mask(&s.didv)));
            }
            // Gap edges: the largest dI/dV on each side of zero bias within this branch.
            for positive in [true, false].into_iter().filter(|_| branch != "-") {
                let best = (0..x.len())
                    .filter(|&k| s.branch[k] == branch && (x[k] > 0.0) == positive)
                    .filter(|&k| s.didv[k].is_finite())
                    .max_by(|&a, &b| s.didv[a].total_cmp(&s.didv[b]));
                if let Some(k) = best.filter(|&k| s.didv[k] > 0.0) {
                    let edge = if positive { "E+" } else { "E−" };
                    didv.vlines.push(VLine::new(
                        x[k],
                        format!("{edge} {branch} {:.0} mV", x[k]),
                        colour(branch),
                    ));
                }
            }
        }
        panels.push(iv);
        panels.push(didv);
    }
    Figure::new(panels, 2)
}

/// Fixed-bias Monte Carlo time traces (`[dots_run.monte_carlo]`): the sampled current and state
/// at each bias, the event history, and per-bias statistics next to the master-equation current.
#[derive(Debug, Clone)]
pub struct MonteCarloSeries {
    /// `kmc_trace.csv`: `bias_mV, time_s, current_nA, state`.
    pub trace: Table,
    /// `kmc_history.csv` (`bias_mV, time_s, state`), when history events were requested.
    pub history: Option<Table>,
    /// The `monte_carlo` entry of `summary.json`.
    pub summary: serde_json::Value,
}

/// Run the fixed-bias Monte Carlo series of a dots run: one seeded trajectory, started at each bias
/// from the most probable steady state (the first of equals).
pub fn monte_carlo_series(
    model: &DotModel,
    seed: u64,
    max_events: u64,
    mc: &super::spec::McSettings,
) -> Result<MonteCarloSeries> {
    let (mut t_bias, mut t_time, mut t_cur, mut t_state) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut h_bias, mut h_time, mut h_state) = (Vec::new(), Vec::new(), Vec::new());
    let mut stats = Vec::new();
    let mut sim = super::kmc::Gillespie::new(seed, 0);
    sim.history_limit = mc.history_events;
    for &v in &mc.bias_mv {
        let rates = RateSet::build(model, v, mc.magnet);
        let p = steady::solve(&rates, &Default::default())?;
        let mut start = 0;
        for (s, &x) in p.iter().enumerate() {
            if x > p[start] {
                start = s;
            }
        }
        sim.state = start as u32;
        let trace = sim.run(&rates, mc.duration_s, mc.integration_s, max_events)?;
        let r = trace.summarize(v, mc.integration_s);
        let me = PointResult::from_probabilities(&rates, p);
        stats.push(serde_json::json!({
            "bias_mV": v, "mean_current_nA": r.current_na, "standard_error_nA": r.current_err_na,
            "noise_nA": r.current_noise_na, "fano": r.fano, "master_equation_current_nA": me.current_na,
            "events": trace.events,
        }));
        for (k, (&t, &c)) in trace.time_s.iter().zip(&trace.current_na).enumerate() {
            t_bias.push(v);
            t_time.push(t);
            t_cur.push(c);
            t_state.push(model.state_label(trace.state[k] as usize));
        }
        for &(t, s) in &trace.history {
            h_bias.push(v);
            h_time.push(t);
            h_state.push(model.state_label(s as usize));
        }
    }
    let mut trace = Table::new();
    trace.push_f64("bias_mV", t_bias)?;
    trace.push_f64("time_s", t_time)?;
    trace.push_f64("current_nA", t_cur)?;
    trace.push_str("state", t_state)?;
    let history = if mc.history_events > 0 {
        let mut h = Table::new();
        h.push_f64("bias_mV", h_bias)?;
        h.push_f64("time_s", h_time)?;
        h.push_str("state", h_state)?;
        Some(h)
    } else {
        None
    };
    let summary = serde_json::json!({"state": mc.magnet.label(), "duration_s": mc.duration_s,
        "integration_time_s": mc.integration_s, "seed": seed, "history_events": mc.history_events,
        "biases": stats});
    Ok(MonteCarloSeries {
        trace,
        history,
        summary,
    })
}

fn fmt_mv(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |x| format!("{x:.1} mV"))
}

impl Summary {
    /// The short human summary the command line prints (gaps, writing shift and events, P/AP
    /// shifts).
    pub fn text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "dots run ({} solver, dwell {} s, seed {})",
            self.solver, self.dwell_s, self.seed
        );
        for g in &self.gaps {
            let _ = writeln!(
                out,
                "  {:>2} {:<3}: gap edges {} / {}, Coulomb gap {}",
                g.state,
                g.branch,
                fmt_mv(g.negative_mv),
                fmt_mv(g.positive_mv),
                fmt_mv(g.coulomb_gap_mv)
            );
        }
        for w in &self.writing_shift_mv {
            if w.shift_mv.is_some() {
                let _ = writeln!(
                    out,
                    "  {:>2} writing shift OFF-ON: {}",
                    w.state,
                    fmt_mv(w.shift_mv)
                );
            }
        }
        let ev: Vec<String> = self
            .writing_events
            .iter()
            .map(|e| {
                format!(
                    "{} {} {} at {:.0} mV ({})",
                    e.state, e.label, e.change, e.bias_mv, e.direction
                )
            })
            .collect();
        if !ev.is_empty() {
            let _ = writeln!(out, "  writing events: {}", ev.join("; "));
        }
        for x in &self.p_ap_shift_mv {
            let _ = writeln!(
                out,
                "  AP-P peak shift on {}: negative edge {}, positive edge {}",
                x.branch,
                fmt_mv(x.negative_edge_mv),
                fmt_mv(x.positive_edge_mv)
            );
        }
        out
    }
}
