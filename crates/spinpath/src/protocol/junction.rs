//! Any device under any approach as a [`Junction`] that protocols drive.
//!
//! The approach gives a kernel at each operating point; the junction's dynamics carry its memory
//! from point to point: a stationary (coherent) kernel answers at once; a rate kernel evolves its
//! probabilities over the dwell (transient master equation) or one seeded trajectory (kinetic
//! Monte Carlo). Prepared approaches are cached per (magnetic state, temperature).
//!
//! Branch label: with a gating dot, `ON` while it holds less than half an electron and `OFF`
//! otherwise (the memristive preset's convention, docs/dots.md).

use super::{Junction, OperatingPoint, Reading};
use crate::device::Device;
use crate::engine::dynamics::{needs_rates, DynamicsKind};
use crate::engine::{Approach, Kernel, Prepared};
use crate::error::{Error, Result};
use crate::master::kmc::Gillespie;
use crate::master::{steady, transient, PointResult};
use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::collections::HashMap;

/// A device, an approach and a dynamics, driven through a protocol.
pub struct DeviceJunction {
    device: Device,
    approach: Box<dyn Approach>,
    dynamics: DynamicsKind,
    gating_dot: Option<usize>,
    max_events: u64,
    cache: HashMap<(String, u64), Box<dyn Prepared>>,
    /// Probabilities (transient) of the many-body states; empty for a stationary kernel.
    p: Vec<f64>,
    /// The current state of the Monte Carlo trajectory.
    state: u32,
}

impl DeviceJunction {
    /// A junction starting, for rate kernels, from the steady state at V = 0 in the device's first
    /// magnetic state. `gating_dot` (an index into `device.dots`) labels the ON/OFF branch;
    /// `max_events` bounds the Monte Carlo events per point.
    pub fn new(
        device: Device,
        approach: Box<dyn Approach>,
        dynamics: DynamicsKind,
        gating_dot: Option<usize>,
        max_events: u64,
    ) -> Result<Self> {
        if let Some(g) = gating_dot {
            if g >= device.dots.len() {
                return Err(Error::invalid(
                    "protocol",
                    format!("gating dot {g} does not exist"),
                ));
            }
        }
        let first = device
            .states
            .first()
            .cloned()
            .ok_or_else(|| Error::invalid("device", "no magnetic state"))?;
        let mut j = DeviceJunction {
            device,
            approach,
            dynamics,
            gating_dot,
            max_events,
            cache: HashMap::new(),
            p: Vec::new(),
            state: 0,
        };
        let kernel = j.prepared(&first.name, None)?.kernel(0.0)?;
        if let Kernel::Rates(rates) = &kernel {
            j.p = steady::solve(rates, &steady::SteadyOptions::default())?;
            j.state =
                j.p.iter()
                    .enumerate()
                    .fold((0, f64::MIN), |b, (s, &x)| if x > b.1 { (s, x) } else { b })
                    .0 as u32;
        } else if dynamics == DynamicsKind::MonteCarlo {
            return Err(needs_rates("Monte Carlo"));
        }
        Ok(j)
    }

    fn prepared(&mut self, state: &str, temperature_k: Option<f64>) -> Result<&dyn Prepared> {
        let key = self.ensure(state, temperature_k)?;
        Ok(self.cache[&key].as_ref())
    }

    /// Prepare (once) the approach for a state and temperature; the cache key.
    fn ensure(&mut self, state: &str, temperature_k: Option<f64>) -> Result<(String, u64)> {
        let key = (
            state.to_string(),
            temperature_k.map_or(u64::MAX, f64::to_bits),
        );
        if !self.cache.contains_key(&key) {
            let st = self.device.state(state).map_err(|_| {
                let names: Vec<&str> = self.device.states.iter().map(|s| s.name.as_str()).collect();
                Error::invalid(
                    "protocol",
                    format!("the device has no magnetic state `{state}`; it has {names:?}"),
                )
            })?;
            let prepared = match temperature_k {
                Some(t) => self.approach.prepare(&self.device.at_temperature(t), st)?,
                None => self.approach.prepare(&self.device, st)?,
            };
            self.cache.insert(key.clone(), prepared);
        }
        Ok(key)
    }
}

/// The ON/OFF label of a gating-dot charge (none without a gating dot).
fn branch_of_charge(gating_dot: Option<usize>, gate_charge: f64) -> Option<String> {
    gating_dot.map(|_| {
        if gate_charge < 0.5 {
            "ON".to_string()
        } else {
            "OFF".to_string()
        }
    })
}

