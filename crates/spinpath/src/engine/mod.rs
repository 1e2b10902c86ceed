//! Approaches: interchangeable ways to solve one [`Device`], behind one seam.
//!
//! As in QmeQ (one system, many kernels) but typed: an [`Approach`] *prepares* a device in one
//! magnetic state (checks that the device fits it and precomputes what does not depend on the bias)
//! and then gives a [`Kernel`] at each bias. What happens in time is a [`dynamics::Dynamics`] —
//! steady state, transient evolution or kinetic Monte Carlo — over any kernel, not a separate
//! solver per approach.
//!
//! | approach | file | device it takes | kernel |
//! |---|---|---|---|
//! | `negf` | [`negf`] | non-interacting nearest-neighbour chain, any lead angles | stationary currents (Landauer–Büttiker) |
//! | `pauli` | [`pauli`] | interacting dots, collinear leads (hopping/exchange: in the eigenbasis, [`manybody`]) | classical rates between many-body states |
//! | `1vn` | [`onevn`] | interacting dots with hopping/exchange, any lead angles | Liouvillian over the density matrix |
//! | `redfield` | [`redfield`] | as `1vn` | Liouvillian over the density matrix |
//! | `cotunneling` | [`cotunneling`] | as `pauli` | sequential + cotunnelling rates between spectrum states |
//!
//! Adding an approach is one new file with a type implementing [`Approach`] plus one line in
//! [`ApproachKind`] (its name and constructor).

pub mod cotunneling;
pub mod dynamics;
pub mod fransson;
pub mod manybody;
pub mod negf;
pub mod onevn;
pub mod pauli;
pub mod redfield;
pub mod spectrum;

use crate::device::Device;
use crate::error::{Error, Result};
use crate::master::{DotModel, Magnet, RateSet};
use crate::model::MagneticState;
use crate::negf::{BiasPoint, Integration};

/// What an approach gives at one bias point.
#[derive(Debug, Clone)]
pub enum Kernel {
    /// Classical transition rates between many-body states (Pauli master equation): the state is a
    /// probability vector; steady, transient and Monte Carlo dynamics apply.
    Rates(RateSet),
    /// A stationary coherent result (no internal state): every dynamics gives the same answer,
    /// Monte Carlo does not apply.
    Coherent(Box<BiasPoint>),
    /// A generator over the density matrix (populations and coherences; 1vN, Redfield): steady
    /// and transient dynamics apply, Monte Carlo does not.
    Liouvillian(Box<manybody::Liouvillian>),
}

impl Kernel {
    /// Size of the state vector the dynamics evolve (0 for a stationary kernel).
    pub fn dim(&self) -> usize {
        match self {
            Kernel::Rates(r) => r.n_states,
            Kernel::Coherent(_) => 0,
            Kernel::Liouvillian(l) => l.dim(),
        }
    }
    /// Bias of this kernel, mV.
    pub fn bias_mv(&self) -> f64 {
        match self {
            Kernel::Rates(r) => r.bias_mv,
            Kernel::Coherent(p) => p.bias_mv,
            Kernel::Liouvillian(l) => l.bias_mv,
        }
    }
}

/// An approach prepared for one device in one magnetic state.
pub trait Prepared: Send + Sync {
    /// The kernel at bias `bias_mv` (mV).
    fn kernel(&self, bias_mv: f64) -> Result<Kernel>;
    /// The dot model behind a many-body kernel (state labels, dot charges); `None` for coherent.
    fn dot_model(&self) -> Option<&DotModel> {
        None
    }
    /// The collinear configuration, when the approach needs one.
    fn magnet(&self) -> Option<Magnet> {
        None
    }
}

/// A way to solve a device.
pub trait Approach: Send + Sync {
    /// The name used in run files and Python (`approach = "..."`).
    fn name(&self) -> &'static str;
    /// Check that `device` fits this approach in `state` and precompute; errors say what does not
    /// fit and which approach would.
    fn prepare(&self, device: &Device, state: &MagneticState) -> Result<Box<dyn Prepared>>;
}

/// Settings an approach may use (energy integration of the coherent engine).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ApproachSettings {
    /// Energy-integration settings (coherent engine).
    pub integration: Integration,
}

/// The registry of approaches: names and constructors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApproachKind {
    /// Coherent non-interacting transport (NEGF / Landauer–Büttiker).
    Negf,
    /// Sequential tunnelling (Pauli master equation), the default for interacting dots.
    #[default]
    Pauli,
    /// Sequential plus cotunnelling (second-order) rates in one master equation.
    Cotunneling,
    /// First-order von Neumann: populations and coherences of the many-body eigenstates.
    OneVn,
    /// Redfield (Born–Markov without the secular approximation).
    Redfield,
}

impl ApproachKind {
    /// Every registered approach.
    pub const ALL: [ApproachKind; 5] = [
        ApproachKind::Negf,
        ApproachKind::Pauli,
        ApproachKind::Cotunneling,
        ApproachKind::OneVn,
        ApproachKind::Redfield,
    ];

    /// The name used in files.
    pub fn name(self) -> &'static str {
        match self {
            ApproachKind::Negf => "negf",
            ApproachKind::Pauli => "pauli",
            ApproachKind::Cotunneling => "cotunneling",
            ApproachKind::OneVn => "1vn",
            ApproachKind::Redfield => "redfield",
        }
    }

    /// The registered names, comma-separated (for messages).
    pub fn names() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|a| a.name()).collect();
        names.join(", ")
    }

    /// Look up an approach by name; the error lists the registered names.
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| {
                Error::invalid(
                    "approach",
                    format!("unknown approach `{name}`; allowed: {}", Self::names()),
                )
            })
    }

    /// The approach object.
    pub fn build(self, settings: &ApproachSettings) -> Box<dyn Approach> {
        match self {
            ApproachKind::Negf => Box::new(negf::Negf {
                integration: settings.integration,
            }),
            ApproachKind::Pauli => Box::new(pauli::Pauli),
            ApproachKind::Cotunneling => Box::new(cotunneling::Cotunneling),
            ApproachKind::OneVn => Box::new(onevn::OneVn),
            ApproachKind::Redfield => Box::new(redfield::Redfield),
        }
    }
}
