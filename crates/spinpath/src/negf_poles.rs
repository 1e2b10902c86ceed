//! Closed-form energy integrals of collinear wide-band chains (issue 18, item 1).
//!
//! With energy-independent lead self-energies, each spin σ of a collinear chain is a scalar
//! tridiagonal problem G_σ(E) = (E − H_σ + iΓ_σ/2)⁻¹ whose poles z_k (Im z_k < 0) are the eigenvalues
//! of the non-Hermitian H_eff = H_σ − iΓ_σ/2. The transmission is rational,
//!
//!   T_σ(E) = Γ_Lσ Γ_Rσ |G_ab(E)|² = 2 Re Σ_k c_k / (E − z_k),
//!   c_k = Γ_Lσ Γ_Rσ · r_k · conj(G_ab(z̄_k)),   r_k = Res_{z_k} G_ab = v_a v_b / (vᵀv),
//!
//! (partial fractions of G·Ḡ, with G_ab evaluated at the mirror point z̄_k in the upper half-plane by
//! the same recursion as on the real axis). Every Fermi integral is then a sum of digamma functions:
//!
//!   ∫ dE f((E − μ)/k_BT) / (E − z) = ψ(½ + i(z − μ)/(2πk_BT)) + ln(2πk_BT) − iπ/2 − ln D,
//!
//! where −ln D (a band cut-off) is the same for every pole, chemical potential and temperature, and
//! drops out of every current (Σ_k Re c_k = 0, and currents are differences of two Fermi
//! functions). The T → 0 limit is ln(i(z − μ)) − iπ/2, used at k_BT = 0 exactly. Energy currents
//! use E/(E − z) = 1 + z/(E − z).
//!
//! The expansion is checked against the direct recursion at real energies before use; a chain where
//! it does not apply (non-collinear, a vanishing hopping, coalescing poles) returns `None` and the
//! caller integrates by quadrature.

use super::ChainSolver;
use nalgebra::DMatrix;
use num_complex::Complex64;

const I: Complex64 = Complex64::new(0.0, 1.0);

/// Digamma function ψ(z) for Re z > 0 (complex argument), to ~1e-15 relative.
///
/// Recurrence ψ(z) = ψ(z + m) − Σ_{k<m} 1/(z + k) up to |z + m| ≥ 8, with the sum taken as P′/P of
/// P = Π (z + k) (one complex division instead of m), then the asymptotic series
/// ψ(z) ~ ln z − 1/(2z) − Σ_{k=1}^{9} B_2k / (2k z^{2k}) (first omitted term < 2e-17 at |z| = 8).
pub fn digamma(z: Complex64) -> Complex64 {
    let mut z = z;
    let (mut p, mut dp) = (Complex64::new(1.0, 0.0), Complex64::new(0.0, 0.0));
    let mut shifted = false;
    while z.norm_sqr() < 64.0 {
        dp = dp * z + p;
        p *= z;
        z += 1.0;
        shifted = true;
    }
    let zi = z.inv();
    let w = zi * zi;
    // B_2k/(2k): 1/12, −1/120, 1/252, −1/240, 1/132, −691/32760, 1/12, −3617/8160, 43867/14364.
    let series = w
        * (1.0 / 12.0
            - w * (1.0 / 120.0
                - w * (1.0 / 252.0
                    - w * (1.0 / 240.0
                        - w * (1.0 / 132.0
                            - w * (691.0 / 32760.0
                                - w * (1.0 / 12.0
                                    - w * (3617.0 / 8160.0 - w * (43867.0 / 14364.0)))))))));
    // ln z without hypot (|z| ≥ 8 here, so |z|² cannot underflow; it overflows only beyond 1e154).
    let r2 = z.norm_sqr();
    let ln = if r2.is_finite() {
        Complex64::new(0.5 * r2.ln(), z.im.atan2(z.re))
    } else {
        z.ln()
    };
    let head = ln - 0.5 * zi - series;
    if shifted {
        head - dp / p
    } else {
        head
    }
}

/// Regularised Fermi integral K(z, μ, kT) = ∫ dE f((E − μ)/kT)/(E − z) + ln D for Im z < 0 (meV),
/// without its pole-independent part: `kernel(z) + fermi_kernel_constant(kT)` is the full value.
#[inline]
fn fermi_kernel(z: Complex64, mu: f64, kt: f64, inv_two_pi_kt: f64) -> Complex64 {
    if kt > 0.0 {
        digamma(0.5 + I * (z - mu) * inv_two_pi_kt)
    } else {
        (I * (z - mu)).ln()
    }
}

