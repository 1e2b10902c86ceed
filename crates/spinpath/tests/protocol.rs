//! Measurement protocols: hysteresis, jump sequences, histograms, instrument, resume.

use spinpath::config::parse_coherent_run;
use spinpath::config::protocol::{ProtocolKind, ProtocolSpec, WriteReadSettings};
use spinpath::error::Error;
use spinpath::protocol::junction::DeviceJunction;
use spinpath::protocol::report::{protocol_output, sequence_table, write_read_cycles};
use spinpath::protocol::schedule;
use spinpath::protocol::stack::Stack;
use spinpath::protocol::{points_table, run_plan, Instrument, MeasuredPoint, Reading, ResumeLog};

fn preset_junction() -> DeviceJunction {
    use spinpath::engine::dynamics::DynamicsKind;
    use spinpath::engine::{ApproachKind, ApproachSettings};
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/spin-engine.toml"
    );
    let run = parse_coherent_run(path, &std::fs::read_to_string(path).unwrap()).unwrap();
    let device = spinpath::device::Device::from_chain(
        &run.chain,
        run.states,
        run.exchange,
        run.self_consistency,
    );
    let negf = ApproachKind::Negf.build(&ApproachSettings {
        integration: run.integration,
    });
    DeviceJunction::new(device, negf, DynamicsKind::Steady, None, 1).unwrap()
}

fn spec(
    kind: ProtocolKind,
    plan: Vec<spinpath::protocol::PlannedPoint>,
    instrument: Instrument,
    seed: u64,
) -> ProtocolSpec {
    ProtocolSpec {
        kind,
        seed,
        instrument,
        bin_na: 0.01,
        switching_fields_oe: None,
        plan,
        write_read: Some(WriteReadSettings {
            written_high: true,
            jump_threshold: 6.0,
        }),
        dynamics: None,
        gating_dot: None,
        max_events: 1_000_000,
    }
}

/// The current of an I(H) loop switches sign with the magnetic state, at the free layer's fields.
#[test]
fn ih_loop_current_switches_at_the_free_layer_fields() {
    let stack = Stack::new(1500.0, 300.0, 105.0, 45.0).unwrap();
    let plan = schedule::field_loop(
        "0.5mV",
        0.5,
        &stack,
        &[-2000.0, 400.0, -2000.0],
        10.0,
        0.1,
        1,
        None,
    )
    .unwrap();
    let mut j = preset_junction();
    let inst = Instrument {
        noise_nA: 0.005,
        ..Instrument::default()
    };
    let m = run_plan(&mut j, &plan, &inst, 3, 0, 0.0, &mut |_, _| Ok(())).unwrap();
    let s = spec(ProtocolKind::IhLoop, plan, inst, 3);
    let out = protocol_output(&s, &s.plan, &m).unwrap();
    let set = &out.summary["sets"][0];
    assert_eq!(set["sign_follows_state"], true, "{set}");
    let sw = set["current_switching_fields"].as_array().unwrap();
    assert_eq!(sw.len(), 2, "{set}");
    // Midpoints between the last field in the old state and the first in the new one.
    assert_eq!(sw[0]["field_Oe"].as_f64().unwrap(), 155.0);
    assert_eq!(sw[0]["to"], "AP");
    assert_eq!(sw[1]["field_Oe"].as_f64().unwrap(), -65.0);
    assert_eq!(sw[1]["to"], "P");
    assert!(
        set["current_P_nA"].as_f64().unwrap() < 0.0 && set["current_AP_nA"].as_f64().unwrap() > 0.0
    );
}

fn fake(
    plan: &[spinpath::protocol::PlannedPoint],
    current: impl Fn(usize) -> f64,
) -> Vec<MeasuredPoint> {
    (0..plan.len())
        .map(|k| MeasuredPoint {
            index: k,
            time_s: k as f64,
            current_na: current(k),
            clipped: false,
            reading: Reading {
                current_na: current(k),
                current_up_na: 0.0,
                current_down_na: 0.0,
                branch: None,
            },
        })
        .collect()
}

