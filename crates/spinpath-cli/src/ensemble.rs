//! `spinpath ensemble`: sample junctions of a carbon-in-MgO ensemble (docs/ensembles.md), run each
//! through the engines, and report yields and distributions; sharded like `spinpath scan`
//! (`--shard K/N`, `spinpath ensemble merge`).

use crate::run::progress;
use anyhow::Context;
use spinpath::ensemble::{self, EnsembleFile};
use spinpath::io::write_atomic;
use spinpath::outdir::Fingerprint;
use spinpath::scan::{self, ScanPlan, ShardRecord, ShardTable};
use spinpath::table::Table;
use std::path::{Path, PathBuf};

/// Arguments of `spinpath ensemble`.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EnsembleArgs {
    /// `merge`: join the folders of a sharded ensemble.
    #[command(subcommand)]
    pub command: Option<EnsembleCommand>,
    /// The ensemble file: `[ensemble]` (the carbon model) with a `[spin_engine]` and its `[run]`.
    #[arg(required = true)]
    pub config: Option<PathBuf>,
    /// Number of junctions to sample.
    #[arg(long, required = true)]
    pub samples: Option<usize>,
    /// Seed of the junctions (written to plan.json, run.json and summary.json; default 1).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run only shard K of N (junctions with index % N == K; K from 0), e.g. `--shard 0/3`.
    #[arg(long)]
    pub shard: Option<String>,
    /// Output folder (default `out/ensemble`, with `-shard-K-of-N` for a shard).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Replace the files of an existing output folder.
    #[arg(long)]
    pub force: bool,
    /// Leave a finished folder of the same ensemble and shard as it is (re-queued array tasks).
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
}

/// Subcommands of `spinpath ensemble`.
#[derive(clap::Subcommand)]
pub enum EnsembleCommand {
    /// Merge the folders of all shards of one ensemble into the folder of the whole ensemble.
    Merge(crate::scan::MergeArgs),
}

/// The fingerprint (`run.json`) of shard `k/n`: the merged folder has that of shard 0/1.
fn fingerprint(file: &str, text: &str, plan: &ScanPlan, k: usize, n: usize) -> Fingerprint {
    Fingerprint::new("ensemble", file, text, Some(plan.seed))
        .with_arguments(vec![plan.description(), format!("shard {k}/{n}")])
}

