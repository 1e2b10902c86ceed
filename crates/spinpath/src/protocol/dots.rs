//! The interacting-dot model as a [`Junction`]: it evolves in time, deterministically (transient
//! master equation: probabilities) or stochastically (kinetic Monte Carlo: one trajectory).
//!
//! Branch label: with a gating dot, `ON` while it holds less than half an electron and `OFF`
//! otherwise (the memristive preset's convention, docs/dots.md).

use super::{Junction, OperatingPoint, Reading};
use crate::error::{Error, Result};
use crate::master::kmc::Gillespie;
use crate::master::{steady, transient, DotModel, Magnet, PointResult, RateSet};
use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;

/// How the dot junction evolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DotDynamics {
    /// Probabilities evolved by the master equation over each dwell (no noise of its own).
    Transient,
    /// One stochastic trajectory (Gillespie); readings average it over the integration time.
    MonteCarlo,
}

/// A dot model driven through a protocol.
pub struct DotJunction {
    model: DotModel,
    dynamics: DotDynamics,
    gating_dot: Option<usize>,
    /// Probabilities (transient) or the one-hot current state (Monte Carlo).
    p: Vec<f64>,
    state: u32,
    max_events: u64,
}

impl DotJunction {
    /// A junction starting from the steady state at V = 0 in the P state.
    pub fn new(
        model: DotModel,
        dynamics: DotDynamics,
        gating_dot: Option<usize>,
        max_events: u64,
    ) -> Result<Self> {
        let rates = RateSet::build(&model, 0.0, Magnet::P);
        let p = steady::solve(&rates, &steady::SteadyOptions::default())?;
        let state = p
            .iter()
            .enumerate()
            .fold((0, f64::MIN), |b, (s, &x)| if x > b.1 { (s, x) } else { b })
            .0 as u32;
        Ok(DotJunction {
            model,
            dynamics,
            gating_dot,
            p,
            state,
            max_events,
        })
    }

    fn magnet(state: &str) -> Result<Magnet> {
        match state {
            "P" => Ok(Magnet::P),
            "AP" => Ok(Magnet::AP),
            other => Err(Error::invalid(
                "protocol",
                format!("the dot model has states \"P\" and \"AP\", not \"{other}\""),
            )),
        }
    }

    fn branch_of_charge(&self, gate_charge: f64) -> Option<String> {
        self.gating_dot.map(|_| {
            if gate_charge < 0.5 {
                "ON".to_string()
            } else {
                "OFF".to_string()
            }
        })
    }
}

impl Junction for DotJunction {
    fn measure(
        &mut self,
        op: &OperatingPoint,
        dwell_s: f64,
        integration_s: f64,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<Reading> {
        let mut model_t;
        let model = match op.temperature_k {
            Some(t) => {
                model_t = self.model.clone();
                for l in model_t.leads.iter_mut() {
                    l.temperature_k = t;
                }
                &model_t
            }
            None => &self.model,
        };
        let rates = RateSet::build(model, op.bias_mv, Self::magnet(&op.state)?);
        match self.dynamics {
            DotDynamics::Transient => {
                if self.p.len() != rates.n_states {
                    return Err(Error::invalid(
                        "dot junction",
                        "state vector does not match the model",
                    ));
                }
                self.p = transient::evolve(&rates, &self.p, dwell_s.max(0.0))?;
                let r = PointResult::from_probabilities(&rates, self.p.clone());
                let gate = self.gating_dot.map_or(0.0, |g| r.mean_charges(model)[g]);
                Ok(Reading {
                    current_na: r.current_na,
                    current_up_na: r.current_spin_na[0],
                    current_down_na: r.current_spin_na[1],
                    branch: self.branch_of_charge(gate),
                })
            }
            DotDynamics::MonteCarlo => {
                // The point's own stream seeds the trajectory: a resumed run continues identically.
                let mut sim = Gillespie::new(rng.random::<u64>(), self.state);
                let window = if integration_s > 0.0 {
                    integration_s.min(dwell_s.max(integration_s))
                } else {
                    dwell_s
                };
                if window.is_nan() || window <= 0.0 {
                    return Err(Error::invalid(
                        "protocol",
                        "Monte Carlo readings need dwell_s > 0 or an integration time > 0",
                    ));
                }
                // Hold for the dwell, then read over the last integration window.
                let hold = (dwell_s - window).max(0.0);
                if hold > 0.0 {
                    sim.run(&rates, hold, hold, self.max_events)?;
                }
                let trace = sim.run(&rates, window, window, self.max_events)?;
                self.state = sim.state;
                let n = trace.current_na.len().max(1) as f64;
                let i = trace.current_na.iter().sum::<f64>() / n;
                let charges = self.model.dot_charges(self.state as usize);
                let gate = self.gating_dot.map_or(0.0, |g| charges[g] as f64);
                let up = trace.counts_spin.iter().map(|c| c[0] as f64).sum::<f64>();
                let down = trace.counts_spin.iter().map(|c| c[1] as f64).sum::<f64>();
                let total = up + down;
                let (fu, fd) = if total != 0.0 {
                    (up / total, down / total)
                } else {
                    (0.5, 0.5)
                };
                Ok(Reading {
                    current_na: i,
                    current_up_na: i * fu,
                    current_down_na: i * fd,
                    branch: self.branch_of_charge(gate),
                })
            }
        }
    }

    fn checkpoint(&self) -> Vec<f64> {
        match self.dynamics {
            DotDynamics::Transient => self.p.clone(),
            DotDynamics::MonteCarlo => vec![self.state as f64],
        }
    }

    fn restore(&mut self, state: &[f64]) -> Result<()> {
        match self.dynamics {
            DotDynamics::Transient if state.len() == self.p.len() => self.p = state.to_vec(),
            DotDynamics::MonteCarlo if state.len() == 1 => self.state = state[0] as u32,
            _ => return Err(Error::invalid("checkpoint", "does not match the model")),
        }
        Ok(())
    }
}
