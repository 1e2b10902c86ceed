//! Design exploration: sweep one device parameter and collect the figures of merit of each
//! device (zero-bias current, open-circuit voltage, output power, efficiency, TMR < −100 % window).
//!
//! Parameters are named as in fits (`docs/fitting.md`): the run-file keys of `[spin_engine]`
//! (`spin_accumulation_meV`, `P.dimer_energy_meV`, ...) or the site/lead/state names of a `[chain]`.

use crate::config::CoherentRun;
use crate::device::Parametrized;
use crate::error::{Error, Result};
use crate::negf::ChainSolver;
use crate::plot::{Figure, Panel, Series};
use crate::report::{summarize, Summary};
use crate::sweep::{sweep_bias_self_consistent, StateSweep};
use crate::table::Table;

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
            Ok(ScanPoint {
                value,
                summary: summarize(&r, &sweeps),
            })
        })
        .collect()
}

/// `scan.csv`: one row per (value, state).
pub fn scan_table(name: &str, points: &[ScanPoint]) -> Result<Table> {
    let mut value = Vec::new();
    let mut state = Vec::new();
    let (mut i0, mut voc, mut pmax, mut vpmax, mut eta, mut window, mut tmr_max) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for p in points {
        let w = p.summary.tmr.as_ref().map_or(f64::NAN, |t| {
            t.ranges_tmr_below_minus_100_percent_mV
                .iter()
                .map(|r| r[1] - r[0])
                .sum::<f64>()
                + 0.0
        });
        let tm = p
            .summary
            .tmr
            .as_ref()
            .and_then(|t| t.max_tmr)
            .unwrap_or(f64::NAN);
        for s in &p.summary.states {
            value.push(p.value);
            state.push(s.state.clone());
            i0.push(s.current_at_zero_bias_nA.unwrap_or(f64::NAN));
            voc.push(
                s.open_circuit_voltages_mV
                    .iter()
                    .copied()
                    .min_by(|a, b| a.abs().total_cmp(&b.abs()))
                    .unwrap_or(f64::NAN),
            );
            pmax.push(s.max_power_nW.max(0.0));
            vpmax.push(if s.max_power_nW > 0.0 {
                s.bias_at_max_power_mV
            } else {
                f64::NAN
            });
            eta.push(s.max_efficiency.unwrap_or(f64::NAN));
            window.push(w);
            tmr_max.push(tm);
        }
    }
    let mut t = Table::new();
    t.push_f64(name, value)?;
    t.push_str("state", state)?;
    t.push_f64("current_at_zero_bias_nA", i0)?;
    t.push_f64("open_circuit_voltage_mV", voc)?;
    t.push_f64("max_power_nW", pmax)?;
    t.push_f64("bias_at_max_power_mV", vpmax)?;
    t.push_f64("max_efficiency", eta)?;
    t.push_f64("tmr_below_minus_100_percent_width_mV", window)?;
    t.push_f64("max_tmr", tmr_max)?;
    Ok(t)
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
        let y = t.f64(col).unwrap_or(&[]);
        let mut p = Panel {
            title: title.into(),
            x_label: name.into(),
            y_label: unit.into(),
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
