//! Measurement protocols (`[protocol]` in a coherent or a `[dots]` run file) run on the right
//! junction, as `spinpath run` does: I(V) sweeps, I(H) loops, current statistics, write/read cycles.

use crate::{bad, interruptible, json_py, message, table_dict};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use spinpath::config::protocol::{ProtocolKind, ProtocolSpec};
use spinpath::protocol::report::{protocol_output, ProtocolOutput};
use spinpath::protocol::{run_plan, Junction};
use spinpath::run::{Job, RunFile};

/// The protocol of a run file and the junction it drives (the library's wiring).
fn build(
    file: &str,
    text: &str,
    seed: Option<u64>,
) -> Result<(ProtocolSpec, Box<dyn Junction>), String> {
    let lib = |e: spinpath::Error| message(&e);
    let rf = RunFile::parse(file, text).map_err(lib)?;
    let Job::Protocol(p) = &rf.job else {
        return Err(format!(
            "{file}: no [protocol] table: nothing to run as a protocol (see docs/protocols.md)"
        ));
    };
    let mut spec = p.spec.clone();
    let junction = rf.junction().map_err(lib)?;
    if let Some(s) = seed {
        spec.seed = s;
    }
    Ok((spec, junction))
}

/// Execute the whole plan and build the outputs.
/// Execute the whole plan and build the outputs; every point counts one step of `watch`, whose
/// cancel flag stops the plan at the next point.
fn execute(
    spec: &ProtocolSpec,
    junction: &mut dyn Junction,
    watch: &crate::Watch,
) -> spinpath::Result<(ProtocolOutput, usize)> {
    watch.set_total(spec.plan.len());
    let measured = run_plan(
        junction,
        &spec.plan,
        &spec.instrument,
        spec.seed,
        0,
        0.0,
        &mut |_, _| {
            watch.tick();
            watch.cancel.check()
        },
    )?;
    let out = protocol_output(spec, &spec.plan, &measured)?;
    Ok((out, measured.len()))
}

/// The file of the protocol's table of all points.
fn main_table(kind: ProtocolKind) -> &'static str {
    match kind {
        ProtocolKind::IvSweep => "iv.csv",
        ProtocolKind::IhLoop => "ih.csv",
        ProtocolKind::Statistics => "samples.csv",
        ProtocolKind::WriteRead => "points.csv",
    }
}

/// Run the `[protocol]` of run-file text (`name` names it in messages) without the GIL, with the
/// seed replaced by `seed` when given. Returns a dict: `kind`, `seed`, `n_points`, `main` (the
/// file name of the table of all points), `tables` (a list of `(file name, columns)` in the
/// command line's order), `summary` (`summary.json`) and `text` (the printed summary).
#[pyfunction]
///
/// Ctrl-C stops it within a fraction of a second (KeyboardInterrupt); `progress`, when given, is
/// called as `progress(done, total)` with points measured of the plan's.
#[pyo3(signature = (text, name = "<string>", seed = None, progress = None))]
fn run_protocol<'py>(
    py: Python<'py>,
    text: &str,
    name: &str,
    seed: Option<u64>,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let (spec, out, n) = interruptible(py, None, progress.as_ref(), |w| {
        let (spec, mut junction) = build(name, text, seed).map_err(bad)?;
        let (out, n) = execute(&spec, junction.as_mut(), w).map_err(|e| bad(message(&e)))?;
        Ok((spec, out, n))
    })?;
    let d = PyDict::new(py);
    d.set_item("kind", spec.kind.name())?;
    d.set_item("seed", spec.seed)?;
    d.set_item("n_points", n)?;
    d.set_item("main", main_table(spec.kind))?;
    let tables = out
        .tables
        .iter()
        .map(|(f, t)| {
            let pair: [Bound<'py, PyAny>; 2] = [
                f.into_pyobject(py)?.into_any(),
                table_dict(py, t)?.into_any(),
            ];
            PyTuple::new(py, pair)
        })
        .collect::<PyResult<Vec<_>>>()?;
    d.set_item("tables", PyList::new(py, tables)?)?;
    d.set_item("summary", json_py(py, &out.summary)?)?;
    d.set_item("text", out.text)?;
    Ok(d)
}

/// Whether run-file text has a `[protocol]` table (TOML errors are reported by the device's own
/// parser; here they mean "no").
#[pyfunction]
fn has_protocol(text: &str) -> bool {
    text.parse::<toml::Table>()
        .is_ok_and(|t| t.contains_key("protocol"))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run_protocol, m)?)?;
    m.add_function(wrap_pyfunction!(has_protocol, m)?)?;
    Ok(())
}
