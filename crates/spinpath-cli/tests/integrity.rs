//! Run integrity end to end: a results folder holds one complete run, whatever the user does —
//! resume after editing the run file, resume a finished run, a failed run, `--force` with fewer
//! states, a closed stdout pipe, two writers at once, a killed or interrupted run resumed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_spinpath"));
    c.env("CI", "1");
    c
}

fn spinpath(args: &[&str], dir: &Path) -> Output {
    bin()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn spawn(args: &[&str], dir: &Path) -> Child {
    bin()
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", stderr(o));
}

fn no_panic(o: &Output) {
    let e = stderr(o);
    assert!(!e.contains("panicked"), "{e}");
}

fn example(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(name),
    )
    .unwrap()
}

/// The write/read protocol (a stateful Monte Carlo junction) with `cycles` cycles.
fn write_read(cycles: usize) -> String {
    let t = example("write-read.toml");
    assert!(t.contains("cycles = 1357"));
    t.replace("cycles = 1357", &format!("cycles = {cycles}"))
}

/// Every file of a folder (name → bytes), hidden ones included.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Every entry of a folder (files and folders), hidden ones included.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    v.sort();
    v
}

/// The results files that must be identical between two runs of the same file (`run.json` names
/// the run file, `config.toml` is its copy: both identical too when the file is).
const RESULTS: [&str; 5] = [
    "points.csv",
    "cycles.csv",
    "sequences.csv",
    "summary.json",
    "run.json",
];

fn same_results(a: &Path, b: &Path) {
    for f in RESULTS {
        let x = std::fs::read(a.join(f)).unwrap();
        let y = std::fs::read(b.join(f)).unwrap();
        assert!(
            x == y,
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Wait until the log of the run writing `target` has at least `lines` lines.
fn wait_for_points(dir: &Path, target: &str, lines: usize) {
    let log = dir.join(format!(".{target}.partial/points.partial.csv"));
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(120) {
        if std::fs::read_to_string(&log).is_ok_and(|s| s.lines().count() >= lines) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the run never logged {lines} points");
}

fn signal(child: &Child, sig: &str) {
    let s = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(s.success());
}

#[test]
fn resume_after_editing_the_run_file_is_refused_without_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("p.toml"), write_read(12)).unwrap();
    let cut = spinpath(&["run", "p.toml", "-o", "cut", "--stop-after", "1000"], d);
    assert!(!cut.status.success());
    assert!(
        stderr(&cut).contains("spinpath run p.toml -o cut --resume"),
        "{}",
        stderr(&cut)
    );
    let staging = d.join(".cut.partial");
    let before = files(&staging);
    // Fewer cycles (the panic of issue 16), another seed: refused, nothing touched.
    for edited in [
        write_read(6),
        write_read(12).replace("seed = 2025", "seed = 99"),
    ] {
        std::fs::write(d.join("p.toml"), &edited).unwrap();
        let o = spinpath(&["run", "p.toml", "-o", "cut", "--resume"], d);
        no_panic(&o);
        assert!(!o.status.success());
        assert!(stderr(&o).contains("differs from it in"), "{}", stderr(&o));
        assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
        assert_eq!(files(&staging), before, "the interrupted run is untouched");
        assert!(!d.join("cut").exists());
    }
    // The original file resumes; --force on the edited one starts over instead.
    std::fs::write(d.join("p.toml"), write_read(12)).unwrap();
    ok(&spinpath(&["run", "p.toml", "-o", "cut", "--resume"], d));
    ok(&spinpath(&["run", "p.toml", "-o", "full"], d));
    same_results(&d.join("cut"), &d.join("full"));
    std::fs::write(d.join("p.toml"), write_read(6)).unwrap();
    ok(&spinpath(&["run", "p.toml", "-o", "cut", "--force"], d));
    assert_eq!(json(&d.join("cut/summary.json"))["sets"][0]["cycles"], 6);
}

#[test]
fn resume_of_a_finished_run_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("p.toml"), write_read(6)).unwrap();
    ok(&spinpath(&["run", "p.toml", "-o", "out"], d));
    let before = files(&d.join("out"));
    let o = spinpath(&["run", "p.toml", "-o", "out", "--resume"], d);
    ok(&o);
    assert!(stderr(&o).contains("finished run"), "{}", stderr(&o));
    assert_eq!(files(&d.join("out")), before);
    // Another config or seed: refused, nothing changed.
    std::fs::write(
        d.join("p.toml"),
        write_read(6).replace("seed = 2025", "seed = 99"),
    )
    .unwrap();
    let o = spinpath(&["run", "p.toml", "-o", "out", "--resume"], d);
    no_panic(&o);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("the seed (99 now, 2025 then)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(files(&d.join("out")), before);
    assert_eq!(names(d), ["out", "p.toml"]);
}

#[test]
fn a_failed_run_leaves_nothing_and_the_corrected_run_needs_no_force() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let good = write_read(4);
    assert!(good.contains("gating_dot = \"gate\""));
    std::fs::write(
        d.join("p.toml"),
        good.replace("gating_dot = \"gate\"", "gating_dot = \"gaet\""),
    )
    .unwrap();
    let o = spinpath(&["run", "p.toml", "-o", "out"], d);
    no_panic(&o);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("p.toml"), "{}", stderr(&o));
    assert!(stderr(&o).contains("gating_dot"), "{}", stderr(&o));
    assert_eq!(names(d), ["p.toml"], "nothing left behind");
    std::fs::write(d.join("p.toml"), good).unwrap();
    ok(&spinpath(&["run", "p.toml", "-o", "out"], d));
    assert_eq!(names(d), ["out", "p.toml"]);
}

