//! `spinpath analyze`: the papers' analyses of measured (or simulated) data files.
//!
//! Each analysis reads its files with [`spinpath::analysis::read`], runs the library function,
//! writes CSV tables, a `summary.json` where meaningful and an SVG figure into the output folder
//! (default `out/analyze-<analysis>`, never overwritten without `--force`, files written
//! atomically), and prints a short summary. See `docs/analysis.md`.

use anyhow::{bail, Context};
use serde_json::{json, Value};
use spinpath::analysis::derivative::{self, Method};
use spinpath::analysis::read::{self as read, AxisSpec, DataFile, Loaded, Quantity, ReadReport};
use spinpath::analysis::{jumps, outputs, peaks, power, shift, stats, tmr, Trace};
use spinpath::plot::Figure;
use spinpath::table::Table;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

mod args;
pub use args::*;

/// The output folder: checked before any work, created when the first file is written.
struct Out {
    dir: PathBuf,
    force: bool,
    staged: Option<spinpath::outdir::RunDir>,
    written: Vec<String>,
    /// What the reader decided for each file, written into `summary.json` under `read`.
    reads: Vec<Value>,
}

impl Out {
    fn new(dir: PathBuf, force: bool) -> anyhow::Result<Self> {
        if dir.exists() && !force {
            bail!(
                "{} already exists; refusing to overwrite it (use --force to replace its files, or choose another --output)",
                dir.display()
            );
        }
        Ok(Out {
            dir,
            force,
            staged: None,
            written: Vec::new(),
            reads: Vec::new(),
        })
    }

    /// A file in the staged results folder (opened on first use: a failed analysis leaves nothing,
    /// `--force` leaves nothing stale, a second writer is refused).
    fn path(&mut self, name: &str) -> anyhow::Result<PathBuf> {
        if self.staged.is_none() {
            let args: Vec<String> = std::env::args().skip(1).collect();
            let fp = spinpath::outdir::Fingerprint::new("analyze", "", &args.join("\u{1f}"), None)
                .with_arguments(args);
            let mode = crate::integrity::mode(self.force, false);
            self.staged = crate::integrity::open(&self.dir, &fp, mode)?;
        }
        let dir = self
            .staged
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("{}: results folder not opened", self.dir.display()))?;
        self.written.push(name.to_string());
        Ok(dir.path().join(name))
    }

    /// Put the staged folder in place.
    fn commit(&mut self) -> anyhow::Result<()> {
        if let Some(dir) = self.staged.take() {
            dir.commit()?;
        }
        Ok(())
    }

    fn csv(&mut self, name: &str, t: &Table) -> anyhow::Result<()> {
        let p = self.path(name)?;
        t.write_csv(&p)?;
        Ok(())
    }

    fn svg(&mut self, name: &str, f: &Figure) -> anyhow::Result<()> {
        let p = self.path(name)?;
        f.write_svg(&p)?;
        Ok(())
    }

    fn json(&mut self, name: &str, v: &Value) -> anyhow::Result<()> {
        let mut v = v.clone();
        if let (true, Some(obj)) = (name == "summary.json", v.as_object_mut()) {
            obj.insert("read".into(), Value::Array(self.reads.clone()));
        }
        let p = self.path(name)?;
        let text = serde_json::to_string_pretty(&v)? + "\n";
        spinpath::io::write_atomic(&p, text.as_bytes())?;
        Ok(())
    }
}

