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
    self as read,
    AxisSpec, ColumnSel, DataFile, Loaded, Quantity, ReadReport, Unit,
};
use spinpath::analysis::{jumps, peaks, power, shift, stats, tmr, Trace};
use spinpath::plot::{Figure, Panel, Series};
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

fn panel(title: &str, x: &str, y: &str, series: Vec<Series>) -> Panel {
    Panel {
        title: title.into(),
        x_label: x.into(),
        y_label: y.into(),
        series,
        zero_line: true,
        y_range: None,
    }
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.digits$}"),
        _ => "—".into(),
    }
}

fn didv(args: &AnalyzeArgs, out: &mut Out) -> anyhow::Result<String> {
    let m = method(args);
    let mut s = String::new();
    let mut panels_i = Vec::new();
    let mut panels_g = Vec::new();
    let mut summaries = Vec::new();
    for (k, f) in args.files.iter().enumerate() {
        let l = load(f, Quantity::Voltage, args, out, true)?;
        let (d, avg) = derivative::averaged_didv(&l.trace, m, args.grid_step)
            .with_context(|| format!("{}", f.display()))?;
        let pre = prefix(args, f);
        out.csv(&format!("{pre}didv_points.csv"), &d.table()?)?;
        out.csv(
            &format!("{pre}didv.csv"),
            &avg.table("bias_mV", "didv_nA_per_mV")?,
        )?;
        let (gx, gy) = avg.covered();
        let g0 = spinpath::analysis::interp_sorted(&gx, &gy, 0.0);
        let imax = gy
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i);
        let max_sweeps = avg.n.iter().copied().max().unwrap_or(0);
        writeln!(
            s,
            "{}: {} points, {} segments ({} up, {} down), up to {} sweeps per bias; dI/dV(0) = {} nA/mV, max {} nA/mV at {} mV",
            f.display(),
            l.trace.len(),
            d.segments.len(),
            d.segments.iter().filter(|x| x.direction == derivative::Direction::Up).count(),
            d.segments.iter().filter(|x| x.direction == derivative::Direction::Down).count(),
            max_sweeps,
            fmt_opt(g0, 4),
            fmt_opt(imax.map(|i| gy[i]), 4),
            fmt_opt(imax.map(|i| gx[i]), 3),
        )?;
        writeln!(s, "  read {} and {}", l.x_note, l.y_note)?;
        summaries.push(json!({
            "file": f.display().to_string(),
            "points": l.trace.len(),
            "segments": d.segments.len(),
            "didv_at_zero_nA_per_mV": g0,
            "max_didv_nA_per_mV": imax.map(|i| gy[i]),
            "max_didv_bias_mV": imax.map(|i| gx[i]),
            "x_column": l.x_note,
            "y_column": l.y_note,
        }));
        let name = stem(f);
        panels_i.push(Series::line(
            name.clone(),
            l.trace.x.clone(),
            l.trace.y.clone(),
            k,
        ));
        panels_g.push(Series::line(
            format!("{name} mean"),
            avg.grid.clone(),
            avg.mean.clone(),
            k,
        ));
        panels_g.push(
            Series::line(
                format!("{name} up"),
                avg.grid.clone(),
                avg.mean_up.clone(),
                k,
            )
            .faint(),
        );
        panels_g.push(
            Series::line(
                format!("{name} down"),
                avg.grid.clone(),
                avg.mean_down.clone(),
                k,
            )
            .faint(),
        );
    }
    let method_json = match m {
        Method::SavitzkyGolay { window, order } => {
            json!({"savitzky_golay": {"window": window, "order": order}})
        }
        Method::FiniteDifference => json!("finite_difference"),
    };
    out.json(
        "summary.json",
        &json!({"analysis": "didv", "method": method_json, "files": summaries}),
    )?;
    out.svg(
        "didv.svg",
        &Figure::new(
            vec![
                panel("I(V)", "bias (mV)", "current (nA)", panels_i),
                panel(
                    "dI/dV (averaged over sweeps)",
                    "bias (mV)",
                    "dI/dV (nA/mV)",
                    panels_g,
                ),
            ],
            2,
        ),
    )?;
    Ok(s)
}