const SMALL: &str = r#"
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
[run]
STATES
[run.bias]
from_mV = -1.0
to_mV = 1.0
points = 11
"#;

#[test]
fn force_with_fewer_states_leaves_nothing_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("s.toml"), SMALL.replace("STATES", "")).unwrap();
    ok(&spinpath(&["run", "s.toml", "-o", "out"], d));
    assert!(d.join("out/tmr.csv").is_file());
    std::fs::write(
        d.join("s.toml"),
        SMALL.replace("STATES", "states = [\"P\"]"),
    )
    .unwrap();
    let refused = spinpath(&["run", "s.toml", "-o", "out"], d);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("--force"));
    assert!(d.join("out/tmr.csv").is_file(), "untouched without --force");
    ok(&spinpath(&["run", "s.toml", "-o", "out", "--force"], d));
    assert_eq!(
        names(&d.join("out")),
        [
            "config.toml",
            "iv.csv",
            "iv.png",
            "iv.svg",
            "run.json",
            "summary.json"
        ]
    );
    assert_eq!(
        names(d),
        ["out", "s.toml"],
        "no staging, lock or old folder"
    );
    let iv = std::fs::read_to_string(d.join("out/iv.csv")).unwrap();
    assert!(!iv.contains("AP"), "only P in the new iv.csv");
}

