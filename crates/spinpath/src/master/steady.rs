//! Steady state of the Pauli master equation dp/dt = L·p.
//!
//! The generator has `L[to][from] = W(from → to)` and `L[s][s]` = −Σ W(s → ·); its columns sum to zero, so
//! one balance equation is redundant and is replaced by the normalisation Σ p = 1. Small systems are
//! solved densely by the Grassmann–Taksar–Heyman (GTH) elimination, which is exact to round-off for
//! any stiffness; large ones by a sparse, Jacobi-preconditioned BiCGSTAB iteration on the balance
//! equations with a residual check.
//!
//! At low temperature rates span more than the `f64` range (a 310 meV gap at 0.1 K is a factor
//! e^(−36000)); they underflow and cut the chain into several closed sets. The dense solver then redoes
//! the elimination in the log domain on the logarithms of all rates ([`solve_dense_log`]), so any
//! T > 0 solves. The sparse path has no such fallback (it reports the closed sets).

use super::rates::RateSet;
use crate::error::{Error, Result};
use nalgebra::DMatrix;

/// Which linear solver the steady state uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SteadyMethod {
    /// Dense GTH up to `dense_limit` states, sparse iterative above.
    Auto,
    /// Always dense GTH elimination.
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

/// The states of the unique closed communicating class (the support of the steady state), in an
/// order where every state after the first has a transition to an earlier one.
///
/// Rates can underflow to exactly zero (energies of hundreds of k_BT), which leaves transient or
/// unreachable states; they carry no steady-state probability and are dropped. Two or more closed
/// classes mean the steady state is not unique: an error.
pub fn closed_class(rates: &RateSet) -> Result<Vec<usize>> {
    let to: Vec<u32> = rates.transitions.iter().map(|t| t.to).collect();
    closed_class_graph(rates.n_states, &rates.offsets, &to)
}

/// [`closed_class`] of a directed graph in compressed rows: the edges leaving `s` go to
/// `to[offsets[s]..offsets[s + 1]]`.
fn closed_class_graph(n: usize, offsets: &[usize], to: &[u32]) -> Result<Vec<usize>> {
    // Kosaraju: first pass, iterative DFS finishing order on the forward graph.
    let mut visited = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let mut stack = Vec::with_capacity(n);
    for root in 0..n {
        if visited[root] {
            continue;
        }
        visited[root] = true;
        stack.push((root, offsets[root]));
        while let Some(&mut (s, ref mut next)) = stack.last_mut() {
            if *next < offsets[s + 1] {
                let t = to[*next] as usize;
                *next += 1;
                if !visited[t] {
                    visited[t] = true;
                    stack.push((t, offsets[t]));
                }
            } else {
                order.push(s);
                stack.pop();
            }
        }
    }
    // Reverse graph.
    let mut rev: Vec<Vec<usize>> = vec![Vec::new(); n];
    for s in 0..n {
        for &t in &to[offsets[s]..offsets[s + 1]] {
            rev[t as usize].push(s);
        }
    }
    let mut comp = vec![usize::MAX; n];
    let mut n_comp = 0;
    let mut stack = Vec::with_capacity(n);
    for &root in order.iter().rev() {
        if comp[root] != usize::MAX {
            continue;
        }
        comp[root] = n_comp;
        stack.push(root);
        while let Some(s) = stack.pop() {
            for &t in &rev[s] {
                if comp[t] == usize::MAX {
                    comp[t] = n_comp;
                    stack.push(t);
                }
            }
        }
        n_comp += 1;
    }
    // Closed components: no transition leaves them.
    let mut open = vec![false; n_comp];
    for s in 0..n {
        for &t in &to[offsets[s]..offsets[s + 1]] {
            if comp[s] != comp[t as usize] {
                open[comp[s]] = true;
            }
        }
    }
    let closed: Vec<usize> = (0..n_comp).filter(|&c| !open[c]).collect();
    if closed.len() != 1 {
        return Err(Error::Numerical {
            context: "steady state".into(),
            message: format!(
                "{} closed sets of states that no rate connects (the steady state is not unique): states that cannot exchange electrons with the rest — a lead at zero temperature, or a dot that no lead touches with Γ > 0",
                closed.len()
            ),
        });
    }
    let c = closed[0];
    // Order by backward breadth-first search from one member.
    let root = (0..n).find(|&s| comp[s] == c).expect("non-empty component");
    let mut seen = vec![false; n];
    seen[root] = true;
    let mut out = vec![root];
    let mut head = 0;
    while head < out.len() {
        let s = out[head];
        head += 1;
        for &t in &rev[s] {
            if !seen[t] && comp[t] == c {
                seen[t] = true;
                out.push(t);
            }
        }
    }
    Ok(out)
}

