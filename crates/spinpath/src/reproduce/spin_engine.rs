//! Reproduction of paper 1 (Katcko et al., Commun. Phys. 2019: the room-temperature spin engine).
//!
//! Two models are run in the P and AP states:
//! - `chain`: Model A, the coherent spinful chain FM_L | SP1 | PM1 | PM2 | SP2 | FM_R
//!   (`examples/spin-engine.toml`, NEGF/Landauer);
//! - `interacting`: the PM1–PM2 dimer as interacting dots (U, hopping, Heisenberg + Ising + DM
//!   exchange) behind spin-split spinterfaces with their bias-dependent exchange field, sequential
//!   tunnelling in the dimer's eigenbasis (`examples/spin-engine-interacting.toml`).
//!
//! Outputs: `curves_<model>.csv` (bias_mV, I_P, I_AP and their spin components, TMR, output power,
//! spin free energy and dissipation per state), `fig3_<model>.svg` (laid out like the paper's
//! Fig. 3(b, c)), `signatures.csv` (one row per paper signature and model, verdicts computed by
//! the criterion stated in each row's note) and `summary.json` (seed, quick flag, per-model I(0),
//! opposite-sign windows, TMR peaks and poles, power and the second-law audit). docs/reproduce.md.

use super::{signatures_table, Options, Signature};
use crate::analysis::peaks::{find_peaks, PeakOptions};
use crate::engine::manybody::ManyBody;
use crate::master::{DotModel, LeadSide, Magnet};
use crate::plot::{Figure, Panel, Series};
use crate::report::{interpolate, opposite_sign_ranges, tmr_extremes, TmrExtremes, TMR_FLOOR_NA};
use crate::run::{dots_sweeps, Job, RunFile, RunOutput};
use crate::table::Table;
use crate::units::kt_mev;
use crate::{Error, Result};
use serde_json::{json, Value};

/// Model A's run file (the coherent chain preset).
pub const CHAIN_PRESET: &str = crate::presets::SPIN_ENGINE;
/// The interacting model's run file.
pub const INTERACTING_PRESET: &str = crate::presets::SPIN_ENGINE_INTERACTING;

/// Temperature of paper 1's measurement, K.
pub const TEMPERATURE_K: f64 = 295.0;

/// One model's P and AP curves on a common bias grid (index 0 = P, 1 = AP).
#[derive(Debug, Clone)]
pub struct Curves {
    /// Model name (`chain`, `interacting`).
    pub model: &'static str,
    /// Bias, mV (ascending).
    pub bias_mv: Vec<f64>,
    /// Charge current, nA (positive left → right).
    pub current_na: [Vec<f64>; 2],
    /// Spin-up (along +z, the left electrode) part of the left-junction current, nA.
    pub up_na: [Vec<f64>; 2],
    /// Spin-down part, nA.
    pub down_na: [Vec<f64>; 2],
    /// Free energy drawn from the spin accumulations, nW.
    pub spin_free_energy_nw: [Vec<f64>; 2],
    /// Total dissipation Σ μ_i J_i = I·V + F_s, nW (≥ 0 by the second law at one temperature).
    pub dissipation_nw: [Vec<f64>; 2],
}

impl Curves {
    /// Output power −I·V per state, nW.
    pub fn power_nw(&self, s: usize) -> Vec<f64> {
        self.bias_mv
            .iter()
            .zip(&self.current_na[s])
            .map(|(v, i)| -v * i * 1e-3)
            .collect()
    }

    /// TMR = I_P/I_AP − 1 (fraction; NaN where |I_AP| ≤ the floor).
    pub fn tmr(&self) -> Vec<f64> {
        self.current_na[0]
            .iter()
            .zip(&self.current_na[1])
            .map(|(&p, &a)| crate::report::tmr(p, a, TMR_FLOOR_NA).unwrap_or(f64::NAN))
            .collect()
    }

    /// `curves_<model>.csv`.
    pub fn table(&self) -> Result<Table> {
        let mut t = Table::new();
        t.push_f64("bias_mV", self.bias_mv.clone())?;
        for (s, name) in ["p", "ap"].iter().enumerate() {
            t.push_f64(format!("current_{name}_nA"), self.current_na[s].clone())?;
            t.push_f64(format!("current_{name}_up_nA"), self.up_na[s].clone())?;
            t.push_f64(format!("current_{name}_down_nA"), self.down_na[s].clone())?;
        }
        t.push_f64(
            "tmr_percent",
            self.tmr().iter().map(|x| 100.0 * x).collect(),
        )?;
        for (s, name) in ["p", "ap"].iter().enumerate() {
            t.push_f64(format!("power_{name}_nW"), self.power_nw(s))?;
            t.push_f64(
                format!("spin_free_energy_{name}_nW"),
                self.spin_free_energy_nw[s].clone(),
            )?;
            t.push_f64(
                format!("dissipation_{name}_nW"),
                self.dissipation_nw[s].clone(),
            )?;
        }
        Ok(t)
    }

