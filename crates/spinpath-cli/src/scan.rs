//! `spinpath scan`: design exploration over device parameters — grids and random / Latin-hypercube
//! samples over several parameters, sharded for job arrays (`--shard K/N`), and
//! `spinpath scan merge` of the shards' folders into the folder of the whole scan.

use crate::run::progress;
use anyhow::Context;
use spinpath::config;
use spinpath::io::write_atomic;
use spinpath::outdir::Fingerprint;
use spinpath::scan::{self, Axis, Sampling, ScanPlan, ShardRecord, ShardTable};
use std::path::{Path, PathBuf};

/// Arguments of `spinpath scan`.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ScanArgs {
    /// `merge`: join the folders of a sharded scan.
    #[command(subcommand)]
    pub command: Option<ScanCommand>,
    /// The run file (a coherent device: `[spin_engine]` or `[chain]`); its `[run]` sets the bias grid.
    #[arg(required = true)]
    pub config: Option<PathBuf>,
    /// A parameter axis `NAME=FROM:TO:N` (repeat for several; named as in fits, e.g.
    /// `spin_accumulation_meV=0:8.4:5`), or, with `--from/--to/--points`, the name alone.
    #[arg(long, required = true)]
    pub param: Vec<String>,
    /// First value (one-parameter form).
    #[arg(long, allow_hyphen_values = true)]
    pub from: Option<f64>,
    /// Last value (one-parameter form).
    #[arg(long, allow_hyphen_values = true)]
    pub to: Option<f64>,
    /// Number of values (one-parameter form; default 11).
    #[arg(long)]
    pub points: Option<usize>,
    /// Draw this many points in the box of the axes instead of a grid (`NAME=FROM:TO`).
    #[arg(long)]
    pub samples: Option<usize>,
    /// How `--samples` are drawn: `lhs` (Latin hypercube, the default) or `random`.
    #[arg(long, requires = "samples")]
    pub sampling: Option<String>,
    /// Seed of the samples (written to `plan.json` and `run.json`; default 1).
    #[arg(long, requires = "samples")]
    pub seed: Option<u64>,
    /// Run only shard K of N (points with index % N == K; K from 0), e.g. `--shard 0/3`.
    #[arg(long)]
    pub shard: Option<String>,
    /// Output folder (default `out/scan-<params>`, with `-shard-K-of-N` for a shard).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Replace the files of an existing output folder.
    #[arg(long)]
    pub force: bool,
    /// Leave a finished folder of the same scan and shard as it is (for re-queued array tasks).
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
}

/// Subcommands of `spinpath scan`.
#[derive(clap::Subcommand)]
pub enum ScanCommand {
    /// Merge the folders of all shards of one scan into the folder of the whole scan.
    Merge(MergeArgs),
}

/// Arguments of `spinpath scan merge`.
#[derive(clap::Args)]
pub struct MergeArgs {
    /// The shards' folders (all N shards of one scan, any order).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Folder of the merged scan.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Replace the files of an existing output folder.
    #[arg(long)]
    pub force: bool,
}

/// Execute `spinpath scan`.
pub fn run(args: ScanArgs) -> anyhow::Result<()> {
    if let Some(ScanCommand::Merge(m)) = args.command {
        return merge(m);
    }
    let legacy = args.from.is_some() || args.to.is_some() || args.points.is_some();
    if legacy {
        let [param] = args.param.as_slice() else {
            anyhow::bail!("--from/--to/--points go with one --param NAME; for several parameters use --param NAME=FROM:TO:N");
        };
        if param.contains('=') || args.samples.is_some() || args.shard.is_some() {
            anyhow::bail!("--param {param}: use either --param NAME --from A --to B --points N, or --param NAME=FROM:TO:N (with --samples/--shard), not both");
        }
        let (Some(from), Some(to)) = (args.from, args.to) else {
            anyhow::bail!("--param {param}: the one-parameter form needs both --from and --to");
        };
        let (param, points) = (param.clone(), args.points.unwrap_or(11));
        return run_single(args, param, from, to, points);
    }
    run_plan(args)
}

