//! Coherent-chain devices: built from TOML text, a file, a dict or a preset; bias sweeps and spectra.

use crate::{
    array, bad, detached, dict_to_toml, interruptible, json_py, py_err, table_dict, threads_arg,
    vec_of,
};
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use spinpath::config::{self, CoherentRun, Spectra};
use spinpath::device::Parametrized;

/// The bundled presets (name, run-file text): the library's, one copy for every front end.
pub(crate) const PRESETS: [(&str, &str); 8] = spinpath::presets::ALL;

/// A validated coherent-chain device and its run settings (magnetic states, bias grid,
/// integration tolerances, optional spectra), as read from a run file (docs/config.md).
#[pyclass(module = "spinpath._spinpath", frozen)]
pub struct Device {
    run: CoherentRun,
    text: String,
    file: String,
}

/// Parse run-file text; `file` names it in messages.
fn parse(file: &str, text: &str) -> PyResult<Device> {
    if config::is_dots_file(text) {
        return Err(bad(format!(
            "{file}: an interacting-dot run file ([dots]); use spinpath.Dots (or spinpath.load, \
             which picks the engine)"
        )));
    }
    let run = config::parse_coherent_run(file, text).map_err(py_err)?;
    Ok(Device {
        run,
        text: text.to_string(),
        file: file.to_string(),
    })
}

impl Device {
    /// The run with the states narrowed to `states` (in the given order) when given.
    fn with_states(&self, states: Option<Vec<String>>) -> PyResult<CoherentRun> {
        let mut run = self.run.clone();
        if let Some(names) = states {
            let mut picked = Vec::new();
            for n in &names {
                match self.run.states.iter().find(|s| &s.name == n) {
                    Some(s) => picked.push(s.clone()),
                    None => {
                        let known: Vec<&str> =
                            self.run.states.iter().map(|s| s.name.as_str()).collect();
                        return Err(bad(format!(
                            "{}: no magnetic state `{n}`; the device has {known:?}",
                            self.file
                        )));
                    }
                }
            }
            if picked.is_empty() {
                return Err(bad("states: give at least one state"));
            }
            run.states = picked;
        }
        Ok(run)
    }
}

/// Check a user-given grid: non-empty, finite, strictly ascending.
fn grid(what: &str, v: Vec<f64>) -> PyResult<Vec<f64>> {
    if v.is_empty() {
        return Err(bad(format!("{what}: the grid is empty")));
    }
    if let Some(k) = v.iter().position(|x| !x.is_finite()) {
        return Err(bad(format!(
            "{what}: value {} at index {k} is not finite",
            v[k]
        )));
    }
    if let Some(k) = v.windows(2).position(|w| w[1] <= w[0]) {
        return Err(bad(format!(
            "{what}: values must be strictly ascending; index {} ({}) follows {}",
            k + 1,
            v[k + 1],
            v[k]
        )));
    }
    Ok(v)
}

#[pymethods]
impl Device {
    /// Parse run-file TOML text; `name` is the file name used in error messages.
    #[staticmethod]
    #[pyo3(signature = (text, name = "<string>"))]
    fn from_toml(text: &str, name: &str) -> PyResult<Self> {
        parse(name, text)
    }

    /// Read a run file; errors name it as given, like the command line.
    #[staticmethod]
    fn from_file(path: std::path::PathBuf) -> PyResult<Self> {
        let text = spinpath::io::read_to_string(&path).map_err(py_err)?;
        parse(&path.display().to_string(), &text)
    }

    /// Build from a dict with the run file's schema (converted to TOML text first).
    #[staticmethod]
    #[pyo3(signature = (d, name = "<dict>"))]
    fn from_dict(d: &Bound<'_, PyDict>, name: &str) -> PyResult<Self> {
        let text = dict_to_toml(d)?;
        parse(name, &text)
    }

