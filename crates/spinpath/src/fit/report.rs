//! Running a fit file end to end: load the data with the analysis readers, fit the spin-engine
//! model, and build the result tables, the figure and the best-fit run file.

use super::chain::ChainModel;
use super::dots::DotsModel;
use super::models::SpinEngineModel;
use super::{Dataset, FitResult};
use crate::analysis::read::{read_trace, DataFile, Quantity};
use crate::config::fit::{FitEngine, FitSpec};
use crate::error::{Error, Result};
use crate::plot::{Figure, Panel, Series};
use crate::table::Table;

/// Read every dataset of a fit file (bias in mV, current in nA), keeping the points inside each
/// dataset's bias window.
pub fn load_datasets(spec: &FitSpec) -> Result<Vec<Dataset>> {
    spec.data
        .iter()
        .map(|d| {
            let (x, y, sigma) = match &d.sigma {
                None => {
                    let loaded =
                        read_trace(&d.path, Quantity::Voltage, &d.x, Quantity::Current, &d.y)?;
                    let n = loaded.trace.x.len();
                    (
                        loaded.trace.x,
                        loaded.trace.y,
                        d.sigma_na.map(|s| vec![s; n]),
                    )
                }
                Some(sig) => {
                    // Three columns: bias, current and its uncertainty, row by row.
                    let df = DataFile::read(&d.path)?;
                    let xi = df.resolve(d.x.column.as_ref(), Quantity::Voltage, &[])?;
                    let yi = df.resolve(
                        d.y.column.as_ref(),
                        Quantity::Current,
                        &xi.into_iter().collect::<Vec<_>>(),
                    )?;
                    let (Some(xi), Some(yi)) = (xi, yi) else {
                        return Err(Error::invalid(
                            format!("data file {}", d.path.display()),
                            "cannot find the bias and current columns; name them with x and y",
                        ));
                    };
                    let si = df
                        .resolve(sig.column.as_ref(), Quantity::Current, &[xi, yi])?
                        .ok_or_else(|| {
                            Error::invalid(
                                format!("data file {}", d.path.display()),
                                "cannot find the uncertainty column; name it with sigma",
                            )
                        })?;
                    let (xv, _) = df.values(xi, Quantity::Voltage, d.x.unit)?;
                    let (yv, _) = df.values(yi, Quantity::Current, d.y.unit)?;
                    let (sv, _) = df.values(si, Quantity::Current, sig.unit)?;
                    let keep: Vec<usize> = (0..xv.len())
                        .filter(|&k| xv[k].is_finite() && yv[k].is_finite() && sv[k].is_finite())
                        .collect();
                    if let Some(&k) = keep.iter().find(|&&k| sv[k] <= 0.0) {
                        return Err(Error::invalid(
                            format!("data file {}", d.path.display()),
                            format!(
                                "uncertainty of row {} is {} nA; it must be > 0",
                                k + 1,
                                sv[k]
                            ),
                        ));
                    }
                    (
                        keep.iter().map(|&k| xv[k]).collect(),
                        keep.iter().map(|&k| yv[k]).collect(),
                        Some(keep.iter().map(|&k| sv[k]).collect::<Vec<f64>>()),
                    )
                }
            };
            let inside: Vec<usize> = (0..x.len())
                .filter(|&k| x[k] >= d.window_mv.0 && x[k] <= d.window_mv.1)
                .collect();
            if inside.is_empty() {
                return Err(Error::invalid(
                    format!("data file {}", d.path.display()),
                    "no points inside the bias window",
                ));
            }
            Ok(Dataset {
                name: d.state.clone(),
                x: inside.iter().map(|&k| x[k]).collect(),
                y: inside.iter().map(|&k| y[k]).collect(),
                sigma: sigma.map(|s| inside.iter().map(|&k| s[k]).collect()),
            })
        })
        .collect()
}

