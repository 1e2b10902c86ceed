//! Adaptive Gauss–Kronrod quadrature (7/15 points) for vector-valued integrands.
//!
//! Hand-written because the energy integrals of the coherent engine need three things no
//! well-kept crate offers together: a vector integrand evaluated once per node (all terminal
//! currents share one Green's function), user breakpoints (resonances and Fermi levels, so that a
//! 0.1 meV-wide resonance is never stepped over), and a global error budget over the intervals.
//! The algorithm is QUADPACK's QAG strategy: always bisect the interval with the largest error.

use std::collections::BinaryHeap;

/// Kronrod abscissae (positive half, descending) of the 15-point rule on [−1, 1].
const XGK: [f64; 8] = [
    0.991_455_371_120_812_6,
    0.949_107_912_342_758_5,
    0.864_864_423_359_769_1,
    0.741_531_185_599_394_4,
    0.586_087_235_467_691_1,
    0.405_845_151_377_397_2,
    0.207_784_955_007_898_5,
    0.0,
];
/// Kronrod weights matching [`XGK`].
const WGK: [f64; 8] = [
    0.022_935_322_010_529_22,
    0.063_092_092_629_978_55,
    0.104_790_010_322_250_2,
    0.140_653_259_715_525_9,
    0.169_004_726_639_267_9,
    0.190_350_578_064_785_4,
    0.204_432_940_075_298_9,
    0.209_482_141_084_727_8,
];
/// Gauss weights of the embedded 7-point rule (abscissae XGK[1], XGK[3], XGK[5], XGK[7]).
const WG: [f64; 4] = [
    0.129_484_966_168_869_7,
    0.279_705_391_489_276_7,
    0.381_830_050_505_118_9,
    0.417_959_183_673_469_4,
];

/// Settings of the adaptive integration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Relative tolerance, against ∫|f| summed over the controlled components.
    pub rel: f64,
    /// Absolute tolerance, in the integrand's units × the variable's units.
    pub abs: f64,
    /// Maximum number of intervals before giving up (the result is then flagged unconverged).
    pub max_intervals: usize,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            rel: 1e-6,
            abs: 1e-12,
            max_intervals: 4000,
        }
    }
}

/// Result of [`integrate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Integral {
    /// The integral of each component.
    pub value: Vec<f64>,
    /// Estimated absolute error (sum over the controlled components).
    pub error: f64,
    /// ∫|f| summed over the controlled components (the scale of the relative tolerance).
    pub scale: f64,
    /// Number of integrand evaluations.
    pub evaluations: usize,
    /// Whether the tolerance was met within `max_intervals`.
    pub converged: bool,
}

struct Piece {
    err: f64,
    a: f64,
    b: f64,
    offset: usize,
}

impl PartialEq for Piece {
    fn eq(&self, o: &Self) -> bool {
        self.err.total_cmp(&o.err).is_eq()
    }
}
impl Eq for Piece {}
impl PartialOrd for Piece {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Piece {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.err.total_cmp(&o.err)
    }
}

