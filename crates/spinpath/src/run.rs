//! The one place that wires a run file to a device, an approach and a job.
//!
//! [`RunFile::parse`] decides once what a TOML file is (a coherent `[spin_engine]`/`[chain]` sweep,
//! an interacting-dot `[dots]` + `[dots_run]` sweep, or a lab `[protocol]` on either device), builds
//! the one [`Device`], and keeps the job's settings. [`RunFile::execute`] runs a sweep and returns
//! its [`RunOutput`] (tables, figures, summary, a short text); [`RunFile::junction`] gives the
//! junction a protocol drives. The command line only parses arguments, shows progress and writes the
//! output; the Python package only converts it.

use crate::config::protocol::ProtocolSpec;
use crate::config::CoherentRun;
use crate::device::Device;
use crate::engine::dynamics::DynamicsKind;
use crate::engine::{ApproachKind, ApproachSettings};
use crate::error::{Error, Result};
use crate::master::spec::RunSettings;
use crate::master::DotModel;
use crate::plot::{Figure, Heatmap};
use crate::protocol::junction::DeviceJunction;
use crate::protocol::Junction;
use crate::table::{Column, Table};
use serde_json::Value;
use std::path::Path;

/// Everything a run produces: CSV tables, figures, `summary.json` and a short human summary.
#[derive(Debug, Clone, Default)]
pub struct RunOutput {
    /// CSV files: (file name, table).
    pub tables: Vec<(String, Table)>,
    /// Line figures: (file name, figure).
    pub figures: Vec<(String, Figure)>,
    /// Colour maps: (file name, heatmap).
    pub heatmaps: Vec<(String, Heatmap)>,
    /// `summary.json`.
    pub summary: Value,
    /// A short human summary (lines, each ending in a newline).
    pub text: String,
}

impl RunOutput {
    /// Remove and return a table by file name.
    pub fn take_table(&mut self, name: &str) -> Option<Table> {
        let i = self.tables.iter().position(|(n, _)| n == name)?;
        Some(self.tables.remove(i).1)
    }

    /// A table by file name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    /// Write every file into `dir` (which must exist), each atomically, plus `config.toml` with the
    /// run file's text.
    pub fn write(&self, dir: &Path, config_text: &str) -> Result<()> {
        crate::io::write_atomic(&dir.join("config.toml"), config_text.as_bytes())?;
        for (name, t) in &self.tables {
            t.write_csv(&dir.join(name))?;
        }
        for (name, f) in &self.figures {
            f.write_svg(&dir.join(name))?;
        }
        for (name, h) in &self.heatmaps {
            h.write_svg(&dir.join(name))?;
        }
        let json = serde_json::to_string_pretty(&self.summary)
            .map_err(|e| Error::invalid("summary", e.to_string()))?;
        crate::io::write_atomic(&dir.join("summary.json"), json.as_bytes())
    }
}

/// A dots sweep: the validated dot model (file form) and its `[dots_run]` settings.
#[derive(Debug, Clone)]
pub struct DotsJob {
    /// The model as parsed (fits and write-back address it).
    pub model: DotModel,
    /// Sweep settings.
    pub settings: RunSettings,
}

/// A protocol run: the protocol and how the junction evolves.
#[derive(Debug, Clone)]
pub struct ProtocolJob {
    /// The protocol.
    pub spec: ProtocolSpec,
    /// The approach that solves the device.
    pub approach: ApproachKind,
    /// The dynamics over its kernels.
    pub dynamics: DynamicsKind,
    /// Index of the gating dot (ON/OFF branch label).
    pub gating_dot: Option<usize>,
}

/// What a run file asks for.
#[derive(Debug, Clone)]
pub enum Job {
    /// A coherent bias sweep over magnetic states (`[run]`), with optional spectra.
    CoherentSweep(Box<CoherentRun>),
    /// An interacting-dot bias sweep (`[dots_run]`).
    DotsSweep(Box<DotsJob>),
    /// A lab protocol (`[protocol]`) on the device.
    Protocol(Box<ProtocolJob>),
    /// A `[dots]` file without `[dots_run]` or `[protocol]`: a device, nothing to run.
    DeviceOnly,
}

