//! Fitting the interacting-dot model: its parameters by name, a steady-state I(V) model, and the
//! best-fit values written back into a `[dots]` run file.
//!
//! Parameter names (dot names as in the file, orbitals numbered from 0 within their dot):
//! `<dot>.charging_meV`, `<dot>.lever_arm` (all its orbitals), `<dot>.orbital<k>.energy_meV`,
//! `<dot>.orbital<k>.lever_arm`, `<dot>.orbital<k>.zeeman_meV`, `<dot>.orbital<k>.exchange_P_meV`,
//! `<dot>.orbital<k>.exchange_AP_meV`, `coupling.<dotA>.<dotB>_meV`, `left.gamma_meV.<dot>` (all
//! orbitals of the dot), `left.polarization`, `left.spin_accumulation_meV`, `left.temperature_K`
//! (and `right.`), and `temperature_K` (both leads).

use super::params::Parameters;
use super::FitModel;
use crate::error::{Error, Result};
use crate::master::{steady, DotModel, Magnet, PointResult, RateSet};
use rayon::prelude::*;

/// Every parameter name of `model`.
pub fn parameter_names(model: &DotModel) -> Vec<String> {
    let mut out = Vec::new();
    for (d, dot) in model.dots.iter().enumerate() {
        out.push(format!("{}.charging_meV", dot.name));
        out.push(format!("{}.lever_arm", dot.name));
        for (k, _) in model.orbitals.iter().filter(|o| o.dot == d).enumerate() {
            for f in [
                "energy_meV",
                "lever_arm",
                "zeeman_meV",
                "exchange_P_meV",
                "exchange_AP_meV",
            ] {
                out.push(format!("{}.orbital{k}.{f}", dot.name));
            }
        }
        for other in &model.dots[d + 1..] {
            out.push(format!("coupling.{}.{}_meV", dot.name, other.name));
        }
    }
    for side in ["left", "right"] {
        for dot in &model.dots {
            out.push(format!("{side}.gamma_meV.{}", dot.name));
        }
        for f in ["polarization", "spin_accumulation_meV", "temperature_K"] {
            out.push(format!("{side}.{f}"));
        }
    }
    out.push("temperature_K".into());
    out
}

fn dot_index(model: &DotModel, name: &str) -> Option<usize> {
    model.dots.iter().position(|d| d.name == name)
}

fn orbitals_of(model: &DotModel, d: usize) -> Vec<usize> {
    (0..model.orbitals.len())
        .filter(|&i| model.orbitals[i].dot == d)
        .collect()
}

