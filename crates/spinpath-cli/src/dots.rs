//! `spinpath dots`: interacting dots (master equation, transient, Monte Carlo) from a TOML file with
//! `[dots]` and `[dots_run]` sections. `spinpath run` dispatches here when the file has `[dots]`.

use spinpath::run::{Job, RunFile};
use std::path::PathBuf;

/// Arguments of `spinpath dots`.
#[derive(clap::Args)]
pub struct DotsArgs {
    /// The TOML file with `[dots]` (model) and `[dots_run]` (protocol).
    pub config: PathBuf,
    /// Output folder (default: `dots_run.output`, else `out/<file stem>`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Replace the files of an existing output folder.
    #[arg(long)]
    pub force: bool,
}

/// Execute `spinpath dots`.
pub fn run(args: DotsArgs) -> anyhow::Result<()> {
    let rf = RunFile::load(&args.config)?;
    if !matches!(rf.job, Job::DotsSweep(_)) {
        anyhow::bail!(
            "{}: `spinpath dots` runs a [dots] file with [dots_run]; use `spinpath run` for other run files",
            rf.file
        );
    }
    let out: PathBuf = match (&args.output, &rf.output) {
        (Some(o), _) => o.clone(),
        (None, Some(o)) => PathBuf::from(o),
        (None, None) => PathBuf::from("out").join(args.config.file_stem().unwrap_or_default()),
    };
    crate::run::execute(&rf, &out, crate::integrity::mode(args.force, false))
}