fn tmr_cmd(args: &AnalyzeArgs, out: &mut Out) -> anyhow::Result<String> {
    need_files(args, 2, "the P sweep, then the AP sweep")?;
    let p = load(&args.files[0], Quantity::Voltage, args, out, true)?;
    let ap = load(&args.files[1], Quantity::Voltage, args, out, true)?;
    let c = tmr::tmr_from_iv(
        &p.trace,
        &ap.trace,
        tmr::TmrOptions {
            step: args.grid_step,
            min_ap_current: args.min_ap_current,
        },
    )?;
    out.csv("tmr.csv", &c.table()?)?;
    let finite: Vec<(f64, f64)> = c
        .bias
        .iter()
        .zip(&c.tmr_percent)
        .filter(|(_, t)| t.is_finite())
        .map(|(b, t)| (*b, *t))
        .collect();
    let max = finite.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1));
    let min = finite.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1));
    let n_undef = c.ap_near_zero.iter().filter(|&&b| b).count();
    let at = |v: f64| {
        c.bias
            .iter()
            .position(|b| (b - v).abs() < 1e-9 + 1e-6 * v.abs())
            .map(|i| c.tmr_percent[i])
    };
    let regions: Vec<Value> = c
        .opposite_regions
        .iter()
        .map(|r| json!([r.0, r.1]))
        .collect();
    out.json(
        "summary.json",
        &json!({
            "analysis": "tmr",
            "p_file": args.files[0].display().to_string(),
            "ap_file": args.files[1].display().to_string(),
            "grid_points": c.bias.len(),
            "bias_range_mV": [c.bias.first(), c.bias.last()],
            "min_ap_current_nA": c.min_ap_current,
            "undefined_points": n_undef,
            "max_tmr_percent": max.map(|m| m.1), "max_tmr_bias_mV": max.map(|m| m.0),
            "min_tmr_percent": min.map(|m| m.1), "min_tmr_bias_mV": min.map(|m| m.0),
            "opposite_sign_regions_mV": regions,
            "current_P_zero_crossings_mV": c.zeros_p,
            "current_AP_zero_crossings_mV": c.zeros_ap,
        }),
    )?;
    let mut s = String::new();
    writeln!(
        s,
        "TMR = I_P/I_AP − 1 on {} bias points from {} to {} mV ({} undefined where |I_AP| ≤ {:.3e} nA)",
        c.bias.len(),
        fmt_opt(c.bias.first().copied(), 3),
        fmt_opt(c.bias.last().copied(), 3),
        n_undef,
        c.min_ap_current
    )?;
    writeln!(
        s,
        "  max {} % at {} mV, min {} % at {} mV; at +1 mV: {} %, at −1 mV: {} %",
        fmt_opt(max.map(|m| m.1), 1),
        fmt_opt(max.map(|m| m.0), 3),
        fmt_opt(min.map(|m| m.1), 1),
        fmt_opt(min.map(|m| m.0), 3),
        fmt_opt(at(1.0), 1),
        fmt_opt(at(-1.0), 1)
    )?;
    let list = |v: &[f64]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.iter()
                .map(|z| format!("{z:.4}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    writeln!(
        s,
        "  I_P = 0 at {} mV; I_AP = 0 at {} mV",
        list(&c.zeros_p),
        list(&c.zeros_ap)
    )?;
    for r in &c.opposite_regions {
        writeln!(
            s,
            "  I_P and I_AP of opposite sign (TMR < −100 %) from {:.3} to {:.3} mV",
            r.0, r.1
        )?;
    }
    out.svg(
        "tmr.svg",
        &Figure::new(
            vec![
                panel(
                    "I(V), sweep averages",
                    "bias (mV)",
                    "current (nA)",
                    vec![
                        Series::line("I_P", c.bias.clone(), c.current_p.clone(), 2),
                        Series::line("I_AP", c.bias.clone(), c.current_ap.clone(), 1),
                    ],
                ),
                panel(
                    "TMR = I_P/I_AP − 1",
                    "bias (mV)",
                    "TMR (%)",
                    vec![Series::line(
                        "TMR",
                        c.bias.clone(),
                        c.tmr_percent.clone(),
                        0,
                    )],
                ),
            ],
            2,
        ),
    )?;
    Ok(s)
}

