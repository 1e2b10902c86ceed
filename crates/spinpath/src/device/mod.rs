//! One device description for every approach.
//!
//! A [`Device`] is what the junction *is*: orbitals (grouped into dots that share a charging
//! energy), the interactions between dots, the hopping between orbitals, two ferromagnetic leads
//! with a coupling per orbital, and the magnetic states it can be put in. Every run file parses into
//! one (`[spin_engine]` and `[chain]` in [`crate::config`], `[dots]` in [`crate::master::spec`]), and
//! every approach ([`crate::engine`]) reads it. An approach *finalises* the device into its own
//! compact form once — a [`Chain`] for the coherent NEGF engine, a [`DotModel`] per magnetic state
//! for the master equations — and says clearly when the device does not fit it (NEGF with U ≠ 0,
//! a master equation with non-collinear leads, …).
//!
//! Conventions (docs/formalism.md):
//! - Energies in meV, bias in mV; μ_L = +V/2, μ_R = −V/2; an orbital's level moves by α·V.
//! - Spin splitting Δ of an orbital: the σ = +1 state along the orbital's [`Axis`] sits at ε + Δ/2,
//!   σ = −1 at ε − Δ/2 (the `[chain]` convention). A `[dots]` file's `zeeman_meV` (positive lowers
//!   spin up) enters as Δ = −zeeman along +z, and its `exchange_P_meV`/`exchange_AP_meV` as per-state
//!   splittings.
//! - Lead couplings Γ per orbital, spin polarisation p along the lead's magnetisation:
//!   Γ_σ = Γ(1 + σp); spin accumulation Δμ: μ_σ = μ + σΔμ/2 along the magnetisation.
//! - The left lead is magnetised along +z; a magnetic state rotates the right lead by `angle_deg` in
//!   the x–z plane (0° = P, 180° = AP).

use crate::error::{Error, Result};
use crate::master::{Dot, DotModel, ExchangeField, Magnet, Orbital as DotOrbital, Spinterface};
use crate::model::{Axis, Chain, Lead as ChainLead, MagneticState, Site};
use crate::negf::{ExchangeLink, SelfConsistency};

mod named;
mod params;
pub use params::{closest_names, unknown_parameter, CoherentParams, Parametrized};

/// One spinful orbital.
#[derive(Debug, Clone, PartialEq)]
pub struct Orbital {
    /// Name used in outputs, per-state overrides and parameter names (e.g. `PM1`, `transport.0`).
    pub name: String,
    /// Index of the dot it belongs to (its charging group).
    pub dot: usize,
    /// On-site energy at V = 0, meV.
    pub energy_mev: f64,
    /// Spin splitting Δ, meV: σ = ±1 along `axis` at ε ± Δ/2.
    pub splitting_mev: f64,
    /// Direction of the splitting.
    pub axis: Axis,
    /// Lever arm α: the level moves by α·V (meV per mV).
    pub lever_arm: f64,
}

/// Hopping (spin-conserving tunnelling) between two orbitals, meV.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hopping {
    /// First orbital.
    pub a: usize,
    /// Second orbital.
    pub b: usize,
    /// Amplitude t, meV: H contains t·(c†_a c_b + h.c.) for each spin (the chain's convention).
    pub t_mev: f64,
}

/// Exchange between the spins of two orbitals (many-body approaches), meV:
/// H = J·S_a·S_b + J_z·S^z_a S^z_b + D·(S_a × S_b), spins S = σ/2 (ħ = 1). J > 0 is
/// antiferromagnetic (the singlet lies lowest).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exchange {
    /// First orbital.
    pub a: usize,
    /// Second orbital (≠ `a`).
    pub b: usize,
    /// Heisenberg J, meV.
    pub j_mev: f64,
    /// Ising J_z (z components only), meV.
    pub jz_mev: f64,
    /// Dzyaloshinskii–Moriya vector D (x, y, z), meV.
    pub dm_mev: [f64; 3],
}

/// Default half band width of the leads for the principal-value (level-renormalisation) terms of
/// the 1vN and Redfield approaches, meV.
pub const DEFAULT_BAND_MEV: f64 = 1.0e4;

