//! Run files (TOML) → validated model and run settings.
//!
//! This is the only layer that knows TOML. Every error names the file, the line and column, the
//! key, and what is allowed. The schema is documented key by key in `docs/config.md`.
//!
//! A run file describes a coherent chain either in general form (`[chain]` with `[[chain.sites]]`,
//! `[chain.leads.left|right]` and `[[states]]`) or with paper 1's parametrisation
//! (`[spin_engine]`), which expands into the general form. `[run]` sets the bias grid, the
//! integration tolerance and optional spectra.

use crate::error::{Error, Result};
use crate::model::{default_lever_arms, Axis, Chain, Lead, MagneticState, Site};
use crate::negf::{ExchangeLink, Integration, SelfConsistency};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

pub mod fit;
pub mod protocol;

pub use crate::protocol::schedule::MAX_POINTS;

// ---------------------------------------------------------------------------------------------
// Raw schema (serde). Field names are the TOML keys.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawFile {
    title: Option<String>,
    output: Option<String>,
    chain: Option<RawChain>,
    spin_engine: Option<RawSpinEngine>,
    states: Option<Vec<RawState>>,
    run: Option<RawRun>,
    protocol: Option<protocol::RawProtocol>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawChain {
    temperature_K: Option<Spanned<f64>>,
    hoppings_meV: Spanned<Vec<f64>>,
    sites: Spanned<Vec<RawSite>>,
    leads: RawLeads,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawSite {
    name: Option<String>,
    energy_meV: Spanned<f64>,
    splitting_meV: Option<Spanned<f64>>,
    axis: Option<Spanned<RawAxis>>,
    lever_arm: Option<Spanned<f64>>,
    exchange: Option<Spanned<Vec<RawExchange>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawExchange {
    from: String,
    coupling_meV: Spanned<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawSelfConsistency {
    tolerance_meV: Option<Spanned<f64>>,
    max_iterations: Option<Spanned<i64>>,
    mixing: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawAxis {
    Named(String),
    Vector(Vec<f64>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLeads {
    left: RawLead,
    right: RawLead,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawLead {
    site: Option<Spanned<i64>>,
    width_meV: Spanned<f64>,
    polarization: Option<Spanned<f64>>,
    spin_accumulation_meV: Option<Spanned<f64>>,
    temperature_K: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawState {
    name: Spanned<String>,
    angle_deg: Spanned<f64>,
    energies_meV: Option<BTreeMap<Spanned<String>, Spanned<f64>>>,
    splittings_meV: Option<BTreeMap<Spanned<String>, Spanned<f64>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawSpinEngine {
    spin_accumulation_meV: Spanned<f64>,
    spinterface_splitting_meV: Spanned<f64>,
    polarization_left: Spanned<f64>,
    polarization_right: Spanned<f64>,
    accumulation_ratio_right: Spanned<f64>,
    spinterface_energy_meV: Option<Spanned<f64>>,
    width_meV: Option<Spanned<f64>>,
    hoppings_meV: Option<Spanned<Vec<f64>>>,
    temperature_K: Option<Spanned<f64>>,
    lever_arms: Option<Spanned<Vec<f64>>>,
    dimer_exchange_meV: Option<Spanned<f64>>,
    P: RawDimer,
    AP: RawDimer,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawDimer {
    dimer_energy_meV: Spanned<f64>,
    dimer_asymmetry_meV: Spanned<f64>,
    dimer_splitting_meV: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    states: Option<Spanned<Vec<String>>>,
    bias: Option<RawBias>,
    integration: Option<RawIntegration>,
    spectra: Option<RawSpectra>,
    self_consistency: Option<RawSelfConsistency>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawBias {
    from_mV: Option<Spanned<f64>>,
    to_mV: Option<Spanned<f64>>,
    points: Option<Spanned<i64>>,
    step_mV: Option<Spanned<f64>>,
    values_mV: Option<Spanned<Vec<f64>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawIntegration {
    method: Option<Spanned<String>>,
    rel_tol: Option<Spanned<f64>>,
    abs_tol_nA: Option<Spanned<f64>>,
    max_intervals: Option<Spanned<i64>>,
    window_kT: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawSpectra {
    bias_mV: Spanned<Vec<f64>>,
    energy_from_meV: Option<Spanned<f64>>,
    energy_to_meV: Option<Spanned<f64>>,
    points: Option<Spanned<i64>>,
    dos: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Validated run description.

/// Transmission / density-of-states output requested by a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectra {
    /// Biases at which spectra are computed, mV.
    pub bias_mv: Vec<f64>,
    /// Energy grid, meV.
    pub energies_mev: Vec<f64>,
    /// Whether to write the site-resolved density of states too.
    pub dos: bool,
}

/// A validated coherent-chain run: the device, its magnetic states and what to compute.
#[derive(Debug, Clone, PartialEq)]
pub struct CoherentRun {
    /// Free-text title.
    pub title: Option<String>,
    /// Output folder requested by the file (relative to the working directory).
    pub output: Option<String>,
    /// The device.
    pub chain: Chain,
    /// Magnetic states to run, in order.
    pub states: Vec<MagneticState>,
    /// Bias grid, mV, ascending.
    pub bias_mv: Vec<f64>,
    /// Energy-integration settings.
    pub integration: Integration,
    /// Optional spectra.
    pub spectra: Option<Spectra>,
    /// Paper 1's parametrisation, when the file used `[spin_engine]` (fits address its values).
    pub spin_engine: Option<SpinEngineSpec>,
    /// A lab protocol to run instead of the plain bias sweep (`[protocol]`).
    pub protocol: Option<protocol::ProtocolSpec>,
    /// Exchange links between sites (self-consistent, bias-dependent splittings); empty: none.
    pub exchange: Vec<ExchangeLink>,
    /// Settings of the self-consistent exchange loop.
    pub self_consistency: SelfConsistency,
}

impl CoherentRun {
    /// The run's device (chain, states, exchange links) in the one device description.
    pub fn device(&self) -> crate::device::Device {
        crate::device::Device::from_chain(
            &self.chain,
            self.states.clone(),
            self.exchange.clone(),
            self.self_consistency,
        )
    }
}

/// Locates byte offsets of a file's text as `file:line:column`.
pub(crate) struct Ctx<'a> {
    pub(crate) file: &'a str,
    pub(crate) text: &'a str,
}

impl Ctx<'_> {
    pub(crate) fn loc(&self, span: std::ops::Range<usize>) -> String {
        let upto = &self.text[..span.start.min(self.text.len())];
        let line = upto.matches('\n').count() + 1;
        let col = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("{}:{}:{}", self.file, line, col)
    }

    pub(crate) fn err<T>(
        &self,
        span: std::ops::Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) -> Result<T> {
        Err(self.error(span, key, message))
    }

    /// The error at `span` for `key` (file:line:column, key, message).
    pub(crate) fn error(
        &self,
        span: std::ops::Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) -> Error {
        Error::Config {
            location: self.loc(span),
            key: key.into(),
            message: message.into(),
        }
    }

    /// A finite number within [lo, hi] (inclusive), with the range in the message.
    pub(crate) fn num(&self, v: &Spanned<f64>, key: &str, lo: f64, hi: f64) -> Result<f64> {
        let x = *v.get_ref();
        if x.is_finite() && x >= lo && x <= hi {
            Ok(x)
        } else {
            self.err(
                v.span(),
                key,
                format!("value {x} is outside the allowed range [{lo}, {hi}]"),
            )
        }
    }

    /// [`Ctx::num`] for an optional key with a default.
    pub(crate) fn opt(
        &self,
        v: &Option<Spanned<f64>>,
        key: &str,
        lo: f64,
        hi: f64,
        default: f64,
    ) -> Result<f64> {
        match v {
            Some(s) => self.num(s, key, lo, hi),
            None => Ok(default),
        }
    }

    /// A finite number within [lo, hi] (inclusive); `allowed` describes the range for the message.
    pub(crate) fn range(
        &self,
        v: &Spanned<f64>,
        key: &str,
        lo: f64,
        hi: f64,
        allowed: &str,
    ) -> Result<f64> {
        let x = *v.get_ref();
        if x.is_finite() && x >= lo && x <= hi {
            Ok(x)
        } else {
            self.err(
                v.span(),
                key,
                format!("value {x} is out of range; allowed: {allowed}"),
            )
        }
    }

    pub(crate) fn finite(&self, v: &Spanned<f64>, key: &str, unit: &str) -> Result<f64> {
        // Bounded well beyond any physical value so that squares and sums stay finite.
        self.range(
            v,
            key,
            -crate::model::MAX_MAGNITUDE,
            crate::model::MAX_MAGNITUDE,
            &format!("a number with |x| <= 1e6 ({unit})"),
        )
    }

    pub(crate) fn opt_range(
        &self,
        v: &Option<Spanned<f64>>,
        key: &str,
        default: f64,
        lo: f64,
        hi: f64,
        allowed: &str,
    ) -> Result<f64> {
        match v {
            Some(v) => self.range(v, key, lo, hi, allowed),
            None => Ok(default),
        }
    }
}

pub(crate) fn parse_error(file: &str, e: toml::de::Error) -> Error {
    Error::Parse {
        file: file.into(),
        message: e.to_string().trim_end().to_string(),
    }
}

/// Does this TOML text describe an interacting-dot run (a top-level `[dots]` table)?
pub fn is_dots_file(text: &str) -> bool {
    text.parse::<toml::Table>()
        .map(|t| t.contains_key("dots"))
        .unwrap_or(false)
}

/// Parse and validate a coherent-chain run file. `file` is the name used in error messages.
pub fn parse_coherent_run(file: &str, text: &str) -> Result<CoherentRun> {
    coherent_run(file, text).map_err(|e| e.in_file(file))
}

fn coherent_run(file: &str, text: &str) -> Result<CoherentRun> {
    let raw: RawFile = toml::from_str(text).map_err(|e| parse_error(file, e))?;
    let cx = Ctx { file, text };
    let mut spin_engine = None;
    let exchange;
    let (chain, states) = match (&raw.chain, &raw.spin_engine) {
        (Some(_), Some(_)) => {
            return Err(Error::Config {
                location: file.into(),
                key: "chain / spin_engine".into(),
                message: "give either [chain] (general form) or [spin_engine] (paper 1's parameters), not both".into(),
            })
        }
        (None, None) => {
            return Err(Error::Config {
                location: file.into(),
                key: "chain".into(),
                message: "missing device: add a [chain] table (general form) or a [spin_engine] table".into(),
            })
        }
        (Some(c), None) => {
            let chain = build_chain(&cx, c)?;
            exchange = build_exchange(&cx, c)?;
            let states = match &raw.states {
                Some(s) => build_states(&cx, &chain, s)?,
                None => vec![MagneticState::parallel(), MagneticState::antiparallel()],
            };
            (chain, states)
        }
        (None, Some(se)) => {
            if raw.states.is_some() {
                return Err(Error::Config {
                    location: file.into(),
                    key: "states".into(),
                    message: "[[states]] goes with [chain]; [spin_engine] defines its P and AP states in [spin_engine.P] and [spin_engine.AP]".into(),
                });
            }
            let (chain, states, spec) = build_spin_engine(&cx, se)?;
            exchange = spec.exchange_links();
            spin_engine = Some(spec);
            (chain, states)
        }
    };
    let default_run = RawRun {
        states: None,
        bias: None,
        integration: None,
        spectra: None,
        self_consistency: None,
    };
    let run = raw.run.as_ref().unwrap_or(&default_run);
    let states = select_states(&cx, states, run)?;
    let bias_mv = build_bias(&cx, run.bias.as_ref())?;
    let integration = build_integration(&cx, run.integration.as_ref())?;
    let spectra = run
        .spectra
        .as_ref()
        .map(|s| build_spectra(&cx, s))
        .transpose()?;
    let state_names: Vec<String> = states.iter().map(|s| s.name.clone()).collect();
    let protocol = raw
        .protocol
        .as_ref()
        .map(|p| protocol::build_protocol(&cx, p, &state_names))
        .transpose()?;
    let self_consistency = build_self_consistency(&cx, run.self_consistency.as_ref())?;
    Ok(CoherentRun {
        exchange,
        self_consistency,
        protocol,
        spin_engine,
        title: raw.title,
        output: raw.output,
        chain,
        states,
        bias_mv,
        integration,
        spectra,
    })
}

fn build_axis(cx: &Ctx, a: &Spanned<RawAxis>, key: &str) -> Result<Axis> {
    match a.get_ref() {
        RawAxis::Named(s) => match s.as_str() {
            "left" => Ok(Axis::Left),
            "right" => Ok(Axis::Right),
            "x" => Ok(Axis::Fixed([1.0, 0.0, 0.0])),
            "y" => Ok(Axis::Fixed([0.0, 1.0, 0.0])),
            "z" => Ok(Axis::Fixed([0.0, 0.0, 1.0])),
            other => cx.err(a.span(), key, format!("unknown axis \"{other}\"; allowed: \"left\", \"right\", \"x\", \"y\", \"z\" or a vector [x, y, z]")),
        },
        RawAxis::Vector(v) => {
            let ok = v.len() == 3 && v.iter().all(|x| x.is_finite()) && v.iter().any(|x| *x != 0.0);
            if ok {
                Ok(Axis::Fixed([v[0], v[1], v[2]]))
            } else {
                cx.err(a.span(), key, "an axis vector needs 3 finite components, not all zero")
            }
        }
    }
}

fn build_lead(
    cx: &Ctx,
    l: &RawLead,
    name: &str,
    default_site: usize,
    n_sites: usize,
    default_t: f64,
) -> Result<Lead> {
    let key = |k: &str| format!("chain.leads.{name}.{k}");
    let site = match &l.site {
        Some(s) => {
            let i = *s.get_ref();
            if i < 0 || i as usize >= n_sites {
                return cx.err(
                    s.span(),
                    &key("site"),
                    format!(
                        "site {i} does not exist; the chain has sites 0..={}",
                        n_sites - 1
                    ),
                );
            }
            i as usize
        }
        None => default_site,
    };
    Ok(Lead {
        site,
        width: cx.range(
            &l.width_meV,
            &key("width_meV"),
            f64::MIN_POSITIVE,
            1e6,
            "a width > 0 meV",
        )?,
        polarization: cx.opt_range(
            &l.polarization,
            &key("polarization"),
            0.0,
            -1.0,
            1.0,
            "-1 <= p <= 1",
        )?,
        spin_accumulation: match &l.spin_accumulation_meV {
            Some(v) => cx.finite(v, &key("spin_accumulation_meV"), "meV")?,
            None => 0.0,
        },
        temperature: cx.opt_range(
            &l.temperature_K,
            &key("temperature_K"),
            default_t,
            0.0,
            1e5,
            "0 K <= T <= 1e5 K",
        )?,
    })
}

fn build_exchange(cx: &Ctx, c: &RawChain) -> Result<Vec<ExchangeLink>> {
    let sites = c.sites.get_ref();
    let name_of = |i: usize, s: &RawSite| s.name.clone().unwrap_or_else(|| format!("site{i}"));
    let mut links = Vec::new();
    for (i, s) in sites.iter().enumerate() {
        for e in s.exchange.iter().flat_map(|x| x.get_ref().iter()) {
            let key = format!("chain.sites[{i}].exchange");
            let from = (0..sites.len()).find(|&k| name_of(k, &sites[k]) == e.from);
            let Some(from) = from else {
                let names: Vec<String> = sites
                    .iter()
                    .enumerate()
                    .map(|(k, s)| name_of(k, s))
                    .collect();
                return cx.err(
                    s.exchange.as_ref().map_or(0..0, |x| x.span()),
                    &key,
                    format!("no site named \"{}\"; sites are {names:?}", e.from),
                );
            };
            if from == i {
                return cx.err(
                    s.exchange.as_ref().map_or(0..0, |x| x.span()),
                    &key,
                    "a site cannot take its exchange field from itself",
                );
            }
            let j = cx.finite(
                &e.coupling_meV,
                &format!("{key}.coupling_meV"),
                "meV per unit spin polarisation",
            )?;
            links.push(ExchangeLink {
                site: i,
                from,
                coupling_mev: j,
            });
        }
    }
    Ok(links)
}

fn build_self_consistency(cx: &Ctx, r: Option<&RawSelfConsistency>) -> Result<SelfConsistency> {
    let d = SelfConsistency::default();
    let Some(r) = r else {
        return Ok(d);
    };
    Ok(SelfConsistency {
        tolerance_mev: cx.opt_range(
            &r.tolerance_meV,
            "run.self_consistency.tolerance_meV",
            d.tolerance_mev,
            1e-14,
            1.0,
            "1e-14 <= tolerance_meV <= 1",
        )?,
        max_iterations: match &r.max_iterations {
            Some(m) => count(cx, m, "run.self_consistency.max_iterations", 1)?,
            None => d.max_iterations,
        },
        mixing: cx.opt_range(
            &r.mixing,
            "run.self_consistency.mixing",
            d.mixing,
            1e-3,
            1.0,
            "0.001 <= mixing <= 1",
        )?,
    })
}

fn build_chain(cx: &Ctx, c: &RawChain) -> Result<Chain> {
    let sites_raw = c.sites.get_ref();
    if sites_raw.is_empty() {
        return cx.err(
            c.sites.span(),
            "chain.sites",
            "the chain needs at least one site",
        );
    }
    let n = sites_raw.len();
    let default_t = cx.opt_range(
        &c.temperature_K,
        "chain.temperature_K",
        295.0,
        0.0,
        1e5,
        "0 K <= T <= 1e5 K",
    )?;
    let alphas = default_lever_arms(n);
    let mut sites = Vec::with_capacity(n);
    for (i, s) in sites_raw.iter().enumerate() {
        let key = |k: &str| format!("chain.sites[{i}].{k}");
        let name = s.name.clone().unwrap_or_else(|| format!("site{i}"));
        if sites.iter().any(|x: &Site| x.name == name) {
            return cx.err(
                s.energy_meV.span(),
                &key("name"),
                format!("duplicate site name \"{name}\""),
            );
        }
        sites.push(Site {
            name,
            energy: cx.finite(&s.energy_meV, &key("energy_meV"), "meV")?,
            splitting: match &s.splitting_meV {
                Some(v) => cx.finite(v, &key("splitting_meV"), "meV")?,
                None => 0.0,
            },
            axis: match &s.axis {
                Some(a) => build_axis(cx, a, &key("axis"))?,
                None => Axis::Left,
            },
            lever_arm: cx.opt_range(
                &s.lever_arm,
                &key("lever_arm"),
                alphas[i],
                -1.0,
                1.0,
                "-1 <= lever_arm <= 1 (fraction of the bias)",
            )?,
        });
    }
    let hops = c.hoppings_meV.get_ref();
    if hops.len() + 1 != n {
        return cx.err(
            c.hoppings_meV.span(),
            "chain.hoppings_meV",
            format!("{n} sites need {} hoppings, got {}", n - 1, hops.len()),
        );
    }
    if let Some(h) = hops.iter().find(|h| !h.is_finite()) {
        return cx.err(
            c.hoppings_meV.span(),
            "chain.hoppings_meV",
            format!("hopping {h} is not a finite number (meV)"),
        );
    }
    let left = build_lead(cx, &c.leads.left, "left", 0, n, default_t)?;
    let right = build_lead(cx, &c.leads.right, "right", n - 1, n, default_t)?;
    if left.site > right.site {
        let span = c.leads.left.site.as_ref().map_or(0..0, |s| s.span());
        return cx.err(
            span,
            "chain.leads.left.site",
            format!(
                "the left lead (site {}) must not sit to the right of the right lead (site {})",
                left.site, right.site
            ),
        );
    }
    Chain::new(sites, hops.clone(), left, right)
}

fn build_states(cx: &Ctx, chain: &Chain, raw: &[RawState]) -> Result<Vec<MagneticState>> {
    let mut out: Vec<MagneticState> = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        let key = |k: &str| format!("states[{i}].{k}");
        let name = s.name.get_ref().clone();
        if name.is_empty() || out.iter().any(|o| o.name == name) {
            return cx.err(
                s.name.span(),
                &key("name"),
                format!("state names must be unique and non-empty, got \"{name}\""),
            );
        }
        let angle_deg = cx.range(
            &s.angle_deg,
            &key("angle_deg"),
            -360.0,
            360.0,
            "-360 <= angle <= 360 degrees",
        )?;
        let site_of = |site: &Spanned<String>, k: &str| {
            chain.site_index(site.get_ref()).map_or_else(
                || {
                    let names: Vec<&str> = chain.sites().iter().map(|s| s.name.as_str()).collect();
                    cx.err(
                        site.span(),
                        &key(k),
                        format!("no site named \"{}\"; sites are {names:?}", site.get_ref()),
                    )
                },
                Ok,
            )
        };
        let mut energy_overrides = Vec::new();
        for (site, e) in s.energies_meV.iter().flatten() {
            let idx = site_of(site, "energies_meV")?;
            energy_overrides.push((
                idx,
                cx.finite(e, &key(&format!("energies_meV.{}", site.get_ref())), "meV")?,
            ));
        }
        let mut splitting_overrides = Vec::new();
        for (site, d) in s.splittings_meV.iter().flatten() {
            let idx = site_of(site, "splittings_meV")?;
            splitting_overrides.push((
                idx,
                cx.finite(
                    d,
                    &key(&format!("splittings_meV.{}", site.get_ref())),
                    "meV",
                )?,
            ));
        }
        out.push(MagneticState {
            name,
            angle_deg,
            energy_overrides,
            splitting_overrides,
        });
    }
    if out.is_empty() {
        return Err(Error::Config {
            location: cx.file.into(),
            key: "states".into(),
            message: "at least one [[states]] entry is needed".into(),
        });
    }
    Ok(out)
}

fn build_spin_engine(
    cx: &Ctx,
    se: &RawSpinEngine,
) -> Result<(Chain, Vec<MagneticState>, SpinEngineSpec)> {
    let k = |s: &str| format!("spin_engine.{s}");
    let sp = cx.finite(
        &se.spin_accumulation_meV,
        &k("spin_accumulation_meV"),
        "meV",
    )?;
    let split = cx.finite(
        &se.spinterface_splitting_meV,
        &k("spinterface_splitting_meV"),
        "meV",
    )?;
    let pl = cx.range(
        &se.polarization_left,
        &k("polarization_left"),
        -1.0,
        1.0,
        "-1 <= p <= 1",
    )?;
    let pr = cx.range(
        &se.polarization_right,
        &k("polarization_right"),
        -1.0,
        1.0,
        "-1 <= p <= 1",
    )?;
    let ratio = cx.finite(
        &se.accumulation_ratio_right,
        &k("accumulation_ratio_right"),
        "dimensionless",
    )?;
    let e_sp = match &se.spinterface_energy_meV {
        Some(v) => cx.finite(v, &k("spinterface_energy_meV"), "meV")?,
        None => 0.0,
    };
    let width = cx.opt_range(
        &se.width_meV,
        &k("width_meV"),
        10.0,
        f64::MIN_POSITIVE,
        1e6,
        "a width > 0 meV",
    )?;
    let temp = cx.opt_range(
        &se.temperature_K,
        &k("temperature_K"),
        295.0,
        0.0,
        1e5,
        "0 K <= T <= 1e5 K",
    )?;
    let hops = match &se.hoppings_meV {
        Some(h) => {
            if h.get_ref().len() != 3 || h.get_ref().iter().any(|x| !x.is_finite()) {
                return cx.err(
                    h.span(),
                    &k("hoppings_meV"),
                    "exactly 3 finite hoppings (SP1–PM1, PM1–PM2, PM2–SP2), meV",
                );
            }
            h.get_ref().clone()
        }
        None => vec![1.0, 1.0, 1.0],
    };
    let alphas = match &se.lever_arms {
        Some(a) => {
            if a.get_ref().len() != 4
                || a.get_ref()
                    .iter()
                    .any(|x| !(x.is_finite() && x.abs() <= 1.0))
            {
                return cx.err(
                    a.span(),
                    &k("lever_arms"),
                    "exactly 4 lever arms in [-1, 1] (SP1, PM1, PM2, SP2)",
                );
            }
            a.get_ref().clone()
        }
        None => default_lever_arms(4),
    };
    let dimer = |d: &RawDimer, state: &str| -> Result<(f64, f64, f64)> {
        Ok((
            cx.finite(
                &d.dimer_energy_meV,
                &k(&format!("{state}.dimer_energy_meV")),
                "meV",
            )?,
            cx.finite(
                &d.dimer_asymmetry_meV,
                &k(&format!("{state}.dimer_asymmetry_meV")),
                "meV",
            )?,
            match &d.dimer_splitting_meV {
                Some(v) => cx.finite(v, &k(&format!("{state}.dimer_splitting_meV")), "meV")?,
                None => 0.0,
            },
        ))
    };
    let (e0_p, asym_p, dz_p) = dimer(&se.P, "P")?;
    let (e0_ap, asym_ap, dz_ap) = dimer(&se.AP, "AP")?;
    let spec = SpinEngineSpec {
        outer: SpinEngineParams {
            spin_accumulation: sp,
            spinterface_splitting: split,
            polarization_left: pl,
            polarization_right: pr,
            accumulation_ratio_right: ratio,
            spinterface_energy: e_sp,
            width,
            hoppings: [hops[0], hops[1], hops[2]],
            temperature: temp,
            lever_arms: [alphas[0], alphas[1], alphas[2], alphas[3]],
            dimer_energy: e0_p,
            dimer_asymmetry: asym_p,
        },
        p: Dimer {
            energy: e0_p,
            asymmetry: asym_p,
            splitting: dz_p,
        },
        ap: Dimer {
            energy: e0_ap,
            asymmetry: asym_ap,
            splitting: dz_ap,
        },
        dimer_exchange: match &se.dimer_exchange_meV {
            Some(v) => cx.finite(
                v,
                &k("dimer_exchange_meV"),
                "meV per unit spin polarisation",
            )?,
            None => 0.0,
        },
    };
    let (chain, states) = spec.build()?;
    Ok((chain, states, spec))
}

/// The paramagnetic dimer of one magnetic state (paper 1's e0, ASYM) plus an optional spin splitting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dimer {
    /// `e0`: level position, meV.
    pub energy: f64,
    /// `ASYM`: level splitting, meV (PM1 at e0 − ASYM/2, PM2 at e0 + ASYM/2).
    pub asymmetry: f64,
    /// Spin splitting of PM1 and PM2 along the left electrode, meV.
    pub splitting: f64,
}

/// Paper 1's device in its own parametrisation: outer parameters shared by P and AP, and the
/// dimer of each state. Fits address its values by the run-file key names ([`SpinEngineSpec::KEYS`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpinEngineSpec {
    /// Electrodes, spinterfaces, hoppings, temperature, lever arms.
    pub outer: SpinEngineParams,
    /// The dimer in the P state.
    pub p: Dimer,
    /// The dimer in the AP state.
    pub ap: Dimer,
    /// Exchange J (meV per unit spin polarisation) of PM1 with SP1 and of PM2 with SP2: the
    /// dimer's splitting follows the spinterfaces' non-equilibrium spin polarisation
    /// self-consistently (0: off).
    pub dimer_exchange: f64,
}

impl SpinEngineSpec {
    /// Parameter names, as the run file's keys (`P.` / `AP.` for the dimer tables, `.k` for array
    /// elements).
    pub const KEYS: [&'static str; 22] = [
        "dimer_exchange_meV",
        "spin_accumulation_meV",
        "spinterface_splitting_meV",
        "polarization_left",
        "polarization_right",
        "accumulation_ratio_right",
        "spinterface_energy_meV",
        "width_meV",
        "hoppings_meV.0",
        "hoppings_meV.1",
        "hoppings_meV.2",
        "temperature_K",
        "lever_arms.0",
        "lever_arms.1",
        "lever_arms.2",
        "lever_arms.3",
        "P.dimer_energy_meV",
        "P.dimer_asymmetry_meV",
        "P.dimer_splitting_meV",
        "AP.dimer_energy_meV",
        "AP.dimer_asymmetry_meV",
        "AP.dimer_splitting_meV",
    ];

    fn slot(&mut self, key: &str) -> Option<&mut f64> {
        let o = &mut self.outer;
        Some(match key {
            "spin_accumulation_meV" => &mut o.spin_accumulation,
            "spinterface_splitting_meV" => &mut o.spinterface_splitting,
            "polarization_left" => &mut o.polarization_left,
            "polarization_right" => &mut o.polarization_right,
            "accumulation_ratio_right" => &mut o.accumulation_ratio_right,
            "spinterface_energy_meV" => &mut o.spinterface_energy,
            "width_meV" => &mut o.width,
            "hoppings_meV.0" => &mut o.hoppings[0],
            "hoppings_meV.1" => &mut o.hoppings[1],
            "hoppings_meV.2" => &mut o.hoppings[2],
            "temperature_K" => &mut o.temperature,
            "lever_arms.0" => &mut o.lever_arms[0],
            "lever_arms.1" => &mut o.lever_arms[1],
            "lever_arms.2" => &mut o.lever_arms[2],
            "lever_arms.3" => &mut o.lever_arms[3],
            "dimer_exchange_meV" => &mut self.dimer_exchange,
            "P.dimer_energy_meV" => &mut self.p.energy,
            "P.dimer_asymmetry_meV" => &mut self.p.asymmetry,
            "P.dimer_splitting_meV" => &mut self.p.splitting,
            "AP.dimer_energy_meV" => &mut self.ap.energy,
            "AP.dimer_asymmetry_meV" => &mut self.ap.asymmetry,
            "AP.dimer_splitting_meV" => &mut self.ap.splitting,
            _ => return None,
        })
    }

    /// Value of a parameter by key.
    pub fn get(&self, key: &str) -> Option<f64> {
        let mut c = *self;
        c.slot(key).map(|v| *v)
    }

    /// Set a parameter by key; false if the key does not exist.
    pub fn set(&mut self, key: &str, value: f64) -> bool {
        match self.slot(key) {
            Some(v) => {
                *v = value;
                true
            }
            None => false,
        }
    }

    /// The exchange links: PM1 (site 1) from SP1 (site 0), PM2 (site 2) from SP2 (site 3).
    pub fn exchange_links(&self) -> Vec<ExchangeLink> {
        if self.dimer_exchange == 0.0 {
            return Vec::new();
        }
        vec![
            ExchangeLink {
                site: 1,
                from: 0,
                coupling_mev: self.dimer_exchange,
            },
            ExchangeLink {
                site: 2,
                from: 3,
                coupling_mev: self.dimer_exchange,
            },
        ]
    }

    /// The chain and its P and AP states.
    pub fn build(&self) -> Result<(Chain, Vec<MagneticState>)> {
        let chain = spin_engine_chain(SpinEngineParams {
            dimer_energy: self.p.energy,
            dimer_asymmetry: self.p.asymmetry,
            ..self.outer
        })?;
        let state = |name: &str, angle: f64, d: &Dimer| MagneticState {
            name: name.into(),
            angle_deg: angle,
            energy_overrides: vec![
                (1, d.energy - 0.5 * d.asymmetry),
                (2, d.energy + 0.5 * d.asymmetry),
            ],
            splitting_overrides: vec![(1, d.splitting), (2, d.splitting)],
        };
        Ok((
            chain,
            vec![state("P", 0.0, &self.p), state("AP", 180.0, &self.ap)],
        ))
    }

    /// The `[spin_engine]` table of a run file with these values.
    pub fn to_toml(&self) -> toml::Table {
        let o = &self.outer;
        let mut t = toml::Table::new();
        let f = |x: f64| toml::Value::Float(x);
        t.insert("spin_accumulation_meV".into(), f(o.spin_accumulation));
        t.insert(
            "spinterface_splitting_meV".into(),
            f(o.spinterface_splitting),
        );
        t.insert("polarization_left".into(), f(o.polarization_left));
        t.insert("polarization_right".into(), f(o.polarization_right));
        t.insert(
            "accumulation_ratio_right".into(),
            f(o.accumulation_ratio_right),
        );
        t.insert("spinterface_energy_meV".into(), f(o.spinterface_energy));
        t.insert("width_meV".into(), f(o.width));
        t.insert(
            "hoppings_meV".into(),
            toml::Value::Array(o.hoppings.iter().map(|x| f(*x)).collect()),
        );
        t.insert("temperature_K".into(), f(o.temperature));
        t.insert(
            "lever_arms".into(),
            toml::Value::Array(o.lever_arms.iter().map(|x| f(*x)).collect()),
        );
        for (name, d) in [("P", &self.p), ("AP", &self.ap)] {
            let mut dt = toml::Table::new();
            dt.insert("dimer_energy_meV".into(), f(d.energy));
            dt.insert("dimer_asymmetry_meV".into(), f(d.asymmetry));
            dt.insert("dimer_splitting_meV".into(), f(d.splitting));
            t.insert(name.into(), toml::Value::Table(dt));
        }
        t
    }
}

/// Paper 1's analytical-model parameters (Methods, Fig. 3), in meV / K.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpinEngineParams {
    /// `sp`: spin accumulation of the left electrode, meV.
    pub spin_accumulation: f64,
    /// `SP`: spin splitting of the spinterfaces, meV.
    pub spinterface_splitting: f64,
    /// `pL`.
    pub polarization_left: f64,
    /// `pR`.
    pub polarization_right: f64,
    /// `AP`: the right electrode's spin accumulation is `sp × AP`.
    pub accumulation_ratio_right: f64,
    /// `E0`: spinterface band centre, meV.
    pub spinterface_energy: f64,
    /// Spinterface band width W (lead coupling), meV.
    pub width: f64,
    /// Hoppings SP1–PM1, PM1–PM2, PM2–SP2, meV.
    pub hoppings: [f64; 3],
    /// Temperature of both electrodes, K.
    pub temperature: f64,
    /// Lever arms of SP1, PM1, PM2, SP2.
    pub lever_arms: [f64; 4],
    /// `e0`: dimer level position, meV.
    pub dimer_energy: f64,
    /// `ASYM`: dimer level splitting, meV (PM1 at e0 − ASYM/2, PM2 at e0 + ASYM/2).
    pub dimer_asymmetry: f64,
}

/// Expand paper 1's parameters into a chain SP1–PM1–PM2–SP2 (see `docs/formalism.md`).
pub fn spin_engine_chain(p: SpinEngineParams) -> Result<Chain> {
    let a = p.lever_arms;
    let site = |name: &str, energy: f64, splitting: f64, axis: Axis, lever_arm: f64| Site {
        name: name.into(),
        energy,
        splitting,
        axis,
        lever_arm,
    };
    Chain::new(
        vec![
            site(
                "SP1",
                p.spinterface_energy,
                p.spinterface_splitting,
                Axis::Left,
                a[0],
            ),
            site(
                "PM1",
                p.dimer_energy - 0.5 * p.dimer_asymmetry,
                0.0,
                Axis::Left,
                a[1],
            ),
            site(
                "PM2",
                p.dimer_energy + 0.5 * p.dimer_asymmetry,
                0.0,
                Axis::Left,
                a[2],
            ),
            site(
                "SP2",
                p.spinterface_energy,
                p.spinterface_splitting,
                Axis::Right,
                a[3],
            ),
        ],
        p.hoppings.to_vec(),
        Lead {
            site: 0,
            width: p.width,
            polarization: p.polarization_left,
            spin_accumulation: p.spin_accumulation,
            temperature: p.temperature,
        },
        Lead {
            site: 3,
            width: p.width,
            polarization: p.polarization_right,
            spin_accumulation: p.spin_accumulation * p.accumulation_ratio_right,
            temperature: p.temperature,
        },
    )
}

fn select_states(cx: &Ctx, states: Vec<MagneticState>, run: &RawRun) -> Result<Vec<MagneticState>> {
    let Some(sel) = &run.states else {
        return Ok(states);
    };
    if sel.get_ref().is_empty() {
        return cx.err(sel.span(), "run.states", "list at least one state");
    }
    let mut out = Vec::new();
    for name in sel.get_ref() {
        match states.iter().find(|s| &s.name == name) {
            Some(s) => out.push(s.clone()),
            None => {
                let names: Vec<&str> = states.iter().map(|s| s.name.as_str()).collect();
                return cx.err(
                    sel.span(),
                    "run.states",
                    format!("no state named \"{name}\"; defined states are {names:?}"),
                );
            }
        }
    }
    Ok(out)
}

pub(crate) fn count(cx: &Ctx, v: &Spanned<i64>, key: &str, min: i64) -> Result<usize> {
    let n = *v.get_ref();
    if n < min || n as usize > MAX_POINTS {
        return cx.err(
            v.span(),
            key,
            format!("value {n} is out of range; allowed: {min} to {MAX_POINTS}"),
        );
    }
    Ok(n as usize)
}

fn build_bias(cx: &Ctx, b: Option<&RawBias>) -> Result<Vec<f64>> {
    let Some(b) = b else {
        return Ok(linspace(-10.0, 10.0, 2001));
    };
    const LIM: f64 = 1e5;
    let allowed = "-1e5 mV <= V <= 1e5 mV";
    if let Some(vals) = &b.values_mV {
        if b.from_mV.is_some() || b.to_mV.is_some() || b.points.is_some() || b.step_mV.is_some() {
            return cx.err(
                vals.span(),
                "run.bias.values_mV",
                "give either values_mV or from_mV/to_mV with points or step_mV, not both",
            );
        }
        let v = vals.get_ref();
        if v.is_empty() {
            return cx.err(
                vals.span(),
                "run.bias.values_mV",
                "the bias grid is empty; list at least one bias in mV",
            );
        }
        if v.len() > MAX_POINTS || v.iter().any(|x| !(x.is_finite() && x.abs() <= LIM)) {
            return cx.err(
                vals.span(),
                "run.bias.values_mV",
                format!("every bias must be finite, {allowed}; at most {MAX_POINTS} values"),
            );
        }
        let mut v = v.clone();
        v.sort_by(f64::total_cmp);
        v.dedup();
        return Ok(v);
    }
    let from = cx.opt_range(&b.from_mV, "run.bias.from_mV", -10.0, -LIM, LIM, allowed)?;
    let to = cx.opt_range(&b.to_mV, "run.bias.to_mV", 10.0, -LIM, LIM, allowed)?;
    if to < from {
        let span = b.to_mV.as_ref().map_or(0..0, |s| s.span());
        return cx.err(
            span,
            "run.bias.to_mV",
            format!("to_mV ({to}) must be >= from_mV ({from}); the bias grid would be empty"),
        );
    }
    match (&b.points, &b.step_mV) {
        (Some(_), Some(s)) => cx.err(
            s.span(),
            "run.bias.step_mV",
            "give points or step_mV, not both",
        ),
        (Some(p), None) => {
            let n = count(cx, p, "run.bias.points", 1)?;
            if n == 1 && to != from {
                return cx.err(
                    p.span(),
                    "run.bias.points",
                    "one point needs from_mV == to_mV; use at least 2 points for a range",
                );
            }
            Ok(linspace(from, to, n))
        }
        (None, Some(s)) => {
            let step = cx.range(
                s,
                "run.bias.step_mV",
                f64::MIN_POSITIVE,
                LIM,
                "a step > 0 mV",
            )?;
            let n = ((to - from) / step + 1e-9).floor() + 1.0;
            if n > MAX_POINTS as f64 {
                return cx.err(
                    s.span(),
                    "run.bias.step_mV",
                    format!("the grid would have {n} points; at most {MAX_POINTS}"),
                );
            }
            Ok((0..n as usize)
                .map(|k| tidy(from + k as f64 * step))
                .collect())
        }
        (None, None) => Ok(linspace(from, to, 2001)),
    }
}

/// `n` evenly spaced values from `a` to `b` inclusive (a single value `a` when n = 1).
pub fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![a],
        _ => (0..n)
            .map(|k| tidy(a + (b - a) * k as f64 / (n - 1) as f64))
            .collect(),
    }
}

/// Round to 1e-9 (of the unit) so that grid values print cleanly (0.52, not 0.5199999999999996).
fn tidy(x: f64) -> f64 {
    let r = (x * 1e9).round() / 1e9;
    if (r - x).abs() <= 1e-9 * (1.0 + x.abs()) {
        r
    } else {
        x
    }
}

fn build_integration(cx: &Ctx, r: Option<&RawIntegration>) -> Result<Integration> {
    let d = Integration::default();
    let Some(r) = r else {
        return Ok(d);
    };
    Ok(Integration {
        rel_tol: cx.opt_range(
            &r.rel_tol,
            "run.integration.rel_tol",
            d.rel_tol,
            1e-14,
            0.1,
            "1e-14 <= rel_tol <= 0.1",
        )?,
        abs_tol_na: cx.opt_range(
            &r.abs_tol_nA,
            "run.integration.abs_tol_nA",
            d.abs_tol_na,
            0.0,
            1e6,
            "0 <= abs_tol_nA <= 1e6 nA",
        )?,
        max_intervals: match &r.max_intervals {
            Some(m) => count(cx, m, "run.integration.max_intervals", 1)?,
            None => d.max_intervals,
        },
        window_kt: cx.opt_range(
            &r.window_kT,
            "run.integration.window_kT",
            d.window_kt,
            5.0,
            200.0,
            "5 <= window_kT <= 200",
        )?,
        closed_form: match &r.method {
            None => false,
            Some(m) => match m.get_ref().as_str() {
                "quadrature" => false,
                "poles" => true,
                other => {
                    return cx.err(
                        m.span(),
                        "run.integration.method",
                        format!("\"{other}\": allowed \"quadrature\" (adaptive Gauss–Kronrod, any device) or \"poles\" (closed-form integrals from the poles of G; collinear wide-band chains, quadrature elsewhere)"),
                    )
                }
            },
        },
    })
}

fn build_spectra(cx: &Ctx, s: &RawSpectra) -> Result<Spectra> {
    let b = s.bias_mV.get_ref();
    if b.is_empty() || b.iter().any(|x| !x.is_finite()) {
        return cx.err(
            s.bias_mV.span(),
            "run.spectra.bias_mV",
            "list at least one finite bias (mV)",
        );
    }
    let from = cx.opt_range(
        &s.energy_from_meV,
        "run.spectra.energy_from_meV",
        -50.0,
        -1e5,
        1e5,
        "-1e5..1e5 meV",
    )?;
    let to = cx.opt_range(
        &s.energy_to_meV,
        "run.spectra.energy_to_meV",
        50.0,
        -1e5,
        1e5,
        "-1e5..1e5 meV",
    )?;
    if to <= from {
        let span = s.energy_to_meV.as_ref().map_or(0..0, |x| x.span());
        return cx.err(
            span,
            "run.spectra.energy_to_meV",
            format!("energy_to_meV ({to}) must be > energy_from_meV ({from})"),
        );
    }
    let n = match &s.points {
        Some(p) => count(cx, p, "run.spectra.points", 2)?,
        None => 2001,
    };
    Ok(Spectra {
        bias_mv: b.clone(),
        energies_mev: linspace(from, to, n),
        dos: s.dos.unwrap_or(false),
    })
}
