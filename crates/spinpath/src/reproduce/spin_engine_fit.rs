//! The interacting spin engine fitted to what paper 1 reports (issue: "fits to features"): the
//! bundled fit file `examples/fit-spin-engine-interacting.toml` (TMR peak at −3.5 mV, +300 %),
//! run on the bundled interacting preset, and `fit_parameters.csv`: every parameter of the fit
//! with its error, the paper's value and whether it stays within the paper's constraints (outer
//! parameters shared by P and AP; only minor dimer changes between P and AP).

use crate::config::fit::{parse_fit_with_model, FitEngine, FitSpec};
use crate::device::{Device, Parametrized};
use crate::fit::device::steady_currents;
use crate::fit::features::Feature;
use crate::fit::FitResult;
use crate::table::Table;
use crate::{Error, Result};

/// The fit file (bundled copy of `examples/fit-spin-engine-interacting.toml`).
pub const FIT_FILE: &str = crate::presets::FIT_SPIN_ENGINE_INTERACTING;

/// Paper 1's dimer: e0 and ASYM = PM2 − PM1 in P and AP (meV; Methods/Fig. 3 caption).
pub const PAPER_DIMER: [(&str, f64); 4] = [
    ("e0_P", -2.5),
    ("asym_P", 0.5),
    ("e0_AP", 0.85),
    ("asym_AP", -0.75),
];

/// One row of `fit_parameters.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct FitRow {
    /// Parameter (or derived quantity) name.
    pub parameter: String,
    /// Value at the best fit.
    pub value: f64,
    /// 1σ error (`None`: held or tied without an estimate).
    pub error: Option<f64>,
    /// Unit (`meV`, `mV`, `%`, empty).
    pub unit: &'static str,
    /// The paper's value (`None`: the paper states none).
    pub paper_value: Option<f64>,
    /// Whether the value respects the paper's constraint for it (computed; see `note`).
    pub within_constraint: Option<bool>,
    /// How it was treated and the criterion.
    pub note: String,
}

/// The fit's outcome: the result, the fitted device and the rows of `fit_parameters.csv`.
#[derive(Debug, Clone)]
pub struct FitOutcome {
    /// The minimiser's result.
    pub result: FitResult,
    /// The rows of `fit_parameters.csv`.
    pub rows: Vec<FitRow>,
    /// The TMR peak of the fitted model in the fit's window: bias (mV), height (%), FWHM (mV).
    pub peak: [f64; 3],
}

/// The fit spec of the bundled fit file on the bundled interacting preset.
pub fn spec() -> Result<FitSpec> {
    parse_fit_with_model(
        std::path::Path::new("examples/fit-spin-engine-interacting.toml"),
        FIT_FILE,
        super::spin_engine::INTERACTING_PRESET,
    )
}

/// Run the fit and build the table rows.
pub fn run() -> Result<FitOutcome> {
    let spec = spec()?;
    let result = crate::fit::report::run_fit(&spec, &[], &|_| {})?;
    let FitEngine::Device {
        device, approach, ..
    } = &spec.engine
    else {
        return Err(Error::invalid(
            "reproduce",
            "internal: the interacting fit's model is not a device",
        ));
    };
    let mut fitted: Device = (**device).clone();
    for (n, v) in result.names.iter().zip(&result.values) {
        fitted.set_parameter(n, *v);
    }
    // The peak of the fitted model with its width (the width is not a fit target).
    let window = spec
        .features
        .iter()
        .find_map(|f| match f {
            Feature::TmrPeak { window_mv, .. } => Some(*window_mv),
            _ => None,
        })
        .unwrap_or((-6.0, -1.0));
    let probe = Feature::TmrPeak {
        p: "P".into(),
        ap: "AP".into(),
        window_mv: window,
        bias: Some((0.0, 1.0)),
        height: Some((0.0, 1.0)),
        width: Some((0.0, 1.0)),
    };
    let v = probe.evaluate(&|state, x| steady_currents(&fitted, *approach, state, x))?;
    let peak = [v[0], v[1], v[2]];
    let rows = rows(&spec, &result, &fitted, peak);
    Ok(FitOutcome { result, rows, peak })
}

