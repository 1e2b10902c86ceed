//! Least-squares fitting of models to measurements: bounded, fixed or tied parameters, several
//! datasets fitted jointly, per-point uncertainties, several starting points, and honest
//! uncertainties (standard errors from the covariance, or a clear statement that they cannot be
//! estimated).
//!
//! The minimiser is Levenberg–Marquardt from the `levenberg-marquardt` crate (MINPACK's
//! algorithm). Models are seen only through [`FitModel`]: parameter values in, predicted curves
//! out. The Jacobian (see [`JacobianMethod`]) is analytic where the model provides one
//! ([`FitModel::predict_with_jacobian`], chained through the bound transforms and the ties), and
//! otherwise computed by finite differences, one column per free parameter, in parallel.

pub mod chain;
pub mod device;
pub mod dots;
pub mod expr;
pub mod features;
pub mod models;
pub mod params;
pub mod report;

use crate::error::{Error, Result};
use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt};
use nalgebra::{storage::Owned, DMatrix, DVector, Dyn};
use params::Parameters;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The prediction of one dataset and its derivatives: `(y, jac)` with `jac[j][k]` =
/// d y[k] / d values[wrt[j]] (one column per requested parameter, in y's unit per the parameter's
/// unit).
pub type PredictionWithJacobian = (Vec<f64>, Vec<Vec<f64>>);

/// A model that predicts every dataset from the parameter values.
pub trait FitModel: Sync {
    /// Predicted y of dataset `dataset` at abscissae `x`, given all parameter values in the order of
    /// the [`Parameters`] the fit was set up with.
    fn predict(&self, values: &[f64], dataset: usize, x: &[f64]) -> Result<Vec<f64>>;

    /// Whether [`FitModel::predict_with_jacobian`] gives the derivatives of dataset `dataset`
    /// (it must then return `Some` for it). Default: no.
    fn has_jacobian(&self, _dataset: usize) -> bool {
        false
    }

    /// The prediction of [`FitModel::predict`] together with its derivatives with respect to the
    /// parameter values `values[wrt[j]]` (see [`PredictionWithJacobian`]); parameters the model
    /// does not use get zero columns. `None`: not available (the fit then uses finite
    /// differences). The fit counts one call as one model evaluation, like one `predict`.
    fn predict_with_jacobian(
        &self,
        _values: &[f64],
        _dataset: usize,
        _x: &[f64],
        _wrt: &[usize],
    ) -> Option<Result<PredictionWithJacobian>> {
        None
    }
}

/// How the fit computes the Jacobian of the residuals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JacobianMethod {
    /// Analytic when the model provides it for every dataset ([`FitModel::has_jacobian`]), finite
    /// differences otherwise.
    #[default]
    Auto,
    /// Analytic; the fit is refused when the model has none.
    Analytic,
    /// Forward differences during the minimisation, central ones for the uncertainties.
    FiniteDifference,
}

impl JacobianMethod {
    /// The spellings of the fit file's `jacobian` key.
    pub const NAMES: [&'static str; 3] = ["auto", "analytic", "finite-difference"];

    /// `"auto"`, `"analytic"` or `"finite-difference"`.
    pub fn label(self) -> &'static str {
        match self {
            JacobianMethod::Auto => "auto",
            JacobianMethod::Analytic => "analytic",
            JacobianMethod::FiniteDifference => "finite-difference",
        }
    }

    /// Parse a label of [`JacobianMethod::NAMES`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(JacobianMethod::Auto),
            "analytic" => Some(JacobianMethod::Analytic),
            "finite-difference" => Some(JacobianMethod::FiniteDifference),
            _ => None,
        }
    }
}

/// One measured curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Name used in outputs (e.g. the magnetic state).
    pub name: String,
    /// Abscissae (e.g. bias, mV).
    pub x: Vec<f64>,
    /// Ordinates (e.g. current, nA).
    pub y: Vec<f64>,
    /// 1σ uncertainty of each y (same unit); `None`: unweighted (σ = 1).
    pub sigma: Option<Vec<f64>>,
}

impl Dataset {
    fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::invalid(format!("dataset `{}`", self.name), m));
        if self.x.len() != self.y.len() || self.x.is_empty() {
            return bad(format!(
                "x and y must be non-empty and equally long ({} vs {})",
                self.x.len(),
                self.y.len()
            ));
        }
        if let Some(k) = self
            .x
            .iter()
            .zip(&self.y)
            .position(|(a, b)| !a.is_finite() || !b.is_finite())
        {
            return bad(format!("point {} is not finite", k + 1));
        }
        if let Some(s) = &self.sigma {
            if s.len() != self.y.len() {
                return bad(format!(
                    "{} uncertainties for {} points",
                    s.len(),
                    self.y.len()
                ));
            }
            if let Some(k) = s.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
                return bad(format!(
                    "uncertainty of point {} must be > 0, got {}",
                    k + 1,
                    s[k]
                ));
            }
        }
        Ok(())
    }
}

