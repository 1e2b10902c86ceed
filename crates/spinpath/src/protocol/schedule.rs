//! Building plans: bias sweeps, I(H) loops, current statistics and temperature series.

use super::stack::Stack;
use super::{OperatingPoint, PlannedPoint};
use crate::error::{Error, Result};

/// Largest number of bias points, spectrum energies or plan points accepted (guards against typos).
pub const MAX_POINTS: usize = 1_000_000;

/// Points from `a` to `b` (mV or Oe) with step `step`, excluding `a`, including `b` (the last step
/// may be shorter). A zero-length segment gives no points.
pub fn ramp(a: f64, b: f64, step: f64) -> Vec<f64> {
    let n = ((b - a).abs() / step - 1e-9).ceil().max(0.0) as usize;
    (1..=n)
        .map(|k| {
            if k == n {
                b
            } else {
                clean(a + (b - a).signum() * step * k as f64)
            }
        })
        .collect()
}

fn clean(x: f64) -> f64 {
    let r = (x * 1e9).round() / 1e9;
    if (r - x).abs() < 1e-9 {
        r
    } else {
        x
    }
}

/// The points of a path through `turning` points with step `step`: (value, segment, direction).
/// The first turning point is included once; each segment then adds its own points.
///
/// Errors when the path would exceed [`MAX_POINTS`] points.
pub fn path(turning: &[f64], step: f64) -> Result<Vec<(f64, usize, &'static str)>> {
    let total: f64 = turning
        .windows(2)
        .map(|w| ((w[1] - w[0]).abs() / step).ceil())
        .sum::<f64>()
        + 1.0;
    if !(total.is_finite() && total <= MAX_POINTS as f64) {
        return Err(Error::invalid("schedule", format!("the path through {turning:?} in steps of {step} would have {total:.3e} points; at most {MAX_POINTS}")));
    }
    let mut out = Vec::new();
    for (segment, w) in turning.windows(2).enumerate() {
        let direction = if w[1] > w[0] {
            "up"
        } else if w[1] < w[0] {
            "down"
        } else {
            "hold"
        };
        if segment == 0 {
            out.push((w[0], 0, direction));
        }
        out.extend(
            ramp(w[0], w[1], step)
                .into_iter()
                .map(|v| (v, segment, direction)),
        );
    }
    Ok(out)
}

/// Refuse plans larger than [`MAX_POINTS`] before allocating them.
fn check_size(what: &str, n: f64) -> Result<()> {
    if n.is_finite() && n <= MAX_POINTS as f64 {
        Ok(())
    } else {
        Err(Error::invalid(
            what,
            format!("the plan would have {n} points; at most {}", MAX_POINTS),
        ))
    }
}

fn check_step(step: f64, what: &str) -> Result<()> {
    if step.is_finite() && step > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            what,
            format!("step must be > 0, got {step}"),
        ))
    }
}

/// A bias sweep through the given turning points (mV), e.g. `[0, 10, -10, 10, 0]`, repeated
/// `repeats` times in each state, with `dwell_s` per point. The first point of the first segment is
/// measured too. `set` labels the sweep set.
pub fn bias_sweep(
    set: &str,
    turning_mv: &[f64],
    step_mv: f64,
    dwell_s: f64,
    repeats: usize,
    states: &[String],
    temperature_k: Option<f64>,
) -> Result<Vec<PlannedPoint>> {
    check_step(step_mv, "bias sweep")?;
    if turning_mv.len() < 2 || turning_mv.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "bias sweep",
            "needs at least two finite turning points (mV)",
        ));
    }
    let points = path(turning_mv, step_mv)?;
    check_size(
        "bias sweep",
        points.len() as f64 * repeats as f64 * states.len() as f64,
    )?;
    let mut plan = Vec::new();
    for state in states {
        for repeat in 0..repeats {
            for &(v, segment, direction) in &points {
                plan.push(PlannedPoint {
                    op: OperatingPoint {
                        bias_mv: v,
                        state: state.clone(),
                        temperature_k,
                    },
                    field_oe: f64::NAN,
                    dwell_s,
                    set: set.into(),
                    repeat,
                    segment,
                    direction,
                    sample: 0,
                });
            }
        }
    }
    Ok(plan)
}

/// The lab's standard sweep 0 → +Vmax → −Vmax → +Vmax → 0 (paper 1 Fig. 2c; paper 2 SI Note 1).
pub fn standard_sweep(
    set: &str,
    vmax_mv: f64,
    step_mv: f64,
    dwell_s: f64,
    repeats: usize,
    states: &[String],
    temperature_k: Option<f64>,
) -> Result<Vec<PlannedPoint>> {
    if !(vmax_mv.is_finite() && vmax_mv > 0.0) {
        return Err(Error::invalid(
            "bias sweep",
            format!("vmax must be > 0 mV, got {vmax_mv}"),
        ));
    }
    bias_sweep(
        set,
        &[0.0, vmax_mv, -vmax_mv, vmax_mv, 0.0],
        step_mv,
        dwell_s,
        repeats,
        states,
        temperature_k,
    )
}

