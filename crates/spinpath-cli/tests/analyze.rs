//! End-to-end tests of `spinpath analyze`: the binary on fixture files with known answers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn spinpath(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spinpath"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run spinpath")
}

fn ok(o: &Output) -> String {
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "spinpath failed:\nstdout: {out}\nstderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Rows of a CSV written by spinpath: (header, rows of fields).
fn csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    (
        header,
        lines
            .map(|l| l.split(',').map(String::from).collect())
            .collect(),
    )
}

fn col(h: &[String], name: &str) -> usize {
    h.iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {h:?}"))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Bias points of a sweep 0 → +vmax → −vmax → +vmax → 0 in steps of `step` mV (turning points
/// repeated, as instruments do).
fn sweep(vmax: f64, step: f64) -> Vec<f64> {
    let n = (vmax / step).round() as i64;
    let mut v = Vec::new();
    v.extend((0..=n).map(|k| k as f64 * step));
    v.extend((0..=2 * n).map(|k| vmax - k as f64 * step));
    v.extend((0..=2 * n).map(|k| -vmax + k as f64 * step));
    v.extend((0..=n).map(|k| vmax - k as f64 * step));
    v
}

#[test]
fn tmr_of_linear_curves_in_two_file_formats() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // P: bench CSV in V and A; AP: whitespace .dat in mV/nA with a commented header.
    let v = sweep(2.0, 0.1);
    let mut p = String::from("# bench export\nTime (s),Voltage (V),Current (A),Field (Oe)\n");
    let mut ap = String::from("% AP state\n% V[mV]\tI[nA]\n");
    for (k, x) in v.iter().enumerate() {
        p += &format!(
            "{},{:e},{:e},-2000\n",
            k as f64 * 0.5,
            x * 1e-3,
            (2.0 * x + 1.03) * 1e-9
        );
        ap += &format!(" {x:.4}\t{x:.6}\n");
    }
    let pf = write(d, "p.csv", &p);
    let af = write(d, "ap.dat", &ap);
    let out = ok(&spinpath(
        &[
            "analyze",
            "tmr",
            pf.to_str().unwrap(),
            af.to_str().unwrap(),
            "--min-ap-current",
            "0.05",
        ],
        d,
    ));
    assert!(out.contains("TMR"), "{out}");
    let (h, rows) = csv(&d.join("out/analyze-tmr/tmr.csv"));
    let (b, t, opp, near) = (
        col(&h, "bias_mV"),
        col(&h, "tmr_percent"),
        col(&h, "opposite_signs"),
        col(&h, "ap_near_zero"),
    );
    assert_eq!(rows.len(), 41);
    for r in &rows {
        let bias: f64 = r[b].parse().unwrap();
        if bias.abs() < 0.05 {
            assert_eq!(r[t], "", "TMR at zero I_AP must be an empty cell");
            assert_eq!(r[near], "true");
        } else {
            let tmr: f64 = r[t].parse().unwrap();
            let want = 100.0 * ((2.0 * bias + 1.03) / bias - 1.0);
            assert!(
                (tmr - want).abs() < 1e-6 * want.abs().max(1.0),
                "at {bias}: {tmr} vs {want}"
            );
        }
        assert_eq!(r[opp] == "true", bias > -0.515 && bias < -1e-9, "at {bias}");
    }
    let s = json(&d.join("out/analyze-tmr/summary.json"));
    let region = &s["opposite_sign_regions_mV"][0];
    assert!((region[0].as_f64().unwrap() + 0.5).abs() < 1e-9);
    assert!((region[1].as_f64().unwrap() + 0.1).abs() < 1e-9);
    assert!(d.join("out/analyze-tmr/tmr.svg").exists());
}

