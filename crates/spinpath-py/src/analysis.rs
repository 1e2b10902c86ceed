//! The analyses of measured (or simulated) data: file readers, dI/dV, TMR, power, peaks, shift,
//! current statistics, jumps and I(H) loops. Inputs are float64 arrays in mV, nA, Oe, s.

use crate::{array, bad, detached, json_py, py_err, table_dict, vec_of};
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::json;
use spinpath::analysis::derivative::{self, Method};
use spinpath::analysis::read::{AxisSpec, ColumnSel, DataFile, Quantity, Unit};
use spinpath::analysis::{jumps, peaks, power, shift, stats, tmr, Trace};
use spinpath::table::Table;

type Arr<'py> = PyReadonlyArray1<'py, f64>;

fn trace(x: &Arr<'_>, y: &Arr<'_>) -> PyResult<Trace> {
    Trace::new(vec_of(x), vec_of(y)).map_err(py_err)
}

fn column_sel(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Option<ColumnSel>> {
    let Some(o) = obj else { return Ok(None) };
    if o.is_none() {
        return Ok(None);
    }
    if let Ok(i) = o.extract::<usize>() {
        return Ok(Some(ColumnSel::Index(i)));
    }
    let s: String = o.extract().map_err(|_| {
        bad(format!(
            "{what}: a column name (str) or a 0-based index (int)"
        ))
    })?;
    s.parse::<ColumnSel>()
        .map(Some)
        .map_err(|e| bad(format!("{what}: {e}")))
}

fn unit(s: Option<&str>) -> PyResult<Option<Unit>> {
    s.map(|u| u.parse::<Unit>().map_err(bad)).transpose()
}

fn quantity(q: &str) -> PyResult<Quantity> {
    Ok(match q {
        "voltage" | "bias" => Quantity::Voltage,
        "current" => Quantity::Current,
        "field" => Quantity::Field,
        "time" => Quantity::Time,
        _ => {
            return Err(bad(format!(
                "quantity `{q}`: one of voltage, current, field, time"
            )))
        }
    })
}

fn json_of<'py>(py: Python<'py>, v: serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    json_py(py, &v)
}

fn tab<'py>(py: Python<'py>, t: spinpath::Result<Table>) -> PyResult<Bound<'py, PyDict>> {
    table_dict(py, &t.map_err(py_err)?)
}

fn method(name: &str, window: usize, order: usize) -> PyResult<Method> {
    let m = match name {
        "sg" | "savitzky-golay" => Method::SavitzkyGolay { window, order },
        "fd" | "finite-difference" => Method::FiniteDifference,
        _ => {
            return Err(bad(format!(
                "method `{name}`: `sg` (Savitzky-Golay) or `fd`"
            )))
        }
    };
    m.validate().map_err(py_err)?;
    Ok(m)
}

/// Read a trace as `read_trace` and `read_report` do (column selections and units from Python).
fn load(
    path: &std::path::Path,
    x_quantity: &str,
    x: Option<&Bound<'_, PyAny>>,
    y: Option<&Bound<'_, PyAny>>,
    x_unit: Option<&str>,
    y_unit: Option<&str>,
    y_quantity: &str,
) -> PyResult<spinpath::analysis::read::Loaded> {
    let xs = AxisSpec {
        column: column_sel(x, "x")?,
        unit: unit(x_unit)?,
    };
    let ys = AxisSpec {
        column: column_sel(y, "y")?,
        unit: unit(y_unit)?,
    };
    let (xq, yq) = (quantity(x_quantity)?, quantity(y_quantity)?);
    spinpath::analysis::read::read_trace(path, xq, &xs, yq, &ys).map_err(py_err)
}

