//! Fitting a general coherent chain (`[chain]` run files): parameters by name, an I(V) model per
//! magnetic state, and the best-fit values written back into the file.
//!
//! Parameter names (site and state names as in the file): `<site>.energy_meV`,
//! `<site>.splitting_meV`, `<site>.lever_arm`, `hoppings_meV.<i>`, `left.width_meV`,
//! `left.polarization`, `left.spin_accumulation_meV`, `left.temperature_K` (and `right.`),
//! `temperature_K` (both leads), and per state `<state>.angle_deg`, `<state>.<site>.energy_meV`,
//! `<state>.<site>.splitting_meV` (override the site's value in that state).

use super::params::Parameters;
use super::FitModel;
use crate::error::{Error, Result};
use crate::model::{Chain, Lead, MagneticState, Site};
use crate::negf::Integration;
use rayon::prelude::*;

/// A chain and its states: everything a `[chain]` fit can change.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainSpec {
    /// Sites.
    pub sites: Vec<Site>,
    /// Hoppings, meV.
    pub hoppings: Vec<f64>,
    /// Left and right leads.
    pub leads: [Lead; 2],
    /// Magnetic states.
    pub states: Vec<MagneticState>,
    /// Self-consistent exchange links of the run (empty: none).
    pub exchange: Vec<crate::negf::ExchangeLink>,
    /// Settings of the self-consistent exchange loop.
    pub self_consistency: crate::negf::SelfConsistency,
}

impl ChainSpec {
    /// From a validated chain and its states.
    pub fn new(chain: &Chain, states: &[MagneticState]) -> Self {
        ChainSpec {
            sites: chain.sites().to_vec(),
            hoppings: chain.hoppings().to_vec(),
            leads: [chain.left().clone(), chain.right().clone()],
            states: states.to_vec(),
            exchange: Vec::new(),
            self_consistency: Default::default(),
        }
    }

    /// From a validated run: its chain, states and exchange links.
    pub fn from_run(run: &crate::config::CoherentRun) -> Self {
        ChainSpec {
            exchange: run.exchange.clone(),
            self_consistency: run.self_consistency,
            ..ChainSpec::new(&run.chain, &run.states)
        }
    }

    /// The device (chain, states, exchange links).
    pub fn device(&self) -> Result<crate::device::Device> {
        Ok(crate::device::Device::from_chain(
            &self.chain()?,
            self.states.clone(),
            self.exchange.clone(),
            self.self_consistency,
        ))
    }

    /// The validated chain.
    pub fn chain(&self) -> Result<Chain> {
        Chain::new(
            self.sites.clone(),
            self.hoppings.clone(),
            self.leads[0].clone(),
            self.leads[1].clone(),
        )
    }

