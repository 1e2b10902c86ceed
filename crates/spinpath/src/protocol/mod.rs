//! Measurement protocols: the lab's experiments run on a simulated junction.
//!
//! A protocol is a *plan* — a list of [`PlannedPoint`]s (bias, field, magnetic state, temperature,
//! dwell time, and where the point sits: sweep, segment, direction) — executed on any [`Junction`]
//! through an [`Instrument`]. The coherent chain answers at once; an interacting-dot junction
//! evolves in time. Plans are built by [`schedule`]; the runner [`run_plan`] is resumable: every
//! finished point can be logged, and a rerun starts after the last one. Each point draws its noise
//! from its own random stream (seed, index), so a resumed run gives the same numbers as an
//! uninterrupted one.

pub mod junction;
pub mod report;
pub mod schedule;
pub mod spec;
pub mod stack;

use crate::error::{Error, Result};
use crate::table::Table;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Where the junction is driven at one point.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatingPoint {
    /// Bias, mV.
    pub bias_mv: f64,
    /// Magnetic state name (`P`, `AP`, ...).
    pub state: String,
    /// Temperature override, K (`None`: the device's own).
    pub temperature_k: Option<f64>,
}

/// What the junction gives at one point, before the instrument.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Mean current over the integration time, nA.
    pub current_na: f64,
    /// Spin-↑ part (left lead's majority channel), nA.
    pub current_up_na: f64,
    /// Spin-↓ part, nA.
    pub current_down_na: f64,
    /// A device-specific label (e.g. the ON/OFF branch of a memristive junction).
    pub branch: Option<String>,
}

/// A simulated junction that protocols can drive.
pub trait Junction {
    /// Hold the operating point for `dwell_s` seconds and return the current averaged over the
    /// last `integration_s` seconds (0: instantaneous). Stateless junctions ignore the times.
    /// `rng` is the point's own random stream (for stochastic junctions).
    fn measure(
        &mut self,
        op: &OperatingPoint,
        dwell_s: f64,
        integration_s: f64,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<Reading>;
    /// The junction's internal state, for resuming (empty for stateless junctions).
    fn checkpoint(&self) -> Vec<f64> {
        Vec::new()
    }
    /// Restore a state saved by [`Junction::checkpoint`].
    fn restore(&mut self, _state: &[f64]) -> Result<()> {
        Ok(())
    }
}

/// The measuring instrument: Gaussian current noise, a constant offset, an integration time and a
/// current range. All zero (ideal) by default.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
#[allow(non_snake_case)]
pub struct Instrument {
    /// Standard deviation of the added Gaussian noise, nA.
    pub noise_nA: f64,
    /// Constant offset added to every reading, nA.
    pub offset_nA: f64,
    /// Integration time of one reading, s (0: instantaneous).
    pub integration_time_s: f64,
    /// Full-scale range, nA: readings beyond ±range are clipped and flagged (0: unlimited).
    pub range_nA: f64,
}

impl Instrument {
    /// Validate (finite, non-negative noise, integration time and range).
    pub fn validate(&self) -> Result<()> {
        let ok = self.noise_nA.is_finite()
            && self.noise_nA >= 0.0
            && self.offset_nA.is_finite()
            && self.integration_time_s.is_finite()
            && self.integration_time_s >= 0.0
            && self.range_nA.is_finite()
            && self.range_nA >= 0.0;
        if ok {
            Ok(())
        } else {
            Err(Error::invalid("instrument", "noise_nA, integration_time_s and range_nA must be finite and >= 0; offset_nA finite"))
        }
    }

