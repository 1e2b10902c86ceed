//! Fitting any [`Device`] through the approach seam: the interacting spin engine (spinterface
//! leads, hopping, Heisenberg/Ising/DM exchange) and every other `[dots]` run file that the
//! constant-interaction model cannot hold. Parameters are the device's names
//! ([`Parametrized`], listed in `device/named.rs` and docs/fitting.md); each dataset is the
//! steady-state I(V) of one magnetic state, solved by the run file's approach (`pauli` by default).

use super::params::Parameters;
use super::FitModel;
use crate::device::{Device, Parametrized};
use crate::engine::dynamics::{Dynamics, SteadyState};
use crate::engine::{ApproachKind, ApproachSettings};
use crate::error::{Error, Result};
use crate::master::DotModel;
use rayon::prelude::*;

/// A device fitted to steady-state I(V) curves: x = bias (mV), y = current (nA), one dataset per
/// magnetic state (by name, e.g. `P`, `AP`). Names missing from the parameters keep the device's
/// values.
#[derive(Debug, Clone)]
pub struct DeviceModel {
    base: Device,
    approach: ApproachKind,
    slots: Vec<(String, usize)>,
    states: Vec<String>,
}

impl DeviceModel {
    /// Bind the device to a parameter set, an approach and datasets named by magnetic state.
    pub fn new(
        base: Device,
        approach: ApproachKind,
        params: &Parameters,
        dataset_states: &[&str],
    ) -> Result<Self> {
        if approach == ApproachKind::Negf && !base.is_non_interacting() {
            return Err(Error::invalid(
                "fit",
                "the coherent NEGF approach cannot solve an interacting device; use approach = \"pauli\"",
            ));
        }
        let slots = base
            .parameter_names()
            .into_iter()
            .filter_map(|n| params.index(&n).map(|i| (n, i)))
            .collect();
        let states = dataset_states
            .iter()
            .map(|s| base.state(s).map(|st| st.name.clone()))
            .collect::<Result<Vec<_>>>()?;
        Ok(DeviceModel {
            base,
            approach,
            slots,
            states,
        })
    }

    /// The device with the given parameter values applied.
    pub fn device(&self, values: &[f64]) -> Device {
        let mut d = self.base.clone();
        for (name, i) in &self.slots {
            d.set_parameter(name, values[*i]);
        }
        d
    }

    /// The approach that solves the device.
    pub fn approach(&self) -> ApproachKind {
        self.approach
    }
}

/// Steady-state currents (nA) of `device` in magnetic state `state` at each bias (mV), solved by
/// `approach`; parallel over the biases.
pub fn steady_currents(
    device: &Device,
    approach: ApproachKind,
    state: &str,
    bias_mv: &[f64],
) -> Result<Vec<f64>> {
    let st = device.state(state)?;
    let prepared = approach
        .build(&ApproachSettings::default())
        .prepare(device, st)?;
    bias_mv
        .par_iter()
        .map(|&v| {
            let kernel = prepared.kernel(v)?;
            let r = SteadyState::default().step(&kernel, 0.0)?;
            if r.current_na.is_finite() {
                Ok(r.current_na)
            } else {
                Err(Error::invalid(
                    "fit",
                    format!("the model's current at {v} mV in state {state} is not finite"),
                ))
            }
        })
        .collect()
}

impl FitModel for DeviceModel {
    fn predict(&self, values: &[f64], dataset: usize, x: &[f64]) -> Result<Vec<f64>> {
        let d = self.device(values);
        steady_currents(&d, self.approach, &self.states[dataset], x)
    }
}

/// Write fitted values back into a device run file's text (`[dots]` with hopping, exchange,
/// spinterfaces or per-state levels). Names the constant-interaction model also has are placed
/// as [`super::dots::write_back`] places them; the rest (per-state levels, hopping, exchange,
/// DM components, spinterfaces, `band_meV`, splittings) here. Returns the document and the
/// names that could not be placed (the caller lists them in a `# NOTE`).
pub fn write_back(
    text: &str,
    model: &DotModel,
    device: &Device,
    values: &[(String, f64)],
) -> Result<(toml::Table, Vec<String>)> {
    let dot_names = super::dots::parameter_names(model);
    type Named = Vec<(String, f64)>;
    let (shared, own): (Named, Named) = values
        .iter()
        .filter(|(n, _)| device.parameter(n).is_some())
        .cloned()
        .partition(|(n, _)| dot_names.contains(n));
    let (mut doc, mut missed) = super::dots::write_back(text, model, &shared)?;
    for (name, v) in own {
        if !place(&mut doc, device, &name, v) {
            missed.push(name);
        }
    }
    Ok((doc, missed))
}