/// Output folder of a plan's scan.
fn plan_output(args: &ScanArgs, plan: &ScanPlan, shard: (usize, usize)) -> PathBuf {
    if let Some(o) = &args.output {
        return o.clone();
    }
    let names: Vec<&str> = plan.axes.iter().map(|a| a.name.as_str()).collect();
    let mut name = format!("scan-{}", names.join("-"));
    if shard.1 > 1 {
        name += &format!("-shard-{}-of-{}", shard.0, shard.1);
    }
    PathBuf::from("out").join(name)
}

/// The fingerprint (`run.json`) of shard `k/n` of `plan`: the merged folder has that of shard 0/1.
fn plan_fingerprint(file: &str, text: &str, plan: &ScanPlan, k: usize, n: usize) -> Fingerprint {
    let seed = (plan.sampling != Sampling::Grid).then_some(plan.seed);
    Fingerprint::new("scan", file, text, seed)
        .with_arguments(vec![plan.description(), format!("shard {k}/{n}")])
}

/// Write a plan folder's files (the whole scan's, or a shard's): `scan.csv`, `summary.json`, figures,
/// `devices.jsonl` (one line per point: `point`, `values`, `summary`, by point index), `plan.json`
/// and the run file `config.toml`. The merge copies the shards' lines verbatim (exact numbers).
fn write_plan_files(
    out: &Path,
    plan: &ScanPlan,
    record: &ShardRecord,
    table: &spinpath::table::Table,
    devices: &[String],
    text: &str,
) -> anyhow::Result<()> {
    table.write_csv(&out.join("scan.csv"))?;
    write_atomic(
        &out.join("summary.json"),
        serde_json::to_string_pretty(&scan::plan_summary(plan, table)?)?.as_bytes(),
    )?;
    // Figures describe the whole scan: a shard has only part of the points.
    if record.shards == 1 {
        for (name, svg) in scan::plan_figures(plan, table)? {
            spinpath::plot::write_svg_and_png(&out.join(name), &svg)?;
        }
    }
    write_atomic(&out.join("config.toml"), text.as_bytes())?;
    write_atomic(
        &out.join("plan.json"),
        serde_json::to_string_pretty(record)?.as_bytes(),
    )?;
    let mut lines = String::new();
    for d in devices {
        lines.push_str(d);
        lines.push('\n');
    }
    write_atomic(&out.join("devices.jsonl"), lines.as_bytes())?;
    Ok(())
}

