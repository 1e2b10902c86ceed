//! End-to-end tests of `spinpath dots` and `spinpath capacitance`.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_spinpath"))
}

fn preset() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/memristive-cb.toml")
}

#[test]
fn dots_preset_writes_outputs_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mcb");
    let o = bin()
        .arg("dots")
        .arg(preset())
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("writing events"), "{stdout}");
    let iv = std::fs::read_to_string(out.join("iv.csv")).unwrap();
    assert!(iv.starts_with(
        "state,bias_mV,current_nA,current_up_nA,current_down_nA,power_nW,branch,direction\n"
    ));
    assert!(iv.contains(",ON,") && iv.contains(",OFF,") && iv.contains("AP,"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["seed"], 20260101);
    assert!(std::fs::read_to_string(out.join("didv.svg"))
        .unwrap()
        .starts_with("<svg"));
    // Second run without --force: refused, nothing changed.
    let o = bin()
        .arg("dots")
        .arg(preset())
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    let o = bin()
        .arg("dots")
        .arg(preset())
        .arg("--output")
        .arg(&out)
        .arg("--force")
        .output()
        .unwrap();
    assert!(o.status.success());
}

#[test]
fn dots_config_error_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(preset())
        .unwrap()
        .replace("lever_arm = -0.3", "lever_arm = -0.8");
    std::fs::write(&cfg, text).unwrap();
    let o = bin()
        .arg("dots")
        .arg(&cfg)
        .arg("--output")
        .arg(dir.path().join("o"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.toml:")
            && err.contains("dots.dot[0].lever_arm")
            && err.contains("[-0.5, 0.5]"),
        "{err}"
    );
    assert!(
        !dir.path().join("o").exists(),
        "no output folder on a config error"
    );
}

#[test]
fn capacitance_reproduces_si_note_5() {
    let o = bin()
        .args([
            "capacitance",
            "--gap-mV",
            "310",
            "--shift-mV",
            "70",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!((v["radius_nm"].as_f64().unwrap() - 0.226).abs() < 5e-4);
    assert!((v["separation_nm"].as_f64().unwrap() - 0.464).abs() < 5e-4);
    let o = bin()
        .args(["capacitance", "--gap-mV", "310", "--distance-nm", "4"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("inside the gap"));
}

#[test]
fn dots_monte_carlo_traces_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("mc.toml");
    let text = std::fs::read_to_string(preset())
        .unwrap()
        .replace("states = [\"P\", \"AP\"]", "states = [\"P\"]")
        .replace("solver = \"transient\"", "solver = \"steady\"")
        + "\n[dots_run.monte_carlo]\nbias_mV = [-170.0, 0.0]\nduration_s = 2e-7\nintegration_time_s = 1e-9\nhistory_events = 50\n";
    std::fs::write(&cfg, text).unwrap();
    let out = dir.path().join("o");
    let o = bin()
        .arg("dots")
        .arg(&cfg)
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let trace = std::fs::read_to_string(out.join("kmc_trace.csv")).unwrap();
    assert!(trace.starts_with("bias_mV,time_s,current_nA,state\n"));
    assert_eq!(trace.lines().count(), 1 + 2 * 200);
    let history = std::fs::read_to_string(out.join("kmc_history.csv")).unwrap();
    // 50 events at −170 mV (transport), none at 0 mV (blockade: no event in 0.2 µs).
    assert_eq!(
        history.lines().filter(|l| l.starts_with("-170,")).count(),
        50
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let b = &summary["monte_carlo"]["biases"][0];
    let (mean, err, me) = (
        b["mean_current_nA"].as_f64().unwrap(),
        b["standard_error_nA"].as_f64().unwrap(),
        b["master_equation_current_nA"].as_f64().unwrap(),
    );
    assert!(
        me < -1.0 && (mean - me).abs() < 5.0 * err,
        "MC {mean} ± {err} vs ME {me}"
    );
    assert_eq!(summary["monte_carlo"]["seed"], 20260101);
}
