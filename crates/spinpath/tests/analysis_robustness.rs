//! No panics on any input: the readers and analyses return `Ok` or a clear `Err` for arbitrary text
//! and arbitrary (finite) data.

use proptest::prelude::*;
use spinpath::analysis::derivative::{self, Method};
use spinpath::analysis::read::{AxisSpec, DataFile, Quantity};
use spinpath::analysis::{jumps, peaks, power, shift, stats, tmr, Trace};

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~\t]{0,40}",
        "(-?[0-9]{1,3}(\\.[0-9]{0,3})?([eE]-?[0-9])?[ ,;\t]{1,2}){1,5}",
        Just("% V[mV]\tI[nA]".to_string()),
        Just("Time (s),Voltage (V),Current (A)".to_string()),
        Just(",,,".to_string()),
        Just("nan inf -inf".to_string()),
    ]
}

fn trace(max: usize) -> impl Strategy<Value = Trace> {
    prop::collection::vec((-5.0f64..5.0, -1e3f64..1e3), 0..max).prop_map(|v| {
        let (x, y): (Vec<f64>, Vec<f64>) = v.into_iter().unzip();
        Trace { x, y }
    })
}

/// A sweep with repeated bias values and arbitrary currents.
fn sweep() -> impl Strategy<Value = Trace> {
    (
        1usize..30,
        prop::collection::vec(-10.0f64..10.0, 0..200),
        0.01f64..1.0,
    )
        .prop_map(|(n, y, step)| {
            let mut x: Vec<f64> = (0..=n).map(|k| k as f64 * step).collect();
            x.extend((0..=2 * n).map(|k| (n as f64 - k as f64) * step));
            x.extend((0..=n).map(|k| (k as f64 - n as f64) * step));
            let m = x.len().min(y.len());
            Trace {
                x: x[..m].to_vec(),
                y: y[..m].to_vec(),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn reader_never_panics(lines in prop::collection::vec(line(), 0..12)) {
        let text = lines.join("\n");
        if let Ok(df) = DataFile::parse(&text, "fuzz.txt") {
            let _ = df.trace(Quantity::Voltage, &AxisSpec::default(), Quantity::Current, &AxisSpec::default());
            prop_assert_eq!(df.columns.len(), df.names.len());
            for c in &df.columns {
                prop_assert_eq!(c.len(), df.n_rows());
            }
        }
    }

    #[test]
    fn sweep_analyses_never_panic(t in sweep(), u in sweep()) {
        let _ = derivative::averaged_didv(&t, Method::default(), None);
        let _ = derivative::averaged_didv(&t, Method::FiniteDifference, None);
        let _ = power::power(&t);
        let _ = tmr::tmr_from_iv(&t, &u, tmr::TmrOptions::default());
        let _ = shift::rolling_shift(&t, &u, shift::ShiftOptions::default());
        let _ = peaks::find_peaks(&t.x, &t.y, peaks::PeakOptions::default());
        if let Ok(c) = tmr::tmr_from_iv(&t, &u, tmr::TmrOptions::default()) {
            prop_assert!(c.tmr_percent.iter().all(|v| !v.is_infinite()));
            prop_assert!(c.table().unwrap().to_csv_string().is_ok());
        }
    }

    #[test]
    fn trace_analyses_never_panic(t in trace(120)) {
        let _ = tmr::ih_loop(&t, tmr::IhOptions::default());
        let _ = jumps::detect_jumps(&t.x, &t.y, jumps::JumpOptions::default());
        let _ = stats::current_statistics(&t.x, &t.y, stats::StatsOptions { bin: 10.0, ..Default::default() });
        let _ = stats::current_statistics(&t.x, &t.y, stats::StatsOptions { bin: 1e-300, ..Default::default() });
        let _ = stats::current_statistics(&t.x, &t.y, stats::StatsOptions { bias_tolerance: 1e9, ..Default::default() });
        let _ = peaks::find_peaks(&t.x, &t.y, peaks::PeakOptions::default());
        let _ = derivative::didv(&t, Method::default());
        let _ = power::power(&t);
    }
}
