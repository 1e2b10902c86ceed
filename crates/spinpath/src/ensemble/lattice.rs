//! Carbon on the oxygen sublattice of rock-salt MgO: sampling, neighbour orders, pairs.
//!
//! The O sublattice of rock salt is face-centred cubic with the conventional cube edge `a`
//! (4.21 Å for MgO). Sites are integer triples `(i, j, k)` in units of `a/2` with `i + j + k` even;
//! `k` counts the (001) layers from the bottom interface (`0..layers`), the box is periodic in `i`
//! and `j` (an even number `side` of half-cells), so every site has the full bulk set of
//! in-plane neighbours. Neighbour shells of the fcc lattice (distance, number):
//! 1st `a/√2` (12), 2nd `a` (6), 3rd `a√(3/2)` (24), 4th `a√2` (12), 5th `a√(5/2)` (24).

use rand::{Rng, RngExt};

/// Squared lengths (units of (a/2)²) of the first five fcc neighbour shells, in order.
pub const SHELL_SQ: [i64; 5] = [2, 4, 6, 8, 10];

/// Distance of neighbour order `order` (1–5) in units of `a`.
pub fn shell_distance(order: usize) -> f64 {
    (SHELL_SQ[order - 1] as f64).sqrt() / 2.0
}

/// The neighbour order (1–5) of a displacement `(di, dj, dk)` in units of a/2, or None beyond
/// the 5th shell.
pub fn order_of(d: [i64; 3]) -> Option<usize> {
    let s = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
    SHELL_SQ.iter().position(|&q| q == s).map(|p| p + 1)
}

/// A box of the O sublattice: `side × side` half-cells in plane (periodic), `layers` layers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slab {
    /// In-plane period in units of a/2 (even).
    pub side: i64,
    /// Number of (001) O layers across the barrier.
    pub layers: i64,
}

impl Slab {
    /// Number of O sites (half of the simple-cubic points of the box).
    pub fn sites(&self) -> u64 {
        (self.side * self.side * self.layers / 2) as u64
    }

    /// The `n`-th O site (0 ≤ n < sites), in layer-major order.
    pub fn site(&self, n: u64) -> [i64; 3] {
        let per_layer = (self.side * self.side / 2) as u64;
        let k = (n / per_layer) as i64;
        let r = (n % per_layer) as i64;
        let j = r / (self.side / 2);
        let half = r % (self.side / 2);
        // In layer k, row j: i runs over the values with i + j + k even.
        let i = 2 * half + (j + k).rem_euclid(2);
        [i, j, k]
    }

    /// The minimum-image displacement from `a` to `b` (periodic in plane), units of a/2.
    pub fn displacement(&self, a: [i64; 3], b: [i64; 3]) -> [i64; 3] {
        let wrap = |d: i64| {
            let d = d.rem_euclid(self.side);
            if d > self.side / 2 {
                d - self.side
            } else {
                d
            }
        };
        [wrap(b[0] - a[0]), wrap(b[1] - a[1]), b[2] - a[2]]
    }
}

/// Occupy each O site of `slab` independently with probability `p` (0 ≤ p ≤ 1): the occupied
/// sites in ascending site order. Draws geometric gaps between occupied sites (exactly the
/// Bernoulli process, with one random number per atom rather than per site).
pub fn sample_sites<R: Rng>(slab: &Slab, p: f64, rng: &mut R) -> Vec<[i64; 3]> {
    let n = slab.sites();
    let mut out = Vec::new();
    if p <= 0.0 {
        return out;
    }
    if p >= 1.0 {
        return (0..n).map(|s| slab.site(s)).collect();
    }
    let ln_q = (-p).ln_1p();
    let mut s: u64 = 0;
    loop {
        // Number of empty sites before the next occupied one: Geometric(p) on {0, 1, ...}.
        let u: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
        let gap = (u.ln() / ln_q).floor();
        if !gap.is_finite() || gap >= (n - s) as f64 {
            break;
        }
        s += gap as u64;
        out.push(slab.site(s));
        s += 1;
        if s >= n {
            break;
        }
    }
    out
}

