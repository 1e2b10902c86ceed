//! Tunnel magnetoresistance: from P and AP I(V) sweeps, and from I(H) loops.
//!
//! TMR = I_P/I_AP − 1 (at equal bias). It is below −100 % exactly where I_P and I_AP have opposite
//! signs, which the spin-engine devices show near zero bias. Where |I_AP| is below a threshold
//! (default 3σ of the AP noise) the ratio is meaningless: the TMR is left undefined (NaN in
//! memory, an empty CSV cell) and the point is flagged, never reported as an infinity.

use super::derivative::{averaged_current_on, Direction};
use super::{mean_sd, median_step, noise_sigma, uniform_grid, Trace};
use crate::error::{Error, Result};
use crate::table::Table;

/// TMR = I_P/I_AP − 1 as a fraction, or NaN when |I_AP| ≤ `min_ap` or a value is not finite.
pub fn tmr_ratio(i_p: f64, i_ap: f64, min_ap: f64) -> f64 {
    if !i_p.is_finite() || !i_ap.is_finite() || i_ap.abs() <= min_ap || i_ap == 0.0 {
        f64::NAN
    } else {
        i_p / i_ap - 1.0
    }
}

/// Options of [`tmr_from_iv`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TmrOptions {
    /// Grid step in mV (default: the smaller median bias step of the two sweeps).
    pub step: Option<f64>,
    /// |I_AP| in nA at or below which the TMR is undefined (default: 3σ of the AP noise, estimated
    /// from second differences of the AP current).
    pub min_ap_current: Option<f64>,
}

/// TMR(V) of a P and an AP sweep on a common grid.
#[derive(Debug, Clone, PartialEq)]
pub struct TmrCurve {
    /// Common bias grid in mV (the overlap of both sweeps).
    pub bias: Vec<f64>,
    /// I_P in nA, averaged over the P sweep's segments.
    pub current_p: Vec<f64>,
    /// I_AP in nA, averaged over the AP sweep's segments.
    pub current_ap: Vec<f64>,
    /// TMR in percent; NaN where I_AP is near zero.
    pub tmr_percent: Vec<f64>,
    /// I_P and I_AP have opposite signs (TMR < −100 %).
    pub opposite_signs: Vec<bool>,
    /// |I_AP| ≤ the threshold: TMR undefined.
    pub ap_near_zero: Vec<bool>,
    /// Bias intervals (first, last grid point in mV) where the signs are opposite.
    pub opposite_regions: Vec<(f64, f64)>,
    /// The |I_AP| threshold used, nA.
    pub min_ap_current: f64,
}

impl TmrCurve {
    /// Columns `bias_mV`, `current_P_nA`, `current_AP_nA`, `tmr_percent`, `opposite_signs`,
    /// `ap_near_zero` (flags as `true`/`false`).
    pub fn table(&self) -> Result<Table> {
        let flag = |v: &[bool]| v.iter().map(|b| b.to_string()).collect::<Vec<_>>();
        let mut t = Table::new();
        t.push_f64("bias_mV", self.bias.clone())?;
        t.push_f64("current_P_nA", self.current_p.clone())?;
        t.push_f64("current_AP_nA", self.current_ap.clone())?;
        t.push_f64("tmr_percent", self.tmr_percent.clone())?;
        t.push_str("opposite_signs", flag(&self.opposite_signs))?;
        t.push_str("ap_near_zero", flag(&self.ap_near_zero))?;
        Ok(t)
    }
}