/// Constructed write traces with known jumps: the sequences and the success table are exact.
#[test]
fn write_read_sequences_and_success_table_on_constructed_traces() {
    let plan = schedule::write_read(4, None, &[0.0, -40.0, 0.0], 10.0, 2, 1.0, 1e-3, "P").unwrap();
    let write_len = plan
        .iter()
        .filter(|p| p.set == "write" && p.repeat == 0)
        .count();
    assert_eq!(write_len, 81);
    // Cycle 0: P then N; cycle 1: none; cycle 2: a single P (stays low); cycle 3: P then N.
    let jumps: [&[(usize, f64)]; 4] = [
        &[(20, -5.0), (50, 5.0)],
        &[],
        &[(30, -5.0)],
        &[(10, -5.0), (70, 5.0)],
    ];
    let reads = [2.0, 0.5, 2.0, 0.4];
    let m = fake(&plan, |k| {
        let p = &plan[k];
        // Small deterministic "noise" so that the robust σ of the differences is not zero.
        let wiggle = (((k as u64).wrapping_mul(2_654_435_761) % 1000) as f64 / 1000.0 - 0.5) * 0.01;
        if p.set == "read" {
            return reads[p.repeat] + wiggle;
        }
        let pos = plan[..k]
            .iter()
            .filter(|q| q.set == "write" && q.repeat == p.repeat)
            .count();
        jumps[p.repeat]
            .iter()
            .filter(|(at, _)| pos >= *at)
            .map(|(_, s)| s)
            .sum::<f64>()
            + wiggle
    });
    let cycles = write_read_cycles(&plan, &m, 6.0);
    let seq: Vec<&str> = cycles.iter().map(|c| c.sequence.as_str()).collect();
    assert_eq!(seq, ["PN", "-", "P", "PN"]);
    assert_eq!(
        cycles.iter().map(|c| c.jumps).collect::<Vec<_>>(),
        [2, 0, 1, 2]
    );
    let success = [true, false, true, false];
    let t = sequence_table(&cycles, &success).unwrap();
    assert_eq!(t.str("sequence").unwrap(), ["PN", "-", "P"]);
    assert_eq!(t.f64("count").unwrap(), [2.0, 1.0, 1.0]);
    assert_eq!(t.f64("success_rate").unwrap(), [0.5, 0.0, 1.0]);
    // Through the whole report: reads split into two levels, higher = written.
    let s = spec(
        ProtocolKind::WriteRead,
        plan.clone(),
        Instrument::default(),
        0,
    );
    let out = protocol_output(&s, &plan, &m).unwrap();
    assert_eq!(
        out.summary["sets"][0]["success_rate"].as_f64().unwrap(),
        0.5
    );
}

/// Statistics: every sample lands in the histogram, and the spread is the instrument's noise.
#[test]
fn statistics_histogram_counts_every_sample_and_has_the_instrument_spread() {
    let plan = schedule::statistics("s", &[-1.0, 0.0, 1.0], 800, 0.0, &["P".into()], None).unwrap();
    let mut j = preset_junction();
    let sigma = 0.02;
    let inst = Instrument {
        noise_nA: sigma,
        offset_nA: 0.1,
        ..Instrument::default()
    };
    let m = run_plan(&mut j, &plan, &inst, 11, 0, 0.0, &mut |_, _| Ok(())).unwrap();
    let mut s = spec(ProtocolKind::Statistics, plan.clone(), inst, 11);
    s.bin_na = 0.01;
    let out = protocol_output(&s, &plan, &m).unwrap();
    let hist = &out
        .tables
        .iter()
        .find(|(n, _)| n.starts_with("histogram_"))
        .unwrap()
        .1;
    let (b, d, c) = (
        hist.f64("bias_mV").unwrap(),
        hist.f64("deviation_nA").unwrap(),
        hist.f64("count").unwrap(),
    );
    for v in [-1.0, 0.0, 1.0] {
        let rows: Vec<usize> = (0..b.len()).filter(|&k| b[k] == v).collect();
        assert_eq!(rows.iter().map(|&k| c[k]).sum::<f64>(), 800.0, "bias {v}");
        // The three central bins (centres −0.01, 0, 0.01 nA) cover ±0.015 nA = ±0.75σ: 54.7 % of a
        // Gaussian (the mean is estimated from the same samples; the tolerance covers that).
        let within: f64 = rows
            .iter()
            .filter(|&&k| d[k].abs() <= 0.0101)
            .map(|&k| c[k])
            .sum();
        assert!(
            (within / 800.0 - 0.547).abs() < 0.07,
            "bias {v}: {}",
            within / 800.0
        );
    }
    // The mean reading is the true current plus the offset, within the statistical error.
    for v in [-1.0, 0.0, 1.0] {
        let sel: Vec<&MeasuredPoint> = m.iter().filter(|x| plan[x.index].op.bias_mv == v).collect();
        let mean = sel.iter().map(|x| x.current_na).sum::<f64>() / 800.0;
        let truth = sel[0].reading.current_na + 0.1;
        assert!(
            (mean - truth).abs() < 4.0 * sigma / 800f64.sqrt(),
            "bias {v}"
        );
    }
}

