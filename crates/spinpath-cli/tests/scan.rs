//! `spinpath scan`: figures of merit over a parameter.

use std::process::Command;

#[test]
fn scan_of_the_spin_accumulation_starts_in_equilibrium() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let preset = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/spin-engine.toml"
    ))
    .unwrap();
    let small: String = preset
        .replace("points = 2001", "points = 81")
        .split("[run.spectra]")
        .next()
        .unwrap()
        .to_string();
    std::fs::write(d.join("se.toml"), small).unwrap();
    let spinpath = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_spinpath"))
            .args(args)
            .current_dir(d)
            .env("CI", "1")
            .output()
            .unwrap()
    };
    let out = spinpath(&[
        "scan",
        "se.toml",
        "--param",
        "spin_accumulation_meV",
        "--from",
        "0",
        "--to",
        "8.4",
        "--points",
        "3",
        "-o",
        "scan",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(d.join("scan/scan.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 6, "{csv}");
    // No spin accumulation: no current at V = 0, no power, in either state.
    for r in &rows[..2] {
        assert_eq!(r[0], "0");
        assert!(r[2].parse::<f64>().unwrap().abs() < 1e-9, "{csv}");
        assert_eq!(r[4], "0");
    }
    // The paper's spin accumulation: the P state is a generator.
    let p = rows.iter().find(|r| r[0] == "8.4" && r[1] == "P").unwrap();
    assert!(
        p[2].parse::<f64>().unwrap() < -0.1 && p[4].parse::<f64>().unwrap() > 0.0,
        "{csv}"
    );
    assert!(d.join("scan/scan.svg").is_file());
    // An unknown parameter is named, with the list of known ones.
    let bad = spinpath(&[
        "scan", "se.toml", "--param", "nonsense", "--from", "0", "--to", "1", "-o", "bad",
    ]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success()
            && err.contains("`nonsense` is not a parameter")
            && err.contains("P.dimer_energy_meV"),
        "{err}"
    );
    assert!(!d.join("bad").exists());
}
