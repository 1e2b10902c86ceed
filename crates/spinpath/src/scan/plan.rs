//! Multi-parameter scans: a [`ScanPlan`] of points over several parameter axes (a grid, or random /
//! Latin-hypercube samples with a seed), deterministic point indices, shards for job arrays
//! (`shard(k, n)` = the points with `index % n == k`), and [`merge`] of the shards' tables.
//!
//! Conventions: point indices start at 0. A grid runs through its axes in row-major order — the
//! **last** axis varies fastest. Values are in the unit of the parameter's name
//! (`spin_accumulation_meV` in meV, ...). Random and Latin-hypercube samples depend only on the
//! seed, the axes and the number of samples, so every shard computes the same points.

use crate::error::{Error, Result};
use crate::table::{Column, Table};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// Largest number of points of one plan.
pub const MAX_POINTS: usize = 10_000_000;

/// One parameter axis: `name` from `from` to `to` (inclusive) in `n` values (grid), or the interval
/// `[from, to]` sampled (random / Latin hypercube; `n` is then unused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// Parameter name, as in fits (`spin_accumulation_meV`, `P.dimer_energy_meV`); carries its unit.
    pub name: String,
    /// First value (unit of the name).
    pub from: f64,
    /// Last value (unit of the name).
    pub to: f64,
    /// Number of grid values (≥ 1).
    pub n: usize,
}

impl Axis {
    /// Parse `NAME=FROM:TO:N` (grid) or `NAME=FROM:TO` (a sampled interval; `n` = 1).
    pub fn parse(spec: &str) -> Result<Axis> {
        let bad = |m: String| {
            Error::invalid(
                "--param",
                format!(
                    "`{spec}`: {m} (expected NAME=FROM:TO:N, e.g. spin_accumulation_meV=0:8.4:5)"
                ),
            )
        };
        let (name, range) = spec.split_once('=').ok_or_else(|| bad("no `=`".into()))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(bad("empty parameter name".into()));
        }
        let parts: Vec<&str> = range.split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(bad(format!(
                "{} fields after `=`, need 2 or 3",
                parts.len()
            )));
        }
        let num = |s: &str, what: &str| -> Result<f64> {
            match s.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(x),
                _ => Err(bad(format!("{what} `{s}` is not a finite number"))),
            }
        };
        let from = num(parts[0], "FROM")?;
        let to = num(parts[1], "TO")?;
        let n = match parts.get(2) {
            None => 1,
            Some(s) => match s.trim().parse::<usize>() {
                Ok(n) if (1..=MAX_POINTS).contains(&n) => n,
                _ => {
                    return Err(bad(format!(
                        "N `{s}` must be an integer in 1..={MAX_POINTS}"
                    )))
                }
            },
        };
        Ok(Axis {
            name: name.to_string(),
            from,
            to,
            n,
        })
    }

    /// The `k`-th of the `n` grid values (evenly spaced, ends included; `from` when `n` = 1).
    pub fn grid_value(&self, k: usize) -> f64 {
        if self.n <= 1 {
            self.from
        } else {
            self.from + (self.to - self.from) * k as f64 / (self.n - 1) as f64
        }
    }

    /// `from + t (to − from)` for `t` in [0, 1].
    fn at(&self, t: f64) -> f64 {
        self.from + (self.to - self.from) * t
    }
}

/// How a plan chooses its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampling {
    /// Every combination of the axes' grid values.
    Grid,
    /// Independent uniform samples in the box of the axes.
    Random,
    /// Latin hypercube: each axis split in `samples` equal strata, each stratum used once.
    Lhs,
}

impl std::str::FromStr for Sampling {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "grid" => Ok(Sampling::Grid),
            "random" => Ok(Sampling::Random),
            "lhs" => Ok(Sampling::Lhs),
            _ => Err(Error::invalid(
                "--sampling",
                format!("`{s}`: allowed values are grid, random, lhs"),
            )),
        }
    }
}

/// The points of a scan: axes, sampling, number of samples and seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanPlan {
    /// The parameters varied, in column order.
    pub axes: Vec<Axis>,
    /// Grid or samples.
    pub sampling: Sampling,
    /// Number of samples (random / LHS); the grid size for a grid.
    pub samples: usize,
    /// Seed of the random / LHS samples (0 and unused for a grid).
    pub seed: u64,
}

