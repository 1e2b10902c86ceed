//! Design exploration: sweep one device parameter and collect the figures of merit of each
//! device (zero-bias current, open-circuit voltage, output power, efficiency, TMR < −100 % window).
//!
//! Parameters are named as in fits (`docs/fitting.md`): the run-file keys of `[spin_engine]`
//! (`spin_accumulation_meV`, `P.dimer_energy_meV`, ...) or the site/lead/state names of a `[chain]`.

use crate::config::CoherentRun;
use crate::device::Parametrized;
use crate::error::{Error, Result};
use crate::negf::ChainSolver;
use crate::plot::{Figure, Heatmap, Panel, Series};
use crate::report::{summarize, Summary};
use crate::sweep::{sweep_bias_self_consistent, StateSweep};
use crate::table::Table;
use rayon::prelude::*;

mod plan;
pub use plan::{
    check_shard, merge, merge_on, parse_shard, read_scan_csv, Axis, Sampling, ScanPlan,
    ShardRecord, ShardTable, MAX_POINTS,
};

/// One device of a scan: the parameter value and the run's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanPoint {
    /// Parameter value.
    pub value: f64,
    /// Figures of merit of every state (and P vs AP).
    pub summary: Summary,
}

/// The names a scan of `run` can vary.
pub fn parameter_names(run: &CoherentRun) -> Vec<String> {
    run.parameters().parameter_names()
}

/// The run with parameter `name` set to `value` (chain, states and exchange links rebuilt).
pub fn with_parameter(run: &CoherentRun, name: &str, value: f64) -> Result<CoherentRun> {
    run.with_parameter(name, value)
}

