//! Python bindings of spinpath: the native module `spinpath._spinpath`.
//!
//! Everything here is a thin conversion layer over the `spinpath` library: Python objects in,
//! library calls (with the GIL released and rayon's threads doing the work), tables out as
//! dictionaries of numpy arrays whose keys carry their unit (`bias_mV`, `current_nA`). The public,
//! documented Python API lives in `python/spinpath/__init__.py`, which wraps these functions.
//!
//! Layout: one file per family of calls (`device.rs` for coherent-chain devices and their runs,
//! `dots.rs` for interacting-dot devices and the capacitance estimates, `protocol.rs` for the
//! measurement protocols on either engine, `analysis.rs` for the measured-data analyses, `fit.rs`
//! for fits). A new engine is one more file registering its functions in [`_spinpath`].

// Functions hand tuples of tables back to Python; naming each tuple type would add nothing.
#![allow(clippy::type_complexity)]

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use spinpath::table::{Column, Table};
use std::sync::atomic::{AtomicUsize, Ordering};

mod analysis;
mod device;
mod dots;
mod fit;
mod protocol;
mod scan;

pyo3::create_exception!(
    _spinpath,
    SpinpathError,
    pyo3::exceptions::PyValueError,
    "Bad input to spinpath (a run or fit file, a parameter, a data file, an array): the message is \
     the command line's, naming the file, line and key where known."
);

/// An error message as the command line prints it (after `error: `): the error, then each of its
/// sources, separated by `: `, skipping a source the text already spells out (an I/O error names
/// its path and reason once).
pub(crate) fn message(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let text = c.to_string();
        if !s.contains(text.trim_end()) {
            s.push_str(": ");
            s.push_str(&text);
        }
        src = c.source();
    }
    // The TOML parser's messages end in a newline, which the command line's output line absorbs.
    let trimmed = s.trim_end().len();
    s.truncate(trimmed);
    s
}

/// A library error as a Python `SpinpathError`.
pub(crate) fn py_err(e: spinpath::Error) -> PyErr {
    SpinpathError::new_err(message(&e))
}

/// A `SpinpathError` with a plain message.
pub(crate) fn bad(msg: impl Into<String>) -> PyErr {
    SpinpathError::new_err(msg.into())
}

/// The `threads` argument: None (rayon's global pool, one worker per core) or a whole number of
/// worker threads ≥ 1.
pub(crate) fn threads_arg(threads: Option<i64>) -> PyResult<Option<usize>> {
    match threads {
        None => Ok(None),
        Some(n) if (1..=4096).contains(&n) => Ok(Some(n as usize)),
        Some(n) => Err(bad(format!(
            "threads: the number of worker threads must be a whole number from 1 to 4096 (or None \
             for one per core), got {n}"
        ))),
    }
}

/// A dedicated pool of `n` rayon workers.
fn pool(n: usize) -> PyResult<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n.max(1))
        .build()
        .map_err(|e| bad(format!("setting up {n} worker threads: {e}")))
}

/// Run `f` without the GIL, on a dedicated pool of `threads` rayon workers when given (else on
/// rayon's global pool, sized to the machine's cores). For short calls; long ones use
/// [`interruptible`].
pub(crate) fn detached<T, F>(py: Python<'_>, threads: Option<usize>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    match threads {
        None => Ok(py.detach(f)),
        Some(n) => {
            let pool = pool(n)?;
            Ok(py.detach(|| pool.install(f)))
        }
    }
}

/// What a long computation shares with the thread that watches it: the cancel flag it checks at
/// every step, and its progress (steps done of `total`).
#[derive(Default)]
pub(crate) struct Watch {
    pub(crate) cancel: spinpath::cancel::Cancel,
    done: AtomicUsize,
    total: AtomicUsize,
}

impl Watch {
    /// One more step done.
    pub(crate) fn tick(&self) {
        self.done.fetch_add(1, Ordering::Relaxed);
    }

    /// At least `n` steps done.
    pub(crate) fn reached(&self, n: usize) {
        self.done.fetch_max(n, Ordering::Relaxed);
    }

    /// The number of steps of the whole computation.
    pub(crate) fn set_total(&self, n: usize) {
        self.total.store(n, Ordering::Relaxed);
    }

    fn progress(&self) -> (usize, usize) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }
}