/// Integrate the `dim`-component function `f` over the breakpoints' span.
///
/// `f(x, out)` writes the components at `x` into `out` (length `dim`). The first `controlled`
/// components set the error budget; the others ride along on the same nodes. `breakpoints` must
/// be sorted; each consecutive pair starts as its own interval (empty intervals are skipped).
pub fn integrate<F>(
    mut f: F,
    dim: usize,
    controlled: usize,
    breakpoints: &[f64],
    tol: Tolerance,
) -> Integral
where
    F: FnMut(f64, &mut [f64]),
{
    let controlled = controlled.min(dim);
    // Arena of per-interval results: [value (dim) | |value| (controlled)].
    let stride = dim + controlled;
    let mut arena: Vec<f64> = Vec::with_capacity(stride * 64);
    let mut free: Vec<usize> = Vec::new();
    let mut heap: BinaryHeap<Piece> = BinaryHeap::new();
    let mut total = vec![0.0; dim];
    let mut total_err = 0.0;
    let mut total_abs = 0.0;
    let mut evaluations = 0usize;
    let mut node = vec![0.0; dim];
    let mut kron = vec![0.0; dim];
    let mut gauss = vec![0.0; dim];
    let mut kabs = vec![0.0; controlled];

    let mut rule = |a: f64,
                    b: f64,
                    arena: &mut Vec<f64>,
                    free: &mut Vec<usize>,
                    evaluations: &mut usize|
     -> Piece {
        let c = 0.5 * (a + b);
        let h = 0.5 * (b - a);
        kron.iter_mut().for_each(|v| *v = 0.0);
        gauss.iter_mut().for_each(|v| *v = 0.0);
        kabs.iter_mut().for_each(|v| *v = 0.0);
        for k in 0..8 {
            let xs: &[f64] = if k == 7 { &[0.0] } else { &[-XGK[k], XGK[k]] };
            for &x in xs {
                f(c + h * x, &mut node);
                *evaluations += 1;
                for d in 0..dim {
                    kron[d] += WGK[k] * node[d];
                    if k % 2 == 1 {
                        gauss[d] += WG[k / 2] * node[d];
                    }
                }
                for d in 0..controlled {
                    kabs[d] += WGK[k] * node[d].abs();
                }
            }
        }
        let offset = match free.pop() {
            Some(o) => o,
            None => {
                let o = arena.len();
                arena.resize(o + stride, 0.0);
                o
            }
        };
        let mut err = 0.0;
        for d in 0..dim {
            arena[offset + d] = kron[d] * h;
            if d < controlled {
                err += ((kron[d] - gauss[d]) * h).abs();
            }
        }
        for d in 0..controlled {
            arena[offset + dim + d] = kabs[d] * h.abs();
        }
        Piece { err, a, b, offset }
    };

    for w in breakpoints.windows(2) {
        let (a, b) = (w[0], w[1]);
        if a.is_nan() || b.is_nan() || b <= a {
            continue;
        }
        let p = rule(a, b, &mut arena, &mut free, &mut evaluations);
        for d in 0..dim {
            total[d] += arena[p.offset + d];
        }
        total_abs += arena[p.offset + dim..p.offset + stride].iter().sum::<f64>();
        total_err += p.err;
        heap.push(p);
    }

    let mut converged = true;
    loop {
        let target = tol.abs.max(tol.rel * total_abs);
        if total_err <= target || heap.is_empty() {
            break;
        }
        if heap.len() >= tol.max_intervals {
            converged = false;
            break;
        }
        let worst = heap.pop().expect("heap is not empty");
        let mid = 0.5 * (worst.a + worst.b);
        if !(mid > worst.a && mid < worst.b) {
            // Interval at floating-point resolution: accept its error as is.
            heap.push(Piece { err: 0.0, ..worst });
            continue;
        }
        for d in 0..dim {
            total[d] -= arena[worst.offset + d];
        }
        total_abs -= arena[worst.offset + dim..worst.offset + stride]
            .iter()
            .sum::<f64>();
        total_err -= worst.err;
        free.push(worst.offset);
        for (a, b) in [(worst.a, mid), (mid, worst.b)] {
            let p = rule(a, b, &mut arena, &mut free, &mut evaluations);
            for d in 0..dim {
                total[d] += arena[p.offset + d];
            }
            total_abs += arena[p.offset + dim..p.offset + stride].iter().sum::<f64>();
            total_err += p.err;
            heap.push(p);
        }
    }
    // Re-sum from the live intervals to remove the drift of the running sums.
    let mut value = vec![0.0; dim];
    let mut error = 0.0;
    let mut scale = 0.0;
    for p in heap.iter() {
        for d in 0..dim {
            value[d] += arena[p.offset + d];
        }
        scale += arena[p.offset + dim..p.offset + stride].iter().sum::<f64>();
        error += p.err;
    }
    Integral {
        value,
        error,
        scale,
        evaluations,
        converged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polynomial_is_exact_on_one_interval() {
        // K15 integrates degree-22 polynomials exactly; G7 degree 13.
        let r = integrate(
            |x, o| o[0] = x.powi(10),
            1,
            1,
            &[-1.0, 2.0],
            Tolerance::default(),
        );
        let exact = (2f64.powi(11) + 1.0) / 11.0;
        assert!((r.value[0] - exact).abs() < 1e-12 * exact);
        assert_eq!(r.evaluations, 15);
    }

    #[test]
    fn narrow_lorentzian_with_breakpoint_is_found() {
        let (c, g) = (3.21, 1e-3);
        let f = |x: f64, o: &mut [f64]| o[0] = (g / 2.0) / ((x - c).powi(2) + g * g / 4.0);
        let r = integrate(
            f,
            1,
            1,
            &[-100.0, c, 100.0],
            Tolerance {
                rel: 1e-9,
                ..Default::default()
            },
        );
        let exact = 2.0 * ((100.0 - c) / (g / 2.0)).atan() * 0.5
            + 2.0 * ((100.0 + c) / (g / 2.0)).atan() * 0.5;
        assert!(r.converged);
        assert!(
            (r.value[0] - exact).abs() < 1e-7,
            "{} vs {}",
            r.value[0],
            exact
        );
    }

    #[test]
    fn tightening_the_tolerance_reduces_the_error() {
        let f = |x: f64, o: &mut [f64]| o[0] = (x * 3.0).sin().exp();
        let loose = integrate(
            f,
            1,
            1,
            &[0.0, 20.0],
            Tolerance {
                rel: 1e-3,
                ..Default::default()
            },
        );
        let tight = integrate(
            f,
            1,
            1,
            &[0.0, 20.0],
            Tolerance {
                rel: 1e-12,
                ..Default::default()
            },
        );
        assert!(tight.evaluations > loose.evaluations);
        assert!((loose.value[0] - tight.value[0]).abs() <= 1e-3 * tight.scale);
    }
}