/// Every pair of atoms within the 5th shell: `(i, j, order)` with i < j.
pub fn pairs(slab: &Slab, atoms: &[[i64; 3]]) -> Vec<(usize, usize, usize)> {
    use std::collections::HashMap;
    let index: HashMap<[i64; 3], usize> = atoms.iter().enumerate().map(|(n, &a)| (a, n)).collect();
    let mut out = Vec::new();
    for (n, &a) in atoms.iter().enumerate() {
        for di in -3i64..=3 {
            for dj in -3i64..=3 {
                for dk in -3i64..=3 {
                    let Some(order) = order_of([di, dj, dk]) else {
                        continue;
                    };
                    let b = [
                        (a[0] + di).rem_euclid(slab.side),
                        (a[1] + dj).rem_euclid(slab.side),
                        a[2] + dk,
                    ];
                    if let Some(&m) = index.get(&b) {
                        if m > n {
                            out.push((n, m, order));
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn fcc_shells_have_the_bulk_coordination() {
        let mut count = [0usize; 5];
        for di in -3i64..=3 {
            for dj in -3i64..=3 {
                for dk in -3i64..=3 {
                    if (di + dj + dk).rem_euclid(2) != 0 {
                        // Not an O–O vector: never a neighbour of the sublattice.
                        continue;
                    }
                    if let Some(o) = order_of([di, dj, dk]) {
                        count[o - 1] += 1;
                    }
                }
            }
        }
        assert_eq!(count, [12, 6, 24, 12, 24]);
        // 4th neighbours at a√2 = 5.95 Å for a = 4.21 Å.
        assert!((shell_distance(4) * 4.21 - 5.954).abs() < 1e-3);
    }

    #[test]
    fn sites_are_the_o_sublattice_once_each() {
        let slab = Slab { side: 6, layers: 4 };
        let all: Vec<[i64; 3]> = (0..slab.sites()).map(|n| slab.site(n)).collect();
        assert_eq!(all.len(), 72);
        let mut set = std::collections::HashSet::new();
        for s in &all {
            assert_eq!((s[0] + s[1] + s[2]).rem_euclid(2), 0, "{s:?}");
            assert!((0..6).contains(&s[0]) && (0..6).contains(&s[1]) && (0..4).contains(&s[2]));
            assert!(set.insert(*s));
        }
        // A full slab: every interior atom has its 12 + 6 + 24 + 12 + 24 neighbours in plane
        // (periodic) and fewer only across the two interfaces.
        let side = 8;
        let full = Slab { side, layers: 7 };
        let atoms: Vec<[i64; 3]> = (0..full.sites()).map(|n| full.site(n)).collect();
        let p = pairs(&full, &atoms);
        let mut per = vec![[0usize; 5]; atoms.len()];
        for &(i, j, o) in &p {
            per[i][o - 1] += 1;
            per[j][o - 1] += 1;
        }
        for (n, a) in atoms.iter().enumerate() {
            if a[2] == 3 {
                assert_eq!(per[n], [12, 6, 24, 12, 24], "{a:?}");
            }
        }
    }

    #[test]
    fn occupation_is_bernoulli_at_the_given_probability() {
        let slab = Slab {
            side: 40,
            layers: 12,
        };
        let n = slab.sites() as f64;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        for p in [0.0, 0.002, 0.05, 0.5] {
            let reps = 200;
            let total: usize = (0..reps)
                .map(|_| sample_sites(&slab, p, &mut rng).len())
                .sum();
            let mean = total as f64 / reps as f64;
            // Mean count n p, standard error sqrt(n p (1 − p) / reps): within 5 of them.
            let se = (n * p * (1.0 - p) / reps as f64).sqrt();
            assert!(
                (mean - n * p).abs() <= 5.0 * se + 1e-12,
                "p {p}: {mean} vs {}",
                n * p
            );
        }
        assert_eq!(
            sample_sites(&slab, 1.0, &mut rng).len() as u64,
            slab.sites()
        );
        // Sites come out ascending and distinct.
        let s = sample_sites(&slab, 0.3, &mut rng);
        let set: std::collections::HashSet<_> = s.iter().collect();
        assert_eq!(set.len(), s.len());
    }
}
