//! `spinpath dots`: interacting dots (master equation, transient, Monte Carlo) from a TOML file with
//! `[dots]` and `[dots_run]` sections. `spinpath run` dispatches here when the file has `[dots]`.

use anyhow::Context;
use spinpath::master::protocol::{self, StateSweep};
use spinpath::master::spec::{self, SolverKind};
use spinpath::master::{kmc, DotSolver, MonteCarlo, RateSet, SteadyState, Transient};
use spinpath::table::Table;
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
    spinpath::io::prepare_output_dir(&out, force)?;
    let points = protocol::sweep_points(&run.sweep_mv, run.step_mv);
    let mut sweeps = Vec::new();
    let mut solver_name = "";
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
    }
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
        let mut t_bias = Vec::new();
        let mut t_time = Vec::new();
        let mut t_cur = Vec::new();
        let mut t_state = Vec::new();
        let (mut h_bias, mut h_time, mut h_state) = (Vec::new(), Vec::new(), Vec::new());
        let mut stats = Vec::new();
        let mut sim = kmc::Gillespie::new(run.seed, 0);
        sim.history_limit = mc.history_events;
        for &v in &mc.bias_mv {
            let rates = RateSet::build(&model, v, mc.magnet);
            let p = spinpath::master::steady::solve(&rates, &Default::default())?;
            let mut start = 0;
            for (s, &x) in p.iter().enumerate() {
                if x > p[start] {
                    start = s;
                }
            }
            sim.state = start as u32;
            let trace = sim.run(&rates, mc.duration_s, mc.integration_s, run.max_events)?;
            let r = trace.summarize(v, mc.integration_s);
            let me = spinpath::master::PointResult::from_probabilities(&rates, p);
            stats.push(serde_json::json!({
                "bias_mV": v, "mean_current_nA": r.current_na, "standard_error_nA": r.current_err_na,
                "noise_nA": r.current_noise_na, "fano": r.fano, "master_equation_current_nA": me.current_na,
                "events": trace.events,
            }));
            for (k, (&t, &c)) in trace.time_s.iter().zip(&trace.current_na).enumerate() {
                t_bias.push(v);
                t_time.push(t);
                t_cur.push(c);
                t_state.push(model.state_label(trace.state[k] as usize));
            }
            for &(t, s) in &trace.history {
                h_bias.push(v);
                h_time.push(t);
                h_state.push(model.state_label(s as usize));
            }
        }
        let mut t = Table::new();
        t.push_f64("bias_mV", t_bias)?;
        t.push_f64("time_s", t_time)?;
        t.push_f64("current_nA", t_cur)?;
        t.push_str("state", t_state)?;
        t.write_csv(&out.join("kmc_trace.csv"))?;
        if mc.history_events > 0 {
            let mut h = Table::new();
            h.push_f64("bias_mV", h_bias)?;
            h.push_f64("time_s", h_time)?;
            h.push_str("state", h_state)?;
            h.write_csv(&out.join("kmc_history.csv"))?;
        }
        json["monte_carlo"] = serde_json::json!({"state": mc.magnet.label(), "duration_s": mc.duration_s,
            "integration_time_s": mc.integration_s, "seed": run.seed, "history_events": mc.history_events,
            "biases": stats});
    }
    spinpath::io::write_atomic(
        &out.join("summary.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    print_summary(&summary, &out);
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