#[test]
fn power_of_a_linear_generator() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // I = 0.5 (V − 1.2) nA: Voc = 1.2 mV, Isc = −0.6 nA, Pmax = 0.5·1.2²/4 pW = 1.8e-4 nW at 0.6 mV.
    let mut text = String::from("bias_mV,current_nA\n");
    for x in sweep(3.0, 0.07) {
        text += &format!("{x},{}\n", 0.5 * (x - 1.2));
    }
    let f = write(d, "gen.csv", &text);
    let out = ok(&spinpath(
        &["analyze", "power", f.to_str().unwrap(), "-o", "res"],
        d,
    ));
    assert!(out.contains("maximum output power"), "{out}");
    let s = json(&d.join("res/summary.json"));
    let file = &s["files"][0];
    assert!((file["max_power_nW"].as_f64().unwrap() - 1.8e-4).abs() < 1e-12);
    assert!((file["max_power_bias_mV"].as_f64().unwrap() - 0.6).abs() < 1e-9);
    for seg in file["segments"].as_array().unwrap() {
        let voc = seg["open_circuit_voltages_mV"].as_array().unwrap();
        if seg["direction"] == "up" || voc.len() == 1 {
            for v in voc {
                assert!((v.as_f64().unwrap() - 1.2).abs() < 1e-9);
            }
        }
        if let Some(isc) = seg["short_circuit_current_nA"].as_f64() {
            assert!((isc + 0.6).abs() < 1e-9);
        }
    }
    let (h, rows) = csv(&d.join("res/power.csv"));
    let (b, p) = (col(&h, "bias_mV"), col(&h, "power_nW"));
    for r in rows {
        let (bias, pw): (f64, f64) = (r[b].parse().unwrap(), r[p].parse().unwrap());
        assert!((pw - (-0.5 * (bias - 1.2) * bias * 1e-3)).abs() < 1e-12);
    }
}

#[test]
fn ih_loop_levels_tmr_and_switching_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut text = String::from("# I(H) at +2 mV\nH_Oe\tI_nA\n");
    let mut h: Vec<f64> = (0..=60).map(|k| -600.0 + 20.0 * k as f64).collect();
    h.extend((1..=60).map(|k| 600.0 - 20.0 * k as f64));
    let mut ap = false;
    for (k, &f) in h.iter().enumerate() {
        if k <= 60 && f > 150.0 {
            ap = true;
        }
        if k > 60 && f < -70.0 {
            ap = false;
        }
        let wiggle = 0.002 * (((k * 37) % 7) as f64 - 3.0) / 3.0;
        text += &format!("{f}\t{}\n", if ap { 1.0 } else { 3.0 } + wiggle);
    }
    let f = write(d, "loop_2mV.tsv", &text);
    ok(&spinpath(&["analyze", "ih", f.to_str().unwrap()], d));
    let s = json(&d.join("out/analyze-ih/summary.json"));
    let l = &s["loops"][0];
    assert_eq!(l["bias_mV"].as_f64(), Some(2.0));
    assert!((l["current_P_nA"].as_f64().unwrap() - 3.0).abs() < 2e-3);
    assert!((l["current_AP_nA"].as_f64().unwrap() - 1.0).abs() < 2e-3);
    assert!((l["tmr_percent"].as_f64().unwrap() - 200.0).abs() < 1.0);
    let sw = l["switches"].as_array().unwrap();
    assert_eq!(sw.len(), 2);
    assert_eq!(sw[0]["to"], "AP");
    assert_eq!(sw[0]["field_Oe"].as_f64(), Some(150.0));
    assert_eq!(sw[1]["to"], "P");
    assert_eq!(sw[1]["sweep"], "down");
    assert_eq!(sw[1]["field_Oe"].as_f64(), Some(-70.0));
}

#[test]
fn malformed_line_is_reported_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let f = write(
        d,
        "bad.csv",
        "# c\nTime (s),Voltage (V),Current (A),Field (Oe)\n0,0,1e-9,0\n1,abc,2e-9,0\n",
    );
    let o = spinpath(&["analyze", "didv", f.to_str().unwrap()], d);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.csv:4:"), "{err}");
    assert!(
        err.contains("expected 4 numeric columns, found 'abc' in column 2"),
        "{err}"
    );
    // Nothing was written.
    assert!(!d.join("out/analyze-didv").exists());
}