impl Junction for DeviceJunction {
    fn measure(
        &mut self,
        op: &OperatingPoint,
        dwell_s: f64,
        integration_s: f64,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Result<Reading> {
        let dynamics = self.dynamics;
        let max_events = self.max_events;
        let key = self.ensure(&op.state, op.temperature_k)?;
        let prepared = self.cache[&key].as_ref();
        let kernel = prepared.kernel(op.bias_mv)?;
        let rates = match kernel {
            Kernel::Coherent(p) => {
                return Ok(Reading {
                    current_na: p.current(),
                    current_up_na: p.current_up(),
                    current_down_na: p.current_down(),
                    branch: None,
                })
            }
            Kernel::Rates(r) => r,
            Kernel::Liouvillian(l) => {
                // Density-matrix kernels (1vn, redfield): the junction's memory is the ρ vector.
                let x = match dynamics {
                    DynamicsKind::MonteCarlo => return Err(needs_rates("Monte Carlo")),
                    DynamicsKind::Steady => l.steady()?,
                    DynamicsKind::Transient => {
                        let start = if self.p.len() == l.dim() {
                            self.p.clone()
                        } else {
                            l.steady()?
                        };
                        l.evolve(&start, dwell_s.max(0.0))?
                    }
                };
                let r = l.result(&x);
                self.p = x;
                let gate = match (self.gating_dot, prepared.dot_model()) {
                    (Some(g), Some(model)) => r.mean_charges(model)[g],
                    _ => 0.0,
                };
                return Ok(Reading {
                    current_na: r.current_na,
                    current_up_na: r.current_spin_na[0],
                    current_down_na: r.current_spin_na[1],
                    branch: branch_of_charge(self.gating_dot, gate),
                });
            }
        };
        let model = prepared
            .dot_model()
            .ok_or_else(|| Error::invalid("junction", "a rate kernel without a dot model"))?;
        match dynamics {
            DynamicsKind::Transient | DynamicsKind::Steady => {
                if self.p.len() != rates.n_states {
                    return Err(Error::invalid(
                        "dot junction",
                        "state vector does not match the model",
                    ));
                }
                // Transient: the reading is the current averaged over the instrument's
                // integration window at the end of the dwell (the Junction contract), the
                // end-of-dwell value when no integration time is set.
                let (p, p_read) = if dynamics == DynamicsKind::Steady {
                    let p = steady::solve(&rates, &steady::SteadyOptions::default())?;
                    (p.clone(), p)
                } else {
                    let dwell = dwell_s.max(0.0);
                    let window = integration_s.max(0.0).min(dwell);
                    if window > 0.0 {
                        let before = transient::evolve(&rates, &self.p, dwell - window)?;
                        transient::evolve_averaged(&rates, &before, window)?
                    } else {
                        let p = transient::evolve(&rates, &self.p, dwell)?;
                        (p.clone(), p)
                    }
                };
                let r = PointResult::from_probabilities(&rates, p_read);
                let gate = self.gating_dot.map_or(0.0, |g| r.mean_charges(model)[g]);
                self.p = p;
                Ok(Reading {
                    current_na: r.current_na,
                    current_up_na: r.current_spin_na[0],
                    current_down_na: r.current_spin_na[1],
                    branch: branch_of_charge(self.gating_dot, gate),
                })
            }
            DynamicsKind::MonteCarlo => {
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
                    sim.run(&rates, hold, hold, max_events)?;
                }
                let trace = sim.run(&rates, window, window, max_events)?;
                let charges = model.dot_charges(sim.state as usize);
                self.state = sim.state;
                let gate = self.gating_dot.map_or(0.0, |g| charges[g] as f64);
                let up = trace.counts_spin.iter().map(|c| c[0] as f64).sum::<f64>();
                let down = trace.counts_spin.iter().map(|c| c[1] as f64).sum::<f64>();
                let total = up + down;
                let (fu, fd) = if total != 0.0 {
                    (up / total, down / total)
                } else {
                    (0.5, 0.5)
                };
                let n = trace.current_na.len().max(1) as f64;
                let i = trace.current_na.iter().sum::<f64>() / n;
                Ok(Reading {
                    current_na: i,
                    current_up_na: i * fu,
                    current_down_na: i * fd,
                    branch: branch_of_charge(self.gating_dot, gate),
                })
            }
        }
    }

    fn checkpoint(&self) -> Vec<f64> {
        match self.dynamics {
            _ if self.p.is_empty() => Vec::new(),
            DynamicsKind::MonteCarlo => vec![self.state as f64],
            _ => self.p.clone(),
        }
    }

    fn restore(&mut self, state: &[f64]) -> Result<()> {
        match self.dynamics {
            DynamicsKind::MonteCarlo if state.len() == 1 => self.state = state[0] as u32,
            DynamicsKind::Transient | DynamicsKind::Steady if state.len() == self.p.len() => {
                self.p = state.to_vec()
            }
            _ => return Err(Error::invalid("checkpoint", "does not match the model")),
        }
        Ok(())
    }
}
