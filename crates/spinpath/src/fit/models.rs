//! Fit models built on the simulation engines.

use super::params::Parameters;
use super::FitModel;
use crate::config::SpinEngineSpec;
use crate::error::{Error, Result};
use crate::negf::{ChainSolver, Integration};

/// Paper 1's spin engine fitted to I(V) curves: each dataset is one magnetic state (`P` or `AP`),
/// x = bias (mV), y = current (nA). Parameters are addressed by the run-file keys
/// ([`SpinEngineSpec::KEYS`]); any of them missing from the [`Parameters`] keeps the base value.
#[derive(Debug, Clone)]
pub struct SpinEngineModel {
    base: SpinEngineSpec,
    /// For each key of [`SpinEngineSpec::KEYS`], its index in the parameter vector, if present.
    slots: Vec<(usize, Option<usize>)>,
    /// State index (0 = P, 1 = AP) of each dataset.
    states: Vec<usize>,
    integration: Integration,
}

impl SpinEngineModel {
    /// Bind the model to a parameter set and to datasets named by state (`P` / `AP`).
    pub fn new(
        base: SpinEngineSpec,
        params: &Parameters,
        dataset_states: &[&str],
        integration: Integration,
    ) -> Result<Self> {
        let slots = SpinEngineSpec::KEYS
            .iter()
            .enumerate()
            .map(|(k, key)| (k, params.index(key)))
            .collect();
        let states = dataset_states
            .iter()
            .map(|s| match *s {
                "P" => Ok(0),
                "AP" => Ok(1),
                other => Err(Error::invalid(
                    "fit data",
                    format!("state `{other}` is not a spin-engine state; use \"P\" or \"AP\""),
                )),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SpinEngineModel {
            base,
            slots,
            states,
            integration,
        })
    }

    /// The spin engine with the given parameter values applied.
    pub fn spec(&self, values: &[f64]) -> SpinEngineSpec {
        let mut s = self.base;
        for &(k, idx) in &self.slots {
            if let Some(i) = idx {
                s.set(SpinEngineSpec::KEYS[k], values[i]);
            }
        }
        s
    }
}

impl FitModel for SpinEngineModel {
    fn predict(&self, values: &[f64], dataset: usize, x: &[f64]) -> Result<Vec<f64>> {
        let spec = self.spec(values);
        let (chain, states) = spec.build()?;
        let solver = ChainSolver::new(&chain, &states[self.states[dataset]])?;
        crate::sweep::sweep_bias_self_consistent(
            &solver,
            x,
            &self.integration,
            &spec.exchange_links(),
            &Default::default(),
            &|| {},
        )
        .map(|p| p.iter().map(|b| b.current()).collect())
    }
}
