//! What a protocol run writes: tables, figures and a summary, built from the plan and the
//! measured points. The same functions serve every junction (coherent chain or dots).

use super::spec::{ProtocolKind, ProtocolSpec, WriteReadSettings};
use super::{points_table, MeasuredPoint, PlannedPoint};
use crate::analysis::jumps::{detect_jumps, JumpOptions};
use crate::analysis::stats::{current_statistics, StatsOptions};
use crate::analysis::tmr::{ih_loop, two_level_split, IhOptions};
use crate::analysis::Trace;
use crate::error::Result;
use crate::plot::{Band, BandAxis, Figure, Heatmap, Marker, Panel, Series, VLine};
use crate::report::{opposite_sign_ranges, zero_crossings};
use crate::table::Table;
use serde_json::{json, Value};

/// Everything a protocol run produces (the same output type as every run).
pub use crate::run::RunOutput as ProtocolOutput;

fn sets(plan: &[PlannedPoint]) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for p in plan {
        if !v.contains(&p.set) {
            v.push(p.set.clone());
        }
    }
    v
}

/// Mean current per distinct bias of one set and state (over directions and repeats), sorted.
fn mean_iv(
    plan: &[PlannedPoint],
    m: &[MeasuredPoint],
    set: &str,
    state: &str,
) -> (Vec<f64>, Vec<f64>) {
    let mut pts: Vec<(f64, f64)> = m
        .iter()
        .filter(|x| plan[x.index].set == set && plan[x.index].op.state == state)
        .map(|x| (plan[x.index].op.bias_mv, x.current_na))
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut v, mut i, mut n): (Vec<f64>, Vec<f64>, Vec<f64>) =
        (Vec::new(), Vec::new(), Vec::new());
    for (b, c) in pts {
        if v.last().is_some_and(|&l| (l - b).abs() < 1e-9) {
            *i.last_mut().expect("non-empty") += c;
            *n.last_mut().expect("non-empty") += 1.0;
        } else {
            v.push(b);
            i.push(c);
            n.push(1.0);
        }
    }
    (v, i.iter().zip(&n).map(|(a, b)| a / b).collect())
}

/// One write/read cycle as an experimenter sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cycle {
    /// Cycle number.
    pub cycle: usize,
    /// Set label of the write (carries the temperature of a series).
    pub set: String,
    /// Number of current jumps detected during the write sweep.
    pub jumps: usize,
    /// Their signs: `P` towards more negative current, `N` back; `-` for none.
    pub sequence: String,
    /// Mean current at the read bias, nA.
    pub read_na: f64,
    /// The junction's own branch label at the read (simulation ground truth; empty if none).
    pub read_branch: String,
}

