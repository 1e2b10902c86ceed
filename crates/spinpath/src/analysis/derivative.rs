//! Numerical dI/dV of bias sweeps.
//!
//! A sweep 0 → +Vmax → −Vmax → +Vmax → 0 is first split into monotonic segments
//! ([`split_segments`]); each is differentiated on its own ([`derivative`]) so that a derivative
//! never straddles a turning point; repeated segments are then averaged onto a common grid with
//! standard errors ([`average_on_grid`]).
//!
//! Methods:
//! - **Savitzky–Golay**: at every point a polynomial of degree `order` is least-squares fitted to the
//!   `window` nearest points of the segment (the window is shifted, not shrunk, at the segment ends)
//!   and its slope at the point is the derivative. Written for arbitrary (also non-uniform) x; exact
//!   for polynomials of degree ≤ `order`. Default window 7 points, order 2.
//! - **Finite difference**: the second-order three-point formula for non-uniform steps, one-sided at
//!   the ends; exact for quadratics.

use super::{interp_sorted, median_step, uniform_grid, Trace};
use crate::error::{Error, Result};
use crate::table::Table;
use nalgebra::{DMatrix, DVector};

/// Derivative method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Savitzky–Golay: local polynomial fit of degree `order` over `window` points (odd, ≥ order+1).
    SavitzkyGolay {
        /// Number of points in the fit window (odd).
        window: usize,
        /// Polynomial degree (≥ 1).
        order: usize,
    },
    /// Three-point central difference (non-uniform steps allowed).
    FiniteDifference,
}

impl Default for Method {
    fn default() -> Self {
        Method::SavitzkyGolay {
            window: 7,
            order: 2,
        }
    }
}

