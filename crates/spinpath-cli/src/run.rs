//! `spinpath run`: simulate a device described by a TOML run file and write its results folder.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use spinpath::config::{self, CoherentRun};
use spinpath::io::write_atomic;
use spinpath::negf::ChainSolver;
use spinpath::outdir::{Fingerprint, RunDir};
use spinpath::protocol::coherent::CoherentJunction;
use spinpath::protocol::dots::{DotDynamics, DotJunction};
use spinpath::report;
use spinpath::sweep::run_states;
use std::path::{Path, PathBuf};

/// Arguments of `spinpath run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// The run's TOML file (device + run settings); see docs/config.md.
    pub config: PathBuf,
    /// Output folder (default: the file's `output` key, else `out/<file stem>`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Replace the files of an existing output folder.
    #[arg(long)]
    pub force: bool,
    /// Continue an interrupted protocol run in the existing output folder.
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
    /// Stop a protocol run after this many points, as an interruption would (for testing resume).
    #[arg(long, hide = true)]
    pub stop_after: Option<usize>,
    /// Number of worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// A progress bar on a terminal, hidden in pipes and CI.
pub fn progress(total: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(total);
    if std::env::var_os("CI").is_some() {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

fn output_dir(args: &RunArgs, file_output: Option<&str>) -> PathBuf {
    if let Some(o) = &args.output {
        return o.clone();
    }
    if let Some(o) = file_output {
        return PathBuf::from(o);
    }
    let stem = args
        .config
        .file_stem()
        .map_or_else(|| "run".into(), |s| s.to_string_lossy().to_string());
    Path::new("out").join(stem)
}

/// Execute `spinpath run`.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("setting up the worker threads")?;
    }
    let text = spinpath::io::read_to_string(&args.config)?;
    let file = args.config.display().to_string();
    crate::integrity::check_run_file(&args.config, &text)?;
    let mode = crate::integrity::mode(args.force, args.resume);
    if config::is_dots_file(&text) {
        let states = ["P".to_string(), "AP".to_string()];
        if let Some(spec) = config::protocol::parse_protocol(&file, &text, &states)? {
            let (model, _) = spinpath::master::spec::load(&file, &text)?;
            let out = output_dir(&args, None);
            let gating =
                match &spec.gating_dot {
                    Some(g) => Some(model.dots.iter().position(|d| &d.name == g).ok_or_else(
                        || {
                            anyhow::anyhow!(
                                "{file}: key `protocol.gating_dot`: no dot named \"{g}\""
                            )
                        },
                    )?),
                    None => None,
                };
            let dynamics = match spec.dynamics.as_deref() {
                Some("monte_carlo") => DotDynamics::MonteCarlo,
                _ => DotDynamics::Transient,
            };
            let mut junction = DotJunction::new(model, dynamics, gating, spec.max_events)?;
            let fp = Fingerprint::new("run", &file, &text, Some(spec.seed)).resumable(true);
            let Some(dir) = crate::integrity::open(&out, &fp, mode)? else {
                return Ok(());
            };
            return crate::protocol::run_protocol(
                &spec,
                &mut junction,
                &text,
                dir,
                args.stop_after,
            );
        }
        if args.resume {
            anyhow::bail!("--resume applies to protocol runs ([protocol])");
        }
        return crate::dots::run_dots(&args.config, &text, args.output.as_deref(), args.force);
    }
    let run = config::parse_coherent_run(&file, &text)?;
    let out = output_dir(&args, run.output.as_deref());
    if let Some(spec) = &run.protocol {
        let mut junction =
            CoherentJunction::new(run.chain.clone(), run.states.clone(), run.integration);
        let fp = Fingerprint::new("run", &file, &text, Some(spec.seed)).resumable(true);
        let Some(dir) = crate::integrity::open(&out, &fp, mode)? else {
            return Ok(());
        };
        return crate::protocol::run_protocol(spec, &mut junction, &text, dir, args.stop_after);
    }
    if args.resume {
        anyhow::bail!(
            "--resume applies to protocol runs ([protocol]); a plain sweep is rerun with --force"
        );
    }
    let fp = Fingerprint::new("run", &file, &text, None);
    let Some(dir) = crate::integrity::open(&out, &fp, mode)? else {
        return Ok(());
    };
    run_coherent(&run, &text, dir)
}

