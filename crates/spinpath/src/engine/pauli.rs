//! The Pauli (sequential-tunnelling) master equation: Fermi-golden-rule rates between Fock states
//! of the interacting dots, spin-polarised leads, collinear magnetisations. A device with hopping or
//! exchange between dots is solved in the eigenbasis of its many-body Hamiltonian
//! ([`super::manybody`]); without them the Fock states are the eigenstates and the rates are the
//! same.

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
    /// The many-body Hamiltonian when the device has hopping or exchange.
    many_body: Option<super::manybody::ManyBody>,
}

impl PauliPrepared {
    /// Prepare directly from a validated dot model (library use, benchmarks).
    pub fn from_model(model: DotModel, magnet: Magnet) -> Self {
        PauliPrepared {
            model,
            magnet,
            many_body: None,
        }
    }
}

impl Approach for Pauli {
    fn name(&self) -> &'static str {
        "pauli"
    }
    fn prepare(&self, device: &Device, state: &MagneticState) -> Result<Box<dyn Prepared>> {
        if device.is_many_body() {
            let mb = super::manybody::ManyBody::new(device, state, self.name(), false)?;
            return Ok(Box::new(PauliPrepared {
                model: mb.model.clone(),
                magnet: mb.magnet,
                many_body: Some(mb),
            }));
        }
        let (model, magnet) = device.to_dot_model(state, self.name())?;
        Ok(Box::new(PauliPrepared {
            model,
            magnet,
            many_body: None,
        }))
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
        if let Some(mb) = &self.many_body {
            return Ok(Kernel::Rates(mb.pauli_rates(bias_mv)));
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