    /// A bundled preset by name.
    #[staticmethod]
    fn preset(name: &str) -> PyResult<Self> {
        match PRESETS.iter().find(|p| p.0 == name) {
            Some((n, text)) => parse(&format!("preset {n}"), text),
            None => Err(bad(format!(
                "no preset `{name}`; presets: {:?}",
                PRESETS.iter().map(|p| p.0).collect::<Vec<_>>()
            ))),
        }
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

    /// The run file's title, if any.
    #[getter]
    fn title(&self) -> Option<String> {
        self.run.title.clone()
    }

    /// Names of the magnetic states that are run, in order.
    #[getter]
    fn states(&self) -> Vec<String> {
        self.run.states.iter().map(|s| s.name.clone()).collect()
    }

    /// Angles of the right electrode per state, degrees.
    #[getter]
    fn angles_deg(&self) -> Vec<f64> {
        self.run.states.iter().map(|s| s.angle_deg).collect()
    }

    /// Names of the chain's sites, left to right.
    #[getter]
    fn sites(&self) -> Vec<String> {
        self.run
            .chain
            .sites()
            .iter()
            .map(|s| s.name.clone())
            .collect()
    }

    /// The bias grid of the run file, mV.
    #[getter]
    #[allow(non_snake_case)]
    fn bias_mV<'py>(&self, py: Python<'py>) -> Bound<'py, numpy::PyArray1<f64>> {
        array(py, self.run.bias_mv.clone())
    }

    /// Energy-integration settings: `rel_tol` and `abs_tol_nA`.
    #[getter]
    fn integration<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("rel_tol", self.run.integration.rel_tol)?;
        d.set_item("abs_tol_nA", self.run.integration.abs_tol_na)?;
        Ok(d)
    }

    /// The device's parameters by name (paper 1's `[spin_engine]` keys, or a `[chain]`'s site,
    /// lead, hopping and per-state names; the names fits and scans use).
    #[getter]
    fn parameters<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let params = self.run.parameters();
        let d = PyDict::new(py);
        for k in params.parameter_names() {
            d.set_item(&k, params.parameter(&k))?;
        }
        Ok(Some(d))
    }

    /// A copy with some parameters changed (names as in `parameters`; a misspelt name is an error
    /// that suggests the closest ones); the new run file is validated like any other.
    fn with_parameters(&self, values: &Bound<'_, PyDict>) -> PyResult<Self> {
        let mut params = self.run.parameters();
        for (k, v) in values.iter() {
            let k: String = k.extract()?;
            let v: f64 = v
                .extract()
                .map_err(|_| bad(format!("parameter `{k}`: expected a number")))?;
            params.try_set_parameter(&k, v).map_err(py_err)?;
        }
        let mut doc: toml::Table = self
            .text
            .parse()
            .map_err(|e| bad(format!("{}: {e}", self.file)))?;
        params.write_into(&mut doc);
        let text = toml::to_string(&doc).map_err(|e| bad(e.to_string()))?;
        parse(&self.file, &text)
    }

    /// Run the bias sweep of every state (or of `states`) over the run's grid (or `bias_mV`), in
    /// parallel without the GIL. Returns `(iv, tmr, summary)`: the `iv.csv` and `tmr.csv` columns
    /// (tmr is None unless both P and AP ran) and the `summary.json` content.
    ///
    /// Ctrl-C stops it within a fraction of a second (KeyboardInterrupt); `progress`, when given,
    /// is called as `progress(done, total)` with bias points done of all (every state's).
    #[pyo3(signature = (states = None, bias_mV = None, threads = None, progress = None))]
    #[allow(non_snake_case)]
    fn sweep<'py>(
        &self,
        py: Python<'py>,
        states: Option<Vec<String>>,
        bias_mV: Option<PyReadonlyArray1<'py, f64>>,
        threads: Option<i64>,
        progress: Option<Bound<'py, PyAny>>,
    ) -> PyResult<(
        Bound<'py, PyDict>,
        Option<Bound<'py, PyDict>>,
        Bound<'py, PyAny>,
    )> {
        let mut run = self.with_states(states)?;
        if let Some(b) = bias_mV {
            run.bias_mv = grid("bias_mV", vec_of(&b))?;
        }
        let device = run.device();
        let threads = threads_arg(threads)?;
        let mut out = interruptible(py, threads, progress.as_ref(), |w| {
            w.set_total(run.states.len() * run.bias_mv.len());
            spinpath::run::sweep_output_cancellable(&run, &device, &|| w.tick(), &w.cancel)
                .map_err(py_err)
        })?;
        let iv = out.take_table("iv.csv").unwrap_or_default();
        let tmr = out
            .take_table("tmr.csv")
            .map(|t| table_dict(py, &t))
            .transpose()?;
        let summary = out.summary;
        Ok((table_dict(py, &iv)?, tmr, json_py(py, &summary)?))
    }

    /// Transmission T_σ(E) (and, with `dos`, the site-resolved density of states) at the run's
    /// `[run.spectra]` biases and energies, or at the given ones. Returns `(transmission, dos)`,
    /// the `transmission.csv` and `dos.csv` columns (dos is None when not asked for).
    #[pyo3(signature = (bias_mV = None, energies_meV = None, states = None, dos = None, threads = None))]
    #[allow(non_snake_case)]
    fn spectra<'py>(
        &self,
        py: Python<'py>,
        bias_mV: Option<PyReadonlyArray1<'py, f64>>,
        energies_meV: Option<PyReadonlyArray1<'py, f64>>,
        states: Option<Vec<String>>,
        dos: Option<bool>,
        threads: Option<i64>,
    ) -> PyResult<(Bound<'py, PyDict>, Option<Bound<'py, PyDict>>)> {
        let mut run = self.with_states(states)?;
        let base = run.spectra.clone();
        let bias = match (bias_mV, &base) {
            (Some(b), _) => vec_of(&b),
            (None, Some(s)) => s.bias_mv.clone(),
            (None, None) => vec![0.0],
        };
        let energies = match (energies_meV, &base) {
            (Some(e), _) => grid("energies_meV", vec_of(&e))?,
            (None, Some(s)) => s.energies_mev.clone(),
            (None, None) => {
                return Err(bad(format!(
                    "{}: no [run.spectra] in the run file; pass energies_meV",
                    self.file
                )))
            }
        };
        if bias.is_empty() || bias.iter().any(|b| !b.is_finite()) {
            return Err(bad("bias_mV: give one or more finite biases"));
        }
        run.spectra = Some(Spectra {
            bias_mv: bias,
            energies_mev: energies,
            dos: dos.unwrap_or_else(|| base.as_ref().is_none_or(|s| s.dos)),
        });
        let device = run.device();
        let threads = threads_arg(threads)?;
        let mut out = detached(py, threads, || spinpath::run::spectra_output(&run, &device))?
            .map_err(py_err)?;
        let trans = table_dict(py, &out.take_table("transmission.csv").unwrap_or_default())?;
        let dos = out
            .take_table("dos.csv")
            .map(|d| table_dict(py, &d))
            .transpose()?;
        Ok((trans, dos))
    }

    fn __repr__(&self) -> String {
        format!(
            "Device({:?}, title={:?}, sites={}, states={:?}, bias points={})",
            self.file,
            self.run.title.as_deref().unwrap_or(""),
            self.run.chain.sites().len(),
            self.states(),
            self.run.bias_mv.len()
        )
    }
}

/// Names of the bundled presets.
#[pyfunction]
fn presets() -> Vec<&'static str> {
    PRESETS.iter().map(|p| p.0).collect()
}

/// The TOML text of a bundled preset.
#[pyfunction]
fn preset_toml(name: &str) -> PyResult<&'static str> {
    PRESETS
        .iter()
        .find(|p| p.0 == name)
        .map(|p| p.1)
        .ok_or_else(|| bad(format!("no preset `{name}`")))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Device>()?;
    m.add_function(wrap_pyfunction!(presets, m)?)?;
    m.add_function(wrap_pyfunction!(preset_toml, m)?)?;
    Ok(())
}