/// Steady-state probabilities by the Grassmann–Taksar–Heyman elimination (dense, O(n³)).
///
/// GTH is Gaussian elimination written without subtractions: every quantity is a sum of products of
/// rates, so the result keeps full relative accuracy however stiff the rates are (a slow gating dot
/// next to a fast transport dot, barriers of hundreds of k_BT).
///
/// In the linear domain, rates that underflow (barriers of thousands of k_BT at low temperature) cut
/// the chain into several closed sets, and a tiny escape sum can overflow the elimination. Whenever the
/// linear elimination cannot give a finite, normalised answer, or some rates are below
/// [`TINY_RATE_MEV`](super::rates::TINY_RATE_MEV), the same elimination is redone in the log domain
/// ([`solve_dense_log`]), where every rate of a T > 0 chain is finite. Results of chains without
/// tiny rates are those of the linear elimination, unchanged.
pub fn solve_dense(rates: &RateSet) -> Result<Vec<f64>> {
    if !rates.tiny.is_empty() {
        // The linear path is used if it resolves the chain; otherwise the log domain decides.
        if let Ok(p) = solve_dense_linear(rates) {
            return Ok(p);
        }
        return solve_dense_log(rates);
    }
    solve_dense_linear(rates)
}

/// Per-thread scratch of the dense solver: the connectivity (closed class and its order) of the
/// last transition pattern, and the elimination matrix. Bias sweeps and fits solve the same
/// pattern over and over; only the rates change, so the graph analysis runs once per pattern and
/// the elimination allocates nothing.
#[derive(Default)]
struct DenseScratch {
    offsets: Vec<usize>,
    to: Vec<u32>,
    class: Vec<usize>,
    index: Vec<usize>,
    a: Vec<f64>,
}

impl DenseScratch {
    fn same_pattern(&self, rates: &RateSet) -> bool {
        !self.class.is_empty()
            && self.offsets == rates.offsets
            && self.to.len() == rates.transitions.len()
            && self
                .to
                .iter()
                .zip(&rates.transitions)
                .all(|(&t, r)| t == r.to)
    }
}

thread_local! {
    static DENSE: std::cell::RefCell<DenseScratch> = std::cell::RefCell::new(DenseScratch::default());
}

fn solve_dense_linear(rates: &RateSet) -> Result<Vec<f64>> {
    DENSE.with(|cell| {
        let mut guard = cell.borrow_mut();
        let ws = &mut *guard;
        if !ws.same_pattern(rates) {
            ws.class.clear();
            let class = closed_class(rates)?;
            ws.offsets.clone_from(&rates.offsets);
            ws.to.clear();
            ws.to.extend(rates.transitions.iter().map(|t| t.to));
            ws.index.clear();
            ws.index.resize(rates.n_states, usize::MAX);
            for (k, &s) in class.iter().enumerate() {
                ws.index[s] = k;
            }
            ws.class = class;
        }
        gth_linear(rates, &ws.class, &ws.index, &mut ws.a)
    })
}

/// The linear-domain GTH elimination on the closed class `class` (`index` maps states to it).
fn gth_linear(
    rates: &RateSet,
    class: &[usize],
    index: &[usize],
    a: &mut Vec<f64>,
) -> Result<Vec<f64>> {
    let m = class.len();
    // a[i][j] = rate i → j within the class (row-major).
    a.clear();
    a.resize(m * m, 0.0);
    for t in &rates.transitions {
        let (i, j) = (index[t.from as usize], index[t.to as usize]);
        if i != usize::MAX && j != usize::MAX {
            a[i * m + j] += t.rate;
        }
    }
    for k in (1..m).rev() {
        let s: f64 = a[k * m..k * m + k].iter().sum();
        if !s.is_finite() || s <= 0.0 {
            return Err(Error::Numerical {
                context: "steady state (GTH)".into(),
                message: format!("state {} has no path back (escape sum {s})", class[k]),
            });
        }
        for i in 0..k {
            a[i * m + k] /= s;
        }
        for i in 0..k {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..k {
                a[i * m + j] += aik * a[k * m + j];
            }
        }
    }
    // x_j accumulates in the output vector, indexed by state.
    let mut p = vec![0.0; rates.n_states];
    p[class[0]] = 1.0;
    for j in 1..m {
        p[class[j]] = (0..j).map(|i| p[class[i]] * a[i * m + j]).sum();
    }
    clean(p, "steady state (GTH)")
}