/// The pole-independent part of the regularised Fermi integral: ln(2πk_BT) − iπ/2 (−iπ/2 at T = 0).
#[inline]
fn fermi_kernel_constant(kt: f64) -> Complex64 {
    let half_pi_i = I * std::f64::consts::FRAC_PI_2;
    if kt > 0.0 {
        (std::f64::consts::TAU * kt).ln() - half_pi_i
    } else {
        -half_pi_i
    }
}

/// Pole expansion of one spin's transmission: T(E) = 2 Re Σ c_k/(E − z_k).
#[derive(Debug, Clone, Default)]
pub(crate) struct SpinPoles {
    /// Whether the poles were tracked from the previous bias point (else QL).
    pub tracked: bool,
    /// Poles z_k, meV.
    pub z: Vec<Complex64>,
    /// Partial-fraction coefficients c_k, meV.
    pub c: Vec<Complex64>,
}

impl SpinPoles {
    /// `(∫ T(E) f((E − μ)/kT) dE, ∫ E·T(E) f((E − μ)/kT) dE)` (meV, meV²), each up to a constant
    /// common to all μ and T: one digamma per pole.
    pub fn particle_and_energy(&self, mu: f64, kt: f64) -> (f64, f64) {
        let inv = if kt > 0.0 {
            1.0 / (std::f64::consts::TAU * kt)
        } else {
            0.0
        };
        let k0 = fermi_kernel_constant(kt);
        let (mut n, mut e) = (0.0, 0.0);
        for (&z, &c) in self.z.iter().zip(&self.c) {
            if c.re == 0.0 && c.im == 0.0 {
                continue;
            }
            let ck = c * (fermi_kernel(z, mu, kt, inv) + k0);
            n += ck.re;
            e += (ck * z).re;
        }
        (2.0 * n, 2.0 * e)
    }

    /// T(E) from the expansion.
    pub fn transmission(&self, e: f64) -> f64 {
        2.0 * self
            .z
            .iter()
            .zip(&self.c)
            .map(|(&z, &c)| (c / (e - z)).re)
            .sum::<f64>()
    }
}

/// Eigenvalues of the tridiagonal H_eff: the O(N²) QL iteration, or a dense Schur decomposition
/// where it breaks down.
pub(crate) fn eigenvalues(heff: &[Complex64], hop: &[f64]) -> Option<Vec<Complex64>> {
    if let Some(z) = tridiagonal_eigenvalues(heff, hop) {
        return Some(z);
    }
    let n = heff.len();
    let mut h = DMatrix::<Complex64>::zeros(n, n);
    for j in 0..n {
        h[(j, j)] = heff[j];
        if j + 1 < n {
            h[(j, j + 1)] = Complex64::new(hop[j], 0.0);
            h[(j + 1, j)] = Complex64::new(hop[j], 0.0);
        }
    }
    let (_, tri) = nalgebra::linalg::Schur::try_new(h, 1e-14, 10_000)?.unpack();
    Some((0..n).map(|k| tri[(k, k)]).collect())
}

/// Principal square root by the algebraic formula (two real square roots; `Complex64::sqrt` goes
/// through polar form and costs ~5× more in the QL inner loop).
#[inline]
fn csqrt(z: Complex64) -> Complex64 {
    if z.im == 0.0 {
        return if z.re >= 0.0 {
            Complex64::new(z.re.sqrt(), 0.0)
        } else {
            Complex64::new(0.0, (-z.re).sqrt())
        };
    }
    // |z| without hypot where z·z̄ is safely inside the normal range (hypot costs ~20 ns).
    let r2 = z.norm_sqr();
    let abs = if r2 > 1e-290 && r2 < 1e290 {
        r2.sqrt()
    } else {
        z.re.hypot(z.im)
    };
    let t = (0.5 * (abs + z.re.abs())).sqrt();
    if z.re >= 0.0 {
        Complex64::new(t, 0.5 * z.im / t)
    } else {
        Complex64::new(0.5 * z.im.abs() / t, t.copysign(z.im))
    }
}

