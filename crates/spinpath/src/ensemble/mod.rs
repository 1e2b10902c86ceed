//! Device ensembles: a statistical model of carbon in the MgO barrier, sampled junction by
//! junction and run through the engines (docs/ensembles.md).
//!
//! **Model.** A junction's active area (`area_nm2`, periodic in plane) of a barrier of thickness
//! `barrier_thickness_nm` is a slab of the O sublattice of rock-salt MgO (fcc, cube edge
//! `lattice_constant_nm` = 0.421 nm; [`lattice`]). Each O site holds a C atom independently with
//! probability `carbon_concentration_percent / 100`. Pairs of C atoms are classified by their
//! neighbour order on the O sublattice (1st–5th shells).
//!
//! - **Spin-engine path** (paper 1): a 4th-nearest-neighbour C pair (the only order whose dimer is
//!   antiferromagnetic with states at E_F; 1st, 2nd, 3rd and 5th are ferromagnetic), isolated (no
//!   third C within the 5th shell of either atom). It becomes the PM1–PM2 dimer of the run file's
//!   `[spin_engine]` (the lower atom PM1 faces the bottom electrode). Couplings decay
//!   exponentially with distance: the hopping SP1–PM1 is `hoppings_meV[0]·exp(−(z₁ − d_ref)/λ)`
//!   with `z₁` the height of PM1 above the bottom interface, SP2–PM2 is
//!   `hoppings_meV[2]·exp(−((L − z₂) − d_ref)/λ)`, and PM1–PM2 keeps `hoppings_meV[1]` (every
//!   engine dimer is at the 4th-neighbour distance). `λ` = `decay_length_nm`, `d_ref` =
//!   `reference_distance_nm` (the distance at which the file's hoppings hold). The dimer levels of
//!   every state shift by a common Gaussian offset of standard deviation `level_disorder_meV`.
//!   With several candidates the one with the largest series coupling `t₁²t₃²/(t₁² + t₃²)` runs.
//!   The junction is a **working spin engine** when the engine delivers power (a generator) and
//!   its zero-bias current reaches `min_current_nA` in some state (paper 1 sorted its junctions by
//!   I ≠ 0 at V = 0).
//! - **Transport atom** (paper 2): the C atom best coupled to both electrodes (tunnelling rates
//!   `∝ exp(−2d/λ)` to each, so the one closest to mid-barrier), among those whose sphere of radius
//!   `carbon_radius_nm` fits between the electrodes; its **Coulomb gap** is that sphere's
//!   ([`crate::capacitance`]).
//!   A **gating atom** is the nearest other C within the 5th shell at a centre distance above
//!   two radii; its one-electron **writing shift** is the two-sphere estimate.
//!
//! Junction `i` of an ensemble with seed `s` is drawn from its own stream (Xoshiro256++ seeded
//! from `s` and `i`), so a junction does not depend on the shard, thread or machine that runs it.

pub mod lattice;

use crate::config::{CoherentRun, Ctx};
use crate::device::{CoherentParams, Parametrized};
use crate::error::{Error, Result};
use crate::plot::{Figure, Panel, Series};
use crate::scan::{Axis, Sampling, ScanPlan};
use crate::table::Table;
use lattice::Slab;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use statrs::distribution::{Beta, ContinuousCDF, Normal};
use toml::Spanned;

/// Paper 1: one spin engine among the 168 junctions tested at 295 K.
pub const PAPER1_YIELD: f64 = 1.0 / 168.0;

/// Largest number of junctions of one ensemble.
pub const MAX_SAMPLES: usize = 10_000_000;

