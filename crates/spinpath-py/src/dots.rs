//! Interacting-dot devices (`[dots]` run files): bias sweeps with the steady-state, transient or
//! Monte Carlo solver, the way `spinpath run` / `spinpath dots` runs them; and the capacitance
//! estimates of `spinpath capacitance`.

use crate::{bad, interruptible, json_py, py_err, table_dict, threads_arg, toml_value};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;
use spinpath::capacitance as cap;
use spinpath::device::Device;
use spinpath::master::protocol as mp;
use spinpath::master::spec::{self, RunSettings};
use spinpath::master::DotModel;
use spinpath::run::DotsJob;
use spinpath::table::Table;

/// A validated interacting-dot model with its `[dots_run]` settings (if the file has them), as
/// read from a `[dots]` run file (docs/dots.md).
#[pyclass(module = "spinpath._spinpath", frozen)]
pub struct Dots {
    model: DotModel,
    /// The device (with any hopping and exchange: many-body files are solved in the eigenbasis).
    device: Device,
    run: Option<RunSettings>,
    text: String,
    file: String,
}

/// Parse a `[dots]` run file; `file` names it in messages.
pub(crate) fn parse(file: &str, text: &str) -> PyResult<Dots> {
    if !spinpath::config::is_dots_file(text) {
        return Err(bad(format!(
            "{file}: not an interacting-dot run file (no [dots] table); a coherent-chain run file \
             is a spinpath.Device"
        )));
    }
    let (device, model, run) = spec::load_device(file, text).map_err(py_err)?;
    Ok(Dots {
        model,
        device,
        run,
        text: text.to_string(),
        file: file.to_string(),
    })
}

/// The tables and summary of one dots sweep, as `spinpath dots` writes them.
struct SweepOut {
    iv: Table,
    details: Table,
    occupations: Option<Table>,
    trace: Option<Table>,
    history: Option<Table>,
    summary: Value,
}

/// Run the sweep through the library's wiring (in parallel over magnetic states) and pick its
/// tables.
fn run_dots(
    model: &DotModel,
    device: &Device,
    run: &RunSettings,
    file: &str,
    watch: &crate::Watch,
) -> spinpath::Result<SweepOut> {
    let job = DotsJob {
        model: model.clone(),
        settings: run.clone(),
    };
    watch.set_total(run.states.len());
    let mut out = spinpath::run::dots_output_cancellable(
        file,
        device,
        &job,
        &|| watch.tick(),
        &watch.cancel,
    )?;
    Ok(SweepOut {
        iv: out.take_table("iv.csv").unwrap_or_default(),
        details: out.take_table("dots.csv").unwrap_or_default(),
        occupations: out.take_table("occupations.csv"),
        trace: out.take_table("kmc_trace.csv"),
        history: out.take_table("kmc_history.csv"),
        summary: out.summary,
    })
}

impl Dots {
    /// The run settings with `[dots_run]` keys replaced by `overrides` (None removes a key), validated
    /// by the library's parser like a file's own keys.
    fn run_settings(&self, overrides: Option<&Bound<'_, PyDict>>) -> PyResult<RunSettings> {
        let overrides = overrides.filter(|d| !d.is_empty());
        let Some(over) = overrides else {
            return self.run.clone().ok_or_else(|| {
                bad(format!(
                    "{}: no [dots_run] section: nothing to run (see docs/dots.md); give the sweep's \
                     sweep_mV, step_mV and dwell_s",
                    self.file
                ))
            });
        };
        let mut doc: toml::Table = self
            .text
            .parse()
            .map_err(|e| bad(format!("{}: {e}", self.file)))?;
        let entry = doc
            .entry("dots_run")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(run) = entry else {
            return Err(bad(format!("{}: `dots_run` is not a table", self.file)));
        };
        for (k, v) in over.iter() {
            let k: String = k
                .extract()
                .map_err(|_| bad("sweep settings: keys must be str"))?;
            if v.is_none() {
                run.remove(&k);
            } else {
                let val = toml_value(&v, &format!("dots_run.{k}"))?;
                run.insert(k, val);
            }
        }
        let text = toml::to_string(&doc).map_err(|e| bad(format!("{}: {e}", self.file)))?;
        let name = format!("{} (with sweep settings)", self.file);
        let (_, _, run) = spec::load_device(&name, &text).map_err(py_err)?;
        run.ok_or_else(|| bad("no [dots_run] after the overrides"))
    }
}