#[test]
fn existing_output_needs_force() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut text = String::from("V_mV I_nA\n");
    for x in sweep(1.0, 0.1) {
        text += &format!("{x} {}\n", x * x * x + x);
    }
    let f = write(d, "iv.dat", &text);
    let fs = f.to_str().unwrap();
    ok(&spinpath(&["analyze", "didv", fs], d));
    let o = spinpath(&["analyze", "didv", fs], d);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    ok(&spinpath(
        &[
            "analyze", "didv", fs, "--force", "--method", "sg", "--window", "5", "--order", "3",
        ],
        d,
    ));
    // SG of order 3 is exact for the cubic: dI/dV = 3V² + 1.
    let (h, rows) = csv(&d.join("out/analyze-didv/didv.csv"));
    let (b, g, n) = (
        col(&h, "bias_mV"),
        col(&h, "didv_nA_per_mV"),
        col(&h, "n_sweeps"),
    );
    assert_eq!(rows.len(), 21);
    for r in rows {
        let (bias, gv): (f64, f64) = (r[b].parse().unwrap(), r[g].parse().unwrap());
        assert!(
            (gv - (3.0 * bias * bias + 1.0)).abs() < 1e-9,
            "at {bias}: {gv}"
        );
        assert!(r[n].parse::<f64>().unwrap() >= 2.0);
    }
}

#[test]
fn jumps_and_success_table_with_cycle_column() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // 6 cycles of 100 samples; write (P, down 5 nA) at 30, read back (N) at 70, except cycle 2
    // (no switch) and cycle 4 (write only).
    let mut text = String::from("time_s,cycle,current_nA\n");
    for c in 0..6 {
        for k in 0..100 {
            let low = match c {
                2 => false,
                4 => k >= 30,
                _ => (30..70).contains(&k),
            };
            let i = c * 100 + k;
            let noise = 0.05 * (((i * 7919) % 17) as f64 / 8.0 - 1.0);
            text += &format!(
                "{},{c},{}\n",
                i as f64 * 1e-3,
                if low { 5.0 } else { 10.0 } + noise
            );
        }
    }
    let f = write(d, "trace.csv", &text);
    let out = ok(&spinpath(
        &[
            "analyze",
            "jumps",
            f.to_str().unwrap(),
            "--cycle-column",
            "cycle",
            "--expect",
            "PN",
        ],
        d,
    ));
    // PN in cycles 0, 1, 3; none in 2; P in 4; NPN in 5 (it starts with the return from cycle 4).
    assert!(
        out.contains("success rate of `PN`: 50.0 % of 6 cycles"),
        "{out}"
    );
    let (h, rows) = csv(&d.join("out/analyze-jumps/success.csv"));
    let (q, c) = (col(&h, "sequence"), col(&h, "count"));
    let counts: Vec<(String, String)> = rows.iter().map(|r| (r[q].clone(), r[c].clone())).collect();
    assert_eq!(counts[0], ("PN".into(), "3".into()));
    assert!(counts.contains(&("-".into(), "1".into())));
    assert!(counts.contains(&("P".into(), "1".into())));
    assert!(counts.contains(&("NPN".into(), "1".into())));
    // Cycle 4 ends low, cycle 5 starts high: the N jump between them belongs to cycle 5.
    let (h, rows) = csv(&d.join("out/analyze-jumps/jumps.csv"));
    assert_eq!(rows.len(), 10);
    let t = col(&h, "time_s");
    assert!((rows[0][t].parse::<f64>().unwrap() - 0.0295).abs() < 1e-9);
}

