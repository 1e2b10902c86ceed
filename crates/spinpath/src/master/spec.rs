//! The `[dots]` (model) and `[dots_run]` (protocol) TOML sections.
//!
//! Every key is documented in `docs/dots.md`. Errors name the file, line, key and allowed range.

use super::model::{Dot, DotModel, ExchangeField, Lead, Magnet, Orbital};
use crate::capacitance;
use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// A whole dots configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DotsFile {
    /// The model.
    pub dots: DotsSection,
    /// The run protocol (optional for library use).
    pub dots_run: Option<RunSpec>,
    /// A lab protocol (`[protocol]`, docs/protocols.md); validated by
    /// [`crate::config::protocol::parse_protocol`].
    pub protocol: Option<toml::Value>,
}

/// `[dots]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DotsSection {
    /// Default lead temperature, K.
    #[serde(rename = "temperature_K")]
    pub temperature_k: Option<Spanned<f64>>,
    /// Induced exchange field: `"none"` (default) or `"konig-martinek"`.
    pub exchange_field: Option<ExchangeField>,
    /// `[[dots.dot]]`.
    pub dot: Vec<DotSpec>,
    /// `[[dots.coupling]]`.
    #[serde(default)]
    pub coupling: Vec<CouplingSpec>,
    /// `[dots.leads]`.
    pub leads: LeadsSpec,
    /// `[dots.electrostatics]`.
    pub electrostatics: Option<ElectrostaticsSpec>,
    /// Half band width D of the leads (meV) for the principal-value terms of 1vN and Redfield;
    /// default [`crate::device::DEFAULT_BAND_MEV`].
    #[serde(rename = "band_meV")]
    pub band_mev: Option<Spanned<f64>>,
}

/// `[[dots.dot]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DotSpec {
    /// Unique name.
    pub name: Spanned<String>,
    /// Intra-dot charging energy U (meV), default 0.
    #[serde(rename = "charging_meV")]
    pub charging_mev: Option<Spanned<f64>>,
    /// Default lever arm of its orbitals.
    pub lever_arm: Option<Spanned<f64>>,
    /// Orbitals.
    pub orbitals: Spanned<Vec<OrbitalSpec>>,
}

/// One orbital.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrbitalSpec {
    /// ε (meV).
    #[serde(rename = "energy_meV")]
    pub energy_mev: Spanned<f64>,
    /// Lever arm α.
    pub lever_arm: Option<Spanned<f64>>,
    /// Zeeman splitting (meV).
    #[serde(rename = "zeeman_meV")]
    pub zeeman_mev: Option<Spanned<f64>>,
    /// Splitting added in P (meV).
    #[serde(rename = "exchange_P_meV")]
    pub exchange_p_mev: Option<Spanned<f64>>,
    /// Splitting added in AP (meV).
    #[serde(rename = "exchange_AP_meV")]
    pub exchange_ap_mev: Option<Spanned<f64>>,
    /// ε in the P state (meV), replacing `energy_meV` there (device path only).
    #[serde(rename = "energy_P_meV")]
    pub energy_p_mev: Option<Spanned<f64>>,
    /// ε in the AP state (meV), replacing `energy_meV` there (device path only).
    #[serde(rename = "energy_AP_meV")]
    pub energy_ap_mev: Option<Spanned<f64>>,
}

/// `[[dots.coupling]]`: capacitive coupling, tunnelling and exchange between two dots.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouplingSpec {
    /// The two dot names.
    pub dots: Spanned<Vec<String>>,
    /// Capacitive energy per electron pair (meV), default 0.
    #[serde(rename = "energy_meV")]
    pub energy_mev: Option<Spanned<f64>>,
    /// Spin-conserving hopping t (meV): one number links orbital k of the first dot to orbital k
    /// of the second (for every k both have); a matrix `[[t_00, t_01, ...], ...]` (rows: the first
    /// dot's orbitals, columns: the second's) gives every pair.
    #[serde(rename = "hopping_meV")]
    pub hopping_mev: Option<Spanned<HoppingSpec>>,
    /// Heisenberg exchange J (meV) between the dots' spins: J·S_1·S_2 (J > 0 antiferromagnetic).
    #[serde(rename = "exchange_J_meV")]
    pub exchange_j_mev: Option<Spanned<f64>>,
    /// Ising exchange J_z (meV): J_z·S^z_1·S^z_2.
    #[serde(rename = "exchange_Jz_meV")]
    pub exchange_jz_mev: Option<Spanned<f64>>,
    /// Dzyaloshinskii–Moriya vector D = [D_x, D_y, D_z] (meV): D·(S_1 × S_2).
    #[serde(rename = "dm_meV")]
    pub dm_mev: Option<Spanned<Vec<f64>>>,
    /// Coupling v (meV) of each dot's spin to the non-interacting path through the two dots'
    /// orbitals: adds the bias-dependent (Fransson) exchange to J, J_z, D_z at each bias
    /// ([`crate::engine::fransson`]); absent or 0: constant exchange only.
    #[serde(rename = "mediated_v_meV")]
    pub mediated_v_mev: Option<Spanned<f64>>,
}

