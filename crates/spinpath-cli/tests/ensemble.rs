//! `spinpath ensemble`: a sharded ensemble merged equals the whole run row for row (and file for
//! file); bad files are named; scan folders carry a summary.json that merges exactly.

use std::path::Path;
use std::process::{Command, Output};

/// The example ensemble at 0.3 % C on a 41-point bias grid (quick, with engines to run).
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/ensemble.toml"
    ))
    .unwrap()
    .replace(
        "carbon_concentration_percent = 0.05",
        "carbon_concentration_percent = 0.3",
    )
    .replace("points = 81", "points = 41");
    std::fs::write(dir.path().join("ens.toml"), text).unwrap();
    dir
}

fn spinpath(d: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spinpath"))
        .args(args)
        .current_dir(d)
        .env("CI", "1")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn err(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn three_shards_merge_to_the_whole_ensemble_row_for_row() {
    let dir = setup();
    let d = dir.path();
    let base = ["ensemble", "ens.toml", "--samples", "60", "--seed", "4"];
    let mut whole = base.to_vec();
    whole.extend(["-o", "whole"]);
    let said = ok(&spinpath(d, &whole));
    assert!(
        said.contains("working spin engines") && said.contains("junctions/s"),
        "{said}"
    );
    let children: Vec<_> = (0..3)
        .map(|k| {
            let shard = format!("{k}/3");
            let out = format!("s{k}");
            let mut args = base.to_vec();
            args.extend(["--shard", &shard, "-o", &out]);
            Command::new(env!("CARGO_BIN_EXE_spinpath"))
                .args(&args)
                .current_dir(d)
                .env("CI", "1")
                .output()
        })
        .collect();
    for c in children {
        ok(&c.unwrap());
    }
    // A shard holds its own junctions only and no histogram.
    assert!(!d.join("s1/ensemble.svg").exists());
    ok(&spinpath(
        d,
        &["ensemble", "merge", "s1", "s2", "s0", "-o", "merged"],
    ));
    let (a, b) = (d.join("whole"), d.join("merged"));
    assert_eq!(files(&a), files(&b));
    for f in files(&a) {
        assert!(
            std::fs::read(a.join(&f)).unwrap() == std::fs::read(b.join(&f)).unwrap(),
            "{f} differs"
        );
    }
    let csv = std::fs::read_to_string(a.join("ensemble.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 60);
    for (i, r) in rows.iter().enumerate() {
        assert!(r.starts_with(&format!("{i},")), "{r}");
    }
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("summary.json")).unwrap()).unwrap();
    let y = &s["spin_engine_yield"];
    let (count, n) = (y["count"].as_u64().unwrap(), y["samples"].as_u64().unwrap());
    assert_eq!(n, 60);
    let working = rows
        .iter()
        .filter(|r| {
            let f: Vec<&str> = r.split(',').collect();
            f[16] == "1"
        })
        .count() as u64;
    assert_eq!(count, working);
    assert!(count > 0, "at 0.3 % C some junctions work: {csv}");
    let (lo, hi) = (
        y["ci95"][0].as_f64().unwrap(),
        y["ci95"][1].as_f64().unwrap(),
    );
    let p = count as f64 / 60.0;
    assert!(lo < p && p < hi);

    // A missing shard, and shards of another seed, are refused by name.
    let e = err(&spinpath(d, &["ensemble", "merge", "s0", "s1", "-o", "m2"]));
    assert!(e.contains("missing shard(s) 2/3"), "{e}");
    let mut other = vec!["ensemble", "ens.toml", "--samples", "60", "--seed", "5"];
    other.extend(["--shard", "2/3", "-o", "o2"]);
    ok(&spinpath(d, &other));
    let e = err(&spinpath(
        d,
        &["ensemble", "merge", "s0", "s1", "o2", "-o", "m3"],
    ));
    assert!(e.contains("o2") && e.contains("different scan"), "{e}");
    // --resume leaves a finished shard as it is.
    let mut again = base.to_vec();
    again.extend(["--shard", "0/3", "-o", "s0", "--resume"]);
    ok(&spinpath(d, &again));
}

#[test]
fn the_slurm_example_shards_ensembles_too() {
    let dir = setup();
    let d = dir.path();
    ok(&spinpath(
        d,
        &["ensemble", "ens.toml", "--samples", "30", "-o", "whole"],
    ));
    let out = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/slurm/scan-array.sh"
        ))
        .args(["local", "3", "arr", "ens.toml", "--samples", "30"])
        .current_dir(d)
        .env("CI", "1")
        .env("SPINPATH", env!("CARGO_BIN_EXE_spinpath"))
        .env("SPINPATH_COMMAND", "ensemble")
        .output()
        .unwrap();
    ok(&out);
    for f in files(&d.join("whole")) {
        assert!(
            std::fs::read(d.join("whole").join(&f)).unwrap()
                == std::fs::read(d.join("arr/merged").join(&f)).unwrap(),
            "{f} differs"
        );
    }
}