/// The statistical model of one ensemble (`[ensemble]`), units in the names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(non_snake_case)]
pub struct EnsembleSpec {
    /// C atoms per 100 O sites of the barrier (percent).
    pub carbon_concentration_percent: f64,
    /// MgO barrier thickness, nm (rounded to whole O layers of a/2).
    pub barrier_thickness_nm: f64,
    /// Active area of one junction, nm² (a square, periodic in plane).
    pub area_nm2: f64,
    /// Rock-salt cube edge, nm (MgO: 0.421).
    pub lattice_constant_nm: f64,
    /// Decay length λ of the hoppings with distance, nm.
    pub decay_length_nm: f64,
    /// Distance from an electrode at which the run file's hoppings hold, nm.
    pub reference_distance_nm: f64,
    /// Standard deviation of the dimer levels' common offset, meV.
    pub level_disorder_meV: f64,
    /// Zero-bias current (magnitude, in some state) from which a spin engine that also delivers
    /// power counts as working, nA.
    pub min_current_nA: f64,
    /// Radius of a C quantum dot for the Coulomb gap, nm (paper 2: 0.2).
    pub carbon_radius_nm: f64,
    /// Relative permittivity of the barrier (MgO: 9.8).
    pub permittivity: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawEnsemble {
    carbon_concentration_percent: Spanned<f64>,
    barrier_thickness_nm: Option<Spanned<f64>>,
    area_nm2: Option<Spanned<f64>>,
    lattice_constant_nm: Option<Spanned<f64>>,
    decay_length_nm: Option<Spanned<f64>>,
    reference_distance_nm: Option<Spanned<f64>>,
    level_disorder_meV: Option<Spanned<f64>>,
    min_current_nA: Option<Spanned<f64>>,
    carbon_radius_nm: Option<Spanned<f64>>,
    permittivity: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
struct RawFile {
    ensemble: Option<Spanned<RawEnsemble>>,
}

/// An ensemble file: the `[ensemble]` model and the `[spin_engine]` run it is applied to.
#[derive(Debug, Clone)]
pub struct EnsembleFile {
    /// The statistical model.
    pub spec: EnsembleSpec,
    /// The device template and its `[run]` (bias grid, states, integration).
    pub run: CoherentRun,
}

/// The text with the `[ensemble]` table (and its sub-tables) blanked line by line, so the rest
/// parses as a run file with its line numbers unchanged.
fn without_ensemble(text: &str) -> String {
    let mut inside = false;
    text.split_inclusive('\n')
        .map(|line| {
            let t = line.trim_start();
            if t.starts_with('[') {
                let name = t.trim_start_matches('[').trim_start();
                inside = name.starts_with("ensemble]")
                    || name.starts_with("ensemble ")
                    || name.starts_with("ensemble.");
            }
            if inside {
                if line.ends_with('\n') {
                    "\n".to_string()
                } else {
                    String::new()
                }
            } else {
                line.to_string()
            }
        })
        .collect()
}

/// Parse an ensemble file (`[ensemble]` + `[spin_engine]` + `[run]`); `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<EnsembleFile> {
    let raw: RawFile = toml::from_str(text).map_err(|e| Error::Parse {
        file: file.into(),
        message: e.to_string().trim_end().to_string(),
    })?;
    let cx = Ctx { file, text };
    let Some(e) = raw.ensemble else {
        return Err(Error::Config {
            location: file.into(),
            key: "ensemble".into(),
            message: "missing [ensemble] table (carbon_concentration_percent, barrier_thickness_nm, ...; see docs/ensembles.md)".into(),
        });
    };
    let e = e.into_inner();
    let spec = EnsembleSpec {
        carbon_concentration_percent: cx.num(
            &e.carbon_concentration_percent,
            "ensemble.carbon_concentration_percent",
            0.0,
            100.0,
        )?,
        barrier_thickness_nm: cx.opt(
            &e.barrier_thickness_nm,
            "ensemble.barrier_thickness_nm",
            0.3,
            20.0,
            2.5,
        )?,
        area_nm2: cx.opt(&e.area_nm2, "ensemble.area_nm2", 1.0, 1.0e5, 100.0)?,
        lattice_constant_nm: cx.opt(
            &e.lattice_constant_nm,
            "ensemble.lattice_constant_nm",
            0.1,
            2.0,
            0.421,
        )?,
        decay_length_nm: cx.opt(
            &e.decay_length_nm,
            "ensemble.decay_length_nm",
            0.02,
            10.0,
            0.25,
        )?,
        reference_distance_nm: cx.opt(
            &e.reference_distance_nm,
            "ensemble.reference_distance_nm",
            0.0,
            20.0,
            1.25,
        )?,
        level_disorder_meV: cx.opt(
            &e.level_disorder_meV,
            "ensemble.level_disorder_meV",
            0.0,
            1000.0,
            2.0,
        )?,
        min_current_nA: cx.opt(
            &e.min_current_nA,
            "ensemble.min_current_nA",
            0.0,
            1.0e6,
            0.1,
        )?,
        carbon_radius_nm: cx.opt(
            &e.carbon_radius_nm,
            "ensemble.carbon_radius_nm",
            0.01,
            2.0,
            0.2,
        )?,
        permittivity: cx.opt(&e.permittivity, "ensemble.permittivity", 1.0, 1000.0, 9.8)?,
    };
    if spec.barrier_thickness_nm < spec.lattice_constant_nm / 2.0 {
        return cx.err(
            e.barrier_thickness_nm.as_ref().map_or(0..0, |s| s.span()),
            "ensemble.barrier_thickness_nm",
            format!(
                "{} nm is thinner than one O layer (lattice_constant_nm / 2 = {} nm)",
                spec.barrier_thickness_nm,
                spec.lattice_constant_nm / 2.0
            ),
        );
    }
    let run = crate::config::parse_coherent_run(file, &without_ensemble(text))?;
    if !matches!(run.parameters(), CoherentParams::SpinEngine(_)) {
        return Err(Error::Config {
            location: file.into(),
            key: "spin_engine".into(),
            message: "an ensemble places its C dimers into a [spin_engine] device; this file has a [chain]".into(),
        });
    }
    Ok(EnsembleFile { spec, run })
}

impl EnsembleSpec {
    /// The slab of one junction: in-plane period (even, ≥ 2 half-cells) and number of layers.
    pub fn slab(&self) -> Slab {
        let h = self.lattice_constant_nm / 2.0;
        let side = ((self.area_nm2.sqrt() / h / 2.0).round() as i64).max(1) * 2;
        let layers = ((self.barrier_thickness_nm / h).round() as i64).max(1);
        Slab { side, layers }
    }