/// Execute `spinpath analyze`.
pub fn run(args: AnalyzeArgs) -> anyhow::Result<()> {
    let dir = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("out/analyze-{}", args.analysis.name())));
    let mut out = Out::new(dir, args.force)?;
    let result = match args.analysis {
        Analysis::Didv => didv(&args, &mut out),
        Analysis::Tmr => tmr_cmd(&args, &mut out),
        Analysis::Power => power_cmd(&args, &mut out),
        Analysis::Peaks => peaks_cmd(&args, &mut out),
        Analysis::Shift => shift_cmd(&args, &mut out),
        Analysis::Stats => stats_cmd(&args, &mut out),
        Analysis::Jumps => jumps_cmd(&args, &mut out),
        Analysis::Ih => ih_cmd(&args, &mut out),
    };
    let summary = result.map_err(flatten)?;
    out.commit()?;
    // A closed pipe (`spinpath analyze … | head`) ends the output quietly.
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let printed = write!(stdout, "{summary}").and_then(|()| {
        writeln!(
            stdout,
            "wrote {} in {}",
            out.written.join(", "),
            out.dir.display()
        )
    });
    match printed.and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Print what the reader decided on stderr and keep it for `summary.json`.
fn record(out: &mut Out, report: &ReadReport) {
    for line in report.lines() {
        eprintln!("{line}");
    }
    out.reads.push(report.to_json());
}

/// One message from an error chain, without repeating a cause that an outer message already quotes
/// (`x.csv: No such file or directory` rather than the same text twice).
fn flatten(e: anyhow::Error) -> anyhow::Error {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if msg.is_empty() {
            msg = text;
        } else if !msg.contains(&text) {
            msg = format!("{msg}: {text}");
        }
    }
    anyhow::anyhow!(msg)
}

fn axes(args: &AnalyzeArgs) -> (AxisSpec, AxisSpec) {
    (
        AxisSpec {
            column: args.x.clone(),
            unit: args.x_unit,
        },
        AxisSpec {
            column: args.y.clone(),
            unit: args.y_unit,
        },
    )
}

/// Read a trace; with `merge`, repeated readings at one bias are averaged (sweep analyses).
fn load(
    path: &Path,
    xq: Quantity,
    args: &AnalyzeArgs,
    out: &mut Out,
    merge: bool,
) -> anyhow::Result<Loaded> {
    let (x, y) = axes(args);
    let mut l = spinpath::analysis::read::read_trace(path, xq, &x, Quantity::Current, &y)?;
    if merge {
        l.average_repeats();
    }
    record(out, &l.report);
    if l.trace.len() < 2 {
        bail!(
            "{}: only {} data row(s); need at least 2",
            path.display(),
            l.trace.len()
        );
    }
    Ok(l)
}

fn method(args: &AnalyzeArgs) -> Method {
    match args.method {
        DerivMethod::Sg => Method::SavitzkyGolay {
            window: args.window,
            order: args.order,
        },
        DerivMethod::Fd => Method::FiniteDifference,
    }
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map_or_else(|| "data".into(), |s| s.to_string_lossy().into_owned())
}

/// File-name prefix: empty for a single file, `<stem>_` for several.
fn prefix(args: &AnalyzeArgs, p: &Path) -> String {
    if args.files.len() == 1 {
        String::new()
    } else {
        format!("{}_", stem(p))
    }
}

fn need_files(args: &AnalyzeArgs, n: usize, what: &str) -> anyhow::Result<()> {
    if args.files.len() != n {
        bail!(
            "`analyze {}` takes {n} files ({what}); got {}",
            args.analysis.name(),
            args.files.len()
        );
    }
    Ok(())
}