/// Settings of a fit.
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// Number of starting points: the given start, then random ones (uniform within the bounds,
    /// or ±50 % around the start for unbounded parameters).
    pub starts: usize,
    /// Seed of the random starting points.
    pub seed: u64,
    /// Maximum number of model evaluations per start (one evaluation: one dataset's curve at one
    /// set of parameter values; a finite-difference Jacobian costs one per free parameter and
    /// dataset, an analytic one a single evaluation per dataset, prediction and derivatives
    /// together). A start that reaches it stops with the best parameters it met, is marked not
    /// converged and says so. The uncertainty step after the minimisation adds
    /// (2 × n_free + 1) × n_datasets evaluations with finite differences, n_datasets with an
    /// analytic Jacobian.
    pub max_evaluations: usize,
    /// Wall-clock budget of the whole minimisation, s (`None`: unlimited). When it runs out the
    /// current start stops with the best parameters it met, no further start begins, and the
    /// result is marked not converged with a warning.
    pub time_budget_s: Option<f64>,
    /// Relative tolerance on the sum of squares and on the parameters.
    pub tolerance: f64,
    /// Scale the covariance by the reduced χ² (lmfit's default; right when σ is unknown).
    pub scale_covariance: bool,
    /// Relative finite-difference step for the Jacobian.
    pub step: f64,
    /// How the Jacobian is computed (default: analytic where the model provides it).
    pub jacobian: JacobianMethod,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            starts: 1,
            seed: 0,
            max_evaluations: 2000,
            time_budget_s: None,
            tolerance: 1e-8,
            scale_covariance: true,
            step: 1e-6,
            jacobian: JacobianMethod::Auto,
        }
    }
}

/// The outcome of a fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitResult {
    /// Parameter names (all, in order).
    pub names: Vec<String>,
    /// Best-fit values (all).
    pub values: Vec<f64>,
    /// Standard errors; `None` for fixed parameters and where none can be estimated.
    pub stderr: Vec<Option<f64>>,
    /// How each parameter was treated: `free`, `fixed`, `tied`.
    pub kind: Vec<String>,
    /// Names of the free parameters (rows/columns of `correlation`).
    pub free_names: Vec<String>,
    /// Correlation matrix of the free parameters (NaN where not estimable).
    pub correlation: Vec<Vec<f64>>,
    /// χ² = Σ ((y − model)/σ)².
    pub chi2: f64,
    /// χ² / (N − n_free).
    pub reduced_chi2: f64,
    /// Number of data points.
    pub n_data: usize,
    /// Number of free parameters.
    pub n_free: usize,
    /// Residuals y − model per dataset (in y's unit).
    pub residuals: Vec<Vec<f64>>,
    /// Model at the best fit per dataset.
    pub best_fit: Vec<Vec<f64>>,
    /// Problems the user must know about (a parameter at a bound, a degenerate parameter, ...).
    pub warnings: Vec<String>,
    /// Whether the minimiser reported convergence.
    pub success: bool,
    /// The minimiser's termination reason.
    pub message: String,
    /// Model evaluations used (all starts).
    pub evaluations: usize,
    /// Which start gave the best fit (0 = the given start).
    pub best_start: usize,
    /// The Jacobian used: `"analytic"` or `"finite-difference"` (see [`JacobianMethod`]).
    pub jacobian: String,
}

impl FitResult {
    /// Value of a parameter by name.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.values[i])
    }
    /// Standard error of a parameter by name.
    pub fn error(&self, name: &str) -> Option<f64> {
        self.names
            .iter()
            .position(|n| n == name)
            .and_then(|i| self.stderr[i])
    }
}

/// Where a running fit stands (for progress displays).
#[derive(Debug, Clone, PartialEq)]
pub struct FitProgress {
    /// The current (or just finished) start, 0-based.
    pub start: usize,
    /// Starts finished so far.
    pub starts_done: usize,
    /// Starts in all.
    pub starts: usize,
    /// Model evaluations of the current start.
    pub evaluations: usize,
    /// The per-start budget ([`FitOptions::max_evaluations`]).
    pub max_evaluations: usize,
    /// Lowest χ² met so far in the current start (NaN before the first evaluation).
    pub best_chi2: f64,
}

/// The flag of the plain (not cancellable) functions: never set.
static NEVER: crate::cancel::Cancel = crate::cancel::Cancel::never();

/// Why a start was stopped before convergence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Evaluations,
    Time,
    Cancelled,
}

/// Limits of one start: the evaluation budget and the deadline, and the best point met.
struct Budget<'a> {
    max: usize,
    used: AtomicUsize,
    deadline: Option<std::time::Instant>,
    stopped: std::sync::Mutex<Option<Stop>>,
    best: std::sync::Mutex<(f64, Vec<f64>)>,
    starts_done: usize,
    starts: usize,
    progress: &'a (dyn Fn(&FitProgress) + Sync),
    cancel: &'a crate::cancel::Cancel,
}