    /// Height (nm) above the bottom interface of layer `k`: the middle of its slice of a/2.
    pub fn height_nm(&self, k: i64) -> f64 {
        (k as f64 + 0.5) * self.lattice_constant_nm / 2.0
    }

    /// Barrier thickness of the slab, nm (whole layers).
    pub fn thickness_nm(&self) -> f64 {
        self.slab().layers as f64 * self.lattice_constant_nm / 2.0
    }
}

/// One sampled junction and what the engines made of it. NaN where a quantity does not apply
/// (no engine candidate, no C atom, no gating atom).
#[derive(Debug, Clone, PartialEq)]
#[allow(non_snake_case)]
pub struct Junction {
    /// Junction index (from 0).
    pub index: usize,
    /// Number of C atoms in the active area.
    pub carbon_atoms: usize,
    /// Number of C pairs of neighbour order 1–5.
    pub pairs: [usize; 5],
    /// Isolated 4th-neighbour pairs (spin-engine candidates).
    pub engine_candidates: usize,
    /// Hoppings SP1–PM1, PM1–PM2, PM2–SP2 of the candidate run, meV.
    pub hoppings_meV: [f64; 3],
    /// Common offset of the dimer levels, meV.
    pub level_offset_meV: f64,
    /// Zero-bias current per state of the run file, nA.
    pub current_at_zero_bias_nA: Vec<f64>,
    /// Largest output power over the states, nW.
    pub max_power_nW: f64,
    /// Largest TMR (I_P / I_AP − 1, fraction) over the bias grid.
    pub max_tmr: f64,
    /// Whether the engine delivers power with |I(0)| ≥ `min_current_nA` in some state.
    pub working: bool,
    /// Height of the transport atom above the bottom interface, nm.
    pub transport_height_nm: f64,
    /// Coulomb gap of the transport atom, mV.
    pub coulomb_gap_mV: f64,
    /// Centre distance transport–gating atom, nm.
    pub gating_distance_nm: f64,
    /// Bias shift from one electron on the gating atom, mV.
    pub writing_shift_mV: f64,
}

/// The random stream of junction `index` of an ensemble drawn with `seed`.
fn stream(seed: u64, index: usize) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(
        seed ^ (index as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15),
    )
}

