//! The Redfield (Born–Markov, no secular approximation) approach over the many-body eigenbasis:
//! the same unknowns as 1vN ([`super::onevn`]); each Fermi and principal-value factor is taken at
//! the transition energy of its own operator. Redfield does not guarantee a positive density
//! matrix: check [`super::manybody::Liouvillian::min_eigenvalue`] where Γ is not ≪ k_BT and the
//! level spacings.

use super::manybody::Rule;
use super::onevn::DensityPrepared;
use super::{Approach, Prepared};
use crate::device::Device;
use crate::error::Result;
use crate::model::MagneticState;

/// Redfield.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Redfield;

impl Approach for Redfield {
    fn name(&self) -> &'static str {
        "redfield"
    }
    fn prepare(&self, device: &Device, state: &MagneticState) -> Result<Box<dyn Prepared>> {
        Ok(Box::new(DensityPrepared::new(
            device,
            state,
            self.name(),
            Rule::Redfield,
        )?))
    }
}
