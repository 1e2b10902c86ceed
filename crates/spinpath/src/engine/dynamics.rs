//! Dynamics over any kernel: steady state, transient evolution, kinetic Monte Carlo.
//!
//! A bias sweep or a protocol calls [`Dynamics::step`] once per point, in order; dynamics with
//! memory (transient, Monte Carlo) carry their state from one point to the next. A stationary
//! (coherent) kernel has no state: steady and transient give its result, Monte Carlo refuses it.

use super::Kernel;
use crate::error::{Error, Result};
use crate::master::{kmc, steady, transient, PointResult, RateSet};
use crate::negf::BiasPoint;

/// Which dynamics (the `solver` key of `[dots_run]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DynamicsKind {
    /// Steady state per point.
    Steady,
    /// Transient evolution over each dwell (hysteresis).
    Transient,
    /// Kinetic Monte Carlo (one seeded trajectory).
    MonteCarlo,
}

impl DynamicsKind {
    /// The name used in files and outputs.
    pub fn name(self) -> &'static str {
        match self {
            DynamicsKind::Steady => "steady",
            DynamicsKind::Transient => "transient",
            DynamicsKind::MonteCarlo => "monte-carlo",
        }
    }
}

/// A time evolution over kernels.
pub trait Dynamics {
    /// Short name (`steady`, `transient`, `monte-carlo`).
    fn name(&self) -> &'static str;
    /// Reset the memory to the probabilities `p` (sweeps start from a steady state).
    fn reset(&mut self, p: &[f64]);
    /// Advance for `dwell_s` seconds under `kernel` (steady state ignores the time) and return the
    /// observables at the end of the dwell (Monte Carlo: averaged over it).
    fn step(&mut self, kernel: &Kernel, dwell_s: f64) -> Result<PointResult>;
}

/// The observables of a stationary coherent result, in the master equations' form (no states).
pub fn coherent_result(p: &BiasPoint) -> PointResult {
    PointResult {
        bias_mv: p.bias_mv,
        current_na: p.current(),
        current_right_na: p.current_into_right(),
        current_spin_na: [p.current_up(), p.current_down()],
        current_right_spin_na: [-p.channel_current_na[2], -p.channel_current_na[3]],
        current_err_na: p.error_na,
        current_noise_na: f64::NAN,
        fano: f64::NAN,
        probabilities: Vec::new(),
    }
}

/// The steady state of a kernel (probabilities; empty for a stationary kernel).
pub fn steady_state(kernel: &Kernel, options: &steady::SteadyOptions) -> Result<Vec<f64>> {
    match kernel {
        Kernel::Rates(r) => steady::solve(r, options),
        Kernel::Coherent(_) => Ok(Vec::new()),
        Kernel::Liouvillian(l) => {
            let x = l.steady()?;
            Ok(l.result(&x).probabilities)
        }
    }
}

/// Steady state of the kernel at each point (no memory, no hysteresis).
#[derive(Debug, Clone, Default)]
pub struct SteadyState {
    /// Linear-solver settings.
    pub options: steady::SteadyOptions,
}

impl Dynamics for SteadyState {
    fn name(&self) -> &'static str {
        "steady"
    }
    fn reset(&mut self, _p: &[f64]) {}
    fn step(&mut self, kernel: &Kernel, _dwell_s: f64) -> Result<PointResult> {
        match kernel {
            Kernel::Rates(rates) => {
                let p = steady::solve(rates, &self.options)?;
                Ok(PointResult::from_probabilities(rates, p))
            }
            Kernel::Coherent(b) => Ok(coherent_result(b)),
            Kernel::Liouvillian(l) => Ok(l.result(&l.steady()?)),
        }
    }
}

/// Transient evolution: probabilities propagated for the dwell time at each point.
#[derive(Debug, Clone, Default)]
pub struct Transient {
    /// Current probabilities.
    pub p: Vec<f64>,
    /// Current density-matrix vector (density-matrix kernels); empty until the first such step.
    pub rho: Vec<f64>,
}

