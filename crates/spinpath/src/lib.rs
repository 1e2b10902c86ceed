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

// Numerical kernels index several arrays with one loop variable; iterator chains would hide the
// mathematics without making it faster.
#![allow(clippy::needless_range_loop)]

pub mod analysis;
pub mod cancel;
pub mod capacitance;
pub mod config;
pub mod device;
pub mod engine;
pub mod ensemble;
pub mod error;
pub mod fit;
pub mod io;
pub mod master;
pub mod model;
pub mod negf;
pub mod outdir;
pub mod plot;
pub mod presets;
pub mod protocol;
pub mod quad;
pub mod report;
pub mod reproduce;
pub mod run;
pub mod scan;
pub mod sweep;
pub mod table;
pub mod units;

pub use error::{Error, Result};
