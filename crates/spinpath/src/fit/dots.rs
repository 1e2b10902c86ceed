//! Fitting the interacting-dot model: its parameters by name, a steady-state I(V) model, and the
//! best-fit values written back into a `[dots]` run file.
//!
//! Parameter names (dot names as in the file, orbitals numbered from 0 within their dot):
//! `<dot>.charging_meV`, `<dot>.lever_arm` (all its orbitals), `<dot>.orbital<k>.energy_meV`,
//! `<dot>.orbital<k>.lever_arm`, `<dot>.orbital<k>.zeeman_meV`, `<dot>.orbital<k>.exchange_P_meV`,
//! `<dot>.orbital<k>.exchange_AP_meV`, `coupling.<dotA>.<dotB>_meV`, `left.gamma_meV.<dot>` (all
//! orbitals of the dot), `left.polarization`, `left.spin_accumulation_meV`, `left.temperature_K`
//! (and `right.`), and `temperature_K` (both leads).
//!
//! The model has an analytic Jacobian ([`FitModel::predict_with_jacobian`]) for every parameter
//! above. With the steady state W p = 0, Σ p = 1 (W the rate generator restricted to its closed
//! class), W dp/dθ = −(dW/dθ) p with Σ dp = 0, solved with the GTH elimination the steady state
//! already did (two O(n²) sweeps per parameter and bias point; where the linear-domain
//! elimination cannot resolve the chain, dp/dθ = −M⁻¹ (dW/dθ) p with M = W − s·p·1ᵀ, s > 0 a rate
//! scale, M invertible and M dp = W dp because Σ dp = 0, by a dense LU factorisation); the
//! current I = c·Σ_left dn·W·p gives dI/dθ = c·Σ_left dn·(dW/dθ·p + W·dp/dθ). Each rate is
//! Γ·(1 + σ m p)·f(±(ΔE − μ)/k_BT), differentiated through ΔE (level energies, lever arms,
//! Zeeman/exchange splittings, charging and inter-dot energies), μ (spin accumulation), k_BT
//! (temperatures), Γ and the polarisation. Not available (the fit falls back to finite
//! differences) with an induced exchange field (`exchange_field = "konig-martinek"`, whose
//! level shift depends on Γ, p, T and the level itself) or above 512 many-body states (more than
//! four orbitals, where the steady state is solved iteratively).

use super::params::Parameters;
use super::FitModel;
use crate::error::{Error, Result};
use crate::master::model::E_OVER_HBAR_NA_PER_MEV;
use crate::master::{steady, DotModel, ExchangeField, LeadSide, Magnet, PointResult, RateSet};
use crate::units::{fermi, kt_mev, KB_MEV_PER_K};
use rayon::prelude::*;

/// Every parameter name of `model`.
pub fn parameter_names(model: &DotModel) -> Vec<String> {
    let mut out = Vec::new();
    for (d, dot) in model.dots.iter().enumerate() {
        out.push(format!("{}.charging_meV", dot.name));
        out.push(format!("{}.lever_arm", dot.name));
        for (k, _) in model.orbitals.iter().filter(|o| o.dot == d).enumerate() {
            for f in [
                "energy_meV",
                "lever_arm",
                "zeeman_meV",
                "exchange_P_meV",
                "exchange_AP_meV",
            ] {
                out.push(format!("{}.orbital{k}.{f}", dot.name));
            }
        }
        for other in &model.dots[d + 1..] {
            out.push(format!("coupling.{}.{}_meV", dot.name, other.name));
        }
    }
    for side in ["left", "right"] {
        for dot in &model.dots {
            out.push(format!("{side}.gamma_meV.{}", dot.name));
        }
        for f in ["polarization", "spin_accumulation_meV", "temperature_K"] {
            out.push(format!("{side}.{f}"));
        }
    }
    out.push("temperature_K".into());
    out
}

fn dot_index(model: &DotModel, name: &str) -> Option<usize> {
    model.dots.iter().position(|d| d.name == name)
}

fn orbitals_of(model: &DotModel, d: usize) -> Vec<usize> {
    (0..model.orbitals.len())
        .filter(|&i| model.orbitals[i].dot == d)
        .collect()
}