impl Budget<'_> {
    fn unlimited() -> Budget<'static> {
        Budget {
            max: usize::MAX,
            used: AtomicUsize::new(0),
            deadline: None,
            stopped: std::sync::Mutex::new(None),
            best: std::sync::Mutex::new((f64::NAN, Vec::new())),
            starts_done: 0,
            starts: 0,
            progress: &|_| {},
            cancel: &NEVER,
        }
    }

    /// Reserve `n` evaluations; `false` (and the start is stopped) when over budget or time.
    fn reserve(&self, n: usize) -> bool {
        if self.stopped().is_some() {
            return false;
        }
        if self.cancel.is_cancelled() {
            self.stop(Stop::Cancelled);
            return false;
        }
        if self
            .deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
        {
            self.stop(Stop::Time);
            return false;
        }
        let before = self.used.fetch_add(n, Ordering::SeqCst);
        if before.saturating_add(n) > self.max {
            self.used.fetch_sub(n, Ordering::SeqCst);
            self.stop(Stop::Evaluations);
            return false;
        }
        true
    }

    fn stop(&self, why: Stop) {
        let mut s = self.stopped.lock().expect("not poisoned");
        if s.is_none() {
            *s = Some(why);
        }
    }

    fn stopped(&self) -> Option<Stop> {
        *self.stopped.lock().expect("not poisoned")
    }

    /// Remember `theta` if its χ² is the lowest so far, and report progress.
    fn offer(&self, chi2: f64, theta: &[f64]) {
        let best = {
            let mut b = self.best.lock().expect("not poisoned");
            if chi2.is_finite() && (b.0.is_nan() || chi2 < b.0) {
                *b = (chi2, theta.to_vec());
            }
            b.0
        };
        (self.progress)(&FitProgress {
            start: self.starts_done,
            starts_done: self.starts_done,
            starts: self.starts,
            evaluations: self.used.load(Ordering::Relaxed),
            max_evaluations: self.max,
            best_chi2: best,
        });
    }
}

struct Problem<'a, M: FitModel> {
    model: &'a M,
    params: &'a Parameters,
    data: &'a [Dataset],
    free: Vec<usize>,
    theta: DVector<f64>,
    step: f64,
    evaluations: &'a AtomicUsize,
    error: std::sync::Mutex<Option<Error>>,
    budget: &'a Budget<'a>,
    /// The last residuals and the internal parameters they were computed at: the minimiser asks
    /// for the Jacobian at the point whose residuals it has just evaluated, so the finite
    /// differences reuse them instead of evaluating the model there again.
    last: std::sync::Mutex<Option<(Vec<f64>, Vec<f64>)>>,
    /// Use the model's analytic Jacobian ([`FitModel::predict_with_jacobian`]).
    analytic: bool,
}

impl<M: FitModel> Problem<'_, M> {
    fn external(&self, theta: &[f64]) -> Vec<f64> {
        self.free
            .iter()
            .zip(theta)
            .map(|(&i, &t)| self.params.all()[i].to_external(t))
            .collect()
    }

    /// Weighted residuals (y − f)/σ for all datasets, concatenated, at the free values `x_free`.
    fn weighted(&self, x_free: &[f64]) -> Result<Vec<f64>> {
        if !self.budget.reserve(self.data.len()) {
            return Err(Error::invalid("fit", "stopped (evaluation or time budget)"));
        }
        let values = self.params.with_free(x_free)?;
        let parts: Vec<Result<Vec<f64>>> = self
            .data
            .par_iter()
            .enumerate()
            .map(|(d, ds)| {
                let f = self.model.predict(&values, d, &ds.x)?;
                self.evaluations.fetch_add(1, Ordering::Relaxed);
                if f.len() != ds.y.len() || f.iter().any(|v| !v.is_finite()) {
                    return Err(Error::Numerical {
                        context: format!("model of dataset `{}`", ds.name),
                        message: format!(
                            "non-finite or missing predictions at parameters {values:?}"
                        ),
                    });
                }
                Ok(ds
                    .y
                    .iter()
                    .zip(&f)
                    .enumerate()
                    .map(|(k, (y, m))| (y - m) / ds.sigma.as_ref().map_or(1.0, |s| s[k]))
                    .collect())
            })
            .collect();
        let mut out = Vec::new();
        for p in parts {
            out.extend(p?);
        }
        Ok(out)
    }

    /// Weighted residuals and their derivatives with respect to the free parameters' external
    /// values, from the model's analytic Jacobian: `(r, j)` with j[(n, k)] = d r_n / d x_free[k]
    /// (chained through the ties). One evaluation per dataset.
    fn weighted_analytic(&self, x_free: &[f64]) -> Result<(Vec<f64>, DMatrix<f64>)> {
        if !self.budget.reserve(self.data.len()) {
            return Err(Error::invalid("fit", "stopped (evaluation or time budget)"));
        }
        let (values, grad) = self.params.with_free_jacobian(x_free)?;
        let nf = x_free.len();
        // The parameters the free ones move: themselves and the tied ones depending on them.
        let wrt: Vec<usize> = (0..values.len())
            .filter(|&i| grad[i].iter().any(|g| *g != 0.0))
            .collect();
        let parts: Vec<Result<PredictionWithJacobian>> = self
            .data
            .par_iter()
            .enumerate()
            .map(|(d, ds)| {
                let (f, jac) = self
                    .model
                    .predict_with_jacobian(&values, d, &ds.x, &wrt)
                    .ok_or_else(|| Error::Numerical {
                        context: format!("model of dataset `{}`", ds.name),
                        message: "the model gives no analytic Jacobian here; set fit.jacobian = \"finite-difference\"".into(),
                    })??;
                self.evaluations.fetch_add(1, Ordering::Relaxed);
                let bad = f.len() != ds.y.len()
                    || jac.len() != wrt.len()
                    || f.iter().any(|v| !v.is_finite())
                    || jac
                        .iter()
                        .any(|c| c.len() != ds.y.len() || c.iter().any(|v| !v.is_finite()));
                if bad {
                    return Err(Error::Numerical {
                        context: format!("model of dataset `{}`", ds.name),
                        message: format!(
                            "non-finite or missing predictions or derivatives at parameters {values:?}"
                        ),
                    });
                }
                let sigma = |k: usize| ds.sigma.as_ref().map_or(1.0, |s| s[k]);
                let r = (0..f.len()).map(|k| (ds.y[k] - f[k]) / sigma(k)).collect();
                // d r / d x_free[c] = −Σ_j (d f / d values[wrt[j]]) (d values[wrt[j]] / d x_free[c]) / σ
                let cols = (0..nf)
                    .map(|c| {
                        (0..f.len())
                            .map(|k| {
                                -wrt.iter()
                                    .enumerate()
                                    .map(|(j, &i)| jac[j][k] * grad[i][c])
                                    .sum::<f64>()
                                    / sigma(k)
                            })
                            .collect()
                    })
                    .collect();
                Ok((r, cols))
            })
            .collect();
        let mut r = Vec::new();
        let mut cols: Vec<Vec<f64>> = vec![Vec::new(); nf];
        for p in parts {
            let (rd, cd) = p?;
            r.extend(rd);
            for (c, col) in cols.iter_mut().zip(cd) {
                c.extend(col);
            }
        }
        let j = DMatrix::from_fn(r.len(), nf, |n, c| cols[c][n]);
        Ok((r, j))
    }

    fn remember(&self, e: Error) {
        if self.budget.stopped().is_some() {
            return; // not a failure: the budget ran out
        }
        let mut slot = self.error.lock().expect("not poisoned");
        if slot.is_none() {
            *slot = Some(e);
        }
    }
}

