//! Steady state of the Pauli master equation dp/dt = L·p.
//!
//! The generator has L[to][from] = W(from → to) and L[s][s] = −Σ W(s → ·); its columns sum to zero, so
//! one balance equation is redundant and is replaced by the normalisation Σ p = 1. Small systems are
//! solved by dense LU with partial pivoting (nalgebra); large ones by a sparse, Jacobi-preconditioned
//! BiCGSTAB iteration on the same system with a residual check.

use super::rates::RateSet;
use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};

/// Which linear solver the steady state uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SteadyMethod {
    /// Dense LU up to `dense_limit` states, sparse iterative above.
    Auto,
    /// Always dense LU.
    Dense,
    /// Always sparse BiCGSTAB.
    Sparse,
}

/// Settings of the steady-state solver.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SteadyOptions {
    /// Method choice.
    pub method: SteadyMethod,
    /// Largest number of states solved densely by `Auto`.
    pub dense_limit: usize,
    /// Relative residual tolerance of the iterative solver.
    pub tolerance: f64,
    /// Maximum BiCGSTAB iterations.
    pub max_iterations: usize,
}

impl Default for SteadyOptions {
    fn default() -> Self {
        SteadyOptions {
            method: SteadyMethod::Auto,
            dense_limit: 512,
            tolerance: 1e-12,
            max_iterations: 20_000,
        }
    }
}

/// Dense generator matrix L (meV).
pub fn generator(rates: &RateSet) -> DMatrix<f64> {
    let n = rates.n_states;
    let mut l = DMatrix::zeros(n, n);
    for t in &rates.transitions {
        l[(t.to as usize, t.from as usize)] += t.rate;
    }
    for (s, &r) in rates.out_rate.iter().enumerate() {
        l[(s, s)] -= r;
    }
    l
}

/// Clip round-off negatives and renormalise; refuse non-finite results.
fn clean(mut p: Vec<f64>, context: &str) -> Result<Vec<f64>> {
    if p.iter().any(|x| !x.is_finite()) {
        return Err(Error::Numerical {
            context: context.into(),
            message: "non-finite probabilities".into(),
        });
    }
    p.iter_mut().for_each(|x| *x = x.max(0.0));
    let sum: f64 = p.iter().sum();
    if sum <= 0.0 {
        return Err(Error::Numerical {
            context: context.into(),
            message: "all probabilities vanish".into(),
        });
    }
    p.iter_mut().for_each(|x| *x /= sum);
    Ok(p)
}

/// Row used for the normalisation: the state with the largest escape rate (best conditioned).
fn norm_row(rates: &RateSet) -> usize {
    let mut best = 0;
    for (s, &r) in rates.out_rate.iter().enumerate() {
        if r > rates.out_rate[best] {
            best = s;
        }
    }
    best
}

/// Steady-state probabilities by dense LU.
pub fn solve_dense(rates: &RateSet) -> Result<Vec<f64>> {
    let n = rates.n_states;
    let mut a = generator(rates);
    let row = norm_row(rates);
    // Scale every column by the inverse escape rate (a diagonal change of variables q = D p) so that
    // fast and slow states are balanced before elimination.
    let scale: Vec<f64> = rates
        .out_rate
        .iter()
        .map(|&r| if r > 0.0 { 1.0 / r } else { 1.0 })
        .collect();
    for j in 0..n {
        for i in 0..n {
            a[(i, j)] *= scale[j];
        }
    }
    for j in 0..n {
        a[(row, j)] = scale[j];
    }
    let mut b = DVector::zeros(n);
    b[row] = 1.0;
    let q = a.lu().solve(&b).ok_or_else(|| Error::Numerical {
        context: "steady state (dense LU)".into(),
        message: "singular generator: the states split into disconnected sets (check that every dot touches a lead with Γ > 0)".into(),
    })?;
    clean((0..n).map(|j| q[j] * scale[j]).collect(), "steady state (dense LU)")
}

/// Compressed sparse rows.
struct Csr {
    ptr: Vec<usize>,
    col: Vec<usize>,
    val: Vec<f64>,
}

