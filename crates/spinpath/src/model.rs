//! Device models: validated, typed, in meV.
//!
//! A [`Chain`] is a coherent, non-interacting tight-binding path of spinful sites between two
//! ferromagnetic leads (paper 1's "Model A"):
//!
//! ```text
//!   FM_L ─Γ_L─ site 0 ─t0─ site 1 ─t1─ … ─ site N−1 ─Γ_R─ FM_R
//! ```
//!
//! Conventions (see `docs/formalism.md`):
//! - The left electrode is magnetised along +z. A [`MagneticState`] sets the angle θ of the right
//!   electrode's magnetisation in the x–z plane: θ = 0° is P, θ = 180° is AP.
//! - Spin σ = ±1 is "majority/minority along an axis". A site's spin splitting Δ puts the σ = +1
//!   state along its axis at ε + Δ/2 and σ = −1 at ε − Δ/2.
//! - A lead's coupling matrix is Γ = W·(1 + p n·σ): majority width W(1 + p), minority W(1 − p).
//! - A lead's spin accumulation Δμ splits its chemical potential along its own magnetisation:
//!   μ_± = μ ± Δμ/2. Bias V (mV) gives μ_L = +V/2 and μ_R = −V/2 (meV).
//! - A site's level moves with the bias as ε(V) = ε + α·V, α being its lever arm (α = +½ follows
//!   the left electrode, −½ the right one).

use crate::error::{Error, Result};

/// Direction of a site's spin splitting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Axis {
    /// Along the left electrode's magnetisation (+z): a spinterface on the left.
    Left,
    /// Along the right electrode's magnetisation (follows P/AP or the angle θ).
    Right,
    /// A fixed unit vector (x, y, z) in the frame where the left electrode points along +z.
    Fixed([f64; 3]),
}

/// One site of the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// Name used in outputs and per-state overrides (e.g. `SP1`, `PM1`).
    pub name: String,
    /// On-site energy at V = 0, meV, relative to the junction's Fermi level.
    pub energy: f64,
    /// Spin splitting Δ (exchange or Zeeman), meV: σ = ±1 along `axis` sits at ε ± Δ/2.
    pub splitting: f64,
    /// Direction of the splitting.
    pub axis: Axis,
    /// Lever arm α: the level moves by α·V (meV per mV of bias).
    pub lever_arm: f64,
}

/// A ferromagnetic lead in the wide-band limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    /// Index of the site the lead couples to.
    pub site: usize,
    /// Coupling width W, meV (the spin-averaged Γ; majority W(1+p), minority W(1−p)).
    pub width: f64,
    /// Spin polarisation p of the coupling, −1 ≤ p ≤ 1, along the lead's magnetisation.
    pub polarization: f64,
    /// Spin accumulation Δμ = μ_majority − μ_minority, meV.
    pub spin_accumulation: f64,
    /// Electron temperature, K (≥ 0).
    pub temperature: f64,
}

/// The magnetic configuration of the junction and the parameters that may change with it.
#[derive(Debug, Clone, PartialEq)]
pub struct MagneticState {
    /// Name used in outputs (`P`, `AP`, `θ=90`, ...).
    pub name: String,
    /// Angle θ of the right electrode's magnetisation from the left one's, degrees.
    pub angle_deg: f64,
    /// Per-state on-site energies (site index, meV) replacing the chain's values.
    pub energy_overrides: Vec<(usize, f64)>,
    /// Per-state spin splittings (site index, meV) replacing the chain's values.
    pub splitting_overrides: Vec<(usize, f64)>,
}

impl MagneticState {
    /// The parallel state (θ = 0) without overrides.
    pub fn parallel() -> Self {
        MagneticState {
            name: "P".into(),
            angle_deg: 0.0,
            energy_overrides: Vec::new(),
            splitting_overrides: Vec::new(),
        }
    }

    /// The antiparallel state (θ = 180°) without overrides.
    pub fn antiparallel() -> Self {
        MagneticState {
            name: "AP".into(),
            angle_deg: 180.0,
            energy_overrides: Vec::new(),
            splitting_overrides: Vec::new(),
        }
    }
}

/// A validated coherent chain: sites, hoppings and two leads.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    sites: Vec<Site>,
    hoppings: Vec<f64>,
    left: Lead,
    right: Lead,
}

