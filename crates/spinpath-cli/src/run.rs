//! `spinpath run`: simulate a device described by a TOML run file and write its results folder.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use spinpath::outdir::{Fingerprint, Mode};
use spinpath::run::{Job, RunFile};
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
    crate::integrity::check_run_file(&args.config, &text)?;
    let rf = RunFile::parse(&args.config.display().to_string(), &text)?;
    let mode = crate::integrity::mode(args.force, args.resume);
    let out = output_dir(&args, rf.output.as_deref());
    if let Job::Protocol(p) = &rf.job {
        let mut junction = rf.junction()?;
        let fp = Fingerprint::new("run", &rf.file, &rf.text, Some(p.spec.seed)).resumable(true);
        let Some(dir) = crate::integrity::open(&out, &fp, mode)? else {
            return Ok(());
        };
        return crate::protocol::run_protocol(
            &p.spec,
            junction.as_mut(),
            &rf.text,
            dir,
            args.stop_after,
        );
    }
    if args.resume {
        anyhow::bail!(
            "--resume applies to protocol runs ([protocol]); a plain sweep is rerun with --force"
        );
    }
    execute(&rf, &out, mode)
}

/// Run a sweep job with a progress bar into a staged results folder, put it in place when
/// complete and print its summary.
pub fn execute(rf: &RunFile, out: &Path, mode: Mode) -> anyhow::Result<()> {
    let seed = match &rf.job {
        Job::DotsSweep(j) => Some(j.settings.seed),
        _ => None,
    };
    let fp = Fingerprint::new("run", &rf.file, &rf.text, seed);
    let Some(dir) = crate::integrity::open(out, &fp, mode)? else {
        return Ok(());
    };
    let pb = progress(rf.progress_total(), "sweep");
    let started = std::time::Instant::now();
    let output = rf.execute(&|| pb.inc(1))?;
    pb.finish_and_clear();
    output.write(dir.path(), &rf.text)?;
    let out = dir.commit()?;
    print!("{}", output.text);
    println!(
        "  wrote {} in {:.2} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