impl ScanPlan {
    /// A grid over `axes` (row-major, last axis fastest).
    pub fn grid(axes: Vec<Axis>) -> Result<ScanPlan> {
        check_axes(&axes)?;
        let mut total: usize = 1;
        for a in &axes {
            total = total
                .checked_mul(a.n)
                .filter(|&t| t <= MAX_POINTS)
                .ok_or_else(|| {
                    Error::invalid(
                        "scan",
                        format!("the grid has more than {MAX_POINTS} points"),
                    )
                })?;
        }
        Ok(ScanPlan {
            axes,
            sampling: Sampling::Grid,
            samples: total,
            seed: 0,
        })
    }

    /// `samples` random or Latin-hypercube points in the box of `axes`, drawn with `seed`.
    pub fn sampled(
        axes: Vec<Axis>,
        sampling: Sampling,
        samples: usize,
        seed: u64,
    ) -> Result<ScanPlan> {
        check_axes(&axes)?;
        if sampling == Sampling::Grid {
            return ScanPlan::grid(axes);
        }
        if !(1..=MAX_POINTS).contains(&samples) {
            return Err(Error::invalid(
                "--samples",
                format!("{samples}: allowed range 1..={MAX_POINTS}"),
            ));
        }
        Ok(ScanPlan {
            axes,
            sampling,
            samples,
            seed,
        })
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.samples
    }

    /// Whether the plan has no point (never, for a checked plan).
    pub fn is_empty(&self) -> bool {
        self.samples == 0
    }

    /// The parameter values of every point, indexed by point index.
    pub fn points(&self) -> Vec<Vec<f64>> {
        let d = self.axes.len();
        match self.sampling {
            Sampling::Grid => (0..self.samples)
                .map(|i| {
                    let mut rest = i;
                    let mut v = vec![0.0; d];
                    for (j, a) in self.axes.iter().enumerate().rev() {
                        v[j] = a.grid_value(rest % a.n);
                        rest /= a.n;
                    }
                    v
                })
                .collect(),
            Sampling::Random => {
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
                (0..self.samples)
                    .map(|_| {
                        self.axes
                            .iter()
                            .map(|a| a.at(rng.random::<f64>()))
                            .collect()
                    })
                    .collect()
            }
            Sampling::Lhs => {
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
                let n = self.samples;
                let mut v = vec![vec![0.0; d]; n];
                for (j, a) in self.axes.iter().enumerate() {
                    // A Fisher–Yates permutation of the strata, then a uniform offset in each.
                    let mut perm: Vec<usize> = (0..n).collect();
                    for i in (1..n).rev() {
                        let k = rng.random_range(0..=i);
                        perm.swap(i, k);
                    }
                    for (i, row) in v.iter_mut().enumerate() {
                        let t = (perm[i] as f64 + rng.random::<f64>()) / n as f64;
                        row[j] = a.at(t);
                    }
                }
                v
            }
        }
    }

    /// The point indices of shard `k` of `n` (those with `index % n == k`), ascending.
    pub fn shard(&self, k: usize, n: usize) -> Result<Vec<usize>> {
        check_shard(k, n)?;
        Ok((k..self.samples).step_by(n).collect())
    }

