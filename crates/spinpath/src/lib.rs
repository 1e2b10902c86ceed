//! # spinpath
//!
//! Spin-polarised quantum transport through atom-scale paths (carbon atoms, paramagnetic centres,
//! quantum dots) in magnetic tunnel junctions: models, solvers, protocols, analysis and figures.
//!
//! Data flows one way: config (TOML) → [`model`] (validated, meV) → solver ([`negf`] for coherent
//! chains) → results ([`table::Table`]) → analysis, figures ([`plot`]) and files ([`io`]).
//! Solvers know nothing of files or the command line.
//!
//! Units everywhere: meV, mV, K, Oe, nA, nW (see [`units`]).

pub mod capacitance;
pub mod error;
pub mod io;
pub mod master;
pub mod plot;
pub mod table;
pub mod units;

pub use error::{Error, Result};