impl Csr {
    fn mul(&self, x: &[f64], y: &mut [f64]) {
        for (i, yi) in y.iter_mut().enumerate() {
            let mut s = 0.0;
            for k in self.ptr[i]..self.ptr[i + 1] {
                s += self.val[k] * x[self.col[k]];
            }
            *yi = s;
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Steady-state probabilities by sparse BiCGSTAB (Jacobi preconditioned).
pub fn solve_sparse(rates: &RateSet, tolerance: f64, max_iterations: usize) -> Result<Vec<f64>> {
    let n = rates.n_states;
    let row = norm_row(rates);
    // Variables q_j = p_j·Γ_j (escape-rate scaled), so that the generator columns are O(1).
    let scale: Vec<f64> = rates
        .out_rate
        .iter()
        .map(|&r| if r > 0.0 { 1.0 / r } else { 1.0 })
        .collect();
    // Rows of A: for i ≠ row, A[i][j] = L[i][j]·scale[j]; row `row` = scale (normalisation).
    let mut rows: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for t in &rates.transitions {
        let (i, j) = (t.to as usize, t.from as usize);
        if i != row {
            rows[i].push((j, t.rate * scale[j]));
        }
    }
    for s in 0..n {
        if s != row {
            rows[s].push((s, -rates.out_rate[s] * scale[s]));
        }
    }
    rows[row] = (0..n).map(|j| (j, scale[j])).collect();
    let mut csr = Csr {
        ptr: vec![0],
        col: Vec::new(),
        val: Vec::new(),
    };
    let mut diag = vec![1.0; n];
    for (i, r) in rows.iter().enumerate() {
        for &(j, v) in r {
            csr.col.push(j);
            csr.val.push(v);
            if i == j {
                diag[i] = v;
            }
        }
        csr.ptr.push(csr.col.len());
    }
    let inv_diag: Vec<f64> = diag
        .iter()
        .map(|&d| if d != 0.0 { 1.0 / d } else { 1.0 })
        .collect();
    let mut b = vec![0.0; n];
    b[row] = 1.0;
    // Initial guess: uniform p.
    let mut x: Vec<f64> = rates.out_rate.iter().map(|&r| if r > 0.0 { r / n as f64 } else { 1.0 / n as f64 }).collect();
    let mut ax = vec![0.0; n];
    csr.mul(&x, &mut ax);
    let mut r: Vec<f64> = b.iter().zip(&ax).map(|(b, a)| b - a).collect();
    let r0 = r.clone();
    let bnorm = 1.0;
    let (mut rho, mut alpha, mut omega) = (1.0, 1.0, 1.0);
    let mut v = vec![0.0; n];
    let mut p = vec![0.0; n];
    let mut y = vec![0.0; n];
    let mut z = vec![0.0; n];
    let mut s = vec![0.0; n];
    let mut t = vec![0.0; n];
    for _ in 0..max_iterations {
        let rho_new = dot(&r0, &r);
        if rho_new == 0.0 || omega == 0.0 {
            break;
        }
        let beta = (rho_new / rho) * (alpha / omega);
        rho = rho_new;
        for i in 0..n {
            p[i] = r[i] + beta * (p[i] - omega * v[i]);
            y[i] = p[i] * inv_diag[i];
        }
        csr.mul(&y, &mut v);
        alpha = rho / dot(&r0, &v);
        for i in 0..n {
            s[i] = r[i] - alpha * v[i];
        }
        if dot(&s, &s).sqrt() < tolerance * bnorm {
            for i in 0..n {
                x[i] += alpha * y[i];
            }
            r.clone_from(&s);
            break;
        }
        for i in 0..n {
            z[i] = s[i] * inv_diag[i];
        }
        csr.mul(&z, &mut t);
        omega = dot(&t, &s) / dot(&t, &t);
        for i in 0..n {
            x[i] += alpha * y[i] + omega * z[i];
            r[i] = s[i] - omega * t[i];
        }
        if dot(&r, &r).sqrt() < tolerance * bnorm {
            break;
        }
    }
    // True residual check.
    csr.mul(&x, &mut ax);
    let res = b.iter().zip(&ax).map(|(b, a)| (b - a).powi(2)).sum::<f64>().sqrt();
    if !(res < 1e3 * tolerance.max(1e-14)) {
        return Err(Error::Numerical {
            context: "steady state (sparse BiCGSTAB)".into(),
            message: format!("no convergence: residual {res:.3e} after at most {max_iterations} iterations"),
        });
    }
    clean(
        x.iter().zip(&scale).map(|(q, s)| q * s).collect(),
        "steady state (sparse BiCGSTAB)",
    )
}

/// Steady-state probabilities with the method chosen by `options`.
pub fn solve(rates: &RateSet, options: &SteadyOptions) -> Result<Vec<f64>> {
    let dense = match options.method {
        SteadyMethod::Dense => true,
        SteadyMethod::Sparse => false,
        SteadyMethod::Auto => rates.n_states <= options.dense_limit,
    };
    if dense {
        solve_dense(rates)
    } else {
        solve_sparse(rates, options.tolerance, options.max_iterations)
    }
}