/// A parsed run file: the device and the job.
#[derive(Debug, Clone)]
pub struct RunFile {
    /// The file name used in messages.
    pub file: String,
    /// The file's text (written into the results as `config.toml`).
    pub text: String,
    /// The device.
    pub device: Device,
    /// The coherent run settings of a `[spin_engine]`/`[chain]` file (also with a protocol).
    pub coherent: Option<Box<CoherentRun>>,
    /// What to run.
    pub job: Job,
    /// Output folder the file asks for.
    pub output: Option<String>,
}

/// The kind of TOML file, from its top-level tables.
fn file_kind(file: &str, text: &str) -> Result<&'static str> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| Error::Parse {
        file: file.into(),
        message: e.to_string().trim_end().to_string(),
    })?;
    if table.contains_key("dots") {
        return Ok("dots");
    }
    if table.contains_key("fit") || table.contains_key("data") || table.contains_key("model") {
        return Err(Error::Config {
            location: file.into(),
            key: "fit / data / model".into(),
            message: "this is a fit file (it has [fit], [[data]] or `model`): run it with `spinpath fit`, not `spinpath run`".into(),
        });
    }
    Ok("coherent")
}

impl RunFile {
    /// Read and parse a run file.
    pub fn load(path: &Path) -> Result<RunFile> {
        let text = crate::io::read_to_string(path)?;
        RunFile::parse(&path.display().to_string(), &text)
    }

