//! Figures: multi-panel line plots written as SVG.
//!
//! Plotting is deliberately simple (line series on linear axes, one legend per panel): every figure a
//! user wants next to its CSV. Figures are rendered to a string and written atomically.

use crate::error::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

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

/// One curve.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
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
}

impl Series {
    /// A solid line in palette colour `color`.
    pub fn line(label: impl Into<String>, x: Vec<f64>, y: Vec<f64>, color: usize) -> Self {
        Series {
            label: label.into(),
            x,
            y,
            color,
            faint: false,
            markers: false,
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
            let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
            root.fill(&WHITE).map_err(plot_err)?;
            let areas = root.split_evenly((rows, cols));
            for (panel, area) in self.panels.iter().zip(areas.iter()) {
                draw_panel(panel, area)?;
            }
            root.present().map_err(plot_err)?;
        }
        Ok(out)
    }

    /// Render and write atomically to `path` (an `.svg` file).
    pub fn write_svg(&self, path: &Path) -> Result<()> {
        crate::io::write_atomic(path, self.to_svg()?.as_bytes())
    }
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

fn draw_panel<DB: DrawingBackend>(
    panel: &Panel,
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> Result<()> {
    let x_range =
        finite_range(panel.series.iter().flat_map(|s| s.x.iter().copied())).unwrap_or((0.0, 1.0));
    let y_range = panel
        .y_range
        .or_else(|| finite_range(panel.series.iter().flat_map(|s| s.y.iter().copied())))
        .unwrap_or((-1.0, 1.0));
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range.0..x_range.1, y_range.0..y_range.1)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(plot_err)?;
    if panel.zero_line && y_range.0 < 0.0 && y_range.1 > 0.0 {
        chart
            .draw_series(LineSeries::new(
                vec![(x_range.0, 0.0), (x_range.1, 0.0)],
                BLACK.mix(0.3),
            ))
            .map_err(plot_err)?;
    }
    let mut any_label = false;
    for s in &panel.series {
        let base = PALETTE[s.color % PALETTE.len()];
        let style = if s.faint {
            base.mix(0.35).stroke_width(2)
        } else {
            base.stroke_width(2)
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
        let mut first = true;
        for seg in segments.into_iter().filter(|s| !s.is_empty()) {
            let anno = if s.markers {
                chart
                    .draw_series(seg.into_iter().map(|p| Circle::new(p, 2, style.filled())))
                    .map_err(plot_err)?
            } else {
                chart
                    .draw_series(LineSeries::new(seg, style))
                    .map_err(plot_err)?
            };
            if first && !s.label.is_empty() {
                any_label = true;
                anno.label(s.label.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            }
            first = false;
        }
    }
    if any_label {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.45))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(plot_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_svg_with_labels_and_gaps() {
        let fig = Figure::new(
            vec![Panel {
                title: "test".into(),
                x_label: "bias_mV".into(),
                y_label: "current_nA".into(),
                series: vec![Series::line(
                    "I_P",
                    vec![0.0, 1.0, 2.0],
                    vec![1.0, f64::NAN, 3.0],
                    0,
                )],
                zero_line: true,
                y_range: None,
            }],
            1,
        );
        let svg = fig.to_svg().unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("I_P"));
        assert!(svg.contains("bias_mV"));
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
    /// Label of the colour scale.
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
    /// Render to SVG text (800 × 500 px).
    pub fn to_svg(&self) -> Result<String> {
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, (800, 500)).into_drawing_area();
            root.fill(&WHITE).map_err(plot_err)?;
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
            let vmax = self
                .cells
                .iter()
                .map(|c| c.2)
                .filter(|v| v.is_finite())
                .fold(0.0, f64::max);
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    format!(
                        "{} (colour: {}, max {vmax:.3})",
                        self.title, self.value_label
                    ),
                    ("sans-serif", 18),
                )
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(70)
                .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
                .map_err(plot_err)?;
            chart
                .configure_mesh()
                .x_desc(&self.x_label)
                .y_desc(&self.y_label)
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
            root.present().map_err(plot_err)?;
        }
        Ok(out)
    }

    /// Render and write atomically to `path`.
    pub fn write_svg(&self, path: &Path) -> Result<()> {
        crate::io::write_atomic(path, self.to_svg()?.as_bytes())
    }
}