/// How often the calling thread looks for Ctrl-C and reports progress.
const POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Run the long computation `f` on a worker thread (on a dedicated pool of `threads` rayon
/// workers when given) while the calling thread, without the GIL, waits for it and every 50 ms
/// briefly takes the GIL back to check for signals and call `progress(done, total)`.
///
/// Ctrl-C (or any signal handler that raises, or a `progress` callback that raises) sets the
/// computation's cancel flag; the workers stop at their next step and the Python exception is
/// raised here, within a fraction of a second.
pub(crate) fn interruptible<T, F>(
    py: Python<'_>,
    threads: Option<usize>,
    progress: Option<&Bound<'_, PyAny>>,
    f: F,
) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&Watch) -> PyResult<T> + Send,
{
    // Import numpy's C API now, on this thread and with the GIL: importing it for the first time
    // after a Ctrl-C (a pending KeyboardInterrupt) fails.
    numpy_api(py)?;
    let pool = threads.map(pool).transpose()?;
    let watch = Watch::default();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        let (w, pool) = (&watch, pool.as_ref());
        s.spawn(move || {
            let r = match pool {
                Some(p) => p.install(|| f(w)),
                None => f(w),
            };
            // The receiver is gone only when the caller stopped waiting (it cannot: it waits).
            let _ = tx.send(r);
        });
        let mut rx = rx;
        let mut shown: Option<(usize, usize)> = None;
        let stop = |rx: std::sync::mpsc::Receiver<PyResult<T>>, e: PyErr| {
            watch.cancel.cancel();
            // Wait for the workers to notice (at their next step) so that none outlives the call.
            py.detach(move || drop(rx.recv()));
            Err(e)
        };
        loop {
            let (back, got) = py.detach(move || {
                let r = rx.recv_timeout(POLL);
                (rx, r)
            });
            rx = back;
            let report = |shown: &mut Option<(usize, usize)>| -> PyResult<()> {
                if let Some(cb) = progress {
                    let now = watch.progress();
                    if *shown != Some(now) && now.1 > 0 {
                        *shown = Some(now);
                        cb.call1(now)?;
                    }
                }
                Ok(())
            };
            match got {
                Ok(r) => {
                    if r.is_ok() {
                        report(&mut shown)?;
                    }
                    return r;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if let Err(e) = py.check_signals().and_then(|_| report(&mut shown)) {
                        return stop(rx, e);
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(bad(
                        "the computation's worker thread ended without a result",
                    ));
                }
            }
        }
    })
}

/// Make sure numpy's C API is imported (a no-op after the first call).
pub(crate) fn numpy_api(py: Python<'_>) -> PyResult<()> {
    // numpy itself first, so that a missing numpy is an ImportError rather than a panic.
    py.import("numpy")?;
    let _ = PyArray1::<f64>::zeros(py, 0, false);
    Ok(())
}

/// A numeric vector as a 1-D float64 numpy array.
pub(crate) fn array<'py>(py: Python<'py>, v: Vec<f64>) -> Bound<'py, PyArray1<f64>> {
    PyArray1::from_vec(py, v)
}

/// A float64 numpy array (any layout) as a vector.
pub(crate) fn vec_of(a: &PyReadonlyArray1<'_, f64>) -> Vec<f64> {
    match a.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => a.as_array().to_vec(),
    }
}

/// Columns that count things (points, samples, cycles, ...): int64 in Python when every value is
/// a whole number (float64 with NaN otherwise). Names starting with `n_` count too.
const COUNT_COLUMNS: [&str; 10] = [
    "count",
    "cycle",
    "index",
    "jumps",
    "point",
    "repeat",
    "sample",
    "segment",
    "successes",
    "sweeps",
];

/// Yes/no columns, written `true`/`false` in the CSV files: numpy bool in Python. Any other text
/// column whose every cell is `true` or `false` is one too.
const BOOL_COLUMNS: [&str; 6] = [
    "ap_near_zero",
    "at_bound",
    "clipped",
    "generating",
    "opposite_signs",
    "success",
];

/// Whether a column of this name counts things.
fn is_count(name: &str) -> bool {
    COUNT_COLUMNS.contains(&name) || name.starts_with("n_")
}