fn didv(args: &AnalyzeArgs, out: &mut Out) -> anyhow::Result<String> {
    let m = method(args);
    let mut s = String::new();
    let mut loaded = Vec::new();
    let mut summaries = Vec::new();
    for f in &args.files {
        let l = load(f, Quantity::Voltage, args, out, true)?;
        let (d, avg) = derivative::averaged_didv(&l.trace, m, args.grid_step)
            .with_context(|| format!("{}", f.display()))?;
        let pre = prefix(args, f);
        out.csv(&format!("{pre}didv_points.csv"), &d.table()?)?;
        out.csv(
            &format!("{pre}didv.csv"),
            &avg.table("bias_mV", "didv_nA_per_mV")?,
        )?;
        let sum = outputs::DidvSummary {
            points: l.trace.len(),
            didv: &d,
            averaged: &avg,
        };
        s += &sum.text(&f.display().to_string());
        let mut entry = sum.summary();
        entry["file"] = json!(f.display().to_string());
        summaries.push(entry);
        loaded.push((stem(f), l.trace, avg));
    }
    out.json(
        "summary.json",
        &json!({"analysis": "didv", "method": outputs::method_json(m), "files": summaries}),
    )?;
    let items: Vec<_> = loaded.iter().map(|(n, t, a)| (n.clone(), t, a)).collect();
    out.svg("didv.svg", &outputs::didv_figure(&items))?;
    Ok(s)
}

fn tmr_cmd(args: &AnalyzeArgs, out: &mut Out) -> anyhow::Result<String> {
    need_files(args, 2, "the P sweep, then the AP sweep")?;
    let p = load(&args.files[0], Quantity::Voltage, args, out, true)?;
    let ap = load(&args.files[1], Quantity::Voltage, args, out, true)?;
    let opts = tmr::TmrOptions {
        step: args.grid_step,
        min_ap_current: args.min_ap_current,
    };
    let c = tmr::tmr_from_iv(&p.trace, &ap.trace, opts)?;
    out.csv("tmr.csv", &c.table()?)?;
    let mut summary = c.summary();
    summary["analysis"] = json!("tmr");
    summary["p_file"] = json!(args.files[0].display().to_string());
    summary["ap_file"] = json!(args.files[1].display().to_string());
    out.json("summary.json", &summary)?;
    out.svg("tmr.svg", &c.figure())?;
    Ok(c.text())
}

fn power_cmd(args: &AnalyzeArgs, out: &mut Out) -> anyhow::Result<String> {
    let mut s = String::new();
    let mut files = Vec::new();
    let mut results = Vec::new();
    for f in &args.files {
        let l = load(f, Quantity::Voltage, args, out, true)?;
        let r = power::power(&l.trace).with_context(|| format!("{}", f.display()))?;
        out.csv(&format!("{}power.csv", prefix(args, f)), &r.table)?;
        let mut entry = r.summary_json();
        entry["file"] = json!(f.display().to_string());
        files.push(entry);
        s += &r.text(&f.display().to_string());
        results.push((stem(f), r));
    }
    out.json(
        "summary.json",
        &json!({"analysis": "power", "convention": "P = -I*V, nW", "files": files}),
    )?;
    let items: Vec<_> = results.iter().map(|(n, r)| (n.clone(), r)).collect();
    out.svg("power.svg", &outputs::power_figure(&items))?;
    Ok(s)
}

/// The curve a peak or shift analysis looks at: averaged dI/dV, or the raw y column.
fn signal_curve(
    args: &AnalyzeArgs,
    f: &Path,
    out: &mut Out,
) -> anyhow::Result<(Vec<f64>, Vec<f64>, String)> {
    match args.signal {
        Signal::Didv => {
            let l = load(f, Quantity::Voltage, args, out, true)?;
            let (_, avg) = derivative::averaged_didv(&l.trace, method(args), args.grid_step)
                .with_context(|| format!("{}", f.display()))?;
            let (x, y) = avg.covered();
            Ok((x, y, "nA_per_mV".into()))
        }
        Signal::Raw => {
            let df = DataFile::read(f)?;
            let (x, y) = axes(args);
            let (t, x_note, y_note) = df.raw_signal(&x, y.column.as_ref())?;
            eprintln!("read {}: x {x_note}; y {y_note}", f.display());
            out.reads.push(
                json!({"file": f.display().to_string(), "encoding": df.encoding,
                "format": df.format, "x": x_note, "y": y_note}),
            );
            // Average repeated sweeps of a raw column too, so that the curve is single-valued.
            let avg = derivative::averaged_current(&t, args.grid_step)?;
            let (x, y) = avg.covered();
            Ok((x, y, "signal".into()))
        }
    }
}

