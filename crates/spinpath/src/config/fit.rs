//! Fit files (`spinpath fit <fit.toml>`): which model, which data, which parameters vary and how
//! they are tied. Documented key by key in `docs/fitting.md`.

use super::{count, parse_coherent_run, parse_error, CoherentRun, Ctx, SpinEngineSpec};
use crate::analysis::read::{AxisSpec, ColumnSel, Unit};
use crate::error::{Error, Result};
use crate::fit::chain::ChainSpec;
use crate::fit::expr::Expr;
use crate::fit::params::{Param, Parameters};
use crate::fit::FitOptions;
use crate::master::DotModel;
use crate::negf::Integration;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFit {
    model: Spanned<String>,
    output: Option<String>,
    fit: Option<RawOptions>,
    data: Option<Spanned<Vec<RawData>>>,
    feature: Option<Vec<Spanned<RawFeature>>>,
    parameters: Spanned<BTreeMap<String, Spanned<RawParam>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOptions {
    starts: Option<Spanned<i64>>,
    seed: Option<u64>,
    max_evaluations: Option<Spanned<i64>>,
    time_budget_s: Option<Spanned<f64>>,
    tolerance: Option<Spanned<f64>>,
    scale_covariance: Option<bool>,
    rel_tol: Option<Spanned<f64>>,
    jacobian: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawData {
    state: Spanned<String>,
    file: Spanned<String>,
    x: Option<Spanned<RawColumn>>,
    y: Option<Spanned<RawColumn>>,
    x_unit: Option<Spanned<String>>,
    y_unit: Option<Spanned<String>>,
    sigma_nA: Option<Spanned<f64>>,
    sigma: Option<Spanned<RawColumn>>,
    sigma_unit: Option<Spanned<String>>,
    bias_min_mV: Option<f64>,
    bias_max_mV: Option<f64>,
}

/// `[[feature]]`: a target feature of the curves (see [`crate::fit::features`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawFeature {
    kind: Spanned<String>,
    state: Option<Spanned<String>>,
    states: Option<Spanned<Vec<String>>>,
    bias_mV: Option<Spanned<f64>>,
    value_nA: Option<Spanned<f64>>,
    sigma_nA: Option<Spanned<f64>>,
    value_mV: Option<Spanned<f64>>,
    sigma_mV: Option<Spanned<f64>>,
    value_percent: Option<Spanned<f64>>,
    sigma_percent: Option<Spanned<f64>>,
    window_mV: Option<Spanned<Vec<f64>>>,
    width_mV: Option<Spanned<f64>>,
    sigma_width_mV: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawColumn {
    Index(i64),
    Name(String),
}

/// A `[parameters]` entry: a start value, or a table of `value`, `min`, `max`, `vary`, `expr`.
/// Read through a TOML value so that a misspelt field names itself (and the closest field).
#[derive(Debug, Deserialize)]
#[serde(try_from = "toml::Value")]
enum RawParam {
    Value(f64),
    Spec(RawParamSpec),
}

/// The fields of a parameter table.
const PARAM_FIELDS: [&str; 5] = ["value", "min", "max", "vary", "expr"];

impl TryFrom<toml::Value> for RawParam {
    type Error = String;

    fn try_from(v: toml::Value) -> std::result::Result<Self, String> {
        match v {
            toml::Value::Float(x) => Ok(RawParam::Value(x)),
            toml::Value::Integer(i) => Ok(RawParam::Value(i as f64)),
            toml::Value::Table(t) => {
                let fields: Vec<String> = PARAM_FIELDS.iter().map(|f| f.to_string()).collect();
                if let Some(k) = t.keys().find(|k| !PARAM_FIELDS.contains(&k.as_str())) {
                    let close = crate::device::closest_names(k, &fields);
                    let hint = if close.is_empty() {
                        String::new()
                    } else {
                        format!(" (did you mean {}?)", close.join(" or "))
                    };
                    return Err(format!(
                        "unknown field `{k}`{hint}; a parameter table has the fields {}",
                        PARAM_FIELDS.join(", ")
                    ));
                }
                toml::Value::Table(t)
                    .try_into::<RawParamSpec>()
                    .map(RawParam::Spec)
                    .map_err(|e| e.message().to_string())
            }
            other => Err(format!(
                "a parameter is a number (its start value) or a table with {}; got a {}",
                PARAM_FIELDS.join(", "),
                other.type_str()
            )),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParamSpec {
    value: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    vary: Option<bool>,
    expr: Option<String>,
}

/// One dataset of a fit: a measured I(V) of one magnetic state.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSpec {
    /// Magnetic state (`P` or `AP`).
    pub state: String,
    /// The data file (resolved relative to the fit file).
    pub path: PathBuf,
    /// Bias column and unit.
    pub x: AxisSpec,
    /// Current column and unit.
    pub y: AxisSpec,
    /// Uniform 1σ uncertainty of the current, nA (`None`: unweighted or per point).
    pub sigma_na: Option<f64>,
    /// A column of per-point 1σ uncertainties of the current (and its unit).
    pub sigma: Option<AxisSpec>,
    /// Only points with bias in this range (mV) are fitted.
    pub window_mv: (f64, f64),
}

/// The model a fit file names.
#[derive(Debug, Clone)]
pub enum FitEngine {
    /// Paper 1's spin engine (a run file with `[spin_engine]`), fitted with the coherent engine.
    SpinEngine {
        /// The parsed run file.
        run: Box<CoherentRun>,
        /// Its spin-engine parametrisation.
        spec: SpinEngineSpec,
    },
    /// Interacting dots (a run file with `[dots]`), fitted with the steady-state master equation.
    Dots(Box<DotModel>),
    /// A general coherent chain (a run file with `[chain]`).
    Chain(Box<ChainSpec>),
    /// A `[dots]` run file the constant-interaction model cannot hold (hopping, exchange,
    /// spinterface leads, per-state levels): the device, solved in steady state by its approach.
    Device {
        /// The device (parameters by [`crate::device::Parametrized`] name).
        device: Box<crate::device::Device>,
        /// Its constant-interaction part (where the shared names are written back).
        model: Box<DotModel>,
        /// The approach of the file's `[dots_run]` (`pauli` when absent).
        approach: crate::engine::ApproachKind,
    },
}

impl FitEngine {
    /// Value of a model parameter by name (`None`: not a model parameter).
    pub fn get(&self, name: &str) -> Option<f64> {
        match self {
            FitEngine::SpinEngine { spec, .. } => spec.get(name),
            FitEngine::Dots(m) => crate::fit::dots::get(m, name),
            FitEngine::Chain(c) => c.get(name),
            FitEngine::Device { device, .. } => {
                crate::device::Parametrized::parameter(device.as_ref(), name)
            }
        }
    }

    /// The magnetic states a dataset may name.
    pub fn states(&self) -> Vec<String> {
        match self {
            FitEngine::Chain(c) => c.states.iter().map(|s| s.name.clone()).collect(),
            FitEngine::Device { device, .. } => {
                device.states.iter().map(|s| s.name.clone()).collect()
            }
            _ => vec!["P".into(), "AP".into()],
        }
    }

    /// All model parameter names.
    pub fn names(&self) -> Vec<String> {
        match self {
            FitEngine::SpinEngine { .. } => {
                SpinEngineSpec::KEYS.iter().map(|k| k.to_string()).collect()
            }
            FitEngine::Dots(m) => crate::fit::dots::parameter_names(m),
            FitEngine::Chain(c) => c.names(),
            FitEngine::Device { device, .. } => {
                crate::device::Parametrized::parameter_names(device.as_ref())
            }
        }
    }
}

/// A validated fit file.
#[derive(Debug, Clone)]
pub struct FitSpec {
    /// The model's run file (resolved relative to the fit file).
    pub model_path: PathBuf,
    /// Its text (the best-fit config is written from it).
    pub model_text: String,
    /// The model being fitted.
    pub engine: FitEngine,
    /// Output folder requested by the file.
    pub output: Option<String>,
    /// The parameters (model keys and helper parameters).
    pub params: Parameters,
    /// The datasets (measured curves; may be empty when features are given).
    pub data: Vec<DataSpec>,
    /// Target features (`[[feature]]`), fitted besides or instead of curves.
    pub features: Vec<crate::fit::features::Feature>,
    /// Minimiser settings.
    pub options: FitOptions,
    /// Energy-integration settings used during the fit.
    pub integration: Integration,
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.parent().unwrap_or(Path::new(".")).join(p)
    }
}

/// Parse and validate a fit file. Paths inside it are relative to the file itself.
pub fn parse_fit(path: &Path, text: &str) -> Result<FitSpec> {
    parse_fit_inner(path, text, None)
}

/// [`parse_fit`] with the model file's text given (a bundled preset, say) instead of read from
/// the path the fit file names; data files are still read from disk.
pub fn parse_fit_with_model(path: &Path, text: &str, model_text: &str) -> Result<FitSpec> {
    parse_fit_inner(path, text, Some(model_text))
}

fn parse_fit_inner(path: &Path, text: &str, given_model: Option<&str>) -> Result<FitSpec> {
    let file = path.display().to_string();
    let raw: RawFit = toml::from_str(text).map_err(|e| parse_error(&file, e))?;
    let cx = Ctx { file: &file, text };

    let model_path = resolve(path, raw.model.get_ref());
    let model_text = match given_model {
        Some(t) => t.to_string(),
        None => std::fs::read_to_string(&model_path).or_else(|e| {
            cx.err(
                raw.model.span(),
                "model",
                format!("cannot read the model file {}: {e}", model_path.display()),
            )
        })?,
    };
    let model_name = model_path.display().to_string();
    let (engine, base_integration) = if super::is_dots_file(&model_text) {
        // The constant-interaction model where it holds the file; the device (many-body
        // approaches) where the file has hopping, exchange, spinterfaces or per-state levels.
        let (device, m, run) = crate::master::spec::load_device(&model_name, &model_text)
            .map_err(|e| e.in_file(&model_name))?;
        let terms_needed =
            device.is_many_body() || device.states.iter().any(|s| !s.energy_overrides.is_empty());
        if terms_needed {
            let approach = run.map(|r| r.approach).unwrap_or_default();
            (
                FitEngine::Device {
                    device: Box::new(device),
                    model: Box::new(m),
                    approach,
                },
                Integration::default(),
            )
        } else {
            (FitEngine::Dots(Box::new(m)), Integration::default())
        }
    } else {
        let run = parse_coherent_run(&model_name, &model_text)?;
        let integration = run.integration;
        match run.spin_engine {
            Some(spec) => (
                FitEngine::SpinEngine {
                    run: Box::new(run),
                    spec,
                },
                integration,
            ),
            None => (
                FitEngine::Chain(Box::new(ChainSpec::from_run(&run))),
                integration,
            ),
        }
    };

    let o = raw.fit.as_ref();
    let d = FitOptions::default();
    let options = FitOptions {
        starts: match o.and_then(|o| o.starts.as_ref()) {
            Some(s) => count(&cx, s, "fit.starts", 1)?,
            None => 1,
        },
        seed: o.and_then(|o| o.seed).unwrap_or(0),
        max_evaluations: match o.and_then(|o| o.max_evaluations.as_ref()) {
            Some(s) => count(&cx, s, "fit.max_evaluations", 10)?,
            None => d.max_evaluations,
        },
        time_budget_s: match o.and_then(|o| o.time_budget_s.clone()) {
            Some(t) => Some(cx.range(
                &t,
                "fit.time_budget_s",
                1e-3,
                1e7,
                "0.001 <= time_budget_s <= 1e7 (seconds)",
            )?),
            None => None,
        },
        tolerance: cx.opt_range(
            &o.and_then(|o| o.tolerance.clone()),
            "fit.tolerance",
            d.tolerance,
            1e-15,
            0.1,
            "1e-15 <= tolerance <= 0.1",
        )?,
        scale_covariance: o.and_then(|o| o.scale_covariance).unwrap_or(true),
        step: d.step,
        jacobian: match o.and_then(|o| o.jacobian.as_ref()) {
            Some(j) => crate::fit::JacobianMethod::parse(j.get_ref()).map_or_else(
                || {
                    cx.err(
                        j.span(),
                        "fit.jacobian",
                        format!(
                            "`{}` is not a Jacobian method; allowed: {}",
                            j.get_ref(),
                            crate::fit::JacobianMethod::NAMES
                                .map(|n| format!("\"{n}\""))
                                .join(", ")
                        ),
                    )
                },
                Ok,
            )?,
            None => d.jacobian,
        },
    };
    let integration = Integration {
        rel_tol: cx.opt_range(
            &o.and_then(|o| o.rel_tol.clone()),
            "fit.rel_tol",
            1e-8,
            1e-14,
            1e-3,
            "1e-14 <= rel_tol <= 1e-3",
        )?,
        ..base_integration
    };

    let raw_data: &[RawData] = raw.data.as_ref().map_or(&[], |d| d.get_ref().as_slice());
    let raw_features: &[Spanned<RawFeature>] = raw.feature.as_deref().unwrap_or(&[]);
    if raw_data.is_empty() && raw_features.is_empty() {
        return cx.err(
            raw.data.as_ref().map_or(0..0, |d| d.span()),
            "data",
            "list at least one [[data]] set (a measured curve) or [[feature]] (a target feature)",
        );
    }
    let features = raw_features
        .iter()
        .enumerate()
        .map(|(i, f)| parse_feature(&cx, i, f, &engine.states()))
        .collect::<Result<Vec<_>>>()?;
    let mut data = Vec::new();
    for (i, r) in raw_data.iter().enumerate() {
        let key = |k: &str| format!("data[{i}].{k}");
        let state = r.state.get_ref().clone();
        let allowed = engine.states();
        if !allowed.contains(&state) {
            return cx.err(
                r.state.span(),
                &key("state"),
                format!("state \"{state}\" is not one of the model's states; allowed: {allowed:?}"),
            );
        }
        let column = |c: &Option<Spanned<RawColumn>>, k: &str| -> Result<Option<ColumnSel>> {
            match c {
                None => Ok(None),
                Some(c) => match c.get_ref() {
                    RawColumn::Index(n) if *n >= 0 => Ok(Some(ColumnSel::Index(*n as usize))),
                    RawColumn::Index(n) => {
                        cx.err(c.span(), &key(k), format!("column index {n} must be >= 0"))
                    }
                    RawColumn::Name(s) => Ok(Some(ColumnSel::Name(s.clone()))),
                },
            }
        };
        let unit = |u: &Option<Spanned<String>>, k: &str| -> Result<Option<Unit>> {
            match u {
                None => Ok(None),
                Some(u) => u
                    .get_ref()
                    .parse::<Unit>()
                    .map(Some)
                    .or_else(|m| cx.err(u.span(), &key(k), m)),
            }
        };
        let sigma_na = match &r.sigma_nA {
            Some(s) => Some(cx.range(
                s,
                &key("sigma_nA"),
                f64::MIN_POSITIVE,
                1e9,
                "an uncertainty > 0 nA",
            )?),
            None => None,
        };
        if r.sigma.is_some() && r.sigma_nA.is_some() {
            return cx.err(
                r.sigma_nA.as_ref().map_or(0..0, |x| x.span()),
                &key("sigma_nA"),
                "give sigma_nA (uniform) or sigma (a column), not both",
            );
        }
        let sigma = match &r.sigma {
            Some(_) => Some(AxisSpec {
                column: column(&r.sigma, "sigma")?,
                unit: unit(&r.sigma_unit, "sigma_unit")?,
            }),
            None => None,
        };
        data.push(DataSpec {
            state,
            path: resolve(path, r.file.get_ref()),
            x: AxisSpec {
                column: column(&r.x, "x")?,
                unit: unit(&r.x_unit, "x_unit")?,
            },
            y: AxisSpec {
                column: column(&r.y, "y")?,
                unit: unit(&r.y_unit, "y_unit")?,
            },
            sigma_na,
            sigma,
            window_mv: (
                r.bias_min_mV.unwrap_or(f64::NEG_INFINITY),
                r.bias_max_mV.unwrap_or(f64::INFINITY),
            ),
        });
    }

    // Parameters: model keys start from the model's values; helper parameters need a value or expr.
    let mut params = Vec::new();
    for (name, p) in raw.parameters.get_ref() {
        let model_value = engine.get(name);
        let key = format!("parameters.\"{name}\"");
        let (value, min, max, vary, expr) = match p.get_ref() {
            RawParam::Value(v) => (Some(*v), None, None, true, None),
            RawParam::Spec(s) => (
                s.value,
                s.min,
                s.max,
                s.vary.unwrap_or(true),
                s.expr.clone(),
            ),
        };
        let expr = match expr {
            Some(e) => Some(
                Expr::parse(&e)
                    .or_else(|pe| cx.err(p.span(), &key, format!("expression \"{e}\": {pe}")))?,
            ),
            None => None,
        };
        let value = match (value, model_value, &expr) {
            (Some(v), _, _) => v,
            (None, Some(v), _) => v,
            (None, None, Some(_)) => 0.0,
            (None, None, None) => {
                let known = engine.names().join(", ");
                return cx.err(p.span(), &key, format!("`{name}` is not a model parameter, so it needs a `value` (or an `expr`); model parameters are: {known}"));
            }
        };
        let mut param = Param::new(name.clone(), value).bounds(
            min.unwrap_or(f64::NEG_INFINITY),
            max.unwrap_or(f64::INFINITY),
        );
        param.vary = vary;
        if let Some(e) = expr {
            param = param.tied(e);
        }
        params.push(param);
    }
    // A parameter that is not the model's changes the fit only through the expressions that use
    // it: one that none uses is a misspelt model parameter (or a leftover), not a free helper.
    let used: std::collections::BTreeSet<String> = params
        .iter()
        .filter_map(|p: &Param| p.expr.as_ref())
        .flat_map(|e| e.variables())
        .collect();
    let mut unused = None;
    for (name, p) in raw.parameters.get_ref() {
        if engine.get(name).is_none() && !used.contains(name) && unused.is_none() {
            let names = engine.names();
            let detail = match crate::device::unknown_parameter(name, &names) {
                Error::Invalid { message, .. } => message,
                e => e.to_string(),
            };
            unused = Some(cx.error(
                p.span(),
                &format!("parameters.\"{name}\""),
                format!(
                    "{detail}; a helper parameter that is not the model's must be used by another \
                     parameter's `expr`"
                ),
            ));
        }
    }
    // (An expression's own errors, e.g. a misspelt name inside it, come first.)
    let params = Parameters::new(params).map_err(|e| Error::Config {
        location: cx.loc(raw.parameters.span()),
        key: "parameters".into(),
        message: e.to_string(),
    })?;
    if let Some(e) = unused {
        return Err(e);
    }
    Ok(FitSpec {
        model_path,
        model_text,
        engine,
        output: raw.output,
        params,
        data,
        features,
        options,
        integration,
    })
}

/// One `[[feature]]` table: the keys its `kind` needs, no others, states the model has.
fn parse_feature(
    cx: &Ctx,
    i: usize,
    f: &Spanned<RawFeature>,
    allowed_states: &[String],
) -> Result<crate::fit::features::Feature> {
    use crate::fit::features::Feature;
    let r = f.get_ref();
    let key = |k: &str| format!("feature[{i}].{k}");
    let kind = r.kind.get_ref().as_str();
    const KINDS: &str = "current, zero_current, tmr, tmr_peak";
    let needs: &[&str] = match kind {
        "current" => &["state", "bias_mV", "value_nA", "sigma_nA"],
        "zero_current" => &["state", "window_mV", "value_mV", "sigma_mV"],
        "tmr" => &["bias_mV", "value_percent", "sigma_percent"],
        "tmr_peak" => &["window_mV"],
        _ => {
            return cx.err(
                r.kind.span(),
                &key("kind"),
                format!("unknown feature kind \"{kind}\"; allowed: {KINDS}"),
            )
        }
    };
    let optional: &[&str] = match kind {
        "tmr" => &["states"],
        "tmr_peak" => &[
            "states",
            "bias_mV",
            "sigma_mV",
            "value_percent",
            "sigma_percent",
            "width_mV",
            "sigma_width_mV",
        ],
        _ => &[],
    };
    let present: [(&str, Option<std::ops::Range<usize>>); 12] = [
        ("state", r.state.as_ref().map(|v| v.span())),
        ("states", r.states.as_ref().map(|v| v.span())),
        ("bias_mV", r.bias_mV.as_ref().map(|v| v.span())),
        ("value_nA", r.value_nA.as_ref().map(|v| v.span())),
        ("sigma_nA", r.sigma_nA.as_ref().map(|v| v.span())),
        ("value_mV", r.value_mV.as_ref().map(|v| v.span())),
        ("sigma_mV", r.sigma_mV.as_ref().map(|v| v.span())),
        ("value_percent", r.value_percent.as_ref().map(|v| v.span())),
        ("sigma_percent", r.sigma_percent.as_ref().map(|v| v.span())),
        ("window_mV", r.window_mV.as_ref().map(|v| v.span())),
        ("width_mV", r.width_mV.as_ref().map(|v| v.span())),
        (
            "sigma_width_mV",
            r.sigma_width_mV.as_ref().map(|v| v.span()),
        ),
    ];
    for (name, span) in &present {
        match span {
            Some(sp) if !needs.contains(name) && !optional.contains(name) => {
                let mut all: Vec<&str> = needs.to_vec();
                all.extend_from_slice(optional);
                return cx.err(
                    sp.clone(),
                    &key(name),
                    format!(
                        "`{name}` does not apply to a `{kind}` feature; its keys: {}",
                        all.join(", ")
                    ),
                );
            }
            None if needs.contains(name) => {
                return cx.err(
                    f.span(),
                    &key(name),
                    format!(
                        "a `{kind}` feature needs `{name}` (all its keys: {})",
                        needs.join(", ")
                    ),
                );
            }
            _ => {}
        }
    }
    let num = |v: &Option<Spanned<f64>>, k: &str| -> Result<f64> {
        let v = v.as_ref().expect("checked above");
        cx.num(v, &key(k), -1e12, 1e12)
    };
    let sigma = |v: &Option<Spanned<f64>>, k: &str, unit: &str| -> Result<f64> {
        let v = v.as_ref().expect("checked above");
        let x = *v.get_ref();
        if x.is_finite() && x > 0.0 {
            Ok(x)
        } else {
            cx.err(
                v.span(),
                &key(k),
                format!("an uncertainty must be > 0 {unit}, got {x}"),
            )
        }
    };
    let state_ok = |s: &str, span: std::ops::Range<usize>, k: &str| -> Result<String> {
        if allowed_states.iter().any(|a| a == s) {
            Ok(s.to_string())
        } else {
            cx.err(
                span,
                &key(k),
                format!(
                    "state \"{s}\" is not one of the model's states; allowed: {allowed_states:?}"
                ),
            )
        }
    };
    let state = |_: ()| -> Result<String> {
        let s = r.state.as_ref().expect("checked above");
        state_ok(s.get_ref(), s.span(), "state")
    };
    let pair = |_: ()| -> Result<(String, String)> {
        match &r.states {
            None => Ok((
                state_ok("P", f.span(), "states")?,
                state_ok("AP", f.span(), "states")?,
            )),
            Some(s) if s.get_ref().len() == 2 => Ok((
                state_ok(&s.get_ref()[0], s.span(), "states")?,
                state_ok(&s.get_ref()[1], s.span(), "states")?,
            )),
            Some(s) => cx.err(
                s.span(),
                &key("states"),
                "give two states: [parallel, antiparallel] (TMR = (I_P − I_AP)/I_AP)",
            ),
        }
    };
    let window = |_: ()| -> Result<(f64, f64)> {
        let w = r.window_mV.as_ref().expect("checked above");
        match w.get_ref().as_slice() {
            [a, b] if a.is_finite() && b.is_finite() && a < b => Ok((*a, *b)),
            _ => cx.err(
                w.span(),
                &key("window_mV"),
                "give [from, to] in mV with from < to",
            ),
        }
    };
    let both = |v: &Option<Spanned<f64>>,
                vk: &str,
                s: &Option<Spanned<f64>>,
                sk: &str,
                unit: &str|
     -> Result<Option<(f64, f64)>> {
        match (v, s) {
            (None, None) => Ok(None),
            (Some(_), Some(_)) => Ok(Some((num(v, vk)?, sigma(s, sk, unit)?))),
            (Some(x), None) => cx.err(
                x.span(),
                &key(sk),
                format!("`{vk}` needs its uncertainty `{sk}`"),
            ),
            (None, Some(x)) => cx.err(
                x.span(),
                &key(vk),
                format!("`{sk}` is the uncertainty of `{vk}`, which is missing"),
            ),
        }
    };
    let feature = match kind {
        "current" => Feature::Current {
            state: state(())?,
            bias_mv: num(&r.bias_mV, "bias_mV")?,
            value_na: num(&r.value_nA, "value_nA")?,
            sigma_na: sigma(&r.sigma_nA, "sigma_nA", "nA")?,
        },
        "zero_current" => Feature::ZeroCurrent {
            state: state(())?,
            window_mv: window(())?,
            value_mv: num(&r.value_mV, "value_mV")?,
            sigma_mv: sigma(&r.sigma_mV, "sigma_mV", "mV")?,
        },
        "tmr" => {
            let (p, ap) = pair(())?;
            Feature::Tmr {
                p,
                ap,
                bias_mv: num(&r.bias_mV, "bias_mV")?,
                value_percent: num(&r.value_percent, "value_percent")?,
                sigma_percent: sigma(&r.sigma_percent, "sigma_percent", "%")?,
            }
        }
        _ => {
            let (p, ap) = pair(())?;
            let bias = both(&r.bias_mV, "bias_mV", &r.sigma_mV, "sigma_mV", "mV")?;
            let height = both(
                &r.value_percent,
                "value_percent",
                &r.sigma_percent,
                "sigma_percent",
                "%",
            )?;
            let width = both(
                &r.width_mV,
                "width_mV",
                &r.sigma_width_mV,
                "sigma_width_mV",
                "mV",
            )?;
            if bias.is_none() && height.is_none() && width.is_none() {
                return cx.err(f.span(), &key("bias_mV"), "a `tmr_peak` feature needs bias_mV + sigma_mV (its position), value_percent + sigma_percent (its height) and/or width_mV + sigma_width_mV (its FWHM)");
            }
            Feature::TmrPeak {
                p,
                ap,
                window_mv: window(())?,
                bias,
                height,
                width,
            }
        }
    };
    feature
        .validate()
        .map_err(|e| cx.error(f.span(), &key("kind"), e.to_string()))?;
    Ok(feature)
}