impl Transient {
    /// Evolve the probabilities under `rates` for `dwell_s` seconds.
    pub fn advance(&mut self, rates: &RateSet, dwell_s: f64) -> Result<PointResult> {
        if self.p.len() != rates.n_states {
            self.p = steady::solve(rates, &steady::SteadyOptions::default())?;
        }
        self.p = transient::evolve(rates, &self.p, dwell_s)?;
        Ok(PointResult::from_probabilities(rates, self.p.clone()))
    }
}

impl Dynamics for Transient {
    fn name(&self) -> &'static str {
        "transient"
    }
    fn reset(&mut self, p: &[f64]) {
        self.p = p.to_vec();
        // A density matrix restarts from the steady state of the next kernel.
        self.rho.clear();
    }
    fn step(&mut self, kernel: &Kernel, dwell_s: f64) -> Result<PointResult> {
        match kernel {
            Kernel::Rates(rates) => self.advance(rates, dwell_s),
            Kernel::Coherent(b) => Ok(coherent_result(b)),
            Kernel::Liouvillian(l) => {
                if self.rho.len() != l.dim() {
                    self.rho = l.steady()?;
                }
                self.rho = l.evolve(&self.rho, dwell_s)?;
                let r = l.result(&self.rho);
                self.p = r.probabilities.clone();
                Ok(r)
            }
        }
    }
}

/// Kinetic Monte Carlo: a seeded stochastic trajectory sampled with an instrument integration time.
#[derive(Debug, Clone)]
pub struct MonteCarlo {
    /// The simulator (state + random stream).
    pub sim: kmc::Gillespie,
    /// Instrument integration time, s.
    pub integration_s: f64,
    /// Bound on the events per point.
    pub max_events: u64,
    /// The last trace (for time-trace output).
    pub last_trace: Option<kmc::KmcTrace>,
}

impl MonteCarlo {
    /// A simulator with `seed`, starting in the empty state.
    pub fn new(seed: u64, integration_s: f64, max_events: u64) -> Self {
        MonteCarlo {
            sim: kmc::Gillespie::new(seed, 0),
            integration_s,
            max_events,
            last_trace: None,
        }
    }
}

/// The error for Monte Carlo on a kernel without classical rates.
pub fn needs_rates(what: &str) -> Error {
    Error::invalid(
        "dynamics",
        format!("{what} needs a kernel of classical rates (approach = \"pauli\"); a coherent (negf) kernel is stationary and a density-matrix (1vn, redfield) kernel has coherences, not jumps: use solver = \"steady\" or \"transient\""),
    )
}

impl Dynamics for MonteCarlo {
    fn name(&self) -> &'static str {
        "monte-carlo"
    }
    /// Start from the most probable state of `p`.
    fn reset(&mut self, p: &[f64]) {
        let mut best = 0;
        for (s, &x) in p.iter().enumerate() {
            if x > p[best] {
                best = s;
            }
        }
        self.sim.state = best as u32;
    }
    fn step(&mut self, kernel: &Kernel, dwell_s: f64) -> Result<PointResult> {
        let Kernel::Rates(rates) = kernel else {
            return Err(needs_rates("Monte Carlo"));
        };
        let trace = self
            .sim
            .run(rates, dwell_s, self.integration_s, self.max_events)?;
        let r = trace.summarize(rates.bias_mv, self.integration_s);
        self.last_trace = Some(trace);
        Ok(r)
    }
}

/// The dynamics object of a kind (Monte Carlo with its seed, integration time and event bound).
pub fn build(
    kind: DynamicsKind,
    seed: u64,
    integration_s: f64,
    max_events: u64,
) -> Box<dyn Dynamics> {
    match kind {
        DynamicsKind::Steady => Box::new(SteadyState::default()),
        DynamicsKind::Transient => Box::new(Transient::default()),
        DynamicsKind::MonteCarlo => Box::new(MonteCarlo::new(seed, integration_s, max_events)),
    }
}
