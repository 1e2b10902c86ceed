//! The first-order von Neumann (1vN) approach: populations and coherences between many-body
//! eigenstates of equal charge (and equal S_z for collinear leads when H conserves it), to first
//! order in the tunnelling rates Γ, with the principal-value (level-renormalisation) terms of a
//! lead band [−D, D] (`band_meV`). Kernel: [`super::manybody::Liouvillian`] with
//! [`super::manybody::Rule::OneVn`]; conventions in docs/formalism.md.

use super::manybody::{ManyBody, Rule};
use super::{Approach, Kernel, Prepared};
use crate::device::Device;
use crate::error::{Error, Result};
use crate::master::{DotModel, Magnet};
use crate::model::MagneticState;

/// First-order von Neumann.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OneVn;

/// A many-body Hamiltonian prepared for a density-matrix approach.
pub struct DensityPrepared {
    /// The many-body Hamiltonian and lead channels.
    pub many_body: ManyBody,
    /// 1vN or Redfield.
    pub rule: Rule,
}

impl DensityPrepared {
    /// Prepare `device` in `state` for `rule` (`name` is the approach's name in messages).
    pub fn new(device: &Device, state: &MagneticState, name: &str, rule: Rule) -> Result<Self> {
        Ok(DensityPrepared {
            many_body: ManyBody::new(device, state, name, true)?,
            rule,
        })
    }
}

impl Approach for OneVn {
    fn name(&self) -> &'static str {
        "1vn"
    }
    fn prepare(&self, device: &Device, state: &MagneticState) -> Result<Box<dyn Prepared>> {
        Ok(Box::new(DensityPrepared::new(
            device,
            state,
            self.name(),
            Rule::OneVn,
        )?))
    }
}

impl Prepared for DensityPrepared {
    fn kernel(&self, bias_mv: f64) -> Result<Kernel> {
        if !bias_mv.is_finite() {
            return Err(Error::invalid(
                "bias",
                format!("bias {bias_mv} mV is not finite"),
            ));
        }
        Ok(Kernel::Liouvillian(Box::new(
            self.many_body.liouvillian(bias_mv, self.rule)?,
        )))
    }
    fn dot_model(&self) -> Option<&DotModel> {
        Some(&self.many_body.model)
    }
    fn magnet(&self) -> Option<Magnet> {
        self.many_body.collinear.then_some(self.many_body.magnet)
    }
}
