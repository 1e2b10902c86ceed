//! `spinpath analyze`: the papers' analyses of measured (or simulated) data files.
//!
//! Each analysis reads its files with [`spinpath::analysis::read`], runs the library function,
//! writes CSV tables, a `summary.json` where meaningful and an SVG figure into the output folder
//! (default `out/analyze-<analysis>`, never overwritten without `--force`, files written
//! atomically), and prints a short summary. See `docs/analysis.md`.

use anyhow::{bail, Context};
use serde_json::{json, Value};
use spinpath::analysis::derivative::{self, Method};
use spinpath::analysis::read::{
    self as read, AxisSpec, ColumnSel, DataFile, Loaded, Quantity, ReadReport, Unit,
};
use spinpath::analysis::{jumps, outputs, peaks, power, shift, stats, tmr, Trace};
use spinpath::plot::Figure;
use spinpath::table::Table;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The analyses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Analysis {
    /// dI/dV of I(V) sweeps, per segment and averaged over repeated sweeps.
    Didv,
    /// TMR(V) from a P and an AP I(V) file (in that order).
    Tmr,
    /// Output power, open-circuit voltage, short-circuit current of I(V) sweeps.
    Power,
    /// Peaks of dI/dV (or of a given column) and peak pairs with a common spacing.
    Peaks,
    /// Voltage shift of the AP conductance onto the P conductance (P file first, then AP).
    Shift,
    /// Current histograms per bias and ON/MID/OFF branches.
    Stats,
    /// Current jumps, their sign sequence and the success table of write/read cycles.
    Jumps,
    /// I(H) loops: P and AP levels, TMR, switching fields.
    Ih,
}

impl Analysis {
    fn name(self) -> &'static str {
        match self {
            Analysis::Didv => "didv",
            Analysis::Tmr => "tmr",
            Analysis::Power => "power",
            Analysis::Peaks => "peaks",
            Analysis::Shift => "shift",
            Analysis::Stats => "stats",
            Analysis::Jumps => "jumps",
            Analysis::Ih => "ih",
        }
    }
}

/// Derivative method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DerivMethod {
    /// Savitzky–Golay (local polynomial fit).
    Sg,
    /// Three-point finite difference.
    Fd,
}

/// What the peak and shift analyses look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Signal {
    /// dI/dV of the current column (averaged over the sweep's segments).
    Didv,
    /// The y column itself (e.g. a conductance or TMR column), unconverted.
    Raw,
}

/// Which I(H) level is P.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PLevelArg {
    /// The level at the largest |H| (saturated, parallel).
    Auto,
    /// The higher current.
    High,
    /// The lower current.
    Low,
}

/// Half level of the FWHM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HalfArg {
    /// height − prominence/2 (half-maximum above the local background).
    Prominence,
    /// height/2 (zero baseline).
    Zero,
}