/// Read (`value = None`) or write a parameter; `None` if the name does not exist.
fn access(model: &mut DotModel, key: &str, value: Option<f64>) -> Option<f64> {
    let put = |slot: &mut f64| {
        if let Some(v) = value {
            *slot = v;
        }
        *slot
    };
    if key == "temperature_K" {
        let t = model.leads[0].temperature_k;
        if let Some(v) = value {
            model.leads[0].temperature_k = v;
            model.leads[1].temperature_k = v;
        }
        return Some(value.unwrap_or(t));
    }
    if let Some(rest) = key.strip_prefix("coupling.") {
        let rest = rest.strip_suffix("_meV")?;
        let (a, b) = rest.split_once('.')?;
        let (i, j) = (dot_index(model, a)?, dot_index(model, b)?);
        if i == j {
            return None;
        }
        let old = model.inter_dot_mev[i][j];
        if let Some(v) = value {
            model.inter_dot_mev[i][j] = v;
            model.inter_dot_mev[j][i] = v;
        }
        return Some(value.unwrap_or(old));
    }
    for (side, r) in [("left.", 0), ("right.", 1)] {
        if let Some(rest) = key.strip_prefix(side) {
            if let Some(dot) = rest.strip_prefix("gamma_meV.") {
                let d = dot_index(model, dot)?;
                let orbs = orbitals_of(model, d);
                let lead = &mut model.leads[r];
                let old = orbs.first().map(|&i| lead.gamma_mev[i])?;
                if let Some(v) = value {
                    for &i in &orbs {
                        lead.gamma_mev[i] = v;
                    }
                }
                return Some(value.unwrap_or(old));
            }
            let lead = &mut model.leads[r];
            return match rest {
                "polarization" => Some(put(&mut lead.polarization)),
                "spin_accumulation_meV" => Some(put(&mut lead.spin_accumulation_mev)),
                "temperature_K" => Some(put(&mut lead.temperature_k)),
                _ => None,
            };
        }
    }
    let (dot, rest) = key.split_once('.')?;
    let d = dot_index(model, dot)?;
    match rest {
        "charging_meV" => return Some(put(&mut model.dots[d].charging_mev)),
        "lever_arm" => {
            let orbs = orbitals_of(model, d);
            let old = model.orbitals[*orbs.first()?].lever_arm;
            if let Some(v) = value {
                for &i in &orbs {
                    model.orbitals[i].lever_arm = v;
                }
            }
            return Some(value.unwrap_or(old));
        }
        _ => {}
    }
    let (orb, field) = rest.split_once('.')?;
    let k: usize = orb.strip_prefix("orbital")?.parse().ok()?;
    let i = *orbitals_of(model, d).get(k)?;
    let o = &mut model.orbitals[i];
    match field {
        "energy_meV" => Some(put(&mut o.energy_mev)),
        "lever_arm" => Some(put(&mut o.lever_arm)),
        "zeeman_meV" => Some(put(&mut o.zeeman_mev)),
        "exchange_P_meV" => Some(put(&mut o.exchange_p_mev)),
        "exchange_AP_meV" => Some(put(&mut o.exchange_ap_mev)),
        _ => None,
    }
}

/// Value of a parameter by name.
pub fn get(model: &DotModel, key: &str) -> Option<f64> {
    access(&mut model.clone(), key, None)
}

/// Set a parameter by name; false if the name does not exist.
pub fn set(model: &mut DotModel, key: &str, value: f64) -> bool {
    access(model, key, Some(value)).is_some()
}

/// The dot model fitted to steady-state I(V) curves: each dataset is one magnetic state (`P` or
/// `AP`), x = bias (mV), y = current (nA). Names missing from the parameters keep the base value.
#[derive(Debug, Clone)]
pub struct DotsModel {
    base: DotModel,
    slots: Vec<(String, usize)>,
    states: Vec<Magnet>,
}