    /// The figure laid out like paper 1's Fig. 3: (b) spin-resolved currents (↑ solid, ↓ faint;
    /// P black, AP red), (c) I_P, I_AP and the TMR on the same bias axis.
    pub fn figure(&self) -> Figure {
        let v = &self.bias_mv;
        let b = Panel {
            title: format!("(b) {}: spin ↑ (solid), ↓ (faint) currents", self.model),
            x_label: "bias (mV)".into(),
            y_label: "current (nA)".into(),
            series: vec![
                Series::line("P ↑", v.clone(), self.up_na[0].clone(), 0),
                Series::line("P ↓", v.clone(), self.down_na[0].clone(), 0).faint(),
                Series::line("AP ↑", v.clone(), self.up_na[1].clone(), 1),
                Series::line("AP ↓", v.clone(), self.down_na[1].clone(), 1).faint(),
            ],
            zero_line: true,
            y_range: None,
            ..Default::default()
        };
        let c = Panel {
            title: format!("(c) {}: I_P, I_AP", self.model),
            x_label: "bias (mV)".into(),
            y_label: "current (nA)".into(),
            series: vec![
                Series::line("I_P", v.clone(), self.current_na[0].clone(), 0),
                Series::line("I_AP", v.clone(), self.current_na[1].clone(), 1),
            ],
            zero_line: true,
            y_range: None,
            ..Default::default()
        };
        // TMR clipped to ±1000 % so that a pole does not flatten the peaks.
        let tmr: Vec<f64> = self
            .tmr()
            .iter()
            .map(|t| {
                let p = 100.0 * t;
                if p.abs() > 1000.0 {
                    f64::NAN
                } else {
                    p
                }
            })
            .collect();
        let t = Panel {
            title: format!(
                "(c) {}: TMR = I_P/I_AP − 1 (|TMR| > 1000 % not drawn)",
                self.model
            ),
            x_label: "bias (mV)".into(),
            y_label: "TMR (%)".into(),
            series: vec![Series::line("TMR", v.clone(), tmr, 3)],
            zero_line: true,
            y_range: None,
            ..Default::default()
        };
        Figure::new(vec![b, c, t], 3)
    }
}

fn col(t: &Table, name: &str) -> Result<Vec<f64>> {
    t.f64(name)
        .map(<[f64]>::to_vec)
        .ok_or_else(|| Error::invalid("reproduce", format!("internal: no column `{name}`")))
}

/// Run Model A (the coherent chain preset); `quick` uses 401 instead of 2001 bias points.
pub fn chain_curves(quick: bool, tick: &(dyn Fn() + Sync)) -> Result<Curves> {
    let text = if quick {
        let t = CHAIN_PRESET.replace("points = 2001", "points = 401");
        if t == CHAIN_PRESET {
            return Err(Error::invalid(
                "reproduce",
                "internal: the chain preset's bias grid changed; update spin_engine.rs",
            ));
        }
        t
    } else {
        CHAIN_PRESET.to_string()
    };
    let rf = RunFile::parse("examples/spin-engine.toml", &text)?;
    let out = rf.execute(tick)?;
    let iv = out
        .table("iv.csv")
        .ok_or_else(|| Error::invalid("reproduce", "internal: the chain run wrote no iv.csv"))?;
    let states = iv
        .str("state")
        .ok_or_else(|| Error::invalid("reproduce", "internal: no state column"))?;
    let (v, i, up, dn, fs, diss) = (
        col(iv, "bias_mV")?,
        col(iv, "current_nA")?,
        col(iv, "current_up_nA")?,
        col(iv, "current_down_nA")?,
        col(iv, "spin_free_energy_nW")?,
        col(iv, "dissipation_nW")?,
    );
    let pick = |name: &str, x: &[f64]| -> Vec<f64> {
        states
            .iter()
            .zip(x)
            .filter(|(s, _)| *s == name)
            .map(|(_, &y)| y)
            .collect()
    };
    let pair = |x: &[f64]| [pick("P", x), pick("AP", x)];
    let bias = pick("P", &v);
    if bias != pick("AP", &v) {
        return Err(Error::invalid(
            "reproduce",
            "internal: P and AP bias grids differ",
        ));
    }
    Ok(Curves {
        model: "chain",
        bias_mv: bias,
        current_na: pair(&i),
        up_na: pair(&up),
        down_na: pair(&dn),
        spin_free_energy_nw: pair(&fs),
        dissipation_nw: pair(&diss),
    })
}