/// Read (`value = None`) or write a parameter; `None` if the name does not exist.
fn access(model: &mut DotModel, key: &str, value: Option<f64>) -> Option<f64> {
    let put = |slot: &mut f64| {
        if let Some(v) = value {
            *slot = v;
        }
        *slot
    };
    if key == "temperature_K" {
        let t = model.leads[0].temperature_k;
        if let Some(v) = value {
            model.leads[0].temperature_k = v;
            model.leads[1].temperature_k = v;
        }
        return Some(value.unwrap_or(t));
    }
    if let Some(rest) = key.strip_prefix("coupling.") {
        let rest = rest.strip_suffix("_meV")?;
        let (a, b) = rest.split_once('.')?;
        let (i, j) = (dot_index(model, a)?, dot_index(model, b)?);
        if i == j {
            return None;
        }
        let old = model.inter_dot_mev[i][j];
        if let Some(v) = value {
            model.inter_dot_mev[i][j] = v;
            model.inter_dot_mev[j][i] = v;
        }
        return Some(value.unwrap_or(old));
    }
    for (side, r) in [("left.", 0), ("right.", 1)] {
        if let Some(rest) = key.strip_prefix(side) {
            if let Some(dot) = rest.strip_prefix("gamma_meV.") {
                let d = dot_index(model, dot)?;
                let orbs = orbitals_of(model, d);
                let lead = &mut model.leads[r];
                let old = orbs.first().map(|&i| lead.gamma_mev[i])?;
                if let Some(v) = value {
                    for &i in &orbs {
                        lead.gamma_mev[i] = v;
                    }
                }
                return Some(value.unwrap_or(old));
            }
            let lead = &mut model.leads[r];
            return match rest {
                "polarization" => Some(put(&mut lead.polarization)),
                "spin_accumulation_meV" => Some(put(&mut lead.spin_accumulation_mev)),
                "temperature_K" => Some(put(&mut lead.temperature_k)),
                _ => None,
            };
        }
    }
    let (dot, rest) = key.split_once('.')?;
    let d = dot_index(model, dot)?;
    match rest {
        "charging_meV" => return Some(put(&mut model.dots[d].charging_mev)),
        "lever_arm" => {
            let orbs = orbitals_of(model, d);
            let old = model.orbitals[*orbs.first()?].lever_arm;
            if let Some(v) = value {
                for &i in &orbs {
                    model.orbitals[i].lever_arm = v;
                }
            }
            return Some(value.unwrap_or(old));
        }
        _ => {}
    }
    let (orb, field) = rest.split_once('.')?;
    let k: usize = orb.strip_prefix("orbital")?.parse().ok()?;
    let i = *orbitals_of(model, d).get(k)?;
    let o = &mut model.orbitals[i];
    match field {
        "energy_meV" => Some(put(&mut o.energy_mev)),
        "lever_arm" => Some(put(&mut o.lever_arm)),
        "zeeman_meV" => Some(put(&mut o.zeeman_mev)),
        "exchange_P_meV" => Some(put(&mut o.exchange_p_mev)),
        "exchange_AP_meV" => Some(put(&mut o.exchange_ap_mev)),
        _ => None,
    }
}

/// Value of a parameter by name.
pub fn get(model: &DotModel, key: &str) -> Option<f64> {
    access(&mut model.clone(), key, None)
}

/// Set a parameter by name; false if the name does not exist.
pub fn set(model: &mut DotModel, key: &str, value: f64) -> bool {
    access(model, key, Some(value)).is_some()
}

/// The dot model fitted to steady-state I(V) curves: each dataset is one magnetic state (`P` or
/// `AP`), x = bias (mV), y = current (nA). Names missing from the parameters keep the base value.
#[derive(Debug, Clone)]
pub struct DotsModel {
    base: DotModel,
    slots: Vec<(String, usize)>,
    states: Vec<Magnet>,
}