/// Read an x and a y column of a data file, converted to mV/nA/Oe/s. Returns
/// `(x, y, x_note, y_note, comments)`.
#[pyfunction]
#[pyo3(signature = (path, x_quantity = "voltage", x = None, y = None, x_unit = None, y_unit = None, y_quantity = "current", min_rows = 2))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn read_trace<'py>(
    py: Python<'py>,
    path: std::path::PathBuf,
    x_quantity: &str,
    x: Option<&Bound<'py, PyAny>>,
    y: Option<&Bound<'py, PyAny>>,
    x_unit: Option<&str>,
    y_unit: Option<&str>,
    y_quantity: &str,
    min_rows: usize,
) -> PyResult<(
    Bound<'py, numpy::PyArray1<f64>>,
    Bound<'py, numpy::PyArray1<f64>>,
    String,
    String,
    Vec<String>,
)> {
    let l = load(&path, x_quantity, x, y, x_unit, y_unit, y_quantity)?;
    if l.trace.len() < min_rows {
        return Err(bad(format!(
            "{}: only {} data row(s); need at least {min_rows}",
            path.display(),
            l.trace.len()
        )));
    }
    Ok((
        array(py, l.trace.x),
        array(py, l.trace.y),
        l.x_note,
        l.y_note,
        l.comments,
    ))
}

/// What the reader decided for a file (encoding, layout, header line, columns with their units and
/// where the units were found, rows used and dropped, warnings): the `read` entry of
/// `summary.json`, as a dict. Arguments as for `read_trace`.
#[pyfunction]
#[pyo3(signature = (path, x_quantity = "voltage", x = None, y = None, x_unit = None, y_unit = None, y_quantity = "current"))]
#[allow(clippy::too_many_arguments)]
fn read_report<'py>(
    py: Python<'py>,
    path: std::path::PathBuf,
    x_quantity: &str,
    x: Option<&Bound<'py, PyAny>>,
    y: Option<&Bound<'py, PyAny>>,
    x_unit: Option<&str>,
    y_unit: Option<&str>,
    y_quantity: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let l = load(&path, x_quantity, x, y, x_unit, y_unit, y_quantity)?;
    json_of(py, l.report.to_json())
}

/// Read every column of a data file as it is written (no unit conversion; NaN where a cell is
/// empty). Returns `(names, columns, comments)`.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn read_columns<'py>(
    py: Python<'py>,
    path: std::path::PathBuf,
) -> PyResult<(Vec<String>, Bound<'py, PyList>, Vec<String>)> {
    let df = DataFile::read(&path).map_err(py_err)?;
    let cols = PyList::empty(py);
    for i in 0..df.names.len() {
        cols.append(array(py, df.raw_values(i).map_err(py_err)?))?;
    }
    Ok((df.names.clone(), cols, df.comments.clone()))
}

/// dI/dV per point and averaged over repeated sweeps. Returns `(points, averaged, summary)`.
#[pyfunction]
#[pyo3(signature = (bias_mV, current_nA, method_name = "sg", window = 7, order = 2, grid_step_mV = None))]
#[allow(non_snake_case)]
fn didv<'py>(
    py: Python<'py>,
    bias_mV: Arr<'py>,
    current_nA: Arr<'py>,
    method_name: &str,
    window: usize,
    order: usize,
    grid_step_mV: Option<f64>,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyDict>, Bound<'py, PyAny>)> {
    let m = method(method_name, window, order)?;
    let t = trace(&bias_mV, &current_nA)?;
    let (d, avg) =
        detached(py, None, || derivative::averaged_didv(&t, m, grid_step_mV))?.map_err(py_err)?;
    let summary = spinpath::analysis::outputs::DidvSummary {
        points: t.len(),
        didv: &d,
        averaged: &avg,
    }
    .summary();
    Ok((
        tab(py, d.table())?,
        tab(py, avg.table("bias_mV", "didv_nA_per_mV"))?,
        json_of(py, summary)?,
    ))
}

/// The averaged dI/dV on the grid points covered by data (what `peaks` and `shift` look at):
/// `(bias_mV, didv_nA_per_mV)`.
#[pyfunction]
#[pyo3(signature = (bias_mV, current_nA, method_name = "sg", window = 7, order = 2, grid_step_mV = None))]
#[allow(non_snake_case, clippy::type_complexity)]
fn didv_curve<'py>(
    py: Python<'py>,
    bias_mV: Arr<'py>,
    current_nA: Arr<'py>,
    method_name: &str,
    window: usize,
    order: usize,
    grid_step_mV: Option<f64>,
) -> PyResult<(
    Bound<'py, numpy::PyArray1<f64>>,
    Bound<'py, numpy::PyArray1<f64>>,
)> {
    let m = method(method_name, window, order)?;
    let t = trace(&bias_mV, &current_nA)?;
    let (_, avg) = derivative::averaged_didv(&t, m, grid_step_mV).map_err(py_err)?;
    let (x, y) = avg.covered();
    Ok((array(py, x), array(py, y)))
}