/// A plain I(V) sweep written into `dir`, put in place when complete.
fn run_coherent(run: &CoherentRun, source: &str, dir: RunDir) -> anyhow::Result<()> {
    let out = dir.path().to_path_buf();
    let out = out.as_path();
    let total = (run.states.len() * run.bias_mv.len()) as u64;
    let pb = progress(total, "I(V)");
    let started = std::time::Instant::now();
    let sweeps = run_states(run, &|| pb.inc(1))?;
    pb.finish_and_clear();
    let elapsed = started.elapsed();

    write_atomic(&out.join("config.toml"), source.as_bytes())?;
    let names: Vec<String> = run.chain.sites().iter().map(|s| s.name.clone()).collect();
    report::iv_table(&sweeps, &names)?.write_csv(&out.join("iv.csv"))?;
    let p = sweeps.iter().find(|s| s.state == "P");
    let ap = sweeps.iter().find(|s| s.state == "AP");
    if let (Some(p), Some(ap)) = (p, ap) {
        report::tmr_table(p, ap)?.write_csv(&out.join("tmr.csv"))?;
    }
    report::iv_figure(&sweeps).write_svg(&out.join("iv.svg"))?;
    if run.spectra.is_some() {
        let names: Vec<String> = run.chain.sites().iter().map(|s| s.name.clone()).collect();
        let mut all = Vec::new();
        let mut dos_all: Option<spinpath::table::Table> = None;
        let mut trans_all: Option<spinpath::table::Table> = None;
        for state in &run.states {
            let solver = ChainSolver::new(&run.chain, state)?;
            let (t, d) = report::spectra_tables(run, &solver, &state.name, &names)?;
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
            t.write_csv(&out.join("transmission.csv"))?;
        }
        if let Some(d) = dos_all {
            d.write_csv(&out.join("dos.csv"))?;
        }
        report::spectra_figure(&all).write_svg(&out.join("transmission.svg"))?;
    }
    let summary = report::summarize(run, &sweeps);
    write_atomic(
        &out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    let out = dir.commit()?;
    print_summary(&summary, &out, elapsed);
    Ok(())
}

/// Append the rows of `b` to `a` (same columns).
fn concat(
    a: spinpath::table::Table,
    b: &spinpath::table::Table,
) -> anyhow::Result<spinpath::table::Table> {
    use spinpath::table::{Column, Table};
    let mut t = Table::new();
    for ((name, ca), (_, cb)) in a.iter().zip(b.iter()) {
        match (ca, cb) {
            (Column::F64(x), Column::F64(y)) => {
                t.push_f64(name, x.iter().chain(y).copied().collect())?
            }
            (Column::Str(x), Column::Str(y)) => {
                t.push_str(name, x.iter().chain(y).cloned().collect())?
            }
            _ => anyhow::bail!("column `{name}` changes type between tables"),
        }
    }
    Ok(t)
}

fn fmt_opt(x: Option<f64>, unit: &str) -> String {
    x.map_or_else(|| "—".into(), |v| format!("{v:.4} {unit}"))
}

fn print_summary(s: &report::Summary, out: &Path, elapsed: std::time::Duration) {
    if let Some(t) = &s.title {
        println!("{t}");
    }
    for st in &s.states {
        let voc: Vec<String> = st
            .open_circuit_voltages_mV
            .iter()
            .map(|v| format!("{v:.3}"))
            .collect();
        println!(
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
            println!("       warning: some bias points did not reach the integration tolerance (max error {:.2e} nA)", st.max_integration_error_nA);
        }
    }
    if let Some(t) = &s.tmr {
        let r: Vec<String> = t
            .ranges_tmr_below_minus_100_percent_mV
            .iter()
            .map(|r| format!("{:.3}..{:.3}", r[0], r[1]))
            .collect();
        println!(
            "  TMR < −100 % (I_P, I_AP of opposite signs) for V in [{}] mV",
            r.join(", ")
        );
        if let (Some(m), Some(b)) = (t.max_tmr, t.bias_at_max_tmr_mV) {
            println!("  max TMR {:.1} % at {:.3} mV", 100.0 * m, b);
        }
    }
    println!(
        "  wrote {} in {:.2} s",
        out.display(),
        elapsed.as_secs_f64()
    );
}
