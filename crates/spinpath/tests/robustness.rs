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