/// Sample junction `index` and run its spin-engine candidate (if any) through the NEGF engine.
pub fn junction(f: &EnsembleFile, seed: u64, index: usize) -> Result<Junction> {
    let s = &f.spec;
    let slab = s.slab();
    let mut rng = stream(seed, index);
    let atoms = lattice::sample_sites(&slab, s.carbon_concentration_percent / 100.0, &mut rng);
    let offset = if s.level_disorder_meV > 0.0 {
        let u: f64 = rng.random::<f64>();
        let n = Normal::new(0.0, s.level_disorder_meV)
            .map_err(|e| Error::invalid("ensemble.level_disorder_meV", e.to_string()))?;
        n.inverse_cdf(u.clamp(1e-300, 1.0 - 1e-16))
    } else {
        0.0
    };
    let pairs = lattice::pairs(&slab, &atoms);
    let mut by_order = [0usize; 5];
    let mut degree = vec![0usize; atoms.len()];
    for &(i, j, o) in &pairs {
        by_order[o - 1] += 1;
        degree[i] += 1;
        degree[j] += 1;
    }
    let l = s.thickness_nm();
    let lambda = s.decay_length_nm;
    let base: Vec<f64> = ["hoppings_meV.0", "hoppings_meV.1", "hoppings_meV.2"]
        .iter()
        .map(|k| f.run.parameters().parameter(k).unwrap_or(f64::NAN))
        .collect();
    let hop = |z_lo: f64, z_hi: f64| {
        [
            base[0] * (-(z_lo - s.reference_distance_nm) / lambda).exp(),
            base[1],
            base[2] * (-((l - z_hi) - s.reference_distance_nm) / lambda).exp(),
        ]
    };
    let series = |t: &[f64; 3]| {
        let (a, b) = (t[0] * t[0], t[2] * t[2]);
        a * b / (a + b)
    };
    let candidates: Vec<[f64; 3]> = pairs
        .iter()
        .filter(|&&(i, j, o)| o == 4 && degree[i] == 1 && degree[j] == 1)
        .map(|&(i, j, _)| {
            let (zi, zj) = (s.height_nm(atoms[i][2]), s.height_nm(atoms[j][2]));
            hop(zi.min(zj), zi.max(zj))
        })
        .collect();
    let best = candidates
        .iter()
        .copied()
        .max_by(|a, b| series(a).total_cmp(&series(b)));
    let n_states = f.run.states.len();
    let mut j = Junction {
        index,
        carbon_atoms: atoms.len(),
        pairs: by_order,
        engine_candidates: candidates.len(),
        hoppings_meV: [f64::NAN; 3],
        level_offset_meV: offset,
        current_at_zero_bias_nA: vec![f64::NAN; n_states],
        max_power_nW: f64::NAN,
        max_tmr: f64::NAN,
        working: false,
        transport_height_nm: f64::NAN,
        coulomb_gap_mV: f64::NAN,
        gating_distance_nm: f64::NAN,
        writing_shift_mV: f64::NAN,
    };
    if let Some(t) = best {
        let mut r = f.run.clone();
        for (k, v) in t.iter().enumerate() {
            r = r.with_parameter(&format!("hoppings_meV.{k}"), *v)?;
        }
        for st in ["P", "AP"] {
            let key = format!("{st}.dimer_energy_meV");
            if let Some(e0) = f.run.parameters().parameter(&key) {
                r = r.with_parameter(&key, e0 + offset)?;
            }
        }
        let summary = crate::scan::run_device(&r, &|| {})?;
        j.hoppings_meV = t;
        for (k, st) in summary.states.iter().enumerate().take(n_states) {
            j.current_at_zero_bias_nA[k] = st.current_at_zero_bias_nA.unwrap_or(f64::NAN);
        }
        j.max_power_nW = summary
            .states
            .iter()
            .map(|st| st.max_power_nW.max(0.0))
            .fold(0.0, f64::max);
        j.max_tmr = summary
            .tmr
            .as_ref()
            .and_then(|t| t.max_tmr)
            .unwrap_or(f64::NAN);
        let i0 = j
            .current_at_zero_bias_nA
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .fold(0.0, |m: f64, x| m.max(x.abs()));
        j.working = j.max_power_nW > 0.0 && i0 >= s.min_current_nA;
    }
    // The transport atom: closest to mid-barrier (lowest index on ties), among the atoms whose
    // sphere fits between the electrodes (an atom touching an electrode belongs to it).
    let r = s.carbon_radius_nm;
    if let Some((ti, _)) = atoms
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            let z = s.height_nm(a[2]);
            z > r && l - z > r
        })
        .map(|(n, a)| (n, (s.height_nm(a[2]) - l / 2.0).abs()))
        .min_by(|a, b| a.1.total_cmp(&b.1))
    {
        let z = s.height_nm(atoms[ti][2]);
        j.transport_height_nm = z;
        j.coulomb_gap_mV =
            crate::capacitance::coulomb_gap_mv(s.carbon_radius_nm, z, l, s.permittivity)?;
        let h = s.lattice_constant_nm / 2.0;
        let gate = pairs
            .iter()
            .filter(|&&(a, b, _)| a == ti || b == ti)
            .map(|&(a, b, _)| {
                let d = slab.displacement(atoms[a], atoms[b]);
                h * ((d[0] * d[0] + d[1] * d[1] + d[2] * d[2]) as f64).sqrt()
            })
            .filter(|&d| d > 2.0 * s.carbon_radius_nm)
            .min_by(f64::total_cmp);
        if let Some(d) = gate {
            j.gating_distance_nm = d;
            j.writing_shift_mV =
                crate::capacitance::writing_shift_mv(s.carbon_radius_nm, d, s.permittivity)?;
        }
    }
    Ok(j)
}