fn peaks_cmd(args: &AnalyzeArgs, out: &mut Out) -> anyhow::Result<String> {
    let opts = peaks::PeakOptions {
        min_prominence: args.min_prominence,
        half_level: match args.half_level {
            HalfArg::Prominence => peaks::HalfLevel::Prominence,
            HalfArg::Zero => peaks::HalfLevel::Zero,
        },
        dips: args.dips,
    };
    let mut curves = Vec::new();
    let mut unit = String::new();
    let mut steps = Vec::new();
    let mut s = String::new();
    for f in &args.files {
        let (x, y, u) = signal_curve(args, f, out)?;
        unit = u;
        steps.push(spinpath::analysis::median_step(&x));
        let mut ps = peaks::find_peaks(&x, &y, opts).with_context(|| format!("{}", f.display()))?;
        if args.signal == Signal::Didv {
            peaks::correct_didv_widths(&mut ps, &x, method(args), opts.half_level);
        }
        s += &outputs::peaks_text(&f.display().to_string(), &ps, args.dips);
        curves.push((stem(f), x, y, ps));
    }
    let sets: Vec<(String, Vec<peaks::Peak>)> =
        curves.iter().map(|c| (c.0.clone(), c.3.clone())).collect();
    out.csv("peaks.csv", &peaks::peaks_table(&sets, "mV", &unit)?)?;
    let tol = args
        .spacing_tol
        .unwrap_or_else(|| 3.0 * spinpath::analysis::median(&steps));
    let only: Vec<Vec<peaks::Peak>> = sets.iter().map(|s| s.1.clone()).collect();
    let common = peaks::common_spacing(&only, tol);
    if let Some(c) = &common {
        let names: Vec<String> = sets.iter().map(|s| s.0.clone()).collect();
        out.csv("pairs.csv", &c.table(&names, "mV")?)?;
        s += &outputs::spacing_text(c, sets.len());
    }
    let mut summary = outputs::peaks_summary(&sets, &unit, tol, common.as_ref());
    summary["analysis"] = json!("peaks");
    out.json("summary.json", &summary)?;
    out.svg("peaks.svg", &outputs::peaks_figure(&curves, &unit))?;
    Ok(s)
}

fn shift_cmd(args: &AnalyzeArgs, out: &mut Out) -> anyhow::Result<String> {
    need_files(args, 2, "the P sweep, then the AP sweep")?;
    let (px, py, unit) = signal_curve(args, &args.files[0], out)?;
    let (ax, ay, _) = signal_curve(args, &args.files[1], out)?;
    let p = Trace::new(px, py)?;
    let ap = Trace::new(ax, ay)?;
    let opts = shift::ShiftOptions {
        window: args.shift_window,
        step: args.shift_step,
        max_shift: args.max_shift,
        min_points: 5,
    };
    let fits = shift::rolling_shift(&p, &ap, opts)?;
    out.csv("shift.csv", &shift::shift_table(&fits)?)?;
    let mut s = String::new();
    let (lo, hi) = (
        p.x.first().copied().unwrap_or(0.0),
        p.x.last().copied().unwrap_or(0.0),
    );
    if args.shift_window > hi - lo {
        writeln!(
            s,
            "note: the {} mV window is wider than the P bias range ({lo:.3} to {hi:.3} mV); one window covers it",
            args.shift_window
        )?;
    }
    s += &outputs::shift_text(&fits);
    let mut summary = outputs::shift_summary(&fits, &unit, args.shift_window);
    summary["analysis"] = json!("shift");
    out.json("summary.json", &summary)?;
    out.svg("shift.svg", &outputs::shift_figure(&p, &ap, &fits, &unit))?;
    if fits.iter().any(|f| f.at_bound) && !shift::weighted_mean_shift(&fits).is_finite() {
        s += "  no shift reported: every defined window ended on the search bound; raise --max-shift or widen --shift-window\n";
    }
    Ok(s)
}

