//! Figures: multi-panel plots and colour maps written as SVG, each with a PNG beside it.
//!
//! Drawing uses `plotters` (axes, ticks, series); the PNG is rasterised from the very same SVG by
//! `resvg`. Text is laid out and rendered with one bundled font (DejaVu Sans, `assets/fonts`, a
//! permissive Bitstream-Vera licence that allows redistribution inside software), so figures look the
//! same on machines without system fonts and the build needs nothing beyond fetched crates.
//!
//! Conventions of every figure:
//! - axis labels carry their unit (`bias (mV)`, `current (nA)`), never raw column names;
//! - tick labels use the fewest decimals that show the tick exactly (`1400`, not `1400.0`; never `−0`);
//! - a legend entry is drawn as its series is (a marker for points, a dash pattern for dashed lines)
//!   and sits in the emptiest corner of the axes;
//! - SVG coordinates are decimal (0.1 px resolution: the figure is drawn on a 10× finer grid and
//!   written back at its nominal size), so curves do not stair-step when the SVG is enlarged.
//!
//! Extending a figure is additive: [`Panel`] and [`Series`] gained optional fields (bands, vertical
//! marks, x range, marker shapes, dashes) whose defaults draw exactly what the older fields describe.

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::element::{Drawable, PointCollection};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;
use plotters_backend::DrawingErrorKind;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// A colour from the default palette (colour-blind friendly, Okabe–Ito order).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 0, 0),
    RGBColor(213, 94, 0),
    RGBColor(0, 114, 178),
    RGBColor(0, 158, 115),
    RGBColor(230, 159, 0),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(240, 228, 66),
];

/// The bundled font (DejaVu Sans); its licence is `assets/fonts/LICENSE-DejaVu.txt`.
const FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

/// The internal drawing grid is this many times finer than the written SVG's pixels.
const GRID: u32 = 10;

/// The PNG is rendered at this many pixels per SVG pixel (≈ 190 dpi for a 96-dpi SVG).
pub const PNG_SCALE: f32 = 2.0;

/// Marker shape of a series drawn as points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Marker {
    /// Filled circle (the default).
    #[default]
    Circle,
    /// Filled triangle pointing up (e.g. an up-sweep of field or bias).
    TriangleUp,
    /// Filled triangle pointing down (e.g. a down-sweep).
    TriangleDown,
    /// Filled square.
    Square,
    /// Open circle.
    Ring,
}

/// One curve.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Legend text (empty: no legend entry).
    pub label: String,
    /// Abscissae.
    pub x: Vec<f64>,
    /// Ordinates; NaN breaks the line.
    pub y: Vec<f64>,
    /// Index into [`PALETTE`].
    pub color: usize,
    /// Draw semi-transparent (e.g. the minority spin channel).
    pub faint: bool,
    /// Draw markers instead of a line.
    pub markers: bool,
    /// Draw a dashed line (ignored with `markers`).
    pub dashed: bool,
    /// Marker shape when `markers` is set.
    pub marker: Marker,
    /// Draw markers *and* a thin connecting line (with `markers`).
    pub joined: bool,
}

impl Series {
    /// A solid line in palette colour `color`.
    pub fn line(label: impl Into<String>, x: Vec<f64>, y: Vec<f64>, color: usize) -> Self {
        Series {
            label: label.into(),
            x,
            y,
            color,
            ..Series::default()
        }
    }

    /// The same series drawn semi-transparent.
    pub fn faint(mut self) -> Self {
        self.faint = true;
        self
    }

    /// The same series drawn as markers.
    pub fn markers(mut self) -> Self {
        self.markers = true;
        self
    }

    /// The same series drawn as markers of shape `m`.
    pub fn marker(mut self, m: Marker) -> Self {
        self.markers = true;
        self.marker = m;
        self
    }

    /// Markers joined by a thin line (sweeps whose order matters, e.g. a hysteresis loop).
    pub fn joined(mut self) -> Self {
        self.joined = true;
        self
    }

    /// The same series drawn dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }
}

/// A vertical mark at one abscissa (a switching field, a write event, a transition edge).
#[derive(Debug, Clone, Default)]
pub struct VLine {
    /// Abscissa in the panel's x unit.
    pub x: f64,
    /// Short text written beside the top of the line (may be empty).
    pub label: String,
    /// Index into [`PALETTE`].
    pub color: usize,
    /// Dashed (the default look of a mark) or solid.
    pub solid: bool,
}

impl VLine {
    /// A dashed vertical mark.
    pub fn new(x: f64, label: impl Into<String>, color: usize) -> Self {
        VLine {
            x,
            label: label.into(),
            color,
            solid: false,
        }
    }
}

/// Which axis a [`Band`] spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BandAxis {
    /// `from..to` along x, the full height of the axes (a bias window).
    #[default]
    X,
    /// `from..to` along y, the full width of the axes (a forbidden or special range of values).
    Y,
}

/// A shaded region with an optional label (e.g. the grey "TMR < −100 %" zone, a generator window).
#[derive(Debug, Clone, Default)]
pub struct Band {
    /// Axis the interval is on.
    pub axis: BandAxis,
    /// Interval start in that axis' unit (may be ±∞: clipped to the axes).
    pub from: f64,
    /// Interval end in that axis' unit (may be ±∞: clipped to the axes).
    pub to: f64,
    /// Text written inside the band (may be empty).
    pub label: String,
    /// Fill colour; `None` is light grey.
    pub color: Option<usize>,
}

