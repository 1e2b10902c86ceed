//! The Pauli (sequential-tunnelling) master equation: Fermi-golden-rule rates between Fock states
//! of the interacting dots, spin-polarised leads, collinear magnetisations.

use super::{Approach, Kernel, Prepared};
use crate::device::Device;
use crate::error::Result;
use crate::master::{DotModel, Magnet, RateSet};
use crate::model::MagneticState;

/// Sequential tunnelling (first order in Γ), no coherences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pauli;

/// The dot model of one state.
pub struct PauliPrepared {
    model: DotModel,
    magnet: Magnet,
}

impl PauliPrepared {
    /// Prepare directly from a validated dot model (library use, benchmarks).
    pub fn from_model(model: DotModel, magnet: Magnet) -> Self {
        PauliPrepared { model, magnet }
    }
}

impl Approach for Pauli {
    fn name(&self) -> &'static str {
        "pauli"
    }
    fn prepare(&self, device: &Device, state: &MagneticState) -> Result<Box<dyn Prepared>> {
        let (model, magnet) = device.to_dot_model(state, self.name())?;
        Ok(Box::new(PauliPrepared { model, magnet }))
    }
}

impl Prepared for PauliPrepared {
    fn kernel(&self, bias_mv: f64) -> Result<Kernel> {
        if !bias_mv.is_finite() {
            return Err(crate::error::Error::invalid(
                "bias",
                format!("bias {bias_mv} mV is not finite"),
            ));
        }
        Ok(Kernel::Rates(RateSet::build(
            &self.model,
            bias_mv,
            self.magnet,
        )))
    }
    fn dot_model(&self) -> Option<&DotModel> {
        Some(&self.model)
    }
    fn magnet(&self) -> Option<Magnet> {
        Some(self.magnet)
    }
}