    /// The reading of a true current: (measured nA, clipped by the range).
    pub fn read(&self, true_na: f64, rng: &mut Xoshiro256PlusPlus) -> (f64, bool) {
        let mut v = true_na + self.offset_nA;
        if self.noise_nA > 0.0 {
            v += self.noise_nA * gaussian(rng);
        }
        if self.range_nA > 0.0 && v.abs() > self.range_nA {
            (self.range_nA.copysign(v), true)
        } else {
            (v, false)
        }
    }
}

/// A standard normal deviate (Box–Muller; one draw per call keeps the streams simple).
pub fn gaussian(rng: &mut Xoshiro256PlusPlus) -> f64 {
    let u1: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// The random stream of point `index` of a run with `seed`.
pub fn point_rng(seed: u64, index: usize) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// One planned measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedPoint {
    /// Operating point.
    pub op: OperatingPoint,
    /// Applied field, Oe (I(H) loops), else NaN.
    pub field_oe: f64,
    /// Time spent at this point before reading, s.
    pub dwell_s: f64,
    /// Label of the sweep set / loop / series this point belongs to.
    pub set: String,
    /// Repeat number within the set (0-based).
    pub repeat: usize,
    /// Segment number within the repeat (0-based).
    pub segment: usize,
    /// `up`, `down` or `hold` (bias or field direction).
    pub direction: &'static str,
    /// Sample number at this point (current statistics), else 0.
    pub sample: usize,
}

/// One executed measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasuredPoint {
    /// Index in the plan.
    pub index: usize,
    /// Elapsed time at the reading, s.
    pub time_s: f64,
    /// The instrument's reading, nA.
    pub current_na: f64,
    /// Whether the reading was clipped by the range.
    pub clipped: bool,
    /// The junction's reading before the instrument.
    pub reading: Reading,
}

/// Execute `plan[start..]` on `junction`. `done` receives every finished point (to log it for
/// resuming) and must return an error to stop. Returns the points measured in this call.
pub fn run_plan(
    junction: &mut dyn Junction,
    plan: &[PlannedPoint],
    instrument: &Instrument,
    seed: u64,
    start: usize,
    start_time_s: f64,
    done: &mut dyn FnMut(&MeasuredPoint, &dyn Junction) -> Result<()>,
) -> Result<Vec<MeasuredPoint>> {
    instrument.validate()?;
    let mut out = Vec::with_capacity(plan.len().saturating_sub(start));
    let mut t = start_time_s;
    for (index, p) in plan.iter().enumerate().skip(start) {
        let mut rng = point_rng(seed, index);
        let reading =
            junction.measure(&p.op, p.dwell_s, instrument.integration_time_s, &mut rng)?;
        if !reading.current_na.is_finite() {
            return Err(Error::Numerical {
                context: format!(
                    "point {index} (bias {} mV, state {})",
                    p.op.bias_mv, p.op.state
                ),
                message: "the junction returned a non-finite current".into(),
            });
        }
        t += p.dwell_s;
        let (current_na, clipped) = instrument.read(reading.current_na, &mut rng);
        let m = MeasuredPoint {
            index,
            time_s: t,
            current_na,
            clipped,
            reading,
        };
        done(&m, &*junction)?;
        out.push(m);
    }
    Ok(out)
}

/// An error unless every measured point's index lies in `plan`.
pub fn check_indices(plan: &[PlannedPoint], measured: &[MeasuredPoint]) -> Result<()> {
    match measured.iter().find(|m| m.index >= plan.len()) {
        Some(m) => Err(Error::invalid(
            "protocol points",
            format!(
                "point {} does not belong to this plan of {} points (points of another run?)",
                m.index,
                plan.len()
            ),
        )),
        None => Ok(()),
    }
}

/// Column names of [`points_table`], in order.
pub const POINT_COLUMNS: [&str; 17] = [
    "index",
    "set",
    "repeat",
    "segment",
    "direction",
    "sample",
    "time_s",
    "temperature_K",
    "field_Oe",
    "state",
    "bias_mV",
    "current_nA",
    "current_true_nA",
    "current_up_nA",
    "current_down_nA",
    "clipped",
    "branch",
];

/// One CSV line (no newline) of a measured point, in [`POINT_COLUMNS`] order; numbers are written
/// with Rust's shortest round-trip format so that a resumed file is byte-identical.
pub fn point_line(plan: &[PlannedPoint], m: &MeasuredPoint) -> String {
    let p = &plan[m.index];
    let num = |x: f64| {
        if x.is_nan() {
            String::new()
        } else {
            crate::table::format_number(x)
        }
    };
    [
        m.index.to_string(),
        p.set.clone(),
        p.repeat.to_string(),
        p.segment.to_string(),
        p.direction.to_string(),
        p.sample.to_string(),
        num(m.time_s),
        num(p.op.temperature_k.unwrap_or(f64::NAN)),
        num(p.field_oe),
        p.op.state.clone(),
        num(p.op.bias_mv),
        num(m.current_na),
        num(m.reading.current_na),
        num(m.reading.current_up_na),
        num(m.reading.current_down_na),
        m.clipped.to_string(),
        m.reading.branch.clone().unwrap_or_default(),
    ]
    .join(",")
}

