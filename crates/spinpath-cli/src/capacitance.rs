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
    if a.gap_mv.is_none() && a.radius_nm.is_none() {
        anyhow::bail!("give exactly one of --gap-mV (solve for the radius) or --radius-nm (solve for the gap)");
    }
    let e = cap::estimate(
        a.gap_mv,
        a.radius_nm,
        a.distance_nm,
        a.spacing_nm,
        a.permittivity,
        a.shift_mv,
        a.separation_nm,
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&e)?);
        return Ok(());
    }
    let (r, gap, c_self, k, addition) = (
        e.radius_nm,
        e.coulomb_gap_mv,
        e.capacitance_af,
        2.0 * e.image_factor_half,
        e.addition_energy_mev,
    );
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
    if let (Some(s), Some(w), Some(c)) =
        (e.separation_nm, e.writing_shift_mv, e.pair_capacitance_af)
    {
        println!("  gating distance s = {s:.4} nm");
        println!("  writing shift D_W = {w:.2} mV   (pair capacitance {c:.4} aF)");
        if let Some(pc) = e.point_charge_shift_mv {
            println!(
                "  point charge e/(4 pi eps eps0 s) = {pc:.2} mV   (note: the paper's two-sphere D_W rises with s, from 0 at touching spheres to e/(2 pi eps eps0 r) far away; a point charge's potential falls with s)"
            );
        }
    }
    Ok(())
}
