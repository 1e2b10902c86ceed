//! No run file makes the library panic: random edits of the presets either give a clear error or a
//! device that runs and returns finite numbers.

use proptest::prelude::*;
use spinpath::config::parse_coherent_run;
use spinpath::negf::ChainSolver;

fn preset(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../examples/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Replace the `k`-th number of the text by `value`, or delete line `k`.
fn mutate(text: &str, k: usize, value: &str, delete_line: bool) -> String {
    if delete_line {
        let lines: Vec<&str> = text.lines().collect();
        let drop = k % lines.len().max(1);
        return lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != drop)
            .map(|(_, l)| *l)
            .collect::<Vec<_>>()
            .join("\n");
    }
    let mut out = String::new();
    let mut count = 0;
    let mut chars = text.char_indices().peekable();
    let bytes = text.as_bytes();
    while let Some((i, c)) = chars.next() {
        let starts_number = (c.is_ascii_digit()
            || (c == '-' && bytes.get(i + 1).is_some_and(|b| b.is_ascii_digit())))
            && (i == 0 || !(bytes[i - 1] as char).is_alphanumeric() && bytes[i - 1] != b'_');
        if starts_number {
            let mut j = i + c.len_utf8();
            while let Some(&(jj, cc)) = chars.peek() {
                if cc.is_ascii_digit() || cc == '.' || cc == 'e' || cc == '-' {
                    j = jj + cc.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            if count == k {
                out.push_str(value);
            } else {
                out.push_str(&text[i..j]);
            }
            count += 1;
            continue;
        }
        out.push(c);
    }
    out
}

fn values() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("1e308".to_string()),
        Just("-1e308".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("\"x\"".to_string()),
        Just("[]".to_string()),
        Just("99999999999".to_string()),
        (-1e4f64..1e4).prop_map(|x| format!("{x}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn edited_presets_never_panic(k in 0usize..80, value in values(), delete in proptest::bool::weighted(0.2), which in 0usize..3) {
        let name = ["spin-engine.toml", "iv-sweeps.toml", "ih-loop.toml"][which];
        let text = mutate(&preset(name), k, &value, delete);
        if let Ok(run) = parse_coherent_run(name, &text) {
            for state in &run.states {
                if let Ok(solver) = ChainSolver::new(&run.chain, state) {
                    for &v in run.bias_mv.iter().step_by((run.bias_mv.len() / 3).max(1)).take(3) {
                        let p = solver.bias_point(v, &run.integration);
                        prop_assert!(p.current().is_finite(), "non-finite current for {name} edit {k} -> {value}");
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn edited_dot_files_never_panic(k in 0usize..60, value in values(), delete in proptest::bool::weighted(0.2), which in 0usize..3) {
        let name = ["memristive-cb.toml", "write-read.toml", "current-statistics.toml"][which];
        let text = mutate(&preset(name), k, &value, delete);
        let states = ["P".to_string(), "AP".to_string()];
        let _ = spinpath::config::protocol::parse_protocol(name, &text, &states);
        if let Ok((model, _)) = spinpath::master::spec::load(name, &text) {
            let rates = spinpath::master::RateSet::build(&model, 50.0, spinpath::master::Magnet::P);
            if let Ok(p) = spinpath::master::steady::solve(&rates, &Default::default()) {
                prop_assert!(p.iter().all(|x| x.is_finite()));
            }
        }
    }
}

// ---- Resume logs: another run's log, torn or garbled lines never panic (issue 16). ----

use spinpath::protocol::{run_plan, schedule, Instrument, ResumeLog};

fn sweep_plan(points_per_branch: f64) -> Vec<spinpath::protocol::PlannedPoint> {
    schedule::standard_sweep(
        "s",
        points_per_branch,
        0.1,
        0.1,
        1,
        &["P".into(), "AP".into()],
        None,
    )
    .unwrap()
}

/// A stateless junction answering I = V (nA per mV): enough to fill a log.
struct Ohmic;
impl spinpath::protocol::Junction for Ohmic {
    fn measure(
        &mut self,
        op: &spinpath::protocol::OperatingPoint,
        _dwell_s: f64,
        _integration_s: f64,
        _rng: &mut rand_xoshiro::Xoshiro256PlusPlus,
    ) -> spinpath::Result<spinpath::protocol::Reading> {
        Ok(spinpath::protocol::Reading {
            current_na: op.bias_mv,
            current_up_na: op.bias_mv / 2.0,
            current_down_na: op.bias_mv / 2.0,
            branch: None,
        })
    }
}

/// The text of a complete log of `plan`.
fn full_log(plan: &[spinpath::protocol::PlannedPoint]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("points.partial.csv");
    let (mut log, _, _) = ResumeLog::open(&path, plan, false).unwrap();
    run_plan(
        &mut Ohmic,
        plan,
        &Instrument::default(),
        1,
        0,
        0.0,
        &mut |m, _| log.append(plan, m, &[], false),
    )
    .unwrap();
    drop(log);
    std::fs::read_to_string(&path).unwrap()
}

/// The log of a longer run (the edited-config resume of issue 16, which panicked with an index
/// out of bounds) is refused with the file and line, and left as it was.
#[test]
fn a_log_of_another_plan_is_refused_not_indexed() {
    let long = sweep_plan(2.0);
    let short = sweep_plan(1.0);
    assert!(long.len() > short.len());
    let text = full_log(&long);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("points.partial.csv");
    std::fs::write(&path, &text).unwrap();
    let err = match ResumeLog::open(&path, &short, false) {
        Ok(_) => panic!("another plan's log was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("points.partial.csv:"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "untouched");
    // The plan's own log is accepted whole.
    let (_, done, _) = ResumeLog::open(&path, &long, false).unwrap();
    assert_eq!(done.len(), long.len());
    // And points of another plan cannot reach the tables either.
    let bad = spinpath::protocol::points_table(&short, &done);
    assert!(bad.is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Cutting a log anywhere, or garbling one byte, gives a prefix of the points (or a clear
    /// error), never a panic and never a point that is not the plan's.
    #[test]
    fn torn_or_garbled_logs_resume_a_prefix(cut in 0usize..20_000, garble in proptest::option::of((0usize..20_000, any::<u8>()))) {
        let plan = sweep_plan(1.0);
        let text = full_log(&plan);
        let mut bytes = text.as_bytes()[..cut.min(text.len())].to_vec();
        if let Some((at, b)) = garble {
            if !bytes.is_empty() {
                let k = at % bytes.len();
                bytes[k] = b;
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("points.partial.csv");
        std::fs::write(&path, &bytes).unwrap();
        if let Ok((_, done, _)) = ResumeLog::open(&path, &plan, false) {
            prop_assert!(done.len() <= plan.len());
            for (i, m) in done.iter().enumerate() {
                prop_assert_eq!(m.index, i);
            }
            prop_assert!(spinpath::protocol::points_table(&plan, &done).is_ok());
        }
    }
}

/// Every error from an edited preset names the file (issue 16: 74 of 2,540 did not; 31 of 1,469
/// here before model and plan errors were given their file).
#[test]
fn errors_from_edited_presets_name_the_file() {
    let vals = [
        "0",
        "-1",
        "1e308",
        "nan",
        "inf",
        "\"x\"",
        "[]",
        "99999999999",
        "0.5",
        "-3.7",
    ];
    let mut missing = Vec::new();
    let mut total = 0;
    for name in [
        "spin-engine.toml",
        "iv-sweeps.toml",
        "ih-loop.toml",
        "memristive-cb.toml",
        "write-read.toml",
        "current-statistics.toml",
    ] {
        // Fewer write/read cycles: the same keys, a plan 100 times smaller to build.
        let text = preset(name).replace("cycles = 1357", "cycles = 13");
        for k in 0..80 {
            for (v, del) in vals.iter().map(|v| (*v, false)).chain([("", true)]) {
                let t = mutate(&text, k, v, del);
                let states = ["P".to_string(), "AP".to_string()];
                let mut errs = Vec::new();
                if spinpath::config::is_dots_file(&t) {
                    if let Err(e) = spinpath::master::spec::load(name, &t) {
                        errs.push(e.to_string());
                    }
                    if let Err(e) = spinpath::config::protocol::parse_protocol(name, &t, &states) {
                        errs.push(e.to_string());
                    }
                } else if let Err(e) = parse_coherent_run(name, &t) {
                    errs.push(e.to_string());
                }
                for e in errs {
                    total += 1;
                    if !e.contains(name) {
                        missing.push(format!("{name} #{k} -> {v:?} (delete {del}): {e}"));
                    }
                }
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "{} of {total} errors without the file:\n{}",
        missing.len(),
        missing.join("\n")
    );
}