/// Arguments of `spinpath analyze`.
#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// The analysis to run.
    #[arg(value_enum)]
    pub analysis: Analysis,
    /// Data files (CSV, TSV or whitespace-separated; `#`, `%`, `//` comments).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output folder (default `out/analyze-<analysis>`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Replace the files of an existing output folder.
    #[arg(long)]
    pub force: bool,

    /// x column (bias, field or time): header name or 0-based index (default: found from units and
    /// names).
    #[arg(long)]
    pub x: Option<ColumnSel>,
    /// y column (current, or the signal with `--signal raw`): header name or 0-based index.
    #[arg(long)]
    pub y: Option<ColumnSel>,
    /// Unit of the x column (V, mV, uV, T, mT, Oe, s, ms, us); default from its header, else mV/Oe/s.
    #[arg(long)]
    pub x_unit: Option<Unit>,
    /// Unit of the y column (A, mA, uA, nA, pA); default from its header, else nA.
    #[arg(long)]
    pub y_unit: Option<Unit>,

    /// Derivative method (didv, peaks, shift).
    #[arg(long, value_enum, default_value_t = DerivMethod::Sg)]
    pub method: DerivMethod,
    /// Savitzky–Golay window in points (odd).
    #[arg(long, default_value_t = 7)]
    pub window: usize,
    /// Savitzky–Golay polynomial order.
    #[arg(long, default_value_t = 2)]
    pub order: usize,
    /// Common bias grid step in mV (default: the median bias step of the data).
    #[arg(long)]
    pub grid_step: Option<f64>,

    /// tmr: |I_AP| in nA at or below which the TMR is left undefined (default 3σ of the AP noise).
    #[arg(long)]
    pub min_ap_current: Option<f64>,

    /// peaks, shift: analyse dI/dV of the current, or the y column as it is.
    #[arg(long, value_enum, default_value_t = Signal::Didv)]
    pub signal: Signal,
    /// peaks: minimum prominence (units of the signal; default max(5σ noise, 5 % of range)).
    #[arg(long)]
    pub min_prominence: Option<f64>,
    /// peaks: look for dips instead of peaks.
    #[arg(long)]
    pub dips: bool,
    /// peaks: half level of the FWHM.
    #[arg(long, value_enum, default_value_t = HalfArg::Prominence)]
    pub half_level: HalfArg,
    /// peaks: tolerance in mV for a common peak spacing across files (default 3 grid steps).
    #[arg(long)]
    pub spacing_tol: Option<f64>,

    /// shift: window width in mV.
    #[arg(long, default_value_t = 40.0)]
    pub shift_window: f64,
    /// shift: distance between windows in mV (default a quarter of the window).
    #[arg(long)]
    pub shift_step: Option<f64>,
    /// shift: largest |shift| searched, mV (default a quarter of the window or of the bias range).
    #[arg(long)]
    pub max_shift: Option<f64>,

    /// stats: histogram bin in nA (default 1.5σ of the reading noise, from consecutive samples).
    #[arg(long)]
    pub bin: Option<f64>,
    /// stats: biases closer than this (mV) form one group.
    #[arg(long, default_value_t = 1e-6)]
    pub bias_tol: f64,
    /// stats: smallest occupation (fraction) of a branch.
    #[arg(long, default_value_t = 0.05)]
    pub min_occupation: f64,

    /// jumps: detection threshold in robust standard deviations of the point-to-point differences.
    #[arg(long, default_value_t = 6.0)]
    pub threshold: f64,
    /// jumps: column holding each sample's write/read cycle number.
    #[arg(long)]
    pub cycle_column: Option<ColumnSel>,
    /// jumps: cycles of this many consecutive samples (alternative to --cycle-column).
    #[arg(long)]
    pub cycle_samples: Option<usize>,
    /// jumps: the sequence of a successful cycle, e.g. `PN`.
    #[arg(long)]
    pub expect: Option<String>,

    /// ih: bias of each loop file in mV, in file order (default: read from a `<number>mV` in the
    /// file name).
    #[arg(long, num_args = 1.., allow_negative_numbers = true)]
    pub bias: Vec<f64>,
    /// ih: which current level is P.
    #[arg(long, value_enum, default_value_t = PLevelArg::Auto)]
    pub p_level: PLevelArg,
}