/// |Re z| + |Im z|: a cheap norm for convergence tests.
#[inline]
fn l1(z: Complex64) -> f64 {
    z.re.abs() + z.im.abs()
}

/// Eigenvalues of the complex-symmetric tridiagonal matrix with diagonal `diag` and off-diagonal
/// `off` (real), by the implicit QL iteration with Wilkinson-type shifts written for complex
/// symmetric matrices (complex-orthogonal rotations, no conjugation): O(N²) in total, against O(N³)
/// for a dense Schur decomposition. Complex-orthogonal rotations can break down (a rotation with
/// c² + s² = 1 but |c|, |s| ≫ 1); then, or without convergence, `None` and the caller uses Schur.
pub(crate) fn tridiagonal_eigenvalues(diag: &[Complex64], off: &[f64]) -> Option<Vec<Complex64>> {
    let mut d = diag.to_vec();
    let mut e = Vec::new();
    tridiagonal_eigenvalues_in_place(&mut d, off, &mut e).then_some(d)
}

/// [`tridiagonal_eigenvalues`] in place: `d` holds the diagonal on entry and the eigenvalues on
/// success (`true`); `e` is a work array (no allocation once it has grown).
pub(crate) fn tridiagonal_eigenvalues_in_place(
    d: &mut [Complex64],
    off: &[f64],
    e: &mut Vec<Complex64>,
) -> bool {
    let n = d.len();
    e.clear();
    e.extend(off.iter().map(|&t| Complex64::new(t, 0.0)));
    e.push(Complex64::new(0.0, 0.0));
    let zero = Complex64::new(0.0, 0.0);
    for l in 0..n {
        let mut iter = 0;
        loop {
            let mut m = l;
            while m + 1 < n {
                let dd = l1(d[m]) + l1(d[m + 1]);
                if l1(e[m]) <= f64::EPSILON * dd {
                    break;
                }
                m += 1;
            }
            if m == l {
                break;
            }
            iter += 1;
            if iter > 60 {
                return false;
            }
            let mut g = (d[l + 1] - d[l]) / (2.0 * e[l]);
            let mut r = csqrt(g * g + 1.0);
            let shifted = if (g + r).norm_sqr() >= (g - r).norm_sqr() {
                g + r
            } else {
                g - r
            };
            g = d[m] - d[l] + e[l] / shifted;
            let (mut s, mut c, mut p) = (Complex64::new(1.0, 0.0), Complex64::new(1.0, 0.0), zero);
            let mut early = false;
            let mut i = m;
            while i > l {
                i -= 1;
                let f = s * e[i];
                let b = c * e[i];
                r = csqrt(f * f + g * g);
                e[i + 1] = r;
                if r.norm_sqr() == 0.0 {
                    d[i + 1] -= p;
                    e[m] = zero;
                    early = true;
                    break;
                }
                let inv_r = inv1(r);
                s = f * inv_r;
                c = g * inv_r;
                if l1(s) > 1e4 || l1(c) > 1e4 {
                    return false;
                }
                g = d[i + 1] - p;
                r = (d[i] - g) * s + 2.0 * c * b;
                p = s * r;
                d[i + 1] = g + p;
                g = c * r - b;
            }
            if early {
                continue;
            }
            d[l] -= p;
            e[l] = g;
            e[m] = zero;
        }
    }
    d.iter().all(|z| z.re.is_finite() && z.im.is_finite())
}

/// Work arrays of the closed form, reused from one bias point to the next: once they have grown to
/// the chain's length, a bias point allocates nothing. [`ChainSolver::bias_point_exact`] keeps one
/// per thread; [`ChainSolver::bias_point_exact_with`] takes one from the caller.
#[derive(Debug, Default)]
pub struct PoleScratch {
    heff: Vec<Complex64>,
    work: Vec<Complex64>,
    spins: [SpinPoles; 2],
    /// Pole tracking along a sweep (off unless made with [`PoleScratch::tracking`]).
    track: Option<[Track; 2]>,
    /// How many spin expansions came from tracked poles.
    tracked: usize,
}

/// The last two bias points' poles of one spin, for [`PoleScratch::tracking`].
#[derive(Debug, Default)]
struct Track {
    /// Bias (mV) of `z1` and `z0` (`z1` the latest); `len` of them are valid.
    bias: [f64; 2],
    z1: Vec<Complex64>,
    z0: Vec<Complex64>,
    len: usize,
}