#[test]
fn instrument_range_clips_and_flags() {
    let plan = schedule::bias_sweep("s", &[0.0, 10.0], 1.0, 0.0, 1, &["P".into()], None).unwrap();
    let mut j = preset_junction();
    let inst = Instrument {
        range_nA: 2.0,
        ..Instrument::default()
    };
    let m = run_plan(&mut j, &plan, &inst, 0, 0, 0.0, &mut |_, _| Ok(())).unwrap();
    assert!(m.iter().any(|x| x.clipped));
    for x in &m {
        assert!(x.current_na.abs() <= 2.0);
        assert_eq!(x.clipped, x.reading.current_na.abs() > 2.0);
    }
    assert!(run_plan(
        &mut j,
        &plan,
        &Instrument {
            noise_nA: -1.0,
            ..inst
        },
        0,
        0,
        0.0,
        &mut |_, _| Ok(())
    )
    .is_err());
}

/// A run interrupted after k points and resumed from its log gives exactly the table of an
/// uninterrupted run with the same seed (stateless coherent junction, torn last line; the stateful
/// Monte Carlo junction is tested end to end in the CLI tests).
#[test]
fn resume_after_interruption_gives_the_same_table() {
    let dir = tempfile_dir();
    let plan =
        schedule::standard_sweep("s", 2.0, 0.1, 0.1, 1, &["P".into(), "AP".into()], None).unwrap();
    let inst = Instrument {
        noise_nA: 0.01,
        ..Instrument::default()
    };
    let full = run_plan(
        &mut preset_junction(),
        &plan,
        &inst,
        42,
        0,
        0.0,
        &mut |_, _| Ok(()),
    )
    .unwrap();
    let want = points_table(&plan, &full).unwrap().to_csv_string().unwrap();

    let log = dir.join("points.partial.csv");
    let _ = std::fs::remove_file(&log);
    {
        let (mut l, done, _) = ResumeLog::open(&log, &plan, false).unwrap();
        assert!(done.is_empty());
        let r = run_plan(
            &mut preset_junction(),
            &plan,
            &inst,
            42,
            0,
            0.0,
            &mut |m, _| {
                l.append(&plan, m, &[], false)?;
                if m.index == 57 {
                    return Err(Error::invalid("test", "interrupted"));
                }
                Ok(())
            },
        );
        assert!(r.is_err());
    }
    // Simulate a torn last line as a kill mid-write would leave.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .map(|mut f| std::io::Write::write_all(&mut f, b"58,s,0,1,do"))
        .unwrap()
        .ok();
    let (mut l, mut done, _) = ResumeLog::open(&log, &plan, false).unwrap();
    assert_eq!(done.len(), 58);
    let t0 = done.last().unwrap().time_s;
    let rest = run_plan(
        &mut preset_junction(),
        &plan,
        &inst,
        42,
        done.len(),
        t0,
        &mut |m, _| l.append(&plan, m, &[], false),
    )
    .unwrap();
    done.extend(rest);
    assert_eq!(
        points_table(&plan, &done).unwrap().to_csv_string().unwrap(),
        want
    );
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("spinpath-protocol-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Temperature series: the same plan at several temperatures, labelled, with different currents.
#[test]
fn temperature_series_changes_the_current() {
    let plan = schedule::bias_sweep("s", &[0.0, 1.0], 1.0, 0.0, 1, &["P".into()], None).unwrap();
    let series = schedule::temperature_series(&plan, &[10.0, 295.0]).unwrap();
    assert_eq!(series.len(), 4);
    assert_eq!(series[0].set, "s@10K");
    let m = run_plan(
        &mut preset_junction(),
        &series,
        &Instrument::default(),
        0,
        0,
        0.0,
        &mut |_, _| Ok(()),
    )
    .unwrap();
    assert!(
        (m[0].current_na - m[2].current_na).abs() > 1e-3,
        "I(0) at 10 K vs 295 K"
    );
    assert!(schedule::temperature_series(&plan, &[-1.0]).is_err());
}
