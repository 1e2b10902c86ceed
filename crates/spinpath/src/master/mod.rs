//! Interacting dots: the sequential-tunnelling (Pauli) master equation and its solvers.
//!
//! - [`model`]: dots, spinful orbitals, leads, Fock states (bitmasks) and constant-interaction energies;
//! - [`rates`]: Fermi-golden-rule rates with spin-polarised leads, currents per lead and spin;
//! - the numerical kernels of the dynamics: [`steady`] (GTH elimination / sparse BiCGSTAB),
//!   [`transient`] (matrix exponential over a dwell time), [`kmc`] (Gillespie); the dynamics
//!   themselves are in [`crate::engine::dynamics`] and work over any approach's kernel;
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

pub use model::{Dot, DotModel, ExchangeField, Lead, LeadSide, Magnet, Orbital, Spinterface};
pub use rates::{PointResult, RateSet};

// The dynamics (steady, transient, Monte Carlo) work over any approach's kernel: see
// [`crate::engine::dynamics`].
pub use crate::engine::dynamics::{Dynamics, MonteCarlo, SteadyState, Transient};
