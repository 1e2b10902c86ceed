//! `spinpath run`: simulate a device described by a TOML run file and write its results folder.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use spinpath::io::prepare_output_dir;
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
    let rf = RunFile::load(&args.config)?;
    let out = output_dir(&args, rf.output.as_deref());
    if let Job::Protocol(p) = &rf.job {
        if !(args.resume && out.is_dir()) {
            prepare_output_dir(&out, args.force)?;
        }
        let mut junction = rf.junction()?;
        return crate::protocol::run_protocol(
            &p.spec,
            junction.as_mut(),
            &rf.text,
            &out,
            args.stop_after,
        );
    }
    if args.resume {
        anyhow::bail!(
            "--resume applies to protocol runs ([protocol]); a plain sweep is rerun with --force"
        );
    }
    prepare_output_dir(&out, args.force)?;
    execute(&rf, &out)
}

/// Run a sweep job with a progress bar, write its folder and print its summary.
pub fn execute(rf: &RunFile, out: &Path) -> anyhow::Result<()> {
    let pb = progress(rf.progress_total(), "sweep");
    let started = std::time::Instant::now();
    let output = rf.execute(&|| pb.inc(1))?;
    pb.finish_and_clear();
    output.write(out, &rf.text)?;
    print!("{}", output.text);
    println!(
        "  wrote {} in {:.2} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
