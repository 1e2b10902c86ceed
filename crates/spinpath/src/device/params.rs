//! Parameters by name: the one mechanism that fits, scans and Python's `with_parameters` use.
//!
//! Each parametrisation of a device implements [`Parametrized`]: paper 1's `[spin_engine]`
//! ([`crate::config::SpinEngineSpec`], names = its run-file keys), a general `[chain]`
//! ([`crate::fit::chain::ChainSpec`], `<site>.energy_meV`, `left.width_meV`, `<state>.angle_deg`, …)
//! and `[dots]` ([`crate::master::DotModel`], `<dot>.charging_meV`, `<dot>.orbital<k>.energy_meV`,
//! …). The names are documented in docs/fitting.md.

use crate::error::{Error, Result};

/// A set of named real parameters (units in the names: `_meV`, `_K`, `_deg`; dimensionless
/// otherwise).
pub trait Parametrized {
    /// Every parameter name, in a stable order.
    fn parameter_names(&self) -> Vec<String>;
    /// The value of a parameter (`None`: no such name).
    fn parameter(&self, name: &str) -> Option<f64>;
    /// Set a parameter; false when the name does not exist (nothing changes then).
    fn set_parameter(&mut self, name: &str, value: f64) -> bool;

    /// Set a parameter or explain which names exist (closest names first).
    fn try_set_parameter(&mut self, name: &str, value: f64) -> Result<()> {
        if self.set_parameter(name, value) {
            Ok(())
        } else {
            Err(unknown_parameter(name, &self.parameter_names()))
        }
    }
}

/// The error for a name that is not a parameter: it suggests the closest names and lists all.
pub fn unknown_parameter(name: &str, names: &[String]) -> Error {
    let close = closest_names(name, names);
    let hint = if close.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", close.join(" or "))
    };
    Error::invalid(
        "parameter",
        format!(
            "`{name}` is not a parameter of this device{hint}; parameters are: {}",
            names.join(", ")
        ),
    )
}

/// Up to three of `names` closest to `name` (case-insensitive edit distance, at most 3 or a
/// quarter of the name's length), closest first: the suggestions of a misspelt name.
pub fn closest_names<'a>(name: &str, names: &'a [String]) -> Vec<&'a str> {
    let mut ranked: Vec<(usize, &String)> = names
        .iter()
        .map(|n| (edit_distance(&name.to_lowercase(), &n.to_lowercase()), n))
        .collect();
    ranked.sort();
    ranked
        .iter()
        .take_while(|(d, _)| *d <= 3.max(name.len() / 4))
        .take(3)
        .map(|(_, n)| n.as_str())
        .collect()
}

/// Levenshtein distance (small strings; for suggestions only).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

impl Parametrized for crate::config::SpinEngineSpec {
    fn parameter_names(&self) -> Vec<String> {
        Self::KEYS.iter().map(|k| k.to_string()).collect()
    }
    fn parameter(&self, name: &str) -> Option<f64> {
        self.get(name)
    }
    fn set_parameter(&mut self, name: &str, value: f64) -> bool {
        self.set(name, value)
    }
}

impl Parametrized for crate::fit::chain::ChainSpec {
    fn parameter_names(&self) -> Vec<String> {
        self.names()
    }
    fn parameter(&self, name: &str) -> Option<f64> {
        self.get(name)
    }
    fn set_parameter(&mut self, name: &str, value: f64) -> bool {
        self.set(name, value)
    }
}

impl Parametrized for crate::master::DotModel {
    fn parameter_names(&self) -> Vec<String> {
        crate::fit::dots::parameter_names(self)
    }
    fn parameter(&self, name: &str) -> Option<f64> {
        crate::fit::dots::get(self, name)
    }
    fn set_parameter(&mut self, name: &str, value: f64) -> bool {
        crate::fit::dots::set(self, name, value)
    }
}

/// The parameters of a coherent run file: paper 1's `[spin_engine]` keys, or a general
/// `[chain]`'s site, lead, hopping and per-state names.
#[derive(Debug, Clone, PartialEq)]
pub enum CoherentParams {
    /// `[spin_engine]`.
    SpinEngine(crate::config::SpinEngineSpec),
    /// `[chain]`.
    Chain(Box<crate::fit::chain::ChainSpec>),
}

impl Parametrized for CoherentParams {
    fn parameter_names(&self) -> Vec<String> {
        match self {
            CoherentParams::SpinEngine(s) => s.parameter_names(),
            CoherentParams::Chain(c) => c.parameter_names(),
        }
    }
    fn parameter(&self, name: &str) -> Option<f64> {
        match self {
            CoherentParams::SpinEngine(s) => s.parameter(name),
            CoherentParams::Chain(c) => c.parameter(name),
        }
    }
    fn set_parameter(&mut self, name: &str, value: f64) -> bool {
        match self {
            CoherentParams::SpinEngine(s) => s.set_parameter(name, value),
            CoherentParams::Chain(c) => c.set_parameter(name, value),
        }
    }
}

impl CoherentParams {
    /// Write the values into the run file's TOML document (`[spin_engine]`, or the `[chain]`
    /// sites, hoppings, leads and `[[states]]`).
    pub fn write_into(&self, doc: &mut toml::Table) {
        match self {
            CoherentParams::SpinEngine(s) => {
                doc.insert("spin_engine".into(), toml::Value::Table(s.to_toml()));
            }
            CoherentParams::Chain(c) => c.write_into(doc),
        }
    }
}

impl crate::config::CoherentRun {
    /// The run's parameters by name.
    pub fn parameters(&self) -> CoherentParams {
        match &self.spin_engine {
            Some(se) => CoherentParams::SpinEngine(*se),
            None => CoherentParams::Chain(Box::new(crate::fit::chain::ChainSpec::from_run(self))),
        }
    }

    /// The run with its device rebuilt from `params` (chain, states, exchange links); the run's
    /// state selection (names) and settings are kept.
    pub fn with_parameters(&self, params: &CoherentParams) -> Result<Self> {
        let mut out = self.clone();
        match params {
            CoherentParams::SpinEngine(se) => {
                let (chain, states) = se.build()?;
                out.exchange = se.exchange_links();
                out.chain = chain;
                out.states = self
                    .states
                    .iter()
                    .filter_map(|s| states.iter().find(|n| n.name == s.name).cloned())
                    .collect();
                out.spin_engine = Some(*se);
            }
            CoherentParams::Chain(c) => {
                out.chain = c.chain()?;
                out.states = c.states.clone();
                out.exchange = c.exchange.clone();
                out.self_consistency = c.self_consistency;
            }
        }
        Ok(out)
    }

    /// The run with one parameter changed (an unknown name is an error with suggestions).
    pub fn with_parameter(&self, name: &str, value: f64) -> Result<Self> {
        let mut p = self.parameters();
        p.try_set_parameter(name, value)?;
        self.with_parameters(&p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_names_get_suggestions() {
        let names: Vec<String> = ["P.dimer_energy_meV", "AP.dimer_energy_meV", "width_meV"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let e = unknown_parameter("P.dimer_energy_mev", &names).to_string();
        assert!(e.contains("did you mean P.dimer_energy_meV"), "{e}");
        let e = unknown_parameter("zzzzzzzzzzzzzzzzzzzz", &names).to_string();
        assert!(!e.contains("did you mean"), "{e}");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