/// The plan of an ensemble of `samples` junctions drawn with `seed`: one axis `junction`, so the
/// scan's shards (`index % N == K`), fingerprints and merge apply unchanged.
pub fn plan(samples: usize, seed: u64) -> Result<ScanPlan> {
    if !(1..=MAX_SAMPLES).contains(&samples) {
        return Err(Error::invalid(
            "--samples",
            format!("{samples}: allowed range 1..={MAX_SAMPLES}"),
        ));
    }
    ScanPlan::sampled(
        vec![Axis {
            name: "junction".into(),
            from: 0.0,
            to: samples as f64,
            n: 1,
        }],
        Sampling::Random,
        samples,
        seed,
    )
}

/// Sample and run the junctions `indices` (in parallel over the junctions; the result is in the
/// order of `indices` and does not depend on the threads). `tick` is called once per junction.
pub fn evaluate(
    f: &EnsembleFile,
    seed: u64,
    indices: &[usize],
    tick: &(dyn Fn() + Sync),
) -> Result<Vec<Junction>> {
    indices
        .par_iter()
        .map(|&i| {
            let j = junction(f, seed, i).map_err(|e| {
                Error::invalid(
                    format!("ensemble junction {i} (seed {seed})"),
                    e.to_string(),
                )
            });
            tick();
            j
        })
        .collect()
}