/// Cut a write/read run into cycles: detect the jumps of each write sweep (threshold in robust σ
/// of the point-to-point differences) and average its reads.
pub fn write_read_cycles(plan: &[PlannedPoint], m: &[MeasuredPoint], threshold: f64) -> Vec<Cycle> {
    // One pass: group the write and read points of each (temperature suffix, cycle).
    #[derive(Default)]
    struct Acc<'a> {
        write: Vec<&'a MeasuredPoint>,
        read: Vec<&'a MeasuredPoint>,
    }
    let mut keys: Vec<(String, usize)> = Vec::new();
    let mut groups: std::collections::HashMap<(String, usize), Acc> =
        std::collections::HashMap::new();
    for x in m {
        let p = &plan[x.index];
        let (base, suffix) = p
            .set
            .split_once('@')
            .map_or((p.set.as_str(), ""), |(b, t)| (b, t));
        let key = (suffix.to_string(), p.repeat);
        let acc = groups.entry(key.clone()).or_insert_with(|| {
            keys.push(key.clone());
            Acc::default()
        });
        match base {
            "write" => acc.write.push(x),
            "read" => acc.read.push(x),
            _ => {}
        }
    }
    keys.iter()
        .map(|key| {
            let acc = &groups[key];
            let y: Vec<f64> = acc.write.iter().map(|x| x.current_na).collect();
            let xs: Vec<f64> = (0..y.len()).map(|k| k as f64).collect();
            let jumps = detect_jumps(
                &xs,
                &y,
                JumpOptions {
                    threshold,
                    level_points: 3,
                },
            )
            .map(|j| j.jumps)
            .unwrap_or_default();
            let sequence: String = if jumps.is_empty() {
                "-".into()
            } else {
                jumps.iter().map(|j| j.sign).collect()
            };
            Cycle {
                cycle: key.1,
                set: acc
                    .write
                    .first()
                    .map_or_else(String::new, |x| plan[x.index].set.clone()),
                jumps: jumps.len(),
                sequence,
                read_na: acc.read.iter().map(|x| x.current_na).sum::<f64>()
                    / acc.read.len().max(1) as f64,
                read_branch: acc
                    .read
                    .last()
                    .and_then(|x| x.reading.branch.clone())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// Paper 2 Table S1: cycles per jump sequence, successes and success rate, most frequent first.
pub fn sequence_table(cycles: &[Cycle], success: &[bool]) -> Result<Table> {
    let mut rows: Vec<(String, usize, usize)> = Vec::new();
    for (c, &ok) in cycles.iter().zip(success) {
        match rows.iter_mut().find(|r| r.0 == c.sequence) {
            Some(r) => {
                r.1 += 1;
                r.2 += ok as usize;
            }
            None => rows.push((c.sequence.clone(), 1, ok as usize)),
        }
    }
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut t = Table::new();
    t.push_str("sequence", rows.iter().map(|r| r.0.clone()).collect())?;
    t.push_f64(
        "jumps",
        rows.iter()
            .map(|r| if r.0 == "-" { 0.0 } else { r.0.len() as f64 })
            .collect(),
    )?;
    t.push_f64("count", rows.iter().map(|r| r.1 as f64).collect())?;
    t.push_f64("successes", rows.iter().map(|r| r.2 as f64).collect())?;
    t.push_f64(
        "success_rate",
        rows.iter().map(|r| r.2 as f64 / r.1 as f64).collect(),
    )?;
    Ok(t)
}

/// Build the outputs of a finished protocol.
pub fn protocol_output(
    spec: &ProtocolSpec,
    plan: &[PlannedPoint],
    m: &[MeasuredPoint],
) -> Result<ProtocolOutput> {
    let mut points = points_table(plan, m)?;
    let mut tables = Vec::new();
    let mut figures = Vec::new();
    let mut heatmaps = Vec::new();
    let mut text = String::new();
    let mut per_set = Vec::new();
    let states_of = |set: &str| -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for p in plan.iter().filter(|p| p.set == set) {
            if !v.contains(&p.op.state) {
                v.push(p.op.state.clone());
            }
        }
        v
    };
    match spec.kind {
        ProtocolKind::IvSweep => {
            let power: Vec<f64> = m
                .iter()
                .map(|x| -x.current_na * plan[x.index].op.bias_mv * 1e-3)
                .collect();
            points.push_f64("power_nW", power)?;
            let mut panels = Vec::new();
            for set in sets(plan) {
                let mut panel = Panel {
                    title: format!("I(V) sweeps, {set} (▲ up, ▼ down)"),
                    x_label: "bias (mV)".into(),
                    y_label: "current (nA)".into(),
                    zero_line: true,
                    ..Panel::default()
                };
                let mut states_json = Vec::new();
                for (k, state) in states_of(&set).iter().enumerate() {
                    for dir in ["up", "down"] {
                        let sel: Vec<&MeasuredPoint> = m
                            .iter()
                            .filter(|x| {
                                plan[x.index].set == set
                                    && plan[x.index].op.state == *state
                                    && plan[x.index].direction == dir
                            })
                            .collect();
                        if sel.is_empty() {
                            continue;
                        }
                        // State by colour (P black, AP vermillion), sweep direction by marker.
                        let s = Series::line(
                            format!("{state}, bias swept {dir}"),
                            sel.iter().map(|x| plan[x.index].op.bias_mv).collect(),
                            sel.iter().map(|x| x.current_na).collect(),
                            k,
                        )
                        .marker(if dir == "down" {
                            Marker::TriangleDown
                        } else {
                            Marker::TriangleUp
                        });
                        // Both directions opaque: where they coincide ▲ and ▼ overlap into a star.
                        panel.series.push(s);
                    }
                    let (v, i) = mean_iv(plan, m, &set, state);
                    let i0 = v.iter().position(|b| b.abs() < 1e-9).map(|k| i[k]);
                    let voc = zero_crossings(&v, &i);
                    states_json.push(json!({"state": state, "current_at_zero_bias_nA": i0, "open_circuit_voltages_mV": voc}));
                    text += &format!(
                        "  {set} {state}: I(0) = {} nA, V_oc = {voc:.3?} mV\n",
                        i0.map_or("—".into(), |x| format!("{x:.4}"))
                    );
                }
                let (vp, ip) = mean_iv(plan, m, &set, "P");
                let (vap, iap) = mean_iv(plan, m, &set, "AP");
                let ranges = if !vp.is_empty() && vp == vap {
                    opposite_sign_ranges(&vp, &ip, &iap)
                } else {
                    Vec::new()
                };
                if !vp.is_empty() && vp == vap {
                    text += &format!("  {set}: I_P and I_AP of opposite signs (TMR < −100 %) for V in {ranges:.3?} mV\n");
                }
                for [a, b] in &ranges {
                    panel.bands.push(Band {
                        axis: BandAxis::X,
                        from: *a,
                        to: *b,
                        label: "TMR < −100 %".into(),
                        color: None,
                    });
                }
                // The sweep's timing: dwell per point and the effective sweep rate (step / dwell).
                let pts: Vec<&PlannedPoint> = plan.iter().filter(|p| p.set == set).collect();
                let dwell = pts.first().map_or(0.0, |p| p.dwell_s);
                let step = pts
                    .windows(2)
                    .map(|w| (w[1].op.bias_mv - w[0].op.bias_mv).abs())
                    .filter(|d| *d > 0.0)
                    .fold(f64::INFINITY, f64::min);
                let step = (step * 1e9).round() / 1e9;
                let rate = (dwell > 0.0 && step.is_finite()).then(|| step / dwell);
                per_set.push(json!({"set": set, "states": states_json, "ranges_tmr_below_minus_100_percent_mV": ranges, "step_mV": step.is_finite().then_some(step), "dwell_s": dwell, "sweep_rate_mV_per_s": rate}));
                panels.push(panel);
            }
            figures.push(("iv.svg".to_string(), Figure::new(panels, 1)));
            tables.push(("iv.csv".to_string(), points));
        }
        ProtocolKind::IhLoop => {
            let mut panels = Vec::new();
            for set in sets(plan) {
                let sel: Vec<&MeasuredPoint> =
                    m.iter().filter(|x| plan[x.index].set == set).collect();
                let h: Vec<f64> = sel.iter().map(|x| plan[x.index].field_oe).collect();
                let i: Vec<f64> = sel.iter().map(|x| x.current_na).collect();
                let mut panel = Panel {
                    title: format!("I(H) loop at {set} (▲ field swept up, ▼ down)"),
                    x_label: "field (Oe)".into(),
                    y_label: "current (nA)".into(),
                    zero_line: true,
                    ..Panel::default()
                };
                for (dir, marker, colour) in [
                    ("up", Marker::TriangleUp, 2),
                    ("down", Marker::TriangleDown, 1),
                ] {
                    let (hx, iy): (Vec<f64>, Vec<f64>) = sel
                        .iter()
                        .filter(|x| plan[x.index].direction == dir)
                        .map(|x| (plan[x.index].field_oe, x.current_na))
                        .unzip();
                    if !hx.is_empty() {
                        panel.series.push(
                            Series::line(format!("field swept {dir}"), hx, iy, colour)
                                .marker(marker)
                                .joined(),
                        );
                    }
                }
                let (h_lo, h_hi) = h
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                        (a.min(v), b.max(v))
                    });
                let mut entry =
                    json!({"set": set, "bias_mV": sel.first().map(|x| plan[x.index].op.bias_mv)});
                // The current's own switching fields, found in the data as an experimenter would.
                match Trace::new(h, i).and_then(|t| ih_loop(&t, IhOptions::default())) {
                    Ok(l) => {
                        let sw: Vec<Value> = l.switches.iter().map(|s| json!({"field_Oe": s.field, "from": s.from.as_str(), "to": s.to.as_str(), "sweep": s.sweep.as_str()})).collect();
                        entry["current_P_nA"] = json!(l.i_p.0);
                        entry["current_AP_nA"] = json!(l.i_ap.0);
                        entry["tmr_percent"] = json!(if l.tmr_percent.0.is_finite() {
                            Some(l.tmr_percent.0)
                        } else {
                            None
                        });
                        entry["current_switching_fields"] = Value::Array(sw);
                        // The two levels (P, AP) and the switching fields, as in paper 1 Fig. 2(a, b).
                        for (name, level, colour) in [("P", l.i_p.0, 0), ("AP", l.i_ap.0, 5)] {
                            panel.series.push(
                                Series::line(
                                    format!("{name} level {}", fmt_si(level, "nA")),
                                    vec![h_lo, h_hi],
                                    vec![level, level],
                                    colour,
                                )
                                .dashed(),
                            );
                        }
                        for sw in &l.switches {
                            panel.vlines.push(VLine::new(
                                sw.field,
                                format!(
                                    "{}→{} {:.0} Oe",
                                    sw.from.as_str(),
                                    sw.to.as_str(),
                                    sw.field
                                ),
                                if sw.sweep.as_str() == "up" { 2 } else { 1 },
                            ));
                        }
                        entry["sign_follows_state"] = json!(l.i_p.0 * l.i_ap.0 < 0.0);
                        let fields: Vec<String> = l
                            .switches
                            .iter()
                            .map(|s| {
                                format!("{:.0} Oe ({}→{})", s.field, s.from.as_str(), s.to.as_str())
                            })
                            .collect();
                        text += &format!(
                            "  {set}: I_P = {:.4} nA, I_AP = {:.4} nA; current switches at {}\n",
                            l.i_p.0,
                            l.i_ap.0,
                            fields.join(", ")
                        );
                    }
                    Err(e) => {
                        entry["current_switching_fields"] = json!(null);
                        entry["note"] =
                            json!(format!("no two-level switching found in the current: {e}"));
                        text += &format!("  {set}: no current switching found ({e})\n");
                    }
                }
                per_set.push(entry);
                // Beside the whole loop, a zoom on the switching fields (the loop's opening).
                let fields: Vec<f64> = panel.vlines.iter().map(|v| v.x).collect();
                let zoom = (!fields.is_empty()).then(|| {
                    let lo = fields.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = fields.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let pad = (0.6 * (hi - lo)).max(50.0);
                    Panel {
                        title: format!("zoom: switching fields at {set}"),
                        x_range: Some(((lo - pad).max(h_lo), (hi + pad).min(h_hi))),
                        ..panel.clone()
                    }
                });
                panels.push(panel);
                panels.extend(zoom);
            }
            let columns = if panels.iter().any(|p| p.x_range.is_some()) {
                2
            } else {
                1
            };
            figures.push(("ih.svg".to_string(), Figure::new(panels, columns)));
            tables.push(("ih.csv".to_string(), points));
        }
        ProtocolKind::Statistics => {
            for set in sets(plan) {
                for state in states_of(&set) {
                    let sel: Vec<&MeasuredPoint> = m
                        .iter()
                        .filter(|x| plan[x.index].set == set && plan[x.index].op.state == state)
                        .collect();
                    let b: Vec<f64> = sel.iter().map(|x| plan[x.index].op.bias_mv).collect();
                    let c: Vec<f64> = sel.iter().map(|x| x.current_na).collect();
                    let st = current_statistics(
                        &b,
                        &c,
                        StatsOptions {
                            bin: spec.bin_na,
                            ..StatsOptions::default()
                        },
                    )?;
                    let tag = format!("{}_{}", set.replace(['@', ' '], "_"), state);
                    let h = &st.histogram;
                    let (hb, hd, hc) = (
                        h.f64("bias_mV").unwrap_or(&[]),
                        h.f64("deviation_nA").unwrap_or(&[]),
                        h.f64("count").unwrap_or(&[]),
                    );
                    let biases: Vec<f64> = st.summary.f64("bias_mV").unwrap_or(&[]).to_vec();
                    let dx = biases
                        .windows(2)
                        .map(|w| w[1] - w[0])
                        .fold(f64::INFINITY, f64::min);
                    heatmaps.push((
                        format!("histogram_{tag}.svg"),
                        Heatmap {
                            title: format!("current deviation from the mean, {set} {state}"),
                            x_label: "bias (mV)".into(),
                            y_label: "I − ⟨I⟩ (nA)".into(),
                            cells: hb
                                .iter()
                                .zip(hd)
                                .zip(hc)
                                .map(|((x, y), v)| (*x, *y, *v))
                                .collect(),
                            cell: (if dx.is_finite() { dx } else { 1.0 }, spec.bin_na),
                            value_label: "samples per bin (count)".into(),
                        },
                    ));
                    text += &format!(
                        "  {set} {state}: {} bias values × {} samples, {} branch(es) found\n",
                        biases.len(),
                        sel.len() / biases.len().max(1),
                        st.branches.len()
                    );
                    per_set.push(json!({"set": set, "state": state, "bias_values": biases.len(), "branches": st.branches.iter().map(|b| json!({"bias_mV": b.bias, "branch": b.name, "current_nA": b.current, "occupation": b.occupation})).collect::<Vec<_>>()}));
                    tables.push((format!("histogram_{tag}.csv"), st.histogram.clone()));
                    tables.push((format!("stats_{tag}.csv"), st.summary.clone()));
                    tables.push((format!("branches_{tag}.csv"), st.branch_table()?));
                }
            }
            tables.push(("samples.csv".to_string(), points));
        }
        ProtocolKind::WriteRead => {
            let settings = spec.write_read.unwrap_or(WriteReadSettings {
                written_high: true,
                jump_threshold: 6.0,
            });
            let cycles = write_read_cycles(plan, m, settings.jump_threshold);
            let abs_reads: Vec<f64> = cycles.iter().map(|c| c.read_na.abs()).collect();
            let threshold = two_level_split(&abs_reads).map(|t| t.0);
            let success: Vec<bool> = cycles
                .iter()
                .map(|c| threshold.is_some_and(|t| (c.read_na.abs() > t) == settings.written_high))
                .collect();
            let table_s1 = sequence_table(&cycles, &success)?;
            let n = cycles.len().max(1) as f64;
            let rate = success.iter().filter(|s| **s).count() as f64 / n;
            let parity = |odd: bool| {
                let sel: Vec<usize> = (0..cycles.len())
                    .filter(|&k| cycles[k].jumps > 0 && (cycles[k].jumps % 2 == 1) == odd)
                    .collect();
                (!sel.is_empty())
                    .then(|| sel.iter().filter(|&&k| success[k]).count() as f64 / sel.len() as f64)
            };
            let first_p = cycles
                .iter()
                .filter(|c| c.sequence.starts_with('P'))
                .count();
            let with_jumps = cycles.iter().filter(|c| c.jumps > 0).count();
            text += &format!(
                "  {} cycles: success rate {:.1} % (read level threshold {} nA); odd jump counts {}, even {}; first jump P in {first_p} of {with_jumps} cycles with jumps\n",
                cycles.len(),
                100.0 * rate,
                threshold.map_or("—".into(), |t| format!("{t:.4}")),
                parity(true).map_or("—".into(), |r| format!("{:.1} %", 100.0 * r)),
                parity(false).map_or("—".into(), |r| format!("{:.1} %", 100.0 * r)),
            );
            if threshold.is_none() {
                text += "  warning: the reads show a single current level; success cannot be judged (see docs/protocols.md)\n";
            }
            let mut ct = Table::new();
            ct.push_f64("cycle", cycles.iter().map(|c| c.cycle as f64).collect())?;
            ct.push_str("set", cycles.iter().map(|c| c.set.clone()).collect())?;
            ct.push_f64("jumps", cycles.iter().map(|c| c.jumps as f64).collect())?;
            ct.push_str(
                "sequence",
                cycles.iter().map(|c| c.sequence.clone()).collect(),
            )?;
            ct.push_f64(
                "read_current_nA",
                cycles.iter().map(|c| c.read_na).collect(),
            )?;
            ct.push_str(
                "read_branch",
                cycles.iter().map(|c| c.read_branch.clone()).collect(),
            )?;
            ct.push_str("success", success.iter().map(|s| s.to_string()).collect())?;
            let x: Vec<f64> = cycles.iter().map(|c| c.cycle as f64).collect();
            let pick = |v: &[f64], ok: bool| -> Vec<f64> {
                v.iter()
                    .zip(&success)
                    .filter(|(_, s)| **s == ok)
                    .map(|(a, _)| *a)
                    .collect()
            };
            figures.push((
                "write_read.svg".to_string(),
                Figure::new(
                    vec![
                        Panel {
                            title: "read current per cycle (after each write)".into(),
                            x_label: "cycle".into(),
                            y_label: "|I| at the read bias (nA)".into(),
                            series: vec![
                                Series::line(
                                    "read: write succeeded",
                                    pick(&x, true),
                                    pick(&abs_reads, true),
                                    3,
                                )
                                .markers(),
                                Series::line(
                                    "read: write failed",
                                    pick(&x, false),
                                    pick(&abs_reads, false),
                                    1,
                                )
                                .marker(Marker::Ring),
                                Series::line(
                                    "level threshold",
                                    vec![0.0, n],
                                    vec![threshold.unwrap_or(f64::NAN); 2],
                                    0,
                                )
                                .dashed(),
                            ],
                            ..Panel::default()
                        },
                        Panel {
                            title: "current jumps (write events) during each write pulse".into(),
                            x_label: "cycle".into(),
                            y_label: "jumps per write".into(),
                            series: vec![Series::line(
                                "jumps",
                                x,
                                cycles.iter().map(|c| c.jumps as f64).collect(),
                                2,
                            )
                            .markers()],
                            ..Panel::default()
                        },
                    ],
                    1,
                ),
            ));
            per_set.push(json!({
                "cycles": cycles.len(),
                "success_rate": rate,
                "read_threshold_nA": threshold,
                "success_rate_odd_jumps": parity(true),
                "success_rate_even_jumps": parity(false),
                "cycles_with_jumps": with_jumps,
                "first_jump_P": first_p,
            }));
            tables.push(("cycles.csv".to_string(), ct));
            tables.push(("sequences.csv".to_string(), table_s1));
            tables.push(("points.csv".to_string(), points));
        }
    }
    let summary = json!({
        "spinpath_version": env!("CARGO_PKG_VERSION"),
        "protocol": spec.kind.name(),
        "seed": spec.seed,
        "instrument": spec.instrument,
        "points": m.len(),
        "free_layer_switching_fields_Oe": spec.switching_fields_oe.map(|(u, d)| json!({"up": u, "down": d})),
        "sets": per_set,
    });
    Ok(ProtocolOutput {
        tables,
        figures,
        heatmaps,
        summary,
        text,
    })
}

/// `v` in `unit` rescaled to an engineering prefix (e.g. `0.0042 nA` → `4.2 pA`), 3 significant digits.
/// `v` in engineering units with three significant figures (−434 pA, 2.05 nA).
fn fmt_si(v: f64, unit: &str) -> String {
    let (f, u) = crate::plot::engineering(v.abs(), unit);
    let x = v * f;
    let digits = if x.abs() >= 100.0 {
        0
    } else if x.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("{x:.digits$} {u}")
}