/// `hopping_meV`: one amplitude or an orbital-resolved matrix.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum HoppingSpec {
    /// Orbital k to orbital k.
    Same(f64),
    /// Rows: orbitals of the first dot; columns: orbitals of the second.
    Matrix(Vec<Vec<f64>>),
}

/// `[dots.leads]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadsSpec {
    /// Left electrode.
    pub left: LeadSpec,
    /// Right electrode.
    pub right: LeadSpec,
}

/// Γ for a dot: one value for all its orbitals, or one per orbital.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum GammaSpec {
    /// Same Γ for every orbital.
    Same(f64),
    /// One Γ per orbital.
    PerOrbital(Vec<f64>),
}

/// `[dots.leads.left]` / `[dots.leads.right]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadSpec {
    /// Dot name → Γ (meV); the keys are the dots this lead touches.
    #[serde(rename = "gamma_meV")]
    pub gamma_mev: Spanned<BTreeMap<String, GammaSpec>>,
    /// Polarisation p ∈ [−1, 1], default 0.
    pub polarization: Option<Spanned<f64>>,
    /// Spin accumulation Δμ (meV), default 0.
    #[serde(rename = "spin_accumulation_meV")]
    pub spin_accumulation_mev: Option<Spanned<f64>>,
    /// Temperature (K), default `dots.temperature_K`.
    #[serde(rename = "temperature_K")]
    pub temperature_k: Option<Spanned<f64>>,
    /// `[dots.leads.<side>.spinterface]`: a spin-split spinterface level between the electrode
    /// and the dots (energy-dependent coupling; many-body Pauli only).
    pub spinterface: Option<SpinterfaceSpec>,
}

/// `[dots.leads.<side>.spinterface]` (docs/dots.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpinterfaceSpec {
    /// Centre E0 at V = 0, meV (default 0).
    #[serde(rename = "energy_meV")]
    pub energy_mev: Option<Spanned<f64>>,
    /// Spin splitting SP, meV (majority at +SP/2; default 0).
    #[serde(rename = "splitting_meV")]
    pub splitting_mev: Option<Spanned<f64>>,
    /// Width W, meV (required, > 0).
    #[serde(rename = "width_meV")]
    pub width_mev: Spanned<f64>,
    /// Lever arm (default 0).
    pub lever_arm: Option<Spanned<f64>>,
}

/// `[dots.electrostatics]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElectrostaticsSpec {
    /// Charging energies from the SI Note 5 capacitance model.
    pub from_geometry: Option<Spanned<GeometrySpec>>,
}

/// `[dots.electrostatics.from_geometry]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeometrySpec {
    /// Dot whose charging energy becomes the addition energy U = e²/C(r, d, l, ε) (twice the
    /// paper's E_C = e²/2C; the bias gap is then U/(½ − α)).
    pub transport: String,
    /// Optional gating dot whose coupling to `transport` becomes e²/C_pair = e·Δ_W(r, s, ε).
    pub gate: Option<String>,
    /// Electrode spacing l (nm).
    pub electrode_spacing_nm: f64,
    /// Distance d of the transport sphere from the left electrode (nm).
    pub distance_nm: f64,
    /// Relative permittivity ε.
    pub permittivity: f64,
    /// Sphere radius r (nm).
    pub radius_nm: f64,
    /// Centre distance s between the transport and gating spheres (nm); needed with `gate`.
    pub separation_nm: Option<f64>,
}

/// Solver choice of a run: the dynamics (`steady`, `transient`, `monte-carlo`).
pub type SolverKind = crate::engine::dynamics::DynamicsKind;

/// `[dots_run]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Output folder (relative to the working directory).
    pub output: Option<String>,
    /// Magnetic configurations to run, default `["P", "AP"]`.
    pub states: Option<Vec<Magnet>>,
    /// Approach (how the device is solved), default `pauli`; see [`crate::engine::ApproachKind`].
    pub approach: Option<Spanned<String>>,
    /// Solver (the dynamics over the approach's kernel), default `transient`.
    pub solver: Option<SolverKind>,
    /// Turning points of the bias sweep (mV), at least two.
    #[serde(rename = "sweep_mV")]
    pub sweep_mv: Spanned<Vec<f64>>,
    /// Bias step (mV).
    #[serde(rename = "step_mV")]
    pub step_mv: Spanned<f64>,
    /// Dwell time per bias point (s).
    pub dwell_s: Spanned<f64>,
    /// Name of the gating dot that defines the ON/OFF branch.
    pub gating_dot: Option<Spanned<String>>,
    /// Random seed (Monte Carlo), default 1.
    pub seed: Option<u64>,
    /// Instrument integration time (s) for Monte Carlo, default dwell/100.
    pub integration_time_s: Option<Spanned<f64>>,
    /// Event limit per bias point for Monte Carlo, default 1e8.
    pub max_events_per_point: Option<u64>,
    /// Peak detection threshold: fraction of the largest dI/dV on the branch, default 0.2.
    pub peak_threshold: Option<Spanned<f64>>,
    /// Optional Monte Carlo time traces at fixed biases.
    pub monte_carlo: Option<McSpec>,
}