    /// Every parameter name.
    pub fn names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.sites {
            for f in ["energy_meV", "splitting_meV", "lever_arm"] {
                out.push(format!("{}.{f}", s.name));
            }
        }
        for i in 0..self.hoppings.len() {
            out.push(format!("hoppings_meV.{i}"));
        }
        for side in ["left", "right"] {
            for f in [
                "width_meV",
                "polarization",
                "spin_accumulation_meV",
                "temperature_K",
            ] {
                out.push(format!("{side}.{f}"));
            }
        }
        out.push("temperature_K".into());
        for st in &self.states {
            out.push(format!("{}.angle_deg", st.name));
            for s in &self.sites {
                out.push(format!("{}.{}.energy_meV", st.name, s.name));
                out.push(format!("{}.{}.splitting_meV", st.name, s.name));
            }
        }
        out
    }

    fn site(&self, name: &str) -> Option<usize> {
        self.sites.iter().position(|s| s.name == name)
    }

    /// Read (`value = None`) or write a parameter; `None` if the name does not exist.
    fn access(&mut self, key: &str, value: Option<f64>) -> Option<f64> {
        fn put(slot: &mut f64, value: Option<f64>) -> f64 {
            if let Some(v) = value {
                *slot = v;
            }
            *slot
        }
        if key == "temperature_K" {
            let old = self.leads[0].temperature;
            if let Some(v) = value {
                self.leads[0].temperature = v;
                self.leads[1].temperature = v;
            }
            return Some(value.unwrap_or(old));
        }
        if let Some(i) = key
            .strip_prefix("hoppings_meV.")
            .and_then(|i| i.parse::<usize>().ok())
        {
            return self.hoppings.get_mut(i).map(|h| put(h, value));
        }
        for (side, r) in [("left.", 0), ("right.", 1)] {
            if let Some(f) = key.strip_prefix(side) {
                let l = &mut self.leads[r];
                return match f {
                    "width_meV" => Some(put(&mut l.width, value)),
                    "polarization" => Some(put(&mut l.polarization, value)),
                    "spin_accumulation_meV" => Some(put(&mut l.spin_accumulation, value)),
                    "temperature_K" => Some(put(&mut l.temperature, value)),
                    _ => None,
                };
            }
        }
        let parts: Vec<&str> = key.split('.').collect();
        match parts.as_slice() {
            [site, f] if self.site(site).is_some() => {
                let i = self.site(site)?;
                let s = &mut self.sites[i];
                match *f {
                    "energy_meV" => Some(put(&mut s.energy, value)),
                    "splitting_meV" => Some(put(&mut s.splitting, value)),
                    "lever_arm" => Some(put(&mut s.lever_arm, value)),
                    _ => None,
                }
            }
            [state, "angle_deg"] => {
                let st = self.states.iter_mut().find(|s| s.name == *state)?;
                Some(put(&mut st.angle_deg, value))
            }
            [state, site, f] => {
                let i = self.site(site)?;
                let (base_e, base_d) = (self.sites[i].energy, self.sites[i].splitting);
                let st = self.states.iter_mut().find(|s| s.name == *state)?;
                let (list, base) = match *f {
                    "energy_meV" => (&mut st.energy_overrides, base_e),
                    "splitting_meV" => (&mut st.splitting_overrides, base_d),
                    _ => return None,
                };
                let pos = list.iter().position(|(k, _)| *k == i);
                let old = pos.map_or(base, |p| list[p].1);
                if let Some(v) = value {
                    match pos {
                        Some(p) => list[p].1 = v,
                        None => list.push((i, v)),
                    }
                }
                Some(value.unwrap_or(old))
            }
            _ => None,
        }
    }

    /// Value of a parameter by name.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.clone().access(key, None)
    }

    /// Set a parameter by name; false if the name does not exist.
    pub fn set(&mut self, key: &str, value: f64) -> bool {
        self.access(key, Some(value)).is_some()
    }

    /// Write the values into a `[chain]` run file's document (sites, hoppings, leads, states).
    pub fn write_into(&self, doc: &mut toml::Table) {
        let f = |x: f64| toml::Value::Float(x);
        if let Some(chain) = doc.get_mut("chain").and_then(|c| c.as_table_mut()) {
            chain.insert(
                "hoppings_meV".into(),
                toml::Value::Array(self.hoppings.iter().map(|h| f(*h)).collect()),
            );
            if let Some(sites) = chain.get_mut("sites").and_then(|s| s.as_array_mut()) {
                for (t, s) in sites.iter_mut().zip(&self.sites) {
                    if let Some(t) = t.as_table_mut() {
                        t.insert("energy_meV".into(), f(s.energy));
                        t.insert("splitting_meV".into(), f(s.splitting));
                        t.insert("lever_arm".into(), f(s.lever_arm));
                    }
                }
            }
            for (side, l) in [("left", &self.leads[0]), ("right", &self.leads[1])] {
                if let Some(t) = chain
                    .get_mut("leads")
                    .and_then(|x| x.get_mut(side))
                    .and_then(|x| x.as_table_mut())
                {
                    t.insert("width_meV".into(), f(l.width));
                    t.insert("polarization".into(), f(l.polarization));
                    t.insert("spin_accumulation_meV".into(), f(l.spin_accumulation));
                    t.insert("temperature_K".into(), f(l.temperature));
                }
            }
        }
        if let Some(states) = doc.get_mut("states").and_then(|s| s.as_array_mut()) {
            for t in states.iter_mut().filter_map(|t| t.as_table_mut()) {
                let Some(st) = t
                    .get("name")
                    .and_then(|n| n.as_str())
                    .and_then(|n| self.states.iter().find(|s| s.name == n))
                else {
                    continue;
                };
                t.insert("angle_deg".into(), f(st.angle_deg));
                for (key, list) in [
                    ("energies_meV", &st.energy_overrides),
                    ("splittings_meV", &st.splitting_overrides),
                ] {
                    if !list.is_empty() {
                        let mut m = toml::Table::new();
                        for (i, v) in list {
                            m.insert(self.sites[*i].name.clone(), f(*v));
                        }
                        t.insert(key.into(), toml::Value::Table(m));
                    }
                }
            }
        }
    }
}

/// A `[chain]` device fitted to I(V) curves, one dataset per magnetic state.
#[derive(Debug, Clone)]
pub struct ChainModel {
    base: ChainSpec,
    slots: Vec<(String, usize)>,
    states: Vec<usize>,
    integration: Integration,
}

impl ChainModel {
    /// Bind to a parameter set and datasets named by state.
    pub fn new(
        base: ChainSpec,
        params: &Parameters,
        dataset_states: &[&str],
        integration: Integration,
    ) -> Result<Self> {
        let slots = base
            .names()
            .into_iter()
            .filter_map(|n| params.index(&n).map(|i| (n, i)))
            .collect();
        let states = dataset_states
            .iter()
            .map(|s| {
                base.states
                    .iter()
                    .position(|st| st.name == *s)
                    .ok_or_else(|| {
                        let names: Vec<&str> =
                            base.states.iter().map(|s| s.name.as_str()).collect();
                        Error::invalid(
                            "fit data",
                            format!("state `{s}` is not one of the model's states {names:?}"),
                        )
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ChainModel {
            base,
            slots,
            states,
            integration,
        })
    }

    /// The chain specification with the given parameter values applied.
    pub fn spec(&self, values: &[f64]) -> ChainSpec {
        let mut s = self.base.clone();
        for (name, i) in &self.slots {
            s.set(name, values[*i]);
        }
        s
    }
}

impl FitModel for ChainModel {
    fn predict(&self, values: &[f64], dataset: usize, x: &[f64]) -> Result<Vec<f64>> {
        // Through the coherent approach on the device, with its exchange links (self-consistent).
        let spec = self.spec(values);
        let negf = crate::engine::negf::Negf {
            integration: self.integration,
        };
        let prepared = negf.prepare_chain(&spec.device()?, &spec.states[self.states[dataset]])?;
        x.par_iter()
            .map(|&v| prepared.bias_point(v).map(|p| p.current()))
            .collect()
    }
}
