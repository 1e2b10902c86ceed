//! The coherent approach: non-interacting spinful chain, NEGF (Landauer–Büttiker, four terminals)
//! with the optional self-consistent exchange links of the device.

use super::{Approach, Kernel, Prepared};
use crate::device::Device;
use crate::error::Result;
use crate::model::MagneticState;
use crate::negf::{ChainSolver, ExchangeLink, Integration, SelfConsistency};

/// Coherent transport through a non-interacting chain.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Negf {
    /// Energy-integration settings.
    pub integration: Integration,
}

/// A chain solver finalised for one state, with the device's exchange links.
pub struct NegfPrepared {
    /// The finalised solver.
    pub solver: ChainSolver,
    integration: Integration,
    links: Vec<ExchangeLink>,
    sc: SelfConsistency,
}

impl Approach for Negf {
    fn name(&self) -> &'static str {
        "negf"
    }
    fn prepare(&self, device: &Device, state: &MagneticState) -> Result<Box<dyn Prepared>> {
        Ok(Box::new(self.prepare_chain(device, state)?))
    }
}

impl Negf {
    /// [`Approach::prepare`] with the concrete type (spectra and bond currents need the solver).
    pub fn prepare_chain(&self, device: &Device, state: &MagneticState) -> Result<NegfPrepared> {
        let chain = device.to_chain()?;
        Ok(NegfPrepared {
            solver: ChainSolver::new(&chain, state)?,
            integration: self.integration,
            links: device.exchange_links.clone(),
            sc: device.self_consistency,
        })
    }
}

impl NegfPrepared {
    /// The full coherent result at one bias (self-consistent when the device has exchange links).
    pub fn bias_point(&self, bias_mv: f64) -> Result<crate::negf::BiasPoint> {
        if self.links.is_empty() {
            Ok(self.solver.bias_point(bias_mv, &self.integration))
        } else {
            self.solver.bias_point_self_consistent(
                bias_mv,
                &self.integration,
                &self.links,
                &self.sc,
            )
        }
    }
}

impl Prepared for NegfPrepared {
    fn kernel(&self, bias_mv: f64) -> Result<Kernel> {
        Ok(Kernel::Coherent(Box::new(self.bias_point(bias_mv)?)))
    }
}
