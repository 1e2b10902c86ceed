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
/// Recurrence ψ(z) = ψ(z + 1) − 1/z up to |z| ≥ 8, then the asymptotic series
/// ψ(z) ~ ln z − 1/(2z) − Σ_{k=1}^{9} B_2k / (2k z^{2k}) (first omitted term < 2e-17 at |z| = 8).
pub fn digamma(z: Complex64) -> Complex64 {
    let mut z = z;
    let mut acc = Complex64::new(0.0, 0.0);
    while z.norm_sqr() < 64.0 {
        acc -= z.inv();
        z += 1.0;
    }
    let w = (z * z).inv();
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
    acc + z.ln() - 0.5 * z.inv() - series
}

/// Regularised Fermi integral K(z, μ, kT) = ∫ dE f((E − μ)/kT)/(E − z) + ln D for Im z < 0 (meV).
#[inline]
fn fermi_kernel(z: Complex64, mu: f64, kt: f64) -> Complex64 {
    let half_pi_i = I * std::f64::consts::FRAC_PI_2;
    if kt > 0.0 {
        let two_pi_kt = std::f64::consts::TAU * kt;
        digamma(0.5 + I * (z - mu) / two_pi_kt) + two_pi_kt.ln() - half_pi_i
    } else {
        (I * (z - mu)).ln() - half_pi_i
    }
}

/// Pole expansion of one spin's transmission: T(E) = 2 Re Σ c_k/(E − z_k).
#[derive(Debug, Clone)]
pub(crate) struct SpinPoles {
    /// Poles z_k, meV.
    pub z: Vec<Complex64>,
    /// Partial-fraction coefficients c_k, meV.
    pub c: Vec<Complex64>,
}