#[test]
fn bad_ensemble_files_are_named() {
    let dir = setup();
    let d = dir.path();
    let text = std::fs::read_to_string(d.join("ens.toml")).unwrap();
    std::fs::write(
        d.join("bad.toml"),
        text.replace("decay_length_nm = 0.25", "decay_length_nm = 0.0"),
    )
    .unwrap();
    let e = err(&spinpath(
        d,
        &["ensemble", "bad.toml", "--samples", "3", "-o", "x"],
    ));
    let line = text
        .lines()
        .position(|l| l.starts_with("decay_length_nm"))
        .unwrap()
        + 1;
    assert!(
        e.contains(&format!("bad.toml:{line}:"))
            && e.contains("ensemble.decay_length_nm")
            && e.contains("[0.02, 10]"),
        "{e}"
    );
    let e = err(&spinpath(
        d,
        &["ensemble", "ens.toml", "--samples", "0", "-o", "x"],
    ));
    assert!(e.contains("--samples") && e.contains("1..="), "{e}");
    assert!(!d.join("x").exists());
}

#[test]
fn scan_folders_summarise_and_merge_their_summary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/spin-engine.toml"
    ))
    .unwrap()
    .replace("points = 2001", "points = 41");
    std::fs::write(d.join("se.toml"), text).unwrap();
    let grid = [
        "--param",
        "spin_accumulation_meV=0:8.4:2",
        "--param",
        "P.dimer_energy_meV=-2.5:0:2",
    ];
    let mut whole = vec!["scan", "se.toml", "-o", "whole"];
    whole.extend(grid);
    let said = ok(&spinpath(d, &whole));
    assert!(said.contains("points/s"), "{said}");
    for k in 0..2 {
        let shard = format!("{k}/2");
        let out = format!("s{k}");
        let mut args = vec!["scan", "se.toml", "--shard", &shard, "-o", &out];
        args.extend(grid);
        ok(&spinpath(d, &args));
    }
    ok(&spinpath(d, &["scan", "merge", "s0", "s1", "-o", "merged"]));
    let read = |p: &str| std::fs::read_to_string(d.join(p)).unwrap();
    assert_eq!(read("whole/summary.json"), read("merged/summary.json"));
    let s: serde_json::Value = serde_json::from_str(&read("whole/summary.json")).unwrap();
    assert_eq!(s["points"], 4);
    assert_eq!(s["rows"], 8);
    // Without spin accumulation (points 0, 1) nothing generates: the best P point has 8.4 meV.
    let p = &s["states"][0];
    assert_eq!(p["state"], "P");
    let best = &p["most_power"];
    assert_eq!(best["values"]["spin_accumulation_meV"], 8.4);
    assert!(best["point"].as_u64().unwrap() >= 2);
    assert!(best["max_power_nW"].as_f64().unwrap() > 0.0);
}