impl PoleScratch {
    /// Work arrays that also track the poles from one bias point to the next (chains of up to 8
    /// sites; longer ones always use the QL iteration, which is cheaper there): the poles at V are
    /// found by Newton's method on det(ω − H_eff(V)) from a linear extrapolation of the previous
    /// two points' poles (O(N) per pole and step, ~2 steps), instead of the QL iteration. Accepted
    /// only if every pole converges and all n are distinct (so they are all n roots); otherwise
    /// the QL iteration runs. Tracked poles agree with the QL ones to round-off (~1e-15 relative),
    /// not bit for bit, so use one tracking scratch per fixed run of bias points (as
    /// [`crate::sweep::sweep_bias`] does) to keep results independent of thread scheduling.
    pub fn tracking() -> Self {
        PoleScratch {
            track: Some(Default::default()),
            ..Default::default()
        }
    }

    /// How many single-spin pole sets were found by tracking (the others by the QL iteration).
    pub fn tracked_count(&self) -> usize {
        self.tracked
    }
}

/// Longest chain whose poles are tracked: Newton costs ~3 N-site recurrences per pole against
/// ~2 (N − k)-site QL sweeps for the k-th eigenvalue, so tracking pays only for short chains
/// (measured with `benches/negf.rs`: 1.5× faster at N = 4, 0.8× at N = 16).
const TRACK_MAX_SITES: usize = 8;

/// 1/z with one real division (`Complex64::inv` divides twice).
#[inline]
fn inv1(z: Complex64) -> Complex64 {
    let k = 1.0 / z.norm_sqr();
    Complex64::new(z.re * k, -z.im * k)
}

/// Newton's method for a root of det(ω − H_eff) (tridiagonal H_eff with diagonal `heff` and
/// off-diagonal `hop`) from `z`: det′/det = Σ_j r_j′/r_j with the continued-fraction ratios
/// r_j = ω − d_j − t_{j−1}²/r_{j−1} (no overflow for long chains). `None` unless a step falls
/// below `tol` (meV) within 8 steps, or det vanishes exactly after a step below 10⁶·tol.
fn newton_pole(heff: &[Complex64], hop: &[f64], z: Complex64, tol: f64) -> Option<Complex64> {
    let mut z = z;
    let mut last = f64::INFINITY;
    for _ in 0..8 {
        let mut sum = Complex64::new(0.0, 0.0);
        let mut inv_prev = Complex64::new(0.0, 0.0);
        let mut dr_prev = Complex64::new(0.0, 0.0);
        for (j, &d) in heff.iter().enumerate() {
            let t2 = if j > 0 { hop[j - 1] * hop[j - 1] } else { 0.0 };
            let r = z - d - t2 * inv_prev;
            let dr = 1.0 + t2 * dr_prev * inv_prev * inv_prev;
            let ir = inv1(r);
            sum += dr * ir;
            inv_prev = ir;
            dr_prev = dr;
        }
        let step = inv1(sum);
        if !(step.re.is_finite() && step.im.is_finite()) {
            // det(z − H_eff) = 0 in floating point: z is the root if Newton was converging.
            return (last <= 1e6 * tol).then_some(z);
        }
        z -= step;
        last = l1(step);
        if last <= tol {
            return Some(z);
        }
    }
    None
}

thread_local! {
    static SCRATCH: std::cell::RefCell<PoleScratch> = std::cell::RefCell::new(PoleScratch::default());
}

/// Run `f` with this thread's [`PoleScratch`] (a fresh one if it is already in use).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut PoleScratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        Err(_) => f(&mut PoleScratch::default()),
    })
}

impl ChainSolver {
    /// Effective diagonal of spin `s` at bias V: ε_j(V) − iΓ/2 on the lead sites (meV).
    pub(super) fn effective_diagonal(
        &self,
        s: usize,
        bias_mv: f64,
        gamma: (f64, f64),
    ) -> Vec<Complex64> {
        let mut out = Vec::with_capacity(self.n);
        self.effective_diagonal_into(s, bias_mv, gamma, &mut out);
        out
    }

