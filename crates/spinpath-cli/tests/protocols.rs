//! End-to-end protocol runs: presets produce their files; an interrupted run resumed with
//! `--resume` writes exactly the files of an uninterrupted run (same seed).

use std::path::Path;
use std::process::Command;

fn spinpath(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_spinpath"))
        .args(args)
        .current_dir(dir)
        .env("CI", "1")
        .output()
        .expect("runs")
}

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn resume_equals_uninterrupted(
    preset: &str,
    reduce: &dyn Fn(String) -> String,
    files: &[&str],
    stop: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = reduce(std::fs::read_to_string(examples().join(preset)).unwrap());
    std::fs::write(d.join("p.toml"), text).unwrap();
    let full = spinpath(&["run", "p.toml", "-o", "full"], d);
    assert!(
        full.status.success(),
        "{}",
        String::from_utf8_lossy(&full.stderr)
    );
    let cut = spinpath(&["run", "p.toml", "-o", "cut", "--stop-after", stop], d);
    assert!(!cut.status.success());
    assert!(String::from_utf8_lossy(&cut.stderr).contains("--resume"));
    // The points so far are kept in the hidden staging folder; `cut` appears only when complete.
    assert!(d.join(".cut.partial/points.partial.csv").is_file());
    assert!(!d.join("cut").exists());
    // Without --resume or --force the folder is not touched.
    assert!(!spinpath(&["run", "p.toml", "-o", "cut"], d)
        .status
        .success());
    let resumed = spinpath(&["run", "p.toml", "-o", "cut", "--resume"], d);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    for f in files {
        let a = std::fs::read(d.join("full").join(f)).unwrap();
        let b = std::fs::read(d.join("cut").join(f)).unwrap();
        assert!(a == b, "{preset}: {f} differs after resume");
    }
    assert!(
        !d.join("cut/points.partial.csv").exists() && !d.join(".cut.partial").exists(),
        "the log and the staging folder are gone when done"
    );
}

#[test]
fn resumed_coherent_sweep_equals_uninterrupted() {
    resume_equals_uninterrupted("iv-sweeps.toml", &|t| t, &["iv.csv", "summary.json"], "300");
}

#[test]
fn resumed_monte_carlo_write_read_equals_uninterrupted() {
    // A stateful junction (one stochastic trajectory): the checkpoint restores its state.
    resume_equals_uninterrupted(
        "write-read.toml",
        &|t| t.replace("cycles = 1357", "cycles = 12"),
        &["points.csv", "cycles.csv", "sequences.csv", "summary.json"],
        "1000",
    );
}

#[test]
fn protocol_presets_show_the_papers_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ih = spinpath(
        &[
            "run",
            examples().join("ih-loop.toml").to_str().unwrap(),
            "-o",
            "ih",
        ],
        d,
    );
    assert!(
        ih.status.success(),
        "{}",
        String::from_utf8_lossy(&ih.stderr)
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("ih/summary.json")).unwrap()).unwrap();
    for set in s["sets"].as_array().unwrap() {
        assert_eq!(set["sign_follows_state"], true, "{set}");
    }
    for f in ["ih.csv", "ih.svg", "config.toml"] {
        assert!(d.join("ih").join(f).is_file());
    }
    let wr = spinpath(
        &[
            "run",
            examples().join("write-read.toml").to_str().unwrap(),
            "-o",
            "wr",
        ],
        d,
    );
    assert!(
        wr.status.success(),
        "{}",
        String::from_utf8_lossy(&wr.stderr)
    );
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("wr/summary.json")).unwrap()).unwrap();
    let rate = s["sets"][0]["success_rate"].as_f64().unwrap();
    assert!(
        rate > 0.5 && rate < 1.0,
        "success rate {rate}: writes must be stochastic, mostly successful"
    );
    assert_eq!(s["seed"], 2025);
    let table = std::fs::read_to_string(d.join("wr/sequences.csv")).unwrap();
    assert!(table.starts_with("sequence,jumps,count,successes,success_rate"));

    let st = spinpath(
        &[
            "run",
            examples().join("current-statistics.toml").to_str().unwrap(),
            "-o",
            "st",
        ],
        d,
    );
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let stats = std::fs::read_to_string(d.join("st/stats_statistics_P.csv")).unwrap();
    let rows: Vec<&str> = stats.lines().skip(1).collect();
    assert_eq!(rows.len(), 31);
    assert!(
        rows.iter().all(|r| r.split(',').nth(1) == Some("800")),
        "{stats}"
    );
    assert!(d.join("st/histogram_statistics_P.svg").is_file());
}