impl DotsModel {
    /// Bind the model to a parameter set and to datasets named by state.
    pub fn new(base: DotModel, params: &Parameters, dataset_states: &[&str]) -> Result<Self> {
        let names = parameter_names(&base);
        let slots = names
            .into_iter()
            .filter_map(|n| params.index(&n).map(|i| (n, i)))
            .collect();
        let states = dataset_states
            .iter()
            .map(|s| match *s {
                "P" => Ok(Magnet::P),
                "AP" => Ok(Magnet::AP),
                other => Err(Error::invalid(
                    "fit data",
                    format!("state `{other}`: use \"P\" or \"AP\""),
                )),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(DotsModel {
            base,
            slots,
            states,
        })
    }

    /// The model with the given parameter values applied and validated.
    pub fn model(&self, values: &[f64]) -> Result<DotModel> {
        let m = self.apply(values);
        m.validate()?;
        Ok(m)
    }

    /// The model with the given values applied, in the order of [`parameter_names`] (a later name
    /// overrides an earlier one that sets the same quantity), not validated.
    fn apply(&self, values: &[f64]) -> DotModel {
        let mut m = self.base.clone();
        for (name, i) in &self.slots {
            set(&mut m, name, values[*i]);
        }
        m
    }

    /// Whether the analytic Jacobian applies to this model (see the module documentation).
    fn analytic(&self) -> bool {
        self.base.exchange_field == ExchangeField::None
            && self.base.n_states() <= steady::SteadyOptions::default().dense_limit
    }

    /// d(model quantities)/d values[w] in configuration `magnet`. Every model quantity a parameter
    /// sets is that parameter's value (or unaffected by it), so the derivative is the difference
    /// of the models built with values[w] = 1 and values[w] = 0, exact, and overrides between
    /// names (`temperature_K` over `left.temperature_K`, an orbital's lever arm over its dot's)
    /// are those of [`DotsModel::model`].
    fn tangent(&self, values: &[f64], w: usize, magnet: Magnet) -> Tangent {
        let mut v = values.to_vec();
        v[w] = 1.0;
        let one = self.apply(&v);
        v[w] = 0.0;
        let zero = self.apply(&v);
        let nso = one.n_spin_orbitals();
        let mut t = Tangent {
            eps: vec![0.0; nso],
            eps_per_mv: vec![0.0; nso],
            charging: one
                .dots
                .iter()
                .zip(&zero.dots)
                .map(|(a, b)| a.charging_mev - b.charging_mev)
                .collect(),
            inter: one
                .inter_dot_mev
                .iter()
                .zip(&zero.inter_dot_mev)
                .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x - y).collect())
                .collect(),
            gamma: [Vec::new(), Vec::new()],
            polarization: [0.0; 2],
            accumulation: [0.0; 2],
            kt: [0.0; 2],
        };
        for k in 0..nso {
            let (a, b) = (&one.orbitals[k / 2], &zero.orbitals[k / 2]);
            let sigma = if k % 2 == 0 { 1.0 } else { -1.0 };
            let exch = match magnet {
                Magnet::P => a.exchange_p_mev - b.exchange_p_mev,
                Magnet::AP => a.exchange_ap_mev - b.exchange_ap_mev,
            };
            t.eps[k] =
                a.energy_mev - b.energy_mev - sigma * 0.5 * (a.zeeman_mev - b.zeeman_mev + exch);
            t.eps_per_mv[k] = a.lever_arm - b.lever_arm;
        }
        for r in 0..2 {
            let (a, b) = (&one.leads[r], &zero.leads[r]);
            t.gamma[r] = a
                .gamma_mev
                .iter()
                .zip(&b.gamma_mev)
                .map(|(x, y)| x - y)
                .collect();
            t.polarization[r] = a.polarization - b.polarization;
            t.accumulation[r] = a.spin_accumulation_mev - b.spin_accumulation_mev;
            t.kt[r] = KB_MEV_PER_K * (a.temperature_k - b.temperature_k);
        }
        t
    }
}

/// Derivatives of the model's quantities with respect to one parameter value (per unit of it).
#[derive(Debug, Clone)]
struct Tangent {
    /// d ε_k / dθ at zero bias, per spin-orbital (meV per unit).
    eps: Vec<f64>,
    /// d ε_k / dθ per mV of bias (the lever-arm part).
    eps_per_mv: Vec<f64>,
    /// d U_d / dθ per dot.
    charging: Vec<f64>,
    /// d U_dd' / dθ.
    inter: Vec<Vec<f64>>,
    /// d Γ_{r,i} / dθ per lead and orbital.
    gamma: [Vec<f64>; 2],
    /// d p_r / dθ.
    polarization: [f64; 2],
    /// d Δμ_r / dθ.
    accumulation: [f64; 2],
    /// d k_BT_r / dθ (meV per unit).
    kt: [f64; 2],
}