impl<M: FitModel> LeastSquaresProblem<f64, Dyn, Dyn> for Problem<'_, M> {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, Dyn>;
    type ParameterStorage = Owned<f64, Dyn>;

    fn set_params(&mut self, x: &DVector<f64>) {
        self.theta.copy_from(x);
    }

    fn params(&self) -> DVector<f64> {
        self.theta.clone()
    }

    fn residuals(&self) -> Option<DVector<f64>> {
        match self.weighted(&self.external(self.theta.as_slice())) {
            Ok(r) => {
                let chi2: f64 = r.iter().map(|v| v * v).sum();
                self.budget.offer(chi2, self.theta.as_slice());
                *self.last.lock().expect("not poisoned") =
                    Some((self.theta.as_slice().to_vec(), r.clone()));
                Some(DVector::from_vec(r))
            }
            Err(e) => {
                self.remember(e);
                None
            }
        }
    }

    fn jacobian(&self) -> Option<DMatrix<f64>> {
        let theta = self.theta.as_slice();
        if self.analytic {
            // Chain rule through the bound transform: d r / d θ_k = (d r / d x_k)(d x_k / d θ_k).
            return match self.weighted_analytic(&self.external(theta)) {
                Ok((_, mut j)) => {
                    for (k, (&i, &t)) in self.free.iter().zip(theta).enumerate() {
                        let s = self.params.all()[i].external_derivative(t);
                        j.column_mut(k).scale_mut(s);
                    }
                    Some(j)
                }
                Err(e) => {
                    self.remember(e);
                    None
                }
            };
        }
        let cached = self
            .last
            .lock()
            .expect("not poisoned")
            .as_ref()
            .filter(|(t, _)| t.as_slice() == theta)
            .map(|(_, r)| r.clone());
        let base = match cached.map_or_else(|| self.weighted(&self.external(theta)), Ok) {
            Ok(r) => r,
            Err(e) => {
                self.remember(e);
                return None;
            }
        };
        let cols: Vec<Result<Vec<f64>>> = (0..theta.len())
            .into_par_iter()
            .map(|k| {
                let h = self.step * theta[k].abs().max(1e-3);
                let mut t = theta.to_vec();
                t[k] += h;
                let r = self.weighted(&self.external(&t))?;
                Ok(r.iter().zip(&base).map(|(a, b)| (a - b) / h).collect())
            })
            .collect();
        let mut j = DMatrix::zeros(base.len(), theta.len());
        for (k, c) in cols.into_iter().enumerate() {
            match c {
                Ok(c) => j.set_column(k, &DVector::from_vec(c)),
                Err(e) => {
                    self.remember(e);
                    return None;
                }
            }
        }
        Some(j)
    }
}