impl DotsModel {
    /// Bind the model to a parameter set and to datasets named by state.
    pub fn new(base: DotModel, params: &Parameters, dataset_states: &[&str]) -> Result<Self> {
        let names = parameter_names(&base);
        let slots = names
            .into_iter()
            .filter_map(|n| params.index(&n).map(|i| (n, i)))
            .collect();
        let states = dataset_states
            .iter()
            .map(|s| match *s {
                "P" => Ok(Magnet::P),
                "AP" => Ok(Magnet::AP),
                other => Err(Error::invalid(
                    "fit data",
                    format!("state `{other}`: use \"P\" or \"AP\""),
                )),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(DotsModel {
            base,
            slots,
            states,
        })
    }

    /// The model with the given parameter values applied and validated.
    pub fn model(&self, values: &[f64]) -> Result<DotModel> {
        let mut m = self.base.clone();
        for (name, i) in &self.slots {
            set(&mut m, name, values[*i]);
        }
        m.validate()?;
        Ok(m)
    }
}

impl FitModel for DotsModel {
    fn predict(&self, values: &[f64], dataset: usize, x: &[f64]) -> Result<Vec<f64>> {
        let m = self.model(values)?;
        let magnet = self.states[dataset];
        x.par_iter()
            .map(|&v| {
                let rates = RateSet::build(&m, v, magnet);
                let p = steady::solve(&rates, &steady::SteadyOptions::default())?;
                Ok(PointResult::from_probabilities(&rates, p).current_na)
            })
            .collect()
    }
}

/// Write fitted values back into a `[dots]` run file's text. Returns the new document and the
/// names that could not be placed (e.g. a Γ given per orbital, or charging energies computed from
/// geometry); those are listed in a comment by the caller.
pub fn write_back(
    text: &str,
    model: &DotModel,
    values: &[(String, f64)],
) -> Result<(toml::Table, Vec<String>)> {
    let mut doc: toml::Table = text
        .parse()
        .map_err(|e| Error::invalid("model file", format!("{e}")))?;
    let mut missed = Vec::new();
    for (name, v) in values {
        if get(model, name).is_none() {
            continue; // a helper parameter, not a model parameter
        }
        if !place(&mut doc, model, name, *v) {
            missed.push(name.clone());
        }
    }
    Ok((doc, missed))
}

fn place(doc: &mut toml::Table, model: &DotModel, name: &str, v: f64) -> bool {
    let f = toml::Value::Float(v);
    let Some(dots) = doc.get_mut("dots").and_then(|d| d.as_table_mut()) else {
        return false;
    };
    if name == "temperature_K" {
        dots.insert("temperature_K".into(), f.clone());
        for side in ["left", "right"] {
            if let Some(l) = dots
                .get_mut("leads")
                .and_then(|l| l.get_mut(side))
                .and_then(|l| l.as_table_mut())
            {
                l.remove("temperature_K");
            }
        }
        return true;
    }
    if let Some(rest) = name
        .strip_prefix("coupling.")
        .and_then(|r| r.strip_suffix("_meV"))
    {
        let Some((a, b)) = rest.split_once('.') else {
            return false;
        };
        let Some(list) = dots.get_mut("coupling").and_then(|c| c.as_array_mut()) else {
            return false;
        };
        for c in list.iter_mut() {
            let pair: Vec<&str> = c
                .get("dots")
                .and_then(|d| d.as_array())
                .map(|d| d.iter().filter_map(|x| x.as_str()).collect())
                .unwrap_or_default();
            if pair == [a, b] || pair == [b, a] {
                if let Some(t) = c.as_table_mut() {
                    t.insert("energy_meV".into(), f);
                    return true;
                }
            }
        }
        return false;
    }
    for side in ["left", "right"] {
        if let Some(rest) = name.strip_prefix(side).and_then(|r| r.strip_prefix('.')) {
            let Some(lead) = dots
                .get_mut("leads")
                .and_then(|l| l.get_mut(side))
                .and_then(|l| l.as_table_mut())
            else {
                return false;
            };
            if let Some(dot) = rest.strip_prefix("gamma_meV.") {
                return match lead.get_mut("gamma_meV").and_then(|g| g.as_table_mut()) {
                    Some(g) if g.get(dot).is_some_and(|x| x.is_float() || x.is_integer()) => {
                        g.insert(dot.into(), f);
                        true
                    }
                    _ => false,
                };
            }
            lead.insert(rest.into(), f);
            return true;
        }
    }
    let Some((dot, rest)) = name.split_once('.') else {
        return false;
    };
    let Some(list) = dots.get_mut("dot").and_then(|d| d.as_array_mut()) else {
        return false;
    };
    let Some(entry) = list
        .iter_mut()
        .find(|d| d.get("name").and_then(|n| n.as_str()) == Some(dot))
        .and_then(|d| d.as_table_mut())
    else {
        return false;
    };
    match rest {
        "charging_meV" | "lever_arm" => {
            if rest == "lever_arm" {
                if let Some(orbs) = entry.get_mut("orbitals").and_then(|o| o.as_array_mut()) {
                    for o in orbs.iter_mut().filter_map(|o| o.as_table_mut()) {
                        o.remove("lever_arm");
                    }
                }
            }
            entry.insert(rest.into(), f);
            true
        }
        _ => {
            let Some((orb, field)) = rest.split_once('.') else {
                return false;
            };
            let Some(k) = orb
                .strip_prefix("orbital")
                .and_then(|k| k.parse::<usize>().ok())
            else {
                return false;
            };
            let _ = model;
            match entry
                .get_mut("orbitals")
                .and_then(|o| o.as_array_mut())
                .and_then(|o| o.get_mut(k))
                .and_then(|o| o.as_table_mut())
            {
                Some(o) => {
                    o.insert(field.into(), f);
                    true
                }
                None => false,
            }
        }
    }
}