/// The linear-domain GTH steady state of `rates` with the elimination it leaves behind, for
/// sensitivity solves ([`gth_sensitivity`]): `(p, class, a)`, `p` over all states (the same
/// probabilities as [`solve_dense`] when it succeeds: the same elimination on the same closed
/// class), `class` the closed class in elimination order and `a` the class × class eliminated
/// matrix (row-major): above the diagonal the censored rates i → k divided by the pivot s_k of
/// state k, below it the censored rates k → j at the step that eliminated k. An error where the
/// linear domain cannot resolve the chain (the caller then has to do without the factors).
pub(crate) fn gth_factors(rates: &RateSet) -> Result<(Vec<f64>, Vec<usize>, Vec<f64>)> {
    let class = closed_class(rates)?;
    let mut index = vec![usize::MAX; rates.n_states];
    for (k, &s) in class.iter().enumerate() {
        index[s] = k;
    }
    let mut a = Vec::new();
    let p = gth_linear(rates, &class, &index, &mut a)?;
    Ok((p, class, a))
}

/// Solve yᵀ·Q = cᵀ with Σ y = 0 on the closed class, reusing the GTH elimination `a` of
/// [`gth_factors`] (Q the generator on the class, Q[i][j] = rate i → j, rows summing to zero; `c`
/// in class order, Σ c = 0, overwritten). `p_class` is the normalised steady state in class order
/// (the null vector). Two O(m²) sweeps: the elimination applied to c (state m−1 down to 1), then
/// the back substitution y_k = Σ_{i<k} y_i·a[i][k] − c_k/s_k from y_0 = 0, and finally the
/// multiple of p that makes Σ y = 0. This is the steady state's derivative dp = y for
/// c = −pᵀ·dQ.
pub(crate) fn gth_sensitivity(a: &[f64], p_class: &[f64], c: &mut [f64]) -> Vec<f64> {
    let m = p_class.len();
    let mut pivot = vec![0.0; m];
    for k in (1..m).rev() {
        let s: f64 = a[k * m..k * m + k].iter().sum();
        pivot[k] = s;
        let ck = c[k] / s;
        if ck != 0.0 {
            for j in 0..k {
                c[j] += ck * a[k * m + j];
            }
        }
    }
    let mut y = vec![0.0; m];
    for k in 1..m {
        y[k] = (0..k).map(|i| y[i] * a[i * m + k]).sum::<f64>() - c[k] / pivot[k];
    }
    let shift: f64 = y.iter().sum();
    for (v, p) in y.iter_mut().zip(p_class) {
        *v -= shift * p;
    }
    y
}

/// ln(e^a + e^b) for a, b ∈ [−∞, ∞).
#[inline]
fn ln_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY {
        hi
    } else {
        hi + (lo - hi).exp().ln_1p()
    }
}

/// ln Σ e^{x_i}.
fn ln_sum(x: &[f64]) -> f64 {
    let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if hi == f64::NEG_INFINITY {
        return hi;
    }
    hi + x.iter().map(|&v| (v - hi).exp()).sum::<f64>().ln()
}

