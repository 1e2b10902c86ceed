//! Interacting dots: the sequential-tunnelling (Pauli) master equation and its solvers.
//!
//! - [`model`]: dots, spinful orbitals, leads, Fock states (bitmasks) and constant-interaction energies;
//! - [`rates`]: Fermi-golden-rule rates with spin-polarised leads, currents per lead and spin;
//! - three interchangeable solvers behind [`DotSolver`]: [`SteadyState`] (dense LU / sparse
//!   BiCGSTAB), [`Transient`] (matrix exponential over a dwell time), [`MonteCarlo`] (Gillespie);
//! - [`spec`]: the `[dots]` / `[dots_run]` TOML sections; [`protocol`]: bias sweeps, ON/OFF branches,
//!   peaks, writing events and the summary of a run.
//!
//! Units: meV (energies, Γ), mV (bias), K, s (times), nA (currents).

pub mod kmc;
pub mod model;
pub mod protocol;
pub mod rates;
pub mod spec;
pub mod steady;
pub mod transient;

pub use model::{Dot, DotModel, ExchangeField, Lead, LeadSide, Magnet, Orbital};
pub use rates::{PointResult, RateSet};

use crate::error::Result;

/// A solver that advances (or solves) the dots at one bias point.
///
/// The protocol calls [`DotSolver::step`] once per bias point, in order; solvers with memory
/// (transient, Monte Carlo) carry their state from one point to the next.
pub trait DotSolver {
    /// Short name (`steady`, `transient`, `monte-carlo`).
    fn name(&self) -> &'static str;
    /// Reset the memory to the probabilities `p` (the protocol starts from a steady state).
    fn reset(&mut self, p: &[f64]);
    /// Advance for `dwell_s` seconds at the given rates (steady state ignores the time) and return
    /// the observables at the end of the dwell (Monte Carlo: averaged over it).
    fn step(&mut self, rates: &RateSet, dwell_s: f64) -> Result<PointResult>;
}

/// Steady state of the master equation at each point (no memory, no hysteresis).
#[derive(Debug, Clone, Default)]
pub struct SteadyState {
    /// Linear-solver settings.
    pub options: steady::SteadyOptions,
}

impl DotSolver for SteadyState {
    fn name(&self) -> &'static str {
        "steady"
    }
    fn reset(&mut self, _p: &[f64]) {}
    fn step(&mut self, rates: &RateSet, _dwell_s: f64) -> Result<PointResult> {
        let p = steady::solve(rates, &self.options)?;
        Ok(PointResult::from_probabilities(rates, p))
    }
}

/// Transient evolution: probabilities propagated for the dwell time at each point.
#[derive(Debug, Clone, Default)]
pub struct Transient {
    /// Current probabilities.
    pub p: Vec<f64>,
}

impl DotSolver for Transient {
    fn name(&self) -> &'static str {
        "transient"
    }
    fn reset(&mut self, p: &[f64]) {
        self.p = p.to_vec();
    }
    fn step(&mut self, rates: &RateSet, dwell_s: f64) -> Result<PointResult> {
        if self.p.len() != rates.n_states {
            self.p = steady::solve(rates, &steady::SteadyOptions::default())?;
        }
        self.p = transient::evolve(rates, &self.p, dwell_s)?;
        Ok(PointResult::from_probabilities(rates, self.p.clone()))
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

impl DotSolver for MonteCarlo {
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
    fn step(&mut self, rates: &RateSet, dwell_s: f64) -> Result<PointResult> {
        let trace = self
            .sim
            .run(rates, dwell_s, self.integration_s, self.max_events)?;
        let r = trace.summarize(rates.bias_mv, self.integration_s);
        self.last_trace = Some(trace);
        Ok(r)
    }
}
