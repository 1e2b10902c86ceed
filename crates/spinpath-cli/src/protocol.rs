//! Running a lab protocol on a junction from the command line: progress, resumable log, outputs.

use crate::run::progress;
use spinpath::config::protocol::ProtocolSpec;
use spinpath::io::write_atomic;
use spinpath::protocol::report::protocol_output;
use spinpath::protocol::{run_plan, Junction, ResumeLog};
use std::path::Path;

/// Execute `spec` on `junction`, logging every point to `<out>/points.partial.csv` so that an
/// interrupted run continues with `--resume`; then write the protocol's files.
pub fn run_protocol(
    spec: &ProtocolSpec,
    junction: &mut dyn Junction,
    source: &str,
    out: &Path,
    stop_after: Option<usize>,
) -> anyhow::Result<()> {
    let log_path = out.join("points.partial.csv");
    let stateful = !junction.checkpoint().is_empty();
    let (mut log, mut done, state) = ResumeLog::open(&log_path, stateful)?;
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
    let new = run_plan(
        junction,
        &spec.plan,
        &spec.instrument,
        spec.seed,
        start,
        t0,
        &mut |m, j| {
            pb.inc(1);
            let stop = stop_after.is_some_and(|n| m.index + 1 >= n);
            log.append(
                &spec.plan,
                m,
                &j.checkpoint(),
                stop || m.index + 1 == spec.plan.len(),
            )?;
            if stop && m.index + 1 < spec.plan.len() {
                return Err(spinpath::Error::invalid(
                    "run",
                    format!(
                        "interrupted after {} of {} points (--stop-after); continue with --resume",
                        m.index + 1,
                        spec.plan.len()
                    ),
                ));
            }
            Ok(())
        },
    )?;
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
