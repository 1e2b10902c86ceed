//! Capacitance estimates of paper 2 (SI Note 5), with the exact digamma function.
//!
//! - A sphere of radius r at distance d from one of two parallel electrodes a distance l apart, in a
//!   medium of relative permittivity ε:
//!   C = 4πεε₀r / (1 + K·r/(2l)),  K = ψ(d/l) + ψ(1 − d/l) + 2γ,
//!   and the paper's identification E_C = e²/2C = e·Δ_CG (Δ_CG: the Coulomb gap in bias).
//!   Inverse: r = l / (8πεε₀·Δ_CG·l/e − K/2).
//! - Two spheres of radius r at centre distance s: C = 2πεε₀r / (1 − r/(s − r)), and e = C·Δ_W
//!   (Δ_W: the bias shift caused by one electron on the gating sphere). Inverse:
//!   s = r·(1 + 1/(1 − 2πεε₀·r·Δ_W/e)).
//!
//! Constant-interaction relations used by the dot engine (docs/dots.md, "Charging energies from
//! the geometry"): the addition energy of one more electron on a dot of self-capacitance C is
//! U = e²/C ([`addition_energy_mev`], the `charging_meV` that `[dots.electrostatics.from_geometry]`
//! sets), twice the paper's E_C = e²/2C. A level with lever arm α meets μ_L at V = μ/(½ − α), so
//! the Coulomb gap in bias between two edges through the same lead is Δ_CG = U/(½ − α) ≥ U/1:
//! the paper's identification e·Δ_CG = e²/2C would need ½ − α = 2 and cannot hold in this model.
//! A gating electron shifts the transport levels by U_TG = e²/C_pair = e·Δ_W(r, s); the bias
//! shift of an edge is then U_TG/(½ − α) (or a difference of energies when an electron is traded,
//! see docs/dots.md).
//!
//! Lengths in nm, voltages in mV, capacitances in aF (1e-18 F). Unphysical inputs are errors.

use crate::error::{Error, Result};
use statrs::function::gamma::digamma;

/// Vacuum permittivity, F/m.
pub const EPSILON_0_F_PER_M: f64 = 8.854_187_818_8e-12;
/// Euler–Mascheroni constant γ.
pub const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;
const E_C: f64 = 1.602_176_634e-19;
const NM: f64 = 1e-9;

fn positive(name: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(
            "capacitance input",
            format!("{name} = {v}; must be finite and > 0"),
        ))
    }
}

/// K = ψ(d/l) + ψ(1 − d/l) + 2γ for a sphere at distance `d_nm` from one electrode of a gap `l_nm`.
/// Requires 0 < d < l.
pub fn image_factor(d_nm: f64, l_nm: f64) -> Result<f64> {
    positive("electrode spacing l (nm)", l_nm)?;
    positive("distance d (nm)", d_nm)?;
    if d_nm >= l_nm {
        return Err(Error::invalid(
            "capacitance input",
            format!("distance d = {d_nm} nm must lie strictly inside the gap (0, l = {l_nm} nm)"),
        ));
    }
    let x = d_nm / l_nm;
    Ok(digamma(x) + digamma(1.0 - x) + 2.0 * EULER_GAMMA)
}

/// Self-capacitance (aF) of a sphere of radius `r_nm` between two electrodes.
pub fn sphere_capacitance_af(r_nm: f64, d_nm: f64, l_nm: f64, permittivity: f64) -> Result<f64> {
    positive("radius r (nm)", r_nm)?;
    positive("relative permittivity", permittivity)?;
    let k = image_factor(d_nm, l_nm)?;
    let denom = 1.0 + k * r_nm / (2.0 * l_nm);
    if denom <= 0.0 || r_nm >= d_nm.min(l_nm - d_nm) {
        return Err(Error::invalid(
            "capacitance input",
            format!("sphere of radius {r_nm} nm does not fit at d = {d_nm} nm in a {l_nm} nm gap (it must not touch an electrode)"),
        ));
    }
    Ok(4.0 * std::f64::consts::PI * permittivity * EPSILON_0_F_PER_M * r_nm * NM / denom * 1e18)
}

/// Coulomb gap Δ_CG = e/(2C) in mV of a sphere (forward problem: gap from geometry).
pub fn coulomb_gap_mv(r_nm: f64, d_nm: f64, l_nm: f64, permittivity: f64) -> Result<f64> {
    let c = sphere_capacitance_af(r_nm, d_nm, l_nm, permittivity)? * 1e-18;
    Ok(E_C / (2.0 * c) * 1e3)
}

