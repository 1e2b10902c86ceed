//! `spinpath capacitance`: paper 2's SI Note 5 capacitance estimates, forward and inverse.

use spinpath::capacitance as cap;

/// Arguments of `spinpath capacitance`. Give either `--gap-mv` (→ radius) or `--radius-nm`
/// (→ gap); optionally `--shift-mv` (→ separation) or `--separation-nm` (→ shift).
#[derive(clap::Args)]
pub struct CapacitanceArgs {
    /// Coulomb gap Δ_CG in mV (solve for the radius).
    #[arg(long = "gap-mV", conflicts_with = "radius_nm")]
    pub gap_mv: Option<f64>,
    /// Sphere radius r in nm (solve for the gap).
    #[arg(long = "radius-nm")]
    pub radius_nm: Option<f64>,
    /// Distance d of the sphere from one electrode, nm.
    #[arg(long = "distance-nm", default_value_t = 1.0)]
    pub distance_nm: f64,
    /// Electrode spacing l, nm.
    #[arg(long = "spacing-nm", default_value_t = 3.0)]
    pub spacing_nm: f64,
    /// Relative permittivity ε of the barrier.
    #[arg(long, default_value_t = 9.0)]
    pub permittivity: f64,
    /// Writing shift Δ_W in mV (solve for the centre distance to the gating sphere).
    #[arg(long = "shift-mV", conflicts_with = "separation_nm")]
    pub shift_mv: Option<f64>,
    /// Centre distance s to the gating sphere, nm (solve for the shift).
    #[arg(long = "separation-nm")]
    pub separation_nm: Option<f64>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Execute `spinpath capacitance`.
pub fn run(a: CapacitanceArgs) -> anyhow::Result<()> {
    let (r, gap) = match (a.gap_mv, a.radius_nm) {
        (Some(g), None) => (cap::radius_from_gap_nm(g, a.distance_nm, a.spacing_nm, a.permittivity)?, g),
        (None, Some(r)) => (r, cap::coulomb_gap_mv(r, a.distance_nm, a.spacing_nm, a.permittivity)?),
        _ => anyhow::bail!("give exactly one of --gap-mV (solve for the radius) or --radius-nm (solve for the gap)"),
    };
    let c_self = cap::sphere_capacitance_af(r, a.distance_nm, a.spacing_nm, a.permittivity)?;
    let k = cap::image_factor(a.distance_nm, a.spacing_nm)?;
    let addition = cap::addition_energy_mev(r, a.distance_nm, a.spacing_nm, a.permittivity)?;
    let pair = match (a.shift_mv, a.separation_nm) {
        (Some(w), None) => Some((cap::separation_from_shift_nm(w, r, a.permittivity)?, w)),
        (None, Some(s)) => Some((s, cap::writing_shift_mv(r, s, a.permittivity)?)),
        _ => None,
    };
    if a.json {
        let mut v = serde_json::json!({
            "electrode_spacing_nm": a.spacing_nm, "distance_nm": a.distance_nm, "permittivity": a.permittivity,
            "image_factor_half": k / 2.0, "radius_nm": r, "capacitance_aF": c_self, "coulomb_gap_mV": gap,
            "charging_energy_meV": gap, "addition_energy_meV": addition,
        });
        if let Some((s, w)) = pair {
            v["separation_nm"] = s.into();
            v["writing_shift_mV"] = w.into();
            v["pair_capacitance_aF"] = cap::pair_capacitance_af(r, s, a.permittivity)?.into();
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!(
        "geometry: l = {} nm, d = {} nm, eps = {}",
        a.spacing_nm, a.distance_nm, a.permittivity
    );
    println!("  (psi(d/l) + psi(1-d/l) + 2 gamma)/2 = {:.4}", k / 2.0);
    println!("  radius r          = {r:.4} nm");
    println!("  capacitance C     = {c_self:.4} aF");
    println!("  Coulomb gap D_CG  = {gap:.2} mV   (paper: E_C = e^2/2C = e D_CG = {gap:.2} meV)");
    println!(
        "  addition energy U = e^2/C = {addition:.2} meV   (the dots engine's charging_meV, set by [dots.electrostatics.from_geometry]; its bias gap is U/(1/2 - lever_arm))"
    );
    if let Some((s, w)) = pair {
        println!("  gating distance s = {s:.4} nm");
        println!(
            "  writing shift D_W = {w:.2} mV   (pair capacitance {:.4} aF)",
            cap::pair_capacitance_af(r, s, a.permittivity)?
        );
    }
    Ok(())
}