    /// A short text identifying the plan (the axes, sampling, samples and seed), for fingerprints.
    pub fn description(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn check_axes(axes: &[Axis]) -> Result<()> {
    if axes.is_empty() {
        return Err(Error::invalid("scan", "no parameter to vary"));
    }
    for (i, a) in axes.iter().enumerate() {
        if axes[..i].iter().any(|b| b.name == a.name) {
            return Err(Error::invalid(
                "--param",
                format!("`{}` is given twice", a.name),
            ));
        }
        if !(a.from.is_finite() && a.to.is_finite()) || a.n == 0 {
            return Err(Error::invalid(
                "--param",
                format!("`{}`: FROM and TO must be finite and N ≥ 1", a.name),
            ));
        }
    }
    Ok(())
}

/// Check a shard `k` of `n`: `n ≥ 1`, `0 ≤ k < n`.
pub fn check_shard(k: usize, n: usize) -> Result<()> {
    if n == 0 || k >= n {
        return Err(Error::invalid(
            "--shard",
            format!("{k}/{n}: need N ≥ 1 and 0 ≤ K < N (shards are numbered from 0)"),
        ));
    }
    Ok(())
}

/// Parse `K/N` (shard K of N, K from 0).
pub fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let bad = || {
        Error::invalid(
            "--shard",
            format!("`{s}`: expected K/N with integers 0 ≤ K < N, e.g. 0/3"),
        )
    };
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let k = k.trim().parse::<usize>().map_err(|_| bad())?;
    let n = n.trim().parse::<usize>().map_err(|_| bad())?;
    check_shard(k, n)?;
    Ok((k, n))
}

/// What a shard's folder records about its part of the scan (`plan.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// Fingerprint of the whole scan: SHA-256 of the run file's SHA-256, the plan and the
    /// spinpath version (lowercase hex). Shards of one scan share it.
    pub plan_fingerprint: String,
    /// The plan (axes, sampling, samples, seed).
    pub plan: ScanPlan,
    /// This shard: K (from 0).
    pub shard: usize,
    /// Number of shards N.
    pub shards: usize,
}

impl ShardRecord {
    /// The record of shard `k` of `n` of `plan` run on a run file whose text has SHA-256 `config_sha256`.
    pub fn new(plan: &ScanPlan, config_sha256: &str, k: usize, n: usize) -> ShardRecord {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(config_sha256.as_bytes());
        h.update(b"\n");
        h.update(plan.description().as_bytes());
        h.update(b"\n");
        h.update(env!("CARGO_PKG_VERSION").as_bytes());
        let plan_fingerprint = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        ShardRecord {
            plan_fingerprint,
            plan: plan.clone(),
            shard: k,
            shards: n,
        }
    }
}

/// One shard to merge: where it came from (named in errors), its record and its `scan.csv` table.
#[derive(Debug, Clone)]
pub struct ShardTable {
    /// Folder (or any label) of the shard, named in error messages.
    pub source: String,
    /// The shard's `plan.json`.
    pub record: ShardRecord,
    /// The shard's table (column `point` first).
    pub table: Table,
}

/// Merge the tables of all shards of one scan into the table of the whole scan, sorted by point
/// index (rows of one point keep their order). Refuses shards of different scans, missing or
/// repeated shards, mismatched columns and tables whose points are not their shard's.
pub fn merge(parts: &[ShardTable]) -> Result<Table> {
    merge_on(parts, "point")
}