/// Constant-interaction addition energy U = e²/C (meV) of a sphere between two electrodes: the
/// energy cost of one more electron, which the dot engine's `charging_meV` means (twice the
/// paper's E_C = e²/2C).
pub fn addition_energy_mev(r_nm: f64, d_nm: f64, l_nm: f64, permittivity: f64) -> Result<f64> {
    let c = sphere_capacitance_af(r_nm, d_nm, l_nm, permittivity)? * 1e-18;
    Ok(E_C / c * 1e3)
}

/// Radius (nm) of the sphere whose Coulomb gap is `gap_mv` (inverse problem).
pub fn radius_from_gap_nm(gap_mv: f64, d_nm: f64, l_nm: f64, permittivity: f64) -> Result<f64> {
    positive("Coulomb gap (mV)", gap_mv)?;
    positive("relative permittivity", permittivity)?;
    let k = image_factor(d_nm, l_nm)?;
    let a =
        8.0 * std::f64::consts::PI * permittivity * EPSILON_0_F_PER_M * gap_mv * 1e-3 * l_nm * NM
            / E_C;
    let denom = a - k / 2.0;
    if denom <= 0.0 {
        return Err(Error::invalid(
            "capacitance input",
            format!("no sphere has a Coulomb gap of {gap_mv} mV in this geometry (the gap is too small)"),
        ));
    }
    let r = l_nm / denom;
    if r >= d_nm.min(l_nm - d_nm) {
        return Err(Error::invalid(
            "capacitance input",
            format!("the solution r = {r:.4} nm would touch an electrode (d = {d_nm} nm, l = {l_nm} nm)"),
        ));
    }
    Ok(r)
}

/// Mutual capacitance (aF) of two spheres of radius `r_nm` at centre distance `s_nm` (> 2r).
pub fn pair_capacitance_af(r_nm: f64, s_nm: f64, permittivity: f64) -> Result<f64> {
    positive("radius r (nm)", r_nm)?;
    positive("separation s (nm)", s_nm)?;
    positive("relative permittivity", permittivity)?;
    if s_nm <= 2.0 * r_nm {
        return Err(Error::invalid(
            "capacitance input",
            format!(
                "spheres of radius {r_nm} nm overlap at centre distance {s_nm} nm (need s > 2r)"
            ),
        ));
    }
    Ok(
        2.0 * std::f64::consts::PI * permittivity * EPSILON_0_F_PER_M * r_nm * NM
            / (1.0 - r_nm / (s_nm - r_nm))
            * 1e18,
    )
}

/// Bias shift Δ_W = e/C (mV) caused by one electron on a sphere at distance `s_nm`.
pub fn writing_shift_mv(r_nm: f64, s_nm: f64, permittivity: f64) -> Result<f64> {
    Ok(E_C / (pair_capacitance_af(r_nm, s_nm, permittivity)? * 1e-18) * 1e3)
}

/// Potential (mV) of one electron at distance `s_nm` in a medium of relative permittivity ε:
/// e/(4πεε₀s). The bare point-charge estimate of the writing shift, for comparison with the
/// paper's two-sphere formula ([`writing_shift_mv`]): it *falls* with distance, as a capacitive
/// coupling should, whereas the two-sphere formula rises from 0 (touching spheres, where its
/// "capacitance" diverges) to e/(2πεε₀r) at large s. Kept as the paper published it; this one is
/// printed beside it so that a user sees the difference.
pub fn point_charge_shift_mv(s_nm: f64, permittivity: f64) -> Result<f64> {
    positive("separation s (nm)", s_nm)?;
    positive("relative permittivity", permittivity)?;
    Ok(E_C / (4.0 * std::f64::consts::PI * permittivity * EPSILON_0_F_PER_M * s_nm * NM) * 1e3)
}

/// Centre distance (nm) giving the shift `shift_mv` for spheres of radius `r_nm` (inverse problem).
pub fn separation_from_shift_nm(shift_mv: f64, r_nm: f64, permittivity: f64) -> Result<f64> {
    positive("writing shift (mV)", shift_mv)?;
    positive("radius r (nm)", r_nm)?;
    positive("relative permittivity", permittivity)?;
    let x =
        2.0 * std::f64::consts::PI * permittivity * EPSILON_0_F_PER_M * r_nm * NM * shift_mv * 1e-3
            / E_C;
    if x >= 1.0 {
        return Err(Error::invalid(
            "capacitance input",
            format!("no separation gives {shift_mv} mV for r = {r_nm} nm: even touching spheres give less (2πεε₀rΔ_W/e = {x:.3} >= 1)"),
        ));
    }
    Ok(r_nm * (1.0 + 1.0 / (1.0 - x)))
}