/// `[dots_run.monte_carlo]`: time traces at fixed biases.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McSpec {
    /// Biases (mV).
    #[serde(rename = "bias_mV")]
    pub bias_mv: Vec<f64>,
    /// Simulated time per bias (s).
    pub duration_s: Spanned<f64>,
    /// Instrument integration time (s).
    pub integration_time_s: Spanned<f64>,
    /// Magnetic configuration, default P.
    pub state: Option<Magnet>,
    /// Events per bias recorded in `kmc_history.csv`, default 0.
    pub history_events: Option<Spanned<f64>>,
}

/// Validated `[dots_run.monte_carlo]`.
#[derive(Debug, Clone, PartialEq)]
pub struct McSettings {
    /// Biases, mV.
    pub bias_mv: Vec<f64>,
    /// Simulated time per bias, s.
    pub duration_s: f64,
    /// Instrument integration time, s.
    pub integration_s: f64,
    /// Configuration.
    pub magnet: Magnet,
    /// Events per bias recorded in the state history.
    pub history_events: usize,
}

/// A validated run protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSettings {
    /// Output folder.
    pub output: Option<String>,
    /// Configurations.
    pub states: Vec<Magnet>,
    /// Approach.
    pub approach: crate::engine::ApproachKind,
    /// Solver (dynamics).
    pub solver: SolverKind,
    /// Turning points (mV).
    pub sweep_mv: Vec<f64>,
    /// Step (mV).
    pub step_mv: f64,
    /// Dwell (s).
    pub dwell_s: f64,
    /// Gating dot index.
    pub gating_dot: Option<usize>,
    /// Seed.
    pub seed: u64,
    /// Integration time (s).
    pub integration_s: f64,
    /// Event bound.
    pub max_events: u64,
    /// Peak threshold.
    pub peak_threshold: f64,
    /// Monte Carlo time traces at fixed biases.
    pub monte_carlo: Option<McSettings>,
}

/// Source text context for error positions: the config layer's one span helper.
use crate::config::Ctx as Src;

/// Parse a dots file (`file` names it in errors).
pub fn parse_file(file: &str, text: &str) -> Result<DotsFile> {
    toml::from_str(text).map_err(|e| Error::Parse {
        file: file.into(),
        message: e.to_string(),
    })
}

