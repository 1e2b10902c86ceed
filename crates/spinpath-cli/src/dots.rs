//! `spinpath dots`: interacting dots (master equation, transient, Monte Carlo) from a TOML file with
//! `[dots]` and `[dots_run]` sections. `spinpath run` dispatches here when the file has `[dots]`.

use anyhow::Context;
use spinpath::master::protocol::{self, StateSweep};
use spinpath::master::spec::{self, SolverKind};
use spinpath::master::{DotSolver, MonteCarlo, SteadyState, Transient};
use std::path::{Path, PathBuf};

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
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))?;
    run_dots(&args.config, &text, args.output.as_deref(), args.force)
}

/// Run a dots configuration: sweep every magnetic state with the chosen solver, then write
/// `iv.csv`, `dots.csv`, `occupations.csv` (up to 256 states), `didv.svg`, `summary.json` (and `kmc_trace.csv` when
/// `[dots_run.monte_carlo]` is present) into the output folder, and print a short summary.
pub fn run_dots(
    config_path: &Path,
    toml_text: &str,
    output_dir: Option<&Path>,
    force: bool,
) -> anyhow::Result<()> {
    let file = config_path.display().to_string();
    let (model, run) = spec::load(&file, toml_text)?;
    let run = run.ok_or_else(|| {
        anyhow::anyhow!("{file}: no [dots_run] section: nothing to run (see docs/dots.md)")
    })?;
    let out: PathBuf = match (output_dir, &run.output) {
        (Some(o), _) => o.to_path_buf(),
        (None, Some(o)) => PathBuf::from(o),
        (None, None) => PathBuf::from("out").join(config_path.file_stem().unwrap_or_default()),
    };
    let fp = spinpath::outdir::Fingerprint::new("dots", &file, toml_text, Some(run.seed));
    let Some(dir) = crate::integrity::open(&out, &fp, crate::integrity::mode(force, false))? else {
        return Ok(());
    };
    let target = out;
    let out = dir.path().to_path_buf();
    let points = protocol::sweep_points(&run.sweep_mv, run.step_mv);
    let mut sweeps = Vec::new();
    let mut solver_name = "";
    let pb = crate::run::progress(run.states.len() as u64, "dots sweep (states)");
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    for &magnet in &run.states {
        let mut solver: Box<dyn DotSolver> = match run.solver {
            SolverKind::Steady => Box::new(SteadyState::default()),
            SolverKind::Transient => Box::new(Transient::default()),
            SolverKind::MonteCarlo => {
                Box::new(MonteCarlo::new(run.seed, run.integration_s, run.max_events))
            }
        };
        solver_name = solver.name();
        let results = protocol::run_sweep(&model, magnet, &points, run.dwell_s, solver.as_mut())?;
        sweeps.push(StateSweep::new(
            &model,
            magnet,
            points.clone(),
            results,
            run.gating_dot,
        ));
        pb.inc(1);
    }
    pb.finish_and_clear();
    let summary = protocol::summarize(
        &sweeps,
        run.peak_threshold,
        solver_name,
        run.seed,
        run.dwell_s,
    );
    protocol::iv_table(&sweeps)?.write_csv(&out.join("iv.csv"))?;
    protocol::detail_table(&model, &sweeps)?.write_csv(&out.join("dots.csv"))?;
    if let Some(t) = protocol::occupation_table(&model, &sweeps)? {
        t.write_csv(&out.join("occupations.csv"))?;
    }
    protocol::figure(&sweeps).write_svg(&out.join("didv.svg"))?;
    let mut json = serde_json::to_value(&summary)?;
    json["config"] = serde_json::Value::String(file.clone());
    json["n_states"] = serde_json::json!(model.n_states());
    if let Some(mc) = &run.monte_carlo {
        let series = protocol::monte_carlo_series(&model, run.seed, run.max_events, mc)?;
        series.trace.write_csv(&out.join("kmc_trace.csv"))?;
        if let Some(h) = &series.history {
            h.write_csv(&out.join("kmc_history.csv"))?;
        }
        json["monte_carlo"] = series.summary;
    }
    spinpath::io::write_atomic(
        &out.join("summary.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    dir.commit()?;
    print_summary(&summary, &target);
    Ok(())
}

fn fmt(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |x| format!("{x:.1} mV"))
}

fn print_summary(s: &protocol::Summary, out: &Path) {
    println!(
        "dots run ({} solver, dwell {} s, seed {}) -> {}",
        s.solver,
        s.dwell_s,
        s.seed,
        out.display()
    );
    for g in &s.gaps {
        println!(
            "  {:>2} {:<3}: gap edges {} / {}, Coulomb gap {}",
            g.state,
            g.branch,
            fmt(g.negative_mv),
            fmt(g.positive_mv),
            fmt(g.coulomb_gap_mv)
        );
    }
    for w in &s.writing_shift_mv {
        if w.shift_mv.is_some() {
            println!("  {:>2} writing shift OFF-ON: {}", w.state, fmt(w.shift_mv));
        }
    }
    let ev: Vec<String> = s
        .writing_events
        .iter()
        .map(|e| {
            format!(
                "{} {} {} at {:.0} mV ({})",
                e.state, e.label, e.change, e.bias_mv, e.direction
            )
        })
        .collect();
    if !ev.is_empty() {
        println!("  writing events: {}", ev.join("; "));
    }
    for x in &s.p_ap_shift_mv {
        println!(
            "  AP-P peak shift on {}: negative edge {}, positive edge {}",
            x.branch,
            fmt(x.negative_edge_mv),
            fmt(x.positive_edge_mv)
        );
    }
}