#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut text = String::from("V_mV I_nA\n");
    for k in 0..=200 {
        let x = -1.0 + 0.01 * k as f64;
        text += &format!("{x} {}\n", x * x * x + x);
    }
    std::fs::write(d.join("iv.dat"), text).unwrap();
    for args in [
        &["analyze", "didv", "iv.dat", "-o", "a"][..],
        &["run", "s.toml", "-o", "r"][..],
    ] {
        std::fs::write(d.join("s.toml"), SMALL.replace("STATES", "")).unwrap();
        let mut child = bin()
            .args(args)
            .current_dir(d)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes away at once, as `| head -0` would
        let o = child.wait_with_output().unwrap();
        no_panic(&o);
        assert!(
            o.status.success() || !stderr(&o).contains("error"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn a_second_writer_is_refused_and_the_folder_holds_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("a.toml"), write_read(300)).unwrap();
    std::fs::write(
        d.join("b.toml"),
        write_read(300).replace("seed = 2025", "seed = 99"),
    )
    .unwrap();
    let first = spawn(&["run", "a.toml", "-o", "out"], d);
    wait_for_points(d, "out", 50);
    for extra in [&[][..], &["--force"][..], &["--resume"][..]] {
        let mut args = vec!["run", "b.toml", "-o", "out"];
        args.extend_from_slice(extra);
        let o = spinpath(&args, d);
        no_panic(&o);
        assert!(!o.status.success(), "{extra:?}");
        assert!(stderr(&o).contains("being written by"), "{}", stderr(&o));
    }
    let o = first.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(json(&d.join("out/summary.json"))["seed"], 2025);
    assert_eq!(json(&d.join("out/run.json"))["seed"], 2025);

    // Two writers started together with --force: exactly one folder of one run results.
    let a = spawn(&["run", "a.toml", "-o", "race", "--force"], d);
    let b = spawn(&["run", "b.toml", "-o", "race", "--force"], d);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    no_panic(&a);
    no_panic(&b);
    assert!(a.status.success() || b.status.success());
    let seed = json(&d.join("race/summary.json"))["seed"].clone();
    assert_eq!(json(&d.join("race/run.json"))["seed"], seed);
    let reference = if seed == 2025 { "out" } else { "other" };
    if reference == "other" {
        ok(&spinpath(&["run", "b.toml", "-o", "other"], d));
    }
    let x = std::fs::read(d.join("race/points.csv")).unwrap();
    let y = std::fs::read(d.join(reference).join("points.csv")).unwrap();
    assert!(x == y, "points of one run only");
    let left: Vec<String> = names(d)
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn killed_and_interrupted_runs_resume_to_the_uninterrupted_files() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("p.toml"), write_read(200)).unwrap();
    ok(&spinpath(&["run", "p.toml", "-o", "full"], d));
    let total = std::fs::read_to_string(d.join("full/points.csv"))
        .unwrap()
        .lines()
        .count();

    // SIGKILL mid-run: the partial run stays hidden, with a torn temporary as a kill may leave.
    let mut run = spawn(&["run", "p.toml", "-o", "cut"], d);
    wait_for_points(d, "cut", total / 5);
    signal(&run, "-KILL");
    let _ = run.wait();
    assert!(!d.join("cut").exists());
    let staging: PathBuf = d.join(".cut.partial");
    assert!(staging.join("points.partial.csv").is_file());
    std::fs::write(staging.join(".tmr.csv.4242.0.tmp"), "torn").unwrap();
    let plain = spinpath(&["run", "p.toml", "-o", "cut"], d);
    assert!(stderr(&plain).contains("--resume"), "{}", stderr(&plain));

    // Resume, then SIGINT: stops cleanly after a point, says how to continue.
    let logged = std::fs::read_to_string(staging.join("points.partial.csv"))
        .unwrap()
        .lines()
        .count();
    let run = spawn(&["run", "p.toml", "-o", "cut", "--resume"], d);
    wait_for_points(d, "cut", (logged + 500).min(total - 1));
    signal(&run, "-INT");
    let o = run.wait_with_output().unwrap();
    no_panic(&o);
    if !o.status.success() {
        let e = stderr(&o);
        assert!(e.contains("spinpath run p.toml -o cut --resume"), "{e}");
        assert!(staging.join("points.partial.csv").is_file());
        ok(&spinpath(&["run", "p.toml", "-o", "cut", "--resume"], d));
    }
    same_results(&d.join("cut"), &d.join("full"));
    assert!(!d.join("cut/.tmr.csv.4242.0.tmp").exists());
    assert_eq!(names(d), ["cut", "full", "p.toml"]);
}