/// Build and validate the model from `[dots]`.
pub fn build_model(file: &str, text: &str, s: &DotsSection) -> Result<DotModel> {
    let src = Src { file, text };
    let t_default = src.opt(&s.temperature_k, "dots.temperature_K", 0.0, 1e4, 4.2)?;
    if s.dot.is_empty() {
        return Err(Error::Config {
            location: file.into(),
            key: "dots.dot".into(),
            message: "at least one [[dots.dot]] is needed".into(),
        });
    }
    let mut dots = Vec::new();
    let mut orbitals = Vec::new();
    let mut first_orbital = Vec::new();
    for (d, ds) in s.dot.iter().enumerate() {
        let key = format!("dots.dot[{d}]");
        let name = ds.name.get_ref().clone();
        if name.is_empty() || dots.iter().any(|x: &Dot| x.name == name) {
            return Err(src.error(
                ds.name.span(),
                &format!("{key}.name"),
                format!("dot name `{name}` is empty or used twice"),
            ));
        }
        let charging = src.opt(
            &ds.charging_mev,
            &format!("{key}.charging_meV"),
            0.0,
            1e6,
            0.0,
        )?;
        let lever = src.opt(&ds.lever_arm, &format!("{key}.lever_arm"), -0.5, 0.5, 0.0)?;
        if ds.orbitals.get_ref().is_empty() {
            return Err(src.error(
                ds.orbitals.span(),
                &format!("{key}.orbitals"),
                "at least one orbital is needed",
            ));
        }
        first_orbital.push(orbitals.len());
        for (i, o) in ds.orbitals.get_ref().iter().enumerate() {
            let ok = format!("{key}.orbitals[{i}]");
            orbitals.push(Orbital {
                dot: d,
                energy_mev: src.num(&o.energy_mev, &format!("{ok}.energy_meV"), -1e6, 1e6)?,
                lever_arm: src.opt(&o.lever_arm, &format!("{ok}.lever_arm"), -0.5, 0.5, lever)?,
                zeeman_mev: src.opt(&o.zeeman_mev, &format!("{ok}.zeeman_meV"), -1e4, 1e4, 0.0)?,
                exchange_p_mev: src.opt(
                    &o.exchange_p_mev,
                    &format!("{ok}.exchange_P_meV"),
                    -1e4,
                    1e4,
                    0.0,
                )?,
                exchange_ap_mev: src.opt(
                    &o.exchange_ap_mev,
                    &format!("{ok}.exchange_AP_meV"),
                    -1e4,
                    1e4,
                    0.0,
                )?,
            });
        }
        dots.push(Dot {
            name,
            charging_mev: charging,
        });
    }
    first_orbital.push(orbitals.len());
    if orbitals.len() > super::model::MAX_ORBITALS {
        return Err(Error::Config {
            location: file.into(),
            key: "dots.dot[].orbitals".into(),
            message: format!(
                "{} orbitals in total; allowed 1..={} spinful orbitals ({} many-body states)",
                orbitals.len(),
                super::model::MAX_ORBITALS,
                1usize << (2 * super::model::MAX_ORBITALS)
            ),
        });
    }
    let nd = dots.len();
    let find = |name: &str, span: std::ops::Range<usize>, key: &str| -> Result<usize> {
        dots.iter().position(|d| d.name == name).ok_or_else(|| {
            let names: Vec<&str> = dots.iter().map(|d| d.name.as_str()).collect();
            src.error(
                span,
                key,
                format!("unknown dot `{name}`; defined dots: {}", names.join(", ")),
            )
        })
    };
    let mut inter = vec![vec![0.0; nd]; nd];
    for (c, cs) in s.coupling.iter().enumerate() {
        let key = format!("dots.coupling[{c}]");
        let names = cs.dots.get_ref();
        if names.len() != 2 {
            return Err(src.error(
                cs.dots.span(),
                &format!("{key}.dots"),
                "exactly two dot names are needed",
            ));
        }
        let a = find(&names[0], cs.dots.span(), &format!("{key}.dots"))?;
        let b = find(&names[1], cs.dots.span(), &format!("{key}.dots"))?;
        if a == b {
            return Err(src.error(
                cs.dots.span(),
                &format!("{key}.dots"),
                "the two dots must differ",
            ));
        }
        if let Some(v) = &cs.energy_mev {
            let e = src.num(v, &format!("{key}.energy_meV"), 0.0, 1e6)?;
            inter[a][b] = e;
            inter[b][a] = e;
        }
    }
    let mut leads = Vec::new();
    for (side, ls) in [("left", &s.leads.left), ("right", &s.leads.right)] {
        let key = format!("dots.leads.{side}");
        let mut gamma = vec![0.0; orbitals.len()];
        for (name, g) in ls.gamma_mev.get_ref() {
            let gkey = format!("{key}.gamma_meV.{name}");
            let d = find(name, ls.gamma_mev.span(), &gkey)?;
            let n_orb = first_orbital[d + 1] - first_orbital[d];
            let values = match g {
                GammaSpec::Same(x) => vec![*x; n_orb],
                GammaSpec::PerOrbital(v) => v.clone(),
            };
            if values.len() != n_orb {
                return Err(src.error(
                    ls.gamma_mev.span(),
                    &gkey,
                    format!(
                        "{} values for {n_orb} orbitals of dot `{name}`",
                        values.len()
                    ),
                ));
            }
            for (i, x) in values.into_iter().enumerate() {
                if !(x.is_finite() && (0.0..=1e4).contains(&x)) {
                    return Err(src.error(
                        ls.gamma_mev.span(),
                        &gkey,
                        format!("value {x} is outside the allowed range [0, 10000] meV"),
                    ));
                }
                gamma[first_orbital[d] + i] = x;
            }
        }
        leads.push(Lead {
            gamma_mev: gamma,
            polarization: src.opt(
                &ls.polarization,
                &format!("{key}.polarization"),
                -1.0,
                1.0,
                0.0,
            )?,
            spin_accumulation_mev: src.opt(
                &ls.spin_accumulation_mev,
                &format!("{key}.spin_accumulation_meV"),
                -1e4,
                1e4,
                0.0,
            )?,
            temperature_k: src.opt(
                &ls.temperature_k,
                &format!("{key}.temperature_K"),
                0.0,
                1e4,
                t_default,
            )?,
        });
    }
    let right = leads.pop().expect("two leads");
    let left = leads.pop().expect("two leads");
    // Every dot must touch some lead, otherwise its charge is undefined.
    for (d, dot) in dots.iter().enumerate() {
        let touches = (first_orbital[d]..first_orbital[d + 1])
            .any(|i| left.gamma_mev[i] > 0.0 || right.gamma_mev[i] > 0.0);
        if !touches {
            return Err(Error::Config {
                location: file.into(),
                key: "dots.leads".into(),
                message: format!(
                    "dot `{}` touches no lead with Γ > 0; its charge would never change",
                    dot.name
                ),
            });
        }
    }
    if let Some(geo) = s
        .electrostatics
        .as_ref()
        .and_then(|e| e.from_geometry.as_ref())
    {
        let span = geo.span();
        let g = geo.get_ref();
        let key = "dots.electrostatics.from_geometry";
        let wrap = |e: Error| src.error(span.clone(), key, e.to_string());
        let t = find(&g.transport, span.clone(), &format!("{key}.transport"))?;
        // Constant interaction: the addition energy U = e²/C (not the paper's E_C = e²/2C).
        let addition = capacitance::addition_energy_mev(
            g.radius_nm,
            g.distance_nm,
            g.electrode_spacing_nm,
            g.permittivity,
        )
        .map_err(wrap)?;
        let gate_index = match &g.gate {
            Some(gate) => Some(find(gate, span.clone(), &format!("{key}.gate"))?),
            None => None,
        };
        dots[t].charging_mev = addition;
        if let Some(gi) = gate_index {
            let sep = g.separation_nm.ok_or_else(|| {
                src.error(
                    span.clone(),
                    &format!("{key}.separation_nm"),
                    "needed when `gate` is given (nm, > 2·radius_nm)",
                )
            })?;
            let shift =
                capacitance::writing_shift_mv(g.radius_nm, sep, g.permittivity).map_err(wrap)?;
            inter[t][gi] = shift;
            inter[gi][t] = shift;
        }
    }
    let model = DotModel {
        dots,
        orbitals,
        inter_dot_mev: inter,
        leads: [left, right],
        exchange_field: s.exchange_field.unwrap_or_default(),
    };
    model.validate()?;
    Ok(model)
}