    /// Parse a run file's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<RunFile> {
        if file_kind(file, text)? == "dots" {
            return Self::parse_dots(file, text);
        }
        let run = crate::config::parse_coherent_run(file, text)?;
        let device = run.device();
        let job = match &run.protocol {
            Some(spec) => {
                if spec.dynamics.is_some_and(|d| d != DynamicsKind::Steady) {
                    return Err(Error::Config {
                        location: file.into(),
                        key: "protocol.dynamics".into(),
                        message: "a coherent chain is stationary (approach negf); `dynamics` applies to interacting dots".into(),
                    });
                }
                Job::Protocol(Box::new(ProtocolJob {
                    spec: spec.clone(),
                    approach: ApproachKind::Negf,
                    dynamics: DynamicsKind::Steady,
                    gating_dot: None,
                }))
            }
            None => Job::CoherentSweep(Box::new(run.clone())),
        };
        Ok(RunFile {
            file: file.into(),
            text: text.into(),
            device,
            output: run.output.clone(),
            coherent: Some(Box::new(run)),
            job,
        })
    }

    fn parse_dots(file: &str, text: &str) -> Result<RunFile> {
        let states = ["P".to_string(), "AP".to_string()];
        let protocol = crate::config::protocol::parse_protocol(file, text, &states)?;
        let (device, model, settings) = crate::master::spec::load_device(file, text)?;
        let mut output = settings.as_ref().and_then(|s| s.output.clone());
        let job = match (protocol, settings) {
            (Some(spec), settings) => {
                let gating_dot = match &spec.gating_dot {
                    Some(g) => Some(model.dot_index(g).ok_or_else(|| {
                        let names: Vec<&str> = model.dots.iter().map(|d| d.name.as_str()).collect();
                        Error::Config {
                            location: file.into(),
                            key: "protocol.gating_dot".into(),
                            message: format!("no dot named \"{g}\"; the dots are {names:?}"),
                        }
                    })?),
                    None => None,
                };
                let approach = settings
                    .as_ref()
                    .map_or(ApproachKind::Pauli, |s| s.approach);
                output = None;
                Job::Protocol(Box::new(ProtocolJob {
                    dynamics: spec.dynamics.unwrap_or(DynamicsKind::Transient),
                    spec,
                    approach,
                    gating_dot,
                }))
            }
            (None, Some(settings)) => Job::DotsSweep(Box::new(DotsJob {
                model: model.clone(),
                settings,
            })),
            (None, None) => Job::DeviceOnly,
        };
        Ok(RunFile {
            file: file.into(),
            text: text.into(),
            device,
            coherent: None,
            job,
            output,
        })
    }

    /// True for a protocol run (resumable, driven point by point).
    pub fn is_protocol(&self) -> bool {
        matches!(self.job, Job::Protocol(_))
    }

    /// Number of progress steps [`RunFile::execute`] reports (bias points, or states for dots).
    pub fn progress_total(&self) -> u64 {
        match &self.job {
            Job::CoherentSweep(run) => (run.states.len() * run.bias_mv.len()) as u64,
            Job::DotsSweep(job) => job.settings.states.len() as u64,
            Job::Protocol(p) => p.spec.plan.len() as u64,
            Job::DeviceOnly => 0,
        }
    }

    /// The junction a protocol drives: the device under the job's approach and dynamics.
    pub fn junction(&self) -> Result<Box<dyn Junction>> {
        let Job::Protocol(p) = &self.job else {
            return Err(Error::invalid(
                "run",
                format!("{}: no [protocol] to drive a junction with", self.file),
            ));
        };
        let settings = ApproachSettings {
            integration: self
                .coherent
                .as_ref()
                .map_or_else(Default::default, |r| r.integration),
        };
        Ok(Box::new(DeviceJunction::new(
            self.device.clone(),
            p.approach.build(&settings),
            p.dynamics,
            p.gating_dot,
            p.spec.max_events,
        )?))
    }

    /// Run a sweep job (coherent or dots) and return its output. `tick` is called once per
    /// progress step (see [`RunFile::progress_total`]); it must be cheap and thread-safe.
    pub fn execute(&self, tick: &(dyn Fn() + Sync)) -> Result<RunOutput> {
        self.execute_cancellable(tick, &crate::cancel::Cancel::new())
    }

    /// [`RunFile::execute`] that stops with [`Error::Cancelled`] at the next bias point once
    /// `cancel` is set (for interactive front ends: Ctrl-C in Python).
    pub fn execute_cancellable(
        &self,
        tick: &(dyn Fn() + Sync),
        cancel: &crate::cancel::Cancel,
    ) -> Result<RunOutput> {
        match &self.job {
            Job::CoherentSweep(run) => coherent_output(run, &self.device, tick, cancel),
            Job::DotsSweep(job) => {
                dots_output_cancellable(&self.file, &self.device, job, tick, cancel)
            }
            Job::Protocol(_) => Err(Error::invalid(
                "run",
                format!(
                    "{}: a [protocol] run is driven point by point (see RunFile::junction)",
                    self.file
                ),
            )),
            Job::DeviceOnly => Err(Error::Config {
                location: self.file.clone(),
                key: "dots_run".into(),
                message: "no [dots_run] or [protocol] section: nothing to run (see docs/dots.md)"
                    .into(),
            }),
        }
    }
}

/// Append the rows of `b` to `a` (same columns).
pub fn concat(a: Table, b: &Table) -> Result<Table> {
    let mut t = Table::new();
    for ((name, ca), (_, cb)) in a.iter().zip(b.iter()) {
        match (ca, cb) {
            (Column::F64(x), Column::F64(y)) => {
                t.push_f64(name, x.iter().chain(y).copied().collect())?
            }
            (Column::Str(x), Column::Str(y)) => {
                t.push_str(name, x.iter().chain(y).cloned().collect())?
            }
            _ => {
                return Err(Error::invalid(
                    "table",
                    format!("column `{name}` changes type between tables"),
                ))
            }
        }
    }
    Ok(t)
}

/// The spectra of every state: `transmission.csv`, `dos.csv` and their figure.
pub fn spectra_output(run: &CoherentRun, device: &Device) -> Result<RunOutput> {
    let mut out = RunOutput::default();
    let names: Vec<String> = device.orbitals.iter().map(|o| o.name.clone()).collect();
    let negf = crate::engine::negf::Negf {
        integration: run.integration,
    };
    let mut all = Vec::new();
    let mut dos_all: Option<Table> = None;
    let mut trans_all: Option<Table> = None;
    for state in &run.states {
        let prepared = negf.prepare_chain(device, state)?;
        let (t, d) = crate::report::spectra_tables(run, &prepared.solver, &state.name, &names)?;
        all.push((state.name.clone(), t.clone()));
        trans_all = Some(match trans_all {
            None => t,
            Some(acc) => concat(acc, &t)?,
        });
        if let Some(d) = d {
            dos_all = Some(match dos_all {
                None => d,
                Some(acc) => concat(acc, &d)?,
            });
        }
    }
    if let Some(t) = trans_all {
        out.tables.push(("transmission.csv".into(), t));
    }
    if let Some(d) = dos_all {
        out.tables.push(("dos.csv".into(), d));
    }
    out.figures.push((
        "transmission.svg".into(),
        crate::report::spectra_figure(&all),
    ));
    Ok(out)
}