/// `ensemble.csv`: one row per junction — `junction`, `carbon_atoms`, `pairs_nn1` … `pairs_nn5`,
/// `engine_candidates`, the hoppings (meV), `level_offset_meV`, `current_at_zero_bias_<state>_nA`
/// per state, `max_power_nW`, `max_tmr` (fraction), `working_spin_engine` (0/1),
/// `transport_height_nm`, `coulomb_gap_mV`, `gating_distance_nm`, `writing_shift_mV`.
pub fn table(f: &EnsembleFile, js: &[Junction]) -> Result<Table> {
    let mut t = Table::new();
    let col = |g: &dyn Fn(&Junction) -> f64| js.iter().map(g).collect::<Vec<f64>>();
    t.push_f64("junction", col(&|j| j.index as f64))?;
    t.push_f64("carbon_atoms", col(&|j| j.carbon_atoms as f64))?;
    for o in 0..5 {
        t.push_f64(format!("pairs_nn{}", o + 1), col(&|j| j.pairs[o] as f64))?;
    }
    t.push_f64("engine_candidates", col(&|j| j.engine_candidates as f64))?;
    t.push_f64("hopping_left_meV", col(&|j| j.hoppings_meV[0]))?;
    t.push_f64("hopping_dimer_meV", col(&|j| j.hoppings_meV[1]))?;
    t.push_f64("hopping_right_meV", col(&|j| j.hoppings_meV[2]))?;
    t.push_f64("level_offset_meV", col(&|j| j.level_offset_meV))?;
    for (k, st) in f.run.states.iter().enumerate() {
        t.push_f64(
            format!("current_at_zero_bias_{}_nA", st.name),
            col(&|j| j.current_at_zero_bias_nA[k]),
        )?;
    }
    t.push_f64("max_power_nW", col(&|j| j.max_power_nW))?;
    t.push_f64("max_tmr", col(&|j| j.max_tmr))?;
    t.push_f64(
        "working_spin_engine",
        col(&|j| f64::from(u8::from(j.working))),
    )?;
    t.push_f64("transport_height_nm", col(&|j| j.transport_height_nm))?;
    t.push_f64("coulomb_gap_mV", col(&|j| j.coulomb_gap_mV))?;
    t.push_f64("gating_distance_nm", col(&|j| j.gating_distance_nm))?;
    t.push_f64("writing_shift_mV", col(&|j| j.writing_shift_mV))?;
    Ok(t)
}

/// A yield with its binomial error bars.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Yield {
    /// Junctions with the property.
    pub count: usize,
    /// Junctions sampled.
    pub samples: usize,
    /// count / samples.
    pub fraction: f64,
    /// Binomial standard error sqrt(p (1 − p) / n).
    pub standard_error: f64,
    /// Exact (Clopper–Pearson) 95 % confidence interval [low, high].
    pub ci95: [f64; 2],
    /// samples / count: "1 in …" (None when count = 0).
    pub one_in: Option<f64>,
}

impl Yield {
    /// The yield of `count` successes in `samples` trials.
    pub fn new(count: usize, samples: usize) -> Yield {
        let n = samples.max(1) as f64;
        let k = count as f64;
        let p = k / n;
        let q = |a: f64, b: f64, x: f64| Beta::new(a, b).map_or(f64::NAN, |d| d.inverse_cdf(x));
        let low = if count == 0 {
            0.0
        } else {
            q(k, n - k + 1.0, 0.025)
        };
        let high = if count >= samples {
            1.0
        } else {
            q(k + 1.0, n - k, 0.975)
        };
        Yield {
            count,
            samples,
            fraction: p,
            standard_error: (p * (1.0 - p) / n).sqrt(),
            ci95: [low, high],
            one_in: (count > 0).then(|| n / k),
        }
    }
}