/// The interacting model's run file and its step (0.1 mV when `quick`, else the preset's).
fn interacting_run(quick: bool) -> Result<(RunFile, crate::run::DotsJob)> {
    let rf = RunFile::parse("examples/spin-engine-interacting.toml", INTERACTING_PRESET)?;
    let Job::DotsSweep(job) = &rf.job else {
        return Err(Error::invalid(
            "reproduce",
            "internal: the interacting preset is not a dots sweep",
        ));
    };
    let mut job = (**job).clone();
    if quick {
        job.settings.step_mv = 0.1;
    }
    Ok((rf, job))
}

/// Run the interacting model. The spin free energy and dissipation come from the spin-resolved
/// currents of both junctions and the channels' chemical potentials μ_{r,σ} = μ_r + σ·m_r·Δμ_r/2.
pub fn interacting_curves(quick: bool, tick: &(dyn Fn() + Sync)) -> Result<Curves> {
    let (rf, job) = interacting_run(quick)?;
    let sweeps = dots_sweeps(&rf.device, &job, tick)?;
    let find = |m: Magnet| {
        sweeps.iter().find(|s| s.magnet == m).ok_or_else(|| {
            Error::invalid("reproduce", "internal: the interacting run lacks a state")
        })
    };
    let (p, ap) = (find(Magnet::P)?, find(Magnet::AP)?);
    let bias: Vec<f64> = p.points.iter().map(|b| b.bias_mv).collect();
    let mut c = Curves {
        model: "interacting",
        bias_mv: bias.clone(),
        current_na: Default::default(),
        up_na: Default::default(),
        down_na: Default::default(),
        spin_free_energy_nw: Default::default(),
        dissipation_nw: Default::default(),
    };
    let leads = &rf.device.leads;
    for (s, sw) in [p, ap].into_iter().enumerate() {
        let sw_bias: Vec<f64> = sw.points.iter().map(|b| b.bias_mv).collect();
        if sw_bias != bias {
            return Err(Error::invalid(
                "reproduce",
                "internal: P and AP bias grids differ",
            ));
        }
        for (pt, r) in sw.points.iter().zip(&sw.results) {
            let v = pt.bias_mv;
            c.current_na[s].push(r.current_na);
            c.up_na[s].push(r.current_spin_na[0]);
            c.down_na[s].push(r.current_spin_na[1]);
            // F_s = Σ_σ (μ_Lσ − μ_L) I_Lσ − Σ_σ (μ_Rσ − μ_R) I_Rσ (meV·nA = pW).
            let mut fs = 0.0;
            for (lead, side, sign, cur) in [
                (&leads[0], LeadSide::Left, 1.0, r.current_spin_na),
                (&leads[1], LeadSide::Right, -1.0, r.current_right_spin_na),
            ] {
                let m = DotModel::magnetisation_sign(side, sw.magnet);
                for (k, sigma) in [1.0, -1.0].into_iter().enumerate() {
                    fs += sign * sigma * m * lead.spin_accumulation_mev / 2.0 * cur[k];
                }
            }
            c.spin_free_energy_nw[s].push(fs * 1e-3);
            c.dissipation_nw[s].push((r.current_na * v + fs) * 1e-3);
        }
    }
    Ok(c)
}

/// The largest spin splitting (meV) the spinterfaces induce on a PM level over the bias grid,
/// in either state: the paper's Δ (its spin engine needs Δ < k_BT).
pub fn interacting_max_splitting_mev(bias_mv: &[f64]) -> Result<f64> {
    let (rf, _) = interacting_run(true)?;
    let mut max: f64 = 0.0;
    for st in &rf.device.states {
        let mb = ManyBody::new(&rf.device, st, "pauli", false)?;
        for &v in bias_mv {
            for b in mb.spinterface_fields(v) {
                max = max.max(b.abs());
            }
        }
    }
    Ok(max)
}