fn settings_dict<'py>(
    py: Python<'py>,
    m: &DotModel,
    r: &RunSettings,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let states: Vec<&str> = r.states.iter().map(|s| s.label()).collect();
    d.set_item("states", states)?;
    d.set_item("approach", r.approach.name())?;
    d.set_item("solver", r.solver.name())?;
    d.set_item("sweep_mV", r.sweep_mv.clone())?;
    d.set_item("step_mV", r.step_mv)?;
    d.set_item("dwell_s", r.dwell_s)?;
    d.set_item("gating_dot", r.gating_dot.map(|g| m.dots[g].name.clone()))?;
    d.set_item("seed", r.seed)?;
    d.set_item("integration_time_s", r.integration_s)?;
    d.set_item("max_events_per_point", r.max_events)?;
    d.set_item("peak_threshold", r.peak_threshold)?;
    d.set_item("n_points", mp::sweep_points(&r.sweep_mv, r.step_mv).len())?;
    Ok(d)
}

#[pymethods]
impl Dots {
    /// Parse `[dots]` run-file TOML text; `name` is the file name used in error messages.
    #[staticmethod]
    #[pyo3(signature = (text, name = "<string>"))]
    fn from_toml(text: &str, name: &str) -> PyResult<Self> {
        parse(name, text)
    }

    /// Read a `[dots]` run file; errors name it as given, like the command line.
    #[staticmethod]
    fn from_file(path: std::path::PathBuf) -> PyResult<Self> {
        let text = spinpath::io::read_to_string(&path).map_err(py_err)?;
        parse(&path.display().to_string(), &text)
    }

    /// Build from a dict with the `[dots]` run file's schema (converted to TOML text first).
    #[staticmethod]
    #[pyo3(signature = (d, name = "<dict>"))]
    fn from_dict(d: &Bound<'_, PyDict>, name: &str) -> PyResult<Self> {
        parse(name, &crate::dict_to_toml(d)?)
    }

    /// The run file's TOML text.
    #[getter]
    fn toml(&self) -> &str {
        &self.text
    }

    /// The name used in messages (file path, `<dict>`, `preset NAME`).
    #[getter]
    fn source(&self) -> &str {
        &self.file
    }

    /// Names of the dots, in file order.
    #[getter]
    fn dots(&self) -> Vec<String> {
        self.model.dots.iter().map(|d| d.name.clone()).collect()
    }

    /// Number of many-body (Fock) states.
    #[getter]
    fn n_states(&self) -> usize {
        self.model.n_states()
    }

    /// Labels of the many-body states (the `p_<label>` columns of the occupations).
    #[getter]
    fn state_labels(&self) -> Vec<String> {
        (0..self.model.n_states())
            .map(|s| self.model.state_label(s))
            .collect()
    }