/// Statistics of one figure of merit over the junctions where it is defined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    /// Number of junctions with a value.
    pub n: usize,
    /// Mean.
    pub mean: Option<f64>,
    /// Median.
    pub median: Option<f64>,
    /// Smallest and largest value.
    pub range: Option<[f64; 2]>,
}

impl Spread {
    fn of(v: &[f64]) -> Spread {
        let mut x: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        x.sort_by(f64::total_cmp);
        let n = x.len();
        Spread {
            n,
            mean: (n > 0).then(|| x.iter().sum::<f64>() / n as f64),
            median: (n > 0).then(|| {
                if n % 2 == 1 {
                    x[n / 2]
                } else {
                    0.5 * (x[n / 2 - 1] + x[n / 2])
                }
            }),
            range: (n > 0).then(|| [x[0], x[n - 1]]),
        }
    }
}

/// `summary.json` of an ensemble: the model, yields with error bars, and the spread of the
/// figures of merit (working engines only for I(0), power and TMR; every junction with C for the
/// Coulomb gap and writing shift). Computed from the table, so a merged folder's equals the
/// unsharded one's.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[allow(non_snake_case)]
pub struct EnsembleSummary {
    /// The statistical model.
    pub model: EnsembleSpec,
    /// In-plane period (units of a/2) and layers of the sampled slab.
    pub slab_side_half_cells: i64,
    /// Number of O layers across the barrier.
    pub slab_layers: i64,
    /// O sites per junction.
    pub oxygen_sites: u64,
    /// Seed of the junctions.
    pub seed: u64,
    /// Working spin engines.
    pub spin_engine_yield: Yield,
    /// Junctions with at least one isolated 4th-neighbour pair (an engine candidate).
    pub candidate_yield: Yield,
    /// Junctions whose transport atom has a gating atom.
    pub transport_gating_pair_yield: Yield,
    /// Paper 1's yield, 1 in 168 (its text also says ~1 in 200).
    pub paper1_yield: f64,
    /// Whether 1/168 lies in the 95 % interval of the spin-engine yield.
    pub paper1_within_ci95: bool,
    /// Zero-bias current of working engines, per state, nA.
    pub current_at_zero_bias_nA: Vec<(String, Spread)>,
    /// Maximum output power of working engines, nW.
    pub max_power_nW: Spread,
    /// Maximum TMR of working engines (fraction).
    pub max_tmr: Spread,
    /// Coulomb gap of the transport atom, mV.
    pub coulomb_gap_mV: Spread,
    /// Writing shift of the gating atom, mV.
    pub writing_shift_mV: Spread,
}

/// Summarise an ensemble table (all its junctions).
pub fn summarize(f: &EnsembleFile, seed: u64, t: &Table) -> Result<EnsembleSummary> {
    let c = |name: &str| {
        t.f64(name)
            .ok_or_else(|| Error::invalid("ensemble", format!("table without `{name}`")))
    };
    let n = t.n_rows();
    let working = c("working_spin_engine")?;
    let ok: Vec<bool> = working.iter().map(|&w| w == 1.0).collect();
    let count = |v: &[f64], pred: &dyn Fn(f64) -> bool| v.iter().filter(|&&x| pred(x)).count();
    let only_working = |v: &[f64]| -> Vec<f64> {
        v.iter()
            .zip(&ok)
            .filter(|(_, &w)| w)
            .map(|(&x, _)| x)
            .collect()
    };
    let y = Yield::new(ok.iter().filter(|&&w| w).count(), n);
    let slab = f.spec.slab();
    let mut currents = Vec::new();
    for st in &f.run.states {
        let v = c(&format!("current_at_zero_bias_{}_nA", st.name))?;
        currents.push((st.name.clone(), Spread::of(&only_working(v))));
    }
    Ok(EnsembleSummary {
        model: f.spec.clone(),
        slab_side_half_cells: slab.side,
        slab_layers: slab.layers,
        oxygen_sites: slab.sites(),
        seed,
        paper1_yield: PAPER1_YIELD,
        paper1_within_ci95: (y.ci95[0]..=y.ci95[1]).contains(&PAPER1_YIELD),
        spin_engine_yield: y,
        candidate_yield: Yield::new(count(c("engine_candidates")?, &|x| x >= 1.0), n),
        transport_gating_pair_yield: Yield::new(
            count(c("gating_distance_nm")?, &|x| x.is_finite()),
            n,
        ),
        current_at_zero_bias_nA: currents,
        max_power_nW: Spread::of(&only_working(c("max_power_nW")?)),
        max_tmr: Spread::of(&only_working(c("max_tmr")?)),
        coulomb_gap_mV: Spread::of(c("coulomb_gap_mV")?),
        writing_shift_mV: Spread::of(c("writing_shift_mV")?),
    })
}

