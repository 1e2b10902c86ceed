//! `spinpath reproduce PAPER`: run a paper's models and write its signatures table and figures.

use spinpath::outdir::Fingerprint;
use spinpath::reproduce::{self, Options, Target};
use std::path::PathBuf;

/// Arguments of `spinpath reproduce`.
#[derive(clap::Args)]
pub struct ReproduceArgs {
    /// Which paper: `spin-engine` (paper 1) or `memristor` (paper 2).
    pub paper: String,
    /// Output folder (default `out/reproduce-<paper>`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Replace the files of an existing output folder.
    #[arg(long)]
    pub force: bool,
    /// Seed of every random process (written into summary.json).
    #[arg(long, default_value_t = Options::default().seed)]
    pub seed: u64,
    /// A quicker, coarser run (fewer points / cycles); verdicts are computed from what was run.
    #[arg(long)]
    pub quick: bool,
}

/// Execute `spinpath reproduce`.
pub fn run(a: ReproduceArgs) -> anyhow::Result<()> {
    let target = Target::from_name(&a.paper)?;
    let opts = Options {
        seed: a.seed,
        quick: a.quick,
    };
    let out = a
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(format!("reproduce-{}", target.name())));
    // The options are the run's "config": a rerun with other options is a different run.
    let text = format!(
        "# spinpath reproduce {} (version {})\npaper = \"{}\"\nseed = {}\nquick = {}\n",
        target.name(),
        env!("CARGO_PKG_VERSION"),
        target.name(),
        opts.seed,
        opts.quick
    );
    let fp = Fingerprint::new("reproduce", target.name(), &text, Some(opts.seed));
    let mode = crate::integrity::mode(a.force, false);
    let Some(dir) = crate::integrity::open(&out, &fp, mode)? else {
        return Ok(());
    };
    let pb = crate::run::progress(0, target.name());
    let started = std::time::Instant::now();
    let output = reproduce::run(target, &opts, &|| pb.inc(1))?;
    pb.finish_and_clear();
    output.write(dir.path(), &text)?;
    let out = dir.commit()?;
    print!("{}", output.text);
    println!(
        "  wrote {} in {:.2} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