fn power_cmd(args: &AnalyzeArgs, out: &mut Out) -> anyhow::Result<String> {
    let mut s = String::new();
    let mut files = Vec::new();
    let mut iv = Vec::new();
    let mut pv = Vec::new();
    let mut gv = Vec::new();
    for (k, f) in args.files.iter().enumerate() {
        let l = load(f, Quantity::Voltage, args, out, true)?;
        let r = power::power(&l.trace).with_context(|| format!("{}", f.display()))?;
        out.csv(&format!("{}power.csv", prefix(args, f)), &r.table)?;
        let vocs: Vec<f64> = r
            .segments
            .iter()
            .flat_map(|g| g.voc_mv.iter().copied())
            .collect();
        let iscs: Vec<f64> = r.segments.iter().filter_map(|g| g.isc_na).collect();
        let mut entry = r.summary_json();
        entry["file"] = json!(f.display().to_string());
        files.push(entry);
        writeln!(s, "{}:", f.display())?;
        match r.max_power_nw {
            Some(p) => writeln!(
                s,
                "  maximum output power {:.4e} nW at {} mV (segment {})",
                p,
                fmt_opt(r.max_power_bias_mv, 4),
                r.max_power_segment.unwrap_or(0)
            )?,
            None => writeln!(s, "  never generates (I·V ≥ 0 everywhere)")?,
        }
        writeln!(
            s,
            "  open-circuit voltage(s): {} mV; short-circuit current(s): {} nA",
            vocs.iter()
                .map(|v| format!("{v:.4}"))
                .collect::<Vec<_>>()
                .join(", "),
            iscs.iter()
                .map(|v| format!("{v:.4}"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        let b = r.table.f64("bias_mV").unwrap_or(&[]).to_vec();
        iv.push(Series::line(
            stem(f),
            b.clone(),
            r.table.f64("current_nA").unwrap_or(&[]).to_vec(),
            k,
        ));
        let pw = r.table.f64("power_nW").unwrap_or(&[]).to_vec();
        // Only the generating points, so that a small output power is visible.
        let (gx, gy): (Vec<f64>, Vec<f64>) = b.iter().zip(&pw).filter(|p| *p.1 > 0.0).unzip();
        gv.push(Series::line(stem(f), gx, gy, k).markers());
        pv.push(Series::line(stem(f), b, pw, k));
    }
    out.json(
        "summary.json",
        &json!({"analysis": "power", "convention": "P = -I*V, nW", "files": files}),
    )?;
    out.svg(
        "power.svg",
        &Figure::new(
            vec![
                panel("I(V)", "bias (mV)", "current (nA)", iv),
                panel("output power −I·V", "bias (mV)", "power (nW)", pv),
                panel(
                    "generating points (−I·V > 0)",
                    "bias (mV)",
                    "power (nW)",
                    gv,
                ),
            ],
            3,
        ),
    )?;
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
            eprintln!("read {}: x {x_note}; y `{}` as written", f.display(), df.names[yi]);
            out.reads.push(note);
            let (x, y): (Vec<f64>, Vec<f64>) = x
                .into_iter()
                .zip(y)
                .filter(|(a, b)| !a.is_nan() && !b.is_nan())
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
    let mut sets = Vec::new();
    let mut names = Vec::new();
    let mut series = Vec::new();
    let mut unit = String::new();
    let mut steps = Vec::new();
    let mut s = String::new();
    for (k, f) in args.files.iter().enumerate() {
        let (x, y, u) = signal_curve(args, f, out)?;
        unit = u;
        steps.push(spinpath::analysis::median_step(&x));
        let mut ps = peaks::find_peaks(&x, &y, opts).with_context(|| format!("{}", f.display()))?;
        if args.signal == Signal::Didv {
            // Widths corrected for the broadening by the derivative's smoothing.
            let step = spinpath::analysis::median_step(&x);
            let (lo, hi) = (x.first().copied().unwrap_or(0.0), x.last().copied().unwrap_or(0.0));
            for p in &mut ps {
                let raw = p.fwhm;
                let w = peaks::deconvolved_fwhm(
                    raw,
                    step,
                    method(args),
                    opts.half_level,
                    (p.position - lo, hi - p.position),
                );
                if raw.is_finite() && raw > 0.0 {
                    let r = if w.is_finite() { w / raw } else { f64::NAN };
                    p.left = p.position - (p.position - p.left) * r;
                    p.right = p.position + (p.right - p.position) * r;
                }
                p.fwhm = w;
            }
        }
        writeln!(
            s,
            "{}: {} {}",
            f.display(),
            ps.len(),
            if args.dips { "dips" } else { "peaks" }
        )?;
        for p in &ps {
            writeln!(
                s,
                "  at {:.4} mV: height {:.4}, prominence {:.4}, FWHM {} mV",
                p.position,
                p.height,
                p.prominence,
                fmt_opt(Some(p.fwhm), 4)
            )?;
        }
        series.push(Series::line(stem(f), x.clone(), y.clone(), k));
        series.push(
            Series::line(
                "",
                ps.iter().map(|p| p.position).collect(),
                ps.iter().map(|p| p.height).collect(),
                k,
            )
            .markers(),
        );
        names.push(stem(f));
        sets.push((stem(f), ps));
    }
    out.csv("peaks.csv", &peaks::peaks_table(&sets, "mV", &unit)?)?;
    let tol = args
        .spacing_tol
        .unwrap_or_else(|| 3.0 * spinpath::analysis::median(&steps));
    let only: Vec<Vec<peaks::Peak>> = sets.iter().map(|s| s.1.clone()).collect();
    let common = peaks::common_spacing(&only, tol);
    let mut summary = json!({
        "analysis": "peaks",
        "signal": unit,
        "files": sets.iter().map(|(n, ps)| json!({"dataset": n, "peaks": ps.len()})).collect::<Vec<_>>(),
        "spacing_tolerance_mV": tol,
    });
    if let Some(c) = &common {
        out.csv("pairs.csv", &c.table(&names, "mV")?)?;
        writeln!(
            s,
            "common peak spacing {:.4} mV (sd {}) in {} of {} datasets",
            c.spacing,
            fmt_opt(Some(c.spacing_sd), 4),
            c.pairs.len(),
            sets.len()
        )?;
        summary["common_spacing_mV"] = json!(c.spacing);
        summary["common_spacing_sd_mV"] = json!(c.spacing_sd);
        summary["datasets_with_pair"] = json!(c.pairs.len());
    }
    out.json("summary.json", &summary)?;
    let ylab = if unit == "nA_per_mV" {
        "dI/dV (nA/mV)"
    } else {
        "signal"
    };
    out.svg(
        "peaks.svg",
        &Figure::new(vec![panel("peaks", "bias (mV)", ylab, series)], 1),
    )?;
    Ok(s)
}

fn shift_cmd(args: &AnalyzeArgs, out: &mut Out) -> anyhow::Result<String> {
    need_files(args, 2, "the P sweep, then the AP sweep")?;
    let (px, py, unit) = signal_curve(args, &args.files[0], out)?;
    let (ax, ay, _) = signal_curve(args, &args.files[1], out)?;
    let p = Trace::new(px, py)?;
    let ap = Trace::new(ax, ay)?;
    let fits = shift::rolling_shift(
        &p,
        &ap,
        shift::ShiftOptions {
            window: args.shift_window,
            step: args.shift_step,
            max_shift: args.max_shift,
            min_points: 5,
        },
    )?;
    out.csv("shift.csv", &shift::shift_table(&fits)?)?;
    let mut s = String::new();
    let range = (
        p.x.first().copied().unwrap_or(0.0),
        p.x.last().copied().unwrap_or(0.0),
    );
    if args.shift_window > range.1 - range.0 {
        writeln!(
            s,
            "note: the {} mV window is wider than the P bias range ({:.3} to {:.3} mV); one window covers it",
            args.shift_window, range.0, range.1
        )?;
    }
    writeln!(
        s,
        "shift of the AP curve onto the P curve (G_AP(V) ≈ G_P(V − δ)), {} window(s):",
        fits.len()
    )?;
    for f in &fits {
        writeln!(
            s,
            "  window {:.3}..{:.3} mV, mean bias {:.3} mV: δ = {} ± {} mV ({} points){}",
            f.start,
            f.end,
            f.bias,
            fmt_opt(Some(f.shift), 4),
            fmt_opt(Some(f.shift_err), 4),
            f.n,
            if f.at_bound {
                " [at the search bound]"
            } else {
                ""
            }
        )?;
    }
    // Weighted mean of the defined windows (they overlap, so its error is only indicative).
    let mean_shift = shift::weighted_mean_shift(&fits);
    let n_bound = fits.iter().filter(|f| f.at_bound).count();
    if n_bound > 0 {
        writeln!(
            s,
            "  {n_bound} window(s) ended on the search bound and are left out of the mean; raise --max-shift"
        )?;
        if !mean_shift.is_finite() {
            bail!(
                "every window's shift ended on the search bound (±{} mV): the shift lies outside \
                 the searched range; raise --max-shift or widen --shift-window",
                args.max_shift.map_or("default".into(), |m| m.to_string())
            );
        }
    }
    out.json(
        "summary.json",
        &json!({
            "analysis": "shift",
            "signal": unit,
            "convention": "G_AP(V) ≈ G_P(V − shift)",
            "window_mV": args.shift_window,
            "windows": fits.len(),
            "weighted_mean_shift_mV": mean_shift,
            "windows_at_bound": n_bound,
        }),
    )?;
    let shifted_x: Vec<f64> =
        ap.x.iter()
            .map(|x| {
                x - if mean_shift.is_finite() {
                    mean_shift
                } else {
                    0.0
                }
            })
            .collect();
    let ylab = if unit == "nA_per_mV" {
        "dI/dV (nA/mV)"
    } else {
        "signal"
    };
    out.svg(
        "shift.svg",
        &Figure::new(
            vec![
                panel(
                    "P, AP and AP shifted by −δ",
                    "bias (mV)",
                    ylab,
                    vec![
                        Series::line("P", p.x.clone(), p.y.clone(), 2),
                        Series::line("AP", ap.x.clone(), ap.y.clone(), 1).faint(),
                        Series::line("AP shifted", shifted_x, ap.y.clone(), 1),
                    ],
                ),
                panel(
                    "shift per window",
                    "bias (mV)",
                    "shift (mV)",
                    vec![Series::line(
                        "δ",
                        fits.iter().map(|f| f.bias).collect(),
                        fits.iter().map(|f| f.shift).collect(),
                        0,
                    )
                    .markers()],
                ),
            ],
            2,
        ),
    )?;
    Ok(s)
}

fn stats_cmd(args: &AnalyzeArgs, out: &mut Out) -> anyhow::Result<String> {
    let mut s = String::new();
    let mut series = Vec::new();
    let mut files = Vec::new();
    for (k, f) in args.files.iter().enumerate() {
        let l = load(f, Quantity::Voltage, args, out, false)?;
        let sigma = stats::noise_sigma_of_samples(&l.trace.x, &l.trace.y, args.bias_tol);
        let bin = match (args.bin, sigma) {
            (Some(b), _) => b,
            (None, Some(s)) => 1.5 * s,
            (None, None) => bail!(
                "{}: cannot estimate the reading noise (fewer than 4 consecutive samples at one \
                 bias, or identical readings) to choose the histogram bin; give it with --bin NA",
                f.display()
            ),
        };
        let r = stats::current_statistics(
            &l.trace.x,
            &l.trace.y,
            stats::StatsOptions {
                bin,
                min_occupation: args.min_occupation,
                bias_tolerance: args.bias_tol,
            },
        )?;
        let pre = prefix(args, f);
        out.csv(&format!("{pre}histogram.csv"), &r.histogram)?;
        out.csv(&format!("{pre}stats.csv"), &r.summary)?;
        out.csv(&format!("{pre}branches.csv"), &r.branch_table()?)?;
        let n_bias = r.summary.n_rows();
        let multi = r
            .summary
            .f64("n_branches")
            .map_or(0, |v| v.iter().filter(|&&n| n >= 2.0).count());
        writeln!(
            s,
            "{}: {} bias values, {} samples, {} bias values with two or more branches (bin {} nA, min occupation {})",
            f.display(),
            n_bias,
            l.trace.len(),
            multi,
            bin,
            args.min_occupation
        )?;
        if let Some(sig) = sigma {
            for b in r.branches.iter().filter(|b| b.n >= 5 && b.sd > 3.0 * sig) {
                writeln!(
                    s,
                    "  warning: at {} mV the {} branch spreads {:.3e} nA, over 3× the reading noise {:.3e} nA: it may hold branches closer than the bin; try a smaller --bin",
                    b.bias, b.name, b.sd, sig
                )?;
            }
        }
        files.push(json!({"file": f.display().to_string(), "bias_values": n_bias, "multi_branch_bias_values": multi, "bin_nA": bin, "bin_source": if args.bin.is_some() { "given" } else { "1.5 sigma of the reading noise" }, "noise_sigma_nA": sigma}));
        for (j, name) in ["OFF", "MID", "ON", "SINGLE"].iter().enumerate() {
            let b: Vec<&stats::Branch> = r.branches.iter().filter(|b| b.name == *name).collect();
            if !b.is_empty() {
                series.push(
                    Series::line(
                        format!("{} {name}", stem(f)),
                        b.iter().map(|b| b.bias).collect(),
                        b.iter().map(|b| b.current).collect(),
                        k * 4 + j,
                    )
                    .markers(),
                );
            }
        }
    }
    out.json(
        "summary.json",
        &json!({"analysis": "stats", "files": files}),
    )?;
    out.svg(
        "stats.svg",
        &Figure::new(
            vec![panel(
                "current branches",
                "bias (mV)",
                "current (nA)",
                series,
            )],
            1,
        ),
    )?;
    Ok(s)
}

fn jumps_cmd(args: &AnalyzeArgs, out: &mut Out) -> anyhow::Result<String> {
    let mut s = String::new();
    let mut all_seqs: Vec<(i64, String)> = Vec::new();
    let mut series = Vec::new();
    let mut files = Vec::new();
    let mut cycle_offset = 0i64;
    for (k, f) in args.files.iter().enumerate() {
        let df = DataFile::read(f)?;
        let cyc_col = match &args.cycle_column {
            Some(c) => Some(df.index_of(c)?),
            None => None,
        };
        let excl: Vec<usize> = cyc_col.into_iter().collect();
        // x: a chosen column, else a time column, else the sample index.
        let xi = match &args.x {
            Some(sel) => Some(df.index_of(sel)?),
            None => (0..df.names.len()).find(|&i| {
                !excl.contains(&i)
                    && df
                        .header_unit(i)
                        .is_some_and(|u| u.quantity == Quantity::Time)
            }),
        };
        let mut ex = excl.clone();
        ex.extend(xi);
        let yi = df
            .resolve(args.y.as_ref(), Quantity::Current, &ex)?
            .context("no current column")?;
        let (y, y_note) = df.values(yi, Quantity::Current, args.y_unit)?;
        eprintln!("read {}: y {y_note}", f.display());
        out.reads.push(json!({"file": f.display().to_string(), "encoding": df.encoding, "format": df.format, "y": y_note}));
        let (x, x_name) = match xi {
            Some(i)
                if df
                    .header_unit(i)
                    .is_some_and(|u| u.quantity == Quantity::Time)
                    || args.x_unit.is_some() =>
            {
                (
                    df.values(i, Quantity::Time, args.x_unit)?.0,
                    "time_s".to_string(),
                )
            }
            Some(i) => (df.raw_values(i)?, "x".to_string()),
            None => (
                (0..y.len()).map(|i| i as f64).collect(),
                "sample".to_string(),
            ),
        };
        let cycle_raw: Option<Vec<f64>> = match cyc_col {
            Some(c) => Some(df.raw_values(c)?),
            None => None,
        };
        // Skip rows with a missing value in any column used.
        let keep: Vec<usize> = (0..y.len())
            .filter(|&k| {
                x[k].is_finite()
                    && y[k].is_finite()
                    && cycle_raw.as_ref().is_none_or(|c| c[k].is_finite())
            })
            .collect();
        let x: Vec<f64> = keep.iter().map(|&k| x[k]).collect();
        let y: Vec<f64> = keep.iter().map(|&k| y[k]).collect();
        let j = jumps::detect_jumps(
            &x,
            &y,
            jumps::JumpOptions {
                threshold: args.threshold,
                ..Default::default()
            },
        )?;
        let pre = prefix(args, f);
        out.csv(&format!("{pre}jumps.csv"), &j.table(&x_name)?)?;
        let cycle: Vec<i64> = match (cyc_col, args.cycle_samples) {
            (Some(_), _) => {
                let c = cycle_raw.as_ref().map_or(&[][..], |c| &c[..]);
                keep.iter().map(|&k| c[k].round() as i64).collect()
            }
            (None, Some(n)) if n > 0 => (0..y.len()).map(|i| (i / n) as i64).collect(),
            (None, Some(_)) => bail!("--cycle-samples must be at least 1"),
            (None, None) => vec![0; y.len()],
        };
        let seqs = jumps::cycle_sequences(&j.jumps, &cycle);
        let mut ct = Table::new();
        ct.push_f64("cycle", seqs.iter().map(|c| c.0 as f64).collect())?;
        ct.push_str("sequence", seqs.iter().map(|c| c.1.clone()).collect())?;
        out.csv(&format!("{pre}cycles.csv"), &ct)?;
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
        files.push(json!({
            "file": f.display().to_string(),
            "jumps": j.jumps.len(),
            "sequence": j.sequence(),
            "noise_sigma_nA": j.noise_sigma,
            "cycles": seqs.len(),
        }));
        let max_c = seqs.iter().map(|c| c.0).max().unwrap_or(0);
        all_seqs.extend(seqs.into_iter().map(|(c, q)| (c + cycle_offset, q)));
        cycle_offset += max_c + 1;
        series.push(Series::line(stem(f), x.clone(), y.clone(), k));
        series.push(
            Series::line(
                "",
                j.jumps.iter().map(|v| v.x).collect(),
                j.jumps.iter().map(|v| v.after).collect(),
                k + 1,
            )
            .markers(),
        );
    }
    let (table, rate) = jumps::success_table(&all_seqs, args.expect.as_deref())?;
    out.csv("success.csv", &table)?;
    if let Some(e) = &args.expect {
        writeln!(
            s,
            "success rate of `{e}`: {:.1} % of {} cycles",
            100.0 * rate,
            all_seqs.len()
        )?;
    }
    let seq_col = table.str("sequence").unwrap_or(&[]);
    let cnt_col = table.f64("count").unwrap_or(&[]);
    for (q, c) in seq_col.iter().zip(cnt_col).take(8) {
        writeln!(s, "  {q}: {c} cycle(s)")?;
    }
    out.json(
        "summary.json",
        &json!({"analysis": "jumps", "expected": args.expect, "success_rate": rate, "cycles": all_seqs.len(), "files": files}),
    )?;
    out.svg(
        "jumps.svg",
        &Figure::new(
            vec![panel(
                "current and jumps",
                "time or sample",
                "current (nA)",
                series,
            )],
            1,
        ),
    )?;
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
    let mut rows: Vec<(String, f64, tmr::IhLoop)> = Vec::new();
    let mut series = Vec::new();
    for (k, f) in args.files.iter().enumerate() {
        let l = load(f, Quantity::Field, args, out, false)?;
        let r = tmr::ih_loop(&l.trace, opts).with_context(|| format!("{}", f.display()))?;
        let bias = loop_bias(args, k, f, &l)?;
        let pre = prefix(args, f);
        out.csv(&format!("{pre}ih.csv"), &r.table(&l.trace)?)?;
        out.csv(&format!("{pre}switches.csv"), &r.switch_table()?)?;
        writeln!(
            s,
            "{} (bias {} mV): I_P = {:.5} ± {:.5} nA ({} points), I_AP = {:.5} ± {:.5} nA ({} points), TMR = {} ± {} %",
            f.display(),
            fmt_opt(Some(bias), 3),
            r.i_p.0,
            r.i_p.1,
            r.n_p,
            r.i_ap.0,
            r.i_ap.1,
            r.n_ap,
            fmt_opt(Some(r.tmr_percent.0), 1),
            fmt_opt(Some(r.tmr_percent.1), 1)
        )?;
        for sw in &r.switches {
            writeln!(
                s,
                "  {} → {} at {:.1} Oe (between {} and {} Oe, field sweeping {})",
                sw.from.as_str(),
                sw.to.as_str(),
                sw.field,
                sw.field_before,
                sw.field_after,
                sw.sweep.as_str()
            )?;
        }
        let states: Vec<f64> = r
            .states
            .iter()
            .map(|st| {
                if *st == tmr::State::P {
                    r.i_p.0
                } else {
                    r.i_ap.0
                }
            })
            .collect();
        series.push(Series::line(stem(f), l.trace.x.clone(), l.trace.y.clone(), k).markers());
        series.push(
            Series::line(format!("{} levels", stem(f)), l.trace.x.clone(), states, k).faint(),
        );
        rows.push((f.display().to_string(), bias, r));
    }
    let sw_field = |r: &tmr::IhLoop, to: tmr::State| {
        r.switches
            .iter()
            .find(|s| s.to == to)
            .map_or(f64::NAN, |s| s.field)
    };
    let mut t = Table::new();
    t.push_str("file", rows.iter().map(|r| r.0.clone()).collect())?;
    t.push_f64("bias_mV", rows.iter().map(|r| r.1).collect())?;
    t.push_f64("current_P_nA", rows.iter().map(|r| r.2.i_p.0).collect())?;
    t.push_f64(
        "stderr_current_P_nA",
        rows.iter().map(|r| r.2.i_p.1).collect(),
    )?;
    t.push_f64("current_AP_nA", rows.iter().map(|r| r.2.i_ap.0).collect())?;
    t.push_f64(
        "stderr_current_AP_nA",
        rows.iter().map(|r| r.2.i_ap.1).collect(),
    )?;
    t.push_f64(
        "tmr_percent",
        rows.iter().map(|r| r.2.tmr_percent.0).collect(),
    )?;
    t.push_f64(
        "stderr_tmr_percent",
        rows.iter().map(|r| r.2.tmr_percent.1).collect(),
    )?;
    t.push_f64(
        "switch_to_AP_field_Oe",
        rows.iter()
            .map(|r| sw_field(&r.2, tmr::State::AP))
            .collect(),
    )?;
    t.push_f64(
        "switch_to_P_field_Oe",
        rows.iter().map(|r| sw_field(&r.2, tmr::State::P)).collect(),
    )?;
    out.csv("tmr_points.csv", &t)?;
    let summary: Vec<Value> = rows
        .iter()
        .map(|(f, b, r)| {
            json!({
                "file": f, "bias_mV": b,
                "current_P_nA": r.i_p.0, "stderr_current_P_nA": r.i_p.1,
                "current_AP_nA": r.i_ap.0, "stderr_current_AP_nA": r.i_ap.1,
                "tmr_percent": r.tmr_percent.0, "stderr_tmr_percent": r.tmr_percent.1,
                "threshold_nA": r.threshold,
                "switches": r.switches.iter().map(|s| json!({
                    "field_Oe": s.field, "field_before_Oe": s.field_before, "field_after_Oe": s.field_after, "from": s.from.as_str(), "to": s.to.as_str(), "sweep": s.sweep.as_str()
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    out.json("summary.json", &json!({"analysis": "ih", "loops": summary}))?;
    let mut panels = vec![panel("I(H) loops", "field (Oe)", "current (nA)", series)];
    if rows.len() > 1 {
        panels.push(panel(
            "TMR from I(H) loops",
            "bias (mV)",
            "TMR (%)",
            vec![Series::line(
                "TMR",
                rows.iter().map(|r| r.1).collect(),
                rows.iter().map(|r| r.2.tmr_percent.0).collect(),
                0,
            )
            .markers()],
        ));
    }
    let cols = panels.len();
    out.svg("ih.svg", &Figure::new(panels, cols))?;
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