/// TMR(V) from a P and an AP sweep (x = bias in mV, y = current in nA): both are averaged over their
/// monotonic segments onto a common grid (linear interpolation), then TMR = I_P/I_AP − 1.
pub fn tmr_from_iv(p: &Trace, ap: &Trace, opts: TmrOptions) -> Result<TmrCurve> {
    let range = |t: &Trace| {
        (
            t.x.iter().copied().fold(f64::INFINITY, f64::min),
            t.x.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    };
    let (p_lo, p_hi) = range(p);
    let (a_lo, a_hi) = range(ap);
    let (lo, hi) = (p_lo.max(a_lo), p_hi.min(a_hi));
    let step = opts
        .step
        .unwrap_or_else(|| median_step(&p.x).min(median_step(&ap.x)));
    let grid = uniform_grid(lo, hi, step);
    if grid.len() < 2 {
        return Err(Error::invalid(
            "TMR",
            format!(
                "the P sweep ({p_lo}..{p_hi} mV) and the AP sweep ({a_lo}..{a_hi} mV) share no bias range \
                 with at least two grid points of {step} mV"
            ),
        ));
    }
    let ip = averaged_current_on(p, &grid)?.mean;
    let iap = averaged_current_on(ap, &grid)?.mean;
    let min_ap = match opts.min_ap_current {
        Some(v) if v >= 0.0 && v.is_finite() => v,
        Some(v) => {
            return Err(Error::invalid(
                "TMR",
                format!("minimum |I_AP| must be ≥ 0, got {v}"),
            ))
        }
        None => {
            let s = 3.0 * noise_sigma(&ap.y);
            if s.is_finite() {
                s
            } else {
                0.0
            }
        }
    };
    let mut out = TmrCurve {
        bias: grid.clone(),
        current_p: ip.clone(),
        current_ap: iap.clone(),
        tmr_percent: Vec::new(),
        opposite_signs: Vec::new(),
        ap_near_zero: Vec::new(),
        opposite_regions: Vec::new(),
        min_ap_current: min_ap,
    };
    for k in 0..grid.len() {
        let near = iap[k].is_nan() || iap[k].abs() <= min_ap;
        out.ap_near_zero.push(near);
        out.tmr_percent
            .push(100.0 * tmr_ratio(ip[k], iap[k], min_ap));
        out.opposite_signs.push(ip[k] * iap[k] < 0.0);
    }
    out.opposite_regions = runs(&out.opposite_signs)
        .into_iter()
        .map(|(a, b)| (grid[a], grid[b]))
        .collect();
    Ok(out)
}

/// Inclusive index runs where `flags` is true.
pub(crate) fn runs(flags: &[bool]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &f) in flags.iter().enumerate() {
        match (f, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i - 1));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, flags.len() - 1));
    }
    out
}

/// Magnetic state of the junction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Parallel.
    P,
    /// Antiparallel.
    AP,
}

impl State {
    /// `P` or `AP`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::P => "P",
            State::AP => "AP",
        }
    }
}

/// Which current level of an I(H) loop is the P state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PLevel {
    /// The level seen at the largest |H| of the loop (both layers saturated along the field).
    #[default]
    Auto,
    /// The higher current.
    High,
    /// The lower current.
    Low,
}

/// Options of [`ih_loop`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IhOptions {
    /// How to tell P from AP.
    pub p_level: PLevel,
    /// A state must last this many consecutive points to count as a switch (shorter excursions are
    /// noise). Default 2.
    pub min_run: usize,
}

impl Default for IhOptions {
    fn default() -> Self {
        IhOptions {
            p_level: PLevel::Auto,
            min_run: 2,
        }
    }
}

/// A switch of the free layer in an I(H) loop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Switch {
    /// Switching field in Oe: midpoint of the last field before and the first after the switch.
    pub field: f64,
    /// Index of the first point in the new state.
    pub index: usize,
    /// Last field in the old state, Oe.
    pub field_before: f64,
    /// First field in the new state, Oe (the switch happened between the two).
    pub field_after: f64,
    /// State before.
    pub from: State,
    /// State after.
    pub to: State,
    /// Field sweep direction at the switch.
    pub sweep: Direction,
}

/// The two current levels of an I(H) loop, the TMR at the loop's bias and the switching fields.
#[derive(Debug, Clone, PartialEq)]
pub struct IhLoop {
    /// Mean P current in nA and its standard error.
    pub i_p: (f64, f64),
    /// Mean AP current in nA and its standard error.
    pub i_ap: (f64, f64),
    /// Points in the P and AP states.
    pub n_p: usize,
    /// Points in the AP state.
    pub n_ap: usize,
    /// TMR in percent and its propagated standard error (NaN if I_AP is zero within 3 standard
    /// errors).
    pub tmr_percent: (f64, f64),
    /// Current threshold separating the two levels, nA.
    pub threshold: f64,
    /// State of every point.
    pub states: Vec<State>,
    /// Field sweep direction at every point.
    pub sweep: Vec<Direction>,
    /// The switches in acquisition order.
    pub switches: Vec<Switch>,
}

