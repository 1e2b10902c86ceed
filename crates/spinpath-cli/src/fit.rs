//! `spinpath fit`: fit a model to measured files.

use crate::run::progress;
use spinpath::config::fit::parse_fit;
use spinpath::fit::report;
use spinpath::io::write_atomic;
use std::path::{Path, PathBuf};

/// Arguments of `spinpath fit`.
#[derive(clap::Args)]
pub struct FitArgs {
    /// The fit file (model, data, parameters); see docs/fitting.md.
    pub config: PathBuf,
    /// Output folder (default: the file's `output` key, else `out/<file stem>`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Replace the files of an existing output folder.
    #[arg(long)]
    pub force: bool,
}

/// Execute `spinpath fit`.
pub fn run(args: FitArgs) -> anyhow::Result<()> {
    let text = spinpath::io::read_to_string(&args.config)?;
    let spec = parse_fit(&args.config, &text)?;
    let data = report::load_datasets(&spec)?;
    let out = args.output.clone().unwrap_or_else(|| match &spec.output {
        Some(o) => PathBuf::from(o),
        None => Path::new("out").join(
            args.config
                .file_stem()
                .map_or_else(|| "fit".into(), |s| s.to_string_lossy().to_string()),
        ),
    });
    let fp = spinpath::outdir::Fingerprint::new(
        "fit",
        &args.config.display().to_string(),
        &text,
        Some(spec.options.seed),
    );
    let Some(dir) = crate::integrity::open(&out, &fp, crate::integrity::mode(args.force, false))?
    else {
        return Ok(());
    };
    let target = out;
    let out = dir.path().to_path_buf();

    let pb = progress(spec.options.starts as u64, "fitting (starts)");
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    let started = std::time::Instant::now();
    let result = report::run_fit_with_progress(&spec, &data, &|p| {
        pb.set_position(p.starts_done as u64);
        pb.set_message(format!(
            "fitting: start {}/{}, {}/{} evaluations, best χ² {:.4e}",
            (p.start + 1).min(p.starts),
            p.starts,
            p.evaluations,
            p.max_evaluations,
            p.best_chi2
        ));
    })?;
    pb.finish_and_clear();

    write_atomic(&out.join("fit.toml"), text.as_bytes())?;
    report::parameter_table(&spec, &result)?.write_csv(&out.join("parameters.csv"))?;
    report::curve_table(&data, &result)?.write_csv(&out.join("fit.csv"))?;
    report::correlation_table(&result)?.write_csv(&out.join("correlation.csv"))?;
    if !spec.features.is_empty() {
        report::feature_table(&spec, &result, data.len())?.write_csv(&out.join("features.csv"))?;
    }
    report::figure(&data, &result).write_svg(&out.join("fit.svg"))?;
    write_atomic(
        &out.join("best-fit.toml"),
        report::best_fit_config(&spec, &result)?.as_bytes(),
    )?;
    let mut summary = serde_json::to_value(&result)?;
    if let Some(m) = summary.as_object_mut() {
        m.remove("residuals");
        m.remove("best_fit");
        m.insert("seed".into(), spec.options.seed.into());
        m.insert("starts".into(), spec.options.starts.into());
        m.insert("spinpath_version".into(), env!("CARGO_PKG_VERSION").into());
    }
    write_atomic(
        &out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    dir.commit()?;

    println!(
        "fit of {} dataset(s) and {} feature(s), {} points, {} free parameters: χ² = {:.4}, reduced χ² = {:.4} ({})",
        data.len(),
        spec.features.len(),
        result.n_data,
        result.n_free,
        result.chi2,
        result.reduced_chi2,
        if result.success {
            "converged"
        } else {
            "NOT converged"
        }
    );
    for (k, name) in result.names.iter().enumerate() {
        let err = result.stderr[k].map_or_else(|| "—".into(), |e| format!("± {e:.4e}"));
        println!(
            "  {:<28} {:>14.6} {:<14} ({})",
            name, result.values[k], err, result.kind[k]
        );
    }
    if !spec.features.is_empty() {
        let t = report::feature_table(&spec, &result, data.len())?;
        let col = |n: &str| t.f64(n).map(<[f64]>::to_vec).unwrap_or_default();
        let (names, units) = (
            t.str("feature").unwrap_or(&[]),
            t.str("unit").unwrap_or(&[]),
        );
        let (target, sigma, model) = (col("target"), col("sigma"), col("model"));
        for k in 0..names.len() {
            println!(
                "  feature {:<34} target {:>10.4} ± {:<8.3} model {:>10.4} {}",
                names[k], target[k], sigma[k], model[k], units[k]
            );
        }
    }
    for w in &result.warnings {
        println!("  warning: {w}");
    }
    println!(
        "  wrote {} in {:.1} s ({} model evaluations, {} Jacobian)",
        target.display(),
        started.elapsed().as_secs_f64(),
        result.evaluations,
        result.jacobian
    );
    Ok(())
}