/// An I(H) loop at fixed bias: the field follows `turning_oe` (e.g. `[-2000, 400, -2000]`) in
/// steps of `step_oe`; the magnetic state at each field follows the stack's hysteresis, starting
/// from the saturated-down (P) state.
#[allow(clippy::too_many_arguments)]
pub fn field_loop(
    set: &str,
    bias_mv: f64,
    stack: &Stack,
    turning_oe: &[f64],
    step_oe: f64,
    dwell_s: f64,
    repeats: usize,
    temperature_k: Option<f64>,
) -> Result<Vec<PlannedPoint>> {
    check_step(step_oe, "field loop")?;
    if turning_oe.len() < 2 || turning_oe.iter().any(|v| !v.is_finite()) || !bias_mv.is_finite() {
        return Err(Error::invalid(
            "field loop",
            "needs at least two finite turning fields (Oe) and a finite bias",
        ));
    }
    let points = path(turning_oe, step_oe)?;
    check_size("field loop", points.len() as f64 * repeats as f64)?;
    let mut plan = Vec::new();
    let mut st = stack.saturated_down();
    for repeat in 0..repeats {
        for &(h, segment, direction) in &points {
            st = stack.apply(st, h);
            plan.push(PlannedPoint {
                op: OperatingPoint {
                    bias_mv,
                    state: st.magnetic_state().into(),
                    temperature_k,
                },
                field_oe: h,
                dwell_s,
                set: set.into(),
                repeat,
                segment,
                direction,
                sample: 0,
            });
        }
    }
    Ok(plan)
}

/// `samples` readings at each bias (current statistics), in each state.
pub fn statistics(
    set: &str,
    biases_mv: &[f64],
    samples: usize,
    dwell_s: f64,
    states: &[String],
    temperature_k: Option<f64>,
) -> Result<Vec<PlannedPoint>> {
    if biases_mv.is_empty() || samples == 0 {
        return Err(Error::invalid(
            "current statistics",
            "needs at least one bias and one sample",
        ));
    }
    check_size(
        "current statistics",
        biases_mv.len() as f64 * samples as f64 * states.len() as f64,
    )?;
    let mut plan = Vec::new();
    for state in states {
        for &v in biases_mv {
            for sample in 0..samples {
                plan.push(PlannedPoint {
                    op: OperatingPoint {
                        bias_mv: v,
                        state: state.clone(),
                        temperature_k,
                    },
                    field_oe: f64::NAN,
                    dwell_s,
                    set: set.into(),
                    repeat: 0,
                    segment: 0,
                    direction: "hold",
                    sample,
                });
            }
        }
    }
    Ok(plan)
}

/// Write/read cycles (paper 2, SI Note 3): each cycle is an optional reset sweep (set `reset`), a
/// write sweep (set `write`) and `read_samples` readings at the read bias (set `read`); `repeat`
/// is the cycle number.
#[allow(clippy::too_many_arguments)]
pub fn write_read(
    cycles: usize,
    reset_mv: Option<&[f64]>,
    write_mv: &[f64],
    read_mv: f64,
    read_samples: usize,
    step_mv: f64,
    dwell_s: f64,
    state: &str,
) -> Result<Vec<PlannedPoint>> {
    check_step(step_mv, "write/read")?;
    let states = [state.to_string()];
    let per_cycle = reset_mv.map_or(Ok(0), |r| path(r, step_mv).map(|p| p.len()))?
        + path(write_mv, step_mv)?.len()
        + read_samples;
    check_size("write/read", per_cycle as f64 * cycles as f64)?;
    let mut plan = Vec::new();
    for cycle in 0..cycles {
        let mut phase = |set: &str, turning: &[f64]| -> Result<()> {
            for mut p in bias_sweep(set, turning, step_mv, dwell_s, 1, &states, None)? {
                p.repeat = cycle;
                plan.push(p);
            }
            Ok(())
        };
        if let Some(r) = reset_mv {
            phase("reset", r)?;
        }
        phase("write", write_mv)?;
        for sample in 0..read_samples {
            plan.push(PlannedPoint {
                op: OperatingPoint {
                    bias_mv: read_mv,
                    state: state.into(),
                    temperature_k: None,
                },
                field_oe: f64::NAN,
                dwell_s,
                set: "read".into(),
                repeat: cycle,
                segment: 0,
                direction: "hold",
                sample,
            });
        }
    }
    Ok(plan)
}

/// Repeat a plan at each temperature (K); the set label gets a `@<T>K` suffix.
pub fn temperature_series(
    plan: &[PlannedPoint],
    temperatures_k: &[f64],
) -> Result<Vec<PlannedPoint>> {
    check_size(
        "temperature series",
        plan.len() as f64 * temperatures_k.len() as f64,
    )?;
    if let Some(t) = temperatures_k
        .iter()
        .find(|t| !(t.is_finite() && **t >= 0.0))
    {
        return Err(Error::invalid(
            "temperature series",
            format!("temperatures must be >= 0 K, got {t}"),
        ));
    }
    Ok(temperatures_k
        .iter()
        .flat_map(|&t| {
            plan.iter().map(move |p| {
                let mut q = p.clone();
                q.op.temperature_k = Some(t);
                q.set = format!("{}@{t}K", p.set);
                q
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_sweep_visits_the_turning_points_once() {
        let p = standard_sweep("s", 1.0, 0.5, 0.1, 1, &["P".into()], None).unwrap();
        let v: Vec<f64> = p.iter().map(|x| x.op.bias_mv).collect();
        assert_eq!(
            v,
            [0.0, 0.5, 1.0, 0.5, 0.0, -0.5, -1.0, -0.5, 0.0, 0.5, 1.0, 0.5, 0.0]
        );
        let d: Vec<&str> = p.iter().map(|x| x.direction).collect();
        assert_eq!(&d[..3], ["up", "up", "up"]);
        assert_eq!(d[3], "down");
        assert_eq!(p.last().unwrap().segment, 3);
        assert!(standard_sweep("s", 1.0, 0.0, 0.1, 1, &["P".into()], None).is_err());
    }

    #[test]
    fn ramp_handles_uneven_steps() {
        assert_eq!(ramp(0.0, 1.0, 0.3), vec![0.3, 0.6, 0.9, 1.0]);
        assert_eq!(ramp(1.0, 1.0, 0.3), Vec::<f64>::new());
        assert_eq!(ramp(0.0, -0.2, 0.1), vec![-0.1, -0.2]);
    }
}