/// Every estimate of one geometry, as `spinpath capacitance --json` prints it and the Python
/// package returns it (one place for both).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Estimate {
    /// Electrode spacing l, nm.
    pub electrode_spacing_nm: f64,
    /// Distance d of the sphere from one electrode, nm.
    pub distance_nm: f64,
    /// Relative permittivity ε.
    pub permittivity: f64,
    /// (ψ(d/l) + ψ(1 − d/l) + 2γ)/2, the image-charge factor.
    pub image_factor_half: f64,
    /// Sphere radius r, nm.
    pub radius_nm: f64,
    /// Self-capacitance C, aF.
    #[serde(rename = "capacitance_aF")]
    pub capacitance_af: f64,
    /// Coulomb gap Δ_CG, mV (paper 2: e·Δ_CG = E_C = e²/2C).
    #[serde(rename = "coulomb_gap_mV")]
    pub coulomb_gap_mv: f64,
    /// E_C = e²/2C, meV (numerically the gap in mV).
    #[serde(rename = "charging_energy_meV")]
    pub charging_energy_mev: f64,
    /// The constant-interaction addition energy U = e²/C, meV (the dots engine's `charging_meV`).
    #[serde(rename = "addition_energy_meV")]
    pub addition_energy_mev: f64,
    /// Centre distance s to the gating sphere, nm (when a shift or separation was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub separation_nm: Option<f64>,
    /// Writing shift Δ_W, mV.
    #[serde(rename = "writing_shift_mV", skip_serializing_if = "Option::is_none")]
    pub writing_shift_mv: Option<f64>,
    /// The point-charge potential e/(4πεε₀s) at the gating distance, mV ([`point_charge_shift_mv`]):
    /// falls with s where the paper's two-sphere shift rises.
    #[serde(
        rename = "point_charge_shift_mV",
        skip_serializing_if = "Option::is_none"
    )]
    pub point_charge_shift_mv: Option<f64>,
    /// Mutual capacitance of the pair, aF.
    #[serde(
        rename = "pair_capacitance_aF",
        skip_serializing_if = "Option::is_none"
    )]
    pub pair_capacitance_af: Option<f64>,
}

