//! One device, many approaches: the same device solved by the coherent (NEGF) and the sequential
//! (Pauli) approaches; the seam's errors; the run-file wiring.

use spinpath::device::Device;
use spinpath::engine::{ApproachKind, ApproachSettings, Kernel};
use spinpath::run::{Job, RunFile};

/// A single spinful level (U = 0) between two leads, as a `[dots]` file.
fn single_level(energy: f64, gamma: f64, t_k: f64, approach: &str, p: f64) -> String {
    format!(
        r#"
[dots]
temperature_K = {t_k}
[[dots.dot]]
name = "d"
lever_arm = 0.0
orbitals = [{{ energy_meV = {energy}, zeeman_meV = 6.0 }}]
[dots.leads.left]
gamma_meV = {{ d = {gamma} }}
polarization = {p}
[dots.leads.right]
gamma_meV = {{ d = {gamma} }}
polarization = {p}
[dots_run]
approach = "{approach}"
solver = "steady"
sweep_mV = [-20.0, 20.0]
step_mV = 1.0
dwell_s = 1e-3
"#
    )
}

fn currents(text: &str) -> Vec<(f64, f64)> {
    let rf = RunFile::parse("level.toml", text).unwrap();
    let Job::DotsSweep(job) = &rf.job else {
        panic!("not a dots sweep")
    };
    let sweeps = spinpath::run::dots_sweeps(&rf.device, job, &|| {}).unwrap();
    sweeps[0]
        .points
        .iter()
        .zip(&sweeps[0].results)
        .map(|(p, r)| (p.bias_mv, r.current_na))
        .collect()
}

#[test]
fn negf_and_pauli_agree_on_a_non_interacting_level_when_kt_dominates() {
    // k_BT = 2.6 meV ≫ Γ = 0.01 meV: the coherent current equals the sequential one up to
    // corrections of order Γ/k_BT (level broadening), for spin-split, polarised leads.
    for p in [0.0, 0.5] {
        let pauli = currents(&single_level(3.0, 0.01, 30.0, "pauli", p));
        let negf = currents(&single_level(3.0, 0.01, 30.0, "negf", p));
        let scale = pauli.iter().map(|x| x.1.abs()).fold(0.0, f64::max);
        assert!(scale > 0.1, "a sizeable current flows: {scale} nA");
        for (a, b) in pauli.iter().zip(&negf) {
            assert_eq!(a.0, b.0);
            assert!(
                (a.1 - b.1).abs() < 0.02 * scale,
                "p = {p}, V = {} mV: pauli {} vs negf {} nA",
                a.0,
                a.1,
                b.1
            );
        }
        // No current without bias in either approach.
        let zero = pauli.iter().position(|x| x.0 == 0.0).unwrap();
        assert!(pauli[zero].1.abs() < 1e-9 * scale && negf[zero].1.abs() < 1e-6 * scale);
    }
}

#[test]
fn the_approaches_disagree_when_the_level_is_broad() {
    // Γ ≫ k_BT: sequential tunnelling misses the broadening — the comparison above can fail.
    let pauli = currents(&single_level(3.0, 2.0, 1.0, "pauli", 0.0));
    let negf = currents(&single_level(3.0, 2.0, 1.0, "negf", 0.0));
    let diff = pauli
        .iter()
        .zip(&negf)
        .map(|(a, b)| (a.1 - b.1).abs())
        .fold(0.0, f64::max);
    let scale = pauli.iter().map(|x| x.1.abs()).fold(0.0, f64::max);
    assert!(diff > 0.05 * scale, "{diff} vs {scale}");
}