/// A curve averaged over repeated sweeps on a common grid (covered points only): `(x, y)`.
#[pyfunction]
#[pyo3(signature = (x, y, grid_step = None))]
#[allow(clippy::type_complexity)]
fn averaged_curve<'py>(
    py: Python<'py>,
    x: Arr<'py>,
    y: Arr<'py>,
    grid_step: Option<f64>,
) -> PyResult<(
    Bound<'py, numpy::PyArray1<f64>>,
    Bound<'py, numpy::PyArray1<f64>>,
)> {
    let t = trace(&x, &y)?;
    let avg = derivative::averaged_current(&t, grid_step).map_err(py_err)?;
    let (x, y) = avg.covered();
    Ok((array(py, x), array(py, y)))
}

/// TMR(V) = I_P/I_AP − 1 from a P and an AP sweep. Returns `(table, summary)`.
#[pyfunction]
#[pyo3(signature = (p_bias_mV, p_current_nA, ap_bias_mV, ap_current_nA, grid_step_mV = None, min_ap_current_nA = None))]
#[allow(non_snake_case)]
fn tmr_curve<'py>(
    py: Python<'py>,
    p_bias_mV: Arr<'py>,
    p_current_nA: Arr<'py>,
    ap_bias_mV: Arr<'py>,
    ap_current_nA: Arr<'py>,
    grid_step_mV: Option<f64>,
    min_ap_current_nA: Option<f64>,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyAny>)> {
    let p = trace(&p_bias_mV, &p_current_nA)?;
    let ap = trace(&ap_bias_mV, &ap_current_nA)?;
    let c = tmr::tmr_from_iv(
        &p,
        &ap,
        tmr::TmrOptions {
            step: grid_step_mV,
            min_ap_current: min_ap_current_nA,
        },
    )
    .map_err(py_err)?;
    let summary = c.summary();
    Ok((tab(py, c.table())?, json_of(py, summary)?))
}

/// Output power −I·V, open-circuit voltages and short-circuit currents per sweep segment.
/// Returns `(table, summary)`.
#[pyfunction]
#[allow(non_snake_case)]
fn power_curve<'py>(
    py: Python<'py>,
    bias_mV: Arr<'py>,
    current_nA: Arr<'py>,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyAny>)> {
    let r = power::power(&trace(&bias_mV, &current_nA)?).map_err(py_err)?;
    let summary = r.summary_json();
    Ok((table_dict(py, &r.table)?, json_of(py, summary)?))
}

/// Peaks (or dips) of several curves and their common peak-pair spacing. `curves` is a list of
/// `(name, x, y)`. Returns `(peaks, pairs, summary)`; pairs is None without a common spacing.
#[pyfunction]
#[pyo3(signature = (curves, min_prominence = None, dips = false, half_level = "prominence", spacing_tol = None, x_unit = "mV", y_unit = "nA_per_mV", didv_method = None, window = 7, order = 2))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn find_peaks<'py>(
    py: Python<'py>,
    curves: Vec<(String, Arr<'py>, Arr<'py>)>,
    min_prominence: Option<f64>,
    dips: bool,
    half_level: &str,
    spacing_tol: Option<f64>,
    x_unit: &str,
    y_unit: &str,
    didv_method: Option<&str>,
    window: usize,
    order: usize,
) -> PyResult<(
    Bound<'py, PyDict>,
    Option<Bound<'py, PyDict>>,
    Bound<'py, PyAny>,
)> {
    // Curves that are dI/dV of this method get widths corrected for its smoothing.
    let deriv = didv_method.map(|m| method(m, window, order)).transpose()?;
    let opts = peaks::PeakOptions {
        min_prominence,
        half_level: match half_level {
            "prominence" => peaks::HalfLevel::Prominence,
            "zero" => peaks::HalfLevel::Zero,
            _ => {
                return Err(bad(format!(
                    "half_level `{half_level}`: `prominence` or `zero`"
                )))
            }
        },
        dips,
    };
    let mut sets = Vec::new();
    let mut steps = Vec::new();
    for (name, x, y) in &curves {
        let (x, y) = (vec_of(x), vec_of(y));
        steps.push(spinpath::analysis::median_step(&x));
        let mut ps = peaks::find_peaks(&x, &y, opts)
            .map_err(|e| bad(format!("{name}: {}", crate::message(&e))))?;
        if let Some(m) = deriv {
            peaks::correct_didv_widths(&mut ps, &x, m, opts.half_level);
        }
        sets.push((name.clone(), ps));
    }
    let names: Vec<String> = sets.iter().map(|s| s.0.clone()).collect();
    let tol = spacing_tol.unwrap_or_else(|| 3.0 * spinpath::analysis::median(&steps));
    let only: Vec<Vec<peaks::Peak>> = sets.iter().map(|s| s.1.clone()).collect();
    let common = peaks::common_spacing(&only, tol);
    let mut summary = json!({
        "datasets": sets.iter().map(|(n, ps)| json!({"dataset": n, "peaks": ps.len()})).collect::<Vec<_>>(),
        "spacing_tolerance": tol,
        "common_spacing": null, "common_spacing_sd": null, "datasets_with_pair": 0,
    });
    let pairs = match &common {
        Some(c) => {
            summary["common_spacing"] = json!(c.spacing);
            summary["common_spacing_sd"] = json!(c.spacing_sd);
            summary["datasets_with_pair"] = json!(c.pairs.len());
            Some(tab(py, c.table(&names, x_unit))?)
        }
        None => None,
    };
    Ok((
        tab(py, peaks::peaks_table(&sets, x_unit, y_unit))?,
        pairs,
        json_of(py, summary)?,
    ))
}