/// One single-electron transition with what its derivatives need.
struct Jump {
    from: usize,
    to: usize,
    /// Lead 0/1.
    lead: usize,
    /// Spin-orbital.
    k: usize,
    /// Electrons on the other spin-orbitals of k's dot.
    n_other_same: u32,
    /// +1 in, −1 out.
    dn: f64,
    /// Rate, meV.
    rate: f64,
    /// Γ_{r,i} (bare coupling, meV).
    gamma: f64,
    /// σ·m_r.
    sm: f64,
    /// The Fermi factor.
    fermi: f64,
    /// d rate / d ΔE (= −d rate / d μ).
    d_de: f64,
    /// d rate / d k_BT.
    d_kt: f64,
}

/// Current (nA) at bias `bias_mv` and its derivatives along `tangents`.
fn point_with_jacobian(
    m: &DotModel,
    bias_mv: f64,
    magnet: Magnet,
    tangents: &[Tangent],
) -> Result<(f64, Vec<f64>)> {
    point_with_jacobian_by(m, bias_mv, magnet, tangents, false)
}

/// [`point_with_jacobian`]; `force_lu`: use the dense LU of M even where the GTH factors exist
/// (for tests of the fallback).
fn point_with_jacobian_by(
    m: &DotModel,
    bias_mv: f64,
    magnet: Magnet,
    tangents: &[Tangent],
    force_lu: bool,
) -> Result<(f64, Vec<f64>)> {
    let rates = RateSet::build(m, bias_mv, magnet);
    // The GTH elimination gives the steady state (as `predict` gets it) and factors reused for
    // every derivative; where the linear domain cannot resolve the chain (rates below 1e-250),
    // the log-domain steady state and a dense LU of M instead.
    let (p, class, factors) = match steady::gth_factors(&rates) {
        Ok((p, class, a)) => (p, class, Some(a)),
        Err(_) => (
            steady::solve(&rates, &steady::SteadyOptions::default())?,
            steady::closed_class(&rates)?,
            None,
        ),
    };
    let current = PointResult::from_probabilities(&rates, p.clone()).current_na;
    if tangents.is_empty() {
        return Ok((current, Vec::new()));
    }
    let n_states = m.n_states();
    let nso = m.n_spin_orbitals();
    let nd = m.dots.len();
    // All transitions, as in `RateSet::rebuild` (including Γ = 0 ones, whose rate is zero but
    // whose derivative with respect to Γ is not).
    let mut jumps = Vec::with_capacity(n_states * nso * 2);
    let mut charges_of = vec![0u32; n_states * nd];
    for state in 0..n_states {
        let charges = &mut charges_of[state * nd..(state + 1) * nd];
        for k in 0..nso {
            if state >> k & 1 == 1 {
                charges[m.orbitals[k / 2].dot] += 1;
            }
        }
        for k in 0..nso {
            let d = m.orbitals[k / 2].dot;
            let occupied = state >> k & 1 == 1;
            let n_other_same = charges[d] - u32::from(occupied);
            let mut de = m.spin_orbital_energy(k, bias_mv, magnet)
                + m.dots[d].charging_mev * n_other_same as f64;
            for (d2, &c) in charges.iter().enumerate() {
                if d2 != d {
                    de += m.inter_dot_mev[d][d2] * c as f64;
                }
            }
            let sigma = if k % 2 == 0 { 1.0 } else { -1.0 };
            for r in 0..2 {
                let side = if r == 0 {
                    LeadSide::Left
                } else {
                    LeadSide::Right
                };
                let lead = &m.leads[r];
                let sm = sigma * DotModel::magnetisation_sign(side, magnet);
                let mu = if r == 0 {
                    bias_mv / 2.0
                } else {
                    -bias_mv / 2.0
                } + sm * lead.spin_accumulation_mev / 2.0;
                let kt = kt_mev(lead.temperature_k);
                let gamma = lead.gamma_mev[k / 2];
                let g = gamma * (1.0 + sm * lead.polarization);
                // In: f(y); out: f(−y), y = (ΔE − μ)/k_BT; f'(y) = −f(y) f(−y).
                let (f_in, f_out) = (fermi(de, mu, kt), fermi(mu, de, kt));
                let s = if occupied { -1.0 } else { 1.0 };
                let fermi_factor = if occupied { f_out } else { f_in };
                let (d_de, d_kt) = if kt > 0.0 {
                    let ff = f_in * f_out / kt;
                    (-s * g * ff, s * g * ff * (de - mu) / kt)
                } else {
                    (0.0, 0.0)
                };
                jumps.push(Jump {
                    from: state,
                    to: state ^ (1 << k),
                    lead: r,
                    k,
                    n_other_same,
                    dn: s,
                    rate: g * fermi_factor,
                    gamma,
                    sm,
                    fermi: fermi_factor,
                    d_de,
                    d_kt,
                });
            }
        }
    }
    // M = W − s·p·1ᵀ on the closed class (transient states keep p = 0 and dp = 0).
    let nc = class.len();
    let mut index = vec![usize::MAX; n_states];
    for (a, &st) in class.iter().enumerate() {
        index[st] = a;
    }
    let p_class: Vec<f64> = class.iter().map(|&st| p[st]).collect();
    enum Sensitivity {
        Gth(Vec<f64>),
        Lu(nalgebra::linalg::LU<f64, nalgebra::Dyn, nalgebra::Dyn>),
    }
    let solver = if let Some(a) = factors.filter(|_| !force_lu) {
        Sensitivity::Gth(a)
    } else {
        let mut w = nalgebra::DMatrix::<f64>::zeros(nc, nc);
        for j in &jumps {
            let (a, b) = (index[j.from], index[j.to]);
            if a != usize::MAX && b != usize::MAX && j.rate != 0.0 {
                w[(b, a)] += j.rate;
                w[(a, a)] -= j.rate;
            }
        }
        let scale = (0..nc).map(|a| -w[(a, a)]).fold(0.0, f64::max).max(1e-300);
        for a in 0..nc {
            for b in 0..nc {
                w[(a, b)] -= scale * p_class[a];
            }
        }
        Sensitivity::Lu(w.lu())
    };
    let c = E_OVER_HBAR_NA_PER_MEV;
    let mut out = Vec::with_capacity(tangents.len());
    let mut d_rate = vec![0.0; jumps.len()];
    for t in tangents {
        let mut rhs = nalgebra::DVector::<f64>::zeros(nc);
        for (j, dr) in jumps.iter().zip(d_rate.iter_mut()) {
            let d = m.orbitals[j.k / 2].dot;
            let charges = &charges_of[j.from * nd..(j.from + 1) * nd];
            let mut dde =
                t.eps[j.k] + t.eps_per_mv[j.k] * bias_mv + t.charging[d] * j.n_other_same as f64;
            for (d2, &cnt) in charges.iter().enumerate() {
                if d2 != d {
                    dde += t.inter[d][d2] * cnt as f64;
                }
            }
            let lead = &m.leads[j.lead];
            let dmu = j.sm * t.accumulation[j.lead] / 2.0;
            let dg = t.gamma[j.lead][j.k / 2] * (1.0 + j.sm * lead.polarization)
                + j.gamma * j.sm * t.polarization[j.lead];
            *dr = dg * j.fermi + j.d_de * (dde - dmu) + j.d_kt * t.kt[j.lead];
            let (a, b) = (index[j.from], index[j.to]);
            if a != usize::MAX && b != usize::MAX && *dr != 0.0 {
                let flow = *dr * p[j.from];
                rhs[b] -= flow;
                rhs[a] += flow;
            }
        }
        let dp = match &solver {
            Sensitivity::Gth(a) => {
                nalgebra::DVector::from_vec(steady::gth_sensitivity(a, &p_class, rhs.as_mut_slice()))
            }
            Sensitivity::Lu(lu) => lu.solve(&rhs).ok_or_else(|| Error::Numerical {
                context: "analytic Jacobian of the dot model".into(),
                message: format!(
                    "the steady-state sensitivity system is singular at bias {bias_mv} mV; set fit.jacobian = \"finite-difference\""
                ),
            })?,
        };
        let mut di = 0.0;
        for (j, dr) in jumps.iter().zip(&d_rate) {
            if j.lead == 0 {
                let dpf = match index[j.from] {
                    usize::MAX => 0.0,
                    a => dp[a],
                };
                di += j.dn * (dr * p[j.from] + j.rate * dpf);
            }
        }
        out.push(c * di);
    }
    Ok((current, out))
}

