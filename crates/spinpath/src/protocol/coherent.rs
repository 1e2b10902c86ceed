//! The coherent chain as a [`Junction`]: stateless, answers at once.

use super::{Junction, OperatingPoint, Reading};
use crate::error::{Error, Result};
use crate::model::{Chain, Lead, MagneticState};
use crate::negf::{ChainSolver, Integration};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::collections::HashMap;

/// A coherent chain with its magnetic states; solvers are finalised once per (state, temperature).
pub struct CoherentJunction {
    chain: Chain,
    states: Vec<MagneticState>,
    integration: Integration,
    cache: HashMap<(String, u64), ChainSolver>,
}

impl CoherentJunction {
    /// A junction from a chain and the states it can be driven in.
    pub fn new(chain: Chain, states: Vec<MagneticState>, integration: Integration) -> Self {
        CoherentJunction {
            chain,
            states,
            integration,
            cache: HashMap::new(),
        }
    }

    fn solver(&mut self, state: &str, temperature_k: Option<f64>) -> Result<&ChainSolver> {
        let key = (
            state.to_string(),
            temperature_k.map_or(u64::MAX, f64::to_bits),
        );
        if !self.cache.contains_key(&key) {
            let st = self
                .states
                .iter()
                .find(|s| s.name == state)
                .ok_or_else(|| {
                    let names: Vec<&str> = self.states.iter().map(|s| s.name.as_str()).collect();
                    Error::invalid(
                        "protocol",
                        format!("the device has no magnetic state `{state}`; it has {names:?}"),
                    )
                })?;
            let chain = match temperature_k {
                Some(t) => self.chain.with_leads(
                    Lead {
                        temperature: t,
                        ..self.chain.left().clone()
                    },
                    Lead {
                        temperature: t,
                        ..self.chain.right().clone()
                    },
                )?,
                None => self.chain.clone(),
            };
            let solver = ChainSolver::new(&chain, st)?;
            self.cache.insert(key.clone(), solver);
        }
        Ok(&self.cache[&key])
    }
}

impl Junction for CoherentJunction {
    fn measure(
        &mut self,
        op: &OperatingPoint,
        _dwell_s: f64,
        _integration_s: f64,
        _rng: &mut Xoshiro256PlusPlus,
    ) -> Result<Reading> {
        let integration = self.integration;
        let p = self
            .solver(&op.state, op.temperature_k)?
            .bias_point(op.bias_mv, &integration);
        Ok(Reading {
            current_na: p.current(),
            current_up_na: p.current_up(),
            current_down_na: p.current_down(),
            branch: None,
        })
    }
}
