//! `spinpath analyze` on bench-style files: what was read is printed on stderr and written into
//! `summary.json`; ambiguous files are refused with the file, the line and the remedy; a closed
//! pipe ends the program quietly.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn spinpath(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spinpath"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run spinpath")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spinpath-lab-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// I(V) = 0.8·V − 0.8 nA (V in mV): generates between 0 and 1 mV, V_oc = 1 mV, P_max = 0.2 pW.
fn keithley(dir: &Path) -> PathBuf {
    let mut s = String::from(
        "Keithley 2400 export\nOperator:,lab\nCompliance:,1.0E-6 A\n\
         Compliance (A),Voltage (V),Current (A)\n",
    );
    for k in -30..=30 {
        let v = k as f64 * 0.1;
        s += &format!("1.0E-06,{:.6E},{:.9E}\n", v * 1e-3, (0.8 * v - 0.8) * 1e-9);
    }
    let p = dir.join("keithley.csv");
    std::fs::write(&p, s).unwrap();
    p
}

#[test]
fn what_was_read_is_printed_and_recorded() {
    let d = tmp("read");
    keithley(&d);
    let o = spinpath(&["analyze", "power", "keithley.csv", "-o", "out"], &d);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("read keithley.csv"), "{stderr}");
    assert!(stderr.contains("3 metadata line(s) skipped"), "{stderr}");
    assert!(
        stderr.contains("y: `Current (A)` (column 2) in A"),
        "{stderr}"
    );
    // P_max of −I·V = 0.8·V·(1 − V) pW·1e-3 at V = 0.5 mV: 0.2e-3 nW.
    assert!(
        stdout.contains("maximum output power 2.0000e-4 nW"),
        "{stdout}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("out/summary.json")).unwrap())
            .unwrap();
    let read = &summary["read"][0];
    assert_eq!(read["y"]["name"], "Current (A)");
    assert_eq!(read["x"]["unit"], "V");
    assert_eq!(read["header_line"], 4);
    assert_eq!(read["rows"], 61);
}

#[test]
fn a_file_without_units_is_refused_with_the_remedy() {
    let d = tmp("nounits");
    std::fs::write(d.join("bare.txt"), "0 1\n1 2\n2 3\n3 4\n").unwrap();
    let o = spinpath(&["analyze", "didv", "bare.txt", "-o", "out"], &d);
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("bare.txt:1:") && stderr.contains("--x-unit"),
        "{stderr}"
    );
    assert!(!d.join("out").exists());
    // With the units given it runs.
    let o = spinpath(
        &[
            "analyze", "didv", "bare.txt", "-o", "out", "--x-unit", "mV", "--y-unit", "nA",
        ],
        &d,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let d = tmp("pipe");
    keithley(&d);
    let mut child = Command::new(env!("CARGO_BIN_EXE_spinpath"))
        .args(["analyze", "power", "keithley.csv", "-o", "out"])
        .current_dir(&d)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end before the program writes its summary.
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Quietly: success, or ended by SIGPIPE as `head`'s writers are (no error message).
    #[cfg(unix)]
    let by_sigpipe = {
        use std::os::unix::process::ExitStatusExt;
        o.status.signal() == Some(13)
    };
    #[cfg(not(unix))]
    let by_sigpipe = false;
    assert!(o.status.success() || by_sigpipe, "{:?} {stderr}", o.status);
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn analysis_folders_are_staged_and_force_leaves_nothing_stale() {
    let d = tmp("force");
    keithley(&d);
    let o = spinpath(&["analyze", "power", "keithley.csv", "-o", "out"], &d);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(d.join("out/stale.csv"), "x\n1\n").unwrap();
    // Without --force the folder is refused and left as it was.
    let o = spinpath(&["analyze", "power", "keithley.csv", "-o", "out"], &d);
    assert!(!o.status.success());
    assert!(d.join("out/stale.csv").exists());
    // A failing analysis with --force leaves the old results untouched.
    let o = spinpath(
        &["analyze", "power", "missing.csv", "-o", "out", "--force"],
        &d,
    );
    assert!(!o.status.success());
    assert!(d.join("out/stale.csv").exists() && d.join("out/summary.json").exists());
    // --force replaces the whole folder: nothing of the previous run stays.
    let o = spinpath(
        &["analyze", "power", "keithley.csv", "-o", "out", "--force"],
        &d,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!d.join("out/stale.csv").exists());
    assert!(d.join("out/summary.json").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
