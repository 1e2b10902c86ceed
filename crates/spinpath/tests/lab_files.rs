//! Bench-style files in the layouts instruments and lab software write, generated here with a known
//! truth: each is read and analysed, and the numbers are asserted (or the refusal and its message).
//!
//! Truth used throughout: I(V) = G·V + C·V³ (+ noise), G = 0.8 nA/mV, C = 0.01 nA/mV³, swept
//! 0 → +3 → −3 → +3 → 0 mV in 0.1 mV steps; I(H) loops with known switching fields.

use spinpath::analysis::derivative::{self, Method};
use spinpath::analysis::read::{
    self, bias_from_lines, bias_from_name, read_trace, AxisSpec, DataFile, Quantity,
};
use spinpath::analysis::{interp_sorted, power, shift, stats, tmr, Trace};
use std::path::{Path, PathBuf};

const G: f64 = 0.8;
const C: f64 = 0.01;

fn truth(v_mv: f64) -> f64 {
    G * v_mv + C * v_mv.powi(3)
}

/// Deterministic Gaussian noise (xorshift + Box–Muller).
struct Noise(u64);
impl Noise {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f64 {
        let (a, b) = (self.uniform(), self.uniform());
        (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
    }
}

/// The bias sweep 0 → +vmax → −vmax → +vmax → 0 in `step` mV (turning points once).
fn sweep(vmax: f64, step: f64) -> Vec<f64> {
    let n = (vmax / step).round() as i64;
    let mut k: Vec<i64> = (0..=n).collect();
    k.extend((-n..n).rev());
    k.extend(-n + 1..=n);
    k.extend((0..n).rev());
    k.into_iter().map(|i| i as f64 * step).collect()
}

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("spinpath-lab-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(name: &str, text: &str) -> PathBuf {
    let p = dir().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn auto() -> AxisSpec {
    AxisSpec::default()
}

fn iv(p: &Path) -> read::Loaded {
    read_trace(p, Quantity::Voltage, &auto(), Quantity::Current, &auto()).unwrap()
}

/// dI/dV at zero bias of the averaged sweeps.
fn g0(t: &Trace) -> f64 {
    let (_, avg) = derivative::averaged_didv(t, Method::default(), None).unwrap();
    let (x, y) = avg.covered();
    interp_sorted(&x, &y, 0.0).unwrap()
}

fn assert_iv_truth(l: &read::Loaded, tol_na: f64) {
    assert!(!l.trace.is_empty());
    for (v, i) in l.trace.x.iter().zip(&l.trace.y) {
        assert!(
            (i - truth(*v)).abs() <= tol_na,
            "{}: I({v} mV) = {i} nA, truth {}",
            l.file,
            truth(*v)
        );
    }
}

#[test]
fn keithley_export_with_metadata_and_compliance_column() {
    // Metadata block before the header, a constant compliance column before the current.
    let mut s = String::from(
        "Keithley 2400 SourceMeter\nSample:,MTJ-7\nSource:,Voltage\nCompliance:,1.0E-6 A\nNPLC:,1\n\n\
         Index,Compliance (A),Voltage (V),Current (A),Resistance (Ohm),Status\n",
    );
    for (k, v) in sweep(3.0, 0.1).iter().enumerate() {
        let i = truth(*v) * 1e-9;
        s += &format!(
            "{k},1.000000E-06,{:.6E},{:.9E},{:.4E},1\n",
            v * 1e-3,
            i,
            1.0 / (i + 1e-15)
        );
    }
    let p = write("keithley_iv.csv", &s);
    let l = iv(&p);
    assert_eq!(l.report.y.name, "Current (A)");
    assert_eq!(l.report.x.name, "Voltage (V)");
    assert_eq!(l.report.preamble_lines, 5);
    assert_eq!(l.report.header_line, Some(7));
    assert_iv_truth(&l, 1e-6);
    assert!((g0(&l.trace) - G).abs() < 1e-3);
    // Power: the sweep never generates (I·V ≥ 0), so no output power and no V_oc other than 0.
    let r = power::power(&l.trace).unwrap();
    assert!(
        r.max_power_nw.is_none_or(|p| p < 1e-9),
        "{:?}",
        r.max_power_nw
    );
}

#[test]
fn labview_lvm_with_two_headers_trailing_tabs_and_unit_labels() {
    let mut s = String::from(
        "LabVIEW Measurement\t\nWriter_Version\t2\t\nReader_Version\t2\t\nSeparator\tTab\t\n\
         Decimal_Separator\t.\t\nMulti_Headings\tNo\t\nX_Columns\tOne\t\nTime_Pref\tRelative\t\n\
         Operator\tlab\t\nDate\t2024/05/02\t\nTime\t14:21:08.25\t\n***End_of_Header***\t\n\t\n\
         Channels\t2\t\t\nSamples\t241\t241\t\nDate\t2024/05/02\t2024/05/02\t\n\
         Y_Unit_Label\tV\tA\t\nX_Dimension\tTime\tTime\t\nX0\t0.0000000000000000E+0\t0.0000000000000000E+0\t\n\
         Delta_X\t0.100000\t0.100000\t\n***End_of_Header***\t\t\t\nX_Value\tBias\tCurrent\tComment\n",
    );
    for (k, v) in sweep(3.0, 0.1).iter().enumerate() {
        s += &format!(
            "{:.6}\t{:.6E}\t{:.9E}\t\n",
            k as f64 * 0.1,
            v * 1e-3,
            truth(*v) * 1e-9
        );
    }
    let p = write("sweep.lvm", &s);
    let l = iv(&p);
    assert_eq!(l.report.format, "LabVIEW .lvm");
    assert_eq!(l.report.x.name, "Bias");
    assert_eq!(l.report.x.unit, "V");
    assert!(
        l.report.x.unit_source.contains("line 17"),
        "{:?}",
        l.report.x
    );
    assert_eq!(l.report.y.unit, "A");
    assert_iv_truth(&l, 1e-6);
}

#[test]
fn ppms_dat_loop_with_field_in_oe_and_empty_columns() {
    // I(H): P (low current) at large |H|; up-sweep switches to AP at +183 Oe, down-sweep back at −57.
    let mut s = String::from(
        "[Header]\r\n; Quantum Design PPMS data file\r\nTITLE,MTJ loop\r\nBYAPP,ETO,1.0\r\n\
         INFO,APPNAME,ETO\r\nDATATYPE,COMMENT,1\r\n[Data]\r\n\
         Comment,Time Stamp (sec),Temperature (K),Magnetic Field (Oe),Current (A),Voltage (V)\r\n",
    );
    let mut fields: Vec<f64> = (-50..=50).map(|k| k as f64 * 10.0).collect();
    fields.extend((-50..50).rev().map(|k| k as f64 * 10.0));
    let mut up = true;
    let mut state_ap = false;
    let mut prev = -1e9;
    for (k, h) in fields.iter().enumerate() {
        if *h < prev {
            up = false;
        }
        prev = *h;
        if up && *h > 183.0 {
            state_ap = true;
        }
        if !up && *h < -57.0 {
            state_ap = false;
        }
        let i = if state_ap { 0.5e-9 } else { 1.0e-9 };
        s += &format!(
            ",{:.3},{:.4},{h:.2},{i:.6E},1.0E-3\r\n",
            1000.0 + k as f64,
            300.0
        );
    }
    let p = write("loop_1mV.dat", &s);
    let l = read_trace(&p, Quantity::Field, &auto(), Quantity::Current, &auto()).unwrap();
    assert_eq!(l.report.format, "Quantum Design .dat");
    assert_eq!(l.report.x.name, "Magnetic Field (Oe)");
    assert_eq!(l.report.y.name, "Current (A)");
    let r = tmr::ih_loop(&l.trace, tmr::IhOptions::default()).unwrap();
    let to_ap = r.switches.iter().find(|s| s.to == tmr::State::AP).unwrap();
    let to_p = r.switches.iter().find(|s| s.to == tmr::State::P).unwrap();
    assert!((to_ap.field - 185.0).abs() < 1e-9, "{}", to_ap.field);
    assert!((to_p.field + 55.0).abs() < 1e-9, "{}", to_p.field);
    assert!((r.tmr_percent.0 - 100.0).abs() < 1e-6);
}

#[test]
fn field_in_ka_per_m_is_converted_to_oe() {
    // Switching at 14.56 kA/m (= 183 Oe) and −4.536 kA/m (= −57 Oe); steps of 0.2 kA/m, so the
    // midpoints between the last and first fields of each state are 14.5 and −4.5 kA/m.
    let mut s = String::from("H (kA/m)\tI (nA)\n");
    let hs: Vec<f64> = (-100..=100)
        .map(|k| k as f64 * 0.2)
        .chain((-100..100).rev().map(|k| k as f64 * 0.2))
        .collect();
    let mut up = true;
    let mut ap = false;
    for w in 0..hs.len() {
        if w > 0 && hs[w] < hs[w - 1] {
            up = false;
        }
        if up && hs[w] > 14.56 {
            ap = true;
        }
        if !up && hs[w] < -4.536 {
            ap = false;
        }
        s += &format!("{:.2}\t{}\n", hs[w], if ap { 0.3 } else { 0.9 });
    }
    let p = write("loop_kAm.tsv", &s);
    let l = read_trace(&p, Quantity::Field, &auto(), Quantity::Current, &auto()).unwrap();
    let r = tmr::ih_loop(&l.trace, tmr::IhOptions::default()).unwrap();
    let oe = 4.0 * std::f64::consts::PI; // Oe per kA/m
    let to_ap = r.switches.iter().find(|s| s.to == tmr::State::AP).unwrap();
    let to_p = r.switches.iter().find(|s| s.to == tmr::State::P).unwrap();
    assert!((to_ap.field - 14.5 * oe).abs() < 1e-6, "{}", to_ap.field);
    assert!((to_p.field + 4.5 * oe).abs() < 1e-6, "{}", to_p.field);
    assert!((to_ap.field - 183.0).abs() < 0.2 * oe);
}

#[test]
fn units_given_only_in_comment_lines() {
    let mut s = String::from("# bench run 12\n# bias in V, current in A\nbias\tcurrent\n");
    for v in sweep(3.0, 0.1) {
        s += &format!("{:.6e}\t{:.6e}\n", v * 1e-3, truth(v) * 1e-9);
    }
    let p = write("comment_units.txt", &s);
    let l = iv(&p);
    assert_eq!(l.report.x.unit, "V");
    assert_eq!(l.report.x.unit_source, "comment line 2");
    assert_eq!(l.report.y.unit, "A");
    assert_iv_truth(&l, 1e-6);
    // A `units:` line, positional.
    let mut s = String::from("% units: mV pA\n% Vb Id\n");
    for v in sweep(1.0, 0.1) {
        s += &format!("{v:.3} {:.4}\n", truth(v) * 1e3);
    }
    let l = iv(&write("units_line.dat", &s));
    assert_eq!(
        (l.report.x.unit.as_str(), l.report.y.unit.as_str()),
        ("mV", "pA")
    );
    assert_iv_truth(&l, 1e-6);
}

#[test]
fn scaled_and_prefixed_units() {
    // Origin style: values in units of 1e-6 A; voltages in kV, currents in fA.
    let mut a = String::from("V (mV),I (1e-6 A)\n");
    let mut b = String::from("Voltage (kV),Current (fA)\n");
    let mut c = String::from("U [µV];I [µA]\n");
    for v in sweep(3.0, 0.1) {
        a += &format!("{v:.3},{:.12}\n", truth(v) * 1e-3);
        b += &format!("{:.9e},{:.6e}\n", v * 1e-6, truth(v) * 1e6);
        c += &format!(
            "{};{}\n",
            format!("{:.1}", v * 1e3).replace('.', ","),
            format!("{:.9}", truth(v) * 1e-3).replace('.', ",")
        );
    }
    for (name, text) in [("origin.csv", a), ("kv_fa.csv", b), ("micro.csv", c)] {
        let l = iv(&write(name, &text));
        assert_iv_truth(&l, 1e-5);
    }
}

#[test]
fn overflow_readings_are_dropped_with_a_count() {
    let mut s = String::from("Voltage (V),Current (A)\n");
    let v = sweep(3.0, 0.1);
    for (k, x) in v.iter().enumerate() {
        let i = match k {
            7 => "9.91E+37".to_string(),
            30 => "-9.91E+37".to_string(),
            55 => "+INF".to_string(),
            60 => "NaN".to_string(),
            _ => format!("{:.9e}", truth(*x) * 1e-9),
        };
        s += &format!("{:.6e},{i}\n", x * 1e-3);
    }
    let l = iv(&write("overflow.csv", &s));
    assert_eq!(l.report.dropped_overflow, 3);
    assert_eq!(l.report.dropped_missing, 1);
    assert_eq!(l.trace.len(), v.len() - 4);
    assert!(l.trace.y.iter().all(|y| y.abs() < 10.0));
    assert!((g0(&l.trace) - G).abs() < 1e-3);
}

#[test]
fn rounded_read_back_bias_and_repeated_readings() {
    // Bias steps of 0.05 mV read back rounded to 0.1 mV.
    let mut s = String::from("V_mV,I_nA\n");
    let v = sweep(3.0, 0.05);
    for x in &v {
        s += &format!("{:.1},{:.6}\n", x, truth(*x));
    }
    let mut l = iv(&write("rounded.csv", &s));
    assert!(l.average_repeats());
    let segs = derivative::split_segments(&l.trace.x);
    assert_eq!(segs.len(), 4, "{segs:?}");
    assert!((g0(&l.trace) - G).abs() < 0.02, "{}", g0(&l.trace));
    // Three readings per bias step, with noise.
    let mut noise = Noise(7);
    let mut s = String::from("Voltage (mV)\tCurrent (nA)\n");
    for x in sweep(3.0, 0.1) {
        for _ in 0..3 {
            s += &format!("{x:.2}\t{:.6}\n", truth(x) + 0.002 * noise.gauss());
        }
    }
    let mut l = iv(&write("triple.tsv", &s));
    assert!(l.average_repeats());
    let a = l.report.averaged.clone().unwrap();
    assert_eq!(a.readings_per_point, (3, 3));
    assert_eq!(a.points_after * 3, a.points_before);
    assert_eq!(derivative::split_segments(&l.trace.x).len(), 4);
    assert!((g0(&l.trace) - G).abs() < 0.01);
    // A plain sweep is left alone.
    let mut plain = iv(&write(
        "plain.csv",
        &sweep(1.0, 0.1)
            .iter()
            .fold(String::from("V_mV,I_nA\n"), |acc, x| {
                acc + &format!("{x:.2},{}\n", truth(*x))
            }),
    ));
    assert!(!plain.average_repeats());
}

#[test]
fn encodings_and_decimal_commas() {
    // Windows-1252 with µ and °, tab-separated with decimal commas.
    let mut s = String::from("# Probe station, T = 4,2 K (°)\nSpannung (mV)\tStrom (µA)\n");
    for v in sweep(3.0, 0.1) {
        s += &format!(
            "{}\t{}\n",
            format!("{v:.2}").replace('.', ","),
            format!("{:.9}", truth(v) * 1e-3).replace('.', ",")
        );
    }
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&s);
    let p = dir().join("latin1.txt");
    std::fs::write(&p, &bytes).unwrap();
    let l = iv(&p);
    assert_eq!(l.report.encoding, "windows-1252");
    assert!(l.report.decimal_comma);
    assert_eq!(l.report.y.unit, "µA");
    assert_iv_truth(&l, 1e-5);
    // UTF-16 LE with a BOM, CRLF lines, trailing delimiters.
    let mut s = String::from("Voltage (V),Current (A),\r\n");
    for v in sweep(3.0, 0.1) {
        s += &format!("{:.6e},{:.9e},\r\n", v * 1e-3, truth(v) * 1e-9);
    }
    let mut bytes = vec![0xFF, 0xFE];
    for u in s.encode_utf16() {
        bytes.extend(u.to_le_bytes());
    }
    let p = dir().join("utf16.csv");
    std::fs::write(&p, &bytes).unwrap();
    let l = iv(&p);
    assert_eq!(l.report.encoding, "UTF-16LE");
    assert_iv_truth(&l, 1e-6);
}

#[test]
fn shift_beyond_the_default_bound_is_found_or_refused() {
    // Two Lorentzian conductance peaks; AP moved by +21 mV.
    let lor = |v: f64, c: f64| 1.0 / (1.0 + ((v - c) / 6.0).powi(2));
    let g = |v: f64| lor(v, -30.0) + 0.7 * lor(v, 25.0);
    let x: Vec<f64> = (-800..=800).map(|k| k as f64 * 0.1).collect();
    let p = Trace::new(x.clone(), x.iter().map(|v| g(*v)).collect()).unwrap();
    let ap = Trace::new(x.clone(), x.iter().map(|v| g(v - 21.0)).collect()).unwrap();
    let fits = shift::rolling_shift(&p, &ap, shift::ShiftOptions::default()).unwrap();
    let mean = shift::weighted_mean_shift(&fits);
    assert!((mean - 21.0).abs() < 0.05, "{mean}");
    // With an explicit bound below the shift, windows are flagged and no mean is reported.
    let fits = shift::rolling_shift(
        &p,
        &ap,
        shift::ShiftOptions {
            max_shift: Some(10.0),
            ..Default::default()
        },
    )
    .unwrap();
    let defined: Vec<_> = fits.iter().filter(|f| f.shift.is_finite()).collect();
    assert!(defined.iter().any(|f| f.at_bound));
    let mean = shift::weighted_mean_shift(&fits);
    assert!(!mean.is_finite() || (mean - 21.0).abs() < 0.05 || mean.abs() < 10.0 - 1e-6);
    assert!(defined
        .iter()
        .filter(|f| !f.at_bound)
        .all(|f| (f.shift - 21.0).abs() > 1.0 || (f.shift - 21.0).abs() < 0.05));
}

#[test]
fn stats_bin_from_noise_separates_close_branches() {
    // Two branches 0.4 nA apart (10.0 and 10.4 nA), reading noise 0.03 nA, telegraph switching.
    let mut noise = Noise(11);
    let (mut b, mut i) = (Vec::new(), Vec::new());
    for bias in [1.0, 2.0] {
        let mut on = false;
        for k in 0..400 {
            if k % 37 == 0 {
                on = !on;
            }
            b.push(bias);
            i.push(if on { 10.4 } else { 10.0 } + 0.03 * noise.gauss());
        }
    }
    let sigma = stats::noise_sigma_of_samples(&b, &i, 1e-6).unwrap();
    assert!((sigma - 0.03).abs() < 0.006, "{sigma}");
    let bin = stats::bin_from_noise(&b, &i, 1e-6).unwrap();
    let r = stats::current_statistics(
        &b,
        &i,
        stats::StatsOptions {
            bin,
            ..Default::default()
        },
    )
    .unwrap();
    for bias in [1.0, 2.0] {
        let br: Vec<_> = r.branches.iter().filter(|x| x.bias == bias).collect();
        assert_eq!(br.len(), 2, "{br:?}");
        assert!((br[0].current - 10.0).abs() < 0.01 && (br[1].current - 10.4).abs() < 0.01);
    }
    // The old fixed 1 nA bin merges them: what the noise-chosen bin avoids.
    let r = stats::current_statistics(&b, &i, stats::StatsOptions::default()).unwrap();
    assert_eq!(r.branches.iter().filter(|x| x.bias == 1.0).count(), 1);
}

#[test]
fn bias_values_from_file_names_and_comments() {
    assert_eq!(bias_from_name("ih_loop_0p8mV.tsv"), Some(0.8));
    assert_eq!(bias_from_name("loop_m0p5mV.dat"), Some(-0.5));
    assert_eq!(bias_from_name("loop_neg1p25mV.dat"), Some(-1.25));
    assert_eq!(bias_from_name("loop_-0.5mV.dat"), Some(-0.5));
    assert_eq!(bias_from_name("loop_500uV.dat"), Some(0.5));
    assert_eq!(bias_from_name("ih_loop_1mV.tsv"), Some(1.0));
    assert_eq!(bias_from_name("iv_sweep_P_295K.csv"), None);
    assert_eq!(bias_from_name("loop_1mV_2mV.dat"), None);
    let lines = vec![
        (1, "I(H) at V = +1 mV".to_string()),
        (2, "T = 4 K".to_string()),
    ];
    assert_eq!(bias_from_lines(&lines), Some((1.0, 1)));
    let lines = vec![(3, "Bias: 250 uV".to_string())];
    assert_eq!(bias_from_lines(&lines), Some((0.25, 3)));
}

#[test]
fn ambiguous_or_unreadable_files_are_refused_with_file_line_and_remedy() {
    // No unit anywhere.
    let e = read_trace(
        &write("nounits.txt", "bias current\n0 1\n1 2\n2 3\n"),
        Quantity::Voltage,
        &auto(),
        Quantity::Current,
        &auto(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("nounits.txt:1:") && e.contains("--x-unit"),
        "{e}"
    );
    // Two different current readings.
    let e = read_trace(
        &write(
            "two_currents.csv",
            "V (mV),I1 (nA),I2 (nA)\n0,1,5\n1,2,7\n2,3,9\n",
        ),
        Quantity::Voltage,
        &auto(),
        Quantity::Current,
        &auto(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("several columns") && e.contains("--y"), "{e}");
    // A garbage line inside the data.
    let e = DataFile::read(&write(
        "interrupted.csv",
        "V (mV),I (nA)\n0,1\n1,2\n2,3\n3,4\n---- paused ----\n4,5\n5,6\n6,7\n7,8\n8,9\n",
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("interrupted.csv:6:"), "{e}");
    // Only a constant compliance current.
    let e = read_trace(
        &write(
            "only_compliance.csv",
            "Voltage (V),Compliance (A)\n0,1e-6\n1,1e-6\n2,1e-6\n",
        ),
        Quantity::Voltage,
        &auto(),
        Quantity::Current,
        &auto(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("Compliance") && e.contains("--y"), "{e}");
    // A unit of the wrong kind chosen explicitly.
    let e = read_trace(
        &write("wrongkind.csv", "t (s),I (nA)\n0,1\n1,2\n"),
        Quantity::Voltage,
        &AxisSpec {
            column: Some("t (s)".parse().unwrap()),
            unit: None,
        },
        Quantity::Current,
        &auto(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("not a voltage"), "{e}");
}

#[test]
fn zero_current_file_has_no_open_circuit_voltage() {
    let x = sweep(1.0, 0.1);
    let t = Trace::new(x.clone(), vec![0.0; x.len()]).unwrap();
    let r = power::power(&t).unwrap();
    let vocs: usize = r.segments.iter().map(|s| s.voc_mv.len()).sum();
    assert_eq!(vocs, 0);
}

#[test]
fn peak_widths_are_corrected_for_the_derivative_smoothing() {
    use spinpath::analysis::peaks;
    // dI/dV = 0.2 + Lorentzian of height 1 nA/mV and FWHM w at +1.3 mV; steps of 0.05 mV.
    // The residual error of a width sampled by 6 points is the sampling's (≤ 3 %).
    for (w, step, c) in [
        (0.3, 0.05, 1.3),
        (0.3, 0.05, 1.32),
        (0.6, 0.05, 1.3),
        (2.0, 0.1, 1.3),
    ] {
        let v: Vec<f64> = (-60..=60).map(|k| k as f64 * step).collect();
        let i: Vec<f64> = v
            .iter()
            .map(|x| 0.2 * x + 0.5 * w * ((x - c) / (0.5 * w)).atan())
            .collect();
        let t = Trace::new(v, i).unwrap();
        let (_, avg) = derivative::averaged_didv(&t, Method::default(), None).unwrap();
        let (x, y) = avg.covered();
        let ps = peaks::find_peaks(&x, &y, peaks::PeakOptions::default()).unwrap();
        assert_eq!(ps.len(), 1);
        let raw = ps[0].fwhm;
        let extent = (ps[0].position - x[0], x[x.len() - 1] - ps[0].position);
        let fixed = peaks::deconvolved_fwhm(
            raw,
            step,
            Method::default(),
            peaks::HalfLevel::Prominence,
            extent,
        );
        let tol = if w / step < 8.0 { 0.03 } else { 0.01 };
        assert!(
            (fixed - w).abs() < tol * w,
            "w {w}: raw {raw}, corrected {fixed}"
        );
        if w / step < 8.0 {
            // Where the smoothing matters, the raw width is measurably too wide.
            assert!(raw > 1.03 * w, "w {w}: raw {raw}");
        }
    }
}

#[test]
fn programmed_bias_is_preferred_to_its_noisy_read_back() {
    let mut noise = Noise(3);
    let mut s = String::from("Measured Voltage (V),Source Voltage (V),Current (A)\n");
    for v in sweep(3.0, 0.1) {
        s += &format!(
            "{:.6e},{:.6e},{:.9e}\n",
            (v + 0.02 * noise.gauss()) * 1e-3,
            v * 1e-3,
            truth(v) * 1e-9
        );
    }
    let l = iv(&write("readback.csv", &s));
    assert_eq!(l.report.x.name, "Source Voltage (V)");
    assert_eq!(derivative::split_segments(&l.trace.x).len(), 4);
    assert_iv_truth(&l, 1e-6);
}