/// Parse a line written by [`point_line`] back (for resuming). `None` if it is incomplete.
pub fn parse_point_line(line: &str) -> Option<MeasuredPoint> {
    let f: Vec<&str> = line.split(',').collect();
    if f.len() != POINT_COLUMNS.len() {
        return None;
    }
    let num = |s: &str| -> Option<f64> {
        if s.is_empty() {
            Some(f64::NAN)
        } else {
            s.parse().ok()
        }
    };
    Some(MeasuredPoint {
        index: f[0].parse().ok()?,
        time_s: num(f[6])?,
        current_na: num(f[11])?,
        clipped: f[15].parse().ok()?,
        reading: Reading {
            current_na: num(f[12])?,
            current_up_na: num(f[13])?,
            current_down_na: num(f[14])?,
            branch: (!f[16].is_empty()).then(|| f[16].to_string()),
        },
    })
}

/// The table of all measured points (columns [`POINT_COLUMNS`]). Every point's index must lie in
/// the plan (an error otherwise, e.g. points of another, longer plan).
pub fn points_table(plan: &[PlannedPoint], measured: &[MeasuredPoint]) -> Result<Table> {
    check_indices(plan, measured)?;
    let mut t = Table::new();
    let col = |f: &dyn Fn(&PlannedPoint, &MeasuredPoint) -> f64| {
        measured
            .iter()
            .map(|m| f(&plan[m.index], m))
            .collect::<Vec<f64>>()
    };
    let scol = |f: &dyn Fn(&PlannedPoint, &MeasuredPoint) -> String| {
        measured
            .iter()
            .map(|m| f(&plan[m.index], m))
            .collect::<Vec<String>>()
    };
    t.push_f64("index", col(&|_, m| m.index as f64))?;
    t.push_str("set", scol(&|p, _| p.set.clone()))?;
    t.push_f64("repeat", col(&|p, _| p.repeat as f64))?;
    t.push_f64("segment", col(&|p, _| p.segment as f64))?;
    t.push_str("direction", scol(&|p, _| p.direction.to_string()))?;
    t.push_f64("sample", col(&|p, _| p.sample as f64))?;
    t.push_f64("time_s", col(&|_, m| m.time_s))?;
    t.push_f64(
        "temperature_K",
        col(&|p, _| p.op.temperature_k.unwrap_or(f64::NAN)),
    )?;
    t.push_f64("field_Oe", col(&|p, _| p.field_oe))?;
    t.push_str("state", scol(&|p, _| p.op.state.clone()))?;
    t.push_f64("bias_mV", col(&|p, _| p.op.bias_mv))?;
    t.push_f64("current_nA", col(&|_, m| m.current_na))?;
    t.push_f64("current_true_nA", col(&|_, m| m.reading.current_na))?;
    t.push_f64("current_up_nA", col(&|_, m| m.reading.current_up_na))?;
    t.push_f64("current_down_nA", col(&|_, m| m.reading.current_down_na))?;
    t.push_str("clipped", scol(&|_, m| m.clipped.to_string()))?;
    t.push_str(
        "branch",
        scol(&|_, m| m.reading.branch.clone().unwrap_or_default()),
    )?;
    Ok(t)
}

/// Whether a logged line describes the planned point of its index: the plan's columns (set,
/// repeat, segment, direction, sample, temperature, field, state, bias) must be the same text.
fn logged_matches_plan(plan: &[PlannedPoint], m: &MeasuredPoint, line: &str) -> bool {
    if m.index >= plan.len() {
        return false;
    }
    let planned = point_line(plan, m);
    let cols = |l: &str| -> Vec<String> {
        let f: Vec<&str> = l.split(',').collect();
        [1, 2, 3, 4, 5, 7, 8, 9, 10]
            .iter()
            .map(|&i| f.get(i).map_or_else(String::new, |s| s.to_string()))
            .collect()
    };
    cols(&planned) == cols(line)
}

/// A resumable log of measured points: a CSV file appended line by line, plus (for junctions
/// with an internal state) a checkpoint of that state written atomically beside it at most once a
/// second. On resume, points after the last checkpoint are measured again from the restored state,
/// so the final files equal those of an uninterrupted run.
pub struct ResumeLog {
    file: std::fs::File,
    path: std::path::PathBuf,
    checkpoint: std::path::PathBuf,
    stateful: bool,
    last_checkpoint: std::time::Instant,
}