#[test]
fn shift_and_peaks_of_a_raw_conductance_column() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let g = |v: f64| 1.0 + 4.0 / ((v + 6.0).powi(2) + 4.0) + 2.8 / ((v - 7.0).powi(2) + 4.0);
    let (mut p, mut ap) = (
        String::from("bias_mV,G_uS\n"),
        String::from("bias_mV,G_uS\n"),
    );
    for k in 0..=400 {
        let v = -40.0 + 0.2 * k as f64;
        p += &format!("{v},{}\n", g(v));
        ap += &format!("{v},{}\n", g(v - 0.8));
    }
    let pf = write(d, "gp.csv", &p);
    let af = write(d, "gap.csv", &ap);
    let (ps, as_) = (pf.to_str().unwrap(), af.to_str().unwrap());
    ok(&spinpath(
        &[
            "analyze",
            "shift",
            ps,
            as_,
            "--signal",
            "raw",
            "--shift-step",
            "10",
        ],
        d,
    ));
    let (h, rows) = csv(&d.join("out/analyze-shift/shift.csv"));
    let (s, e) = (col(&h, "shift_mV"), col(&h, "shift_err_mV"));
    assert_eq!(rows.len(), 5);
    for r in &rows {
        assert!((r[s].parse::<f64>().unwrap() - 0.8).abs() < 5e-3, "{r:?}");
        assert!(r[e].parse::<f64>().unwrap() < 0.01);
    }
    ok(&spinpath(
        &["analyze", "peaks", ps, as_, "--signal", "raw"],
        d,
    ));
    let (h, rows) = csv(&d.join("out/analyze-peaks/peaks.csv"));
    let pos = col(&h, "position_mV");
    let positions: Vec<f64> = rows.iter().map(|r| r[pos].parse().unwrap()).collect();
    assert_eq!(positions.len(), 4, "{positions:?}");
    assert!(
        (positions[0] + 6.0).abs() < 0.15 && (positions[2] + 5.2).abs() < 0.15,
        "{positions:?}"
    );
    let sum = json(&d.join("out/analyze-peaks/summary.json"));
    assert_eq!(sum["datasets_with_pair"].as_u64(), Some(2));
    assert!((sum["common_spacing_mV"].as_f64().unwrap() - 13.0).abs() < 0.3);
}

#[test]
fn stats_finds_two_branches() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut text = String::from("bias_mV\tcurrent_nA\n");
    for b in [1.0, 2.0] {
        for k in 0..50 {
            let i = if k % 4 == 0 { 20.0 * b } else { 5.0 } + 0.1 * ((k % 5) as f64 - 2.0);
            text += &format!("{b}\t{i}\n");
        }
    }
    let f = write(d, "stats.tsv", &text);
    ok(&spinpath(&["analyze", "stats", f.to_str().unwrap()], d));
    let (h, rows) = csv(&d.join("out/analyze-stats/branches.csv"));
    let (name, occ) = (col(&h, "branch"), col(&h, "occupation"));
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0][name], "OFF");
    assert_eq!(rows[1][name], "ON");
    assert!((rows[1][occ].parse::<f64>().unwrap() - 13.0 / 50.0).abs() < 1e-12);
}

#[test]
fn sample_files_if_present() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let (p, ap, ih) = (
        data.join("iv_sweep_P_295K.csv"),
        data.join("iv_sweep_AP_295K.dat"),
        data.join("ih_loop_1mV.tsv"),
    );
    if !(p.exists() && ap.exists() && ih.exists()) {
        eprintln!("sample data not found in {}; skipped", data.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (ps, aps, ihs) = (
        p.to_str().unwrap(),
        ap.to_str().unwrap(),
        ih.to_str().unwrap(),
    );
    ok(&spinpath(&["analyze", "tmr", ps, aps], d));
    ok(&spinpath(&["analyze", "power", ps, aps], d));
    ok(&spinpath(&["analyze", "didv", ps, aps], d));
    let out = ok(&spinpath(&["analyze", "ih", ihs], d));
    assert!(out.contains("P → AP at 150.0 Oe"), "{out}");
    let s = json(&d.join("out/analyze-ih/summary.json"));
    // The current changes sign with the state: TMR below −100 %.
    assert!(s["loops"][0]["tmr_percent"].as_f64().unwrap() < -100.0);
    let s = json(&d.join("out/analyze-tmr/summary.json"));
    assert!(!s["opposite_sign_regions_mV"].as_array().unwrap().is_empty());
}