/// Validate `[dots_run]` against the model.
pub fn build_run(file: &str, text: &str, r: &RunSpec, model: &DotModel) -> Result<RunSettings> {
    let src = Src { file, text };
    let sweep = r.sweep_mv.get_ref().clone();
    if sweep.len() < 2 || sweep.iter().any(|v| !v.is_finite() || v.abs() > 1e5) {
        return Err(src.error(
            r.sweep_mv.span(),
            "dots_run.sweep_mV",
            "at least two finite turning points within ±1e5 mV are needed",
        ));
    }
    let step = src.num(&r.step_mv, "dots_run.step_mV", 1e-6, 1e4)?;
    let n_points: f64 = sweep
        .windows(2)
        .map(|w| ((w[1] - w[0]).abs() / step).ceil())
        .sum();
    if n_points > 1e6 {
        return Err(src.error(
            r.step_mv.span(),
            "dots_run.step_mV",
            format!("the sweep would have {n_points} points; allowed at most 1e6"),
        ));
    }
    let dwell = src.num(&r.dwell_s, "dots_run.dwell_s", 0.0, 1e6)?;
    let gating_dot = match &r.gating_dot {
        Some(g) => Some(model.dot_index(g.get_ref()).ok_or_else(|| {
            src.error(
                g.span(),
                "dots_run.gating_dot",
                format!("unknown dot `{}`", g.get_ref()),
            )
        })?),
        None => None,
    };
    let approach = match &r.approach {
        Some(a) => crate::engine::ApproachKind::from_name(a.get_ref()).map_err(|_| {
            src.error(
                a.span(),
                "dots_run.approach",
                format!(
                    "unknown approach `{}`; allowed: {}",
                    a.get_ref(),
                    crate::engine::ApproachKind::names()
                ),
            )
        })?,
        None => crate::engine::ApproachKind::Pauli,
    };
    if approach == crate::engine::ApproachKind::Cotunneling {
        let (tl, tr) = (model.leads[0].temperature_k, model.leads[1].temperature_k);
        if tl != tr {
            return Err(src.error(
                r.approach.as_ref().map_or(0..0, |a| a.span()),
                "dots_run.approach",
                format!("approach \"cotunneling\" needs one lead temperature, but dots.leads.left.temperature_K = {tl} K and dots.leads.right.temperature_K = {tr} K; set them equal or use approach = \"pauli\""),
            ));
        }
    }
    let solver = r.solver.unwrap_or(SolverKind::Transient);
    if approach == crate::engine::ApproachKind::Negf && solver == SolverKind::MonteCarlo {
        return Err(src.error(
            r.approach.as_ref().map_or(0..0, |a| a.span()),
            "dots_run.solver",
            "approach \"negf\" is stationary (coherent): use solver = \"steady\" (or \"transient\"); Monte Carlo needs approach = \"pauli\"",
        ));
    }
    if matches!(
        approach,
        crate::engine::ApproachKind::OneVn | crate::engine::ApproachKind::Redfield
    ) && solver == SolverKind::MonteCarlo
    {
        return Err(src.error(
            r.approach.as_ref().map_or(0..0, |a| a.span()),
            "dots_run.solver",
            format!("approach \"{}\" evolves a density matrix with coherences, not classical jumps: use solver = \"steady\" or \"transient\"; Monte Carlo needs approach = \"pauli\"", approach.name()),
        ));
    }
    if solver == SolverKind::Transient && model.n_states() > super::transient::MAX_TRANSIENT_STATES
    {
        return Err(Error::Config {
            location: file.into(),
            key: "dots_run.solver".into(),
            message: format!(
                "the transient solver handles up to {} many-body states; this model has {}",
                super::transient::MAX_TRANSIENT_STATES,
                model.n_states()
            ),
        });
    }
    let integration_s = src.opt(
        &r.integration_time_s,
        "dots_run.integration_time_s",
        1e-18,
        dwell.max(1e-18),
        dwell / 100.0,
    )?;
    if solver == SolverKind::MonteCarlo && !(integration_s > 0.0 && dwell >= integration_s) {
        return Err(src.error(
            r.dwell_s.span(),
            "dots_run.dwell_s",
            "Monte Carlo needs dwell_s >= integration_time_s > 0",
        ));
    }
    let monte_carlo = match &r.monte_carlo {
        Some(m) => {
            let dur = src.num(&m.duration_s, "dots_run.monte_carlo.duration_s", 1e-18, 1e6)?;
            let it = src.num(
                &m.integration_time_s,
                "dots_run.monte_carlo.integration_time_s",
                1e-18,
                dur,
            )?;
            if m.bias_mv.is_empty() || m.bias_mv.iter().any(|v| !v.is_finite()) {
                return Err(src.error(
                    m.duration_s.span(),
                    "dots_run.monte_carlo.bias_mV",
                    "at least one finite bias is needed",
                ));
            }
            let history = src.opt(
                &m.history_events,
                "dots_run.monte_carlo.history_events",
                0.0,
                1e7,
                0.0,
            )?;
            Some(McSettings {
                bias_mv: m.bias_mv.clone(),
                duration_s: dur,
                integration_s: it,
                magnet: m.state.unwrap_or(Magnet::P),
                history_events: history as usize,
            })
        }
        None => None,
    };
    let states = r
        .states
        .clone()
        .unwrap_or_else(|| vec![Magnet::P, Magnet::AP]);
    if states.is_empty() {
        return Err(Error::Config {
            location: file.into(),
            key: "dots_run.states".into(),
            message: "at least one of \"P\", \"AP\" is needed".into(),
        });
    }
    Ok(RunSettings {
        output: r.output.clone(),
        states,
        approach,
        solver,
        sweep_mv: sweep,
        step_mv: step,
        dwell_s: dwell,
        gating_dot,
        seed: r.seed.unwrap_or(1),
        integration_s,
        max_events: r.max_events_per_point.unwrap_or(100_000_000),
        peak_threshold: src.opt(&r.peak_threshold, "dots_run.peak_threshold", 1e-6, 1.0, 0.2)?,
        monte_carlo,
    })
}