/// Features of one model's curves that the signatures compare.
#[derive(Debug, Clone)]
pub struct Features {
    /// I(0) in P and AP, nA.
    pub i0_na: [f64; 2],
    /// Bias ranges with I_P·I_AP < 0, mV.
    pub opposite_sign_mv: Vec<[f64; 2]>,
    /// TMR peaks and poles.
    pub extremes: TmrExtremes,
    /// Biases of the local extrema of I_P and I_AP, mV.
    pub current_extrema_mv: Vec<f64>,
    /// Largest output power of either state, nW, and its bias (mV) and state.
    pub max_power: (f64, f64, &'static str),
    /// I_AP at +1.4 mV, nA.
    pub i_ap_at_1p4: Option<f64>,
    /// TMR at +10 mV (fraction).
    pub tmr_at_10: Option<f64>,
    /// Narrowest dI/dV feature (peak or dip FWHM), mV.
    pub narrowest_didv_mv: Option<f64>,
    /// Smallest dissipation on the grid, nW.
    pub min_dissipation_nw: f64,
    /// Largest ratio of output power to spin free energy where the device generates power.
    pub max_efficiency: Option<f64>,
}

fn local_extrema(v: &[f64], y: &[f64]) -> Vec<f64> {
    (1..v.len().saturating_sub(1))
        .filter(|&k| (y[k] - y[k - 1]) * (y[k + 1] - y[k]) < 0.0)
        .map(|k| v[k])
        .collect()
}

/// Compute the features of `c`.
pub fn features(c: &Curves) -> Features {
    let v = &c.bias_mv;
    let (ip, iap) = (&c.current_na[0], &c.current_na[1]);
    let mut ext = local_extrema(v, ip);
    ext.extend(local_extrema(v, iap));
    ext.sort_by(f64::total_cmp);
    let mut max_power = (f64::NEG_INFINITY, f64::NAN, "P");
    for (s, name) in [(0, "P"), (1, "AP")] {
        for (k, p) in c.power_nw(s).into_iter().enumerate() {
            if p > max_power.0 {
                max_power = (p, v[k], name);
            }
        }
    }
    let mut narrowest: Option<f64> = None;
    for s in 0..2 {
        let y = &c.current_na[s];
        let didv: Vec<f64> = (0..v.len())
            .map(|k| {
                let (a, b) = (k.saturating_sub(1), (k + 1).min(v.len() - 1));
                (y[b] - y[a]) / (v[b] - v[a])
            })
            .collect();
        for dips in [false, true] {
            let opts = PeakOptions {
                dips,
                ..PeakOptions::default()
            };
            if let Ok(peaks) = find_peaks(v, &didv, opts) {
                for p in peaks.iter().filter(|p| p.fwhm.is_finite()) {
                    narrowest = Some(narrowest.map_or(p.fwhm, |n: f64| n.min(p.fwhm)));
                }
            }
        }
    }
    let mut max_eff: Option<f64> = None;
    for s in 0..2 {
        for (p, f) in c.power_nw(s).iter().zip(&c.spin_free_energy_nw[s]) {
            if *p > 0.0 && *f > 0.0 {
                let e = p / f;
                max_eff = Some(max_eff.map_or(e, |m: f64| m.max(e)));
            }
        }
    }
    Features {
        i0_na: [
            interpolate(v, ip, 0.0).unwrap_or(f64::NAN),
            interpolate(v, iap, 0.0).unwrap_or(f64::NAN),
        ],
        opposite_sign_mv: opposite_sign_ranges(v, ip, iap),
        extremes: tmr_extremes(v, ip, iap),
        current_extrema_mv: ext,
        max_power,
        i_ap_at_1p4: interpolate(v, iap, 1.4),
        tmr_at_10: match (interpolate(v, ip, 10.0), interpolate(v, iap, 10.0)) {
            (Some(a), Some(b)) => crate::report::tmr(a, b, TMR_FLOOR_NA),
            _ => None,
        },
        narrowest_didv_mv: narrowest,
        min_dissipation_nw: c
            .dissipation_nw
            .iter()
            .flatten()
            .copied()
            .fold(f64::INFINITY, f64::min),
        max_efficiency: max_eff,
    }
}

impl Features {
    /// The distinct TMR peak at V < 0 with the largest TMR.
    pub fn negative_bias_peak(&self) -> Option<&crate::report::TmrPeak> {
        self.extremes
            .peaks
            .iter()
            .filter(|p| p.bias_mV < 0.0)
            .max_by(|a, b| a.tmr.total_cmp(&b.tmr))
    }

    /// The part at V > 0 of the first bias range where I_P and I_AP have opposite signs, mV.
    pub fn positive_bias_window(&self) -> Option<[f64; 2]> {
        self.opposite_sign_mv
            .iter()
            .find(|r| r[1] > 0.0)
            .map(|r| [r[0].max(0.0), r[1]])
    }

    /// Distance (mV) from `bias` to the nearest local extremum of I_P or I_AP.
    pub fn extremum_distance(&self, bias: f64) -> f64 {
        self.current_extrema_mv
            .iter()
            .map(|x| (x - bias).abs())
            .fold(f64::INFINITY, f64::min)
    }