/// Fit `model` to `data`, starting from `params`. `progress` is told the number of starts done.
pub fn fit<M: FitModel>(
    model: &M,
    params: &Parameters,
    data: &[Dataset],
    opts: &FitOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<FitResult> {
    let done = AtomicUsize::new(0);
    fit_with_progress(model, params, data, opts, &|p| {
        if done.swap(p.starts_done, Ordering::Relaxed) != p.starts_done {
            progress(p.starts_done);
        }
    })
}

/// [`fit`], telling `progress` where the fit stands after every evaluation of the residuals and
/// after every start (for a progress display on a terminal).
pub fn fit_with_progress<M: FitModel>(
    model: &M,
    params: &Parameters,
    data: &[Dataset],
    opts: &FitOptions,
    progress: &(dyn Fn(&FitProgress) + Sync),
) -> Result<FitResult> {
    fit_cancellable(model, params, data, opts, progress, &NEVER)
}

/// [`fit_with_progress`] that stops with [`Error::Cancelled`] at the next evaluation of the
/// residuals once `cancel` is set (for interactive front ends: Ctrl-C in Python).
pub fn fit_cancellable<M: FitModel>(
    model: &M,
    params: &Parameters,
    data: &[Dataset],
    opts: &FitOptions,
    progress: &(dyn Fn(&FitProgress) + Sync),
    cancel: &crate::cancel::Cancel,
) -> Result<FitResult> {
    if let Some(t) = opts.time_budget_s {
        if !(t.is_finite() && t > 0.0) {
            return Err(Error::invalid(
                "fit",
                format!("time_budget_s must be a finite number of seconds > 0, got {t}"),
            ));
        }
    }
    let deadline = opts
        .time_budget_s
        .map(|t| std::time::Instant::now() + std::time::Duration::from_secs_f64(t.min(1e9)));
    if data.is_empty() {
        return Err(Error::invalid("fit", "no datasets"));
    }
    for d in data {
        d.validate()?;
    }
    let free = params.free();
    let n_data: usize = data.iter().map(|d| d.y.len()).sum();
    if free.is_empty() {
        return Err(Error::invalid(
            "fit",
            "no free parameter: set `vary = true` (or give bounds) on at least one",
        ));
    }
    if n_data < free.len() {
        return Err(Error::invalid(
            "fit",
            format!(
                "{n_data} data points cannot determine {} free parameters",
                free.len()
            ),
        ));
    }
    let analytic = match opts.jacobian {
        JacobianMethod::FiniteDifference => false,
        JacobianMethod::Auto => (0..data.len()).all(|d| model.has_jacobian(d)),
        JacobianMethod::Analytic => {
            if let Some(d) = (0..data.len()).find(|&d| !model.has_jacobian(d)) {
                return Err(Error::invalid(
                    "fit.jacobian",
                    format!(
                        "\"analytic\": the model has no analytic Jacobian for dataset `{}` (only the master-equation [dots] model without an induced exchange field, up to 4 orbitals and without [[feature]] targets, has one); use \"auto\" or \"finite-difference\"",
                        data[d].name
                    ),
                ));
            }
            true
        }
    };
    let evaluations = AtomicUsize::new(0);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(opts.seed);
    let mut best: Option<(f64, Vec<f64>, String, bool, usize)> = None;
    let mut last_error: Option<Error> = None;
    let mut stops = Vec::new();
    let starts = opts.starts.max(1);
    for start in 0..starts {
        cancel.check()?;
        if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            stops.push(format!(
                "the time budget of {} s ran out after {start} of {starts} starts",
                opts.time_budget_s.unwrap_or(0.0)
            ));
            break;
        }
        let x0: Vec<f64> = free
            .iter()
            .map(|&i| {
                let p = &params.all()[i];
                if start == 0 {
                    p.value
                } else if p.min.is_finite() && p.max.is_finite() {
                    rng.random_range(p.min..=p.max)
                } else {
                    let x = p.value + rng.random_range(-0.5..=0.5) * p.value.abs().max(1.0);
                    x.clamp(p.min, p.max)
                }
            })
            .collect();
        let theta: Vec<f64> = free
            .iter()
            .zip(&x0)
            .map(|(&i, &x)| params.all()[i].to_internal(x))
            .collect();
        let budget = Budget {
            max: opts.max_evaluations,
            used: AtomicUsize::new(0),
            deadline,
            stopped: std::sync::Mutex::new(None),
            best: std::sync::Mutex::new((f64::NAN, Vec::new())),
            starts_done: start,
            starts,
            progress,
            cancel,
        };
        let problem = Problem {
            model,
            params,
            data,
            free: free.clone(),
            theta: DVector::from_vec(theta),
            step: opts.step,
            evaluations: &evaluations,
            error: std::sync::Mutex::new(None),
            budget: &budget,
            last: std::sync::Mutex::new(None),
            analytic,
        };
        let lm = LevenbergMarquardt::new()
            .with_ftol(opts.tolerance)
            .with_xtol(opts.tolerance)
            .with_patience((opts.max_evaluations / (free.len() + 1)).max(1));
        let (problem, report) = lm.minimize(problem);
        let stopped = budget.stopped();
        if stopped == Some(Stop::Cancelled) {
            return Err(Error::Cancelled);
        }
        progress(&FitProgress {
            start,
            starts_done: start + 1,
            starts,
            evaluations: budget.used.load(Ordering::Relaxed),
            max_evaluations: budget.max,
            best_chi2: budget.best.lock().expect("not poisoned").0,
        });
        if let Some(e) = problem.error.lock().expect("not poisoned").take() {
            last_error = Some(e);
            continue;
        }
        let (x, chi2, message, success) = match stopped {
            None => (
                problem.external(problem.theta.as_slice()),
                2.0 * report.objective_function,
                format!("{:?}", report.termination),
                report.termination.was_successful(),
            ),
            Some(why) => {
                let (chi2, theta) = budget.best.lock().expect("not poisoned").clone();
                let why = match why {
                    Stop::Evaluations => format!(
                        "start {} stopped at max_evaluations = {} before converging",
                        start + 1,
                        opts.max_evaluations
                    ),
                    Stop::Time => format!(
                        "start {} stopped by the time budget of {} s before converging",
                        start + 1,
                        opts.time_budget_s.unwrap_or(0.0)
                    ),
                    // Returned as an error right after the start (above).
                    Stop::Cancelled => return Err(Error::Cancelled),
                };
                stops.push(why.clone());
                if theta.is_empty() {
                    continue;
                }
                (problem.external(&theta), chi2, why, false)
            }
        };
        if chi2.is_finite() && best.as_ref().is_none_or(|b| chi2 < b.0) {
            best = Some((chi2, x, message, success, start));
        }
        if stopped == Some(Stop::Time) {
            break;
        }
    }
    let Some((_, x_best, message, success, best_start)) = best else {
        return Err(last_error.unwrap_or_else(|| Error::Numerical {
            context: "fit".into(),
            message: if stops.is_empty() {
                "no start produced a finite χ²".into()
            } else {
                format!(
                    "{}: no finite χ² yet (raise fit.max_evaluations or fit.time_budget_s)",
                    stops.join("; ")
                )
            },
        }));
    };
    let values = params.with_free(&x_best)?;
    let mut result = uncertainties(
        model,
        params,
        data,
        opts,
        &free,
        x_best,
        values,
        n_data,
        message,
        success,
        evaluations.load(Ordering::Relaxed),
        best_start,
        analytic,
    )?;
    let mut first = Vec::new();
    for d in data.iter().filter(|d| d.sigma.is_none()) {
        first.push(format!(
            "dataset `{}` has no uncertainties (sigma): its points are weighted equally, χ² is no goodness-of-fit measure, and the standard errors rest on the scatter around the fit (give sigma_nA or a sigma column)",
            d.name
        ));
    }
    for s in &stops {
        if !result.message.contains(s.as_str()) {
            first.push(s.clone());
        }
    }
    first.append(&mut result.warnings);
    result.warnings = first;
    Ok(result)
}