impl Method {
    /// Check the parameters.
    pub fn validate(&self) -> Result<()> {
        if let Method::SavitzkyGolay { window, order } = *self {
            if window < 3 || window % 2 == 0 {
                return Err(Error::invalid(
                    "Savitzky-Golay window",
                    format!("window = {window} points; it must be odd and at least 3"),
                ));
            }
            if order == 0 || order >= window {
                return Err(Error::invalid(
                    "Savitzky-Golay order",
                    format!(
                        "order = {order}; it must be at least 1 and below the window ({window})"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Direction of a monotonic sweep segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// x increasing.
    Up,
    /// x decreasing.
    Down,
}

impl Direction {
    /// `up` or `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// A monotonic run of a sweep: points `start..end` (end exclusive) of the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// 0-based index among the segments of the trace.
    pub index: usize,
    /// First point.
    pub start: usize,
    /// One past the last point.
    pub end: usize,
    /// Sweep direction.
    pub direction: Direction,
}

/// Split x into strictly monotonic segments. A turning point belongs to both segments it joins; a
/// repeated x value (a zero step) ends the segment before it and starts the next one after it.
/// Single points are dropped.
pub fn split_segments(x: &[f64]) -> Vec<Segment> {
    let mut out = Vec::new();
    let push = |start: usize, end: usize, dir: Option<Direction>, out: &mut Vec<Segment>| {
        if let Some(direction) = dir {
            if end - start >= 2 {
                out.push(Segment {
                    index: out.len(),
                    start,
                    end,
                    direction,
                });
            }
        }
    };
    if x.len() < 2 {
        return out;
    }
    let mut start = 0;
    let mut dir: Option<Direction> = None;
    for i in 0..x.len() - 1 {
        let dx = x[i + 1] - x[i];
        if dx == 0.0 {
            push(start, i + 1, dir, &mut out);
            start = i + 1;
            dir = None;
            continue;
        }
        let d = if dx > 0.0 {
            Direction::Up
        } else {
            Direction::Down
        };
        match dir {
            None => dir = Some(d),
            Some(cur) if cur != d => {
                push(start, i + 1, dir, &mut out);
                start = i;
                dir = Some(d);
            }
            _ => {}
        }
    }
    push(start, x.len(), dir, &mut out);
    out
}

/// dy/dx of one monotonic segment (x strictly increasing or decreasing). NaN where undefined
/// (fewer than 3 points, or a window without spread).
pub fn derivative(x: &[f64], y: &[f64], method: Method) -> Result<Vec<f64>> {
    method.validate()?;
    if x.len() != y.len() {
        return Err(Error::invalid("derivative", "x and y differ in length"));
    }
    let n = x.len();
    if n < 3 {
        return Ok(vec![f64::NAN; n]);
    }
    Ok(match method {
        Method::FiniteDifference => finite_difference(x, y),
        Method::SavitzkyGolay { window, order } => {
            let w = window.min(if n % 2 == 1 { n } else { n - 1 });
            let order = order.min(w - 1);
            (0..n).map(|i| sg_slope(x, y, i, w, order)).collect()
        }
    })
}

fn finite_difference(x: &[f64], y: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut d = vec![f64::NAN; n];
    for i in 0..n {
        let (a, b, c) = if i == 0 {
            (0, 1, 2)
        } else if i == n - 1 {
            (n - 3, n - 2, n - 1)
        } else {
            (i - 1, i, i + 1)
        };
        // Derivative at x[i] of the parabola through the three points (Lagrange form).
        let (x0, x1, x2) = (x[a], x[b], x[c]);
        let (y0, y1, y2) = (y[a], y[b], y[c]);
        let t = x[i];
        let den0 = (x0 - x1) * (x0 - x2);
        let den1 = (x1 - x0) * (x1 - x2);
        let den2 = (x2 - x0) * (x2 - x1);
        if den0 == 0.0 || den1 == 0.0 || den2 == 0.0 {
            continue;
        }
        d[i] = y0 * ((t - x1) + (t - x2)) / den0
            + y1 * ((t - x0) + (t - x2)) / den1
            + y2 * ((t - x0) + (t - x1)) / den2;
    }
    d
}

fn sg_slope(x: &[f64], y: &[f64], i: usize, w: usize, order: usize) -> f64 {
    let n = x.len();
    let half = w / 2;
    let start = i.saturating_sub(half).min(n - w);
    let xs = &x[start..start + w];
    let ys = &y[start..start + w];
    let scale = xs.iter().map(|v| (v - x[i]).abs()).fold(0.0, f64::max);
    if scale == 0.0 {
        return f64::NAN;
    }
    let a = DMatrix::from_fn(w, order + 1, |r, c| ((xs[r] - x[i]) / scale).powi(c as i32));
    let b = DVector::from_column_slice(ys);
    let svd = a.svd(true, true);
    match svd.solve(&b, 1e-12) {
        Ok(coef) => coef[1] / scale,
        Err(_) => f64::NAN,
    }
}

/// dI/dV of every point of a sweep, segment by segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Didv {
    /// Bias in mV.
    pub bias: Vec<f64>,
    /// Current in nA.
    pub current: Vec<f64>,
    /// dI/dV in nA/mV (= µS); NaN where undefined.
    pub didv: Vec<f64>,
    /// Segment index of each point (a turning point appears once per segment).
    pub segment: Vec<usize>,
    /// Direction of each point's segment.
    pub direction: Vec<Direction>,
    /// The segments.
    pub segments: Vec<Segment>,
}

impl Didv {
    /// Columns `segment`, `direction`, `bias_mV`, `current_nA`, `didv_nA_per_mV`.
    pub fn table(&self) -> Result<Table> {
        let mut t = Table::new();
        t.push_f64("segment", self.segment.iter().map(|&s| s as f64).collect())?;
        t.push_str(
            "direction",
            self.direction
                .iter()
                .map(|d| d.as_str().to_string())
                .collect(),
        )?;
        t.push_f64("bias_mV", self.bias.clone())?;
        t.push_f64("current_nA", self.current.clone())?;
        t.push_f64("didv_nA_per_mV", self.didv.clone())?;
        Ok(t)
    }
}

/// dI/dV of a sweep (x = bias in mV, y = current in nA), each monotonic segment on its own.
pub fn didv(trace: &Trace, method: Method) -> Result<Didv> {
    method.validate()?;
    let segments = split_segments(&trace.x);
    if segments.is_empty() {
        return Err(Error::invalid(
            "sweep",
            "no monotonic bias segment with at least 2 points (is the bias column right?)",
        ));
    }
    let mut out = Didv {
        bias: Vec::new(),
        current: Vec::new(),
        didv: Vec::new(),
        segment: Vec::new(),
        direction: Vec::new(),
        segments: segments.clone(),
    };
    for s in &segments {
        let x = &trace.x[s.start..s.end];
        let y = &trace.y[s.start..s.end];
        let d = derivative(x, y, method)?;
        out.bias.extend_from_slice(x);
        out.current.extend_from_slice(y);
        out.didv.extend(d);
        out.segment.extend(std::iter::repeat_n(s.index, x.len()));
        out.direction
            .extend(std::iter::repeat_n(s.direction, x.len()));
    }
    Ok(out)
}

/// Curves averaged onto a common grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Averaged {
    /// Grid (mV for bias sweeps).
    pub grid: Vec<f64>,
    /// Mean over the curves covering each grid point (NaN where none does).
    pub mean: Vec<f64>,
    /// Standard error of the mean, s/√n (NaN where n < 2).
    pub stderr: Vec<f64>,
    /// Number of curves covering each grid point.
    pub n: Vec<usize>,
    /// Mean over the up-sweep curves only.
    pub mean_up: Vec<f64>,
    /// Mean over the down-sweep curves only.
    pub mean_down: Vec<f64>,
}

impl Averaged {
    /// Columns `<x_name>`, `<y_name>`, `<y_name>`-err (as `stderr_<y_name>`), `n_sweeps`,
    /// `<y_name>_up`, `<y_name>_down`. Pass names with units, e.g. `bias_mV`, `didv_nA_per_mV`.
    pub fn table(&self, x_name: &str, y_name: &str) -> Result<Table> {
        let mut t = Table::new();
        t.push_f64(x_name, self.grid.clone())?;
        t.push_f64(y_name, self.mean.clone())?;
        t.push_f64(format!("stderr_{y_name}"), self.stderr.clone())?;
        t.push_f64("n_sweeps", self.n.iter().map(|&n| n as f64).collect())?;
        t.push_f64(format!("up_{y_name}"), self.mean_up.clone())?;
        t.push_f64(format!("down_{y_name}"), self.mean_down.clone())?;
        Ok(t)
    }

    /// Keep only grid points covered by at least one curve.
    pub fn covered(&self) -> (Vec<f64>, Vec<f64>) {
        self.grid
            .iter()
            .zip(&self.mean)
            .filter(|(_, m)| m.is_finite())
            .map(|(g, m)| (*g, *m))
            .unzip()
    }
}

/// Average curves `(x, y, direction)` (each x monotonic) onto `grid` by linear interpolation; a
/// curve contributes only inside its own x range. NaN values in a curve are skipped.
pub fn average_on_grid(curves: &[(&[f64], &[f64], Direction)], grid: &[f64]) -> Averaged {
    let m = grid.len();
    let mut vals: Vec<Vec<(f64, Direction)>> = vec![Vec::new(); m];
    for &(x, y, dir) in curves {
        // Sort to increasing x, dropping NaN ordinates.
        let mut pts: Vec<(f64, f64)> = x
            .iter()
            .zip(y)
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .map(|(a, b)| (*a, *b))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        pts.dedup_by(|a, b| a.0 == b.0);
        let (xs, ys): (Vec<f64>, Vec<f64>) = pts.into_iter().unzip();
        for (k, &g) in grid.iter().enumerate() {
            if let Some(v) = interp_sorted(&xs, &ys, g) {
                vals[k].push((v, dir));
            }
        }
    }
    let mut out = Averaged {
        grid: grid.to_vec(),
        mean: Vec::with_capacity(m),
        stderr: Vec::with_capacity(m),
        n: Vec::with_capacity(m),
        mean_up: Vec::with_capacity(m),
        mean_down: Vec::with_capacity(m),
    };
    for v in &vals {
        let (mean, sd, n) = super::mean_sd(v.iter().map(|p| p.0));
        out.mean.push(mean);
        out.stderr.push(if n >= 2 {
            sd / (n as f64).sqrt()
        } else {
            f64::NAN
        });
        out.n.push(n);
        out.mean_up
            .push(super::mean_sd(v.iter().filter(|p| p.1 == Direction::Up).map(|p| p.0)).0);
        out.mean_down
            .push(super::mean_sd(v.iter().filter(|p| p.1 == Direction::Down).map(|p| p.0)).0);
    }
    out
}

/// The default common grid of a sweep: multiples of the median bias step spanning all points
/// (or of `step` if given).
pub fn default_grid(x: &[f64], step: Option<f64>) -> Result<Vec<f64>> {
    let step = step.unwrap_or_else(|| median_step(x));
    let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let g = uniform_grid(lo, hi, step);
    if g.len() < 2 {
        return Err(Error::invalid(
            "grid",
            format!("cannot build a grid with step {step} over [{lo}, {hi}]"),
        ));
    }
    Ok(g)
}

/// dI/dV averaged over all segments of a sweep onto a common grid (see [`default_grid`]).
pub fn averaged_didv(trace: &Trace, method: Method, step: Option<f64>) -> Result<(Didv, Averaged)> {
    let d = didv(trace, method)?;
    let grid = default_grid(&trace.x, step)?;
    let curves: Vec<(&[f64], &[f64], Direction)> = segment_ranges(&d)
        .map(|(a, b, dir)| (&d.bias[a..b], &d.didv[a..b], dir))
        .collect();
    Ok((d.clone(), average_on_grid(&curves, &grid)))
}

/// Current I(V) averaged over all segments of a sweep onto a common grid: a single-valued curve
/// for comparisons (TMR, shifts, peaks).
pub fn averaged_current(trace: &Trace, step: Option<f64>) -> Result<Averaged> {
    let segments = split_segments(&trace.x);
    if segments.is_empty() {
        return Err(Error::invalid(
            "sweep",
            "no monotonic bias segment with at least 2 points (is the bias column right?)",
        ));
    }
    let grid = default_grid(&trace.x, step)?;
    let curves: Vec<(&[f64], &[f64], Direction)> = segments
        .iter()
        .map(|s| {
            (
                &trace.x[s.start..s.end],
                &trace.y[s.start..s.end],
                s.direction,
            )
        })
        .collect();
    Ok(average_on_grid(&curves, &grid))
}

/// Current I(V) of a sweep averaged over its segments onto a given grid.
pub fn averaged_current_on(trace: &Trace, grid: &[f64]) -> Result<Averaged> {
    let segments = split_segments(&trace.x);
    if segments.is_empty() {
        return Err(Error::invalid(
            "sweep",
            "no monotonic bias segment with at least 2 points (is the bias column right?)",
        ));
    }
    let curves: Vec<(&[f64], &[f64], Direction)> = segments
        .iter()
        .map(|s| {
            (
                &trace.x[s.start..s.end],
                &trace.y[s.start..s.end],
                s.direction,
            )
        })
        .collect();
    Ok(average_on_grid(&curves, grid))
}

fn segment_ranges(d: &Didv) -> impl Iterator<Item = (usize, usize, Direction)> + '_ {
    let mut start = 0;
    d.segments.iter().map(move |s| {
        let a = start;
        start += s.end - s.start;
        (a, start, s.direction)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cubic(v: f64) -> f64 {
        0.3 - 1.2 * v + 0.5 * v * v - 0.07 * v * v * v
    }
    fn dcubic(v: f64) -> f64 {
        -1.2 + v - 0.21 * v * v
    }

    #[test]
    fn savitzky_golay_is_exact_for_polynomials_of_its_order() {
        // Non-uniform grid: SG as local least squares stays exact.
        let x: Vec<f64> = (0..40)
            .map(|i| -3.0 + 0.15 * i as f64 + 0.01 * ((i * 7) % 5) as f64)
            .collect();
        let y: Vec<f64> = x.iter().map(|&v| cubic(v)).collect();
        let d = derivative(
            &x,
            &y,
            Method::SavitzkyGolay {
                window: 7,
                order: 3,
            },
        )
        .unwrap();
        for (xi, di) in x.iter().zip(&d) {
            assert!(
                (di - dcubic(*xi)).abs() < 1e-9,
                "at {xi}: {di} vs {}",
                dcubic(*xi)
            );
        }
        // Order 2 is not exact for a cubic: the test would notice a wrong order being used.
        let d2 = derivative(
            &x,
            &y,
            Method::SavitzkyGolay {
                window: 7,
                order: 2,
            },
        )
        .unwrap();
        assert!(d2
            .iter()
            .zip(&x)
            .any(|(di, xi)| (di - dcubic(*xi)).abs() > 1e-4));
    }

    #[test]
    fn finite_difference_is_exact_for_quadratics() {
        let x: Vec<f64> = vec![0.0, 0.1, 0.25, 0.3, 0.5, 0.8];
        let y: Vec<f64> = x.iter().map(|v| 2.0 * v * v - v + 1.0).collect();
        let d = derivative(&x, &y, Method::FiniteDifference).unwrap();
        for (xi, di) in x.iter().zip(&d) {
            assert!((di - (4.0 * xi - 1.0)).abs() < 1e-12);
        }
        assert!(Method::SavitzkyGolay {
            window: 4,
            order: 2
        }
        .validate()
        .is_err());
        assert!(Method::SavitzkyGolay {
            window: 5,
            order: 5
        }
        .validate()
        .is_err());
    }

    #[test]
    fn sweep_is_split_at_turning_points_and_repeats() {
        // 0 → 2 → -2 → 0 with a repeated turning point at 2.
        let x = vec![0.0, 1.0, 2.0, 2.0, 1.0, 0.0, -1.0, -2.0, -1.0, 0.0];
        let s = split_segments(&x);
        assert_eq!(s.len(), 3);
        assert_eq!(
            (s[0].start, s[0].end, s[0].direction),
            (0, 3, Direction::Up)
        );
        assert_eq!(
            (s[1].start, s[1].end, s[1].direction),
            (3, 8, Direction::Down)
        );
        assert_eq!(
            (s[2].start, s[2].end, s[2].direction),
            (7, 10, Direction::Up)
        );
        assert_eq!(s[2].index, 2);
    }

    #[test]
    fn repeated_sweeps_average_with_standard_errors() {
        // Two full sweeps of I = V³/3 + V: dI/dV = V² + 1, with a constant offset ±0.1 on the
        // derivative of alternating segments to check the standard error.
        let mut x = Vec::new();
        for _ in 0..2 {
            x.extend((0..=20).map(|i| i as f64 * 0.1));
            x.extend((0..40).map(|i| 2.0 - (i + 1) as f64 * 0.1));
            x.extend((0..20).map(|i| -2.0 + (i + 1) as f64 * 0.1));
        }
        let y: Vec<f64> = x.iter().map(|v| v * v * v / 3.0 + v).collect();
        let t = Trace::new(x, y).unwrap();
        let (d, avg) = averaged_didv(
            &t,
            Method::SavitzkyGolay {
                window: 5,
                order: 3,
            },
            None,
        )
        .unwrap();
        // up, down, up to 0; the repeated 0 starts the second sweep: up, down, up.
        assert_eq!(d.segments.len(), 6);
        for (k, g) in avg.grid.iter().enumerate() {
            assert!((avg.mean[k] - (g * g + 1.0)).abs() < 1e-9, "at {g}");
            if avg.n[k] >= 2 {
                assert!(avg.stderr[k] < 1e-9);
            }
        }
        assert_eq!(avg.grid.len(), 41);
        let tab = avg.table("bias_mV", "didv_nA_per_mV").unwrap();
        assert!(tab.f64("stderr_didv_nA_per_mV").is_some());
    }

    #[test]
    fn standard_error_of_scattered_curves() {
        let g = vec![0.0, 1.0];
        let x = [0.0, 1.0];
        let a = [1.0, 1.0];
        let b = [3.0, 3.0];
        let avg = average_on_grid(&[(&x, &a, Direction::Up), (&x, &b, Direction::Down)], &g);
        assert_eq!(avg.mean, vec![2.0, 2.0]);
        // s = √2, stderr = s/√2 = 1.
        assert!((avg.stderr[0] - 1.0).abs() < 1e-12);
        assert_eq!(avg.mean_up, vec![1.0, 1.0]);
        assert_eq!(avg.mean_down, vec![3.0, 3.0]);
    }
}