fn coherent_output(
    run: &CoherentRun,
    device: &Device,
    tick: &(dyn Fn() + Sync),
    cancel: &crate::cancel::Cancel,
) -> Result<RunOutput> {
    let mut out = sweep_output_cancellable(run, device, tick, cancel)?;
    if run.spectra.is_some() {
        let s = spectra_output(run, device)?;
        out.tables.extend(s.tables);
        out.figures.extend(s.figures);
    }
    Ok(out)
}

/// The bias sweep of a coherent run on `device`: `iv.csv`, `tmr.csv` (with P and AP), `iv.svg`,
/// the summary and its text (no spectra).
pub fn sweep_output(
    run: &CoherentRun,
    device: &Device,
    tick: &(dyn Fn() + Sync),
) -> Result<RunOutput> {
    sweep_output_cancellable(run, device, tick, &crate::cancel::Cancel::new())
}

/// [`sweep_output`] that stops with [`Error::Cancelled`] at the next bias point once `cancel` is
/// set (for interactive front ends).
pub fn sweep_output_cancellable(
    run: &CoherentRun,
    device: &Device,
    tick: &(dyn Fn() + Sync),
    cancel: &crate::cancel::Cancel,
) -> Result<RunOutput> {
    let sweeps = crate::sweep::run_device_states_cancellable(device, run, tick, cancel)?;
    let names: Vec<String> = device.orbitals.iter().map(|o| o.name.clone()).collect();
    let mut out = RunOutput::default();
    out.tables
        .push(("iv.csv".into(), crate::report::iv_table(&sweeps, &names)?));
    let p = sweeps.iter().find(|s| s.state == "P");
    let ap = sweeps.iter().find(|s| s.state == "AP");
    if let (Some(p), Some(ap)) = (p, ap) {
        out.tables
            .push(("tmr.csv".into(), crate::report::tmr_table(p, ap)?));
    }
    out.figures
        .push(("iv.svg".into(), crate::report::iv_figure(&sweeps)));
    let summary = crate::report::summarize(run, &sweeps);
    out.text = summary.text();
    out.summary =
        serde_json::to_value(&summary).map_err(|e| Error::invalid("summary", e.to_string()))?;
    Ok(out)
}