/// Steady state by the GTH elimination in the log domain: every matrix element is kept as its
/// natural logarithm, sums become ln-sum-exp and divisions subtractions. Because GTH never
/// subtracts, this is exact to round-off (relative error ~ 1e-15 · ln-range) for rates anywhere in
/// e^(±10⁴) and beyond, which covers any T > 0: the connectivity is that of the physical chain,
/// not of the rates that survive in `f64`. Probabilities below ~1e-308 come out as 0. Cost
/// O(n³) exponentials: use [`solve_dense`], which only comes here when needed.
pub fn solve_dense_log(rates: &RateSet) -> Result<Vec<f64>> {
    let n = rates.n_states;
    // Edges: the linear rates above the tiny limit and the logarithmic ones below it.
    let mut edges: Vec<(u32, u32, f64)> = rates
        .transitions
        .iter()
        .filter(|t| t.rate >= super::rates::TINY_RATE_MEV)
        .map(|t| (t.from, t.to, t.rate.ln()))
        .chain(rates.tiny.iter().map(|t| (t.from, t.to, t.ln_rate)))
        .filter(|e| e.2 > f64::NEG_INFINITY)
        .collect();
    edges.sort_by_key(|e| e.0);
    let mut offsets = vec![0usize; n + 1];
    for e in &edges {
        offsets[e.0 as usize + 1] += 1;
    }
    for s in 0..n {
        offsets[s + 1] += offsets[s];
    }
    let to: Vec<u32> = edges.iter().map(|e| e.1).collect();
    let class = closed_class_graph(n, &offsets, &to)?;
    let m = class.len();
    let mut index = vec![usize::MAX; n];
    for (k, &s) in class.iter().enumerate() {
        index[s] = k;
    }
    let mut a = vec![f64::NEG_INFINITY; m * m];
    for &(from, to, ln) in &edges {
        let (i, j) = (index[from as usize], index[to as usize]);
        if i != usize::MAX && j != usize::MAX {
            a[i * m + j] = ln_add(a[i * m + j], ln);
        }
    }
    for k in (1..m).rev() {
        let s = ln_sum(&a[k * m..k * m + k]);
        if s.is_nan() || s == f64::NEG_INFINITY {
            return Err(Error::Numerical {
                context: "steady state (log-domain GTH)".into(),
                message: format!("state {} has no path back", class[k]),
            });
        }
        for i in 0..k {
            a[i * m + k] -= s;
        }
        for i in 0..k {
            let aik = a[i * m + k];
            if aik == f64::NEG_INFINITY {
                continue;
            }
            for j in 0..k {
                let akj = a[k * m + j];
                if akj > f64::NEG_INFINITY {
                    a[i * m + j] = ln_add(a[i * m + j], aik + akj);
                }
            }
        }
    }
    let mut x = vec![f64::NEG_INFINITY; m];
    x[0] = 0.0;
    for j in 1..m {
        let mut acc = f64::NEG_INFINITY;
        for i in 0..j {
            acc = ln_add(acc, x[i] + a[i * m + j]);
        }
        x[j] = acc;
    }
    let total = ln_sum(&x);
    let mut p = vec![0.0; n];
    for (k, &s) in class.iter().enumerate() {
        p[s] = (x[k] - total).exp();
    }
    clean(p, "steady state (log-domain GTH)")
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

/// Steady-state probabilities by sparse BiCGSTAB (Jacobi preconditioned), on the closed class.
pub fn solve_sparse(rates: &RateSet, tolerance: f64, max_iterations: usize) -> Result<Vec<f64>> {
    let class = closed_class(rates)?;
    let n = class.len();
    let mut index = vec![usize::MAX; rates.n_states];
    for (k, &s) in class.iter().enumerate() {
        index[s] = k;
    }
    let out_rate: Vec<f64> = class.iter().map(|&s| rates.out_rate[s]).collect();
    let mut row = 0;
    for (k, &r) in out_rate.iter().enumerate() {
        if r > out_rate[row] {
            row = k;
        }
    }
    // Variables q_j = p_j·Γ_j (escape-rate scaled), so that the generator columns are O(1).
    let scale: Vec<f64> = out_rate
        .iter()
        .map(|&r| if r > 0.0 { 1.0 / r } else { 1.0 })
        .collect();
    // Rows of A: for i ≠ row, A[i][j] = L[i][j]·scale[j]; row `row` = scale (normalisation).
    let mut rows: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for t in &rates.transitions {
        let (i, j) = (index[t.to as usize], index[t.from as usize]);
        if i != usize::MAX && j != usize::MAX && i != row {
            rows[i].push((j, t.rate * scale[j]));
        }
    }
    for s in 0..n {
        if s != row {
            rows[s].push((s, -out_rate[s] * scale[s]));
        }
    }
    rows[row] = (0..n).map(|j| (j, scale[j])).collect();
    let mut csr = Csr {
        ptr: vec![0],
        col: Vec::new(),
        val: Vec::new(),
    };
    let mut diag = vec![0.0; n];
    for (i, r) in rows.iter().enumerate() {
        for &(j, v) in r {
            csr.col.push(j);
            csr.val.push(v);
            if i == j {
                diag[i] += v;
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
    let mut x: Vec<f64> = out_rate
        .iter()
        .map(|&r| {
            if r > 0.0 {
                r / n as f64
            } else {
                1.0 / n as f64
            }
        })
        .collect();
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
    let res = b
        .iter()
        .zip(&ax)
        .map(|(b, a)| (b - a).powi(2))
        .sum::<f64>()
        .sqrt();
    if res.is_nan() || res >= 1e3 * tolerance.max(1e-14) {
        return Err(Error::Numerical {
            context: "steady state (sparse BiCGSTAB)".into(),
            message: format!(
                "no convergence: residual {res:.3e} after at most {max_iterations} iterations"
            ),
        });
    }
    let mut p = vec![0.0; rates.n_states];
    for (k, &s) in class.iter().enumerate() {
        p[s] = x[k] * scale[k];
    }
    clean(p, "steady state (sparse BiCGSTAB)")
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