/// Write a folder's files: `ensemble.csv`, `summary.json`, `plan.json`, `config.toml`, and for the
/// whole ensemble (not a shard) the histograms `ensemble.svg`.
fn write_files(
    out: &Path,
    f: &EnsembleFile,
    record: &ShardRecord,
    table: &Table,
    text: &str,
) -> anyhow::Result<ensemble::EnsembleSummary> {
    table.write_csv(&out.join("ensemble.csv"))?;
    let summary = ensemble::summarize(f, record.plan.seed, table)?;
    let mut json = serde_json::to_value(&summary)?;
    json["shard"] = serde_json::json!(format!("{}/{}", record.shard, record.shards));
    write_atomic(
        &out.join("summary.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    if record.shards == 1 {
        ensemble::figure(f, table).write_svg(&out.join("ensemble.svg"))?;
    }
    write_atomic(&out.join("config.toml"), text.as_bytes())?;
    write_atomic(
        &out.join("plan.json"),
        serde_json::to_string_pretty(record)?.as_bytes(),
    )?;
    Ok(summary)
}

fn report(s: &ensemble::EnsembleSummary) {
    let y = &s.spin_engine_yield;
    println!(
        "  working spin engines: {} of {} = {:.3e} ± {:.1e} (95 % CI [{:.2e}, {:.2e}]{}); paper 1: 1 in 168 = {:.2e} ({} the interval)",
        y.count,
        y.samples,
        y.fraction,
        y.standard_error,
        y.ci95[0],
        y.ci95[1],
        y.one_in.map_or(String::new(), |o| format!(", 1 in {o:.0}")),
        s.paper1_yield,
        if s.paper1_within_ci95 { "inside" } else { "outside" }
    );
    println!(
        "  junctions with a 4th-neighbour C dimer: {}; with a transport/gating pair: {}",
        s.candidate_yield.count, s.transport_gating_pair_yield.count
    );
}

/// Execute `spinpath ensemble`.
pub fn run(args: EnsembleArgs) -> anyhow::Result<()> {
    if let Some(EnsembleCommand::Merge(m)) = args.command {
        return merge(m);
    }
    let config = args.config.clone().unwrap_or_default();
    let samples = args.samples.unwrap_or(0);
    let plan = ensemble::plan(samples, args.seed.unwrap_or(1))?;
    let (k, n) = match &args.shard {
        Some(s) => scan::parse_shard(s)?,
        None => (0, 1),
    };
    let file = config.display().to_string();
    let text = spinpath::io::read_to_string(&config)?;
    let f = ensemble::parse(&file, &text)?;
    let indices = plan.shard(k, n)?;
    let target = args.output.clone().unwrap_or_else(|| {
        let mut name = "ensemble".to_string();
        if n > 1 {
            name += &format!("-shard-{k}-of-{n}");
        }
        PathBuf::from("out").join(name)
    });
    let fp = fingerprint(&file, &text, &plan, k, n);
    let record = ShardRecord::new(&plan, &fp.config_sha256, k, n);
    let Some(dir) = crate::integrity::open(
        &target,
        &fp,
        crate::integrity::mode(args.force, args.resume),
    )?
    else {
        return Ok(());
    };
    let out = dir.path().to_path_buf();
    let pb = progress(indices.len() as u64, "ensemble");
    let started = std::time::Instant::now();
    let js = ensemble::evaluate(&f, plan.seed, &indices, &|| pb.inc(1))?;
    pb.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let table = ensemble::table(&f, &js)?;
    let summary = write_files(&out, &f, &record, &table, &text)?;
    dir.commit()?;
    println!(
        "ensemble of {} junctions (seed {}{}): {} here, {} O sites each at {} % C",
        plan.len(),
        plan.seed,
        if n > 1 {
            format!(", shard {k}/{n}")
        } else {
            String::new()
        },
        indices.len(),
        summary.oxygen_sites,
        f.spec.carbon_concentration_percent
    );
    report(&summary);
    println!(
        "  wrote {} in {seconds:.2} s ({:.1} junctions/s on {} threads)",
        target.display(),
        indices.len() as f64 / seconds.max(1e-9),
        rayon::current_num_threads()
    );
    Ok(())
}

/// `spinpath ensemble merge DIR... --output DIR`.
fn merge(args: crate::scan::MergeArgs) -> anyhow::Result<()> {
    let mut parts = Vec::new();
    for d in &args.dirs {
        let shown = d.display().to_string();
        let fp = spinpath::outdir::read_fingerprint(d).with_context(|| {
            format!("{shown}: not a finished ensemble folder (no readable run.json); run its shard (again)")
        })?;
        if fp.command != "ensemble" {
            anyhow::bail!("{shown}: a `{}` folder, not an ensemble shard", fp.command);
        }
        let record: ShardRecord =
            serde_json::from_str(&spinpath::io::read_to_string(&d.join("plan.json"))?)
                .with_context(|| format!("{shown}/plan.json: not an ensemble plan"))?;
        let csv_path = d.join("ensemble.csv");
        let table = scan::read_scan_csv(
            &spinpath::io::read_to_string(&csv_path)?,
            &csv_path.display().to_string(),
        )?;
        parts.push((
            fp,
            ShardTable {
                source: shown,
                record,
                table,
            },
        ));
    }
    let tables: Vec<ShardTable> = parts.iter().map(|p| p.1.clone()).collect();
    let table = scan::merge_on(&tables, "junction")?;
    let (fp0, first) = &parts[0];
    let plan = first.record.plan.clone();
    let text = spinpath::io::read_to_string(&PathBuf::from(&first.source).join("config.toml"))?;
    let fp = fingerprint(&fp0.config_file, &text, &plan, 0, 1);
    if fp.config_sha256 != fp0.config_sha256 {
        anyhow::bail!(
            "{}: config.toml differs from the ensemble file recorded in run.json (edited folder?)",
            first.source
        );
    }
    let f = ensemble::parse(&fp0.config_file, &text)?;
    let record = ShardRecord::new(&plan, &fp.config_sha256, 0, 1);
    let Some(dir) =
        crate::integrity::open(&args.output, &fp, crate::integrity::mode(args.force, false))?
    else {
        return Ok(());
    };
    let summary = write_files(dir.path(), &f, &record, &table, &text)?;
    dir.commit()?;
    println!(
        "merged {} shards: {} junctions into {}",
        parts.len(),
        plan.len(),
        args.output.display()
    );
    report(&summary);
    Ok(())
}