/// A ferromagnetic lead in the wide-band limit: Γ per orbital, polarisation, spin accumulation,
/// temperature (the master equations' lead, shared).
pub use crate::master::Lead;

/// The whole device: orbitals, dots (charging groups), interactions, hopping, leads, states.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Orbitals, in order (a chain's sites are orbitals 0..N, left to right).
    pub orbitals: Vec<Orbital>,
    /// Dots: a name and an intra-dot charging energy U_d (meV) each. A chain site is its own dot
    /// with U = 0.
    pub dots: Vec<Dot>,
    /// Inter-dot (capacitive) interaction U_dd' per electron pair, meV; symmetric, zero diagonal.
    pub inter_dot_mev: Vec<Vec<f64>>,
    /// Hoppings between orbitals.
    pub hoppings: Vec<Hopping>,
    /// Exchange couplings between orbital spins (many-body approaches); empty: none.
    pub exchanges: Vec<Exchange>,
    /// Exchange mediated by the conduction path through two orbitals (`[[dots.coupling]]
    /// mediated_v_meV`): bias-dependent J, J_z, D_z added to the constant ones at each bias
    /// ([`crate::engine::fransson`], docs/fransson.md); empty: none.
    pub mediated: Vec<crate::engine::fransson::MediatedExchange>,
    /// Half band width D of the leads (meV): the band is [−D, D] around the Fermi level; enters
    /// the principal-value terms of 1vN and Redfield only.
    pub band_mev: f64,
    /// Left and right leads.
    pub leads: [Lead; 2],
    /// Magnetic states the device can be put in (P and AP by default).
    pub states: Vec<MagneticState>,
    /// Lead-induced (König–Martinek) exchange field on the orbitals (master equations).
    pub exchange_field: ExchangeField,
    /// Self-consistent exchange links between orbitals (coherent engine); empty: none.
    pub exchange_links: Vec<ExchangeLink>,
    /// Settings of the self-consistent exchange loop.
    pub self_consistency: SelfConsistency,
    /// A spinterface (energy-dependent, spin-split lead DOS) between each lead and the dots;
    /// `None`: the wide-band lead. A device with one is solved in the many-body eigenbasis
    /// (Pauli); the other approaches refuse it.
    pub spinterfaces: [Option<Spinterface>; 2],
}

fn unfit(approach: &str, message: String) -> Error {
    Error::invalid(format!("approach `{approach}`"), message)
}

impl Device {
    /// A device from a coherent chain: every site is an orbital in a dot of its own (U = 0),
    /// hoppings link neighbours, each lead couples to its site.
    pub fn from_chain(
        chain: &Chain,
        states: Vec<MagneticState>,
        exchange_links: Vec<ExchangeLink>,
        self_consistency: SelfConsistency,
    ) -> Device {
        let n = chain.len();
        let orbitals = chain
            .sites()
            .iter()
            .enumerate()
            .map(|(i, s)| Orbital {
                name: s.name.clone(),
                dot: i,
                energy_mev: s.energy,
                splitting_mev: s.splitting,
                axis: s.axis,
                lever_arm: s.lever_arm,
            })
            .collect();
        let dots = chain
            .sites()
            .iter()
            .map(|s| Dot {
                name: s.name.clone(),
                charging_mev: 0.0,
            })
            .collect();
        let hoppings = chain
            .hoppings()
            .iter()
            .enumerate()
            .map(|(i, &t)| Hopping {
                a: i,
                b: i + 1,
                t_mev: t,
            })
            .collect();
        let lead = |l: &ChainLead| {
            let mut g = vec![0.0; n];
            g[l.site] = l.width;
            Lead {
                gamma_mev: g,
                polarization: l.polarization,
                spin_accumulation_mev: l.spin_accumulation,
                temperature_k: l.temperature,
            }
        };
        Device {
            orbitals,
            dots,
            inter_dot_mev: vec![vec![0.0; n]; n],
            hoppings,
            exchanges: Vec::new(),
            band_mev: DEFAULT_BAND_MEV,
            leads: [lead(chain.left()), lead(chain.right())],
            states,
            exchange_field: ExchangeField::None,
            exchange_links,
            mediated: Vec::new(),
            self_consistency,
            spinterfaces: [None, None],
        }
    }