    fn effective_diagonal_into(
        &self,
        s: usize,
        bias_mv: f64,
        gamma: (f64, f64),
        out: &mut Vec<Complex64>,
    ) {
        out.clear();
        out.extend((0..self.n).map(|j| {
            let mut d = Complex64::new(self.h0[j][(s, s)].re + self.lever[j] * bias_mv, 0.0);
            if j == self.site_l {
                d.im -= 0.5 * gamma.0;
            }
            if j == self.site_r {
                d.im -= 0.5 * gamma.1;
            }
            d
        }));
    }

    /// G_ab(ω) = [(ω − H_eff)⁻¹]_{ab} of one spin at complex energy ω (a = left lead site,
    /// b = right lead site), by the scalar recursion of the collinear fast path.
    fn g_ab_scalar(&self, heff: &[Complex64], omega: Complex64) -> Complex64 {
        super::g_ab_recursion(self.site_l, self.site_r, self.n, &self.hop, |j| {
            omega - heff[j]
        })
    }

    /// Residue of G_ab at the pole z_k, without eigenvectors. For a tridiagonal matrix
    /// G_ab(ω) = t_a ⋯ t_{b−1} · P_{<a}(ω) · Q_{>b}(ω) / det(ω − H_eff), with P_{<a}, Q_{>b} the
    /// determinants of ω − H_eff restricted to the sites before a and after b, and
    /// det(ω − H_eff) = Π_j (ω − z_j); so Res_{z_k} G_ab = t_a ⋯ t_{b−1} P Q / Π_{j≠k} (z_k − z_j).
    /// P and Q are products of continued-fraction ratios (three-term recurrence), and the n − 1
    /// numerator factors are paired with the n − 1 denominator factors, so nothing overflows for
    /// long chains. O(N) per pole.
    fn residue(&self, heff: &[Complex64], z: &[Complex64], k: usize) -> Complex64 {
        let (a, b, n) = (self.site_l, self.site_r, self.n);
        let zk = z[k];
        let mut den = (0..n).filter(|&j| j != k).map(|j| zk - z[j]);
        let mut prod = Complex64::new(1.0, 0.0);
        let mut next = |prod: &mut Complex64, num: Complex64| {
            // n − 1 numerator factors and n − 1 denominator factors: `den` never runs out.
            *prod *= num / den.next().unwrap_or(Complex64::new(1.0, 0.0));
        };
        let mut prev = Complex64::new(0.0, 0.0);
        for j in 0..a {
            let r = if j == 0 {
                zk - heff[0]
            } else {
                zk - heff[j] - self.hop[j - 1] * self.hop[j - 1] / prev
            };
            next(&mut prod, r);
            prev = r;
        }
        for j in a..b {
            next(&mut prod, Complex64::new(self.hop[j], 0.0));
        }
        for j in (b + 1..n).rev() {
            let q = if j + 1 == n {
                zk - heff[j]
            } else {
                zk - heff[j] - self.hop[j] * self.hop[j] / prev
            };
            next(&mut prod, q);
            prev = q;
        }
        prod
    }