    /// The "done when" for the model: I(0) ≠ 0 with P ≠ AP, an opposite-sign window at
    /// V > 0, and a distinct TMR peak ≥ +100 % at V < 0 with a current extremum within 1 mV.
    pub fn done_when(&self) -> bool {
        let [a, b] = self.i0_na;
        let i0 = a.abs() > I0_FLOOR_NA && b.abs() > I0_FLOOR_NA && (a - b).abs() > I0_FLOOR_NA;
        let window = self.positive_bias_window().is_some();
        let peak = self
            .negative_bias_peak()
            .is_some_and(|p| p.tmr >= 1.0 && self.extremum_distance(p.bias_mV) <= 1.0);
        i0 && window && peak
    }
}

/// A current counts as non-zero above this, nA (far above the solvers' precision, 1e-9 nA).
pub const I0_FLOOR_NA: f64 = 1e-3;

fn fmt(x: f64, digits: usize) -> String {
    if x.is_finite() {
        format!("{x:.digits$}")
    } else {
        "n/a".into()
    }
}

fn sig(
    model: &str,
    name: &str,
    paper: &str,
    value: String,
    unit: &str,
    ok: Option<bool>,
    note: String,
) -> Signature {
    Signature {
        signature: format!("{model}/{name}"),
        paper_value: paper.into(),
        model_value: value,
        unit: unit.into(),
        reproduced: ok,
        note,
    }
}

/// Paper-1 signatures for one model; `delta_mev` is the PM spin splitting (None: the model has
/// none); `scale_note` explains the model's current scale; `resolution_mv` is the narrowest bias
/// feature the model's approximation resolves (None: exact, e.g. the coherent chain).
pub fn signatures(
    model: &'static str,
    f: &Features,
    delta_mev: Option<f64>,
    scale_note: &str,
    resolution_mv: Option<f64>,
) -> Vec<Signature> {
    let kt = kt_mev(TEMPERATURE_K);
    let [i0p, i0ap] = f.i0_na;
    let mut rows = vec![
        sig(model, "I0_P", "≠ 0", fmt(i0p, 4), "nA", Some(i0p.abs() > I0_FLOOR_NA),
            format!("criterion: |I_P(0)| > {I0_FLOOR_NA} nA (spin accumulation drives a current at V = 0)")),
        sig(model, "I0_AP", "≠ 0", fmt(i0ap, 4), "nA", Some(i0ap.abs() > I0_FLOOR_NA),
            format!("criterion: |I_AP(0)| > {I0_FLOOR_NA} nA")),
        sig(model, "I0_P_differs_from_AP", "I_P(0) ≠ I_AP(0)", fmt(i0p - i0ap, 4), "nA",
            Some((i0p - i0ap).abs() > I0_FLOOR_NA),
            format!("criterion: |I_P(0) − I_AP(0)| > {I0_FLOOR_NA} nA")),
    ];
    let big = i0p.abs().max(i0ap.abs());
    rows.push(sig(model, "I0_magnitude", "≳ 5 (paper: nearly 2 orders of magnitude above the 0.5 nA offset)",
        fmt(big, 3), "nA", Some(big >= 5.0),
        format!("criterion: max |I(0)| ≥ 5 nA (10 × the offset, a lower bound of the paper's statement); {scale_note}")));
    let window = f.positive_bias_window();
    rows.push(sig(model, "opposite_sign_window", "a range of V > 0 with I_P·I_AP < 0",
        window.map_or("none".into(), |r| format!("{:.3}..{:.3}", r[0], r[1])), "mV",
        Some(window.is_some()), "criterion: I_P and I_AP have opposite signs (TMR < −100 %) somewhere at V > 0 (model value: that range, clipped to V ≥ 0)".into()));
    let peak = f.negative_bias_peak();
    let poles: Vec<String> = f
        .extremes
        .poles_mV
        .iter()
        .map(|p| format!("{p:.2}"))
        .collect();
    let pole_note = format!(
        "poles (I_AP = 0) reported separately: [{}] mV",
        poles.join(", ")
    );
    match peak {
        Some(p) => {
            let d = f.extremum_distance(p.bias_mV);
            rows.push(sig(model, "tmr_peak_distinct", "+300 % peak at V < 0, a local maximum away from current zeros",
                format!("{:.1} % at {:.3} mV, {:.2} mV from a current zero", 100.0 * p.tmr, p.bias_mV, p.distance_to_current_zero_mV),
                "%", Some(p.tmr >= 1.0),
                format!("criterion: a TMR local maximum ≥ +100 % at V < 0 whose half maximum is reached on both sides before any zero of I_P or I_AP; {pole_note}")));
            rows.push(sig(
                model,
                "tmr_peak_value",
                "300",
                fmt(100.0 * p.tmr, 1),
                "%",
                Some((150.0..=600.0).contains(&(100.0 * p.tmr))),
                "criterion: within a factor 2 of 300 %".into(),
            ));
            rows.push(sig(
                model,
                "tmr_peak_bias",
                "-3.5",
                fmt(p.bias_mV, 3),
                "mV",
                Some((p.bias_mV + 3.5).abs() <= 1.0),
                "criterion: within 1 mV of −3.5 mV with voltage-scale factor 1 (none applied)"
                    .into(),
            ));
            rows.push(sig(
                model,
                "tmr_peak_fwhm",
                "1.3",
                fmt(p.fwhm_mV, 3),
                "mV",
                Some(p.fwhm_mV >= 0.65 && p.fwhm_mV <= 2.6),
                "criterion: within a factor 2 of 1.3 mV (FWHM at half the peak TMR)".into(),
            ));
            rows.push(sig(model, "tmr_peak_current_extremum", "local max of I_P / min of I_AP at the peak",
                fmt(d, 3), "mV", Some(d <= 1.0),
                "model value: distance from the peak to the nearest local extremum of I_P or I_AP; criterion ≤ 1 mV".into()));
        }
        None => {
            for (name, paper, unit) in [
                (
                    "tmr_peak_distinct",
                    "+300 % peak at V < 0, a local maximum away from current zeros",
                    "%",
                ),
                ("tmr_peak_value", "300", "%"),
                ("tmr_peak_bias", "-3.5", "mV"),
                ("tmr_peak_fwhm", "1.3", "mV"),
                (
                    "tmr_peak_current_extremum",
                    "local max of I_P / min of I_AP at the peak",
                    "mV",
                ),
            ] {
                rows.push(sig(model, name, paper, "no distinct peak".into(), unit, Some(false),
                    format!("no TMR local maximum at V < 0 away from the current zeros (the largest TMR is a pole's flank); {pole_note}")));
            }
        }
    }
    let iap = f.i_ap_at_1p4.unwrap_or(f64::NAN);
    rows.push(sig(
        model,
        "I_AP_at_+1.4mV",
        "-70",
        fmt(iap, 3),
        "nA",
        Some(iap < 0.0 && (iap / -70.0) >= 0.5 && (iap / -70.0) <= 2.0),
        format!("criterion: negative and within a factor 2 of −70 nA; {scale_note}"),
    ));
    let (pw, pv, ps) = f.max_power;
    rows.push(sig(
        model,
        "max_output_power",
        "> 0.1",
        fmt(pw, 5),
        "nW",
        Some(pw > 0.1),
        format!(
            "largest −I·V of either state ({ps} at {pv:.2} mV); criterion > 0.1 nW; {scale_note}"
        ),
    ));
    let t10 = f.tmr_at_10.unwrap_or(f64::NAN);
    rows.push(sig(
        model,
        "tmr_at_+10mV",
        "< 0",
        fmt(100.0 * t10, 1),
        "%",
        Some(t10 < 0.0),
        "criterion: TMR(+10 mV) < 0".into(),
    ));
    match delta_mev {
        Some(d) => rows.push(sig(model, "delta_below_kT", "Δ < k_BT", fmt(d, 4), "meV", Some(d < kt),
            format!("Δ: largest spin splitting the spinterfaces induce on a PM level over the bias grid (either state); k_BT = {kt:.2} meV at 295 K"))),
        None => rows.push(sig(model, "delta_below_kT", "Δ < k_BT", "0 (no PM splitting)".into(), "meV", None,
            "The chain model's PM levels are not spin-split (no exchange): the condition is not tested by this model".into())),
    }
    let w = f.narrowest_didv_mv.unwrap_or(f64::NAN);
    let (ok, res_note) = match resolution_mv {
        Some(r) => (w <= 0.5 && w >= r, format!(" and not below the model's resolution {r:.2} mV (sequential tunnelling does not resolve features narrower than the level broadening Γ_eff/|Δα|: a narrower one is an avoided crossing inside Γ, an artifact of the Pauli approximation)")),
        None => (w <= 0.5, String::new()),
    };
    rows.push(sig(model, "didv_feature_width", "0.25", fmt(w, 3), "mV",
        Some(ok), format!("narrowest FWHM of a dI/dV peak or dip (either state, default prominence); criterion ≤ 0.5 mV (factor 2){res_note}")));
    rows.push(sig(model, "upscaled_power_1cm2", "0.4", fmt(pw * 4e9 * 1e-9, 5), "W",
        Some(pw * 4e9 * 1e-9 >= 0.4),
        "the paper's estimate: power per MTJ × 4·10⁹ MTJs (50 nm STT-MRAM density) per cm²; follows max_output_power".into()));
    rows.push(sig(
        model,
        "voltage_scale_factor",
        "an unstated factor",
        "1".into(),
        "",
        None,
        "no voltage rescaling is applied to the model; every bias above is the model's own".into(),
    ));
    rows
}

/// The interacting model's dimer exchange at each bias (0.25 mV steps over ±10 mV) in P and AP:
/// the totals the Hamiltonian uses (configured constants + the mediated part) and the mediated
/// (Fransson) part alone, as `exchange.csv` and its figure. Empty when the preset has no
/// mediated coupling.
pub fn exchange_outputs() -> Result<Option<(Table, Figure)>> {
    let (rf, _) = interacting_run(true)?;
    let dev = &rf.device;
    if dev.mediated.is_empty() {
        return Ok(None);
    }
    let bias: Vec<f64> = (0..=80).map(|k| -10.0 + 0.25 * k as f64).collect();
    let rows = crate::engine::fransson::exchange_table(dev, &dev.mediated, &dev.states, &bias)?;
    if let Some(r) = rows.iter().find(|r| !r.mediated.converged) {
        return Err(Error::invalid(
            "reproduce",
            format!(
                "the mediated exchange did not converge at {} mV in {} (error {:.2e} meV)",
                r.bias_mv, r.state, r.mediated.error_mev
            ),
        ));
    }
    let mut t = Table::new();
    t.push_f64("bias_mV", rows.iter().map(|r| r.bias_mv).collect())?;
    t.push_str("state", rows.iter().map(|r| r.state.clone()).collect())?;
    t.push_str(
        "orbitals",
        rows.iter()
            .map(|r| format!("{}-{}", dev.orbitals[r.a].name, dev.orbitals[r.b].name))
            .collect(),
    )?;
    t.push_f64("J_meV", rows.iter().map(|r| r.j_mev).collect())?;
    t.push_f64("Jz_meV", rows.iter().map(|r| r.jz_mev).collect())?;
    t.push_f64("Dz_meV", rows.iter().map(|r| r.dz_mev).collect())?;
    t.push_f64(
        "J_mediated_meV",
        rows.iter().map(|r| r.mediated.j_mev).collect(),
    )?;
    t.push_f64(
        "Jz_mediated_meV",
        rows.iter().map(|r| r.mediated.jz_mev).collect(),
    )?;
    t.push_f64(
        "Dz_mediated_meV",
        rows.iter().map(|r| r.mediated.dz_mev).collect(),
    )?;
    t.push_f64(
        "quadrature_error_meV",
        rows.iter().map(|r| r.mediated.error_mev).collect(),
    )?;
    let (a, b) = (rows[0].a, rows[0].b);
    let pick = |state: &str, f: &dyn Fn(&crate::engine::fransson::ExchangeRow) -> f64| {
        let sel: Vec<_> = rows
            .iter()
            .filter(|r| r.state == state && (r.a, r.b) == (a, b))
            .collect();
        (
            sel.iter().map(|r| r.bias_mv).collect::<Vec<f64>>(),
            sel.iter().map(|r| f(r)).collect::<Vec<f64>>(),
        )
    };
    let mut series = Vec::new();
    for (name, color, f) in [
        (
            "J",
            0usize,
            &(|r: &crate::engine::fransson::ExchangeRow| r.mediated.j_mev)
                as &dyn Fn(&crate::engine::fransson::ExchangeRow) -> f64,
        ),
        ("J_z", 1, &|r| r.mediated.jz_mev),
        ("D_z", 2, &|r| r.mediated.dz_mev),
    ] {
        let (x, y) = pick("P", f);
        series.push(Series::line(format!("{name} (P)"), x, y, color));
        let (x, y) = pick("AP", f);
        series.push(Series::line(format!("{name} (AP)"), x, y, color).dashed());
    }
    let panel = Panel {
        title: format!(
            "mediated (Fransson) exchange {}–{}, added to the constants",
            dev.orbitals[a].name, dev.orbitals[b].name
        ),
        x_label: "bias (mV)".into(),
        y_label: "exchange (meV)".into(),
        series,
        zero_line: true,
        y_range: None,
        ..Default::default()
    };
    Ok(Some((t, Figure::new(vec![panel], 1))))
}

/// Run the reproduction (see the module documentation).
pub fn run(opts: &Options, tick: &(dyn Fn() + Sync)) -> Result<RunOutput> {
    let chain = chain_curves(opts.quick, tick)?;
    let inter = interacting_curves(opts.quick, tick)?;
    let fc = features(&chain);
    let fi = features(&inter);
    let delta = interacting_max_splitting_mev(&inter.bias_mv)?;
    // Current scale of the interacting model: (e/ħ)·Γ·sp/(4k_BT), sequential tunnelling at 295 K.
    let (rf, _) = interacting_run(true)?;
    let lead = &rf.device.leads[0];
    let gamma = lead.gamma_mev.iter().copied().fold(0.0, f64::max);
    let e_over_hbar_na = 2.0 * std::f64::consts::PI * crate::units::E_OVER_H_NA_PER_MEV;
    let scale = e_over_hbar_na * gamma * lead.spin_accumulation_mev / (4.0 * kt_mev(TEMPERATURE_K));
    let inter_note = format!(
        "sequential tunnelling at 295 K: the spin-driven current scales as (e/ħ)·Γ·sp/(4k_BT) = {scale:.2} nA with Γ = 4t²/W = {gamma} meV (t = 0.5 meV, W = 10 meV): tens of nA need Γ ≳ 1 meV, where the dimer (hopping 0.3 meV) is no longer in the sequential regime Γ ≪ 2t"
    );
    let chain_note = "chain-model bound (docs/formalism.md): per spin channel ≤ (e/h)·δ²/4 output power and thermal dilution ∫T dE/4k_BT of the spin-driven current";
    // Resolution of sequential tunnelling in bias: the largest effective width Γ·W/W_min of a PM
    // level over the smallest lever-arm difference between tunnel-coupled dimer orbitals.
    let p_max = rf
        .device
        .leads
        .iter()
        .map(|l| l.polarization.abs())
        .fold(0.0, f64::max);
    let d_alpha = rf
        .device
        .hoppings
        .iter()
        .map(|h| (rf.device.orbitals[h.a].lever_arm - rf.device.orbitals[h.b].lever_arm).abs())
        .filter(|d| *d > 0.0)
        .fold(f64::INFINITY, f64::min);
    let resolution = gamma / (1.0 - p_max) / d_alpha;
    let mut rows = signatures(
        "interacting",
        &fi,
        Some(delta),
        &inter_note,
        Some(resolution),
    );
    rows.extend(signatures("chain", &fc, None, chain_note, None));
    let table = signatures_table(&rows)?;
    // The interacting model fitted to the paper's TMR peak (parameters with errors).
    let fit = super::spin_engine_fit::run()?;
    tick();
    let model_json = |c: &Curves, f: &Features| {
        json!({
            "bias_points": c.bias_mv.len(),
            "current_at_zero_bias_nA": {"P": f.i0_na[0], "AP": f.i0_na[1]},
            "ranges_tmr_below_minus_100_percent_mV": f.opposite_sign_mv,
            "tmr_extremes": f.extremes,
            "current_extrema_mV": f.current_extrema_mv,
            "max_output_power_nW": f.max_power.0,
            "bias_at_max_output_power_mV": f.max_power.1,
            "state_at_max_output_power": f.max_power.2,
            "current_ap_at_1p4_mV_nA": f.i_ap_at_1p4,
            "tmr_at_10_mV": f.tmr_at_10,
            "narrowest_didv_feature_mV": f.narrowest_didv_mv,
            "second_law": {
                "min_dissipation_nW": f.min_dissipation_nw,
                "max_efficiency": f.max_efficiency,
                "holds": f.min_dissipation_nw >= -1e-9 && f.max_efficiency.is_none_or(|e| e <= 1.0 + 1e-9),
            },
            "done_when": f.done_when(),
        })
    };
    let n_yes = rows.iter().filter(|r| r.reproduced == Some(true)).count();
    let n_no = rows.iter().filter(|r| r.reproduced == Some(false)).count();
    let summary: Value = json!({
        "paper": "spin-engine",
        "spinpath_version": env!("CARGO_PKG_VERSION"),
        "seed": opts.seed,
        "quick": opts.quick,
        "temperature_K": TEMPERATURE_K,
        "interacting": model_json(&inter, &fi),
        "interacting_max_pm_splitting_meV": delta,
        "chain": model_json(&chain, &fc),
        "signatures": {"reproduced": n_yes, "not_reproduced": n_no,
                       "not_comparable": rows.len() - n_yes - n_no},
        "fit": {
            "file": "examples/fit-spin-engine-interacting.toml",
            "chi2": fit.result.chi2,
            "converged": fit.result.success,
            "evaluations": fit.result.evaluations,
            "parameters": fit.result.names.iter().enumerate().map(|(k, n)| json!({
                "name": n, "value": fit.result.values[k], "error": fit.result.stderr[k],
                "kind": fit.result.kind[k]})).collect::<Vec<_>>(),
            "tmr_peak": {"bias_mV": fit.peak[0], "tmr_percent": fit.peak[1], "fwhm_mV": fit.peak[2]},
        },
    });
    let mut text = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(
        text,
        "paper 1 (spin engine){}: {n_yes} signatures reproduced, {n_no} not, {} not comparable",
        if opts.quick { ", quick" } else { "" },
        rows.len() - n_yes - n_no
    );
    for r in &rows {
        let verdict = match r.reproduced {
            Some(true) => "yes",
            Some(false) => "no ",
            None => "n/a",
        };
        let _ = writeln!(
            text,
            "  {verdict} {:<40} paper {} | model {} {}",
            r.signature, r.paper_value, r.model_value, r.unit
        );
    }
    let _ = writeln!(text, "  {}", super::spin_engine_fit::summary_line(&fit));
    let mut out = RunOutput::default();
    out.tables.push(("signatures.csv".into(), table));
    out.tables.push((
        "fit_parameters.csv".into(),
        super::spin_engine_fit::table(&fit.rows)?,
    ));
    out.tables
        .push(("curves_interacting.csv".into(), inter.table()?));
    out.tables.push(("curves_chain.csv".into(), chain.table()?));
    out.figures
        .push(("fig3_interacting.svg".into(), inter.figure()));
    out.figures.push(("fig3_chain.svg".into(), chain.figure()));
    if let Some((t, f)) = exchange_outputs()? {
        out.tables.push(("exchange.csv".into(), t));
        out.figures.push(("exchange.svg".into(), f));
    }
    out.summary = summary;
    out.text = text;
    Ok(out)
}