/// One panel (a set of axes).
#[derive(Debug, Clone, Default)]
pub struct Panel {
    /// Caption above the panel.
    pub title: String,
    /// x-axis label with unit.
    pub x_label: String,
    /// y-axis label with unit.
    pub y_label: String,
    /// Curves.
    pub series: Vec<Series>,
    /// Draw the y = 0 line.
    pub zero_line: bool,
    /// Optional fixed y range (otherwise from the data).
    pub y_range: Option<(f64, f64)>,
    /// Optional fixed x range (otherwise from the data): a zoom panel.
    pub x_range: Option<(f64, f64)>,
    /// Vertical marks.
    pub vlines: Vec<VLine>,
    /// Shaded regions, drawn under the data.
    pub bands: Vec<Band>,
    /// With a fixed `x_range`, take the automatic y range from the points inside it only.
    pub y_from_visible: bool,
}

/// A figure: panels on a grid of `columns` columns.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Panels, filled row by row.
    pub panels: Vec<Panel>,
    /// Number of panel columns.
    pub columns: usize,
    /// Size of one panel in pixels.
    pub panel_size: (u32, u32),
}

fn sans(size: u32) -> TextStyle<'static> {
    ensure_font();
    ("sans-serif", (size * GRID) as f64).into_font().into()
}

fn ensure_font() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        // Only fails on a corrupt font, which the unit tests would catch.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

impl Figure {
    /// A figure with `columns` columns of 560×380 px panels.
    pub fn new(panels: Vec<Panel>, columns: usize) -> Self {
        Figure {
            panels,
            columns: columns.max(1),
            panel_size: (560, 380),
        }
    }

    /// Render to SVG text.
    pub fn to_svg(&self) -> Result<String> {
        let n = self.panels.len().max(1);
        let cols = self.columns.min(n);
        let rows = n.div_ceil(cols);
        let size = (
            self.panel_size.0 * cols as u32,
            self.panel_size.1 * rows as u32,
        );
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, (size.0 * GRID, size.1 * GRID))
                .into_drawing_area();
            root.fill(&WHITE).map_err(plot_err)?;
            let areas = root.split_evenly((rows, cols));
            for (panel, area) in self.panels.iter().zip(areas.iter()) {
                draw_panel(panel, area)?;
            }
            root.present().map_err(plot_err)?;
        }
        Ok(rescale_svg(&out, GRID as f64))
    }

    /// Render and write atomically to `path` (an `.svg` file), with the PNG rendering beside it
    /// (same name, `.png`).
    pub fn write_svg(&self, path: &Path) -> Result<()> {
        write_svg_and_png(path, &self.to_svg()?)
    }
}

/// Write SVG text atomically to `path` and its PNG rendering ([`svg_to_png`]) to the same name
/// with extension `.png`.
pub fn write_svg_and_png(path: &Path, svg: &str) -> Result<()> {
    let png = svg_to_png(svg).map_err(|e| Error::Numerical {
        context: format!("figure {}", path.display()),
        message: e.to_string(),
    })?;
    crate::io::write_atomic(path, svg.as_bytes())?;
    crate::io::write_atomic(&path.with_extension("png"), &png)
}

fn font_db() -> Arc<resvg::usvg::fontdb::Database> {
    static DB: OnceLock<Arc<resvg::usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        db.load_font_data(FONT.to_vec());
        db.set_sans_serif_family("DejaVu Sans");
        Arc::new(db)
    })
    .clone()
}

/// Rasterise SVG text to PNG bytes at [`PNG_SCALE`] pixels per SVG pixel on a white background,
/// with the bundled font only (no system fonts are consulted).
pub fn svg_to_png(svg: &str) -> Result<Vec<u8>> {
    use resvg::{tiny_skia, usvg};
    let opt = usvg::Options {
        fontdb: font_db(),
        font_family: "DejaVu Sans".into(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &opt).map_err(plot_err)?;
    let size = tree.size();
    let (w, h) = (
        (size.width() * PNG_SCALE).ceil() as u32,
        (size.height() * PNG_SCALE).ceil() as u32,
    );
    let mut pixmap = tiny_skia::Pixmap::new(w, h).ok_or_else(|| plot_err("empty figure"))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(PNG_SCALE, PNG_SCALE),
        &mut pixmap.as_mut(),
    );
    // The background is opaque white, so RGB without alpha loses nothing and compresses better.
    let rgb: Vec<u8> = pixmap
        .data()
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Default);
        let mut writer = enc.write_header().map_err(plot_err)?;
        writer.write_image_data(&rgb).map_err(plot_err)?;
        writer.finish().map_err(plot_err)?;
    }
    Ok(out)
}

/// Divide every coordinate and length of plotters' SVG output by `k` (the drawing grid), writing
/// decimals: the figure keeps its nominal size with sub-pixel positions.
fn rescale_svg(svg: &str, k: f64) -> String {
    const ATTRS: [&str; 17] = [
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "cx",
        "cy",
        "r",
        "width",
        "height",
        "points",
        "d",
        "stroke-width",
        "font-size",
        "viewBox",
        "transform",
    ];
    let mut out = String::with_capacity(svg.len());
    let mut rest = svg;
    while let Some(i) = rest.find("=\"") {
        let (head, tail) = rest.split_at(i);
        out.push_str(head);
        out.push_str("=\"");
        let tail = &tail[2..];
        let Some(j) = tail.find('"') else {
            rest = tail;
            break;
        };
        let value = &tail[..j];
        let name_start = head
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .map_or(0, |p| p + 1);
        let name = &head[name_start..];
        if ATTRS.contains(&name) {
            // In `rotate(a, x, y)` the angle is not a length.
            let skip_first = name == "transform";
            out.push_str(&scale_numbers(value, k, skip_first));
        } else {
            out.push_str(value);
        }
        out.push('"');
        rest = &tail[j + 1..];
    }
    out.push_str(rest);
    out
}