/// A table as a dict of columns, typed: counts as int64 arrays (see [`COUNT_COLUMNS`]), yes/no
/// columns as bool arrays (see [`BOOL_COLUMNS`]), other numbers as float64 arrays (NaN where
/// undefined), text as lists of str. Column order is the table's (and the CSV's).
pub(crate) fn table_dict<'py>(py: Python<'py>, t: &Table) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (name, col) in t.iter() {
        match col {
            Column::F64(v)
                if is_count(name)
                    && v.iter()
                        .all(|x| x.is_finite() && x.fract() == 0.0 && x.abs() < 9e15) =>
            {
                let ints: Vec<i64> = v.iter().map(|&x| x as i64).collect();
                d.set_item(name, PyArray1::from_vec(py, ints))?
            }
            Column::F64(v) => d.set_item(name, array(py, v.clone()))?,
            Column::Str(v)
                if v.iter().all(|x| x == "true" || x == "false")
                    && (!v.is_empty() || BOOL_COLUMNS.contains(&name)) =>
            {
                let flags: Vec<bool> = v.iter().map(|x| x == "true").collect();
                d.set_item(name, PyArray1::from_vec(py, flags))?
            }
            Column::Str(v) => d.set_item(name, PyList::new(py, v)?)?,
        }
    }
    Ok(d)
}

/// A JSON value as plain Python objects (dict, list, float, int, str, bool, None).
pub(crate) fn json_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                PyInt::new(py, i).into_any()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| json_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, json_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

/// A Python value (dict, list, tuple, numpy array, bool, int, float, str) as a TOML value; `key`
/// is its dotted path, for messages.
pub(crate) fn toml_value(obj: &Bound<'_, PyAny>, key: &str) -> PyResult<toml::Value> {
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut t = toml::Table::new();
        for (k, v) in d.iter() {
            let k: String = k
                .extract()
                .map_err(|_| bad(format!("key `{key}`: dictionary keys must be str")))?;
            let path = if key.is_empty() {
                k.clone()
            } else {
                format!("{key}.{k}")
            };
            if v.is_none() {
                continue; // None means "not given": the default applies.
            }
            t.insert(k, toml_value(&v, &path)?);
        }
        return Ok(toml::Value::Table(t));
    }
    if obj.is_instance_of::<PyBool>() {
        return Ok(toml::Value::Boolean(obj.extract()?));
    }
    if obj.is_instance_of::<PyInt>() {
        return Ok(toml::Value::Integer(
            obj.extract()
                .map_err(|_| bad(format!("key `{key}`: integer out of range")))?,
        ));
    }
    if obj.is_instance_of::<PyFloat>() {
        return Ok(toml::Value::Float(obj.extract()?));
    }
    if obj.is_instance_of::<PyString>() {
        return Ok(toml::Value::String(obj.extract()?));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut a = Vec::new();
        for (i, x) in obj.try_iter()?.enumerate() {
            a.push(toml_value(&x?, &format!("{key}[{i}]"))?);
        }
        return Ok(toml::Value::Array(a));
    }
    // numpy arrays and scalars, and anything else with a `tolist` (or `item`) method.
    if obj.hasattr("tolist")? {
        let plain = obj.call_method0("tolist")?;
        if !plain.is(obj) {
            return toml_value(&plain, key);
        }
    }
    Err(bad(format!(
        "key `{key}`: cannot be written as TOML (type {}); use dict, list, bool, int, float or str",
        obj.get_type().name()?
    )))
}

/// A Python dict as TOML text.
pub(crate) fn dict_to_toml(d: &Bound<'_, PyDict>) -> PyResult<String> {
    match toml_value(d.as_any(), "")? {
        toml::Value::Table(t) => toml::to_string(&t).map_err(|e| bad(format!("dict to TOML: {e}"))),
        _ => Err(bad("expected a dict")),
    }
}

/// Convert a dict (same schema as a TOML file) to TOML text.
#[pyfunction]
fn to_toml(d: &Bound<'_, PyDict>) -> PyResult<String> {
    dict_to_toml(d)
}

/// A text file's content; errors are the command line's (`PATH: reason`).
#[pyfunction]
fn read_text(path: std::path::PathBuf) -> PyResult<String> {
    spinpath::io::read_to_string(&path).map_err(py_err)
}

/// The spinpath library version.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The native module.
#[pymodule]
fn _spinpath(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // numpy's C API, imported while the module is (on the importing thread, with the GIL).
    numpy_api(m.py())?;
    m.add("SpinpathError", m.py().get_type::<SpinpathError>())?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(to_toml, m)?)?;
    m.add_function(wrap_pyfunction!(read_text, m)?)?;
    device::register(m)?;
    analysis::register(m)?;
    fit::register(m)?;
    dots::register(m)?;
    protocol::register(m)?;
    scan::register(m)?;
    Ok(())
}