/// Default lever arms: the bias drops linearly across the N + 1 gaps between the 2 electrodes and
/// the N sites (for N = 4 this is paper 1's symmetric six-zone drop, α = 0.3, 0.1, −0.1, −0.3).
pub fn default_lever_arms(n_sites: usize) -> Vec<f64> {
    (0..n_sites)
        .map(|i| 0.5 - (i as f64 + 1.0) / (n_sites as f64 + 1.0))
        .collect()
}

/// Largest magnitude accepted for an energy, splitting, hopping or lever arm (meV): far beyond any
/// physical value, small enough that products in the Green's functions stay finite.
pub const MAX_MAGNITUDE: f64 = 1e6;

fn finite(what: &str, x: f64) -> Result<()> {
    if x.is_finite() && x.abs() <= MAX_MAGNITUDE {
        Ok(())
    } else {
        Err(Error::invalid(
            "device",
            format!("{what} must be a finite number with |x| <= 1e6, got {x}"),
        ))
    }
}

impl Chain {
    /// Build and validate a chain.
    ///
    /// `hoppings[i]` (meV) couples site i and i+1, so there must be exactly N − 1 of them. Errors
    /// name the offending item and the allowed range.
    pub fn new(sites: Vec<Site>, hoppings: Vec<f64>, left: Lead, right: Lead) -> Result<Self> {
        if sites.is_empty() {
            return Err(Error::invalid(
                "device",
                "the chain needs at least one site",
            ));
        }
        if hoppings.len() + 1 != sites.len() {
            return Err(Error::invalid(
                "device",
                format!(
                    "{} sites need {} hoppings, got {}",
                    sites.len(),
                    sites.len() - 1,
                    hoppings.len()
                ),
            ));
        }
        for (i, s) in sites.iter().enumerate() {
            finite(&format!("site {i} energy"), s.energy)?;
            finite(&format!("site {i} splitting"), s.splitting)?;
            finite(&format!("site {i} lever arm"), s.lever_arm)?;
            if let Axis::Fixed(v) = s.axis {
                let norm = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
                if !(norm.is_finite() && norm > 0.0) {
                    return Err(Error::invalid(
                        "device",
                        format!("site {i} ({}) axis must be a non-zero vector", s.name),
                    ));
                }
            }
        }
        for (i, t) in hoppings.iter().enumerate() {
            finite(&format!("hopping {i}"), *t)?;
        }
        for (name, lead) in [("left", &left), ("right", &right)] {
            if lead.site >= sites.len() {
                return Err(Error::invalid(
                    "device",
                    format!(
                        "{name} lead couples to site {}, but the chain has sites 0..={}",
                        lead.site,
                        sites.len() - 1
                    ),
                ));
            }
            if !(lead.width.is_finite() && lead.width > 0.0) {
                return Err(Error::invalid(
                    "device",
                    format!("{name} lead width must be > 0 meV, got {}", lead.width),
                ));
            }
            if !(lead.polarization.is_finite() && lead.polarization.abs() <= 1.0) {
                return Err(Error::invalid(
                    "device",
                    format!(
                        "{name} lead polarization must be in [-1, 1], got {}",
                        lead.polarization
                    ),
                ));
            }
            finite(
                &format!("{name} lead spin accumulation"),
                lead.spin_accumulation,
            )?;
            if !(lead.temperature.is_finite() && lead.temperature >= 0.0) {
                return Err(Error::invalid(
                    "device",
                    format!(
                        "{name} lead temperature must be >= 0 K, got {}",
                        lead.temperature
                    ),
                ));
            }
        }
        if left.site > right.site {
            return Err(Error::invalid(
                "device",
                format!(
                    "the left lead's site ({}) must not be to the right of the right lead's site ({})",
                    left.site, right.site
                ),
            ));
        }
        Ok(Chain {
            sites,
            hoppings,
            left,
            right,
        })
    }

