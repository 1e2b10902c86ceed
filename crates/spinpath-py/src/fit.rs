//! Fits of the spin-engine model to I(V) data, from a fit file (docs/fitting.md).

use crate::{array, bad, interruptible, py_err, table_dict, threads_arg, vec_of};
use numpy::{PyArray2, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use spinpath::config::fit::parse_fit;
use spinpath::fit::{report, Dataset};
use std::path::PathBuf;

/// Run the fit described by fit-file `text` (paths inside it are relative to `path`, which also
/// names it in messages). `data`, when given, replaces the file's datasets: a list of
/// `(state, bias_mV, current_nA, sigma_nA or None)`. Returns a dict (see `spinpath.fit`).
#[pyfunction]
///
/// Ctrl-C stops it within a fraction of a second (KeyboardInterrupt); `progress`, when given, is
/// called as `progress(done, total)` with starts done of all.
#[pyo3(signature = (text, path, data = None, threads = None, progress = None))]
#[allow(clippy::type_complexity)]
fn run_fit<'py>(
    py: Python<'py>,
    text: &str,
    path: PathBuf,
    data: Option<
        Vec<(
            String,
            PyReadonlyArray1<'py, f64>,
            PyReadonlyArray1<'py, f64>,
            Option<f64>,
        )>,
    >,
    threads: Option<i64>,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let threads = threads_arg(threads)?;
    let spec = parse_fit(&path, text).map_err(py_err)?;
    let datasets: Vec<Dataset> = match data {
        Some(list) => {
            if list.is_empty() && spec.features.is_empty() {
                return Err(bad(
                    "data: give at least one dataset (or [[feature]] targets)",
                ));
            }
            list.iter()
                .map(|(state, x, y, sigma)| {
                    let n = x.len()?;
                    if let Some(s) = sigma {
                        if !(s.is_finite() && *s > 0.0) {
                            return Err(bad(format!(
                                "dataset `{state}`: sigma_nA must be > 0, got {s}"
                            )));
                        }
                    }
                    Ok(Dataset {
                        name: state.clone(),
                        x: vec_of(x),
                        y: vec_of(y),
                        sigma: sigma.map(|s| vec![s; n]),
                    })
                })
                .collect::<PyResult<_>>()?
        }
        None => report::load_datasets(&spec).map_err(py_err)?,
    };
    let result = interruptible(py, threads, progress.as_ref(), |w| {
        w.set_total(spec.options.starts.max(1));
        report::run_fit_cancellable(&spec, &datasets, &|p| w.reached(p.starts_done), &w.cancel)
            .map_err(py_err)
    })?;

    let d = PyDict::new(py);
    d.set_item("names", &result.names)?;
    d.set_item("values", array(py, result.values.clone()))?;
    d.set_item(
        "stderr",
        array(
            py,
            result
                .stderr
                .iter()
                .map(|e| e.unwrap_or(f64::NAN))
                .collect(),
        ),
    )?;
    d.set_item("kind", &result.kind)?;
    d.set_item("free_names", &result.free_names)?;
    let corr = if result.correlation.is_empty() {
        PyArray2::<f64>::zeros(py, [0, 0], false)
    } else {
        PyArray2::from_vec2(py, &result.correlation).map_err(|e| bad(e.to_string()))?
    };
    d.set_item("correlation", corr)?;
    d.set_item("chi2", result.chi2)?;
    d.set_item("reduced_chi2", result.reduced_chi2)?;
    d.set_item("n_data", result.n_data)?;
    d.set_item("n_free", result.n_free)?;
    d.set_item("warnings", &result.warnings)?;
    d.set_item("success", result.success)?;
    d.set_item("message", &result.message)?;
    d.set_item("evaluations", result.evaluations)?;
    d.set_item("best_start", result.best_start)?;
    d.set_item("seed", spec.options.seed)?;
    d.set_item("starts", spec.options.starts)?;
    let curves = PyList::empty(py);
    for (k, ds) in datasets.iter().enumerate() {
        let c = PyDict::new(py);
        c.set_item("state", &ds.name)?;
        c.set_item("bias_mV", array(py, ds.x.clone()))?;
        c.set_item("current_nA", array(py, ds.y.clone()))?;
        c.set_item("model_nA", array(py, result.best_fit[k].clone()))?;
        c.set_item("residual_nA", array(py, result.residuals[k].clone()))?;
        curves.append(c)?;
    }
    d.set_item("curves", curves)?;
    d.set_item(
        "fit_table",
        table_dict(
            py,
            &report::curve_table(&datasets, &result).map_err(py_err)?,
        )?,
    )?;
    d.set_item(
        "parameter_table",
        table_dict(
            py,
            &report::parameter_table(&spec, &result).map_err(py_err)?,
        )?,
    )?;
    d.set_item(
        "feature_table",
        table_dict(
            py,
            &report::feature_table(&spec, &result, datasets.len()).map_err(py_err)?,
        )?,
    )?;
    d.set_item(
        "best_fit_toml",
        report::best_fit_config(&spec, &result).map_err(py_err)?,
    )?;
    Ok(d)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run_fit, m)?)?;
    Ok(())
}