/// [`merge`] for tables whose index column is `index` (`point` for scans, `junction` for
/// ensembles).
pub fn merge_on(parts: &[ShardTable], index: &str) -> Result<Table> {
    let first = parts
        .first()
        .ok_or_else(|| Error::invalid("scan merge", "no shard folder given"))?;
    let (fp, n) = (&first.record.plan_fingerprint, first.record.shards);
    let mut seen: Vec<Option<&str>> = vec![None; n];
    for p in parts {
        let r = &p.record;
        if &r.plan_fingerprint != fp || r.shards != n {
            return Err(Error::invalid(
                "scan merge",
                format!(
                    "{} is a shard of a different scan than {} (plan fingerprint or number of shards differ): merge only the shards of one scan",
                    p.source, first.source
                ),
            ));
        }
        if r.shard >= n {
            return Err(Error::invalid(
                "scan merge",
                format!("{}: shard {}/{} out of range", p.source, r.shard, n),
            ));
        }
        if let Some(other) = seen[r.shard] {
            return Err(Error::invalid(
                "scan merge",
                format!(
                    "{} and {} are both shard {}/{} (overlapping shards)",
                    other, p.source, r.shard, n
                ),
            ));
        }
        seen[r.shard] = Some(&p.source);
        if p.table.names() != first.table.names() {
            return Err(Error::invalid(
                "scan merge",
                format!(
                    "{}: columns {:?} differ from {}'s {:?}",
                    p.source,
                    p.table.names(),
                    first.source,
                    first.table.names()
                ),
            ));
        }
        let idx = p.table.f64(index).ok_or_else(|| {
            Error::invalid(
                "scan merge",
                format!("{}: the table has no numeric `{index}` column", p.source),
            )
        })?;
        let mut got: Vec<usize> = idx.iter().map(|&x| x as usize).collect();
        got.dedup();
        let want = r.plan.shard(r.shard, n)?;
        if got != want || idx.iter().any(|&x| x.fract() != 0.0 || x < 0.0) {
            return Err(Error::invalid(
                "scan merge",
                format!(
                    "{}: scan.csv holds points {} but shard {}/{} of this plan has {} points — an unfinished or edited shard; run it again",
                    p.source,
                    got.len(),
                    r.shard,
                    n,
                    want.len()
                ),
            ));
        }
    }
    // Every point has one row per state, the same states everywhere.
    let per_point = |t: &Table| -> Vec<usize> {
        let idx = t.f64(index).unwrap_or(&[]);
        let mut counts: Vec<usize> = Vec::new();
        for (i, x) in idx.iter().enumerate() {
            if i == 0 || idx[i - 1] != *x {
                counts.push(0);
            }
            if let Some(c) = counts.last_mut() {
                *c += 1;
            }
        }
        counts
    };
    // (A shard may have no point when there are more shards than points.)
    let rows_per_point = parts
        .iter()
        .find_map(|p| per_point(&p.table).first().copied())
        .unwrap_or(0);
    for p in parts {
        if per_point(&p.table).iter().any(|&c| c != rows_per_point) {
            return Err(Error::invalid(
                "scan merge",
                format!(
                    "{}: scan.csv does not hold {rows_per_point} rows (one per state) for each point — an unfinished or edited shard; run it again",
                    p.source
                ),
            ));
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(k, _)| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::invalid(
            "scan merge",
            format!(
                "missing shard(s) {} of {n}: the folders given ({}) hold the others; run the missing shards first",
                missing.join(", "),
                parts.iter().map(|p| p.source.as_str()).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    // Rows: (point, part, row), sorted by point then part order (one point lives in one shard).
    let mut rows: Vec<(usize, usize, usize)> = Vec::new();
    for (pi, p) in parts.iter().enumerate() {
        for (ri, &x) in p.table.f64(index).unwrap_or(&[]).iter().enumerate() {
            rows.push((x as usize, pi, ri));
        }
    }
    rows.sort();
    let mut out = Table::new();
    for (ci, name) in first.table.names().iter().enumerate() {
        let col = |p: &ShardTable| p.table.iter().nth(ci).map(|(_, c)| c.clone());
        match col(first) {
            Some(Column::F64(_)) => {
                let mut v = Vec::with_capacity(rows.len());
                for &(_, pi, ri) in &rows {
                    match col(&parts[pi]) {
                        Some(Column::F64(c)) => v.push(c[ri]),
                        _ => return Err(mismatch(&parts[pi].source, name)),
                    }
                }
                out.push_f64(name.clone(), v)?;
            }
            Some(Column::Str(_)) => {
                let mut v = Vec::with_capacity(rows.len());
                for &(_, pi, ri) in &rows {
                    match col(&parts[pi]) {
                        Some(Column::Str(c)) => v.push(c[ri].clone()),
                        _ => return Err(mismatch(&parts[pi].source, name)),
                    }
                }
                out.push_str(name.clone(), v)?;
            }
            None => return Err(mismatch(&first.source, name)),
        }
    }
    Ok(out)
}

fn mismatch(source: &str, name: &str) -> Error {
    Error::invalid(
        "scan merge",
        format!("{source}: column `{name}` has a different type than in the other shards"),
    )
}

/// Read a `scan.csv` written by [`crate::table::Table::write_csv`]: column `state` as text, every
/// other column as numbers (an empty field is a missing value, NaN). `source` names the file in errors.
pub fn read_scan_csv(text: &str, source: &str) -> Result<Table> {
    let mut r = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(|e| Error::invalid(source, e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut cols: Vec<Vec<String>> = vec![Vec::new(); header.len()];
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| Error::invalid(source, format!("line {}: {e}", i + 2)))?;
        if rec.len() != header.len() {
            return Err(Error::invalid(
                source,
                format!(
                    "line {}: {} fields, header has {}",
                    i + 2,
                    rec.len(),
                    header.len()
                ),
            ));
        }
        for (c, f) in cols.iter_mut().zip(rec.iter()) {
            c.push(f.to_string());
        }
    }
    let mut t = Table::new();
    for (name, c) in header.into_iter().zip(cols) {
        if name == "state" {
            t.push_str(name, c)?;
            continue;
        }
        let mut v = Vec::with_capacity(c.len());
        for (i, f) in c.iter().enumerate() {
            v.push(if f.is_empty() {
                f64::NAN
            } else {
                match f.parse::<f64>() {
                    Ok(x) if x.is_finite() => x,
                    _ => {
                        return Err(Error::invalid(
                            source,
                            format!(
                                "line {}: column `{name}`: `{f}` is not a finite number",
                                i + 2
                            ),
                        ))
                    }
                }
            });
        }
        t.push_f64(name, v)?;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ax(spec: &str) -> Axis {
        Axis::parse(spec).unwrap()
    }

    #[test]
    fn grid_is_row_major_with_the_last_axis_fastest() {
        let p = ScanPlan::grid(vec![ax("a_meV=0:1:2"), ax("b_K=10:30:3")]).unwrap();
        assert_eq!(p.len(), 6);
        let pts = p.points();
        assert_eq!(pts[0], vec![0.0, 10.0]);
        assert_eq!(pts[1], vec![0.0, 20.0]);
        assert_eq!(pts[2], vec![0.0, 30.0]);
        assert_eq!(pts[3], vec![1.0, 10.0]);
        assert_eq!(pts[5], vec![1.0, 30.0]);
    }

    #[test]
    fn shards_partition_the_points() {
        let p = ScanPlan::grid(vec![ax("a=0:1:7"), ax("b=0:1:3")]).unwrap();
        for n in 1..=25 {
            let mut all: Vec<usize> = (0..n).flat_map(|k| p.shard(k, n).unwrap()).collect();
            all.sort();
            assert_eq!(all, (0..21).collect::<Vec<_>>(), "n = {n}");
        }
        assert_eq!(p.shard(1, 3).unwrap(), vec![1, 4, 7, 10, 13, 16, 19]);
        assert!(p.shard(3, 3).is_err() && p.shard(0, 0).is_err());
        assert_eq!(parse_shard("2/3").unwrap(), (2, 3));
        for bad in ["3/3", "1", "-1/3", "a/b", "0/0"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn latin_hypercube_uses_every_stratum_once_and_depends_only_on_the_seed() {
        let axes = vec![ax("x_mV=-2:2"), ax("y_K=1:5")];
        let n = 50;
        let p = ScanPlan::sampled(axes.clone(), Sampling::Lhs, n, 7).unwrap();
        let pts = p.points();
        for (j, a) in axes.iter().enumerate() {
            let mut strata: Vec<usize> = pts
                .iter()
                .map(|v| ((v[j] - a.from) / (a.to - a.from) * n as f64).floor() as usize)
                .collect();
            strata.sort();
            assert_eq!(strata, (0..n).collect::<Vec<_>>());
        }
        assert_eq!(pts, p.points());
        let q = ScanPlan::sampled(axes.clone(), Sampling::Lhs, n, 8).unwrap();
        assert_ne!(pts, q.points());
        let r = ScanPlan::sampled(axes, Sampling::Random, 200, 7)
            .unwrap()
            .points();
        assert!(r
            .iter()
            .all(|v| (-2.0..=2.0).contains(&v[0]) && (1.0..=5.0).contains(&v[1])));
        // Uniform: the mean of 200 samples of U(-2, 2) is within 5σ (σ = 4/√12/√200 ≈ 0.082).
        let mean = r.iter().map(|v| v[0]).sum::<f64>() / 200.0;
        assert!(mean.abs() < 0.41, "{mean}");
    }

    #[test]
    fn bad_axes_are_named() {
        for (spec, want) in [
            ("a", "no `=`"),
            ("a=1", "fields"),
            ("a=x:1:3", "FROM `x`"),
            ("a=0:inf:3", "TO `inf`"),
            ("a=0:1:0", "N `0`"),
            ("=0:1:2", "empty"),
        ] {
            let e = Axis::parse(spec).unwrap_err().to_string();
            assert!(e.contains(want) && e.contains(spec), "{spec}: {e}");
        }
        let e = ScanPlan::grid(vec![ax("a=0:1:2"), ax("a=0:1:2")]).unwrap_err();
        assert!(e.to_string().contains("twice"));
        assert!(ScanPlan::grid(vec![ax("a=0:1:10000"), ax("b=0:1:10000")]).is_err());
    }

    fn shard_table(plan: &ScanPlan, k: usize, n: usize, whole: &Table) -> ShardTable {
        let want = plan.shard(k, n).unwrap();
        let idx = whole.f64("point").unwrap();
        let rows: Vec<usize> = (0..idx.len())
            .filter(|&i| want.contains(&(idx[i] as usize)))
            .collect();
        let mut t = Table::new();
        for (name, c) in whole.iter() {
            match c {
                Column::F64(v) => t.push_f64(name, rows.iter().map(|&i| v[i]).collect()),
                Column::Str(v) => t.push_str(name, rows.iter().map(|&i| v[i].clone()).collect()),
            }
            .unwrap();
        }
        ShardTable {
            source: format!("shard{k}"),
            record: ShardRecord::new(plan, "abc", k, n),
            table: t,
        }
    }

    #[test]
    fn merge_reproduces_the_whole_table_and_refuses_bad_sets() {
        let plan = ScanPlan::grid(vec![ax("a_meV=0:1:4"), ax("b_K=1:2:2")]).unwrap();
        let pts = plan.points();
        let mut whole = Table::new();
        let idx: Vec<f64> = (0..8).flat_map(|i| [i as f64, i as f64]).collect();
        whole.push_f64("point", idx.clone()).unwrap();
        whole
            .push_f64("a_meV", (0..16).map(|r| pts[r / 2][0]).collect())
            .unwrap();
        whole
            .push_str(
                "state",
                (0..16).map(|r| ["P", "AP"][r % 2].to_string()).collect(),
            )
            .unwrap();
        whole
            .push_f64(
                "x_nA",
                (0..16)
                    .map(|r| if r == 3 { f64::NAN } else { r as f64 * 0.1 })
                    .collect(),
            )
            .unwrap();
        let parts: Vec<ShardTable> = [2, 0, 1]
            .iter()
            .map(|&k| shard_table(&plan, k, 3, &whole))
            .collect();
        let merged = merge(&parts).unwrap();
        assert_eq!(
            merged.to_csv_string().unwrap(),
            whole.to_csv_string().unwrap()
        );
        // Round trip through CSV text.
        let back = read_scan_csv(&merged.to_csv_string().unwrap(), "scan.csv").unwrap();
        assert_eq!(
            back.to_csv_string().unwrap(),
            whole.to_csv_string().unwrap()
        );

        // More shards than points: the empty shards merge too.
        let many: Vec<ShardTable> = (0..10)
            .rev()
            .map(|k| shard_table(&plan, k, 10, &whole))
            .collect();
        assert_eq!(
            merge(&many).unwrap().to_csv_string().unwrap(),
            whole.to_csv_string().unwrap()
        );

        let e = merge(&parts[..2]).unwrap_err().to_string();
        assert!(
            e.contains("missing shard(s) 1/3") && e.contains("shard2, shard0"),
            "{e}"
        );
        let mut dup = parts.clone();
        dup[2].source = "again".into();
        dup[2].record.shard = 0;
        let e = merge(&dup).unwrap_err().to_string();
        assert!(
            e.contains("shard0 and again") && e.contains("overlapping"),
            "{e}"
        );
        let other = ScanPlan::grid(vec![ax("a_meV=0:1:4"), ax("b_K=1:3:2")]).unwrap();
        let mut mixed = parts.clone();
        mixed[1] = shard_table(&other, 0, 3, &whole);
        mixed[1].source = "elsewhere".into();
        let e = merge(&mixed).unwrap_err().to_string();
        assert!(
            e.contains("elsewhere") && e.contains("different scan"),
            "{e}"
        );
        let mut cut = parts.clone();
        let t = read_scan_csv("point,a_meV,state,x_nA\n2,0,P,1\n", "x").unwrap();
        cut[0].table = t;
        let e = merge(&cut).unwrap_err().to_string();
        assert!(e.contains("shard2") && e.contains("unfinished"), "{e}");
    }
}