fn stats_cmd(args: &AnalyzeArgs, out: &mut Out) -> anyhow::Result<String> {
    let mut s = String::new();
    let mut files = Vec::new();
    let mut results = Vec::new();
    for f in &args.files {
        let l = load(f, Quantity::Voltage, args, out, false)?;
        let (bin, source, sigma) =
            stats::choose_bin(args.bin, &l.trace.x, &l.trace.y, args.bias_tol)
                .with_context(|| format!("{}", f.display()))?;
        let opts = stats::StatsOptions {
            bin,
            min_occupation: args.min_occupation,
            bias_tolerance: args.bias_tol,
        };
        let r = stats::current_statistics(&l.trace.x, &l.trace.y, opts)?;
        let pre = prefix(args, f);
        out.csv(&format!("{pre}histogram.csv"), &r.histogram)?;
        out.csv(&format!("{pre}stats.csv"), &r.summary)?;
        out.csv(&format!("{pre}branches.csv"), &r.branch_table()?)?;
        let name = f.display().to_string();
        s += &r.text(&name, l.trace.len(), bin, args.min_occupation, sigma);
        let (n_bias, multi) = r.counts();
        files.push(
            json!({"file": name, "bias_values": n_bias, "multi_branch_bias_values": multi,
            "bin_nA": bin, "bin_source": source, "noise_sigma_nA": sigma}),
        );
        results.push((stem(f), r));
    }
    out.json(
        "summary.json",
        &json!({"analysis": "stats", "files": files}),
    )?;
    let items: Vec<_> = results.iter().map(|(n, r)| (n.clone(), r)).collect();
    out.svg("stats.svg", &outputs::stats_figure(&items))?;
    Ok(s)
}

fn jumps_cmd(args: &AnalyzeArgs, out: &mut Out) -> anyhow::Result<String> {
    let mut s = String::new();
    let mut all_seqs: Vec<(i64, String)> = Vec::new();
    let mut traces = Vec::new();
    let mut files = Vec::new();
    let mut cycle_offset = 0i64;
    for f in &args.files {
        let df = DataFile::read(f)?;
        let (_, ys) = axes(args);
        let read::TimeTrace {
            x,
            x_name,
            y,
            cycle: cycle_raw,
            y_note,
        } = df.time_trace(
            args.x.as_ref(),
            args.x_unit,
            &ys,
            args.cycle_column.as_ref(),
        )?;
        eprintln!("read {}: y {y_note}", f.display());
        out.reads.push(
            json!({"file": f.display().to_string(), "encoding": df.encoding,
            "format": df.format, "y": y_note}),
        );
        let opts = jumps::JumpOptions {
            threshold: args.threshold,
            ..Default::default()
        };
        let j = jumps::detect_jumps(&x, &y, opts)?;
        let pre = prefix(args, f);
        out.csv(&format!("{pre}jumps.csv"), &j.table(&x_name)?)?;
        let cycle: Vec<i64> = match (cycle_raw, args.cycle_samples) {
            (Some(c), _) => c.iter().map(|v| v.round() as i64).collect(),
            (None, Some(n)) if n > 0 => (0..y.len()).map(|i| (i / n) as i64).collect(),
            (None, Some(_)) => bail!("--cycle-samples must be at least 1"),
            (None, None) => vec![0; y.len()],
        };
        let seqs = jumps::cycle_sequences(&j.jumps, &cycle);
        out.csv(&format!("{pre}cycles.csv"), &outputs::cycles_table(&seqs)?)?;
        writeln!(
            s,
            "{}: {} jumps (noise σ {:.3e} nA, threshold {}σ of the differences), sequence {}; {} cycle(s); read {}",
            f.display(),
            j.jumps.len(),
            j.noise_sigma,
            args.threshold,
            if j.jumps.is_empty() { "-".into() } else { j.sequence() },
            seqs.len(),
            y_note
        )?;
        let mut entry = j.summary(seqs.len());
        entry["file"] = json!(f.display().to_string());
        files.push(entry);
        let max_c = seqs.iter().map(|c| c.0).max().unwrap_or(0);
        all_seqs.extend(seqs.into_iter().map(|(c, q)| (c + cycle_offset, q)));
        cycle_offset += max_c + 1;
        traces.push((stem(f), x, y, j));
    }
    let (table, rate) = jumps::success_table(&all_seqs, args.expect.as_deref())?;
    out.csv("success.csv", &table)?;
    s += &outputs::success_text(&table, args.expect.as_deref(), rate, all_seqs.len());
    out.json(
        "summary.json",
        &json!({"analysis": "jumps", "expected": args.expect, "success_rate": rate, "cycles": all_seqs.len(), "files": files}),
    )?;
    let items: Vec<_> = traces
        .iter()
        .map(|(n, x, y, j)| (n.clone(), x.clone(), y.clone(), j))
        .collect();
    out.svg("jumps.svg", &outputs::jumps_figure(&items))?;
    Ok(s)
}