    /// The sites.
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }
    /// Hoppings t_i between site i and i + 1, meV.
    pub fn hoppings(&self) -> &[f64] {
        &self.hoppings
    }
    /// The left lead.
    pub fn left(&self) -> &Lead {
        &self.left
    }
    /// The right lead.
    pub fn right(&self) -> &Lead {
        &self.right
    }
    /// Number of sites.
    pub fn len(&self) -> usize {
        self.sites.len()
    }
    /// Always false: a chain has at least one site.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Index of a site by name.
    pub fn site_index(&self, name: &str) -> Option<usize> {
        self.sites.iter().position(|s| s.name == name)
    }

    /// A copy with one lead changed (validated again).
    pub fn with_leads(&self, left: Lead, right: Lead) -> Result<Self> {
        Chain::new(self.sites.clone(), self.hoppings.clone(), left, right)
    }

    /// A copy with the per-state values of `state` applied (energies and splittings).
    pub fn in_state(&self, state: &MagneticState) -> Result<Self> {
        let mut c = self.with_energies(&state.energy_overrides)?;
        for &(i, d) in &state.splitting_overrides {
            finite("override splitting", d)?;
            c.site_mut(i)?.splitting = d;
        }
        Ok(c)
    }

    /// A copy with new on-site energies for the given sites (index, meV).
    pub fn with_energies(&self, overrides: &[(usize, f64)]) -> Result<Self> {
        let mut c = self.clone();
        for &(i, e) in overrides {
            finite("override energy", e)?;
            c.site_mut(i)?.energy = e;
        }
        Ok(c)
    }

    fn site_mut(&mut self, i: usize) -> Result<&mut Site> {
        let n = self.sites.len();
        self.sites.get_mut(i).ok_or_else(|| {
            Error::invalid(
                "state",
                format!("site index {i} does not exist (0..={})", n - 1),
            )
        })
    }

    /// The mirror image: sites reversed, leads swapped, lever arms negated and the spin axes that
    /// followed one electrode now follow the other. In the same magnetic state (collinear P or AP
    /// with the same angle), the mirrored device at bias −V carries the current −I(V), apart from the
    /// frame change of the right electrode (exact for P, and for AP with all spin quantities flipped).
    pub fn mirrored(&self) -> Self {
        let n = self.sites.len();
        let sites = self
            .sites
            .iter()
            .rev()
            .map(|s| Site {
                name: s.name.clone(),
                energy: s.energy,
                splitting: s.splitting,
                axis: match s.axis {
                    Axis::Left => Axis::Right,
                    Axis::Right => Axis::Left,
                    a => a,
                },
                lever_arm: -s.lever_arm,
            })
            .collect();
        let hoppings = self.hoppings.iter().rev().copied().collect();
        let mut left = self.right.clone();
        let mut right = self.left.clone();
        left.site = n - 1 - self.right.site;
        right.site = n - 1 - self.left.site;
        Chain {
            sites,
            hoppings,
            left,
            right,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(site: usize) -> Lead {
        Lead {
            site,
            width: 1.0,
            polarization: 0.0,
            spin_accumulation: 0.0,
            temperature: 10.0,
        }
    }

    fn site(e: f64) -> Site {
        Site {
            name: "s".into(),
            energy: e,
            splitting: 0.0,
            axis: Axis::Left,
            lever_arm: 0.0,
        }
    }

    #[test]
    fn six_zone_lever_arms() {
        let a = default_lever_arms(4);
        let expect = [0.3, 0.1, -0.1, -0.3];
        for (x, y) in a.iter().zip(expect) {
            assert!((x - y).abs() < 1e-12);
        }
    }

    #[test]
    fn validation_names_the_problem() {
        let e = Chain::new(vec![site(0.0)], vec![1.0], lead(0), lead(0)).unwrap_err();
        assert!(e.to_string().contains("hoppings"), "{e}");
        let e = Chain::new(vec![site(0.0)], vec![], lead(0), lead(3)).unwrap_err();
        assert!(e.to_string().contains("site 3"), "{e}");
        let mut bad = lead(0);
        bad.polarization = 1.5;
        let e = Chain::new(vec![site(0.0)], vec![], bad, lead(0)).unwrap_err();
        assert!(e.to_string().contains("[-1, 1]"), "{e}");
        let mut bad = lead(0);
        bad.temperature = -1.0;
        assert!(Chain::new(vec![site(0.0)], vec![], bad, lead(0)).is_err());
        let mut bad = lead(0);
        bad.width = -1.0;
        assert!(Chain::new(vec![site(0.0)], vec![], bad, lead(0)).is_err());
    }
}