#[test]
fn devices_that_do_not_fit_an_approach_are_refused_clearly() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/memristive-cb.toml"
    ))
    .unwrap();
    let rf = RunFile::parse("memristive-cb.toml", &text).unwrap();
    let negf = ApproachKind::Negf.build(&ApproachSettings::default());
    let e = negf
        .prepare(&rf.device, &rf.device.states[0])
        .err()
        .expect("NEGF refuses U != 0")
        .to_string();
    assert!(e.contains("charging_meV") && e.contains("pauli"), "{e}");
    // In a file: approach = "negf" on interacting dots fails when the sweep starts, naming why.
    let bad = text.replace("[dots_run]", "[dots_run]\napproach = \"negf\"");
    let rf = RunFile::parse("memristive-negf.toml", &bad).unwrap();
    let e = rf.execute(&|| {}).unwrap_err().to_string();
    assert!(e.contains("non-interacting"), "{e}");
    // Unknown approach names list the registered ones.
    let bad = text.replace("[dots_run]", "[dots_run]\napproach = \"pauly\"");
    let e = RunFile::parse("x.toml", &bad).unwrap_err().to_string();
    assert!(
        e.contains("dots_run.approach") && e.contains("negf") && e.contains("pauli"),
        "{e}"
    );
    // Monte Carlo needs rates.
    let bad = single_level(1.0, 0.1, 4.0, "negf", 0.0).replace("\"steady\"", "\"monte-carlo\"");
    let e = RunFile::parse("x.toml", &bad).unwrap_err().to_string();
    assert!(e.contains("Monte Carlo"), "{e}");
}

#[test]
fn negf_and_eigenbasis_pauli_agree_on_a_tunnel_coupled_pair() {
    // Two non-interacting orbitals coupled by t = 3 meV (bonding/antibonding at ±t), k_BT = 2.6 meV
    // ≫ Γ = 0.01 meV: the many-body Pauli master equation in the eigenbasis and the coherent chain
    // give the same current (to O(Γ/k_BT)) — the same device through two approaches.
    let text = |approach: &str| {
        format!(
            r#"
[dots]
temperature_K = 30.0
[[dots.dot]]
name = "a"
orbitals = [{{ energy_meV = 4.0 }}]
[[dots.dot]]
name = "b"
orbitals = [{{ energy_meV = 4.0 }}]
[[dots.coupling]]
dots = ["a", "b"]
hopping_meV = 3.0
[dots.leads.left]
gamma_meV = {{ a = 0.01 }}
polarization = 0.4
[dots.leads.right]
gamma_meV = {{ b = 0.01 }}
polarization = 0.4
[dots_run]
approach = "{approach}"
solver = "steady"
sweep_mV = [-24.0, 24.0]
step_mV = 2.0
dwell_s = 1e-3
"#
        )
    };
    let pauli = currents(&text("pauli"));
    let negf = currents(&text("negf"));
    let scale = negf.iter().map(|x| x.1.abs()).fold(0.0, f64::max);
    assert!(scale > 0.05, "{scale}");
    for (a, b) in pauli.iter().zip(&negf) {
        assert!(
            (a.1 - b.1).abs() < 0.03 * scale,
            "V = {} mV: pauli {} vs negf {} nA",
            a.0,
            a.1,
            b.1
        );
    }
    // The spin-engine chain under NEGF gives a stationary kernel; under Pauli a non-collinear
    // state is refused (the master equations quantise spin along z).
    let se = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/spin-engine.toml"
    ))
    .unwrap();
    let rf = RunFile::parse("spin-engine.toml", &se).unwrap();
    let negf = ApproachKind::Negf.build(&ApproachSettings::default());
    let k = negf
        .prepare(&rf.device, &rf.device.states[0])
        .unwrap()
        .kernel(0.0)
        .unwrap();
    assert!(matches!(k, Kernel::Coherent(_)) && k.dim() == 0);
    let mut tilted = rf.device.states[0].clone();
    tilted.angle_deg = 90.0;
    let pauli = ApproachKind::Pauli.build(&ApproachSettings::default());
    let e = pauli
        .prepare(&rf.device, &tilted)
        .err()
        .expect("90 degrees")
        .to_string();
    assert!(e.contains("collinear"), "{e}");
}

#[test]
fn run_files_are_dispatched_once_and_fit_files_pointed_to_fit() {
    let fit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/fit-spin-engine.toml"
    ))
    .unwrap();
    let e = RunFile::parse("fit-spin-engine.toml", &fit)
        .unwrap_err()
        .to_string();
    assert!(e.contains("spinpath fit"), "{e}");
    let wr = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/write-read.toml"
    ))
    .unwrap();
    let rf = RunFile::parse("write-read.toml", &wr).unwrap();
    assert!(rf.is_protocol());
    // A misspelt gating dot names the key and the dots.
    let bad = wr.replace("gating_dot = \"gate\"", "gating_dot = \"gaet\"");
    assert_ne!(bad, wr, "the preset names its gating dot");
    let e = RunFile::parse("write-read.toml", &bad)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("protocol.gating_dot") && e.contains("gaet"),
        "{e}"
    );
    // The device of a dots file has the P and AP states.
    let names: Vec<&str> = rf.device.states.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["P", "AP"]);
    let d: &Device = &rf.device;
    assert!(!d.is_non_interacting());
}

