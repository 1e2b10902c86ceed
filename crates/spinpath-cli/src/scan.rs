//! `spinpath scan`: design exploration over one device parameter.

use crate::run::progress;
use spinpath::config;
use spinpath::io::write_atomic;
use spinpath::scan;
use std::path::PathBuf;

/// Arguments of `spinpath scan`.
#[derive(clap::Args)]
pub struct ScanArgs {
    /// The run file (a coherent device: `[spin_engine]` or `[chain]`); its `[run]` sets the bias grid.
    pub config: PathBuf,
    /// The parameter to vary, named as in fits (e.g. `spin_accumulation_meV`, `P.dimer_energy_meV`).
    #[arg(long)]
    pub param: String,
    /// First value.
    #[arg(long)]
    pub from: f64,
    /// Last value.
    #[arg(long)]
    pub to: f64,
    /// Number of values (≥ 1).
    #[arg(long, default_value_t = 11)]
    pub points: usize,
    /// Output folder (default `out/scan-<param>`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Replace the files of an existing output folder.
    #[arg(long)]
    pub force: bool,
}

/// Execute `spinpath scan`.
pub fn run(args: ScanArgs) -> anyhow::Result<()> {
    if !(args.from.is_finite() && args.to.is_finite()) || args.points == 0 || args.points > 10_000 {
        anyhow::bail!("--from and --to must be finite numbers and 1 <= --points <= 10000");
    }
    let rf = spinpath::run::RunFile::load(&args.config)?;
    let text = &rf.text;
    let Some(run) = rf.coherent.as_deref() else {
        anyhow::bail!("{}: `spinpath scan` explores coherent devices ([spin_engine] or [chain]); for dots, edit the file or use the Python API", rf.file);
    };
    // Check the name before any work.
    run.with_parameter(&args.param, args.from)?;
    let values = config::linspace(args.from, args.to, args.points);
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(format!("scan-{}", args.param)));
    let fp = spinpath::outdir::Fingerprint::new("scan", &rf.file, text, None).with_arguments(vec![
        args.param.clone(),
        args.from.to_string(),
        args.to.to_string(),
        args.points.to_string(),
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
    let points = scan::scan(run, &args.param, &values, &|| pb.inc(1))?;
    pb.finish_and_clear();
    let table = scan::scan_table(&args.param, &points)?;
    table.write_csv(&out.join("scan.csv"))?;
    scan::scan_figure(&args.param, &table).write_svg(&out.join("scan.svg"))?;
    write_atomic(&out.join("config.toml"), text.as_bytes())?;
    let summaries: Vec<serde_json::Value> = points
        .iter()
        .map(|p| serde_json::json!({"value": p.value, "summary": p.summary}))
        .collect();
    write_atomic(
        &out.join("summary.json"),
        serde_json::to_string_pretty(
            &serde_json::json!({"parameter": args.param, "values": values, "devices": summaries}),
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
        args.param,
        values.len(),
        args.from,
        args.to,
        run.states.len(),
        run.bias_mv.len()
    );
    if let Some((v, s)) = best.filter(|b| b.1.max_power_nW > 0.0) {
        println!(
            "  most output power: {:.4e} nW at {} = {v} ({}, V = {:.3} mV)",
            s.max_power_nW, args.param, s.state, s.bias_at_max_power_mV
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