fn scale_numbers(value: &str, k: f64, skip_first: bool) -> String {
    let mut out = String::with_capacity(value.len());
    let b = value.as_bytes();
    let mut i = 0;
    let mut first = true;
    while i < b.len() {
        let c = b[i] as char;
        let starts_number =
            c.is_ascii_digit() || (c == '-' && i + 1 < b.len() && b[i + 1].is_ascii_digit());
        let prev_is_word = i > 0 && (b[i - 1] as char).is_ascii_alphabetic();
        if starts_number && !prev_is_word {
            let mut j = i + 1;
            while j < b.len() && ((b[j] as char).is_ascii_digit() || b[j] == b'.') {
                j += 1;
            }
            let text = &value[i..j];
            match text.parse::<f64>() {
                Ok(v) if !(skip_first && first) => out.push_str(&short_decimal(v / k, 2)),
                _ => out.push_str(text),
            }
            first = false;
            i = j;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// `v` with at most `max_decimals` decimals and no trailing zeros; never `-0`.
fn short_decimal(v: f64, max_decimals: usize) -> String {
    let s = format!("{v:.max_decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// A tick label for `v` on an axis spanning `span`: the fewest decimals (up to 6) that show `v`
/// to a millionth of the span; never `-0`, never a trailing `.0`.
pub fn tick_label(v: f64, span: f64) -> String {
    let tol = (span.abs() * 1e-6).max(1e-300);
    if v.abs() < tol {
        return "0".into();
    }
    for d in 0..=6usize {
        let s = format!("{v:.d$}");
        if s.parse::<f64>().is_ok_and(|p| (p - v).abs() <= tol) {
            return s;
        }
    }
    short_decimal(v, 6)
}

/// An engineering-prefix rescaling for values given in `unit` (one of the prefixed units
/// `fW pW nW µW mW W`, `fA pA nA µA mA A`, `µV mV V`, `nS µS mS S`, …): returns the factor to multiply
/// the values by and the unit to label them with, chosen so that the largest magnitude `max_abs`
/// lies in [1, 1000). Unknown units, zero or non-finite `max_abs` return `(1.0, unit)`.
///
/// Example: powers in nW whose largest magnitude is 0.004 nW are drawn ×1000 in pW.
pub fn engineering(max_abs: f64, unit: &str) -> (f64, String) {
    const PREFIXES: [(&str, i32); 7] = [
        ("f", -15),
        ("p", -12),
        ("n", -9),
        ("µ", -6),
        ("m", -3),
        ("", 0),
        ("k", 3),
    ];
    if !(max_abs.is_finite() && max_abs > 0.0) {
        return (1.0, unit.into());
    }
    let (base_exp, base) = match PREFIXES
        .iter()
        .filter(|(p, _)| !p.is_empty())
        .find(|(p, _)| unit.starts_with(p) && unit.len() > p.len())
    {
        Some((p, e)) => (*e, &unit[p.len()..]),
        None => (0, unit),
    };
    if !["W", "A", "V", "S", "Oe", "T", "eV", "K", "Hz"].contains(&base) {
        return (1.0, unit.into());
    }
    let exp = (max_abs.log10().floor() as i32 + base_exp).div_euclid(3) * 3;
    let exp = exp.clamp(-15, 3);
    let Some((p, _)) = PREFIXES.iter().find(|(_, e)| *e == exp) else {
        return (1.0, unit.into());
    };
    (10f64.powi(base_exp - exp), format!("{p}{base}"))
}

/// An axis label from a column name that carries its unit: `spin_accumulation_meV` →
/// `spin accumulation (meV)`, `dIdV_uS` → `dIdV (µS)`, `tmr_percent` → `tmr (%)`. Names without a
/// known unit suffix are returned with underscores as spaces.
pub fn axis_label(column: &str) -> String {
    const UNITS: [(&str, &str); 17] = [
        ("meV", "meV"),
        ("mV", "mV"),
        ("V", "V"),
        ("K", "K"),
        ("Oe", "Oe"),
        ("nA", "nA"),
        ("pA", "pA"),
        ("nW", "nW"),
        ("pW", "pW"),
        ("uS", "µS"),
        ("nS", "nS"),
        ("percent", "%"),
        ("s", "s"),
        ("deg", "°"),
        ("nm", "nm"),
        ("Hz", "Hz"),
        ("per_meV", "1/meV"),
    ];
    for (suffix, unit) in UNITS.iter().rev() {
        if let Some(stem) = column.strip_suffix(&format!("_{suffix}")) {
            if !stem.is_empty() {
                return format!("{} ({unit})", stem.replace('_', " "));
            }
        }
    }
    column.replace('_', " ")
}

fn plot_err<E: std::fmt::Display>(e: E) -> Error {
    Error::Numerical {
        context: "figure".into(),
        message: e.to_string(),
    }
}

fn finite_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return None;
    }
    if hi - lo < 1e-300 {
        let pad = if lo.abs() > 0.0 { lo.abs() * 0.1 } else { 1.0 };
        return Some((lo - pad, hi + pad));
    }
    let pad = 0.05 * (hi - lo);
    Some((lo - pad, hi + pad))
}

/// The legend place (a corner, or the middle of the left or right side) whose 40 % × 40 % box of
/// the axes holds the least ink: data points, lines sampled along their segments (a dashed level
/// drawn from two points crosses the whole panel) and vertical marks. Ties go to the corners.
fn emptiest_corner(panel: &Panel, xr: (f64, f64), yr: (f64, f64)) -> SeriesLabelPosition {
    // (position, x box, y box) in axes fractions.
    let places = [
        (SeriesLabelPosition::UpperLeft, (0.0, 0.4), (0.6, 1.0)),
        (SeriesLabelPosition::UpperRight, (0.6, 1.0), (0.6, 1.0)),
        (SeriesLabelPosition::LowerLeft, (0.0, 0.4), (0.0, 0.4)),
        (SeriesLabelPosition::LowerRight, (0.6, 1.0), (0.0, 0.4)),
        (SeriesLabelPosition::MiddleLeft, (0.0, 0.4), (0.3, 0.7)),
        (SeriesLabelPosition::MiddleRight, (0.6, 1.0), (0.3, 0.7)),
    ];
    let frac = |x: f64, y: f64| ((x - xr.0) / (xr.1 - xr.0), (y - yr.0) / (yr.1 - yr.0));
    // Ink as axes fractions: points, plus up to 40 samples along each line segment.
    let mut ink: Vec<(f64, f64)> = Vec::new();
    for s in &panel.series {
        let pts: Vec<(f64, f64)> = s.x.iter().zip(&s.y).map(|(x, y)| frac(*x, *y)).collect();
        ink.extend(
            pts.iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite()),
        );
        if s.markers && !s.joined {
            continue;
        }
        for w in pts.windows(2) {
            let ((x0, y0), (x1, y1)) = (w[0], w[1]);
            if !(x0.is_finite() && y0.is_finite() && x1.is_finite() && y1.is_finite()) {
                continue;
            }
            let n = ((x1 - x0).abs().max((y1 - y0).abs()) / 0.025)
                .ceil()
                .min(40.0) as usize;
            for k in 1..n {
                let t = k as f64 / n as f64;
                ink.push((x0 + t * (x1 - x0), y0 + t * (y1 - y0)));
            }
        }
    }
    for v in &panel.vlines {
        let (fx, _) = frac(v.x, yr.0);
        ink.extend((0..=40).map(|k| (fx, k as f64 / 40.0)));
    }
    let count = |bx: (f64, f64), by: (f64, f64)| {
        ink.iter()
            .filter(|(x, y)| *x >= bx.0 && *x <= bx.1 && *y >= by.0 && *y <= by.1)
            .count()
    };
    places
        .into_iter()
        .min_by_key(|&(_, bx, by)| count(bx, by))
        .map(|c| c.0)
        .unwrap_or(SeriesLabelPosition::UpperLeft)
}

fn draw_panel<'c, DB: DrawingBackend + 'c>(
    panel: &Panel,
    area: &'c DrawingArea<DB, Shift>,
) -> Result<()> {
    let g = GRID as i32;
    let x_range = panel
        .x_range
        .or_else(|| finite_range(panel.series.iter().flat_map(|s| s.x.iter().copied())))
        .unwrap_or((0.0, 1.0));
    let visible = |x: f64| !panel.y_from_visible || (x >= x_range.0 && x <= x_range.1);
    let y_range = panel
        .y_range
        .or_else(|| {
            finite_range(panel.series.iter().flat_map(|s| {
                s.x.iter()
                    .zip(&s.y)
                    .filter(|(x, _)| visible(**x))
                    .map(|(_, y)| *y)
            }))
        })
        .unwrap_or((-1.0, 1.0));
    let (xs, ys) = (x_range.1 - x_range.0, y_range.1 - y_range.0);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, sans(16))
        .margin(12 * GRID)
        .x_label_area_size(48 * GRID)
        .y_label_area_size(72 * GRID)
        .build_cartesian_2d(x_range.0..x_range.1, y_range.0..y_range.1)
        .map_err(plot_err)?;
    let x_fmt = move |v: &f64| tick_label(*v, xs);
    let y_fmt = move |v: &f64| tick_label(*v, ys);
    chart
        .configure_mesh()
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .x_labels(8)
        .y_labels(8)
        .label_style(sans(12))
        .axis_desc_style(sans(14))
        .axis_style(BLACK.stroke_width(GRID))
        .set_all_tick_mark_size(5 * g)
        .bold_line_style(BLACK.mix(0.08).stroke_width(GRID))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(plot_err)?;
    let clip = |a: f64, b: f64, lo: f64, hi: f64| (a.max(lo), b.min(hi));
    for band in &panel.bands {
        let (lo, hi) = (band.from.min(band.to), band.from.max(band.to));
        let fill = match band.color {
            Some(c) => PALETTE[c % PALETTE.len()].mix(0.15),
            None => BLACK.mix(0.12),
        };
        let (rect, text_at) = match band.axis {
            BandAxis::X => {
                let (a, b) = clip(lo, hi, x_range.0, x_range.1);
                if a >= b {
                    continue;
                }
                ([(a, y_range.0), (b, y_range.1)], (a, y_range.1 - 0.01 * ys))
            }
            BandAxis::Y => {
                let (a, b) = clip(lo, hi, y_range.0, y_range.1);
                if a >= b {
                    continue;
                }
                (
                    [(x_range.0, a), (x_range.1, b)],
                    (x_range.0 + 0.02 * xs, b - 0.02 * ys),
                )
            }
        };
        chart
            .draw_series(std::iter::once(Rectangle::new(rect, fill.filled())))
            .map_err(plot_err)?;
        if !band.label.is_empty() {
            let grey = BLACK.mix(0.7);
            let style = sans(11).color(&grey).pos(match band.axis {
                BandAxis::X => Pos::new(HPos::Left, VPos::Top),
                BandAxis::Y => Pos::new(HPos::Left, VPos::Top),
            });
            chart
                .draw_series(std::iter::once(Text::new(
                    format!(" {}", band.label),
                    text_at,
                    style,
                )))
                .map_err(plot_err)?;
        }
    }
    if panel.zero_line && y_range.0 < 0.0 && y_range.1 > 0.0 {
        chart
            .draw_series(LineSeries::new(
                vec![(x_range.0, 0.0), (x_range.1, 0.0)],
                BLACK.mix(0.3).stroke_width(GRID),
            ))
            .map_err(plot_err)?;
    }
    for (k, v) in panel.vlines.iter().enumerate() {
        if !(v.x.is_finite() && v.x >= x_range.0 && v.x <= x_range.1) {
            continue;
        }
        let style = PALETTE[v.color % PALETTE.len()].stroke_width(GRID * 3 / 2);
        let pts = vec![(v.x, y_range.0), (v.x, y_range.1)];
        if v.solid {
            chart
                .draw_series(LineSeries::new(pts, style))
                .map_err(plot_err)?;
        } else {
            chart
                .draw_series(DashedLineSeries::new(pts, 6 * g, 4 * g, style))
                .map_err(plot_err)?;
        }
        if !v.label.is_empty() {
            let right_half = (v.x - x_range.0) / xs > 0.5;
            let text = sans(11)
                .color(&PALETTE[v.color % PALETTE.len()])
                .pos(Pos::new(
                    if right_half { HPos::Right } else { HPos::Left },
                    VPos::Top,
                ));
            let label = if right_half {
                format!("{} ", v.label)
            } else {
                format!(" {}", v.label)
            };
            chart
                .draw_series(std::iter::once(Text::new(
                    label,
                    // Successive labels step down so that close marks stay readable.
                    (v.x, y_range.1 - (0.01 + 0.07 * (k % 3) as f64) * ys),
                    text,
                )))
                .map_err(plot_err)?;
        }
    }
    let mut any_label = false;
    for s in &panel.series {
        let base = PALETTE[s.color % PALETTE.len()];
        let width = if s.markers { GRID } else { 2 * GRID };
        let style = if s.faint {
            base.mix(0.35).stroke_width(width)
        } else {
            base.stroke_width(width)
        };
        // Split at non-finite points so that missing values break the line instead of lying.
        let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for (&x, &y) in s.x.iter().zip(&s.y) {
            if x.is_finite() && y.is_finite() {
                segments.last_mut().expect("non-empty").push((x, y));
            } else if !segments.last().expect("non-empty").is_empty() {
                segments.push(Vec::new());
            }
        }
        // Clip to the axes (fixed ranges zoom in): lines are cut at the frame, points outside dropped.
        let segments: Vec<Vec<(f64, f64)>> = segments
            .iter()
            .flat_map(|seg| {
                if s.markers {
                    vec![seg
                        .iter()
                        .copied()
                        .filter(|&(x, y)| {
                            x >= x_range.0 && x <= x_range.1 && y >= y_range.0 && y <= y_range.1
                        })
                        .collect()]
                } else {
                    clip_polyline(seg, x_range, y_range)
                }
            })
            .collect();
        let mut first = true;
        for seg in segments.into_iter().filter(|s| !s.is_empty()) {
            if s.markers && s.joined {
                chart
                    .draw_series(LineSeries::new(
                        seg.clone(),
                        base.mix(0.45).stroke_width(GRID),
                    ))
                    .map_err(plot_err)?;
            }
            let anno = if s.markers {
                let kind = GlyphKind::Marker(s.marker);
                chart
                    .draw_series(seg.into_iter().map(|p| Glyph {
                        at: [p],
                        kind,
                        style,
                        r: 3 * g,
                    }))
                    .map_err(plot_err)?
            } else if s.dashed {
                chart
                    .draw_series(DashedLineSeries::new(seg, 7 * g, 4 * g, style))
                    .map_err(plot_err)?
            } else {
                chart
                    .draw_series(LineSeries::new(seg, style))
                    .map_err(plot_err)?
            };
            if first && !s.label.is_empty() {
                any_label = true;
                let kind = if s.markers {
                    GlyphKind::Marker(s.marker)
                } else {
                    GlyphKind::Line { dashed: s.dashed }
                };
                let r = 3 * g;
                anno.label(s.label.clone()).legend(move |(x, y)| Glyph {
                    at: [match kind {
                        GlyphKind::Marker(_) => (x + 10 * g, y),
                        GlyphKind::Line { .. } => (x, y),
                    }],
                    kind,
                    style,
                    r,
                });
            }
            first = false;
        }
    }
    if any_label {
        chart
            .configure_series_labels()
            .label_font(sans(12))
            .legend_area_size(26 * g)
            .margin(6 * g)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3).stroke_width(GRID))
            .position(emptiest_corner(panel, x_range, y_range))
            .draw()
            .map_err(plot_err)?;
    }
    Ok(())
}