/// The multi-parameter form: `--param NAME=FROM:TO:N ...`, samples, shards.
fn run_plan(args: ScanArgs) -> anyhow::Result<()> {
    let config = args.config.clone().unwrap_or_default();
    let axes = args
        .param
        .iter()
        .map(|p| Axis::parse(p))
        .collect::<spinpath::Result<Vec<_>>>()?;
    let plan = match args.samples {
        None => {
            if let Some(p) = args.param.iter().find(|p| p.split(':').count() != 3) {
                anyhow::bail!("--param {p}: a grid needs NAME=FROM:TO:N (or give --samples N for random/LHS samples of NAME=FROM:TO)");
            }
            ScanPlan::grid(axes)?
        }
        Some(n) => ScanPlan::sampled(
            axes,
            args.sampling
                .as_deref()
                .unwrap_or("lhs")
                .parse::<Sampling>()?,
            n,
            args.seed.unwrap_or(1),
        )?,
    };
    let (k, n) = match &args.shard {
        Some(s) => scan::parse_shard(s)?,
        None => (0, 1),
    };
    let rf = spinpath::run::RunFile::load(&config)?;
    let text = &rf.text;
    let Some(run) = rf.coherent.as_deref() else {
        anyhow::bail!("{}: `spinpath scan` explores coherent devices ([spin_engine] or [chain]); for dots, edit the file or use the Python API", rf.file);
    };
    scan::check_plan(run, &plan)?;
    let indices = plan.shard(k, n)?;
    let target = plan_output(&args, &plan, (k, n));
    let fp = plan_fingerprint(&rf.file, text, &plan, k, n);
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
    let pb = progress(
        (indices.len() * run.states.len() * run.bias_mv.len()) as u64,
        "scan",
    );
    let started = std::time::Instant::now();
    let points = scan::evaluate(run, &plan, &indices, &|| pb.inc(1))?;
    pb.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let table = scan::plan_table(&plan, &points)?;
    let devices = points
        .iter()
        .map(|p| {
            serde_json::to_string(
                &serde_json::json!({"point": p.index, "values": p.values, "summary": p.summary}),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    write_plan_files(&out, &plan, &record, &table, &devices, text)?;
    dir.commit()?;
    let names: Vec<&str> = plan.axes.iter().map(|a| a.name.as_str()).collect();
    println!(
        "scan of {} ({:?}, {} points{}): {} points here, {} states × {} biases each",
        names.join(", "),
        plan.sampling,
        plan.len(),
        if n > 1 {
            format!(", shard {k}/{n}")
        } else {
            String::new()
        },
        indices.len(),
        run.states.len(),
        run.bias_mv.len()
    );
    if let Some((p, s)) = points
        .iter()
        .flat_map(|p| p.summary.states.iter().map(move |s| (p, s)))
        .filter(|b| b.1.max_power_nW > 0.0)
        .max_by(|a, b| a.1.max_power_nW.total_cmp(&b.1.max_power_nW))
    {
        println!(
            "  most output power: {:.4e} nW at point {} {:?} ({}, V = {:.3} mV)",
            s.max_power_nW, p.index, p.values, s.state, s.bias_at_max_power_mV
        );
    } else {
        println!("  no device here delivers power");
    }
    println!(
        "  wrote {} in {seconds:.2} s ({:.2} points/s on {} threads)",
        target.display(),
        indices.len() as f64 / seconds.max(1e-9),
        rayon::current_num_threads()
    );
    Ok(())
}

/// `spinpath scan merge DIR... --output DIR`.
fn merge(args: MergeArgs) -> anyhow::Result<()> {
    let mut parts = Vec::new();
    let mut devices: Vec<(u64, String)> = Vec::new();
    for d in &args.dirs {
        let shown = d.display().to_string();
        let fp = spinpath::outdir::read_fingerprint(d).with_context(|| {
            format!(
                "{shown}: not a finished scan folder (no readable run.json); run its shard (again)"
            )
        })?;
        if fp.command != "scan" {
            anyhow::bail!("{shown}: a `{}` folder, not a scan shard", fp.command);
        }
        let plan_text = spinpath::io::read_to_string(&d.join("plan.json"))
            .with_context(|| format!("{shown}: no plan.json: written by the one-parameter form or an older spinpath; only --param NAME=FROM:TO:N scans can be merged"))?;
        let record: ShardRecord = serde_json::from_str(&plan_text)
            .with_context(|| format!("{shown}/plan.json: not a scan plan"))?;
        let csv_path = d.join("scan.csv");
        let table = scan::read_scan_csv(
            &spinpath::io::read_to_string(&csv_path)?,
            &csv_path.display().to_string(),
        )?;
        for (i, line) in spinpath::io::read_to_string(&d.join("devices.jsonl"))?
            .lines()
            .enumerate()
        {
            let v: serde_json::Value = serde_json::from_str(line)
                .with_context(|| format!("{shown}/devices.jsonl:{}: not JSON", i + 1))?;
            let Some(point) = v.get("point").and_then(|p| p.as_u64()) else {
                anyhow::bail!("{shown}/devices.jsonl:{}: no integer `point`", i + 1);
            };
            devices.push((point, line.to_string()));
        }
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
    let table = scan::merge(&tables)?;
    let (fp0, first) = &parts[0];
    let plan = first.record.plan.clone();
    let text = spinpath::io::read_to_string(&PathBuf::from(&first.source).join("config.toml"))?;
    let fp = plan_fingerprint(&fp0.config_file, &text, &plan, 0, 1);
    if fp.config_sha256 != fp0.config_sha256 {
        anyhow::bail!(
            "{}: config.toml differs from the run file recorded in run.json (edited folder?)",
            first.source
        );
    }
    devices.sort_by_key(|d| d.0);
    if devices.len() != plan.len() || devices.iter().enumerate().any(|(i, d)| d.0 != i as u64) {
        anyhow::bail!(
            "the devices.jsonl files of {} do not hold each of the {} points once (edited or unfinished shard?)",
            args.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", "),
            plan.len()
        );
    }
    let devices: Vec<String> = devices.into_iter().map(|d| d.1).collect();
    let record = ShardRecord::new(&plan, &fp.config_sha256, 0, 1);
    let Some(dir) =
        crate::integrity::open(&args.output, &fp, crate::integrity::mode(args.force, false))?
    else {
        return Ok(());
    };
    let out = dir.path().to_path_buf();
    write_plan_files(&out, &plan, &record, &table, &devices, &text)?;
    dir.commit()?;
    println!(
        "merged {} shards: {} points, {} rows into {}",
        parts.len(),
        plan.len(),
        table.n_rows(),
        args.output.display()
    );
    Ok(())
}

/// The one-parameter form `--param NAME --from A --to B --points N` (the table without `point`).
fn run_single(
    args: ScanArgs,
    param: String,
    from: f64,
    to: f64,
    points: usize,
) -> anyhow::Result<()> {
    let config = args.config.clone().unwrap_or_default();
    if !(from.is_finite() && to.is_finite()) || points == 0 || points > 10_000 {
        anyhow::bail!("--from and --to must be finite numbers and 1 <= --points <= 10000");
    }
    let rf = spinpath::run::RunFile::load(&config)?;
    let text = &rf.text;
    let Some(run) = rf.coherent.as_deref() else {
        anyhow::bail!("{}: `spinpath scan` explores coherent devices ([spin_engine] or [chain]); for dots, edit the file or use the Python API", rf.file);
    };
    // Check the name before any work.
    run.with_parameter(&param, from)?;
    let values = config::linspace(from, to, points);
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(format!("scan-{}", param)));
    let fp = spinpath::outdir::Fingerprint::new("scan", &rf.file, text, None).with_arguments(vec![
        param.clone(),
        from.to_string(),
        to.to_string(),
        points.to_string(),
    ]);
    let Some(dir) = crate::integrity::open(&out, &fp, crate::integrity::mode(args.force, false))?
    else {
        return Ok(());
    };
    let target = out;
    let out = dir.path().to_path_buf();
    let pb = progress(
        (values.len() * run.states.len() * run.bias_mv.len()) as u64,
        "scan",
    );
    let started = std::time::Instant::now();
    let points = scan::scan(run, &param, &values, &|| pb.inc(1))?;
    pb.finish_and_clear();
    let table = scan::scan_table(&param, &points)?;
    table.write_csv(&out.join("scan.csv"))?;
    scan::scan_figure(&param, &table).write_svg(&out.join("scan.svg"))?;
    write_atomic(&out.join("config.toml"), text.as_bytes())?;
    let summaries: Vec<serde_json::Value> = points
        .iter()
        .map(|p| serde_json::json!({"value": p.value, "summary": p.summary}))
        .collect();
    write_atomic(
        &out.join("summary.json"),
        serde_json::to_string_pretty(
            &serde_json::json!({"parameter": param, "values": values, "devices": summaries}),
        )?
        .as_bytes(),
    )?;
    dir.commit()?;
    // The best generator of the scan.
    let best = points
        .iter()
        .flat_map(|p| p.summary.states.iter().map(move |s| (p.value, s)))
        .max_by(|a, b| a.1.max_power_nW.total_cmp(&b.1.max_power_nW));
    println!(
        "scan of {} over {} values from {} to {} ({} states × {} biases each)",
        param,
        values.len(),
        from,
        to,
        run.states.len(),
        run.bias_mv.len()
    );
    if let Some((v, s)) = best.filter(|b| b.1.max_power_nW > 0.0) {
        println!(
            "  most output power: {:.4e} nW at {} = {v} ({}, V = {:.3} mV)",
            s.max_power_nW, param, s.state, s.bias_at_max_power_mV
        );
    } else {
        println!("  no device of the scan delivers power");
    }
    println!(
        "  wrote {} in {:.2} s",
        target.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