/// The many-body terms of `[dots]`: hoppings and exchanges between orbitals, and the band width.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ManyBodyTerms {
    /// Spin-conserving hoppings.
    pub hoppings: Vec<crate::device::Hopping>,
    /// Exchange couplings.
    pub exchanges: Vec<crate::device::Exchange>,
    /// Half band width, meV (`None`: the default).
    pub band_mev: Option<f64>,
    /// Spinterfaces of the left and right leads.
    pub spinterfaces: [Option<crate::master::Spinterface>; 2],
    /// Per-state orbital energies (orbital, ε in P, ε in AP), meV (`energy_P_meV`/`energy_AP_meV`).
    pub state_energies: Vec<(usize, Option<f64>, Option<f64>)>,
    /// Exchange couplings mediated by the path through their orbitals (`mediated_v_meV` ≠ 0),
    /// one per orbital pair of the coupled dots.
    pub mediated: Vec<crate::engine::fransson::MediatedExchange>,
}

impl ManyBodyTerms {
    /// True when the file has hopping, exchange or a spinterface lead (solved in the many-body
    /// eigenbasis).
    pub fn is_many_body(&self) -> bool {
        !self.hoppings.is_empty()
            || !self.exchanges.is_empty()
            || !self.mediated.is_empty()
            || self.spinterfaces.iter().any(Option::is_some)
    }

