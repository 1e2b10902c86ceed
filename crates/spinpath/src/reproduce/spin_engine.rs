//! Reproduction of paper 1 (the spin engine). Work in progress: see the open issue.

use super::Options;
use crate::run::RunOutput;
use crate::{Error, Result};

/// Run the reproduction (not yet available: returns an error saying so).
pub fn run(_opts: &Options, _tick: &(dyn Fn() + Sync)) -> Result<RunOutput> {
    Err(Error::invalid(
        "reproduce",
        "this reproduction is not available yet in this build",
    ))
}