impl FitModel for DotsModel {
    fn predict(&self, values: &[f64], dataset: usize, x: &[f64]) -> Result<Vec<f64>> {
        let m = self.model(values)?;
        let magnet = self.states[dataset];
        x.par_iter()
            .map(|&v| {
                let rates = RateSet::build(&m, v, magnet);
                let p = steady::solve(&rates, &steady::SteadyOptions::default())?;
                Ok(PointResult::from_probabilities(&rates, p).current_na)
            })
            .collect()
    }

    fn has_jacobian(&self, _dataset: usize) -> bool {
        self.analytic()
    }

    /// Analytic for every parameter (see the module documentation); parameters the model does
    /// not use (helpers of ties) get zero columns.
    fn predict_with_jacobian(
        &self,
        values: &[f64],
        dataset: usize,
        x: &[f64],
        wrt: &[usize],
    ) -> Option<Result<super::PredictionWithJacobian>> {
        if !self.analytic() {
            return None;
        }
        Some((|| {
            let m = self.model(values)?;
            let magnet = self.states[dataset];
            let used: Vec<bool> = wrt
                .iter()
                .map(|w| self.slots.iter().any(|(_, i)| i == w))
                .collect();
            let tangents: Vec<Tangent> = wrt
                .iter()
                .zip(&used)
                .filter(|(_, u)| **u)
                .map(|(&w, _)| self.tangent(values, w, magnet))
                .collect();
            let points: Vec<(f64, Vec<f64>)> = x
                .par_iter()
                .map(|&v| point_with_jacobian(&m, v, magnet, &tangents))
                .collect::<Result<_>>()?;
            let y = points.iter().map(|(i, _)| *i).collect();
            let mut jac = Vec::with_capacity(wrt.len());
            let mut col = 0;
            for u in used {
                if u {
                    jac.push(points.iter().map(|(_, d)| d[col]).collect());
                    col += 1;
                } else {
                    jac.push(vec![0.0; x.len()]);
                }
            }
            Ok((y, jac))
        })())
    }
}