    /// True when the file needs the device path (`load_device`): many-body terms or per-state
    /// orbital energies, which the constant-interaction model cannot hold.
    pub fn needs_device(&self) -> bool {
        self.is_many_body() || !self.state_energies.is_empty()
    }
}

/// Read the hopping/exchange keys of `[[dots.coupling]]` and `band_meV` (errors name file, line,
/// key and range).
pub fn build_terms(
    file: &str,
    text: &str,
    s: &DotsSection,
    model: &DotModel,
) -> Result<ManyBodyTerms> {
    use crate::device::{Exchange, Hopping};
    let src = Src { file, text };
    let orbitals_of = |d: usize| -> Vec<usize> {
        (0..model.orbitals.len())
            .filter(|&i| model.orbitals[i].dot == d)
            .collect()
    };
    let mut terms = ManyBodyTerms::default();
    if let Some(b) = &s.band_mev {
        terms.band_mev = Some(src.num(b, "dots.band_meV", 1e-3, 1e9)?);
        if *b.get_ref() <= 0.0 {
            return Err(src.error(b.span(), "dots.band_meV", "must be > 0 meV"));
        }
    }
    let mut orb = 0;
    for (d, ds) in s.dot.iter().enumerate() {
        for (k, o) in ds.orbitals.get_ref().iter().enumerate() {
            let okey = format!("dots.dot[{d}].orbitals[{k}]");
            let ep = o
                .energy_p_mev
                .as_ref()
                .map(|v| src.num(v, &format!("{okey}.energy_P_meV"), -1e6, 1e6))
                .transpose()?;
            let ea = o
                .energy_ap_mev
                .as_ref()
                .map(|v| src.num(v, &format!("{okey}.energy_AP_meV"), -1e6, 1e6))
                .transpose()?;
            if ep.is_some() || ea.is_some() {
                terms.state_energies.push((orb, ep, ea));
            }
            orb += 1;
        }
    }
    for (r, (side, ls)) in [("left", &s.leads.left), ("right", &s.leads.right)]
        .into_iter()
        .enumerate()
    {
        let Some(si) = &ls.spinterface else { continue };
        let key = format!("dots.leads.{side}.spinterface");
        let width = src.num(&si.width_mev, &format!("{key}.width_meV"), 1e-6, 1e4)?;
        terms.spinterfaces[r] = Some(crate::master::Spinterface {
            energy_mev: src.opt(&si.energy_mev, &format!("{key}.energy_meV"), -1e4, 1e4, 0.0)?,
            splitting_mev: src.opt(
                &si.splitting_mev,
                &format!("{key}.splitting_meV"),
                -1e4,
                1e4,
                0.0,
            )?,
            width_mev: width,
            lever_arm: src.opt(&si.lever_arm, &format!("{key}.lever_arm"), -0.5, 0.5, 0.0)?,
        });
    }
    for (c, cs) in s.coupling.iter().enumerate() {
        let key = format!("dots.coupling[{c}]");
        // Names were validated by build_model.
        let names = cs.dots.get_ref();
        let (Some(a), Some(b)) = (model.dot_index(&names[0]), model.dot_index(&names[1])) else {
            continue;
        };
        let (oa, ob) = (orbitals_of(a), orbitals_of(b));
        if let Some(h) = &cs.hopping_mev {
            let hkey = format!("{key}.hopping_meV");
            let check = |t: f64| -> Result<f64> {
                if t.is_finite() && t.abs() <= 1e4 {
                    Ok(t)
                } else {
                    Err(src.error(
                        h.span(),
                        &hkey,
                        format!("value {t} is outside the allowed range [-10000, 10000] meV"),
                    ))
                }
            };
            match h.get_ref() {
                HoppingSpec::Same(t) => {
                    let t = check(*t)?;
                    for (&i, &j) in oa.iter().zip(&ob) {
                        if t != 0.0 {
                            terms.hoppings.push(Hopping {
                                a: i,
                                b: j,
                                t_mev: t,
                            });
                        }
                    }
                }
                HoppingSpec::Matrix(rows) => {
                    if rows.len() != oa.len() || rows.iter().any(|r| r.len() != ob.len()) {
                        return Err(src.error(
                            h.span(),
                            &hkey,
                            format!(
                                "a {}×{} matrix is needed (rows: orbitals of `{}`, columns: orbitals of `{}`)",
                                oa.len(),
                                ob.len(),
                                names[0],
                                names[1]
                            ),
                        ));
                    }
                    for (r, row) in rows.iter().enumerate() {
                        for (q, &t) in row.iter().enumerate() {
                            let t = check(t)?;
                            if t != 0.0 {
                                terms.hoppings.push(Hopping {
                                    a: oa[r],
                                    b: ob[q],
                                    t_mev: t,
                                });
                            }
                        }
                    }
                }
            }
        }
        let j = src.opt(
            &cs.exchange_j_mev,
            &format!("{key}.exchange_J_meV"),
            -1e4,
            1e4,
            0.0,
        )?;
        let jz = src.opt(
            &cs.exchange_jz_mev,
            &format!("{key}.exchange_Jz_meV"),
            -1e4,
            1e4,
            0.0,
        )?;
        let mut dm = [0.0; 3];
        if let Some(d) = &cs.dm_mev {
            let v = d.get_ref();
            if v.len() != 3 || v.iter().any(|x| !x.is_finite() || x.abs() > 1e4) {
                return Err(src.error(
                    d.span(),
                    &format!("{key}.dm_meV"),
                    "three finite components [D_x, D_y, D_z] within ±10000 meV are needed",
                ));
            }
            dm = [v[0], v[1], v[2]];
        }
        let v = src.opt(
            &cs.mediated_v_mev,
            &format!("{key}.mediated_v_meV"),
            -1e4,
            1e4,
            0.0,
        )?;
        if v != 0.0 {
            for &i in &oa {
                for &k in &ob {
                    terms
                        .mediated
                        .push(crate::engine::fransson::MediatedExchange {
                            a: i,
                            b: k,
                            v_mev: v,
                        });
                }
            }
        }
        if j != 0.0 || jz != 0.0 || dm.iter().any(|&x| x != 0.0) {
            for &i in &oa {
                for &k in &ob {
                    terms.exchanges.push(Exchange {
                        a: i,
                        b: k,
                        j_mev: j,
                        jz_mev: jz,
                        dm_mev: dm,
                    });
                }
            }
        }
    }
    Ok(terms)
}

