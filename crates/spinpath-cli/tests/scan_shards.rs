//! `spinpath scan` over several parameters, in shards, merged: the merge equals the whole scan.

use std::path::Path;
use std::process::{Command, Output};

const GRID: [&str; 4] = [
    "--param",
    "spin_accumulation_meV=0:8.4:3",
    "--param",
    "P.dimer_energy_meV=-2:2:3",
];

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let preset = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/spin-engine.toml"
    ))
    .unwrap();
    let small: String = preset
        .replace("points = 2001", "points = 41")
        .split("[run.spectra]")
        .next()
        .unwrap()
        .to_string();
    std::fs::write(dir.path().join("se.toml"), small).unwrap();
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

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Every file of `a` equals, byte for byte, the file of the same name in `b`, and no file is missing.
fn same_folder(a: &Path, b: &Path) {
    assert_eq!(files(a), files(b));
    for f in files(a) {
        assert!(
            std::fs::read(a.join(&f)).unwrap() == std::fs::read(b.join(&f)).unwrap(),
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

fn rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn three_shards_run_as_processes_merge_to_the_whole_scan() {
    let dir = setup();
    let d = dir.path();
    let mut whole = vec!["scan", "se.toml", "-o", "whole"];
    whole.extend(GRID);
    ok(&spinpath(d, &whole));
    // The three shards run at the same time, as separate processes.
    let children: Vec<_> = (0..3)
        .map(|k| {
            let shard = format!("{k}/3");
            let out = format!("s{k}");
            let mut args = vec!["scan", "se.toml", "--shard", &shard, "-o", &out];
            args.extend(GRID);
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
    ok(&spinpath(
        d,
        &["scan", "merge", "s2", "s0", "s1", "-o", "merged"],
    ));
    same_folder(&d.join("whole"), &d.join("merged"));
    // One thread gives the same numbers as all cores.
    let mut serial = vec!["scan", "se.toml", "-o", "serial"];
    serial.extend(GRID);
    ok(&Command::new(env!("CARGO_BIN_EXE_spinpath"))
        .args(&serial)
        .current_dir(d)
        .env("CI", "1")
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap());
    assert_eq!(
        std::fs::read(d.join("whole/scan.csv")).unwrap(),
        std::fs::read(d.join("serial/scan.csv")).unwrap()
    );

    // The table: 9 points × 2 states, by point index, last axis fastest.
    let csv = std::fs::read_to_string(d.join("whole/scan.csv")).unwrap();
    assert!(csv.starts_with(
        "point,spin_accumulation_meV,P.dimer_energy_meV,state,current_at_zero_bias_nA,"
    ));
    let r = rows(&csv);
    assert_eq!(r.len(), 18, "{csv}");
    for (i, row) in r.iter().enumerate() {
        assert_eq!(row[0], (i / 2).to_string());
    }
    assert_eq!((r[2][1].as_str(), r[2][2].as_str()), ("0", "0"));
    // Equilibrium: without spin accumulation no current flows at V = 0 and nothing delivers power.
    for row in r.iter().filter(|row| row[1] == "0") {
        assert!(row[4].parse::<f64>().unwrap().abs() < 1e-9, "{csv}");
        assert_eq!(row[6], "0", "{csv}");
    }
    // The paper's device (8.4 meV, P dimer at −2 meV, near the preset's −2.5 meV) is a generator.
    let p = r
        .iter()
        .find(|row| row[1] == "8.4" && row[2] == "-2" && row[3] == "P")
        .unwrap();
    assert!(p[6].parse::<f64>().unwrap() > 0.0, "{csv}");
    // A one-axis plan agrees, figure for figure of merit, with the one-parameter form.
    ok(&spinpath(
        d,
        &[
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
            "one",
        ],
    ));
    ok(&spinpath(
        d,
        &[
            "scan",
            "se.toml",
            "--param",
            "spin_accumulation_meV=0:8.4:3",
            "-o",
            "axis",
        ],
    ));
    let one = rows(&std::fs::read_to_string(d.join("one/scan.csv")).unwrap());
    let axis = rows(&std::fs::read_to_string(d.join("axis/scan.csv")).unwrap());
    assert_eq!(one.len(), axis.len());
    for (a, b) in one.iter().zip(&axis) {
        assert_eq!(a[..], b[1..]);
    }
    assert!(d.join("whole/scan-map-P.svg").is_file() && d.join("whole/scan-map-AP.svg").is_file());
    // A shard has no figures (they describe the whole scan).
    assert!(!d.join("s0/scan-map-P.svg").exists());
}

#[test]
fn merge_refuses_missing_repeated_and_foreign_shards() {
    let dir = setup();
    let d = dir.path();
    for (k, grid) in [(0, "3"), (1, "3"), (1, "4")] {
        let shard = format!("{k}/2");
        let out = format!("s{k}-{grid}");
        let axis = format!("P.dimer_energy_meV=-2:2:{grid}");
        ok(&spinpath(
            d,
            &[
                "scan", "se.toml", "--param", &axis, "--shard", &shard, "-o", &out,
            ],
        ));
    }
    let err = |args: &[&str]| {
        let o = spinpath(d, args);
        assert!(!o.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = err(&["scan", "merge", "s0-3", "-o", "m"]);
    assert!(e.contains("missing shard(s) 1/2"), "{e}");
    let e = err(&["scan", "merge", "s0-3", "s1-4", "-o", "m"]);
    assert!(
        e.contains("s1-4 is a shard of a different scan than s0-3"),
        "{e}"
    );
    let e = err(&["scan", "merge", "s0-3", "s0-3", "s1-3", "-o", "m"]);
    assert!(e.contains("overlapping"), "{e}");
    let e = err(&["scan", "merge", "s0-3", "nowhere", "-o", "m"]);
    assert!(e.contains("nowhere: not a finished scan folder"), "{e}");
    // An edited shard table is refused, naming its folder.
    let csv = d.join("s1-3/scan.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let cut: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&csv, cut).unwrap();
    let e = err(&["scan", "merge", "s0-3", "s1-3", "-o", "m"]);
    assert!(
        e.contains("s1-3: scan.csv") && e.contains("unfinished"),
        "{e}"
    );
    assert!(!d.join("m").exists());
}

#[test]
fn latin_hypercube_samples_are_seeded_and_shardable() {
    let dir = setup();
    let d = dir.path();
    let base = [
        "scan",
        "se.toml",
        "--param",
        "spin_accumulation_meV=0:8.4",
        "--param",
        "temperature_K=2:20",
        "--samples",
        "5",
        "--sampling",
        "lhs",
        "--seed",
        "42",
    ];
    let run = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend(extra);
        spinpath(d, &a)
    };
    ok(&run(&["-o", "whole"]));
    ok(&run(&["--shard", "0/2", "-o", "a"]));
    ok(&run(&["--shard", "1/2", "-o", "b"]));
    ok(&spinpath(d, &["scan", "merge", "a", "b", "-o", "merged"]));
    same_folder(&d.join("whole"), &d.join("merged"));
    let plan = std::fs::read_to_string(d.join("whole/plan.json")).unwrap();
    assert!(
        plan.contains("\"seed\": 42") && plan.contains("\"lhs\""),
        "{plan}"
    );
    let run_json = std::fs::read_to_string(d.join("whole/run.json")).unwrap();
    assert!(run_json.contains("\"seed\": 42"), "{run_json}");
    // Each fifth of each interval holds one sample.
    let r = rows(&std::fs::read_to_string(d.join("whole/scan.csv")).unwrap());
    let mut strata: Vec<usize> = r
        .iter()
        .filter(|row| row[3] == "P")
        .map(|row| (row[1].parse::<f64>().unwrap() / 8.4 * 5.0).floor() as usize)
        .collect();
    strata.sort();
    assert_eq!(strata, vec![0, 1, 2, 3, 4]);
    // Another seed, other points.
    let mut other = base.to_vec();
    other[11] = "43";
    other.extend(["-o", "other"]);
    ok(&spinpath(d, &other));
    assert_ne!(
        std::fs::read(d.join("whole/scan.csv")).unwrap(),
        std::fs::read(d.join("other/scan.csv")).unwrap()
    );
    // A re-queued shard that has finished is left alone.
    let again = run(&["--shard", "0/2", "-o", "a", "--resume"]);
    ok(&again);
    assert!(String::from_utf8_lossy(&again.stderr).contains("nothing to resume"));
}

#[test]
fn bad_scan_arguments_are_named() {
    let dir = setup();
    let d = dir.path();
    for (args, want) in [
        (
            vec!["--param", "spin_accumulation_meV=0:1"],
            "a grid needs NAME=FROM:TO:N",
        ),
        (vec!["--param", "spin_accumulation_meV=0:x:3"], "TO `x`"),
        (
            vec!["--param", "nonsense=0:1:3"],
            "`nonsense` is not a parameter",
        ),
        (
            vec!["--param", "temperature_K=1:2:2", "--shard", "2/2"],
            "0 ≤ K < N",
        ),
        (
            vec![
                "--param",
                "temperature_K=1:2",
                "--samples",
                "3",
                "--sampling",
                "sobol",
            ],
            "allowed values are grid, random, lhs",
        ),
        (
            vec!["--param", "temperature_K=1:2:3", "--from", "0", "--to", "1"],
            "not both",
        ),
    ] {
        let mut a = vec!["scan", "se.toml", "-o", "bad"];
        a.extend(args);
        let o = spinpath(d, &a);
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && e.contains(want), "{a:?}: {e}");
    }
    assert!(!d.join("bad").exists());
}

#[cfg(unix)]
#[test]
fn slurm_example_runs_with_local_processes_and_with_a_stand_in_sbatch() {
    let dir = setup();
    let d = dir.path();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/slurm/scan-array.sh"
    );
    let mut whole = vec!["scan", "se.toml", "-o", "whole"];
    whole.extend(GRID);
    ok(&spinpath(d, &whole));
    let bash = |args: &[&str], path: Option<&str>| {
        let mut c = Command::new("bash");
        c.arg(script)
            .args(args)
            .args(GRID)
            .current_dir(d)
            .env("CI", "1")
            .env("SPINPATH", env!("CARGO_BIN_EXE_spinpath"));
        if let Some(p) = path {
            c.env("PATH", p);
        }
        c.output().unwrap()
    };
    ok(&bash(&["local", "3", "local", "se.toml"], None));
    same_folder(&d.join("whole"), &d.join("local/merged"));

    // A stand-in sbatch runs each array task (with SLURM_ARRAY_TASK_ID) and then the merge job.
    std::fs::create_dir(d.join("bin")).unwrap();
    std::fs::write(
        d.join("bin/sbatch"),
        r#"#!/usr/bin/env bash
array=""; wrap=""
for a in "$@"; do
  case $a in --array=*) array=${a#--array=} ;; esac
done
while [ $# -gt 0 ]; do
  if [ "$1" = --wrap ]; then wrap=$2; shift; fi
  shift
done
echo "$*" >/dev/null
if [ -n "$array" ]; then
  for ((i = ${array%-*}; i <= ${array#*-}; i++)); do SLURM_ARRAY_TASK_ID=$i bash -c "$wrap" >/dev/null || exit 1; done
else
  bash -c "$wrap" >/dev/null || exit 1
fi
echo $RANDOM
"#,
    )
    .unwrap();
    Command::new("chmod")
        .args(["+x", "bin/sbatch"])
        .current_dir(d)
        .status()
        .unwrap();
    let path = format!(
        "{}:{}",
        d.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = bash(&["submit", "3", "cluster", "se.toml"], Some(&path));
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("submitted array job"));
    same_folder(&d.join("whole"), &d.join("cluster/merged"));
    assert!(d.join("cluster/shard-2/scan.csv").is_file());
}
