//! End-to-end tests of `spinpath run`: files written, no clobbering without --force, clear errors.

use std::path::Path;
use std::process::Command;

const SMALL: &str = r#"
title = "small"
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
from_mV = -2.0
to_mV = 2.0
points = 41
[run.spectra]
bias_mV = [0.0]
points = 11
dos = true
"#;

fn spinpath(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_spinpath"))
        .args(args)
        .current_dir(dir)
        .env("CI", "1")
        .output()
        .expect("the binary runs")
}

#[test]
fn run_writes_results_and_refuses_to_clobber() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("small.toml"), SMALL).unwrap();
    let out = spinpath(&["run", "small.toml"], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let res = dir.path().join("out/small");
    for f in [
        "iv.csv",
        "tmr.csv",
        "summary.json",
        "iv.svg",
        "transmission.csv",
        "dos.csv",
        "transmission.svg",
        "config.toml",
    ] {
        assert!(res.join(f).is_file(), "missing {f}");
    }
    let iv = std::fs::read_to_string(res.join("iv.csv")).unwrap();
    assert!(iv.starts_with("state,bias_mV,current_nA,current_up_nA,current_down_nA,power_nW,"));
    assert_eq!(iv.lines().count(), 1 + 2 * 41);
    assert!(!iv.contains("NaN") && !iv.contains("inf"));
    let tmr = std::fs::read_to_string(res.join("tmr.csv")).unwrap();
    assert!(tmr.starts_with("bias_mV,current_p_nA,current_ap_nA,tmr_percent,tmr"));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(res.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["states"][0]["state"], "P");
    assert!(
        summary["states"][0]["current_at_zero_bias_nA"]
            .as_f64()
            .unwrap()
            < 0.0
    );
    assert!(!summary["tmr"]["ranges_tmr_below_minus_100_percent_mV"]
        .as_array()
        .unwrap()
        .is_empty());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("I(0)") && stdout.contains("TMR"),
        "{stdout}"
    );

    // A second run must not touch the existing folder...
    std::fs::write(res.join("iv.csv"), "sentinel").unwrap();
    let again = spinpath(&["run", "small.toml"], dir.path());
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(
        std::fs::read_to_string(res.join("iv.csv")).unwrap(),
        "sentinel"
    );
    // ... unless --force is given.
    let forced = spinpath(&["run", "small.toml", "--force"], dir.path());
    assert!(forced.status.success());
    assert_ne!(
        std::fs::read_to_string(res.join("iv.csv")).unwrap(),
        "sentinel"
    );
    // No temporary files are left behind.
    assert!(std::fs::read_dir(&res).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".tmp")));
}

#[test]
fn bad_input_gives_a_clear_error_and_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        SMALL.replace("polarization_left = 0.35", "polarization_left = 3.5"),
    )
    .unwrap();
    let out = spinpath(&["run", "bad.toml"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:6:")
            && err.contains("spin_engine.polarization_left")
            && err.contains("-1 <= p <= 1"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    assert!(
        !dir.path().join("out/bad").exists(),
        "no output folder for a failed parse"
    );

    let out = spinpath(&["run", "missing.toml"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}