impl IhLoop {
    /// Columns `field_Oe`, `current_nA`, `state`, `sweep`.
    pub fn table(&self, trace: &Trace) -> Result<Table> {
        let mut t = Table::new();
        t.push_f64("field_Oe", trace.x.clone())?;
        t.push_f64("current_nA", trace.y.clone())?;
        t.push_str(
            "state",
            self.states.iter().map(|s| s.as_str().to_string()).collect(),
        )?;
        t.push_str(
            "sweep",
            self.sweep.iter().map(|s| s.as_str().to_string()).collect(),
        )?;
        Ok(t)
    }

    /// Columns `field_Oe` (midpoint), `field_before_Oe`, `field_after_Oe`, `from`, `to`, `sweep`,
    /// `index` of the switches.
    pub fn switch_table(&self) -> Result<Table> {
        let mut t = Table::new();
        t.push_f64("field_Oe", self.switches.iter().map(|s| s.field).collect())?;
        t.push_f64(
            "field_before_Oe",
            self.switches.iter().map(|s| s.field_before).collect(),
        )?;
        t.push_f64(
            "field_after_Oe",
            self.switches.iter().map(|s| s.field_after).collect(),
        )?;
        t.push_str(
            "from",
            self.switches
                .iter()
                .map(|s| s.from.as_str().into())
                .collect(),
        )?;
        t.push_str(
            "to",
            self.switches.iter().map(|s| s.to.as_str().into()).collect(),
        )?;
        t.push_str(
            "sweep",
            self.switches
                .iter()
                .map(|s| s.sweep.as_str().into())
                .collect(),
        )?;
        t.push_f64(
            "index",
            self.switches.iter().map(|s| s.index as f64).collect(),
        )?;
        Ok(t)
    }
}