/// Write fitted values back into a `[dots]` run file's text. Returns the new document and the
/// names that could not be placed (e.g. a Γ given per orbital, or charging energies computed from
/// geometry); those are listed in a comment by the caller.
pub fn write_back(
    text: &str,
    model: &DotModel,
    values: &[(String, f64)],
) -> Result<(toml::Table, Vec<String>)> {
    let mut doc: toml::Table = text
        .parse()
        .map_err(|e| Error::invalid("model file", format!("{e}")))?;
    let mut missed = Vec::new();
    for (name, v) in values {
        if get(model, name).is_none() {
            continue; // a helper parameter, not a model parameter
        }
        if !place(&mut doc, model, name, *v) {
            missed.push(name.clone());
        }
    }
    Ok((doc, missed))
}

/// The `[[dots.coupling]]` table of dots `a` and `b` in a `[dots]` table, with +1 when it names
/// them in that order and −1 when it names them as `[b, a]` (antisymmetric terms flip).
pub(crate) fn coupling_table<'t>(
    dots: &'t mut toml::Table,
    a: &str,
    b: &str,
) -> Option<(&'t mut toml::Table, f64)> {
    dots.get_mut("coupling")?
        .as_array_mut()?
        .iter_mut()
        .find_map(|c| {
            let named: Vec<&str> = c
                .get("dots")
                .and_then(|d| d.as_array())
                .map(|d| d.iter().filter_map(|x| x.as_str()).collect())
                .unwrap_or_default();
            let sign = if named == [a, b] {
                1.0
            } else if named == [b, a] {
                -1.0
            } else {
                return None;
            };
            c.as_table_mut().map(|t| (t, sign))
        })
}