/// The bias sweep of every state of one device, summarised. `tick` is called once per bias point.
pub fn run_device(r: &CoherentRun, tick: &(dyn Fn() + Sync)) -> Result<Summary> {
    let sweeps = r
        .states
        .iter()
        .map(|state| {
            let solver = ChainSolver::new(&r.chain, state)?;
            Ok(StateSweep {
                state: state.name.clone(),
                angle_deg: state.angle_deg,
                points: sweep_bias_self_consistent(
                    &solver,
                    &r.bias_mv,
                    &r.integration,
                    &r.exchange,
                    &r.self_consistency,
                    tick,
                )?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(summarize(r, &sweeps))
}

/// Run the bias sweep of every device of the scan. `tick` is called once per bias point.
pub fn scan(
    run: &CoherentRun,
    name: &str,
    values: &[f64],
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<ScanPoint>> {
    if values.is_empty() {
        return Err(Error::invalid("scan", "no parameter values"));
    }
    values
        .iter()
        .map(|&value| {
            let r = with_parameter(run, name, value)?;
            Ok(ScanPoint {
                value,
                summary: run_device(&r, tick)?,
            })
        })
        .collect()
}

/// The figures-of-merit columns of a scan table (one row per device and state).
#[derive(Default)]
struct Merits {
    state: Vec<String>,
    i0: Vec<f64>,
    voc: Vec<f64>,
    pmax: Vec<f64>,
    vpmax: Vec<f64>,
    eta: Vec<f64>,
    window: Vec<f64>,
    tmr_max: Vec<f64>,
}

impl Merits {
    /// Append the rows of one device (one per state); returns how many.
    fn push(&mut self, summary: &Summary) -> usize {
        let w = summary.tmr.as_ref().map_or(f64::NAN, |t| {
            t.ranges_tmr_below_minus_100_percent_mV
                .iter()
                .map(|r| r[1] - r[0])
                .sum::<f64>()
                + 0.0
        });
        let tm = summary
            .tmr
            .as_ref()
            .and_then(|t| t.max_tmr)
            .unwrap_or(f64::NAN);
        for s in &summary.states {
            self.state.push(s.state.clone());
            self.i0.push(s.current_at_zero_bias_nA.unwrap_or(f64::NAN));
            self.voc.push(
                s.open_circuit_voltages_mV
                    .iter()
                    .copied()
                    .min_by(|a, b| a.abs().total_cmp(&b.abs()))
                    .unwrap_or(f64::NAN),
            );
            self.pmax.push(s.max_power_nW.max(0.0));
            self.vpmax.push(if s.max_power_nW > 0.0 {
                s.bias_at_max_power_mV
            } else {
                f64::NAN
            });
            self.eta.push(s.max_efficiency.unwrap_or(f64::NAN));
            self.window.push(w);
            self.tmr_max.push(tm);
        }
        summary.states.len()
    }

    /// Append the columns `state`, `current_at_zero_bias_nA`, ... to `t`.
    fn append_to(self, t: &mut Table) -> Result<()> {
        t.push_str("state", self.state)?;
        t.push_f64("current_at_zero_bias_nA", self.i0)?;
        t.push_f64("open_circuit_voltage_mV", self.voc)?;
        t.push_f64("max_power_nW", self.pmax)?;
        t.push_f64("bias_at_max_power_mV", self.vpmax)?;
        t.push_f64("max_efficiency", self.eta)?;
        t.push_f64("tmr_below_minus_100_percent_width_mV", self.window)?;
        t.push_f64("max_tmr", self.tmr_max)?;
        Ok(())
    }
}

/// `scan.csv`: one row per (value, state).
pub fn scan_table(name: &str, points: &[ScanPoint]) -> Result<Table> {
    let mut value = Vec::new();
    let mut m = Merits::default();
    for p in points {
        let k = m.push(&p.summary);
        value.extend(std::iter::repeat_n(p.value, k));
    }
    let mut t = Table::new();
    t.push_f64(name, value)?;
    m.append_to(&mut t)?;
    Ok(t)
}

/// One evaluated point of a [`ScanPlan`].
#[derive(Debug, Clone, PartialEq)]
pub struct PlanPoint {
    /// Point index in the plan (from 0).
    pub index: usize,
    /// Parameter values, in the order of the plan's axes (units of the names).
    pub values: Vec<f64>,
    /// Figures of merit of every state (and P vs AP).
    pub summary: Summary,
}

/// The device of `run` with the plan's parameters set to `values` (in the order of the axes).
pub fn with_parameters(run: &CoherentRun, axes: &[Axis], values: &[f64]) -> Result<CoherentRun> {
    let mut r = run.clone();
    for (a, &v) in axes.iter().zip(values) {
        r = r.with_parameter(&a.name, v)?;
    }
    Ok(r)
}

/// Check that every axis of `plan` names a parameter of `run` (the error lists the known names).
pub fn check_plan(run: &CoherentRun, plan: &ScanPlan) -> Result<()> {
    let firsts: Vec<f64> = plan.axes.iter().map(|a| a.from).collect();
    with_parameters(run, &plan.axes, &firsts).map(|_| ())
}

/// Evaluate the points `indices` of `plan` on `run`, in parallel over the points (rayon; all cores).
/// The result is in the order of `indices` and does not depend on the number of threads.
/// `tick` is called once per bias point.
pub fn evaluate(
    run: &CoherentRun,
    plan: &ScanPlan,
    indices: &[usize],
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<PlanPoint>> {
    let all = plan.points();
    if let Some(&bad) = indices.iter().find(|&&i| i >= all.len()) {
        return Err(Error::invalid(
            "scan",
            format!("point {bad} is outside the plan of {} points", all.len()),
        ));
    }
    indices
        .par_iter()
        .map(|&i| {
            let r = with_parameters(run, &plan.axes, &all[i])?;
            Ok(PlanPoint {
                index: i,
                values: all[i].clone(),
                summary: run_device(&r, tick)?,
            })
        })
        .collect()
}

/// `scan.csv` of a plan: one row per point and state — `point` (index), the parameters (named with
/// their units), `state`, then the figures of merit as in [`scan_table`].
pub fn plan_table(plan: &ScanPlan, points: &[PlanPoint]) -> Result<Table> {
    let mut index = Vec::new();
    let mut values = vec![Vec::new(); plan.axes.len()];
    let mut m = Merits::default();
    for p in points {
        let k = m.push(&p.summary);
        index.extend(std::iter::repeat_n(p.index as f64, k));
        for (col, &v) in values.iter_mut().zip(&p.values) {
            col.extend(std::iter::repeat_n(v, k));
        }
    }
    let mut t = Table::new();
    t.push_f64("point", index)?;
    for (a, v) in plan.axes.iter().zip(values) {
        t.push_f64(a.name.clone(), v)?;
    }
    m.append_to(&mut t)?;
    Ok(t)
}

/// The figures of a plan's table, as (file name, SVG text): one parameter — `scan.svg`, the
/// figures of merit against it; a grid over two parameters — `scan-map-<state>.svg`, the maximum
/// output power (nW) over the two parameters, one map per state. Other plans have no figure.
pub fn plan_figures(plan: &ScanPlan, t: &Table) -> Result<Vec<(String, String)>> {
    match plan.axes.as_slice() {
        [a] => Ok(vec![("scan.svg".into(), scan_figure(&a.name, t).to_svg()?)]),
        [a, b] if plan.sampling == Sampling::Grid => {
            let (x, y) = (t.f64(&a.name).unwrap_or(&[]), t.f64(&b.name).unwrap_or(&[]));
            let st = t.str("state").unwrap_or(&[]);
            let p = t.f64("max_power_nW").unwrap_or(&[]);
            let mut states: Vec<&String> = Vec::new();
            for s in st {
                if !states.contains(&s) {
                    states.push(s);
                }
            }
            let step = |ax: &Axis| {
                if ax.n > 1 {
                    (ax.to - ax.from) / (ax.n - 1) as f64
                } else {
                    1.0
                }
            };
            states
                .into_iter()
                .map(|s| {
                    let map = Heatmap {
                        title: format!("maximum output power, state {s}"),
                        x_label: crate::plot::axis_label(&a.name),
                        y_label: crate::plot::axis_label(&b.name),
                        cells: (0..st.len())
                            .filter(|&i| &st[i] == s)
                            .map(|i| (x[i], y[i], p[i]))
                            .collect(),
                        cell: (step(a), step(b)),
                        value_label: "P_max (nW)".into(),
                    };
                    Ok((format!("scan-map-{s}.svg"), map.to_svg()?))
                })
                .collect()
        }
        _ => Ok(Vec::new()),
    }
}

/// Figures of merit against the parameter, one line per state.
pub fn scan_figure(name: &str, t: &Table) -> Figure {
    let x = t.f64(name).unwrap_or(&[]);
    let st = t.str("state").unwrap_or(&[]);
    let mut states: Vec<String> = Vec::new();
    for s in st {
        if !states.contains(s) {
            states.push(s.clone());
        }
    }
    let panel = |col: &str, title: &str, unit: &str| {
        let raw = t.f64(col).unwrap_or(&[]);
        // Powers are often pW-scale: rescale nW columns to an engineering prefix.
        let (f, label) = match col.strip_suffix("_nW") {
            Some(_) => {
                let max = raw
                    .iter()
                    .filter(|v| v.is_finite())
                    .fold(0.0f64, |m, v| m.max(v.abs()));
                let (f, u) = crate::plot::engineering(max, "nW");
                (f, unit.replace("(nW)", &format!("({u})")))
            }
            None => (1.0, unit.to_string()),
        };
        let y: Vec<f64> = raw.iter().map(|v| v * f).collect();
        let mut p = Panel {
            title: title.into(),
            x_label: crate::plot::axis_label(name),
            y_label: label,
            zero_line: true,
            ..Panel::default()
        };
        for (k, s) in states.iter().enumerate() {
            let idx: Vec<usize> = (0..st.len()).filter(|&i| &st[i] == s).collect();
            p.series.push(
                Series::line(
                    s.clone(),
                    idx.iter().map(|&i| x[i]).collect(),
                    idx.iter().map(|&i| y[i]).collect(),
                    if s == "AP" { 1 } else { k },
                )
                .markers(),
            );
        }
        p
    };
    let mut panels = vec![
        panel(
            "current_at_zero_bias_nA",
            "current at zero bias",
            "I(0) (nA)",
        ),
        panel("max_power_nW", "maximum output power", "P_max (nW)"),
        panel(
            "open_circuit_voltage_mV",
            "open-circuit voltage (closest to 0)",
            "V_oc (mV)",
        ),
        panel("max_efficiency", "maximum efficiency", "efficiency"),
    ];
    if t.f64("tmr_below_minus_100_percent_width_mV")
        .is_some_and(|w| w.iter().any(|v| v.is_finite()))
    {
        panels.push(panel(
            "tmr_below_minus_100_percent_width_mV",
            "width of the TMR < −100 % window",
            "width (mV)",
        ));
    }
    Figure::new(panels, 2)
}

/// `summary.json` of a plan's folder, computed from its table (so a merged folder's equals the
/// whole scan's): the plan, the number of points and rows, and per state the number of points
/// that generate power and the point of largest output power (index, parameter values in the
/// units of their names, `max_power_nW`, `bias_at_max_power_mV`).
pub fn plan_summary(plan: &ScanPlan, t: &Table) -> Result<serde_json::Value> {
    let need = |name: &str| {
        t.f64(name)
            .ok_or_else(|| Error::invalid("scan", format!("table without `{name}`")))
    };
    let (idx, p, v) = (
        need("point")?,
        need("max_power_nW")?,
        need("bias_at_max_power_mV")?,
    );
    let st = t
        .str("state")
        .ok_or_else(|| Error::invalid("scan", "table without `state`"))?;
    let mut states: Vec<&String> = Vec::new();
    for s in st {
        if !states.contains(&s) {
            states.push(s);
        }
    }
    let per_state = states
        .iter()
        .map(|&s| {
            let rows: Vec<usize> = (0..st.len()).filter(|&i| &st[i] == s).collect();
            let best = rows
                .iter()
                .copied()
                .filter(|&i| p[i] > 0.0)
                .max_by(|&a, &b| p[a].total_cmp(&p[b]));
            let values = |i: usize| -> serde_json::Map<String, serde_json::Value> {
                plan.axes
                    .iter()
                    .map(|a| {
                        (
                            a.name.clone(),
                            t.f64(&a.name).map_or(f64::NAN, |c| c[i]).into(),
                        )
                    })
                    .collect()
            };
            serde_json::json!({
                "state": s,
                "points_generating_power": rows.iter().filter(|&&i| p[i] > 0.0).count(),
                "most_power": best.map(|i| serde_json::json!({
                    "point": idx[i] as u64,
                    "values": values(i),
                    "max_power_nW": p[i],
                    "bias_at_max_power_mV": v[i],
                })),
            })
        })
        .collect::<Vec<_>>();
    let mut points = idx.to_vec();
    points.dedup();
    Ok(serde_json::json!({
        "plan": plan,
        "points": points.len(),
        "rows": t.n_rows(),
        "states": per_state,
    }))
}