/// Rolling voltage shift δ of the AP curve onto the P curve (G_AP(V) ≈ G_P(V − δ)).
/// Returns `(table, weighted_mean_shift_mV)`.
#[pyfunction]
#[pyo3(signature = (p_bias_mV, p_signal, ap_bias_mV, ap_signal, window_mV = 40.0, step_mV = None, max_shift_mV = None))]
#[allow(non_snake_case, clippy::too_many_arguments)]
fn rolling_shift<'py>(
    py: Python<'py>,
    p_bias_mV: Arr<'py>,
    p_signal: Arr<'py>,
    ap_bias_mV: Arr<'py>,
    ap_signal: Arr<'py>,
    window_mV: f64,
    step_mV: Option<f64>,
    max_shift_mV: Option<f64>,
) -> PyResult<(Bound<'py, PyDict>, f64)> {
    let p = trace(&p_bias_mV, &p_signal)?;
    let ap = trace(&ap_bias_mV, &ap_signal)?;
    let fits = detached(py, None, || {
        shift::rolling_shift(
            &p,
            &ap,
            shift::ShiftOptions {
                window: window_mV,
                step: step_mV,
                max_shift: max_shift_mV,
                min_points: 5,
            },
        )
    })?
    .map_err(py_err)?;
    let mean = shift::weighted_mean_shift(&fits);
    Ok((tab(py, shift::shift_table(&fits))?, mean))
}

/// Current histograms per bias and ON/MID/OFF branches. Returns `(histogram, per_bias, branches)`.
#[pyfunction]
#[pyo3(signature = (bias_mV, current_nA, bin_nA = None, bias_tol_mV = 1e-6, min_occupation = 0.05))]
#[allow(non_snake_case)]
fn current_stats<'py>(
    py: Python<'py>,
    bias_mV: Arr<'py>,
    current_nA: Arr<'py>,
    bin_nA: Option<f64>,
    bias_tol_mV: f64,
    min_occupation: f64,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyDict>, Bound<'py, PyDict>)> {
    let t = trace(&bias_mV, &current_nA)?;
    let (bin, _, _) = stats::choose_bin(bin_nA, &t.x, &t.y, bias_tol_mV).map_err(py_err)?;
    let r = stats::current_statistics(
        &t.x,
        &t.y,
        stats::StatsOptions {
            bin,
            min_occupation,
            bias_tolerance: bias_tol_mV,
        },
    )
    .map_err(py_err)?;
    Ok((
        table_dict(py, &r.histogram)?,
        table_dict(py, &r.summary)?,
        tab(py, r.branch_table())?,
    ))
}