/// Fit the model of `spec` to `data`; `progress` is told the number of starts done.
pub fn run_fit(
    spec: &FitSpec,
    data: &[Dataset],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<FitResult> {
    let done = std::sync::atomic::AtomicUsize::new(0);
    run_fit_with_progress(spec, data, &|p| {
        if done.swap(p.starts_done, std::sync::atomic::Ordering::Relaxed) != p.starts_done {
            progress(p.starts_done);
        }
    })
}

/// [`run_fit`] with the detailed progress of [`crate::fit::fit_with_progress`] (evaluations of the
/// current start and the best χ² so far).
pub fn run_fit_with_progress(
    spec: &FitSpec,
    data: &[Dataset],
    progress: &(dyn Fn(&crate::fit::FitProgress) + Sync),
) -> Result<FitResult> {
    run_fit_cancellable(spec, data, progress, &crate::cancel::Cancel::new())
}

/// [`run_fit_with_progress`] that stops with [`crate::Error::Cancelled`] at the next evaluation of
/// the residuals once `cancel` is set.
pub fn run_fit_cancellable(
    spec: &FitSpec,
    data: &[Dataset],
    progress: &(dyn Fn(&crate::fit::FitProgress) + Sync),
    cancel: &crate::cancel::Cancel,
) -> Result<FitResult> {
    use crate::fit::features::{feature_datasets, model_states, WithFeatures};
    use crate::fit::fit_cancellable;
    // The model is built for the curves' states, then any further state a feature needs; the
    // features follow the curves as one pseudo-dataset each.
    let curve_states: Vec<&str> = data.iter().map(|d| d.name.as_str()).collect();
    let states = model_states(&curve_states, &spec.features);
    let state_refs: Vec<&str> = states.iter().map(String::as_str).collect();
    let mut all = data.to_vec();
    all.extend(feature_datasets(&spec.features));
    // One call for every engine: the curves' model wrapped with the features.
    fn go<M: crate::fit::FitModel>(
        inner: &M,
        spec: &FitSpec,
        n_curves: usize,
        states: Vec<String>,
        all: &[Dataset],
        progress: &(dyn Fn(&crate::fit::FitProgress) + Sync),
        cancel: &crate::cancel::Cancel,
    ) -> Result<FitResult> {
        if spec.features.is_empty() {
            // Curves only: the model itself, so that its analytic Jacobian (if any) is used.
            return fit_cancellable(inner, &spec.params, all, &spec.options, progress, cancel);
        }
        let model = WithFeatures {
            inner,
            n_curves,
            states,
            features: &spec.features,
        };
        fit_cancellable(&model, &spec.params, all, &spec.options, progress, cancel)
    }
    let n = data.len();
    match &spec.engine {
        FitEngine::SpinEngine { spec: se, .. } => {
            let model = SpinEngineModel::new(*se, &spec.params, &state_refs, spec.integration)?;
            go(&model, spec, n, states, &all, progress, cancel)
        }
        FitEngine::Dots(m) => {
            let model = DotsModel::new((**m).clone(), &spec.params, &state_refs)?;
            go(&model, spec, n, states, &all, progress, cancel)
        }
        FitEngine::Chain(c) => {
            let model =
                ChainModel::new((**c).clone(), &spec.params, &state_refs, spec.integration)?;
            go(&model, spec, n, states, &all, progress, cancel)
        }
        FitEngine::Device {
            device, approach, ..
        } => {
            let model = crate::fit::device::DeviceModel::new(
                (**device).clone(),
                *approach,
                &spec.params,
                &state_refs,
            )?;
            go(&model, spec, n, states, &all, progress, cancel)
        }
    }
}

/// `features.csv`: one row per target number of each `[[feature]]` (target, σ, model value at
/// the best fit, and the residual in σ). `n_curves` is the number of measured curves (the
/// features' pseudo-datasets follow them in the result).
pub fn feature_table(spec: &FitSpec, r: &FitResult, n_curves: usize) -> Result<Table> {
    let mut t = Table::new();
    let (mut name, mut what, mut unit) = (Vec::new(), Vec::new(), Vec::new());
    let (mut target, mut sigma, mut model, mut pull) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (k, f) in spec.features.iter().enumerate() {
        for (j, (w, v, s, u)) in f.targets().into_iter().enumerate() {
            let m = r
                .best_fit
                .get(n_curves + k)
                .and_then(|b| b.get(j))
                .copied()
                .unwrap_or(f64::NAN);
            name.push(f.name());
            what.push(w.to_string());
            unit.push(u.to_string());
            target.push(v);
            sigma.push(s);
            model.push(m);
            pull.push((m - v) / s);
        }
    }
    t.push_str("feature", name)?;
    t.push_str("quantity", what)?;
    t.push_str("unit", unit)?;
    t.push_f64("target", target)?;
    t.push_f64("sigma", sigma)?;
    t.push_f64("model", model)?;
    t.push_f64("deviation_sigma", pull)?;
    Ok(t)
}

/// `parameters.csv`: one row per parameter.
pub fn parameter_table(spec: &FitSpec, r: &FitResult) -> Result<Table> {
    let mut t = Table::new();
    t.push_str("name", r.names.clone())?;
    t.push_str("kind", r.kind.clone())?;
    t.push_f64("value", r.values.clone())?;
    t.push_f64(
        "stderr",
        r.stderr.iter().map(|e| e.unwrap_or(f64::NAN)).collect(),
    )?;
    t.push_f64(
        "initial",
        spec.params.all().iter().map(|p| p.value).collect(),
    )?;
    t.push_f64(
        "min",
        spec.params
            .all()
            .iter()
            .map(|p| if p.min.is_finite() { p.min } else { f64::NAN })
            .collect(),
    )?;
    t.push_f64(
        "max",
        spec.params
            .all()
            .iter()
            .map(|p| if p.max.is_finite() { p.max } else { f64::NAN })
            .collect(),
    )?;
    Ok(t)
}

/// `fit.csv`: data, model and residual per point.
pub fn curve_table(data: &[Dataset], r: &FitResult) -> Result<Table> {
    let mut t = Table::new();
    let mut st = Vec::new();
    let (mut x, mut y, mut m, mut res) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (d, ds) in data.iter().enumerate() {
        for k in 0..ds.x.len() {
            st.push(ds.name.clone());
            x.push(ds.x[k]);
            y.push(ds.y[k]);
            m.push(r.best_fit[d][k]);
            res.push(r.residuals[d][k]);
        }
    }
    t.push_str("state", st)?;
    t.push_f64("bias_mV", x)?;
    t.push_f64("current_nA", y)?;
    t.push_f64("model_nA", m)?;
    t.push_f64("residual_nA", res)?;
    Ok(t)
}

/// `correlation.csv`: the correlation matrix of the free parameters (empty cells: not estimable).
pub fn correlation_table(r: &FitResult) -> Result<Table> {
    let mut t = Table::new();
    t.push_str("parameter", r.free_names.clone())?;
    for (j, name) in r.free_names.iter().enumerate() {
        t.push_f64(
            name.clone(),
            r.correlation.iter().map(|row| row[j]).collect(),
        )?;
    }
    Ok(t)
}

/// Data with the best fit overlaid, and the residuals.
pub fn figure(data: &[Dataset], r: &FitResult) -> Figure {
    let mut over = Panel {
        title: format!("fit: χ²_red = {:.3}", r.reduced_chi2),
        x_label: "bias (mV)".into(),
        y_label: "current (nA)".into(),
        zero_line: true,
        ..Panel::default()
    };
    let mut resid = Panel {
        title: "residuals (data − model)".into(),
        x_label: "bias (mV)".into(),
        y_label: "residual (nA)".into(),
        zero_line: true,
        ..Panel::default()
    };
    for (d, ds) in data.iter().enumerate() {
        let c = if ds.name == "AP" { 1 } else { 0 };
        over.series.push(
            Series::line(format!("{} data", ds.name), ds.x.clone(), ds.y.clone(), c)
                .faint()
                .markers(),
        );
        over.series.push(Series::line(
            format!("{} fit", ds.name),
            ds.x.clone(),
            r.best_fit[d].clone(),
            c,
        ));
        resid
            .series
            .push(Series::line(ds.name.clone(), ds.x.clone(), r.residuals[d].clone(), c).markers());
    }
    Figure::new(vec![over, resid], 1)
}

/// The model's run file with the best-fit values: runnable with `spinpath run`.
pub fn best_fit_config(spec: &FitSpec, r: &FitResult) -> Result<String> {
    let mut missed: Vec<String> = Vec::new();
    let mut doc: toml::Table = match &spec.engine {
        FitEngine::SpinEngine { spec: se, .. } => {
            let mut se = *se;
            for (name, v) in r.names.iter().zip(&r.values) {
                se.set(name, *v);
            }
            let mut doc: toml::Table = spec.model_text.parse().map_err(|e| {
                Error::invalid("model file", format!("{}: {e}", spec.model_path.display()))
            })?;
            doc.insert("spin_engine".into(), toml::Value::Table(se.to_toml()));
            doc
        }
        FitEngine::Chain(c) => {
            let mut c = (**c).clone();
            for (name, v) in r.names.iter().zip(&r.values) {
                c.set(name, *v);
            }
            let mut doc: toml::Table = spec.model_text.parse().map_err(|e| {
                Error::invalid("model file", format!("{}: {e}", spec.model_path.display()))
            })?;
            c.write_into(&mut doc);
            doc
        }
        FitEngine::Dots(m) => {
            let values: Vec<(String, f64)> = r
                .names
                .iter()
                .cloned()
                .zip(r.values.iter().copied())
                .collect();
            let (doc, not_placed) = crate::fit::dots::write_back(&spec.model_text, m, &values)?;
            missed = not_placed;
            doc
        }
        FitEngine::Device { device, model, .. } => {
            let values: Vec<(String, f64)> = r
                .names
                .iter()
                .cloned()
                .zip(r.values.iter().copied())
                .collect();
            let (doc, not_placed) =
                crate::fit::device::write_back(&spec.model_text, model, device, &values)?;
            missed = not_placed;
            doc
        }
    };
    if !matches!(spec.engine, FitEngine::Dots(_) | FitEngine::Device { .. }) {
        doc.remove("output");
        let title = doc
            .get("title")
            .and_then(|t| t.as_str())
            .unwrap_or("spin engine")
            .to_string();
        doc.insert(
            "title".into(),
            toml::Value::String(format!("{title} (best fit)")),
        );
    } else if let Some(run) = doc.get_mut("dots_run").and_then(|r| r.as_table_mut()) {
        run.remove("output");
    }
    let body =
        toml::to_string(&doc).map_err(|e| Error::invalid("best-fit config", e.to_string()))?;
    let note: String = missed
        .iter()
        .map(|n| format!("# NOTE: `{n}` = {} could not be written into this file's layout; set it by hand.\n", r.value(n).unwrap_or(f64::NAN)))
        .collect();
    Ok(format!(
        "# Best-fit model written by `spinpath fit` (χ² = {:.6}, reduced χ² = {:.6}; {} Jacobian, {} model evaluations).\n# Run it with: spinpath run <this file>\n{note}\n{body}",
        r.chi2, r.reduced_chi2, r.jacobian, r.evaluations
    ))
}
