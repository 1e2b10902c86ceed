//! End-to-end test of `spinpath fit`: data written by `spinpath run` are fitted back.

use std::process::Command;

fn spinpath(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_spinpath"))
        .args(args)
        .current_dir(dir)
        .env("CI", "1")
        .output()
        .expect("runs")
}

/// Run `model` with `spinpath run` into `<dir>/sim` and split its `iv.csv` into one
/// `bias_mV,current_nA` file per state (`<state>.csv`), as a lab would have them.
fn simulate_and_split(d: &std::path::Path, model: &str, states: &[&str]) {
    std::fs::write(d.join("model.toml"), model).unwrap();
    let run = spinpath(&["run", "model.toml", "-o", "sim"], d);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let iv = std::fs::read_to_string(d.join("sim/iv.csv")).unwrap();
    for state in states {
        let mut out = String::from("bias_mV,current_nA\n");
        for line in iv
            .lines()
            .skip(1)
            .filter(|l| l.starts_with(&format!("{state},")))
        {
            let f: Vec<&str> = line.split(',').collect();
            out += &format!("{},{}\n", f[1], f[2]);
        }
        std::fs::write(d.join(format!("{state}.csv")), out).unwrap();
    }
}

/// A column of the row `name` of a `parameters.csv` (2 = value, 3 = stderr).
fn param(params: &str, name: &str, column: usize) -> f64 {
    let line = params
        .lines()
        .find(|l| l.starts_with(&format!("{name},")))
        .unwrap_or_else(|| panic!("no {name} in {params}"));
    line.split(',').nth(column).unwrap().parse().unwrap()
}

const MODEL: &str = r#"
[spin_engine]
spin_accumulation_meV = 8.4
spinterface_splitting_meV = 2.0
polarization_left = 0.35
polarization_right = 0.35
accumulation_ratio_right = 0.3
[spin_engine.P]
dimer_energy_meV = -2.5
dimer_asymmetry_meV = 0.5
[spin_engine.AP]
dimer_energy_meV = 0.85
dimer_asymmetry_meV = -0.75
[run.bias]
from_mV = -3.0
to_mV = 3.0
points = 61
"#;

#[test]
fn fit_recovers_the_parameters_of_simulated_files_and_writes_a_runnable_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    simulate_and_split(d, MODEL, &["P", "AP"]);
    let fit = r#"
model = "model.toml"
[[data]]
state = "P"
file = "P.csv"
sigma_nA = 0.001
[[data]]
state = "AP"
file = "AP.csv"
sigma_nA = 0.001
[parameters]
"P.dimer_energy_meV" = { value = -2.0, min = -5.0, max = 0.0 }
delta = { value = 3.0, min = 0.0, max = 5.0 }
"AP.dimer_energy_meV" = { expr = "P.dimer_energy_meV + delta" }
"#;
    std::fs::write(d.join("fit.toml"), fit).unwrap();
    let out = spinpath(&["fit", "fit.toml"], d);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let params = std::fs::read_to_string(d.join("out/fit/parameters.csv")).unwrap();
    let value = |name: &str| param(&params, name, 2);
    assert!((value("P.dimer_energy_meV") + 2.5).abs() < 1e-4, "{params}");
    assert!((value("delta") - 3.35).abs() < 1e-4, "{params}");
    assert!(
        (value("AP.dimer_energy_meV") - 0.85).abs() < 1e-4,
        "{params}"
    );
    for f in [
        "fit.csv",
        "correlation.csv",
        "fit.svg",
        "summary.json",
        "best-fit.toml",
    ] {
        assert!(d.join("out/fit").join(f).is_file(), "missing {f}");
    }
    // The best-fit model runs.
    let rerun = spinpath(&["run", "out/fit/best-fit.toml", "-o", "rerun"], d);
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );

    // A bad fit file names the line and key.
    std::fs::write(
        d.join("bad.toml"),
        fit.replace("state = \"AP\"", "state = \"XP\""),
    )
    .unwrap();
    let bad = spinpath(&["fit", "bad.toml"], d);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && err.contains("bad.toml:") && err.contains("data[1].state"),
        "{err}"
    );
}