/// Current jumps, their sign sequence per write/read cycle and the success table.
/// Returns `(jumps, cycles, success, success_rate, noise_sigma_nA, sequence)`.
#[pyfunction]
#[pyo3(signature = (x, current_nA, threshold = 6.0, cycle = None, expect = None, x_name = "x"))]
#[allow(non_snake_case, clippy::type_complexity)]
fn detect_jumps<'py>(
    py: Python<'py>,
    x: Arr<'py>,
    current_nA: Arr<'py>,
    threshold: f64,
    cycle: Option<Vec<i64>>,
    expect: Option<&str>,
    x_name: &str,
) -> PyResult<(
    Bound<'py, PyDict>,
    Bound<'py, PyDict>,
    Bound<'py, PyDict>,
    f64,
    f64,
    String,
)> {
    let t = trace(&x, &current_nA)?;
    let j = jumps::detect_jumps(
        &t.x,
        &t.y,
        jumps::JumpOptions {
            threshold,
            ..Default::default()
        },
    )
    .map_err(py_err)?;
    let cycle = cycle.unwrap_or_else(|| vec![0; t.len()]);
    if cycle.len() != t.len() {
        return Err(bad(format!(
            "cycle has {} entries for {} samples",
            cycle.len(),
            t.len()
        )));
    }
    let seqs = jumps::cycle_sequences(&j.jumps, &cycle);
    let mut ct = Table::new();
    ct.push_f64("cycle", seqs.iter().map(|c| c.0 as f64).collect())
        .map_err(py_err)?;
    ct.push_str("sequence", seqs.iter().map(|c| c.1.clone()).collect())
        .map_err(py_err)?;
    let (success, rate) = jumps::success_table(&seqs, expect).map_err(py_err)?;
    Ok((
        tab(py, j.table(x_name))?,
        table_dict(py, &ct)?,
        table_dict(py, &success)?,
        rate,
        j.noise_sigma,
        j.sequence(),
    ))
}

/// An I(H) loop: P and AP current levels, TMR and switching fields. Returns
/// `(points, switches, summary)`.
#[pyfunction]
#[pyo3(signature = (field_Oe, current_nA, p_level = "auto"))]
#[allow(non_snake_case)]
fn ih_loop<'py>(
    py: Python<'py>,
    field_Oe: Arr<'py>,
    current_nA: Arr<'py>,
    p_level: &str,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyDict>, Bound<'py, PyAny>)> {
    let t = trace(&field_Oe, &current_nA)?;
    let opts = tmr::IhOptions {
        p_level: match p_level {
            "auto" => tmr::PLevel::Auto,
            "high" => tmr::PLevel::High,
            "low" => tmr::PLevel::Low,
            _ => return Err(bad(format!("p_level `{p_level}`: auto, high or low"))),
        },
        ..Default::default()
    };
    let r = tmr::ih_loop(&t, opts).map_err(py_err)?;
    let summary = json!({
        "current_P_nA": r.i_p.0, "stderr_current_P_nA": r.i_p.1, "points_P": r.n_p,
        "current_AP_nA": r.i_ap.0, "stderr_current_AP_nA": r.i_ap.1, "points_AP": r.n_ap,
        "tmr_percent": r.tmr_percent.0, "stderr_tmr_percent": r.tmr_percent.1,
        "threshold_nA": r.threshold,
    });
    Ok((
        tab(py, r.table(&t))?,
        tab(py, r.switch_table())?,
        json_of(py, summary)?,
    ))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_trace, m)?)?;
    m.add_function(wrap_pyfunction!(read_columns, m)?)?;
    m.add_function(wrap_pyfunction!(read_report, m)?)?;
    m.add_function(wrap_pyfunction!(didv, m)?)?;
    m.add_function(wrap_pyfunction!(didv_curve, m)?)?;
    m.add_function(wrap_pyfunction!(averaged_curve, m)?)?;
    m.add_function(wrap_pyfunction!(tmr_curve, m)?)?;
    m.add_function(wrap_pyfunction!(power_curve, m)?)?;
    m.add_function(wrap_pyfunction!(find_peaks, m)?)?;
    m.add_function(wrap_pyfunction!(rolling_shift, m)?)?;
    m.add_function(wrap_pyfunction!(current_stats, m)?)?;
    m.add_function(wrap_pyfunction!(detect_jumps, m)?)?;
    m.add_function(wrap_pyfunction!(ih_loop, m)?)?;
    Ok(())
}
