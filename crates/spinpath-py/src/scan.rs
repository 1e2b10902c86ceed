//! Multi-parameter scans and device ensembles from Python: the plan of a scan and the evaluation of
//! any subset of its points (or of an ensemble's junctions), so that `spinpath.scan` and
//! `spinpath.ensemble` can spread the points over Dask workers and join the rows.
//!
//! Every function takes the run file's TOML text (and the name used in messages) rather than a
//! device object, so a Dask task carries plain strings to its worker.

use crate::{bad, detached, py_err, table_dict};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use spinpath::config::CoherentRun;
use spinpath::scan::{self, Axis, Sampling, ScanPlan};

/// The coherent device of a run file's text (`[spin_engine]` or `[chain]`).
fn coherent(text: &str, file: &str) -> PyResult<CoherentRun> {
    if spinpath::config::is_dots_file(text) {
        return Err(bad(format!(
            "{file}: scans explore coherent devices ([spin_engine] or [chain]); this is an \
             interacting-dot run file ([dots])"
        )));
    }
    spinpath::config::parse_coherent_run(file, text).map_err(py_err)
}

/// The plan of `axes` (`(name, from, to, n)`, units of the names): a grid for `method = "grid"`,
/// else `samples` random or Latin-hypercube (`"lhs"`) points drawn with `seed`.
fn plan(
    axes: Vec<(String, f64, f64, usize)>,
    method: &str,
    samples: Option<usize>,
    seed: u64,
) -> PyResult<ScanPlan> {
    let axes: Vec<Axis> = axes
        .into_iter()
        .map(|(name, from, to, n)| Axis { name, from, to, n })
        .collect();
    let sampling: Sampling = method.parse().map_err(|_| {
        bad(format!(
            "method `{method}`: allowed values are grid, random, lhs"
        ))
    })?;
    match (sampling, samples) {
        (Sampling::Grid, None) => ScanPlan::grid(axes).map_err(py_err),
        (Sampling::Grid, Some(_)) => Err(bad(
            "samples: a grid has the points of its axes; give method='lhs' or 'random' with samples",
        )),
        (_, None) => Err(bad(format!(
            "method `{method}` needs `samples` (the number of points to draw)"
        ))),
        (s, Some(n)) => ScanPlan::sampled(axes, s, n, seed).map_err(py_err),
    }
}

/// The parameter values of every point of a scan plan (rows in point order; units of the names),
/// after checking that each axis names a parameter of the device in `text`.
#[pyfunction]
#[pyo3(signature = (text, file, axes, method, samples = None, seed = 1))]
fn scan_plan(
    text: &str,
    file: &str,
    axes: Vec<(String, f64, f64, usize)>,
    method: &str,
    samples: Option<usize>,
    seed: u64,
) -> PyResult<Vec<Vec<f64>>> {
    let run = coherent(text, file)?;
    let p = plan(axes, method, samples, seed)?;
    scan::check_plan(&run, &p).map_err(py_err)?;
    Ok(p.points())
}

/// The rows of `scan.csv` for the points `indices` of the plan (all points when None): `point`,
/// the parameters, `state` and the figures of merit, as the command line's `spinpath scan`.
/// Runs in parallel without the GIL (on `threads` workers when given).
#[pyfunction]
#[pyo3(signature = (text, file, axes, method, samples = None, seed = 1, indices = None, threads = None))]
#[allow(clippy::too_many_arguments)]
fn scan_rows<'py>(
    py: Python<'py>,
    text: &str,
    file: &str,
    axes: Vec<(String, f64, f64, usize)>,
    method: &str,
    samples: Option<usize>,
    seed: u64,
    indices: Option<Vec<usize>>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let run = coherent(text, file)?;
    let p = plan(axes, method, samples, seed)?;
    scan::check_plan(&run, &p).map_err(py_err)?;
    let idx = indices.unwrap_or_else(|| (0..p.len()).collect());
    let t = detached(py, threads, || {
        scan::evaluate(&run, &p, &idx, &|| {}).and_then(|pts| scan::plan_table(&p, &pts))
    })?
    .map_err(py_err)?;
    table_dict(py, &t)
}

/// Register the scan functions.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(scan_plan, m)?)?;
    m.add_function(wrap_pyfunction!(scan_rows, m)?)?;
    m.add_function(wrap_pyfunction!(ensemble_rows, m)?)?;
    m.add_function(wrap_pyfunction!(ensemble_summary, m)?)?;
    Ok(())
}

/// The rows of `ensemble.csv` for the junctions `indices` of an ensemble of `samples` junctions
/// drawn with `seed` (an ensemble file's text: `[ensemble]` with a `[spin_engine]` and `[run]`),
/// as the command line's `spinpath ensemble`. Runs in parallel without the GIL.
#[pyfunction]
#[pyo3(signature = (text, file, samples, seed = 1, indices = None, threads = None))]
fn ensemble_rows<'py>(
    py: Python<'py>,
    text: &str,
    file: &str,
    samples: usize,
    seed: u64,
    indices: Option<Vec<usize>>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    use spinpath::ensemble;
    let f = ensemble::parse(file, text).map_err(py_err)?;
    let p = ensemble::plan(samples, seed).map_err(py_err)?;
    let idx = indices.unwrap_or_else(|| (0..p.len()).collect());
    if let Some(&bad_index) = idx.iter().find(|&&i| i >= samples) {
        return Err(bad(format!(
            "junction {bad_index} is outside the ensemble of {samples} junctions"
        )));
    }
    let t = detached(py, threads, || {
        ensemble::evaluate(&f, seed, &idx, &|| {}).and_then(|js| ensemble::table(&f, &js))
    })?
    .map_err(py_err)?;
    table_dict(py, &t)
}

/// The summary (`summary.json` of `spinpath ensemble`) of an ensemble table given as columns.
#[pyfunction]
#[pyo3(signature = (text, file, seed, columns))]
fn ensemble_summary<'py>(
    py: Python<'py>,
    text: &str,
    file: &str,
    seed: u64,
    columns: Vec<(String, Vec<f64>)>,
) -> PyResult<Bound<'py, PyAny>> {
    use spinpath::ensemble;
    let f = ensemble::parse(file, text).map_err(py_err)?;
    let mut t = spinpath::table::Table::new();
    for (name, v) in columns {
        t.push_f64(name, v).map_err(py_err)?;
    }
    let s = ensemble::summarize(&f, seed, &t).map_err(py_err)?;
    let v = serde_json::to_value(&s).map_err(|e| bad(e.to_string()))?;
    crate::json_py(py, &v)
}