const DOTS: &str = r#"
[dots]
temperature_K = 20.0

[[dots.dot]]
name = "d"
charging_meV = 40.0
lever_arm = 0.2
orbitals = [{ energy_meV = 5.0 }]

[dots.leads.left]
gamma_meV = { d = 0.01 }
polarization = 0.3

[dots.leads.right]
gamma_meV = { d = 0.02 }
polarization = 0.3

[dots_run]
states = ["P", "AP"]
solver = "steady"
sweep_mV = [-80.0, 80.0]
step_mV = 2.0
dwell_s = 0.0
"#;

#[test]
fn dots_fit_recovers_level_lever_arm_and_coupling() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    simulate_and_split(d, DOTS, &["P"]);
    let fit = r#"
model = "model.toml"
[[data]]
state = "P"
file = "P.csv"
[parameters]
"d.orbital0.energy_meV" = { value = 8.0, min = -20.0, max = 20.0 }
"d.lever_arm" = { value = 0.1, min = -0.5, max = 0.5 }
"left.gamma_meV.d" = { value = 0.02, min = 0.001, max = 0.1 }
"#;
    std::fs::write(d.join("fit.toml"), fit).unwrap();
    let out = spinpath(&["fit", "fit.toml"], d);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let params = std::fs::read_to_string(d.join("out/fit/parameters.csv")).unwrap();
    let value = |name: &str| param(&params, name, 2);
    assert!(
        (value("d.orbital0.energy_meV") - 5.0).abs() < 1e-3,
        "{params}"
    );
    assert!((value("d.lever_arm") - 0.2).abs() < 1e-4, "{params}");
    assert!((value("left.gamma_meV.d") - 0.01).abs() < 1e-5, "{params}");
    // The best-fit dots file runs and carries the fitted values.
    let best = std::fs::read_to_string(d.join("out/fit/best-fit.toml")).unwrap();
    assert!(!best.contains("NOTE"), "{best}");
    let rerun = spinpath(&["run", "out/fit/best-fit.toml", "-o", "rerun"], d);
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
}

const CHAIN: &str = r#"
[chain]
temperature_K = 30.0
hoppings_meV = [0.8]

[[chain.sites]]
name = "A"
energy_meV = 2.0

[[chain.sites]]
name = "B"
energy_meV = -1.0
splitting_meV = 0.5
axis = "right"

[chain.leads.left]
width_meV = 1.5
polarization = 0.4

[chain.leads.right]
width_meV = 1.0
polarization = 0.4

[[states]]
name = "P"
angle_deg = 0.0

[[states]]
name = "perp"
angle_deg = 90.0
energies_meV = { A = 2.5 }

[run.bias]
from_mV = -20.0
to_mV = 20.0
points = 81
"#;

#[test]
fn general_chain_fit_recovers_site_lead_and_per_state_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    simulate_and_split(d, CHAIN, &["P", "perp"]);
    let fit = r#"
model = "model.toml"
[[data]]
state = "P"
file = "P.csv"
[[data]]
state = "perp"
file = "perp.csv"
[parameters]
"B.energy_meV" = { value = 0.0, min = -5.0, max = 5.0 }
"left.width_meV" = { value = 1.0, min = 0.1, max = 5.0 }
"perp.A.energy_meV" = { value = 2.0, min = -5.0, max = 5.0 }
"#;
    std::fs::write(d.join("fit.toml"), fit).unwrap();
    let out = spinpath(&["fit", "fit.toml"], d);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let params = std::fs::read_to_string(d.join("out/fit/parameters.csv")).unwrap();
    let value = |name: &str| param(&params, name, 2);
    assert!((value("B.energy_meV") + 1.0).abs() < 1e-4, "{params}");
    assert!((value("left.width_meV") - 1.5).abs() < 1e-4, "{params}");
    assert!((value("perp.A.energy_meV") - 2.5).abs() < 1e-4, "{params}");
    let rerun = spinpath(&["run", "out/fit/best-fit.toml", "-o", "rerun"], d);
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let a = std::fs::read_to_string(d.join("rerun/iv.csv")).unwrap();
    let b = std::fs::read_to_string(d.join("sim/iv.csv")).unwrap();
    let cur = |t: &str| -> Vec<f64> {
        t.lines()
            .skip(1)
            .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
            .collect()
    };
    for (x, y) in cur(&a).iter().zip(cur(&b)) {
        assert!(
            (x - y).abs() < 1e-5 * (1.0 + y.abs()),
            "the best-fit model reproduces the data"
        );
    }
}

