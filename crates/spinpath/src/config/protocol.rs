//! The `[protocol]` table of a run file: which lab protocol to run, the instrument, and the
//! protocol's schedule. Documented key by key in `docs/protocols.md`.

use super::{count, Ctx};
use crate::error::Result;
use crate::protocol::schedule;
use crate::protocol::stack::Stack;
use crate::protocol::{Instrument, PlannedPoint};
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
#[doc(hidden)]
pub struct RawProtocol {
    kind: Spanned<String>,
    seed: Option<u64>,
    temperatures_K: Option<Spanned<Vec<f64>>>,
    states: Option<Spanned<Vec<String>>>,
    instrument: Option<RawInstrument>,
    sweeps: Option<Spanned<Vec<RawSweep>>>,
    stack: Option<RawStack>,
    loops: Option<Spanned<Vec<RawLoop>>>,
    statistics: Option<RawStatistics>,
    write_read: Option<RawWriteRead>,
    dynamics: Option<Spanned<String>>,
    gating_dot: Option<String>,
    max_events: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawWriteRead {
    cycles: Spanned<i64>,
    write_mV: Spanned<Vec<f64>>,
    reset_mV: Option<Spanned<Vec<f64>>>,
    read_mV: Spanned<f64>,
    read_samples: Option<Spanned<i64>>,
    step_mV: Spanned<f64>,
    dwell_s: Option<Spanned<f64>>,
    state: Option<Spanned<String>>,
    written_level: Option<Spanned<String>>,
    jump_threshold: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawInstrument {
    noise_nA: Option<Spanned<f64>>,
    offset_nA: Option<Spanned<f64>>,
    integration_time_s: Option<Spanned<f64>>,
    range_nA: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawSweep {
    name: Option<String>,
    vmax_mV: Option<Spanned<f64>>,
    turning_mV: Option<Spanned<Vec<f64>>>,
    step_mV: Spanned<f64>,
    dwell_s: Option<Spanned<f64>>,
    sweep_rate_mV_per_s: Option<Spanned<f64>>,
    repeats: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawStack {
    pinned_exchange_bias_Oe: Spanned<f64>,
    pinned_coercivity_Oe: Spanned<f64>,
    free_coercivity_Oe: Spanned<f64>,
    free_offset_Oe: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawLoop {
    bias_mV: Spanned<f64>,
    turning_Oe: Spanned<Vec<f64>>,
    step_Oe: Spanned<f64>,
    dwell_s: Option<Spanned<f64>>,
    repeats: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawStatistics {
    bias_mV: Spanned<Vec<f64>>,
    samples: Option<Spanned<i64>>,
    bin_nA: Option<Spanned<f64>>,
    dwell_s: Option<Spanned<f64>>,
}

pub use crate::protocol::spec::{ProtocolKind, ProtocolSpec, WriteReadSettings};

fn dwell(cx: &Ctx, v: &Option<Spanned<f64>>, key: &str) -> Result<f64> {
    cx.opt_range(v, key, 0.0, 0.0, 1e9, "0 <= dwell_s <= 1e9 s")
}

fn repeats(cx: &Ctx, v: &Option<Spanned<i64>>, key: &str) -> Result<usize> {
    match v {
        Some(r) => count(cx, r, key, 1),
        None => Ok(1),
    }
}

/// Parse the `[protocol]` table of any run file (coherent or dots): `state_names` are the device's
/// magnetic states. `None` when the file has no `[protocol]`.
pub fn parse_protocol(
    file: &str,
    text: &str,
    state_names: &[String],
) -> Result<Option<ProtocolSpec>> {
    protocol(file, text, state_names).map_err(|e| e.in_file(file))
}

fn protocol(file: &str, text: &str, state_names: &[String]) -> Result<Option<ProtocolSpec>> {
    #[derive(Deserialize)]
    struct Only {
        protocol: Option<RawProtocol>,
    }
    // Other tables are validated by the device's own parser; here only [protocol] matters.
    let only: Only = toml::from_str(text).map_err(|e| super::parse_error(file, e))?;
    let cx = Ctx { file, text };
    only.protocol
        .as_ref()
        .map(|p| build_protocol(&cx, p, state_names))
        .transpose()
}

pub(crate) fn build_protocol(
    cx: &Ctx,
    raw: &RawProtocol,
    state_names: &[String],
) -> Result<ProtocolSpec> {
    let kind = match raw.kind.get_ref().as_str() {
        "iv_sweep" => ProtocolKind::IvSweep,
        "ih_loop" => ProtocolKind::IhLoop,
        "statistics" => ProtocolKind::Statistics,
        "write_read" => ProtocolKind::WriteRead,
        other => return cx.err(raw.kind.span(), "protocol.kind", format!("unknown protocol \"{other}\"; allowed: \"iv_sweep\", \"ih_loop\", \"statistics\", \"write_read\"")),
    };
    let states: Vec<String> = match &raw.states {
        Some(s) => {
            for name in s.get_ref() {
                if !state_names.contains(name) {
                    return cx.err(
                        s.span(),
                        "protocol.states",
                        format!("no state named \"{name}\"; the device has {state_names:?}"),
                    );
                }
            }
            if s.get_ref().is_empty() {
                return cx.err(s.span(), "protocol.states", "list at least one state");
            }
            s.get_ref().clone()
        }
        None => state_names.to_vec(),
    };
    let i = raw.instrument.as_ref();
    let get = |f: fn(&RawInstrument) -> &Option<Spanned<f64>>| i.and_then(|i| f(i).clone());
    let instrument = Instrument {
        noise_nA: cx.opt_range(
            &get(|i| &i.noise_nA),
            "protocol.instrument.noise_nA",
            0.0,
            0.0,
            1e9,
            "0 <= noise_nA",
        )?,
        offset_nA: cx.opt_range(
            &get(|i| &i.offset_nA),
            "protocol.instrument.offset_nA",
            0.0,
            -1e9,
            1e9,
            "a finite offset in nA",
        )?,
        integration_time_s: cx.opt_range(
            &get(|i| &i.integration_time_s),
            "protocol.instrument.integration_time_s",
            0.0,
            0.0,
            1e9,
            "0 <= integration_time_s",
        )?,
        range_nA: cx.opt_range(
            &get(|i| &i.range_nA),
            "protocol.instrument.range_nA",
            0.0,
            0.0,
            1e12,
            "0 (unlimited) or a range > 0 nA",
        )?,
    };
    let mut plan: Vec<PlannedPoint> = Vec::new();
    let mut switching = None;
    let mut bin_na = 1.0;
    let mut write_read = None;
    match kind {
        ProtocolKind::WriteRead => {
            let Some(w) = &raw.write_read else {
                return cx.err(
                    raw.kind.span(),
                    "protocol.write_read",
                    "a write_read protocol needs a [protocol.write_read] table",
                );
            };
            let k = |n: &str| format!("protocol.write_read.{n}");
            let turning = |v: &Spanned<Vec<f64>>, key: &str| -> Result<Vec<f64>> {
                if v.get_ref().len() < 2 || v.get_ref().iter().any(|x| !x.is_finite()) {
                    return cx.err(v.span(), key, "at least two finite turning points, mV");
                }
                Ok(v.get_ref().clone())
            };
            let state = match &w.state {
                Some(s) if state_names.contains(s.get_ref()) => s.get_ref().clone(),
                Some(s) => {
                    return cx.err(
                        s.span(),
                        &k("state"),
                        format!(
                            "no state named \"{}\"; the device has {state_names:?}",
                            s.get_ref()
                        ),
                    )
                }
                None => state_names.first().cloned().unwrap_or_else(|| "P".into()),
            };
            let written_high = match &w.written_level {
                None => true,
                Some(l) => match l.get_ref().as_str() {
                    "high" => true,
                    "low" => false,
                    other => return cx.err(l.span(), &k("written_level"), format!("\"{other}\": allowed \"high\" or \"low\" (|current| at the read bias after a successful write)")),
                },
            };
            write_read = Some(WriteReadSettings {
                written_high,
                jump_threshold: cx.opt_range(
                    &w.jump_threshold,
                    &k("jump_threshold"),
                    6.0,
                    1.0,
                    1e3,
                    "1 <= jump_threshold (robust σ)",
                )?,
            });
            plan = schedule::write_read(
                count(cx, &w.cycles, &k("cycles"), 1)?,
                w.reset_mV
                    .as_ref()
                    .map(|r| turning(r, &k("reset_mV")))
                    .transpose()?
                    .as_deref(),
                &turning(&w.write_mV, &k("write_mV"))?,
                cx.finite(&w.read_mV, &k("read_mV"), "mV")?,
                match &w.read_samples {
                    Some(n) => count(cx, n, &k("read_samples"), 1)?,
                    None => 1,
                },
                cx.range(&w.step_mV, &k("step_mV"), 1e-9, 1e6, "a step > 0 mV")?,
                dwell(cx, &w.dwell_s, &k("dwell_s"))?,
                &state,
            )?;
        }
        ProtocolKind::IvSweep => {
            let Some(sweeps) = &raw.sweeps else {
                return cx.err(
                    raw.kind.span(),
                    "protocol.sweeps",
                    "an iv_sweep protocol needs at least one [[protocol.sweeps]] entry",
                );
            };
            for (k, s) in sweeps.get_ref().iter().enumerate() {
                let key = |n: &str| format!("protocol.sweeps[{k}].{n}");
                let step = cx.range(&s.step_mV, &key("step_mV"), 1e-9, 1e6, "a step > 0 mV")?;
                let dwell_s = match (&s.dwell_s, &s.sweep_rate_mV_per_s) {
                    (Some(_), Some(r)) => {
                        return cx.err(
                            r.span(),
                            &key("sweep_rate_mV_per_s"),
                            "give dwell_s or sweep_rate_mV_per_s, not both",
                        )
                    }
                    (None, Some(r)) => {
                        step / cx.range(
                            r,
                            &key("sweep_rate_mV_per_s"),
                            1e-12,
                            1e12,
                            "a rate > 0 mV/s",
                        )?
                    }
                    (d, None) => dwell(cx, d, &key("dwell_s"))?,
                };
                let turning = match (&s.vmax_mV, &s.turning_mV) {
                    (Some(v), None) => {
                        let vmax = cx.range(v, &key("vmax_mV"), 1e-9, 1e6, "vmax > 0 mV")?;
                        vec![0.0, vmax, -vmax, vmax, 0.0]
                    }
                    (None, Some(t)) => {
                        if t.get_ref().len() < 2 || t.get_ref().iter().any(|x| !x.is_finite()) {
                            return cx.err(
                                t.span(),
                                &key("turning_mV"),
                                "at least two finite turning points, mV",
                            );
                        }
                        t.get_ref().clone()
                    }
                    _ => {
                        return cx.err(
                            s.step_mV.span(),
                            &key("vmax_mV"),
                            "give exactly one of vmax_mV (0 → +V → −V → +V → 0) or turning_mV",
                        )
                    }
                };
                let name = s.name.clone().unwrap_or_else(|| format!("sweep{k}"));
                let n_points: f64 = turning
                    .windows(2)
                    .map(|w| ((w[1] - w[0]).abs() / step).ceil())
                    .sum::<f64>()
                    * states.len() as f64;
                if n_points > crate::config::MAX_POINTS as f64 {
                    return cx.err(
                        s.step_mV.span(),
                        &key("step_mV"),
                        format!(
                            "the sweep would have {n_points} points; at most {}",
                            crate::config::MAX_POINTS
                        ),
                    );
                }
                plan.extend(schedule::bias_sweep(
                    &name,
                    &turning,
                    step,
                    dwell_s,
                    repeats(cx, &s.repeats, &key("repeats"))?,
                    &states,
                    None,
                )?);
            }
        }
        ProtocolKind::IhLoop => {
            let Some(st) = &raw.stack else {
                return cx.err(
                    raw.kind.span(),
                    "protocol.stack",
                    "an ih_loop protocol needs a [protocol.stack] table",
                );
            };
            let stack = Stack::new(
                cx.finite(
                    &st.pinned_exchange_bias_Oe,
                    "protocol.stack.pinned_exchange_bias_Oe",
                    "Oe",
                )?,
                cx.range(
                    &st.pinned_coercivity_Oe,
                    "protocol.stack.pinned_coercivity_Oe",
                    0.0,
                    1e9,
                    ">= 0 Oe",
                )?,
                cx.range(
                    &st.free_coercivity_Oe,
                    "protocol.stack.free_coercivity_Oe",
                    0.0,
                    1e9,
                    ">= 0 Oe",
                )?,
                match &st.free_offset_Oe {
                    Some(v) => cx.finite(v, "protocol.stack.free_offset_Oe", "Oe")?,
                    None => 0.0,
                },
            )?;
            for name in ["P", "AP"] {
                if !state_names.iter().any(|s| s == name) {
                    return cx.err(raw.kind.span(), "protocol.kind", format!("an I(H) loop needs the device to have states \"P\" and \"AP\"; it has {state_names:?}"));
                }
            }
            switching = Some(stack.free_switching_fields());
            let Some(loops) = &raw.loops else {
                return cx.err(
                    raw.kind.span(),
                    "protocol.loops",
                    "an ih_loop protocol needs at least one [[protocol.loops]] entry",
                );
            };
            for (k, l) in loops.get_ref().iter().enumerate() {
                let key = |n: &str| format!("protocol.loops[{k}].{n}");
                let bias = cx.finite(&l.bias_mV, &key("bias_mV"), "mV")?;
                let step = cx.range(&l.step_Oe, &key("step_Oe"), 1e-9, 1e9, "a step > 0 Oe")?;
                let t = l.turning_Oe.get_ref();
                if t.len() < 2 || t.iter().any(|x| !x.is_finite()) {
                    return cx.err(
                        l.turning_Oe.span(),
                        &key("turning_Oe"),
                        "at least two finite turning fields, Oe",
                    );
                }
                plan.extend(schedule::field_loop(
                    &format!("{bias}mV"),
                    bias,
                    &stack,
                    t,
                    step,
                    dwell(cx, &l.dwell_s, &key("dwell_s"))?,
                    repeats(cx, &l.repeats, &key("repeats"))?,
                    None,
                )?);
            }
        }
        ProtocolKind::Statistics => {
            let Some(s) = &raw.statistics else {
                return cx.err(
                    raw.kind.span(),
                    "protocol.statistics",
                    "a statistics protocol needs a [protocol.statistics] table",
                );
            };
            let b = s.bias_mV.get_ref();
            if b.is_empty() || b.iter().any(|x| !x.is_finite()) {
                return cx.err(
                    s.bias_mV.span(),
                    "protocol.statistics.bias_mV",
                    "list at least one finite bias, mV",
                );
            }
            let samples = match &s.samples {
                Some(n) => count(cx, n, "protocol.statistics.samples", 1)?,
                None => 1000,
            };
            bin_na = cx.opt_range(
                &s.bin_nA,
                "protocol.statistics.bin_nA",
                1.0,
                1e-12,
                1e12,
                "a bin > 0 nA",
            )?;
            plan = schedule::statistics(
                "statistics",
                b,
                samples,
                dwell(cx, &s.dwell_s, "protocol.statistics.dwell_s")?,
                &states,
                None,
            )?;
        }
    }
    if let Some(ts) = &raw.temperatures_K {
        if ts.get_ref().is_empty()
            || ts
                .get_ref()
                .iter()
                .any(|t| !(t.is_finite() && *t >= 0.0 && *t <= 1e5))
        {
            return cx.err(
                ts.span(),
                "protocol.temperatures_K",
                "a non-empty list of temperatures, 0 <= T <= 1e5 K",
            );
        }
        plan = schedule::temperature_series(&plan, ts.get_ref())?;
    }
    if plan.len() > crate::config::MAX_POINTS {
        return cx.err(
            raw.kind.span(),
            "protocol",
            format!(
                "the protocol has {} points; at most {}",
                plan.len(),
                crate::config::MAX_POINTS
            ),
        );
    }
    Ok(ProtocolSpec {
        kind,
        seed: raw.seed.unwrap_or(0),
        instrument,
        bin_na,
        switching_fields_oe: switching,
        plan,
        write_read,
        dynamics: match &raw.dynamics {
            None => None,
            Some(d) => {
                use crate::engine::dynamics::DynamicsKind;
                Some(match d.get_ref().as_str() {
                    "transient" => DynamicsKind::Transient,
                    "monte_carlo" | "monte-carlo" => DynamicsKind::MonteCarlo,
                    "steady" => DynamicsKind::Steady,
                    other => return cx.err(d.span(), "protocol.dynamics", format!("\"{other}\": allowed \"transient\", \"monte_carlo\" or \"steady\" (interacting-dot junctions only)")),
                })
            }
        },
        gating_dot: raw.gating_dot.clone(),
        max_events: match &raw.max_events {
            Some(n) => count(cx, n, "protocol.max_events", 1)? as u64,
            None => 100_000_000,
        },
    })
}