fn place(doc: &mut toml::Table, model: &DotModel, name: &str, v: f64) -> bool {
    let f = toml::Value::Float(v);
    let Some(dots) = doc.get_mut("dots").and_then(|d| d.as_table_mut()) else {
        return false;
    };
    if name == "temperature_K" {
        dots.insert("temperature_K".into(), f.clone());
        for side in ["left", "right"] {
            if let Some(l) = dots
                .get_mut("leads")
                .and_then(|l| l.get_mut(side))
                .and_then(|l| l.as_table_mut())
            {
                l.remove("temperature_K");
            }
        }
        return true;
    }
    if let Some(rest) = name
        .strip_prefix("coupling.")
        .and_then(|r| r.strip_suffix("_meV"))
    {
        let Some((a, b)) = rest.split_once('.') else {
            return false;
        };
        return match coupling_table(dots, a, b) {
            Some((t, _)) => {
                t.insert("energy_meV".into(), f);
                true
            }
            None => false,
        };
    }
    for side in ["left", "right"] {
        if let Some(rest) = name.strip_prefix(side).and_then(|r| r.strip_prefix('.')) {
            let Some(lead) = dots
                .get_mut("leads")
                .and_then(|l| l.get_mut(side))
                .and_then(|l| l.as_table_mut())
            else {
                return false;
            };
            if let Some(dot) = rest.strip_prefix("gamma_meV.") {
                return match lead.get_mut("gamma_meV").and_then(|g| g.as_table_mut()) {
                    Some(g) if g.get(dot).is_some_and(|x| x.is_float() || x.is_integer()) => {
                        g.insert(dot.into(), f);
                        true
                    }
                    _ => false,
                };
            }
            lead.insert(rest.into(), f);
            return true;
        }
    }
    let Some((dot, rest)) = name.split_once('.') else {
        return false;
    };
    let Some(list) = dots.get_mut("dot").and_then(|d| d.as_array_mut()) else {
        return false;
    };
    let Some(entry) = list
        .iter_mut()
        .find(|d| d.get("name").and_then(|n| n.as_str()) == Some(dot))
        .and_then(|d| d.as_table_mut())
    else {
        return false;
    };
    match rest {
        "charging_meV" | "lever_arm" => {
            if rest == "lever_arm" {
                if let Some(orbs) = entry.get_mut("orbitals").and_then(|o| o.as_array_mut()) {
                    for o in orbs.iter_mut().filter_map(|o| o.as_table_mut()) {
                        o.remove("lever_arm");
                    }
                }
            }
            entry.insert(rest.into(), f);
            true
        }
        _ => {
            let Some((orb, field)) = rest.split_once('.') else {
                return false;
            };
            let Some(k) = orb
                .strip_prefix("orbital")
                .and_then(|k| k.parse::<usize>().ok())
            else {
                return false;
            };
            let _ = model;
            match entry
                .get_mut("orbitals")
                .and_then(|o| o.as_array_mut())
                .and_then(|o| o.get_mut(k))
                .and_then(|o| o.as_table_mut())
            {
                Some(o) => {
                    o.insert(field.into(), f);
                    true
                }
                None => false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gth_and_lu_sensitivities_agree() {
        let text = r#"
[dots]
temperature_K = 15.0
[[dots.dot]]
name = "a"
charging_meV = 6.0
lever_arm = 0.3
orbitals = [{ energy_meV = -1.0, zeeman_meV = 0.3 }, { energy_meV = 2.5 }]
[[dots.dot]]
name = "b"
charging_meV = 4.0
lever_arm = -0.2
orbitals = [{ energy_meV = 1.0 }]
[[dots.coupling]]
dots = ["a", "b"]
energy_meV = 1.5
[dots.leads.left]
gamma_meV = { a = 0.02, b = 0.01 }
polarization = 0.3
spin_accumulation_meV = 0.5
[dots.leads.right]
gamma_meV = { a = 0.015, b = 0.03 }
polarization = -0.2
"#;
        let (base, _) = crate::master::spec::load("t.toml", text).unwrap();
        let names = parameter_names(&base);
        let params = Parameters::new(
            names
                .iter()
                .map(|n| super::super::params::Param::new(n.clone(), get(&base, n).unwrap()))
                .collect(),
        )
        .unwrap();
        let model = DotsModel::new(base.clone(), &params, &["P", "AP"]).unwrap();
        let values: Vec<f64> = params.all().iter().map(|p| p.value).collect();
        for (d, magnet) in [Magnet::P, Magnet::AP].into_iter().enumerate() {
            let tangents: Vec<Tangent> = (0..values.len())
                .map(|w| model.tangent(&values, w, magnet))
                .collect();
            for v in [-15.0, -3.2, 0.0, 0.7, 6.0, 18.0] {
                let (i1, g) = point_with_jacobian_by(&base, v, magnet, &tangents, false).unwrap();
                let (i2, l) = point_with_jacobian_by(&base, v, magnet, &tangents, true).unwrap();
                assert_eq!(i1, i2);
                assert_eq!(i1, model.predict(&values, d, &[v]).unwrap()[0]);
                let scale = g.iter().fold(0.0f64, |a, x| a.max(x.abs()));
                for (k, (a, b)) in g.iter().zip(&l).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-9 * scale,
                        "{} at {v} mV: GTH {a:e}, LU {b:e}",
                        names[k]
                    );
                }
            }
        }
    }
}