#[test]
fn per_point_uncertainties_come_from_a_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("model.toml"), MODEL).unwrap();
    assert!(spinpath(&["run", "model.toml", "-o", "sim"], d)
        .status
        .success());
    let iv = std::fs::read_to_string(d.join("sim/iv.csv")).unwrap();
    let mut out = String::from("bias_mV,current_nA,sigma_nA\n");
    for (k, line) in iv
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("P,"))
        .enumerate()
    {
        let f: Vec<&str> = line.split(',').collect();
        // Larger uncertainties on every other point: the weights matter for χ².
        out += &format!(
            "{},{},{}\n",
            f[1],
            f[2],
            if k % 2 == 0 { 0.001 } else { 0.01 }
        );
    }
    std::fs::write(d.join("P.csv"), &out).unwrap();
    let fit = r#"
model = "model.toml"
[fit]
scale_covariance = false
[[data]]
state = "P"
file = "P.csv"
sigma = "sigma_nA"
[parameters]
"P.dimer_energy_meV" = { value = -2.0, min = -5.0, max = 0.0 }
"#;
    std::fs::write(d.join("fit.toml"), fit).unwrap();
    let res = spinpath(&["fit", "fit.toml"], d);
    assert!(
        res.status.success(),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/fit/summary.json")).unwrap())
            .unwrap();
    assert!(
        summary["chi2"].as_f64().unwrap() < 1e-6,
        "noise-free data fit exactly"
    );
    let params = std::fs::read_to_string(d.join("out/fit/parameters.csv")).unwrap();
    let stderr = param(&params, "P.dimer_energy_meV", 3);
    assert!(stderr > 0.0 && stderr < 1e-2, "{params}");
    // A zero uncertainty is refused with the row named.
    std::fs::write(d.join("P.csv"), out.replacen(",0.001\n", ",0\n", 1)).unwrap();
    let bad = spinpath(&["fit", "fit.toml", "--force"], d);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("row 1"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

/// A number after `"key":` in a JSON text (first occurrence after `from`).
fn json_number(text: &str, key: &str, from: usize) -> (f64, usize) {
    let at = from
        + text[from..]
            .find(&format!("\"{key}\""))
            .expect("key present");
    let rest = &text[at + key.len() + 3..];
    let rest = rest.trim_start().trim_start_matches('[').trim_start();
    let end = rest.find([',', '\n', ']']).unwrap();
    (rest[..end].trim().parse().unwrap(), at + 1)
}

#[test]
fn a_fit_to_features_alone_recovers_the_model_that_produced_them() {
    // The features (I(0) and V_oc of P and AP) come from `spinpath run`'s own analysis of a sweep
    // of MODEL; the fit sees only those four numbers and starts away from MODEL's values.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("model.toml"), MODEL).unwrap();
    let run = spinpath(&["run", "model.toml", "-o", "sim"], d);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let s = std::fs::read_to_string(d.join("sim/summary.json")).unwrap();
    let (i0_p, at) = json_number(&s, "current_at_zero_bias_nA", 0);
    let (voc_p, _) = json_number(&s, "open_circuit_voltages_mV", at);
    let (i0_ap, at2) = json_number(&s, "current_at_zero_bias_nA", at);
    let (voc_ap, _) = json_number(&s, "open_circuit_voltages_mV", at2);
    assert!(voc_p > 0.0 && voc_ap > -0.5, "{voc_p} {voc_ap}");
    let fit = format!(
        r#"model = "model.toml"
[fit]
rel_tol = 1e-8
[[feature]]
kind = "current"
state = "P"
bias_mV = 0.0
value_nA = {i0_p}
sigma_nA = 0.002
[[feature]]
kind = "current"
state = "AP"
bias_mV = 0.0
value_nA = {i0_ap}
sigma_nA = 0.002
[[feature]]
kind = "zero_current"
state = "P"
window_mV = [{}, 3.0]
value_mV = {voc_p}
sigma_mV = 0.005
[[feature]]
kind = "zero_current"
state = "AP"
window_mV = [-0.5, {}]
value_mV = {voc_ap}
sigma_mV = 0.005
[parameters]
"spin_accumulation_meV" = {{ value = 7.0, min = 0.0, max = 20.0 }}
"P.dimer_energy_meV" = {{ value = -2.0, min = -6.0, max = 2.0 }}
"AP.dimer_energy_meV" = {{ value = 1.2, min = -2.0, max = 4.0 }}
"#,
        voc_p * 0.3,
        voc_ap + 0.5
    );
    std::fs::write(d.join("fit.toml"), fit).unwrap();
    let out = spinpath(&["fit", "fit.toml", "-o", "fitted"], d);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let params = std::fs::read_to_string(d.join("fitted/parameters.csv")).unwrap();
    for (name, want) in [
        ("spin_accumulation_meV", 8.4),
        ("P.dimer_energy_meV", -2.5),
        ("AP.dimer_energy_meV", 0.85),
    ] {
        let got = param(&params, name, 2);
        assert!(
            (got - want).abs() < 0.02,
            "{name}: {got} vs {want}\n{params}"
        );
    }
    let features = std::fs::read_to_string(d.join("fitted/features.csv")).unwrap();
    assert_eq!(features.lines().count(), 5, "{features}");
    assert!(features.starts_with("feature,quantity,unit,target,sigma,model,deviation_sigma"));
}

#[test]
fn bad_features_name_the_key_and_what_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("model.toml"), MODEL).unwrap();
    let cases = [
        ("kind = \"voc\"\nstate = \"P\"", "feature[0].kind", "zero_current"),
        (
            "kind = \"current\"\nstate = \"P\"\nbias_mV = 0.0\nvalue_nA = 1.0",
            "feature[0].sigma_nA",
            "needs `sigma_nA`",
        ),
        (
            "kind = \"current\"\nstate = \"X\"\nbias_mV = 0.0\nvalue_nA = 1.0\nsigma_nA = 0.1",
            "feature[0].state",
            "allowed",
        ),
        (
            "kind = \"tmr_peak\"\nwindow_mV = [-1.0, -6.0]\nbias_mV = -3.5\nsigma_mV = 0.2",
            "feature[0].window_mV",
            "from < to",
        ),
        (
            "kind = \"tmr\"\nbias_mV = 1.0\nvalue_percent = 10.0\nsigma_percent = 1.0\nvalue_nA = 1.0",
            "feature[0].value_nA",
            "does not apply",
        ),
    ];
    for (body, key, what) in cases {
        let text = format!(
            "model = \"model.toml\"\n[[feature]]\n{body}\n[parameters]\n\"spin_accumulation_meV\" = {{ value = 7.0, min = 0.0, max = 20.0 }}\n"
        );
        std::fs::write(d.join("bad.toml"), text).unwrap();
        let out = spinpath(&["fit", "bad.toml", "-o", "never"], d);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(
            err.contains("bad.toml:") && err.contains(key) && err.contains(what),
            "{key}: {err}"
        );
        assert!(!d.join("never").exists());
    }
}