    /// Pole expansion of spin `s`'s transmission at bias V, written into `out`; `false` when it
    /// does not apply. `heff` and `work` are work arrays.
    fn spin_poles_into(
        &self,
        s: usize,
        bias_mv: f64,
        heff: &mut Vec<Complex64>,
        work: &mut Vec<Complex64>,
        out: &mut SpinPoles,
        mut track: Option<&mut Track>,
    ) -> bool {
        out.z.clear();
        out.c.clear();
        out.tracked = false;
        let Some(c) = self.collinear.as_ref() else {
            return false;
        };
        let gamma = c.gamma[s];
        let (a, b, n) = (self.site_l, self.site_r, self.n);
        if gamma.0 == 0.0 || gamma.1 == 0.0 {
            // No transmission in this spin: an empty expansion is exact.
            return true;
        }
        if a > b || self.hop.iter().any(|&t| t == 0.0 || !t.is_finite()) {
            return false;
        }
        self.effective_diagonal_into(s, bias_mv, gamma, heff);
        let scale = heff.iter().map(|&d| l1(d)).fold(0.0, f64::max)
            + 2.0 * self.hop.iter().map(|t| t.abs()).fold(0.0, f64::max);
        let tracked = match track.as_deref_mut() {
            Some(t) if t.len > 0 && t.z1.len() == n && n <= TRACK_MAX_SITES => {
                let w = if t.len > 1 && t.bias[0] != t.bias[1] {
                    (bias_mv - t.bias[0]) / (t.bias[0] - t.bias[1])
                } else {
                    0.0
                };
                let mut ok = true;
                for k in 0..n {
                    let guess = if w != 0.0 {
                        t.z1[k] + (t.z1[k] - t.z0[k]) * w
                    } else {
                        t.z1[k]
                    };
                    match newton_pole(heff, &self.hop, guess, 1e-12 * scale) {
                        Some(z) => out.z.push(z),
                        None => {
                            ok = false;
                            break;
                        }
                    }
                }
                ok
            }
            _ => false,
        };
        if !tracked {
            out.z.clear();
            out.z.extend_from_slice(heff);
        }
        if !tracked && !tridiagonal_eigenvalues_in_place(&mut out.z, &self.hop, work) {
            match eigenvalues(heff, &self.hop) {
                Some(z) => {
                    out.z.clear();
                    out.z.extend(z);
                }
                None => return false,
            }
        }
        // Coalescing poles (near an exceptional point) make the residues meaningless. (For tracked
        // poles this also proves that they are all n roots.)
        let z = &out.z;
        let mut distinct = true;
        'pairs: for i in 0..n {
            for j in 0..i {
                if l1(z[i] - z[j]) < 1e-7 * scale {
                    distinct = false;
                    break 'pairs;
                }
            }
        }
        if !distinct {
            if tracked {
                // Two guesses fell into one root: start afresh.
                if let Some(t) = track.as_deref_mut() {
                    t.len = 0;
                }
                return self.spin_poles_into(s, bias_mv, heff, work, out, track);
            }
            return false;
        }
        out.tracked = tracked;
        if let Some(t) = track {
            std::mem::swap(&mut t.z0, &mut t.z1);
            t.z1.clear();
            t.z1.extend_from_slice(&out.z);
            t.bias = [bias_mv, t.bias[0]];
            t.len = (t.len + 1).min(2);
        }
        let gg = gamma.0 * gamma.1;
        for k in 0..n {
            // A state that does not touch the leads within round-off (exactly, or localised deep
            // inside a long disordered chain: width ≲ 1e-14 × ‖H‖) carries no transmission; the
            // check below confirms that dropping it keeps T(E).
            let r = self.residue(heff, &out.z, k);
            let zk = out.z[k];
            if r == Complex64::new(0.0, 0.0) || zk.im >= -1e-14 * scale {
                out.c.push(Complex64::new(0.0, 0.0));
                continue;
            }
            out.c
                .push(gg * r * self.g_ab_scalar(heff, zk.conj()).conj());
        }
        // Check the expansion against the direct recursion at every pole centre and far out. A
        // pole's position is only known to ~1e-16 × ‖H‖, so at the centre of a resonance narrower
        // than that the expansion is off; what matters for the integrals is the error times the
        // resonance width, against the weight of the widest resonance.
        let poles = &*out;
        let widest = poles.z.iter().map(|z| -z.im).fold(0.0, f64::max);
        let mut worst = 0.0f64;
        let mut top = 0.0f64;
        let mut check = |e: f64, weight: f64| {
            let direct = gg * self.g_ab_scalar(heff, Complex64::new(e, 0.0)).norm_sqr();
            worst = worst.max((direct - poles.transmission(e)).abs() * weight);
            top = top.max(direct);
        };
        for z in &poles.z {
            check(z.re, -z.im / widest);
        }
        check(
            poles.z.iter().map(|z| z.re).sum::<f64>() / n as f64 + 3.0 * scale,
            1.0,
        );
        !(worst.is_nan() || worst > 1e-10 * top)
    }

    /// Pole expansions of both spins at bias V into `scratch`, or `false`.
    pub(super) fn both_spin_poles(&self, bias_mv: f64, scratch: &mut PoleScratch) -> bool {
        let PoleScratch {
            heff,
            work,
            spins,
            track,
            tracked,
        } = scratch;
        let [up, down] = spins;
        let (t_up, t_down) = match track {
            Some([a, b]) => (Some(a), Some(b)),
            None => (None, None),
        };
        let ok = self.spin_poles_into(0, bias_mv, heff, work, up, t_up)
            && self.spin_poles_into(1, bias_mv, heff, work, down, t_down);
        *tracked += usize::from(up.tracked) + usize::from(down.tracked);
        ok
    }
}