/// The output folder: checked before any work, created when the first file is written.
struct Out {
    dir: PathBuf,
    force: bool,
    ready: bool,
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
            ready: false,
            written: Vec::new(),
            reads: Vec::new(),
        })
    }

    fn path(&mut self, name: &str) -> anyhow::Result<PathBuf> {
        if !self.ready {
            spinpath::io::prepare_output_dir(&self.dir, self.force)?;
            self.ready = true;
        }
        self.written.push(name.to_string());
        Ok(self.dir.join(name))
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
            let xi = df
                .resolve(args.x.as_ref(), Quantity::Voltage, &[])?
                .context("no bias column")?;
            let yi = match &args.y {
                Some(sel) => df.index_of(sel)?,
                None => (0..df.names.len())
                    .find(|&i| i != xi)
                    .context("no signal column")?,
            };
            let (x, x_note) = df.values(xi, Quantity::Voltage, args.x_unit)?;
            let y = df.raw_values(yi)?;
            let note = json!({"file": f.display().to_string(), "encoding": df.encoding, "format": df.format,
                "x": x_note, "y": format!("`{}` (column {yi}) as written", df.names[yi])});
            eprintln!(
                "read {}: x {x_note}; y `{}` as written",
                f.display(),
                df.names[yi]
            );
            out.reads.push(note);
            let (x, y): (Vec<f64>, Vec<f64>) = x
                .into_iter()
                .zip(y)
                .filter(|(a, b)| a.is_finite() && b.is_finite())
                .unzip();
            // Average repeated sweeps of a raw column too, so that the curve is single-valued.
            let t = Trace::new(x, y)?;
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
        bail!(
            "every window's shift ended on the search bound (±{} mV): the shift lies outside the \
             searched range; raise --max-shift or widen --shift-window",
            args.max_shift.map_or("default".into(), |m| m.to_string())
        );
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
        let source = if args.bin.is_some() {
            "given"
        } else {
            "1.5 sigma of the reading noise"
        };
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

/// The columns of a jumps file: x (time, a chosen column or the sample index) and its name, the
/// current in nA, and the cycle numbers if a cycle column is given; rows with a missing or
/// overflow value in any of them are dropped.
fn jumps_columns(
    args: &AnalyzeArgs,
    f: &Path,
    out: &mut Out,
) -> anyhow::Result<(Vec<f64>, String, Vec<f64>, Option<Vec<f64>>, String)> {
    let df = DataFile::read(f)?;
    let cyc_col = args
        .cycle_column
        .as_ref()
        .map(|c| df.index_of(c))
        .transpose()?;
    let excl: Vec<usize> = cyc_col.into_iter().collect();
    let is_time = |i: usize| {
        df.header_unit(i)
            .is_some_and(|u| u.quantity == Quantity::Time)
    };
    let xi = match &args.x {
        Some(sel) => Some(df.index_of(sel)?),
        None => (0..df.names.len()).find(|&i| !excl.contains(&i) && is_time(i)),
    };
    let mut ex = excl.clone();
    ex.extend(xi);
    let yi = df
        .resolve(args.y.as_ref(), Quantity::Current, &ex)?
        .context("no current column")?;
    let (y, y_note) = df.values(yi, Quantity::Current, args.y_unit)?;
    eprintln!("read {}: y {y_note}", f.display());
    out.reads.push(
        json!({"file": f.display().to_string(), "encoding": df.encoding,
        "format": df.format, "y": y_note}),
    );
    let (x, x_name) = match xi {
        Some(i) if is_time(i) || args.x_unit.is_some() => (
            df.values(i, Quantity::Time, args.x_unit)?.0,
            "time_s".to_string(),
        ),
        Some(i) => (df.raw_values(i)?, "x".to_string()),
        None => (
            (0..y.len()).map(|i| i as f64).collect(),
            "sample".to_string(),
        ),
    };
    let cycle = cyc_col.map(|c| df.raw_values(c)).transpose()?;
    let keep: Vec<usize> = (0..y.len())
        .filter(|&k| {
            x[k].is_finite() && y[k].is_finite() && cycle.as_ref().is_none_or(|c| c[k].is_finite())
        })
        .collect();
    let pick = |v: &[f64]| keep.iter().map(|&k| v[k]).collect::<Vec<f64>>();
    Ok((pick(&x), x_name, pick(&y), cycle.map(|c| pick(&c)), y_note))
}

fn jumps_cmd(args: &AnalyzeArgs, out: &mut Out) -> anyhow::Result<String> {
    let mut s = String::new();
    let mut all_seqs: Vec<(i64, String)> = Vec::new();
    let mut traces = Vec::new();
    let mut files = Vec::new();
    let mut cycle_offset = 0i64;
    for f in &args.files {
        let (x, x_name, y, cycle_raw, y_note) = jumps_columns(args, f, out)?;
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

/// The bias of an I(H) loop in mV: `--bias`, else a value in the file name (`_1mV`, `_0p8mV`), else
/// one stated in its comment or metadata lines (`bias = 1 mV`); name and text must agree.
fn loop_bias(args: &AnalyzeArgs, k: usize, f: &Path, l: &Loaded) -> anyhow::Result<f64> {
    if let Some(b) = args.bias.get(k) {
        return Ok(*b);
    }
    let name = f
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let from_name = read::bias_from_name(&name);
    let from_text = read::bias_from_lines(&l.text_lines);
    match (from_name, from_text) {
        (Some(a), Some((b, line))) if (a - b).abs() > 1e-9 * a.abs().max(1e-9) => bail!(
            "{}: the file name says a bias of {a} mV but line {line} says {b} mV; give the bias with --bias",
            f.display()
        ),
        (Some(a), _) => {
            eprintln!("  bias {a} mV from the file name");
            Ok(a)
        }
        (None, Some((b, line))) => {
            eprintln!("  bias {b} mV from line {line}");
            Ok(b)
        }
        (None, None) => Ok(f64::NAN),
    }
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
        let bias = loop_bias(args, k, f, &l)?;
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
