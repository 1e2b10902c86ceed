//! Cancellation of long computations (sweeps, fits), for front ends that must stop a run when
//! the user asks (Ctrl-C in Python, a closed window).
//!
//! A [`Cancel`] flag is shared by reference between the thread that may cancel and the workers;
//! the cancellable variants of the run functions (`*_cancellable`) check it at every progress
//! step (a bias point, a residual evaluation) and then return [`Error::Cancelled`]. The plain
//! functions behave as before: they use a flag that is never set.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};

/// A request to stop, set from any thread and seen by every worker at its next progress step.
#[derive(Debug, Default)]
pub struct Cancel(AtomicBool);

impl Cancel {
    /// A flag that is not (yet) set.
    pub fn new() -> Self {
        Self::never()
    }

    /// A flag that is not set (usable in a `static`: the plain functions' flag).
    pub const fn never() -> Self {
        Cancel(AtomicBool::new(false))
    }

    /// Ask the computation to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether a stop was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Error::Cancelled)` once a stop was asked for.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_fails_only_after_cancel() {
        let c = Cancel::new();
        assert!(c.check().is_ok());
        c.cancel();
        assert!(matches!(c.check(), Err(Error::Cancelled)));
        assert!(c.is_cancelled());
    }
}
