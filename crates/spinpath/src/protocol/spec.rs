//! The validated description of a protocol run (built from `[protocol]` by
//! [`crate::config::protocol`]): what to measure, in which order, with which instrument.

use super::{Instrument, PlannedPoint};

/// Which protocol a run executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolKind {
    /// I(V) sweeps (paper 1 Fig. 2c; paper 2 SI Note 1).
    IvSweep,
    /// I(H) loops at fixed bias (paper 1 Fig. 2a, b).
    IhLoop,
    /// Current statistics: many readings per bias, histogram of the deviation from the mean.
    Statistics,
    /// Write/read cycles (paper 2, SI Note 3): a write sweep, then a read; repeated.
    WriteRead,
}

impl ProtocolKind {
    /// The name used in files (`iv_sweep`, `ih_loop`, `statistics`).
    pub fn name(self) -> &'static str {
        match self {
            ProtocolKind::IvSweep => "iv_sweep",
            ProtocolKind::IhLoop => "ih_loop",
            ProtocolKind::Statistics => "statistics",
            ProtocolKind::WriteRead => "write_read",
        }
    }
}

/// A validated protocol: the plan to execute and how to measure it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolSpec {
    /// The protocol.
    pub kind: ProtocolKind,
    /// Seed of every random stream (instrument noise, stochastic junctions).
    pub seed: u64,
    /// The instrument.
    pub instrument: Instrument,
    /// Histogram bin of the current statistics, nA.
    pub bin_na: f64,
    /// Free-layer switching fields (up, down) of the stack, Oe (I(H) loops).
    pub switching_fields_oe: Option<(f64, f64)>,
    /// Every point to measure, in order.
    pub plan: Vec<PlannedPoint>,
    /// Write/read settings: (written level is the higher |I|, jump threshold in σ).
    pub write_read: Option<WriteReadSettings>,
    /// Rate kernels (interacting dots): evolve by the `"transient"` master equation (default),
    /// `"monte_carlo"` trajectories or the `"steady"` state at every point.
    pub dynamics: Option<crate::engine::dynamics::DynamicsKind>,
    /// Interacting-dot junctions: the gating dot that labels the ON/OFF branch.
    pub gating_dot: Option<String>,
    /// Interacting-dot junctions, Monte Carlo: maximum events per reading.
    pub max_events: u64,
}

/// How write/read cycles are judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriteReadSettings {
    /// A write succeeded when the read |current| is in the higher (true) or lower (false) level.
    pub written_high: bool,
    /// Jump detection threshold, in robust σ of the point-to-point differences.
    pub jump_threshold: f64,
}