/// Parse a file into a [`crate::device::Device`] with its many-body terms (the mediated exchange
/// couplings `mediated_v_meV` included, in [`crate::device::Device::mediated`]), the
/// constant-interaction model and the run settings.
pub fn load_device(
    file: &str,
    text: &str,
) -> Result<(crate::device::Device, DotModel, Option<RunSettings>)> {
    load_device_parts(file, text)
}

/// As [`load_device`], also returning the mediated exchange couplings (`mediated_v_meV`; the same
/// as the device's [`crate::device::Device::mediated`]).
#[allow(clippy::type_complexity)]
pub fn load_device_mediated(
    file: &str,
    text: &str,
) -> Result<(
    crate::device::Device,
    DotModel,
    Option<RunSettings>,
    Vec<crate::engine::fransson::MediatedExchange>,
)> {
    let (device, model, run) = load_device_parts(file, text)?;
    let mediated = device.mediated.clone();
    Ok((device, model, run, mediated))
}

fn load_device_parts(
    file: &str,
    text: &str,
) -> Result<(crate::device::Device, DotModel, Option<RunSettings>)> {
    let f = parse_file(file, text)?;
    let model = build_model(file, text, &f.dots)?;
    let terms = build_terms(file, text, &f.dots, &model)?;
    let run = match &f.dots_run {
        Some(r) => Some(build_run(file, text, r, &model)?),
        None => None,
    };
    let mut device = crate::device::Device::from_dot_model(&model);
    device.hoppings = terms.hoppings;
    device.exchanges = terms.exchanges;
    if let Some(b) = terms.band_mev {
        device.band_mev = b;
    }
    device.spinterfaces = terms.spinterfaces;
    device.mediated = terms.mediated;
    for &(i, ep, ea) in &terms.state_energies {
        for st in device.states.iter_mut() {
            let e = match st.name.as_str() {
                "P" => ep,
                "AP" => ea,
                _ => None,
            };
            if let Some(e) = e {
                st.energy_overrides.push((i, e));
            }
        }
    }
    Ok((device, model, run))
}

/// Parse a file and build the constant-interaction model (and the run, if `[dots_run]` is
/// present). A file with hopping or exchange between dots is refused (the model cannot hold
/// them): load it with [`load_device`].
pub fn load(file: &str, text: &str) -> Result<(DotModel, Option<RunSettings>)> {
    load_file(file, text).map_err(|e| e.in_file(file))
}

fn load_file(file: &str, text: &str) -> Result<(DotModel, Option<RunSettings>)> {
    let f = parse_file(file, text)?;
    let model = build_model(file, text, &f.dots)?;
    if build_terms(file, text, &f.dots, &model)?.needs_device() {
        return Err(Error::Config {
            location: file.into(),
            key: "dots.coupling".into(),
            message: "this file has hopping or exchange between dots, a spinterface lead or per-state orbital energies (energy_P_meV/energy_AP_meV); it runs as a run file (`spinpath run`, RunFile), not as a constant-interaction dot model".into(),
        });
    }
    let run = match &f.dots_run {
        Some(r) => Some(build_run(file, text, r, &model)?),
        None => None,
    };
    Ok((model, run))
}