    /// A device from a validated dot model. Its P and AP states carry the `exchange_P/AP`
    /// splittings as per-state splitting overrides (only where they differ from the Zeeman term).
    pub fn from_dot_model(model: &DotModel) -> Device {
        let axis_z = Axis::Fixed([0.0, 0.0, 1.0]);
        let orbitals: Vec<Orbital> = model
            .orbitals
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let dot = &model.dots[o.dot];
                let k = model.orbitals[..i]
                    .iter()
                    .filter(|x| x.dot == o.dot)
                    .count();
                Orbital {
                    name: format!("{}.{k}", dot.name),
                    dot: o.dot,
                    energy_mev: o.energy_mev,
                    splitting_mev: -o.zeeman_mev,
                    axis: axis_z,
                    lever_arm: o.lever_arm,
                }
            })
            .collect();
        let mut p = MagneticState::parallel();
        let mut ap = MagneticState::antiparallel();
        for (i, o) in model.orbitals.iter().enumerate() {
            if o.exchange_p_mev != 0.0 {
                p.splitting_overrides
                    .push((i, -(o.zeeman_mev + o.exchange_p_mev)));
            }
            if o.exchange_ap_mev != 0.0 {
                ap.splitting_overrides
                    .push((i, -(o.zeeman_mev + o.exchange_ap_mev)));
            }
        }
        Device {
            orbitals,
            dots: model.dots.clone(),
            inter_dot_mev: model.inter_dot_mev.clone(),
            hoppings: Vec::new(),
            exchanges: Vec::new(),
            band_mev: DEFAULT_BAND_MEV,
            leads: model.leads.clone(),
            states: vec![p, ap],
            exchange_field: model.exchange_field,
            exchange_links: Vec::new(),
            mediated: Vec::new(),
            self_consistency: SelfConsistency::default(),
            spinterfaces: [None, None],
        }
    }

    /// Number of orbitals.
    pub fn n_orbitals(&self) -> usize {
        self.orbitals.len()
    }

    /// Index of an orbital by name.
    pub fn orbital_index(&self, name: &str) -> Option<usize> {
        self.orbitals.iter().position(|o| o.name == name)
    }

    /// A magnetic state by name, or an error listing the device's states.
    pub fn state(&self, name: &str) -> Result<&MagneticState> {
        self.states.iter().find(|s| s.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.states.iter().map(|s| s.name.as_str()).collect();
            Error::invalid(
                "magnetic state",
                format!("the device has no magnetic state `{name}`; it has {names:?}"),
            )
        })
    }

    /// True when the dots' Hamiltonian is not diagonal in the Fock states (non-zero hopping or an
    /// exchange coupling): the master equations then work in its eigenbasis.
    pub fn is_many_body(&self) -> bool {
        self.hoppings.iter().any(|h| h.t_mev != 0.0)
            || !self.exchanges.is_empty()
            || !self.mediated.is_empty()
            || self.spinterfaces.iter().any(Option::is_some)
    }

    /// True when no charging or inter-dot interaction is present (a non-interacting device).
    pub fn is_non_interacting(&self) -> bool {
        self.dots.iter().all(|d| d.charging_mev == 0.0)
            && self.inter_dot_mev.iter().flatten().all(|&u| u == 0.0)
            && self.exchanges.is_empty()
            && self.mediated.is_empty()
    }

    /// A copy with every lead at temperature `t_k` (K).
    pub fn at_temperature(&self, t_k: f64) -> Device {
        let mut d = self.clone();
        for l in d.leads.iter_mut() {
            l.temperature_k = t_k;
        }
        d
    }

    /// Finalise for the coherent (NEGF) engine: a nearest-neighbour chain of orbitals in their
    /// order, each lead touching one orbital, no interaction. Errors say what does not fit.
    pub fn to_chain(&self) -> Result<Chain> {
        const A: &str = "negf";
        if self.spinterfaces.iter().any(Option::is_some) {
            return Err(unfit(A, "spinterface leads (energy-dependent DOS) belong to approach = \"pauli\" (many-body eigenbasis); in the coherent engine write the spinterfaces as chain sites ([spin_engine] or [chain])".into()));
        }
        if let Some(d) = self.dots.iter().find(|d| d.charging_mev != 0.0) {
            return Err(unfit(A, format!(
                "the coherent NEGF engine is non-interacting, but dot `{}` has charging_meV = {}; use approach = \"pauli\" (sequential tunnelling) for interacting dots",
                d.name, d.charging_mev
            )));
        }
        if self.inter_dot_mev.iter().flatten().any(|&u| u != 0.0) {
            return Err(unfit(A, "the coherent NEGF engine is non-interacting, but the device has inter-dot (capacitive) couplings; use approach = \"pauli\"".into()));
        }
        if self.exchange_field != ExchangeField::None {
            return Err(unfit(A, "the lead-induced exchange field (exchange_field) belongs to the master equations; the coherent engine includes the leads exactly".into()));
        }
        if !self.exchanges.is_empty() || !self.mediated.is_empty() {
            return Err(unfit(A, "exchange between dots is an interaction; use approach = \"pauli\", \"1vn\" or \"redfield\"".into()));
        }
        let n = self.orbitals.len();
        let mut t = vec![0.0; n.saturating_sub(1)];
        for h in &self.hoppings {
            let (a, b) = (h.a.min(h.b), h.a.max(h.b));
            if b != a + 1 {
                return Err(unfit(A, format!(
                    "the coherent engine handles nearest-neighbour chains; a hopping links orbitals `{}` and `{}`",
                    self.orbitals[a].name, self.orbitals[b].name
                )));
            }
            t[a] += h.t_mev;
        }
        let sites = self
            .orbitals
            .iter()
            .map(|o| Site {
                name: o.name.clone(),
                energy: o.energy_mev,
                splitting: o.splitting_mev,
                axis: o.axis,
                lever_arm: o.lever_arm,
            })
            .collect();
        let mut leads = Vec::new();
        for (side, l) in ["left", "right"].iter().zip(&self.leads) {
            let touched: Vec<usize> = (0..n).filter(|&i| l.gamma_mev[i] != 0.0).collect();
            if touched.len() != 1 {
                return Err(unfit(A, format!(
                    "the coherent engine needs each lead on exactly one orbital; the {side} lead touches {}",
                    touched.len()
                )));
            }
            leads.push(ChainLead {
                site: touched[0],
                width: l.gamma_mev[touched[0]],
                polarization: l.polarization,
                spin_accumulation: l.spin_accumulation_mev,
                temperature: l.temperature_k,
            });
        }
        let right = leads.pop().expect("two leads");
        let left = leads.pop().expect("two leads");
        Chain::new(sites, t, left, right)
    }

    /// Finalise for the master equations in magnetic state `state`: the dot model with the state's
    /// energies and splittings, spins along z. Needs collinear leads (θ = 0° or 180°), orbital axes
    /// along ±z, and no hopping (coherent inter-dot tunnelling needs the many-body approaches).
    pub fn to_dot_model(
        &self,
        state: &MagneticState,
        approach: &str,
    ) -> Result<(DotModel, Magnet)> {
        let theta = state.angle_deg.rem_euclid(360.0);
        let magnet = if theta == 0.0 {
            Magnet::P
        } else if theta == 180.0 {
            Magnet::AP
        } else {
            return Err(unfit(approach, format!(
                "the master equation needs collinear leads; state `{}` has angle_deg = {} (allowed: 0 or 180)",
                state.name, state.angle_deg
            )));
        };
        if self.spinterfaces.iter().any(Option::is_some) {
            return Err(unfit(approach, "spinterface leads (energy-dependent DOS) are handled by approach = \"pauli\" in the many-body eigenbasis only".into()));
        }
        if let Some(h) = self.hoppings.iter().find(|h| h.t_mev != 0.0) {
            return Err(unfit(approach, format!(
                "the Fock-state master equation needs no coherent hopping, but orbitals `{}` and `{}` are coupled by {} meV; the many-body approaches (pauli in the eigenbasis, 1vn, redfield) handle it",
                self.orbitals[h.a].name, self.orbitals[h.b].name, h.t_mev
            )));
        }
        if !self.exchange_links.is_empty() {
            return Err(unfit(
                approach,
                "self-consistent exchange links belong to the coherent engine".into(),
            ));
        }

        let mut orbitals = Vec::with_capacity(self.orbitals.len());
        for (i, o) in self.orbitals.iter().enumerate() {
            let mut energy = o.energy_mev;
            let mut split = o.splitting_mev;
            if let Some(&(_, e)) = state.energy_overrides.iter().rfind(|(k, _)| *k == i) {
                energy = e;
            }
            if let Some(&(_, s)) = state.splitting_overrides.iter().rfind(|(k, _)| *k == i) {
                split = s;
            }
            let z = match o.axis {
                Axis::Left => 1.0,
                Axis::Right => {
                    if magnet == Magnet::P {
                        1.0
                    } else {
                        -1.0
                    }
                }
                Axis::Fixed(v) => {
                    let norm = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
                    if v[0] != 0.0 || v[1] != 0.0 || norm == 0.0 {
                        return Err(unfit(approach, format!(
                            "the master equation quantises spin along z, but orbital `{}` has its splitting along {v:?}",
                            o.name
                        )));
                    }
                    v[2].signum()
                }
            };
            // ε_σ = ε − σ·zeeman/2 in the dot model: zeeman = −Δ·z.
            let zeeman = if split == 0.0 { 0.0 } else { -(split * z) };
            orbitals.push(DotOrbital {
                dot: o.dot,
                energy_mev: energy,
                lever_arm: o.lever_arm,
                zeeman_mev: zeeman,
                exchange_p_mev: 0.0,
                exchange_ap_mev: 0.0,
            });
        }
        let model = DotModel {
            dots: self.dots.clone(),
            orbitals,
            inter_dot_mev: self.inter_dot_mev.clone(),
            leads: self.leads.clone(),
            exchange_field: self.exchange_field,
        };
        model.validate()?;
        Ok((model, magnet))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_round_trip_is_exact() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/spin-engine.toml"
        ))
        .unwrap();
        let run = crate::config::parse_coherent_run("spin-engine.toml", &text).unwrap();
        let dev = Device::from_chain(
            &run.chain,
            run.states.clone(),
            run.exchange.clone(),
            run.self_consistency,
        );
        assert_eq!(dev.to_chain().unwrap(), run.chain);
        // Interacting devices are refused by NEGF with a message that says what to use.
        let mut d2 = dev.clone();
        d2.dots[1].charging_mev = 5.0;
        let e = d2.to_chain().unwrap_err().to_string();
        assert!(e.contains("charging_meV = 5") && e.contains("pauli"), "{e}");
        // A chain with hopping does not fit the sequential master equation.
        let e = dev
            .to_dot_model(&dev.states[0], "pauli")
            .unwrap_err()
            .to_string();
        assert!(e.contains("hopping") || e.contains("coupled"), "{e}");
    }

    #[test]
    fn dot_model_round_trip_is_exact() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/memristive-cb.toml"
        ))
        .unwrap();
        let (mut model, _) = crate::master::spec::load("memristive-cb.toml", &text).unwrap();
        model.orbitals[0].zeeman_mev = 0.3;
        model.orbitals[0].exchange_p_mev = 0.2;
        model.orbitals[0].exchange_ap_mev = -0.1;
        let dev = Device::from_dot_model(&model);
        for (st, magnet) in dev.states.iter().zip([Magnet::P, Magnet::AP]) {
            let (m, g) = dev.to_dot_model(st, "pauli").unwrap();
            assert_eq!(g, magnet);
            for k in 0..m.n_spin_orbitals() {
                for v in [-200.0, 0.0, 37.5] {
                    assert_eq!(
                        m.spin_orbital_energy(k, v, magnet).to_bits(),
                        model.spin_orbital_energy(k, v, magnet).to_bits()
                    );
                }
            }
        }
        let mut tilted = dev.states[0].clone();
        tilted.angle_deg = 90.0;
        let e = dev.to_dot_model(&tilted, "pauli").unwrap_err().to_string();
        assert!(e.contains("collinear") && e.contains("90"), "{e}");
    }
}
