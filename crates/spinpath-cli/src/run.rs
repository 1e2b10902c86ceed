//! `spinpath run`.

use std::path::PathBuf;

/// Arguments of `spinpath run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// The run's TOML file (device + run settings).
    pub config: PathBuf,
    /// Output folder (default: the `output` key of the file, else `out/<file stem>`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Replace the files of an existing output folder.
    #[arg(long)]
    pub force: bool,
}

/// Execute `spinpath run`.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let _ = (args.config, args.output, args.force);
    anyhow::bail!("not implemented yet")
}