/// Sweep every state of a dots job with its approach and dynamics.
pub fn dots_sweeps(
    device: &Device,
    job: &DotsJob,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<crate::master::protocol::StateSweep>> {
    dots_sweeps_cancellable(device, job, tick, &crate::cancel::Cancel::new())
}

/// [`dots_sweeps`] that stops with [`Error::Cancelled`] at the next bias point once `cancel` is
/// set.
pub fn dots_sweeps_cancellable(
    device: &Device,
    job: &DotsJob,
    tick: &(dyn Fn() + Sync),
    cancel: &crate::cancel::Cancel,
) -> Result<Vec<crate::master::protocol::StateSweep>> {
    use crate::master::protocol::{run_sweep_cancellable, sweep_points, StateSweep};
    let run = &job.settings;
    let approach = run.approach.build(&ApproachSettings::default());
    let points = sweep_points(&run.sweep_mv, run.step_mv);
    // In parallel over states: each has its own dynamics, seeded alike, so the numbers equal a
    // sequential run's.
    use rayon::prelude::*;
    run.states
        .par_iter()
        .map(|&magnet| {
            let state = device.state(magnet.label())?;
            let prepared = approach.prepare(device, state)?;
            let mut dynamics = crate::engine::dynamics::build(
                run.solver,
                run.seed,
                run.integration_s,
                run.max_events,
            );
            let results = run_sweep_cancellable(
                prepared.as_ref(),
                &points,
                run.dwell_s,
                dynamics.as_mut(),
                cancel,
            )?;
            tick();
            Ok(StateSweep::new(
                prepared.dot_model(),
                magnet,
                points.clone(),
                results,
                run.gating_dot,
            ))
        })
        .collect()
}

/// The output of a dots sweep (`iv.csv`, `dots.csv`, `occupations.csv`, `kmc_trace.csv`,
/// `kmc_history.csv`, `didv.svg`, summary); `file` names the run file in the summary.
pub fn dots_output(
    file: &str,
    device: &Device,
    job: &DotsJob,
    tick: &(dyn Fn() + Sync),
) -> Result<RunOutput> {
    dots_output_cancellable(file, device, job, tick, &crate::cancel::Cancel::new())
}

/// [`dots_output`] that stops with [`Error::Cancelled`] at the next bias point once `cancel` is
/// set.
pub fn dots_output_cancellable(
    file: &str,
    device: &Device,
    job: &DotsJob,
    tick: &(dyn Fn() + Sync),
    cancel: &crate::cancel::Cancel,
) -> Result<RunOutput> {
    use crate::master::protocol as mp;
    let run = &job.settings;
    let model = &job.model;
    let sweeps = dots_sweeps_cancellable(device, job, tick, cancel)?;
    let summary = mp::summarize(
        &sweeps,
        run.peak_threshold,
        run.solver.name(),
        run.seed,
        run.dwell_s,
    );
    let mut out = RunOutput::default();
    out.tables.push(("iv.csv".into(), mp::iv_table(&sweeps)?));
    let with_states = run.approach != ApproachKind::Negf;
    if with_states {
        out.tables
            .push(("dots.csv".into(), mp::detail_table(model, &sweeps)?));
        if let Some(t) = mp::occupation_table(model, &sweeps)? {
            out.tables.push(("occupations.csv".into(), t));
        }
    }
    out.figures.push(("didv.svg".into(), mp::figure(&sweeps)));
    let mut json =
        serde_json::to_value(&summary).map_err(|e| Error::invalid("summary", e.to_string()))?;
    json["config"] = Value::String(file.into());
    json["approach"] = Value::String(run.approach.name().into());
    // TMR peaks (away from the current zeros, with FWHM) and poles, for a monotonic P/AP sweep.
    let pick = |m: crate::master::Magnet| sweeps.iter().find(|s| s.magnet == m);
    if let (Some(p), Some(ap)) = (
        pick(crate::master::Magnet::P),
        pick(crate::master::Magnet::AP),
    ) {
        let v: Vec<f64> = p.points.iter().map(|b| b.bias_mv).collect();
        let v_ap: Vec<f64> = ap.points.iter().map(|b| b.bias_mv).collect();
        if v == v_ap && v.windows(2).all(|w| w[1] > w[0]) {
            let cur = |s: &crate::master::protocol::StateSweep| -> Vec<f64> {
                s.results.iter().map(|r| r.current_na).collect()
            };
            json["tmr_extremes"] =
                serde_json::to_value(crate::report::tmr_extremes(&v, &cur(p), &cur(ap)))
                    .map_err(|e| Error::invalid("summary", e.to_string()))?;
        }
    }
    json["n_states"] = serde_json::json!(model.n_states());
    if let Some(mc) = &run.monte_carlo {
        if device.is_many_body() {
            return Err(Error::invalid(
                "dots_run.monte_carlo",
                format!("{file}: Monte Carlo time traces use the Fock-state rates, but the device has hopping or exchange between dots; remove [dots_run.monte_carlo]"),
            ));
        }
        let series = mp::monte_carlo_series(model, run.seed, run.max_events, mc)?;
        out.tables.push(("kmc_trace.csv".into(), series.trace));
        if let Some(h) = series.history {
            out.tables.push(("kmc_history.csv".into(), h));
        }
        json["monte_carlo"] = series.summary;
    }
    out.summary = json;
    out.text = summary.text();
    Ok(out)
}