/// Histogram of the finite values of `v` in `bins` equal bins: (bin edges, counts).
pub fn histogram(v: &[f64], bins: usize) -> (Vec<f64>, Vec<usize>) {
    let x: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if x.is_empty() || bins == 0 {
        return (Vec::new(), Vec::new());
    }
    let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
    let mut hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if hi <= lo {
        hi = lo + lo.abs().max(1.0) * 1e-3;
    }
    let w = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    for &xi in &x {
        let k = (((xi - lo) / w) as usize).min(bins - 1);
        counts[k] += 1;
    }
    ((0..=bins).map(|k| lo + w * k as f64).collect(), counts)
}

/// `ensemble.svg`: histograms of I(0) (working engines, per state), maximum power and maximum
/// TMR (working engines), and the Coulomb gap of the transport atoms.
pub fn figure(f: &EnsembleFile, t: &Table) -> Figure {
    let w = t.f64("working_spin_engine").unwrap_or(&[]);
    let working = |name: &str| -> Vec<f64> {
        t.f64(name)
            .unwrap_or(&[])
            .iter()
            .zip(w)
            .filter(|(_, &k)| k == 1.0)
            .map(|(&x, _)| x)
            .collect()
    };
    let steps = |label: &str, v: &[f64], color: usize| {
        let (edges, counts) = histogram(v, 20);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for (k, &c) in counts.iter().enumerate() {
            x.extend([edges[k], edges[k + 1]]);
            y.extend([c as f64, c as f64]);
        }
        Series::line(label.to_string(), x, y, color)
    };
    let panel = |title: &str, x_label: &str, series: Vec<Series>| Panel {
        title: title.into(),
        x_label: x_label.into(),
        y_label: "junctions".into(),
        series,
        ..Panel::default()
    };
    let currents = f
        .run
        .states
        .iter()
        .enumerate()
        .map(|(k, st)| {
            steps(
                &st.name,
                &working(&format!("current_at_zero_bias_{}_nA", st.name)),
                if st.name == "AP" { 1 } else { k },
            )
        })
        .collect();
    Figure::new(
        vec![
            panel(
                "zero-bias current of working engines",
                "I(0) (nA)",
                currents,
            ),
            panel(
                "maximum output power of working engines",
                "P_max (nW)",
                vec![steps("P_max", &working("max_power_nW"), 2)],
            ),
            panel(
                "maximum TMR of working engines",
                "TMR (fraction)",
                vec![steps("TMR", &working("max_tmr"), 3)],
            ),
            panel(
                "Coulomb gap of the transport atom",
                "Coulomb gap (mV)",
                vec![steps(
                    "all junctions with C",
                    t.f64("coulomb_gap_mV").unwrap_or(&[]),
                    4,
                )],
            ),
        ],
        2,
    )
}

#[cfg(test)]
mod tests;