    /// The validated `[dots_run]` settings, or None when the file has none.
    #[getter]
    fn settings<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.run
            .as_ref()
            .map(|r| settings_dict(py, &self.model, r))
            .transpose()
    }

    /// The model's parameters by name (the names fits and scans use; units in the names).
    #[getter]
    fn parameters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        use spinpath::device::Parametrized;
        let d = PyDict::new(py);
        for k in self.model.parameter_names() {
            d.set_item(&k, self.model.parameter(&k))?;
        }
        Ok(d)
    }

    /// A copy with some parameters changed (names as in `parameters`; a misspelt name is an error
    /// that suggests the closest ones); the new run file is validated like any other.
    fn with_parameters(&self, values: &Bound<'_, PyDict>) -> PyResult<Self> {
        use spinpath::device::Parametrized;
        let mut model = self.model.clone();
        let mut changed = Vec::new();
        for (k, v) in values.iter() {
            let k: String = k
                .extract()
                .map_err(|_| bad("parameters: names must be str"))?;
            let v: f64 = v
                .extract()
                .map_err(|_| bad(format!("parameter `{k}`: expected a number")))?;
            model.try_set_parameter(&k, v).map_err(py_err)?;
            changed.push((k, v));
        }
        let (doc, missed) =
            spinpath::fit::dots::write_back(&self.text, &self.model, &changed).map_err(py_err)?;
        if !missed.is_empty() {
            return Err(bad(format!(
                "{}: cannot write {} into the run file (given per orbital or computed from the \
                 geometry there); edit the file instead",
                self.file,
                missed.join(", ")
            )));
        }
        let text = toml::to_string(&doc).map_err(|e| bad(e.to_string()))?;
        parse(&self.file, &text)
    }

    /// Whether the file has a `[protocol]` table.
    #[getter]
    fn has_protocol(&self) -> bool {
        self.text
            .parse::<toml::Table>()
            .is_ok_and(|t| t.contains_key("protocol"))
    }

    /// Run the bias sweep of `[dots_run]` (keys replaced by `overrides`, None removing one) for
    /// every magnetic state, in parallel without the GIL. Returns `(iv, details, occupations,
    /// trace, history, summary, settings)`: the `iv.csv`, `dots.csv`, `occupations.csv` (None
    /// above 256 many-body states), `kmc_trace.csv` and `kmc_history.csv` (None without
    /// `[dots_run.monte_carlo]` / history events) columns, the `summary.json` content and the
    /// settings used.
    ///
    /// Ctrl-C stops it within a fraction of a second (KeyboardInterrupt); `progress`, when given,
    /// is called as `progress(done, total)` with magnetic states done of all.
    #[pyo3(signature = (overrides = None, threads = None, progress = None))]
    fn sweep<'py>(
        &self,
        py: Python<'py>,
        overrides: Option<&Bound<'py, PyDict>>,
        threads: Option<i64>,
        progress: Option<Bound<'py, PyAny>>,
    ) -> PyResult<(
        Bound<'py, PyDict>,
        Bound<'py, PyDict>,
        Option<Bound<'py, PyDict>>,
        Option<Bound<'py, PyDict>>,
        Option<Bound<'py, PyDict>>,
        Bound<'py, PyAny>,
        Bound<'py, PyDict>,
    )> {
        let run = self.run_settings(overrides)?;
        let (model, device) = (&self.model, &self.device);
        let file = self.file.as_str();
        let threads = threads_arg(threads)?;
        let out = interruptible(py, threads, progress.as_ref(), |w| {
            run_dots(model, device, &run, file, w).map_err(py_err)
        })?;
        let opt = |t: Option<Table>| t.map(|t| table_dict(py, &t)).transpose();
        Ok((
            table_dict(py, &out.iv)?,
            table_dict(py, &out.details)?,
            opt(out.occupations)?,
            opt(out.trace)?,
            opt(out.history)?,
            json_py(py, &out.summary)?,
            settings_dict(py, &self.model, &run)?,
        ))
    }

    fn __repr__(&self) -> String {
        format!(
            "Dots({:?}, dots={:?}, many-body states={}, [dots_run]={}, [protocol]={})",
            self.file,
            self.dots(),
            self.model.n_states(),
            if self.run.is_some() { "yes" } else { "no" },
            if self.has_protocol() { "yes" } else { "no" },
        )
    }
}

/// Paper 2's capacitance estimates (SI Note 5), as `spinpath capacitance --json`: give exactly
/// one of `gap_mV` (solve for the radius) or `radius_nm` (solve for the gap), and optionally one
/// of `shift_mV` (solve for the separation) or `separation_nm` (solve for the shift).
#[pyfunction]
#[pyo3(signature = (gap_mV = None, radius_nm = None, distance_nm = 1.0, spacing_nm = 3.0,
                    permittivity = 9.0, shift_mV = None, separation_nm = None))]
// Python keyword arguments, one per command-line flag.
#[allow(non_snake_case, clippy::too_many_arguments)]
fn capacitance<'py>(
    py: Python<'py>,
    gap_mV: Option<f64>,
    radius_nm: Option<f64>,
    distance_nm: f64,
    spacing_nm: f64,
    permittivity: f64,
    shift_mV: Option<f64>,
    separation_nm: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    // The front end names its own keywords; the library checks the same again.
    if gap_mV.is_some() == radius_nm.is_some() {
        return Err(bad(
            "give exactly one of gap_mV (solve for the radius) or radius_nm (solve for the gap)",
        ));
    }
    if shift_mV.is_some() && separation_nm.is_some() {
        return Err(bad(
            "give at most one of shift_mV (solve for the separation) or separation_nm (solve for \
             the shift)",
        ));
    }
    let e = cap::estimate(
        gap_mV,
        radius_nm,
        distance_nm,
        spacing_nm,
        permittivity,
        shift_mV,
        separation_nm,
    )
    .map_err(py_err)?;
    let v = serde_json::to_value(&e).map_err(|err| bad(err.to_string()))?;
    json_py(py, &v)
}

/// Whether run-file text describes interacting dots (has a `[dots]` table).
#[pyfunction]
fn is_dots_file(text: &str) -> bool {
    spinpath::config::is_dots_file(text)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Dots>()?;
    m.add_function(wrap_pyfunction!(capacitance, m)?)?;
    m.add_function(wrap_pyfunction!(is_dots_file, m)?)?;
    Ok(())
}
