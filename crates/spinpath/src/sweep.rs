//! Bias sweeps of the coherent engine over magnetic states, in parallel.

use crate::config::CoherentRun;
use crate::error::Result;
use crate::negf::poles::PoleScratch;
use crate::negf::{BiasPoint, ChainSolver, ExchangeLink, Integration, SelfConsistency};
use rayon::prelude::*;

/// The I(V) of one magnetic state.
#[derive(Debug, Clone, PartialEq)]
pub struct StateSweep {
    /// State name (`P`, `AP`, ...).
    pub state: String,
    /// Angle of the right electrode, degrees.
    pub angle_deg: f64,
    /// One result per bias, in the order of the grid.
    pub points: Vec<BiasPoint>,
}

impl StateSweep {
    /// Biases, mV.
    pub fn bias(&self) -> Vec<f64> {
        self.points.iter().map(|p| p.bias_mv).collect()
    }
    /// Charge currents, nA.
    pub fn current(&self) -> Vec<f64> {
        self.points.iter().map(BiasPoint::current).collect()
    }
}

/// Bias points per run of the closed form's pole tracking (see [`sweep_bias`]).
pub const TRACK_RUN: usize = 64;

/// Evaluate `solver` at every bias, in parallel over bias points (rayon's global pool). `tick` is
/// called once per finished point (for progress bars); it must be cheap and thread-safe.
///
/// With the closed form (`[run.integration] method = "poles"`), the grid is cut into fixed runs of
/// [`TRACK_RUN`] consecutive points; within a run the poles are tracked from point to point
/// (Newton from the previous points' poles, see [`PoleScratch::tracking`]), and each run starts
/// with the QL eigenvalues. The runs do not depend on the number of threads, so neither do the
/// results.
pub fn sweep_bias(
    solver: &ChainSolver,
    bias_mv: &[f64],
    opts: &Integration,
    tick: &(dyn Fn() + Sync),
) -> Vec<BiasPoint> {
    if solver.uses_closed_form(opts) {
        let runs: Vec<Vec<BiasPoint>> = bias_mv
            .par_chunks(TRACK_RUN)
            .map(|run| {
                let mut scratch = PoleScratch::tracking();
                run.iter()
                    .map(|&v| {
                        let p = solver.bias_point_with(v, opts, &mut scratch);
                        tick();
                        p
                    })
                    .collect()
            })
            .collect();
        return runs.into_iter().flatten().collect();
    }
    bias_mv
        .par_iter()
        .map(|&v| {
            let p = solver.bias_point(v, opts);
            tick();
            p
        })
        .collect()
}

/// Like [`sweep_bias`], with the sites' exchange fields found self-consistently at every bias
/// (see [`ChainSolver::bias_point_self_consistent`]); without links it is [`sweep_bias`].
pub fn sweep_bias_self_consistent(
    solver: &ChainSolver,
    bias_mv: &[f64],
    opts: &Integration,
    links: &[ExchangeLink],
    sc: &SelfConsistency,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<BiasPoint>> {
    if links.is_empty() {
        return Ok(sweep_bias(solver, bias_mv, opts, tick));
    }
    bias_mv
        .par_iter()
        .map(|&v| {
            let p = solver.bias_point_self_consistent(v, opts, links, sc);
            tick();
            p
        })
        .collect()
}

/// Run every state of a validated run over its bias grid (the coherent approach on the run's
/// device).
pub fn run_states(run: &CoherentRun, tick: &(dyn Fn() + Sync)) -> Result<Vec<StateSweep>> {
    run_device_states(&run.device(), run, tick)
}

/// Run every state of `run` (names, bias grid, integration) on `device` with the coherent (NEGF)
/// approach, in parallel over bias points; self-consistent when the device has exchange links.
pub fn run_device_states(
    device: &crate::device::Device,
    run: &CoherentRun,
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<StateSweep>> {
    run_device_states_cancellable(device, run, tick, &crate::cancel::Cancel::new())
}

/// [`run_device_states`] that stops with [`crate::Error::Cancelled`] at the next bias point once
/// `cancel` is set.
pub fn run_device_states_cancellable(
    device: &crate::device::Device,
    run: &CoherentRun,
    tick: &(dyn Fn() + Sync),
    cancel: &crate::cancel::Cancel,
) -> Result<Vec<StateSweep>> {
    let negf = crate::engine::negf::Negf {
        integration: run.integration,
    };
    run.states
        .iter()
        .map(|state| {
            cancel.check()?;
            let prepared = negf.prepare_chain(device, state)?;
            let points = run
                .bias_mv
                .par_iter()
                .map(|&v| {
                    cancel.check()?;
                    let p = prepared.bias_point(v);
                    tick();
                    p
                })
                .collect::<Result<Vec<BiasPoint>>>()?;
            Ok(StateSweep {
                state: state.name.clone(),
                angle_deg: state.angle_deg,
                points,
            })
        })
        .collect()
}