fn place(doc: &mut toml::Table, device: &Device, name: &str, v: f64) -> bool {
    let f = toml::Value::Float(v);
    let Some(dots) = doc.get_mut("dots").and_then(|d| d.as_table_mut()) else {
        return false;
    };
    if name == "band_meV" {
        dots.insert("band_meV".into(), f);
        return true;
    }
    for side in ["left", "right"] {
        if let Some(field) = name
            .strip_prefix(side)
            .and_then(|r| r.strip_prefix(".spinterface."))
        {
            return match dots
                .get_mut("leads")
                .and_then(|l| l.get_mut(side))
                .and_then(|l| l.get_mut("spinterface"))
                .and_then(|s| s.as_table_mut())
            {
                Some(t) => {
                    t.insert(field.into(), f);
                    true
                }
                None => false,
            };
        }
    }
    if let Some(rest) = name.strip_prefix("coupling.") {
        let Some((pair, field)) = rest.rsplit_once('.') else {
            return false;
        };
        let Some((a, b)) = pair.split_once('.') else {
            return false;
        };
        let Some((t, sign)) = super::dots::coupling_table(dots, a, b) else {
            return false;
        };
        let comp = match field {
            "hopping_meV" | "exchange_J_meV" | "exchange_Jz_meV" | "mediated_v_meV" => {
                // A hopping matrix cannot take one number.
                if t.get(field).is_some_and(|x| x.is_array()) {
                    return false;
                }
                t.insert(field.into(), f);
                return true;
            }
            "dm_x_meV" => 0,
            "dm_y_meV" => 1,
            "dm_z_meV" => 2,
            _ => return false,
        };
        let mut dm = t
            .get("dm_meV")
            .and_then(|d| d.as_array())
            .map(|d| {
                d.iter()
                    .map(|x| x.as_float().or(x.as_integer().map(|i| i as f64)))
                    .collect::<Option<Vec<f64>>>()
            })
            .unwrap_or(Some(vec![0.0; 3]))
            .unwrap_or_default();
        if dm.len() != 3 {
            return false;
        }
        dm[comp] = sign * v;
        t.insert(
            "dm_meV".into(),
            toml::Value::Array(dm.into_iter().map(toml::Value::Float).collect()),
        );
        return true;
    }
    // <dot>.orbital<k>.energy_<state>_meV or .splitting_meV
    let Some((dot, rest)) = name.split_once('.') else {
        return false;
    };
    let Some((orb, field)) = rest.split_once('.') else {
        return false;
    };
    let Some(k) = orb
        .strip_prefix("orbital")
        .and_then(|k| k.parse::<usize>().ok())
    else {
        return false;
    };
    let Some(table) = dots
        .get_mut("dot")
        .and_then(|d| d.as_array_mut())
        .and_then(|list| {
            list.iter_mut()
                .find(|d| d.get("name").and_then(|n| n.as_str()) == Some(dot))
        })
        .and_then(|d| d.get_mut("orbitals"))
        .and_then(|o| o.as_array_mut())
        .and_then(|o| o.get_mut(k))
        .and_then(|o| o.as_table_mut())
    else {
        return false;
    };
    match field {
        // The file's Zeeman term lowers spin up: Δ = −zeeman (along z only).
        "splitting_meV" => {
            let along_z = device
                .dots
                .iter()
                .position(|d| d.name == dot)
                .and_then(|d| {
                    (0..device.orbitals.len())
                        .filter(|&i| device.orbitals[i].dot == d)
                        .nth(k)
                })
                .is_some_and(|i| {
                    device.orbitals[i].axis == crate::model::Axis::Fixed([0.0, 0.0, 1.0])
                });
            if !along_z {
                return false;
            }
            table.insert("zeeman_meV".into(), toml::Value::Float(-v));
            true
        }
        "energy_P_meV" | "energy_AP_meV" => {
            table.insert(field.into(), f);
            true
        }
        _ => false,
    }
}