#[test]
fn chain_fits_and_protocols_see_the_exchange_links() {
    // A [chain] with a self-consistent exchange link: the fit model's prediction equals the run's
    // own (self-consistent) sweep, and differs from the same chain without the link.
    use spinpath::fit::chain::{ChainModel, ChainSpec};
    use spinpath::fit::params::Parameters;
    use spinpath::fit::FitModel;
    let text = r#"
[chain]
temperature_K = 50.0
hoppings_meV = [2.0, 2.0]
sites = [
  { name = "A", energy_meV = 0.0, splitting_meV = 2.0 },
  { name = "B", energy_meV = 1.0, exchange = [{ from = "A", coupling_meV = 20.0 }] },
  { name = "C", energy_meV = 0.0 },
]
[chain.leads.left]
site = 0
width_meV = 1.0
polarization = 0.6
spin_accumulation_meV = 3.0
[chain.leads.right]
site = 2
width_meV = 1.0
polarization = 0.6
[run.bias]
values_mV = [-2.0, 0.0, 1.5]
"#;
    let run = spinpath::config::parse_coherent_run("x.toml", text).unwrap();
    assert!(!run.exchange.is_empty());
    let sweeps = spinpath::sweep::run_states(&run, &|| {}).unwrap();
    let params = Parameters::new(Vec::new()).unwrap();
    let model =
        ChainModel::new(ChainSpec::from_run(&run), &params, &["P"], run.integration).unwrap();
    let predicted = model.predict(&[], 0, &run.bias_mv).unwrap();
    let without = ChainModel::new(
        ChainSpec::new(&run.chain, &run.states),
        &params,
        &["P"],
        run.integration,
    )
    .unwrap()
    .predict(&[], 0, &run.bias_mv)
    .unwrap();
    let mut differs = false;
    for (k, p) in sweeps[0].points.iter().enumerate() {
        assert!((p.current() - predicted[k]).abs() <= 1e-12 * p.current().abs().max(1e-9));
        differs |= (without[k] - predicted[k]).abs() > 1e-6 * predicted[k].abs();
    }
    assert!(differs, "the exchange link changes the current");
}

#[test]
fn closed_form_integration_is_a_run_file_choice() {
    // `[run.integration] method = "poles"`: the closed-form integrals agree with the quadrature
    // (tightened) on the spin-engine preset; an unknown method names the key and the choices.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/spin-engine.toml"
    ))
    .unwrap();
    let grid = "\n[run.bias]\nvalues_mV = [-3.0, -0.5, 0.0, 0.4, 1.0, 6.0]\n";
    let base: String = text.split("\n[run").next().unwrap().to_string();
    let quad = format!("{base}{grid}[run.integration]\nrel_tol = 1e-11\nabs_tol_nA = 1e-13\nmax_intervals = 40000\n");
    let poles = format!("{base}{grid}[run.integration]\nmethod = \"poles\"\n");
    let a = spinpath::config::parse_coherent_run("q.toml", &quad).unwrap();
    let b = spinpath::config::parse_coherent_run("p.toml", &poles).unwrap();
    assert!(b.integration.closed_form && !a.integration.closed_form);
    let sa = spinpath::sweep::run_states(&a, &|| {}).unwrap();
    let sb = spinpath::sweep::run_states(&b, &|| {}).unwrap();
    for (x, y) in sa.iter().zip(&sb) {
        let scale = x
            .points
            .iter()
            .map(|p| p.current_up().abs() + p.current_down().abs())
            .fold(0.0, f64::max);
        for (p, q) in x.points.iter().zip(&y.points) {
            assert!(
                (p.current() - q.current()).abs() < 1e-8 * scale,
                "{} V = {}: {} vs {}",
                x.state,
                p.bias_mv,
                p.current(),
                q.current()
            );
        }
        // The closed form evaluates no quadrature points where it applies.
        assert!(y
            .points
            .iter()
            .all(|q| q.evaluations < x.points[0].evaluations));
    }
    let bad = poles.replace("\"poles\"", "\"residues\"");
    let e = spinpath::config::parse_coherent_run("p.toml", &bad)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("run.integration.method") && e.contains("poles"),
        "{e}"
    );
}