/// The estimates from either the gap (→ radius) or the radius (→ gap), and optionally either the
/// writing shift (→ separation) or the separation (→ shift). Distances in nm, gap and shift in mV.
#[allow(clippy::too_many_arguments)]
pub fn estimate(
    gap_mv: Option<f64>,
    radius_nm: Option<f64>,
    d_nm: f64,
    l_nm: f64,
    permittivity: f64,
    shift_mv: Option<f64>,
    separation_nm: Option<f64>,
) -> Result<Estimate> {
    let bad = |m: &str| Err(Error::invalid("capacitance", m));
    let (r, gap) = match (gap_mv, radius_nm) {
        (Some(g), None) => (radius_from_gap_nm(g, d_nm, l_nm, permittivity)?, g),
        (None, Some(r)) => (r, coulomb_gap_mv(r, d_nm, l_nm, permittivity)?),
        _ => return bad(
            "give exactly one of the gap (solve for the radius) or the radius (solve for the gap)",
        ),
    };
    let pair = match (shift_mv, separation_nm) {
        (Some(w), None) => Some((separation_from_shift_nm(w, r, permittivity)?, w)),
        (None, Some(s)) => Some((s, writing_shift_mv(r, s, permittivity)?)),
        (None, None) => None,
        (Some(_), Some(_)) => return bad("give at most one of the writing shift (solve for the separation) or the separation (solve for the shift)"),
    };
    Ok(Estimate {
        electrode_spacing_nm: l_nm,
        distance_nm: d_nm,
        permittivity,
        image_factor_half: image_factor(d_nm, l_nm)? / 2.0,
        radius_nm: r,
        capacitance_af: sphere_capacitance_af(r, d_nm, l_nm, permittivity)?,
        coulomb_gap_mv: gap,
        charging_energy_mev: gap,
        addition_energy_mev: addition_energy_mev(r, d_nm, l_nm, permittivity)?,
        separation_nm: pair.map(|p| p.0),
        writing_shift_mv: pair.map(|p| p.1),
        point_charge_shift_mv: match pair {
            Some((s, _)) => Some(point_charge_shift_mv(s, permittivity)?),
            None => None,
        },
        pair_capacitance_af: match pair {
            Some((s, _)) => Some(pair_capacitance_af(r, s, permittivity)?),
            None => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_numbers() {
        let k = image_factor(1.0, 3.0).unwrap();
        assert!((k / 2.0 + 1.6479).abs() < 1e-3, "K/2 = {}", k / 2.0);
        let r = radius_from_gap_nm(310.0, 1.0, 3.0, 9.0).unwrap();
        assert!((r - 0.226).abs() < 5e-4, "r = {r}");
        let gap = coulomb_gap_mv(r, 1.0, 3.0, 9.0).unwrap();
        assert!((gap - 310.0).abs() < 1e-9);
        let s = separation_from_shift_nm(70.0, r, 9.0).unwrap();
        assert!((s - 0.464).abs() < 5e-4, "s = {s}");
        assert!((separation_from_shift_nm(70.0, 0.2, 9.0).unwrap() - 0.409).abs() < 5e-4);
        assert!((writing_shift_mv(r, s, 9.0).unwrap() - 70.0).abs() < 1e-9);
    }

    #[test]
    fn two_sphere_shift_rises_with_distance_where_a_point_charge_falls() {
        // Paper 2's two-sphere formula: 0 at touching spheres, e/(2πεε₀r) far away, increasing.
        let r = 0.2;
        let far = E_C / (2.0 * std::f64::consts::PI * 9.0 * EPSILON_0_F_PER_M * r * NM) * 1e3;
        let mut last = 0.0;
        for s in [0.401, 0.409, 0.45, 0.6, 1.0, 10.0, 1e4] {
            let w = writing_shift_mv(r, s, 9.0).unwrap();
            assert!(
                w > last && w < far,
                "s = {s}: {w} mV (previous {last}, limit {far})"
            );
            last = w;
        }
        assert!((last - far).abs() < 1e-3 * far);
        // Point charge: 1.44 eV·nm/(ε s) by hand: 1.439965/(9·0.4) V = 399.99 mV at s = 0.4 nm.
        let p = point_charge_shift_mv(0.4, 9.0).unwrap();
        assert!((p - 399.99).abs() < 0.05, "{p}");
        assert!(point_charge_shift_mv(0.8, 9.0).unwrap() < p);
        let e = estimate(None, Some(r), 1.0, 3.0, 9.0, None, Some(0.45)).unwrap();
        assert_eq!(
            e.point_charge_shift_mv,
            Some(point_charge_shift_mv(0.45, 9.0).unwrap())
        );
    }

    #[test]
    fn unphysical_inputs_are_errors() {
        assert!(image_factor(3.0, 3.0).is_err());
        assert!(image_factor(-1.0, 3.0).is_err());
        assert!(radius_from_gap_nm(-5.0, 1.0, 3.0, 9.0).is_err());
        assert!(radius_from_gap_nm(1.0, 1.0, 3.0, 9.0).is_err());
        assert!(pair_capacitance_af(0.3, 0.5, 9.0).is_err());
        assert!(separation_from_shift_nm(1e5, 0.226, 9.0).is_err());
    }

    #[test]
    fn addition_energy_is_e_squared_over_c_by_hand() {
        // Hand calculation for r = 0.226 nm, d = 1 nm, l = 3 nm, ε = 9 (paper 2, SI Note 5):
        // K/2 = ψ(1/3)/2 + ψ(2/3)/2 + γ = −1.6479; C = 4π·9·ε₀·0.226 nm / (1 − 1.6479·0.226/3)
        // = 2.26334e-19 F / 0.875852 = 2.5842e-19 F; U = e²/C = e·(1.602177e-19 C / C) = 620.0 meV.
        let c_f = 4.0 * std::f64::consts::PI * 9.0 * 8.854_187_8e-12 * 0.226e-9
            / (1.0 - 1.6479 * 0.226 / 3.0);
        let by_hand = 1.602_176_634e-19 / c_f * 1e3;
        assert!((by_hand - 620.0).abs() < 0.5, "{by_hand}");
        let u = addition_energy_mev(0.226, 1.0, 3.0, 9.0).unwrap();
        assert!((u - by_hand).abs() < 0.05, "{u} vs {by_hand}");
        // Twice the paper's E_C = e²/2C = e·Δ_CG.
        let gap = coulomb_gap_mv(0.226, 1.0, 3.0, 9.0).unwrap();
        assert!((u - 2.0 * gap).abs() < 1e-9);
    }
}