fn ih_cmd(args: &AnalyzeArgs, out: &mut Out) -> anyhow::Result<String> {
    if !args.bias.is_empty() && args.bias.len() != args.files.len() {
        bail!(
            "--bias has {} values for {} files; give one per file or none",
            args.bias.len(),
            args.files.len()
        );
    }
    let opts = tmr::IhOptions {
        p_level: match args.p_level {
            PLevelArg::Auto => tmr::PLevel::Auto,
            PLevelArg::High => tmr::PLevel::High,
            PLevelArg::Low => tmr::PLevel::Low,
        },
        ..Default::default()
    };
    let mut s = String::new();
    let mut loops = Vec::new();
    for (k, f) in args.files.iter().enumerate() {
        let l = load(f, Quantity::Field, args, out, false)?;
        let r = tmr::ih_loop(&l.trace, opts).with_context(|| format!("{}", f.display()))?;
        let bias = match args.bias.get(k) {
            Some(b) => *b,
            None => match l.stated_bias()? {
                Some((b, from)) => {
                    eprintln!("  bias {b} mV from {from}");
                    b
                }
                None => f64::NAN,
            },
        };
        let pre = prefix(args, f);
        out.csv(&format!("{pre}ih.csv"), &r.table(&l.trace)?)?;
        out.csv(&format!("{pre}switches.csv"), &r.switch_table()?)?;
        s += &r.text(&f.display().to_string(), bias);
        loops.push((f.display().to_string(), stem(f), bias, l.trace, r));
    }
    let rows: Vec<_> = loops.iter().map(|l| (l.0.clone(), l.2, &l.4)).collect();
    out.csv("tmr_points.csv", &outputs::ih_points_table(&rows)?)?;
    let summary: Vec<Value> = loops
        .iter()
        .map(|l| {
            let mut v = l.4.summary(l.2);
            v["file"] = json!(l.0);
            v
        })
        .collect();
    out.json("summary.json", &json!({"analysis": "ih", "loops": summary}))?;
    let items: Vec<_> = loops
        .iter()
        .map(|l| (l.1.clone(), l.2, &l.3, &l.4))
        .collect();
    out.svg("ih.svg", &outputs::ih_figure(&items))?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bias_is_read_from_file_names() {
        let b = read::bias_from_name;
        assert_eq!(b("ih_loop_1mV.tsv"), Some(1.0));
        assert_eq!(b("loop_-0.5mV.dat"), Some(-0.5));
        assert_eq!(b("loop_0p8mV.dat"), Some(0.8));
        assert_eq!(b("loop.dat"), None);
    }
}