impl ResumeLog {
    /// Open (or create) the log at `path` for a run of `plan`. Returns the log, the points already
    /// done and, for a `stateful` junction, the state to restore. A torn last line is dropped; for
    /// a stateful junction the points after the last checkpoint are dropped too (the file is
    /// truncated). A logged point that is not the plan's point of that index (another run's log:
    /// different length, biases, states or sets) is an error naming the file and line; nothing is
    /// changed then.
    #[allow(clippy::type_complexity)]
    pub fn open(
        path: &std::path::Path,
        plan: &[PlannedPoint],
        stateful: bool,
    ) -> Result<(ResumeLog, Vec<MeasuredPoint>, Option<Vec<f64>>)> {
        use std::io::{Seek, Write};
        let header = POINT_COLUMNS.join(",");
        let mut done = Vec::new();
        let mut ends = vec![0usize]; // byte offset after the header and after each point
        if let Ok(text) = std::fs::read_to_string(path) {
            let mut lines = text.split_inclusive('\n');
            match lines.next() {
                Some(h) if h.trim_end() == header && h.ends_with('\n') => ends[0] = h.len(),
                Some(_) => {
                    return Err(Error::invalid(
                        "resume log",
                        format!(
                            "{} does not start with the expected header; delete it or use --force",
                            path.display()
                        ),
                    ))
                }
                None => {}
            }
            for line in lines {
                if !line.ends_with('\n') {
                    break;
                }
                match parse_point_line(line.trim_end()) {
                    Some(m) if m.index == done.len() => {
                        if !logged_matches_plan(plan, &m, line.trim_end()) {
                            return Err(Error::Data {
                                file: path.display().to_string(),
                                line: done.len() + 2,
                                message: format!(
                                    "logged point {} is not point {} of this run's plan of {} points (the run file changed since the run was interrupted); start over with --force",
                                    m.index,
                                    m.index,
                                    plan.len()
                                ),
                            });
                        }
                        done.push(m);
                        ends.push(ends[ends.len() - 1] + line.len());
                    }
                    _ => break,
                }
            }
        }
        let checkpoint = path.with_extension("checkpoint.json");
        let mut state = None;
        if stateful {
            let saved = std::fs::read_to_string(&checkpoint)
                .ok()
                .and_then(|s| serde_json::from_str::<(usize, Vec<f64>)>(&s).ok())
                .filter(|(n, _)| *n <= done.len());
            let n = saved.as_ref().map_or(0, |(n, _)| *n);
            done.truncate(n);
            state = saved.map(|(_, v)| v);
        }
        let keep = if ends[0] == 0 { 0 } else { ends[done.len()] };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        file.set_len(keep as u64).map_err(|e| Error::io(path, e))?;
        file.seek(std::io::SeekFrom::End(0))
            .map_err(|e| Error::io(path, e))?;
        if keep == 0 {
            writeln!(file, "{header}").map_err(|e| Error::io(path, e))?;
        }
        let log = ResumeLog {
            file,
            path: path.to_path_buf(),
            checkpoint,
            stateful,
            last_checkpoint: std::time::Instant::now(),
        };
        Ok((log, done, state))
    }

    /// Append one finished point; `junction_state` is the junction's state after it; `force`
    /// checkpoints now (the plan's last point, or an interruption).
    pub fn append(
        &mut self,
        plan: &[PlannedPoint],
        m: &MeasuredPoint,
        junction_state: &[f64],
        force: bool,
    ) -> Result<()> {
        use std::io::Write;
        writeln!(self.file, "{}", point_line(plan, m)).map_err(|e| Error::io(&self.path, e))?;
        if self.stateful
            && (force || self.last_checkpoint.elapsed() >= std::time::Duration::from_secs(1))
        {
            let json = serde_json::to_string(&(m.index + 1, junction_state))
                .map_err(|e| Error::invalid("checkpoint", e.to_string()))?;
            crate::io::write_atomic_unsynced(&self.checkpoint, json.as_bytes())?;
            self.last_checkpoint = std::time::Instant::now();
        }
        Ok(())
    }

    /// Remove the log and its checkpoint (after the final files are written).
    pub fn finish(self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_file(&self.checkpoint);
    }
}