/// Split values into two levels by the threshold maximising the between-class variance (Otsu).
/// Returns (threshold, low mean, high mean) or `None` for fewer than 4 values or one level.
pub fn two_level_split(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.len() < 4 {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let total: f64 = v.iter().sum();
    let mut best = (f64::NEG_INFINITY, 0usize);
    let mut left = 0.0;
    for k in 1..n {
        left += v[k - 1];
        if v[k] == v[k - 1] {
            continue;
        }
        let (n0, n1) = (k as f64, (n - k) as f64);
        let (m0, m1) = (left / n0, (total - left) / n1);
        let between = n0 * n1 * (m1 - m0).powi(2);
        if between > best.0 {
            best = (between, k);
        }
    }
    let k = best.1;
    if k == 0 {
        return None;
    }
    let (lo, hi) = (&v[..k], &v[k..]);
    let (m0, s0, _) = mean_sd(lo.iter().copied());
    let (m1, s1, _) = mean_sd(hi.iter().copied());
    // Require the levels to stand out from their own spread.
    let spread = s0.max(s1);
    let spread = if spread.is_finite() { spread } else { 0.0 };
    if lo.len() < 2 || hi.len() < 2 || (m1 - m0) <= 6.0 * spread {
        return None;
    }
    Some((0.5 * (v[k - 1] + v[k]), m0, m1))
}

/// Analyse an I(H) loop (x = field in Oe, y = current in nA, acquisition order).
pub fn ih_loop(trace: &Trace, opts: IhOptions) -> Result<IhLoop> {
    let n = trace.len();
    let (threshold, _, _) = two_level_split(&trace.y).ok_or_else(|| {
        Error::invalid(
            "I(H) loop",
            "could not find two distinct current levels (P and AP) separated by more than 6× their \
             spread; did the free layer switch, and is the current column right?",
        )
    })?;
    let high: Vec<bool> = trace.y.iter().map(|&v| v > threshold).collect();
    // Remove excursions shorter than min_run (inside the loop) by giving them the previous state.
    let mut clean = high.clone();
    let min_run = opts.min_run.max(1);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j < n && high[j] == high[i] {
            j += 1;
        }
        if i > 0 && j < n && j - i < min_run {
            for c in clean.iter_mut().take(j).skip(i) {
                *c = !high[i];
            }
        }
        i = j;
    }
    let p_is_high = match opts.p_level {
        PLevel::High => true,
        PLevel::Low => false,
        PLevel::Auto => {
            let hmax = trace.x.iter().map(|h| h.abs()).fold(0.0, f64::max);
            let sat: Vec<bool> = (0..n)
                .filter(|&k| trace.x[k].abs() >= 0.9 * hmax)
                .map(|k| clean[k])
                .collect();
            let highs = sat.iter().filter(|&&b| b).count();
            if 2 * highs == sat.len() {
                return Err(Error::invalid(
                    "I(H) loop",
                    "both levels occur at the largest |H|; say which is P (--p-level high|low)",
                ));
            }
            2 * highs > sat.len()
        }
    };
    let states: Vec<State> = clean
        .iter()
        .map(|&h| if h == p_is_high { State::P } else { State::AP })
        .collect();
    let mut sweep = Vec::with_capacity(n);
    for k in 0..n {
        let d = if k + 1 < n {
            trace.x[k + 1] - trace.x[k]
        } else if k > 0 {
            trace.x[k] - trace.x[k - 1]
        } else {
            0.0
        };
        let d = if d == 0.0 && k > 0 {
            trace.x[k] - trace.x[k - 1]
        } else {
            d
        };
        sweep.push(if d < 0.0 {
            Direction::Down
        } else {
            Direction::Up
        });
    }
    let mut switches = Vec::new();
    for k in 1..n {
        if states[k] != states[k - 1] {
            let dh = trace.x[k] - trace.x[k - 1];
            switches.push(Switch {
                field: 0.5 * (trace.x[k] + trace.x[k - 1]),
                index: k,
                field_before: trace.x[k - 1],
                field_after: trace.x[k],
                from: states[k - 1],
                to: states[k],
                sweep: if dh < 0.0 {
                    Direction::Down
                } else {
                    Direction::Up
                },
            });
        }
    }
    let level = |s: State| {
        let (m, sd, c) = mean_sd((0..n).filter(|&k| states[k] == s).map(|k| trace.y[k]));
        (
            m,
            if c >= 2 {
                sd / (c as f64).sqrt()
            } else {
                f64::NAN
            },
            c,
        )
    };
    let (mp, ep, n_p) = level(State::P);
    let (ma, ea, n_ap) = level(State::AP);
    let tmr = if ea.is_finite() && ma.abs() <= 3.0 * ea {
        (f64::NAN, f64::NAN)
    } else {
        let t = tmr_ratio(mp, ma, 0.0);
        let err = ((ep / ma).powi(2) + (mp * ea / (ma * ma)).powi(2)).sqrt();
        (100.0 * t, 100.0 * err)
    };
    Ok(IhLoop {
        i_p: (mp, ep),
        i_ap: (ma, ea),
        n_p,
        n_ap,
        tmr_percent: tmr,
        threshold,
        states,
        sweep,
        switches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmr_of_constructed_curves_with_sign_change_and_zero_ap() {
        // I_P = 2V + 1.03, I_AP = V on a sweep 0 → 2 → -2 → 0.
        let mut v: Vec<f64> = (0..=20).map(|i| i as f64 * 0.1).collect();
        v.extend((1..=40).map(|i| 2.0 - i as f64 * 0.1));
        v.extend((1..=20).map(|i| -2.0 + i as f64 * 0.1));
        let p = Trace::new(v.clone(), v.iter().map(|x| 2.0 * x + 1.03).collect()).unwrap();
        let ap = Trace::new(v.clone(), v.clone()).unwrap();
        let c = tmr_from_iv(
            &p,
            &ap,
            TmrOptions {
                step: Some(0.1),
                min_ap_current: Some(0.05),
            },
        )
        .unwrap();
        assert_eq!(c.bias.len(), 41);
        for k in 0..c.bias.len() {
            let b = c.bias[k];
            if b.abs() < 0.05 {
                assert!(c.tmr_percent[k].is_nan() && c.ap_near_zero[k], "at {b}");
            } else {
                let want = 100.0 * ((2.0 * b + 1.03) / b - 1.0);
                assert!(
                    (c.tmr_percent[k] - want).abs() < 1e-6 * want.abs().max(1.0),
                    "at {b}"
                );
                assert!(c.tmr_percent[k].is_finite());
            }
            // Opposite signs for -0.515 < V < 0, where TMR < -100 %.
            let opp = b > -0.515 && b < -1e-9;
            assert_eq!(c.opposite_signs[k], opp, "at {b}");
            if opp && !c.ap_near_zero[k] {
                assert!(c.tmr_percent[k] < -100.0);
            }
        }
        assert_eq!(c.opposite_regions.len(), 1);
        let (a, b) = c.opposite_regions[0];
        assert!((a + 0.5).abs() < 1e-9 && (b + 0.1).abs() < 1e-9, "{a} {b}");
        // The CSV has an empty cell, not inf, at V = 0.
        let csv = c.table().unwrap().to_csv_string().unwrap();
        assert!(!csv.contains("inf"));
        let row0: Vec<&str> = csv
            .lines()
            .find(|l| l.starts_with("0,"))
            .unwrap()
            .split(',')
            .collect();
        assert_eq!(row0[3], "", "{csv}");
        assert_eq!(row0[5], "true");
    }

    #[test]
    fn ih_loop_levels_tmr_and_switching_fields() {
        // -1000 → +400 → -1000 Oe in 20 Oe steps; AP between +150 (up) and -60 (down).
        let mut h: Vec<f64> = (0..=70).map(|i| -1000.0 + 20.0 * i as f64).collect();
        h.extend((1..=70).map(|i| 400.0 - 20.0 * i as f64));
        let mut state_ap = false;
        let mut y = Vec::new();
        for (k, &hk) in h.iter().enumerate() {
            let up = k <= 70;
            if up && hk > 150.0 {
                state_ap = true;
            }
            if !up && hk < -60.0 {
                state_ap = false;
            }
            // P: -0.02 nA, AP: +0.48 nA, with a small deterministic wiggle.
            let wiggle = 0.003 * ((k * 37 % 11) as f64 / 10.0 - 0.5);
            y.push(if state_ap { 0.48 } else { -0.02 } + wiggle);
        }
        let t = Trace::new(h, y).unwrap();
        let r = ih_loop(&t, IhOptions::default()).unwrap();
        assert!((r.i_p.0 + 0.02).abs() < 0.002 && (r.i_ap.0 - 0.48).abs() < 0.002);
        let want = 100.0 * (-0.02 / 0.48 - 1.0);
        assert!((r.tmr_percent.0 - want).abs() < 1.0, "{:?}", r.tmr_percent);
        assert_eq!(r.switches.len(), 2);
        assert_eq!(
            (r.switches[0].from, r.switches[0].to),
            (State::P, State::AP)
        );
        assert_eq!(r.switches[0].sweep, Direction::Up);
        assert!((r.switches[0].field - 150.0).abs() <= 10.0);
        assert_eq!(r.switches[1].sweep, Direction::Down);
        assert!((r.switches[1].field + 60.0).abs() <= 10.0);
        // Forcing the wrong assignment swaps the levels.
        let r2 = ih_loop(
            &t,
            IhOptions {
                p_level: PLevel::High,
                min_run: 2,
            },
        )
        .unwrap();
        assert!((r2.i_p.0 - 0.48).abs() < 0.002);
        // A loop without switching is refused.
        let flat = Trace::new(
            vec![0.0, 1.0, 2.0, 3.0, 4.0],
            vec![1.0, 1.001, 0.999, 1.0, 1.0],
        )
        .unwrap();
        assert!(ih_loop(&flat, IhOptions::default()).is_err());
    }
}
