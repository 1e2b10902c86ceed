//! Running a lab protocol on a junction from the command line: progress, resumable log, outputs.

use crate::run::progress;
use spinpath::config::protocol::ProtocolSpec;
use spinpath::io::write_atomic;
use spinpath::outdir::RunDir;
use spinpath::protocol::report::protocol_output;
use spinpath::protocol::{run_plan, Junction, ResumeLog};

/// Execute `spec` on `junction` in the results folder `dir` (opened by
/// [`crate::integrity::open`]), logging every point to `points.partial.csv` in its staging folder
/// so that an interrupted run (`--stop-after`, SIGINT, SIGTERM, a kill) continues with `--resume`;
/// then write the protocol's files and put the folder in place.
pub fn run_protocol(
    spec: &ProtocolSpec,
    junction: &mut dyn Junction,
    source: &str,
    dir: RunDir,
    stop_after: Option<usize>,
) -> anyhow::Result<()> {
    let out = dir.path().to_path_buf();
    let log_path = out.join("points.partial.csv");
    let stateful = !junction.checkpoint().is_empty();
    let (mut log, mut done, state) = match ResumeLog::open(&log_path, &spec.plan, stateful) {
        Ok(opened) => opened,
        Err(e) => return Err(failed(dir, e)),
    };
    if let Some(s) = state {
        junction.restore(&s)?;
    }
    if !done.is_empty() {
        eprintln!(
            "resuming after {} of {} points",
            done.len(),
            spec.plan.len()
        );
    }
    let started = std::time::Instant::now();
    let pb = progress(spec.plan.len() as u64, spec.kind.name());
    pb.set_position(done.len() as u64);
    let t0 = done.last().map_or(0.0, |m| m.time_s);
    let start = done.len();
    let mut stopped_at = None;
    crate::integrity::set_polling(true);
    let result = run_plan(
        junction,
        &spec.plan,
        &spec.instrument,
        spec.seed,
        start,
        t0,
        &mut |m, j| {
            pb.inc(1);
            let last = m.index + 1 == spec.plan.len();
            let stop = !last
                && (stop_after.is_some_and(|n| m.index + 1 >= n)
                    || crate::integrity::interrupted());
            log.append(&spec.plan, m, &j.checkpoint(), stop || last)?;
            if stop {
                stopped_at = Some(m.index + 1);
                return Err(spinpath::Error::invalid("run", "interrupted"));
            }
            Ok(())
        },
    );
    // Polling stays on until the results are committed: a signal that arrives after the last
    // point (while the files are written) lets the run finish instead of killing it half-written.
    let new = match (result, stopped_at) {
        (Ok(new), _) => new,
        (Err(_), Some(n)) => {
            pb.finish_and_clear();
            drop(log);
            let kept = dir.keep_for_resume();
            anyhow::bail!(
                "interrupted after {n} of {} points; the points so far are kept in {}; continue with: {}",
                spec.plan.len(),
                kept.display(),
                crate::integrity::resume_command()
            );
        }
        (Err(e), None) => {
            pb.finish_and_clear();
            drop(log);
            return Err(failed(dir, e));
        }
    };
    pb.finish_and_clear();
    done.extend(new);
    let output = protocol_output(spec, &spec.plan, &done)?;
    write_atomic(&out.join("config.toml"), source.as_bytes())?;
    for (name, t) in &output.tables {
        t.write_csv(&out.join(name))?;
    }
    for (name, f) in &output.figures {
        f.write_svg(&out.join(name))?;
    }
    for (name, h) in &output.heatmaps {
        h.write_svg(&out.join(name))?;
    }
    write_atomic(
        &out.join("summary.json"),
        serde_json::to_string_pretty(&output.summary)?.as_bytes(),
    )?;
    log.finish();
    // (Polling is left on: the process ends after this command, and a signal from now on has
    // nothing left to interrupt.)
    let out = dir.commit()?;
    println!(
        "{} protocol: {} points (seed {})",
        spec.kind.name(),
        done.len(),
        spec.seed
    );
    print!("{}", output.text);
    println!(
        "  wrote {} in {:.2} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The error of a failed protocol run. A fresh run's staging folder is removed (a failed run
/// leaves nothing); a resumed one keeps the points of its earlier part.
fn failed(dir: RunDir, e: spinpath::Error) -> anyhow::Error {
    if dir.resumed() {
        let kept = dir.keep_for_resume();
        anyhow::anyhow!(
            "{e}; the points measured before are still kept in {} (continue with --resume once the cause is fixed, or start over with --force)",
            kept.display()
        )
    } else {
        e.into()
    }
}