fn level(dev: &Device, dot: &str, state: &str) -> f64 {
    dev.parameter(&format!("{dot}.orbital0.energy_{state}_meV"))
        .unwrap_or(f64::NAN)
}

fn rows(spec: &FitSpec, r: &FitResult, fitted: &Device, peak: [f64; 3]) -> Vec<FitRow> {
    let paper = |n: &str| PAPER_DIMER.iter().find(|p| p.0 == n).map(|p| p.1);
    let mut out = Vec::new();
    // The fit's own parameters (free and tied).
    for (k, name) in r.names.iter().enumerate() {
        let p = &spec.params.all()[k];
        let within = if r.kind[k] == "free" {
            Some(r.values[k] > p.min && r.values[k] < p.max)
        } else {
            None
        };
        let note = match r.kind[k].as_str() {
            "free" => format!(
                "free within [{}, {}]; within_constraint: strictly inside the bounds",
                p.min, p.max
            ),
            "tied" => "tied to the free parameters by the fit file's expression (PM1 = e0 − ASYM/2, PM2 = e0 + ASYM/2); error propagated".into(),
            k => k.to_string(),
        };
        let unit = if name.ends_with("_meV") || name.starts_with("e0") || name.starts_with("asym") {
            "meV"
        } else {
            ""
        };
        out.push(FitRow {
            parameter: name.clone(),
            value: r.values[k],
            error: r.stderr[k],
            unit,
            paper_value: paper(name),
            within_constraint: within,
            note,
        });
    }
    // The AP dimer (held at the paper's values) and the P–AP change of the dimer.
    let (p1a, p2a) = (level(fitted, "PM1", "AP"), level(fitted, "PM2", "AP"));
    let e0_ap = 0.5 * (p1a + p2a);
    out.push(FitRow {
        parameter: "e0_AP".into(),
        value: e0_ap,
        error: None,
        unit: "meV",
        paper_value: paper("e0_AP"),
        within_constraint: None,
        note: "held: (PM1 + PM2)/2 in AP from the preset".into(),
    });
    out.push(FitRow {
        parameter: "asym_AP".into(),
        value: p2a - p1a,
        error: None,
        unit: "meV",
        paper_value: paper("asym_AP"),
        within_constraint: None,
        note: "held: PM2 − PM1 in AP from the preset (the preset's choice, docs/reproduce.md)"
            .into(),
    });
    let (p1, p2) = (level(fitted, "PM1", "P"), level(fitted, "PM2", "P"));
    let gap = e0_ap - 0.5 * (p1 + p2);
    let gap_err = r.error("e0_P");
    let paper_gap = 0.85 - -2.5;
    out.push(FitRow {
        parameter: "e0_AP_minus_e0_P".into(),
        value: gap,
        error: gap_err,
        unit: "meV",
        paper_value: Some(paper_gap),
        within_constraint: Some(gap > 0.0 && gap <= 2.0 * paper_gap),
        note: format!(
            "the change of the dimer between P and AP; the paper: only minor dimer changes, its own e0 shift {paper_gap:.2} meV; criterion: same sign and at most twice the paper's"
        ),
    });
    // Outer parameters: one device value, the same in P and AP by construction.
    for (name, paper_value) in [
        ("left.spin_accumulation_meV", 8.4),
        ("right.spin_accumulation_meV", 8.4 * 0.3),
        ("left.polarization", 0.35),
        ("right.polarization", 0.35),
        ("left.spinterface.splitting_meV", 2.0),
        ("left.spinterface.width_meV", 10.0),
        ("left.spinterface.energy_meV", 0.0),
        ("temperature_K", 295.0),
    ] {
        let v = fitted.parameter(name).unwrap_or(f64::NAN);
        out.push(FitRow {
            parameter: name.into(),
            value: v,
            error: None,
            unit: if name.ends_with("_K") {
                "K"
            } else if name.ends_with("_meV") {
                "meV"
            } else {
                ""
            },
            paper_value: Some(paper_value),
            within_constraint: Some((v - paper_value).abs() <= 1e-9 * paper_value.abs().max(1.0)),
            note: "held at the paper's value; one device value shared by P and AP (the paper's constraint on outer parameters)".into(),
        });
    }
    // What the fit reached.
    for (name, k, paper_value, unit, note) in [
        (
            "tmr_peak_bias",
            0,
            -3.5,
            "mV",
            "fitted target (σ 0.2 mV); criterion: within 2σ",
        ),
        (
            "tmr_peak_height",
            1,
            300.0,
            "%",
            "fitted target (σ 30 %); criterion: within 2σ",
        ),
        (
            "tmr_peak_fwhm",
            2,
            1.3,
            "mV",
            "not a target: no level pair reaches the paper's width together with the position at 295 K (with it χ² stays ~156 from every start); measured inside the fit window, a side where the TMR stays above half height is cut at the window's end (a lower bound then); criterion: within a factor 2",
        ),
    ] {
        let v = peak[k];
        let ok = match k {
            0 => (v - paper_value).abs() <= 0.4,
            1 => (v - paper_value).abs() <= 60.0,
            _ => v >= paper_value / 2.0 && v <= 2.0 * paper_value,
        };
        out.push(FitRow {
            parameter: name.into(),
            value: v,
            error: None,
            unit,
            paper_value: Some(paper_value),
            within_constraint: Some(ok),
            note: note.into(),
        });
    }
    out.push(FitRow {
        parameter: "chi2".into(),
        value: r.chi2,
        error: None,
        unit: "",
        paper_value: None,
        within_constraint: None,
        note: format!(
            "{} targets, {} free parameters, {} model evaluations{}",
            r.n_data,
            r.n_free,
            r.evaluations,
            if r.success { "" } else { "; NOT converged" }
        ),
    });
    out
}

