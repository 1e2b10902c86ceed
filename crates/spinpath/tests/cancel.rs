//! Cancellation: the `*_cancellable` run functions stop early with `Error::Cancelled` once their
//! flag is set (from a progress hook here, as a front end's Ctrl-C would), and give exactly the
//! plain functions' results when it is never set.

use spinpath::cancel::Cancel;
use spinpath::run::{Job, RunFile};
use spinpath::Error;
use std::sync::atomic::{AtomicUsize, Ordering};

fn example(name: &str) -> (String, String) {
    let path = format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

#[test]
fn coherent_sweep_stops_at_the_next_point_and_is_unchanged_otherwise() {
    let (path, text) = example("spin-engine.toml");
    let rf = RunFile::parse(&path, &text).unwrap();
    let Job::CoherentSweep(run) = &rf.job else {
        panic!("spin-engine.toml is a coherent sweep")
    };
    let mut run = run.clone();
    run.bias_mv = (0..41).map(|k| -10.0 + 0.5 * k as f64).collect();
    let device = run.device();
    let total = run.states.len() * run.bias_mv.len();

    // Never set: identical tables to the plain function.
    let plain = spinpath::run::sweep_output(&run, &device, &|| {}).unwrap();
    let never = Cancel::new();
    let same = spinpath::run::sweep_output_cancellable(&run, &device, &|| {}, &never).unwrap();
    // (Debug text: NaN cells compare equal, every bit of the numbers is printed.)
    assert_eq!(format!("{:?}", plain.tables), format!("{:?}", same.tables));

    // Set after 5 points: an error, and far fewer points computed than the grid has.
    let cancel = Cancel::new();
    let ticks = AtomicUsize::new(0);
    let r = spinpath::run::sweep_output_cancellable(
        &run,
        &device,
        &|| {
            if ticks.fetch_add(1, Ordering::SeqCst) + 1 == 5 {
                cancel.cancel();
            }
        },
        &cancel,
    );
    assert!(matches!(r, Err(Error::Cancelled)), "{:?}", r.err());
    let done = ticks.load(Ordering::SeqCst);
    // Points already started on other workers may finish: at most one more per worker.
    assert!(
        done < 5 + rayon::current_num_threads() + 1 && done < total,
        "{done} of {total} points ran after the cancel"
    );
}

#[test]
fn dots_sweep_stops_within_a_state() {
    let (path, text) = example("memristive-cb.toml");
    let rf = RunFile::parse(&path, &text).unwrap();
    let Job::DotsSweep(job) = &rf.job else {
        panic!("memristive-cb.toml is a dots sweep")
    };
    let cancel = Cancel::new();
    cancel.cancel();
    let ticks = AtomicUsize::new(0);
    let r = spinpath::run::dots_output_cancellable(
        &path,
        &rf.device,
        job,
        &|| {
            ticks.fetch_add(1, Ordering::SeqCst);
        },
        &cancel,
    );
    assert!(matches!(r, Err(Error::Cancelled)));
    // No state finished: the flag is checked at every bias point, not only between states.
    assert_eq!(ticks.load(Ordering::SeqCst), 0);
    // RunFile::execute_cancellable takes the same path.
    assert!(matches!(
        rf.execute_cancellable(&|| {}, &cancel),
        Err(Error::Cancelled)
    ));
}

#[test]
fn fit_stops_at_the_next_evaluation() {
    let (path, text) = example("fit-spin-engine.toml");
    let spec = spinpath::config::fit::parse_fit(std::path::Path::new(&path), &text).unwrap();
    let x: Vec<f64> = (0..21).map(|k| -10.0 + k as f64).collect();
    let data: Vec<spinpath::fit::Dataset> = ["P", "AP"]
        .iter()
        .map(|s| spinpath::fit::Dataset {
            name: s.to_string(),
            x: x.clone(),
            y: x.iter().map(|v| 0.1 * v).collect(),
            sigma: None,
        })
        .collect();
    let cancel = Cancel::new();
    let evaluations = AtomicUsize::new(0);
    let r = spinpath::fit::report::run_fit_cancellable(
        &spec,
        &data,
        &|_| {
            evaluations.fetch_add(1, Ordering::SeqCst);
            cancel.cancel();
        },
        &cancel,
    );
    assert!(matches!(r, Err(Error::Cancelled)), "{:?}", r.err());
    // The first evaluation's report cancels; the optimiser is stopped before many more.
    assert!(evaluations.load(Ordering::SeqCst) < 50);
}