/// Accessor for [`ChainSolver::bias_point_exact_with`]: the two spins' expansions.
impl PoleScratch {
    pub(super) fn spins(&self) -> &[SpinPoles; 2] {
        &self.spins
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

    #[test]
    fn digamma_special_values_and_identities() {
        let c = |x: f64, y: f64| Complex64::new(x, y);
        assert!((digamma(c(1.0, 0.0)).re + EULER_GAMMA).abs() < 1e-15);
        let half = -EULER_GAMMA - 2.0 * std::f64::consts::LN_2;
        assert!((digamma(c(0.5, 0.0)).re - half).abs() < 1e-15);
        for &y in &[1e-3, 0.3, 1.0, 7.5, 40.0, 1e4, 1e9] {
            // Im ψ(½ + iy) = (π/2)·tanh(πy).
            let v = digamma(c(0.5, y));
            let exact = std::f64::consts::FRAC_PI_2 * (std::f64::consts::PI * y).tanh();
            assert!((v.im - exact).abs() < 1e-14 * exact.max(1.0), "y = {y}");
            // Im ψ(1 + iy) = −1/(2y) + (π/2)·coth(πy).
            let v = digamma(c(1.0, y));
            let exact = -0.5 / y + std::f64::consts::FRAC_PI_2 / (std::f64::consts::PI * y).tanh();
            assert!(
                (v.im - exact).abs() < 1e-13 * exact.abs().max(1.0),
                "y = {y}"
            );
            // Recurrence across the switch to the asymptotic series.
            for &x in &[0.5, 3.2, 7.4, 14.7] {
                let z = c(x, y);
                let d = digamma(z + 1.0) - digamma(z) - z.inv();
                assert!(d.norm() < 1e-13 * digamma(z).norm().max(1.0), "z = {z}");
            }
            // Agrees with the real-part routine of the master equation.
            let re = crate::master::model::re_digamma_complex(0.5, y);
            assert!((digamma(c(0.5, y)).re - re).abs() < 1e-12 * re.abs().max(1.0));
        }
    }

    #[test]
    fn tridiagonal_ql_matches_dense_schur() {
        let mut seed = 12345u64;
        let mut rnd = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for n in [1usize, 2, 3, 7, 40, 130] {
            let mut diag: Vec<Complex64> =
                (0..n).map(|_| Complex64::new(4.0 * rnd(), 0.0)).collect();
            diag[0].im -= 1.3;
            diag[n - 1].im -= 0.4;
            let off: Vec<f64> = (1..n).map(|_| 1.0 + rnd()).collect();
            let mut ql = tridiagonal_eigenvalues(&diag, &off).expect("converges");
            let mut h = DMatrix::<Complex64>::zeros(n, n);
            for j in 0..n {
                h[(j, j)] = diag[j];
                if j + 1 < n {
                    h[(j, j + 1)] = Complex64::new(off[j], 0.0);
                    h[(j + 1, j)] = Complex64::new(off[j], 0.0);
                }
            }
            let (_, t) = nalgebra::linalg::Schur::new(h).unpack();
            let mut sc: Vec<Complex64> = (0..n).map(|k| t[(k, k)]).collect();
            let key = |z: &Complex64| (z.re, z.im);
            ql.sort_by(|a, b| key(a).partial_cmp(&key(b)).unwrap());
            sc.sort_by(|a, b| key(a).partial_cmp(&key(b)).unwrap());
            for (a, b) in ql.iter().zip(&sc) {
                assert!((a - b).norm() < 1e-11, "n = {n}: {a} vs {b}");
            }
            // The trace is kept (the test can fail).
            for z in [
                Complex64::new(3.0, 4.0),
                Complex64::new(-3.0, 4.0),
                Complex64::new(-3.0, -4.0),
                Complex64::new(-2.0, 0.0),
                Complex64::new(1e-300, -1e-300),
            ] {
                assert!((csqrt(z) - z.sqrt()).norm() <= 1e-15 * z.norm().sqrt());
            }
            let tr: Complex64 = diag.iter().sum();
            let s: Complex64 = ql.iter().sum();
            assert!((tr - s).norm() < 1e-11 * n as f64);
        }
    }
}