impl SpinPoles {
    /// `(∫ T(E) f((E − μ)/kT) dE, ∫ E·T(E) f((E − μ)/kT) dE)` (meV, meV²), each up to a constant
    /// common to all μ and T: one digamma per pole.
    pub fn particle_and_energy(&self, mu: f64, kt: f64) -> (f64, f64) {
        let (mut n, mut e) = (0.0, 0.0);
        for (&z, &c) in self.z.iter().zip(&self.c) {
            let ck = c * fermi_kernel(z, mu, kt);
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

/// Work arrays of [`tridiagonal_solve_with`].
#[derive(Default)]
struct TriScratch {
    d: Vec<Complex64>,
    du: Vec<Complex64>,
    du2: Vec<Complex64>,
}

/// Solve the tridiagonal system M x = b in place (partial pivoting), M with sub/super-diagonal
/// `off` (symmetric pattern) and diagonal `diag`, using caller-owned work arrays (no allocation once
/// they have grown). Zero pivots are replaced by `tiny` (the intended behaviour for inverse
/// iteration at an eigenvalue; choose it ~1e-16 × the matrix norm, so that complex division does
/// not underflow).
fn tridiagonal_solve_with(
    diag: &[Complex64],
    off: &[f64],
    b: &mut [Complex64],
    tiny: f64,
    scratch: &mut TriScratch,
) {
    let n = diag.len();
    let TriScratch { d, du, du2 } = scratch;
    d.clear();
    d.extend_from_slice(diag);
    du.clear();
    du.extend(off.iter().map(|&t| Complex64::new(t, 0.0)));
    du2.clear();
    du2.resize(n.saturating_sub(2), Complex64::new(0.0, 0.0));
    for i in 0..n.saturating_sub(1) {
        let dl = Complex64::new(off[i], 0.0);
        if d[i].norm() >= dl.norm() {
            if d[i].norm() == 0.0 {
                d[i] = Complex64::new(tiny, 0.0);
            }
            let l = dl / d[i];
            d[i + 1] -= l * du[i];
            b[i + 1] -= l * b[i];
        } else {
            let l = d[i] / dl;
            d[i] = dl;
            let tmp = d[i + 1];
            d[i + 1] = du[i] - l * tmp;
            if i + 2 < n {
                du2[i] = du[i + 1];
                du[i + 1] = -l * du2[i];
            }
            du[i] = tmp;
            let (bi, bi1) = (b[i], b[i + 1]);
            b[i] = bi1;
            b[i + 1] = bi - l * bi1;
        }
    }
    if d[n - 1].norm() == 0.0 {
        d[n - 1] = Complex64::new(tiny, 0.0);
    }
    b[n - 1] /= d[n - 1];
    if n >= 2 {
        b[n - 2] = (b[n - 2] - du[n - 2] * b[n - 1]) / d[n - 2];
    }
    for i in (0..n.saturating_sub(2)).rev() {
        b[i] = (b[i] - du[i] * b[i + 1] - du2[i] * b[i + 2]) / d[i];
    }
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
    let t = (0.5 * (z.re.hypot(z.im) + z.re.abs())).sqrt();
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
    let n = diag.len();
    let mut d = diag.to_vec();
    let mut e: Vec<Complex64> = off.iter().map(|&t| Complex64::new(t, 0.0)).collect();
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
                return None;
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
                let inv_r = r.inv();
                s = f * inv_r;
                c = g * inv_r;
                if l1(s) > 1e4 || l1(c) > 1e4 {
                    return None;
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
    d.iter()
        .all(|z| z.re.is_finite() && z.im.is_finite())
        .then_some(d)
}

impl ChainSolver {
    /// Effective diagonal of spin `s` at bias V: ε_j(V) − iΓ/2 on the lead sites.
    pub(super) fn effective_diagonal(
        &self,
        s: usize,
        bias_mv: f64,
        gamma: (f64, f64),
    ) -> Vec<Complex64> {
        (0..self.n)
            .map(|j| {
                let mut d = Complex64::new(self.h0[j][(s, s)].re + self.lever[j] * bias_mv, 0.0);
                if j == self.site_l {
                    d.im -= 0.5 * gamma.0;
                }
                if j == self.site_r {
                    d.im -= 0.5 * gamma.1;
                }
                d
            })
            .collect()
    }

    /// G_ab(ω) = [(ω − H_eff)⁻¹]_{ab} of one spin at complex energy ω (a = left lead site,
    /// b = right lead site), by the scalar recursion of the collinear fast path.
    fn g_ab_scalar(&self, heff: &[Complex64], omega: Complex64) -> Complex64 {
        super::g_ab_recursion(self.site_l, self.site_r, self.n, &self.hop, |j| {
            omega - heff[j]
        })
    }

    /// Pole expansion of spin `s`'s transmission at bias V, or `None` when it does not apply.
    pub(crate) fn spin_poles(&self, s: usize, bias_mv: f64) -> Option<SpinPoles> {
        let c = self.collinear.as_ref()?;
        let gamma = c.gamma[s];
        let (a, b, n) = (self.site_l, self.site_r, self.n);
        if gamma.0 == 0.0 || gamma.1 == 0.0 {
            // No transmission in this spin: an empty expansion is exact.
            return Some(SpinPoles {
                z: Vec::new(),
                c: Vec::new(),
            });
        }
        if a > b || self.hop.iter().any(|&t| t == 0.0 || !t.is_finite()) {
            return None;
        }
        let heff = self.effective_diagonal(s, bias_mv, gamma);
        let eig = eigenvalues(&heff, &self.hop)?;
        let scale = heff.iter().map(|d| d.norm()).fold(0.0, f64::max)
            + 2.0 * self.hop.iter().map(|t| t.abs()).fold(0.0, f64::max);
        let mut z = Vec::with_capacity(n);
        let mut r = Vec::with_capacity(n);
        let mut x = vec![Complex64::new(0.0, 0.0); n];
        let mut diag = vec![Complex64::new(0.0, 0.0); n];
        let mut tri = TriScratch::default();
        for &z0 in eig.iter() {
            // Inverse iteration with Rayleigh-quotient refinement (complex symmetric: vᵀ, not v†).
            let mut zk = z0;
            x.iter_mut()
                .enumerate()
                .for_each(|(j, v)| *v = Complex64::new(1.0 + 0.1 * j as f64, 0.0));
            for it in 0..4 {
                for j in 0..n {
                    diag[j] = heff[j] - zk;
                }
                tridiagonal_solve_with(&diag, &self.hop, &mut x, 1e-16 * scale, &mut tri);
                let m = x.iter().map(|v| v.norm()).fold(0.0, f64::max);
                if !(m.is_finite() && m > 0.0) {
                    return None;
                }
                x.iter_mut().for_each(|v| *v /= m);
                if it >= 1 {
                    let mut num = Complex64::new(0.0, 0.0);
                    let mut den = Complex64::new(0.0, 0.0);
                    for j in 0..n {
                        let mut hx = heff[j] * x[j];
                        if j > 0 {
                            hx += self.hop[j - 1] * x[j - 1];
                        }
                        if j + 1 < n {
                            hx += self.hop[j] * x[j + 1];
                        }
                        num += x[j] * hx;
                        den += x[j] * x[j];
                    }
                    zk = num / den;
                }
            }
            let norm: Complex64 = x.iter().map(|v| v * v).sum();
            if norm.norm() < 1e-8 {
                // A self-orthogonal vector: coalescing poles (exceptional point).
                return None;
            }
            z.push(zk);
            r.push(x[a] * x[b] / norm);
        }
        // Coalescing poles make the residues meaningless.
        for i in 0..n {
            for j in 0..i {
                if (z[i] - z[j]).norm() < 1e-7 * scale {
                    return None;
                }
            }
        }
        let gg = gamma.0 * gamma.1;
        let mut coef = Vec::with_capacity(n);
        for k in 0..n {
            // A state that does not touch the leads within round-off (exactly, or localised deep
            // inside a long disordered chain: width ≲ 1e-14 × ‖H‖) carries no transmission; the
            // check below confirms that dropping it keeps T(E).
            if r[k] == Complex64::new(0.0, 0.0) || z[k].im >= -1e-14 * scale {
                coef.push(Complex64::new(0.0, 0.0));
                continue;
            }
            coef.push(gg * r[k] * self.g_ab_scalar(&heff, z[k].conj()).conj());
        }
        let poles = SpinPoles { z, c: coef };
        // Check the expansion against the direct recursion at every pole centre and far out. A
        // pole's position is only known to ~1e-16 × ‖H‖, so at the centre of a resonance narrower
        // than that the expansion is off; what matters for the integrals is the error times the
        // resonance width, against the weight of the widest resonance.
        let widest = poles.z.iter().map(|z| -z.im).fold(0.0, f64::max);
        let mut worst = 0.0f64;
        let mut top = 0.0f64;
        let mut check = |e: f64, weight: f64| {
            let direct = gg * self.g_ab_scalar(&heff, Complex64::new(e, 0.0)).norm_sqr();
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
        if worst.is_nan() || worst > 1e-10 * top {
            return None;
        }
        Some(poles)
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

    #[test]
    fn tridiagonal_solver_with_pivoting_and_reused_scratch() {
        let diag = [
            Complex64::new(1e-9, 0.0),
            Complex64::new(2.0, -1.0),
            Complex64::new(-0.5, 0.2),
            Complex64::new(3.0, 0.0),
        ];
        let off = [1.5, -0.7, 0.9];
        let x = [
            Complex64::new(1.0, 2.0),
            Complex64::new(-3.0, 0.5),
            Complex64::new(0.25, -1.0),
            Complex64::new(2.0, 0.0),
        ];
        let mut b: Vec<Complex64> = (0..4)
            .map(|i| {
                let mut v = diag[i] * x[i];
                if i > 0 {
                    v += off[i - 1] * x[i - 1];
                }
                if i < 3 {
                    v += off[i] * x[i + 1];
                }
                v
            })
            .collect();
        tridiagonal_solve_with(&diag, &off, &mut b, 1e-300, &mut TriScratch::default());
        for i in 0..4 {
            assert!((b[i] - x[i]).norm() < 1e-13, "{i}: {} vs {}", b[i], x[i]);
        }
    }
}