/// `fit_parameters.csv` (columns `parameter,value,error,unit,paper_value,within_constraint,note`;
/// `error` and `paper_value` empty where there is none, `within_constraint` `yes`/`no`/`n/a`).
pub fn table(rows: &[FitRow]) -> Result<Table> {
    let mut t = Table::new();
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v}"));
    t.push_str(
        "parameter",
        rows.iter().map(|r| r.parameter.clone()).collect(),
    )?;
    t.push_f64("value", rows.iter().map(|r| r.value).collect())?;
    t.push_str("error", rows.iter().map(|r| opt(r.error)).collect())?;
    t.push_str("unit", rows.iter().map(|r| r.unit.to_string()).collect())?;
    t.push_str(
        "paper_value",
        rows.iter().map(|r| opt(r.paper_value)).collect(),
    )?;
    t.push_str(
        "within_constraint",
        rows.iter()
            .map(|r| match r.within_constraint {
                Some(true) => "yes".into(),
                Some(false) => "no".into(),
                None => "n/a".into(),
            })
            .collect(),
    )?;
    t.push_str("note", rows.iter().map(|r| r.note.clone()).collect())?;
    Ok(t)
}

/// One line for the terminal.
pub fn summary_line(o: &FitOutcome) -> String {
    let r = &o.result;
    let pm = |n: &str| match (r.value(n), r.error(n)) {
        (Some(v), Some(e)) => format!("{v:.2} ± {e:.2}"),
        (Some(v), None) => format!("{v:.2}"),
        _ => "n/a".into(),
    };
    format!(
        "fit to the TMR peak (−3.5 mV, +300 %): e0(P) = {} meV (paper −2.5), ASYM(P) = {} meV (paper +0.5); model peak {:.1} % at {:.2} mV, FWHM {:.2} mV (paper 1.3); χ² = {:.3} ({} evaluations)",
        pm("e0_P"),
        pm("asym_P"),
        o.peak[1],
        o.peak[0],
        o.peak[2],
        r.chi2,
        r.evaluations
    )
}