#[allow(clippy::too_many_arguments)]
fn uncertainties<M: FitModel>(
    model: &M,
    params: &Parameters,
    data: &[Dataset],
    opts: &FitOptions,
    free: &[usize],
    x_best: Vec<f64>,
    values: Vec<f64>,
    n_data: usize,
    message: String,
    success: bool,
    evaluations: usize,
    best_start: usize,
    analytic: bool,
) -> Result<FitResult> {
    let counter = AtomicUsize::new(0);
    let unlimited = Budget::unlimited();
    let problem = Problem {
        model,
        params,
        data,
        free: free.to_vec(),
        theta: DVector::zeros(free.len()),
        step: opts.step,
        evaluations: &counter,
        error: std::sync::Mutex::new(None),
        budget: &unlimited,
        last: std::sync::Mutex::new(None),
        analytic,
    };
    // With an analytic Jacobian one evaluation per dataset gives the residuals and the Jacobian.
    let analytic_j = if analytic {
        Some(problem.weighted_analytic(&x_best)?)
    } else {
        None
    };
    let r0 = match &analytic_j {
        Some((r, _)) => r.clone(),
        None => problem.weighted(&x_best)?,
    };
    let chi2: f64 = r0.iter().map(|r| r * r).sum();
    let dof = n_data.saturating_sub(free.len());
    let reduced = if dof > 0 { chi2 / dof as f64 } else { f64::NAN };
    let mut warnings = Vec::new();

    // Which free parameters sit at a bound: no standard error there.
    let at_bound: Vec<bool> = free
        .iter()
        .zip(&x_best)
        .map(|(&i, &x)| {
            let p = &params.all()[i];
            let span = if p.min.is_finite() && p.max.is_finite() {
                p.max - p.min
            } else {
                x.abs().max(1.0)
            };
            (p.min.is_finite() && x - p.min <= 1e-6 * span)
                || (p.max.is_finite() && p.max - x <= 1e-6 * span)
        })
        .collect();
    for (k, &b) in at_bound.iter().enumerate() {
        if b {
            warnings.push(format!("parameter `{}` is at a bound ({}): its uncertainty cannot be estimated; widen the bound or fix it", params.all()[free[k]].name, x_best[k]));
        }
    }

    // Jacobian in external coordinates: the analytic one, or central differences (one-sided at
    // bounds); no finite-difference column when the analytic one is there.
    let n_fd = if analytic_j.is_some() { 0 } else { free.len() };
    let cols: Vec<Result<Vec<f64>>> = (0..n_fd)
        .into_par_iter()
        .map(|k| {
            let p = &params.all()[free[k]];
            let h = 1e-4
                * x_best[k]
                    .abs()
                    .max(if p.min.is_finite() && p.max.is_finite() {
                        1e-2 * (p.max - p.min)
                    } else {
                        1e-2
                    });
            let (lo, hi) = ((x_best[k] - h).max(p.min), (x_best[k] + h).min(p.max));
            let mut a = x_best.clone();
            a[k] = lo;
            let mut b = x_best.clone();
            b[k] = hi;
            let (ra, rb) = (problem.weighted(&a)?, problem.weighted(&b)?);
            // d(model)/dx = −d(residual)/dx
            Ok(ra
                .iter()
                .zip(&rb)
                .map(|(u, v)| -(v - u) / (hi - lo))
                .collect())
        })
        .collect();
    let mut j = DMatrix::zeros(n_data, free.len());
    for (k, c) in cols.into_iter().enumerate() {
        j.set_column(k, &DVector::from_vec(c?));
    }
    if let Some((_, ja)) = analytic_j {
        // d(model/σ)/dx = −d(residual)/dx
        j = -ja;
    }
    let jtj = j.transpose() * &j;
    // Degeneracy: normalise to a correlation-like matrix and look for (near-)null directions.
    let nf = free.len();
    let diag: Vec<f64> = (0..nf).map(|k| jtj[(k, k)]).collect();
    let mut degenerate = vec![false; nf];
    for k in 0..nf {
        if diag[k].is_nan() || diag[k] <= 0.0 {
            degenerate[k] = true;
        }
    }
    let active: Vec<usize> = (0..nf)
        .filter(|&k| !degenerate[k] && !at_bound[k])
        .collect();
    let norm = |a: usize, b: usize| {
        jtj[(active[a], active[b])] / (diag[active[a]] * diag[active[b]]).sqrt()
    };
    let na = active.len();
    if na > 0 {
        let c = DMatrix::from_fn(na, na, norm);
        let eig = c.clone().symmetric_eigen();
        let lmax = eig.eigenvalues.iter().copied().fold(0.0, f64::max);
        for (e, v) in eig.eigenvalues.iter().zip(eig.eigenvectors.column_iter()) {
            if *e < 1e-10 * lmax {
                for a in 0..na {
                    if v[a].abs() > 0.1 {
                        degenerate[active[a]] = true;
                    }
                }
            }
        }
    }
    for k in 0..nf {
        if degenerate[k] {
            warnings.push(format!(
                "parameter `{}` is degenerate: the data do not constrain it (or it is fully correlated with another); its uncertainty cannot be estimated — fix or tie it",
                params.all()[free[k]].name
            ));
        }
    }
    let active: Vec<usize> = (0..nf)
        .filter(|&k| !degenerate[k] && !at_bound[k])
        .collect();
    let mut cov = DMatrix::from_element(nf, nf, f64::NAN);
    if !active.is_empty() {
        let sub = DMatrix::from_fn(active.len(), active.len(), |a, b| {
            jtj[(active[a], active[b])]
        });
        match sub.try_inverse() {
            Some(inv) => {
                let scale = if opts.scale_covariance && reduced.is_finite() {
                    reduced
                } else {
                    1.0
                };
                for (a, &ka) in active.iter().enumerate() {
                    for (b, &kb) in active.iter().enumerate() {
                        cov[(ka, kb)] = inv[(a, b)] * scale;
                    }
                }
            }
            None => warnings.push("the covariance matrix is singular: no uncertainties".into()),
        }
    }
    let mut stderr = vec![None; params.all().len()];
    for (k, &i) in free.iter().enumerate() {
        let v = cov[(k, k)];
        if v.is_finite() && v >= 0.0 {
            stderr[i] = Some(v.sqrt());
        }
    }
    // Tied parameters: propagate through the expression's gradient.
    for (i, p) in params.all().iter().enumerate() {
        if p.expr.is_none() {
            continue;
        }
        let mut grad = vec![0.0; nf];
        for k in 0..nf {
            let h = 1e-6 * x_best[k].abs().max(1e-3);
            let mut a = x_best.clone();
            a[k] += h;
            grad[k] = (params.with_free(&a)?[i] - values[i]) / h;
        }
        let mut var = 0.0;
        let mut ok = true;
        for a in 0..nf {
            for b in 0..nf {
                if grad[a] != 0.0 && grad[b] != 0.0 {
                    let c = cov[(a, b)];
                    if !c.is_finite() {
                        ok = false;
                    }
                    var += grad[a] * grad[b] * c;
                }
            }
        }
        if ok && var >= 0.0 {
            stderr[i] = Some(var.sqrt());
        }
    }
    let correlation: Vec<Vec<f64>> = (0..nf)
        .map(|a| {
            (0..nf)
                .map(|b| cov[(a, b)] / (cov[(a, a)] * cov[(b, b)]).sqrt())
                .collect()
        })
        .collect();

    let mut residuals = Vec::new();
    let mut best_fit = Vec::new();
    for (d, ds) in data.iter().enumerate() {
        let f = model.predict(&values, d, &ds.x)?;
        residuals.push(ds.y.iter().zip(&f).map(|(y, m)| y - m).collect());
        best_fit.push(f);
    }
    if !success {
        warnings.push(format!(
            "the minimiser did not report convergence ({message})"
        ));
    }
    Ok(FitResult {
        names: params.all().iter().map(|p| p.name.clone()).collect(),
        values,
        stderr,
        kind: params
            .all()
            .iter()
            .map(|p| {
                if p.expr.is_some() {
                    "tied"
                } else if p.vary {
                    "free"
                } else {
                    "fixed"
                }
                .to_string()
            })
            .collect(),
        free_names: free.iter().map(|&i| params.all()[i].name.clone()).collect(),
        correlation,
        chi2,
        reduced_chi2: reduced,
        n_data,
        n_free: nf,
        residuals,
        best_fit,
        warnings,
        success,
        message,
        evaluations: evaluations + counter.load(Ordering::Relaxed),
        best_start,
        jacobian: if analytic {
            JacobianMethod::Analytic.label()
        } else {
            JacobianMethod::FiniteDifference.label()
        }
        .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::params::Param;
    use super::*;

    /// y = a·exp(−x/τ) + b·x + c with its analytic derivatives; values [a, τ, b, c, k].
    struct Decay;
    impl FitModel for Decay {
        fn predict(&self, v: &[f64], _: usize, x: &[f64]) -> Result<Vec<f64>> {
            Ok(x.iter()
                .map(|x| v[0] * (-x / v[1]).exp() + v[2] * x + v[3])
                .collect())
        }
        fn has_jacobian(&self, _: usize) -> bool {
            true
        }
        fn predict_with_jacobian(
            &self,
            v: &[f64],
            d: usize,
            x: &[f64],
            wrt: &[usize],
        ) -> Option<Result<PredictionWithJacobian>> {
            let y = self.predict(v, d, x).ok()?;
            let col = |i: usize| -> Vec<f64> {
                x.iter()
                    .map(|x| {
                        let e = (-x / v[1]).exp();
                        match i {
                            0 => e,
                            1 => v[0] * e * x / (v[1] * v[1]),
                            2 => *x,
                            3 => 1.0,
                            _ => 0.0,
                        }
                    })
                    .collect()
            };
            Some(Ok((y, wrt.iter().map(|&i| col(i)).collect())))
        }
    }

    #[test]
    fn analytic_jacobian_chains_through_bounds_and_ties() {
        // Both bounds, lower only, upper only, and a tied parameter driven by a free helper.
        let params = Parameters::new(vec![
            Param::new("a", 1.5).bounds(0.0, 4.0),
            Param::new("tau", 0.8).bounds(0.1, f64::INFINITY),
            Param::new("b", -0.3).bounds(f64::NEG_INFINITY, 1.0),
            Param::new("c", 0.0).tied(super::expr::Expr::parse("k ^ 2 - a").unwrap()),
            Param::new("k", 0.7),
        ])
        .unwrap();
        let data = vec![Dataset {
            name: "d".into(),
            x: (0..20).map(|k| 0.2 * k as f64).collect(),
            y: (0..20).map(|k| (0.1 * k as f64).cos()).collect(),
            sigma: Some((0..20).map(|k| 0.05 + 0.01 * k as f64).collect()),
        }];
        let counter = AtomicUsize::new(0);
        let budget = Budget::unlimited();
        let free = params.free();
        let theta: Vec<f64> = free
            .iter()
            .zip([1.1, 1.3, -0.9, 0.4])
            .map(|(&i, x)| params.all()[i].to_internal(x))
            .collect();
        let problem = |analytic| Problem {
            model: &Decay,
            params: &params,
            data: &data,
            free: free.clone(),
            theta: DVector::from_vec(theta.clone()),
            step: 1e-6,
            evaluations: &counter,
            error: std::sync::Mutex::new(None),
            budget: &budget,
            last: std::sync::Mutex::new(None),
            analytic,
        };
        let p = problem(true);
        let j = p.jacobian().unwrap();
        assert_eq!(
            counter.load(Ordering::Relaxed),
            1,
            "one evaluation per dataset"
        );
        for k in 0..theta.len() {
            let h = 1e-6;
            let mut a = theta.clone();
            a[k] -= h;
            let mut b = theta.clone();
            b[k] += h;
            let (ra, rb) = (
                p.weighted(&p.external(&a)).unwrap(),
                p.weighted(&p.external(&b)).unwrap(),
            );
            for n in 0..ra.len() {
                let fd = (rb[n] - ra[n]) / (2.0 * h);
                assert!(
                    (j[(n, k)] - fd).abs() < 1e-7 * fd.abs().max(1.0),
                    "column {k}, row {n}: analytic {}, central {fd}",
                    j[(n, k)]
                );
            }
        }
        // The forward-difference Jacobian agrees to its own accuracy.
        let jf = problem(false).jacobian().unwrap();
        assert!((&jf - &j).amax() < 1e-4 * j.amax(), "{jf} vs {j}");
    }
}
