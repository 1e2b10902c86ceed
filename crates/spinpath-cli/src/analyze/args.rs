//! The arguments of `spinpath analyze`.

use spinpath::analysis::read::{ColumnSel, Unit};
use std::path::PathBuf;

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
    pub(super) fn name(self) -> &'static str {
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