/// Cut a polyline to the rectangle `xr × yr` (Liang–Barsky on each segment): the visible pieces.
fn clip_polyline(pts: &[(f64, f64)], xr: (f64, f64), yr: (f64, f64)) -> Vec<Vec<(f64, f64)>> {
    let inside = |(x, y): (f64, f64)| x >= xr.0 && x <= xr.1 && y >= yr.0 && y <= yr.1;
    if pts.len() == 1 {
        return if inside(pts[0]) {
            vec![pts.to_vec()]
        } else {
            Vec::new()
        };
    }
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for w in pts.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        let (dx, dy) = (x1 - x0, y1 - y0);
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        let mut visible = true;
        for (p, q) in [
            (-dx, x0 - xr.0),
            (dx, xr.1 - x0),
            (-dy, y0 - yr.0),
            (dy, yr.1 - y0),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    visible = false;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
            }
        }
        if !visible || t0 > t1 {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        let a = (x0 + t0 * dx, y0 + t0 * dy);
        let b = (x0 + t1 * dx, y0 + t1 * dy);
        if current.is_empty() {
            current.push(a);
        } else if current.last() != Some(&a) {
            out.push(std::mem::take(&mut current));
            current.push(a);
        }
        current.push(b);
        if t1 < 1.0 {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// What a [`Glyph`] draws.
#[derive(Debug, Clone, Copy)]
enum GlyphKind {
    /// A marker centred on the point.
    Marker(Marker),
    /// A legend sample of a line starting at the point (dashed or solid).
    Line { dashed: bool },
}

/// A marker or legend sample anchored at one point, drawn in backend pixels around it. A custom
/// element (rather than plotters' composed elements) so that it carries no backend type.
#[derive(Debug, Clone, Copy)]
struct Glyph<C> {
    at: [C; 1],
    kind: GlyphKind,
    style: ShapeStyle,
    /// Marker radius in backend pixels (grid units).
    r: i32,
}

impl<'a, C: 'a> PointCollection<'a, C> for &'a Glyph<C> {
    type Point = &'a C;
    type IntoIter = &'a [C];
    fn point_iter(self) -> &'a [C] {
        &self.at
    }
}

impl<DB: DrawingBackend, C> Drawable<DB> for Glyph<C> {
    fn draw<I: Iterator<Item = (i32, i32)>>(
        &self,
        mut pos: I,
        backend: &mut DB,
        _: (u32, u32),
    ) -> std::result::Result<(), DrawingErrorKind<DB::ErrorType>> {
        let Some((x, y)) = pos.next() else {
            return Ok(());
        };
        let r = self.r;
        let fill = self.style.filled();
        let poly = |pts: &[(i32, i32)]| -> Vec<(i32, i32)> {
            pts.iter().map(|(dx, dy)| (x + dx, y + dy)).collect()
        };
        match self.kind {
            GlyphKind::Marker(Marker::Circle) => backend.draw_circle((x, y), r as u32, &fill, true),
            GlyphKind::Marker(Marker::Ring) => {
                backend.draw_circle((x, y), r as u32, &self.style, false)
            }
            GlyphKind::Marker(Marker::Square) => {
                let h = r * 87 / 100;
                backend.draw_rect((x - h, y - h), (x + h, y + h), &fill, true)
            }
            GlyphKind::Marker(Marker::TriangleUp) => backend.fill_polygon(
                poly(&[(0, -r - r / 4), (-r, r * 3 / 4), (r, r * 3 / 4)]),
                &fill,
            ),
            GlyphKind::Marker(Marker::TriangleDown) => backend.fill_polygon(
                poly(&[(0, r + r / 4), (-r, -r * 3 / 4), (r, -r * 3 / 4)]),
                &fill,
            ),
            GlyphKind::Line { dashed: false } => {
                backend.draw_path(poly(&[(0, 0), (20 * GRID as i32, 0)]), &self.style)
            }
            GlyphKind::Line { dashed: true } => {
                let g = GRID as i32;
                for (a, b) in [(0, 5), (8, 13), (16, 20)] {
                    backend.draw_path(poly(&[(a * g, 0), (b * g, 0)]), &self.style)?;
                }
                Ok(())
            }
        }
    }
}

/// A colour map: cells (x, y) coloured by a value, e.g. a histogram of current deviations vs bias.
#[derive(Debug, Clone, Default)]
pub struct Heatmap {
    /// Caption.
    pub title: String,
    /// x-axis label with unit.
    pub x_label: String,
    /// y-axis label with unit.
    pub y_label: String,
    /// Cell centres and values: (x, y, value). Cells with value ≤ 0 are left white.
    pub cells: Vec<(f64, f64, f64)>,
    /// Cell width (x) and height (y).
    pub cell: (f64, f64),
    /// Label of the colour scale (with its unit), written along the colour bar.
    pub value_label: String,
}

/// A perceptually ordered colour ramp (dark blue → green → yellow), t in [0, 1].
pub fn ramp_color(t: f64) -> RGBColor {
    let stops = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = t.clamp(0.0, 1.0) * (stops.len() - 1) as f64;
    let k = (t.floor() as usize).min(stops.len() - 2);
    let f = t - k as f64;
    let (a, b) = (stops[k], stops[k + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

impl Heatmap {
    /// The largest finite cell value (0 without positive cells): the top of the colour bar.
    pub fn max_value(&self) -> f64 {
        self.cells
            .iter()
            .map(|c| c.2)
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
    }

    /// Render to SVG text (880 × 500 px: the map and, on its right, a labelled colour bar from 0 to
    /// the largest value; cells ≤ 0 stay white).
    pub fn to_svg(&self) -> Result<String> {
        let g = GRID as i32;
        let mut out = String::new();
        {
            let root =
                SVGBackend::with_string(&mut out, (880 * GRID, 500 * GRID)).into_drawing_area();
            root.fill(&WHITE).map_err(plot_err)?;
            let (map_area, bar_area) = root.split_horizontally(760 * GRID);
            let (dx, dy) = (self.cell.0.abs().max(1e-300), self.cell.1.abs().max(1e-300));
            let xr = finite_range(
                self.cells
                    .iter()
                    .flat_map(|c| [c.0 - dx / 2.0, c.0 + dx / 2.0]),
            )
            .unwrap_or((0.0, 1.0));
            let yr = finite_range(
                self.cells
                    .iter()
                    .flat_map(|c| [c.1 - dy / 2.0, c.1 + dy / 2.0]),
            )
            .unwrap_or((0.0, 1.0));
            let vmax = self.max_value();
            let mut chart = ChartBuilder::on(&map_area)
                .caption(&self.title, sans(16))
                .margin(12 * GRID)
                .x_label_area_size(48 * GRID)
                .y_label_area_size(72 * GRID)
                .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
                .map_err(plot_err)?;
            let (xs, ys) = (xr.1 - xr.0, yr.1 - yr.0);
            let x_fmt = move |v: &f64| tick_label(*v, xs);
            let y_fmt = move |v: &f64| tick_label(*v, ys);
            chart
                .configure_mesh()
                .x_desc(&self.x_label)
                .y_desc(&self.y_label)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .label_style(sans(12))
                .axis_desc_style(sans(14))
                .axis_style(BLACK.stroke_width(GRID))
                .set_all_tick_mark_size(5 * g)
                .disable_mesh()
                .draw()
                .map_err(plot_err)?;
            chart
                .draw_series(
                    self.cells
                        .iter()
                        .filter(|c| c.2 > 0.0 && c.2.is_finite())
                        .map(|&(x, y, v)| {
                            let col = ramp_color(if vmax > 0.0 { v / vmax } else { 0.0 });
                            Rectangle::new(
                                [(x - dx / 2.0, y - dy / 2.0), (x + dx / 2.0, y + dy / 2.0)],
                                col.filled(),
                            )
                        }),
                )
                .map_err(plot_err)?;
            // The colour bar: the same ramp on an axis from 0 to the largest value.
            let top = if vmax > 0.0 { vmax } else { 1.0 };
            let mut bar = ChartBuilder::on(&bar_area)
                .margin_top(40 * GRID)
                .margin_bottom(60 * GRID)
                .margin_left(4 * GRID)
                .margin_right(12 * GRID)
                .y_label_area_size(0)
                .right_y_label_area_size(70 * GRID)
                .build_cartesian_2d(0.0..1.0, 0.0..top)
                .map_err(plot_err)?;
            let bar_fmt = move |v: &f64| tick_label(*v, top);
            bar.configure_mesh()
                .disable_x_axis()
                .disable_mesh()
                .y_desc(&self.value_label)
                .y_label_formatter(&bar_fmt)
                .label_style(sans(12))
                .axis_desc_style(sans(13))
                .axis_style(BLACK.stroke_width(GRID))
                .set_all_tick_mark_size(4 * g)
                .draw()
                .map_err(plot_err)?;
            let n = 128;
            bar.draw_series((0..n).map(|k| {
                let (a, b) = (k as f64 / n as f64, (k + 1) as f64 / n as f64);
                Rectangle::new(
                    [(0.0, a * top), (1.0, b * top)],
                    ramp_color((a + b) / 2.0).filled(),
                )
            }))
            .map_err(plot_err)?;
            root.present().map_err(plot_err)?;
        }
        Ok(rescale_svg(&out, GRID as f64))
    }

    /// Render and write atomically to `path`, with the PNG rendering beside it.
    pub fn write_svg(&self, path: &Path) -> Result<()> {
        write_svg_and_png(path, &self.to_svg()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers_in(svg: &str, attr: &str) -> Vec<f64> {
        let key = format!(" {attr}=\"");
        svg.match_indices(&key)
            .filter_map(|(i, _)| {
                let v = &svg[i + key.len()..];
                v[..v.find('"')?].parse::<f64>().ok()
            })
            .collect()
    }

    fn sample_figure() -> Figure {
        let x: Vec<f64> = (0..=40).map(|k| -1.0 + 0.05 * k as f64).collect();
        let y: Vec<f64> = x.iter().map(|v| v * v * v).collect();
        Figure::new(
            vec![Panel {
                title: "test".into(),
                x_label: "bias (mV)".into(),
                y_label: "current (nA)".into(),
                series: vec![
                    Series::line("I_P", vec![0.0, 1.0, 2.0], vec![1.0, f64::NAN, 3.0], 0),
                    Series::line("up", x.clone(), y.clone(), 1).marker(Marker::TriangleUp),
                    Series::line("fit", x, y, 2).dashed(),
                ],
                zero_line: true,
                bands: vec![Band {
                    axis: BandAxis::Y,
                    from: f64::NEG_INFINITY,
                    to: -0.5,
                    label: "TMR < −100 %".into(),
                    color: None,
                }],
                vlines: vec![VLine::new(0.3, "H_sw", 1)],
                ..Panel::default()
            }],
            1,
        )
    }

    #[test]
    fn renders_svg_with_labels_and_gaps() {
        let svg = sample_figure().to_svg().unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("I_P") && svg.contains("bias (mV)") && svg.contains("H_sw"));
        assert!(svg.contains("TMR &lt; −100 %") || svg.contains("TMR < −100 %"));
        // Nominal size, not the drawing grid's.
        assert!(
            svg.contains("width=\"560\" height=\"380\""),
            "{}",
            &svg[..200]
        );
    }

    #[test]
    fn svg_coordinates_are_sub_pixel_and_inside_the_figure() {
        let svg = sample_figure().to_svg().unwrap();
        let xs = numbers_in(&svg, "x");
        assert!(!xs.is_empty());
        assert!(xs.iter().all(|x| (-1.0..=561.0).contains(x)), "{xs:?}");
        // Many positions are fractional: the 10× grid survives the rescaling.
        let frac = xs.iter().filter(|x| x.fract() != 0.0).count();
        assert!(frac * 4 > xs.len(), "{frac} of {}", xs.len());
        let pts = svg.split("points=\"").nth(1).unwrap();
        assert!(pts[..pts.find('"').unwrap()].contains('.'));
    }

    #[test]
    fn png_is_rendered_with_the_bundled_font() {
        let png = svg_to_png(&sample_figure().to_svg().unwrap()).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        // IHDR width and height: the SVG size times PNG_SCALE.
        let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((w, h), (1120, 760));
        // Text changes the image: the same figure without any text renders differently.
        let head = r#"<svg width="10" height="10" xmlns="http://www.w3.org/2000/svg">"#;
        let with_text = format!(
            r#"{head}<text x="1" y="9" font-family="sans-serif" font-size="9">A</text></svg>"#
        );
        let blank = svg_to_png(&with_text).unwrap();
        let plain = svg_to_png(&format!("{head}</svg>")).unwrap();
        assert_ne!(blank, plain, "the bundled font draws glyphs");
    }

    #[test]
    fn polylines_are_cut_at_the_frame() {
        let line = [(-1.0, -1.0), (0.5, 0.5), (2.0, 2.0)];
        let parts = clip_polyline(&line, (0.0, 1.0), (0.0, 1.0));
        assert_eq!(parts, vec![vec![(0.0, 0.0), (0.5, 0.5), (1.0, 1.0)]]);
        // Leaving and re-entering makes two pieces; a segment fully outside none.
        let zig = [(0.5, 0.5), (0.5, 3.0), (0.6, 0.5)];
        assert_eq!(clip_polyline(&zig, (0.0, 1.0), (0.0, 1.0)).len(), 2);
        assert!(clip_polyline(&[(2.0, 2.0), (3.0, 3.0)], (0.0, 1.0), (0.0, 1.0)).is_empty());
    }

    #[test]
    fn column_names_become_axis_labels_with_units() {
        assert_eq!(
            axis_label("spin_accumulation_meV"),
            "spin accumulation (meV)"
        );
        assert_eq!(axis_label("dIdV_uS"), "dIdV (µS)");
        assert_eq!(axis_label("tmr_percent"), "tmr (%)");
        assert_eq!(axis_label("dos_up_per_meV"), "dos up (1/meV)");
        assert_eq!(axis_label("efficiency"), "efficiency");
    }

    #[test]
    fn tick_labels_have_no_spurious_decimals_or_negative_zero() {
        assert_eq!(tick_label(1400.0, 2000.0), "1400");
        assert_eq!(tick_label(-1e-17, 2.0), "0");
        assert_eq!(tick_label(-0.0, 2.0), "0");
        assert_eq!(tick_label(0.25, 1.0), "0.25");
        assert_eq!(tick_label(-0.2, 1.0), "-0.2");
        assert_eq!(tick_label(0.1 + 0.2, 1.0), "0.3");
        assert_eq!(short_decimal(-0.001, 2), "0");
    }

    #[test]
    fn engineering_prefixes_bring_values_into_one_to_a_thousand() {
        assert_eq!(engineering(0.004, "nW"), (1e3, "pW".to_string()));
        let (f, u) = engineering(2500.0, "nW");
        assert_eq!(u, "µW");
        assert!((f - 1e-3).abs() < 1e-15);
        assert_eq!(engineering(12.0, "nA"), (1.0, "nA".to_string()));
        assert_eq!(engineering(0.0, "nW"), (1.0, "nW".to_string()));
        assert_eq!(engineering(5.0, "%"), (1.0, "%".to_string()));
        let (f, u) = engineering(3e-5, "mV");
        assert_eq!(u, "nV");
        assert!((f * 3e-5 - 30.0).abs() < 1e-9);
    }

    #[test]
    fn legend_goes_to_the_emptiest_corner() {
        let p = Panel {
            series: vec![Series::line(
                "rising",
                vec![0.0, 0.5, 1.0],
                vec![0.0, 0.5, 1.0],
                0,
            )],
            ..Panel::default()
        };
        let c = emptiest_corner(&p, (0.0, 1.0), (0.0, 1.0));
        assert!(matches!(
            c,
            SeriesLabelPosition::UpperLeft | SeriesLabelPosition::LowerRight
        ));
    }

    #[test]
    fn legend_avoids_level_lines_drawn_from_two_points() {
        // Two horizontal levels near the top and bottom (an I(H) loop): every corner is crossed by
        // a level line, the middle of the sides is empty.
        let level = |y: f64| Series::line("level", vec![0.0, 1.0], vec![y, y], 0).dashed();
        let p = Panel {
            series: vec![level(0.9), level(0.1)],
            ..Panel::default()
        };
        let c = emptiest_corner(&p, (0.0, 1.0), (0.0, 1.0));
        assert!(
            matches!(
                c,
                SeriesLabelPosition::MiddleLeft | SeriesLabelPosition::MiddleRight
            ),
            "{c:?}"
        );
    }

    #[test]
    fn heatmap_has_a_colour_bar_with_its_label() {
        let h = Heatmap {
            title: "map".into(),
            x_label: "bias (mV)".into(),
            y_label: "ΔI (nA)".into(),
            cells: vec![(0.0, 0.0, 1.0), (1.0, 0.0, 4.0), (0.0, 1.0, 2.0)],
            cell: (1.0, 1.0),
            value_label: "counts".into(),
        };
        let svg = h.to_svg().unwrap();
        assert!(svg.contains("counts"));
        // The bar's top colour (yellow end of the ramp) is present even if no cell reaches it exactly.
        assert!(svg.contains("#FDE725") || svg.to_lowercase().contains("#fde725"));
        assert_eq!(h.max_value(), 4.0);
    }
}
