//! Target features as residuals: fit a model to what a paper *reports* (a current at a bias, an
//! open-circuit voltage, a TMR value, a TMR peak's position and height) when the raw curves are not
//! available, alone or together with measured curves.
//!
//! Each feature becomes one small pseudo-dataset (one residual per target number, weighted by its
//! σ), so the minimiser, the covariance and the report treat curve points and features alike.
//! The features are computed from the model's own I(V) on a grid inside the feature's window
//! ([`GRID_POINTS`] points), refined on the model (bisection for a zero, a parabola through the
//! three highest points for a peak), so they are smooth functions of the parameters wherever the
//! feature exists. Conventions: bias in mV, current in nA, TMR = (I_P − I_AP)/I_AP in %.

use super::{Dataset, FitModel};
use crate::{Error, Result};

/// A model's I(V) of one state: (state, biases in mV) → currents in nA.
pub type IvFn<'a> = dyn Fn(&str, &[f64]) -> Result<Vec<f64>> + 'a;

/// Points of the grid a windowed feature is located on before refinement.
pub const GRID_POINTS: usize = 61;

/// One target feature of the I(V) curves.
#[derive(Debug, Clone, PartialEq)]
pub enum Feature {
    /// The current of `state` at `bias_mv`: target `value_na` ± `sigma_na` (nA).
    Current {
        state: String,
        bias_mv: f64,
        value_na: f64,
        sigma_na: f64,
    },
    /// Where I(V) of `state` crosses zero inside `window_mv` (the open-circuit voltage V_oc of a
    /// generator): target `value_mv` ± `sigma_mv`. Without a crossing in the window the
    /// window's end with the smaller |I| stands in (so the fit is pushed towards a crossing).
    ZeroCurrent {
        state: String,
        window_mv: (f64, f64),
        value_mv: f64,
        sigma_mv: f64,
    },
    /// TMR = (I_P − I_AP)/I_AP (%) at `bias_mv` between states `p` and `ap`: target ± σ (%).
    Tmr {
        p: String,
        ap: String,
        bias_mv: f64,
        value_percent: f64,
        sigma_percent: f64,
    },
    /// The highest TMR inside `window_mv`: its bias (target ± σ, mV), its height (± σ, %) and/or
    /// its full width at half its height (FWHM, ± σ, mV; a side that does not fall to half
    /// inside the window is cut at the window's end).
    TmrPeak {
        p: String,
        ap: String,
        window_mv: (f64, f64),
        bias: Option<(f64, f64)>,
        height: Option<(f64, f64)>,
        width: Option<(f64, f64)>,
    },
}

impl Feature {
    /// A short name for tables (`current@0mV[P]`, `tmr_peak[-6..-1mV]`, …).
    pub fn name(&self) -> String {
        match self {
            Feature::Current { state, bias_mv, .. } => format!("current@{bias_mv}mV[{state}]"),
            Feature::ZeroCurrent {
                state, window_mv, ..
            } => format!("zero_current[{state}, {}..{} mV]", window_mv.0, window_mv.1),
            Feature::Tmr { bias_mv, .. } => format!("tmr@{bias_mv}mV"),
            Feature::TmrPeak { window_mv, .. } => {
                format!("tmr_peak[{}..{} mV]", window_mv.0, window_mv.1)
            }
        }
    }

    /// The magnetic states the feature needs.
    pub fn states(&self) -> Vec<&str> {
        match self {
            Feature::Current { state, .. } | Feature::ZeroCurrent { state, .. } => vec![state],
            Feature::Tmr { p, ap, .. } | Feature::TmrPeak { p, ap, .. } => vec![p, ap],
        }
    }

    /// The target numbers with their σ and units: (what, target, σ, unit).
    pub fn targets(&self) -> Vec<(&'static str, f64, f64, &'static str)> {
        match self {
            Feature::Current {
                value_na, sigma_na, ..
            } => vec![("current", *value_na, *sigma_na, "nA")],
            Feature::ZeroCurrent {
                value_mv, sigma_mv, ..
            } => vec![("bias", *value_mv, *sigma_mv, "mV")],
            Feature::Tmr {
                value_percent,
                sigma_percent,
                ..
            } => vec![("tmr", *value_percent, *sigma_percent, "%")],
            Feature::TmrPeak {
                bias,
                height,
                width,
                ..
            } => {
                let mut v = Vec::new();
                if let Some((b, s)) = bias {
                    v.push(("bias", *b, *s, "mV"));
                }
                if let Some((h, s)) = height {
                    v.push(("tmr", *h, *s, "%"));
                }
                if let Some((w, s)) = width {
                    v.push(("width", *w, *s, "mV"));
                }
                v
            }
        }
    }

    /// Check the numbers (finite, σ > 0, ordered windows, a peak with at least one target).
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::invalid(format!("feature `{}`", self.name()), m));
        let window = |w: (f64, f64)| w.0.is_finite() && w.1.is_finite() && w.0 < w.1;
        match self {
            Feature::ZeroCurrent { window_mv, .. } | Feature::TmrPeak { window_mv, .. }
                if !window(*window_mv) =>
            {
                return bad(format!(
                    "window_mV must be [from, to] with from < to (mV), got [{}, {}]",
                    window_mv.0, window_mv.1
                ));
            }
            _ => {}
        }
        let targets = self.targets();
        if targets.is_empty() {
            return bad(
                "give bias_mV (with sigma_mV), value_percent (with sigma_percent) and/or width_mV (with sigma_width_mV)".into(),
            );
        }
        for (what, v, s, unit) in targets {
            if !v.is_finite() {
                return bad(format!(
                    "the {what} target must be a finite number ({unit})"
                ));
            }
            if !(s.is_finite() && s > 0.0) {
                return bad(format!(
                    "the {what} target's σ must be > 0 ({unit}), got {s}"
                ));
            }
        }
        Ok(())
    }

    /// The feature's model values (same order as [`Feature::targets`]); `iv(state, biases)` is the
    /// model's current (nA) of a state at biases (mV).
    pub fn evaluate(&self, iv: &IvFn) -> Result<Vec<f64>> {
        match self {
            Feature::Current { state, bias_mv, .. } => iv(state, &[*bias_mv]),
            Feature::ZeroCurrent {
                state, window_mv, ..
            } => {
                let x = grid(*window_mv);
                let y = iv(state, &x)?;
                Ok(vec![zero_crossing(&x, &y, &|v| Ok(iv(state, &[v])?[0]))?])
            }
            Feature::Tmr { p, ap, bias_mv, .. } => {
                let ip = iv(p, &[*bias_mv])?[0];
                let iap = iv(ap, &[*bias_mv])?[0];
                Ok(vec![tmr_percent(ip, iap)])
            }
            Feature::TmrPeak {
                p,
                ap,
                window_mv,
                bias,
                height,
                width,
            } => {
                let x = grid(*window_mv);
                let ip = iv(p, &x)?;
                let iap = iv(ap, &x)?;
                let t: Vec<f64> = ip
                    .iter()
                    .zip(&iap)
                    .map(|(a, b)| tmr_percent(*a, *b))
                    .collect();
                let (pb, ph) = peak(&x, &t);
                let mut v = Vec::new();
                if bias.is_some() {
                    v.push(pb);
                }
                if height.is_some() {
                    v.push(ph);
                }
                if width.is_some() {
                    v.push(fwhm(&x, &t, pb, ph));
                }
                Ok(v)
            }
        }
    }
}

/// TMR in % (TMR = (I_P − I_AP)/I_AP), capped at ±1e6 % where I_AP → 0 so that a residual stays
/// finite (the cap is far outside any target a fit would use).
fn tmr_percent(ip: f64, iap: f64) -> f64 {
    let t = 100.0 * (ip - iap) / iap;
    if t.is_finite() {
        t.clamp(-1e6, 1e6)
    } else {
        1e6_f64.copysign(ip - iap)
    }
}

fn grid(w: (f64, f64)) -> Vec<f64> {
    (0..GRID_POINTS)
        .map(|k| w.0 + (w.1 - w.0) * k as f64 / (GRID_POINTS - 1) as f64)
        .collect()
}

/// The first sign change of y on the grid, refined by bisection on the model (40 halvings of one
/// grid step: far below any σ). Without a sign change: the end with the smaller |y|.
fn zero_crossing(x: &[f64], y: &[f64], f: &dyn Fn(f64) -> Result<f64>) -> Result<f64> {
    for k in 0..x.len() - 1 {
        if y[k] == 0.0 {
            return Ok(x[k]);
        }
        if y[k].signum() != y[k + 1].signum() {
            let (mut a, mut b, mut fa) = (x[k], x[k + 1], y[k]);
            for _ in 0..40 {
                let m = 0.5 * (a + b);
                let fm = f(m)?;
                if fm == 0.0 {
                    return Ok(m);
                }
                if fm.signum() == fa.signum() {
                    a = m;
                    fa = fm;
                } else {
                    b = m;
                }
            }
            // Linear interpolation inside the last bracket.
            let fb = f(b)?;
            return Ok(if fb != fa {
                a - fa * (b - a) / (fb - fa)
            } else {
                0.5 * (a + b)
            });
        }
    }
    let last = x.len() - 1;
    Ok(if y[0].abs() <= y[last].abs() {
        x[0]
    } else {
        x[last]
    })
}

/// The largest value of t on the grid, refined by the parabola through it and its neighbours.
fn peak(x: &[f64], t: &[f64]) -> (f64, f64) {
    let mut k = 0;
    for i in 1..t.len() {
        if t[i] > t[k] {
            k = i;
        }
    }
    if k == 0 || k == t.len() - 1 {
        return (x[k], t[k]);
    }
    let (a, b, c) = (t[k - 1], t[k], t[k + 1]);
    let den = a - 2.0 * b + c;
    if den >= 0.0 {
        return (x[k], b);
    }
    let h = x[k + 1] - x[k];
    let d = 0.5 * (a - c) / den; // in grid steps, |d| ≤ 1/2
    (x[k] + d * h, b - 0.25 * (a - c) * d)
}

/// Full width at half height of the peak (bias `pb`, height `ph`) of t on the grid: the half-height
/// crossings on each side by linear interpolation; a side that stays above half height to the end
/// of the grid is cut there. A peak at or below zero has no width (0).
fn fwhm(x: &[f64], t: &[f64], pb: f64, ph: f64) -> f64 {
    if ph <= 0.0 {
        return 0.0;
    }
    let half = 0.5 * ph;
    let k = x.partition_point(|&v| v < pb).min(x.len() - 1);
    let cross = |i: usize, j: usize| x[i] + (half - t[i]) * (x[j] - x[i]) / (t[j] - t[i]);
    // Right side: first grid point at or right of the peak whose value is below half.
    let mut right = x[x.len() - 1];
    for j in k.max(1)..x.len() {
        if t[j] < half && t[j - 1] >= half {
            right = cross(j - 1, j);
            break;
        }
    }
    let mut left = x[0];
    let start = k.min(x.len() - 1);
    for j in (0..start).rev() {
        if t[j] < half && t[j + 1] >= half {
            left = cross(j + 1, j);
            break;
        }
    }
    (right - left).max(0.0)
}

/// The pseudo-datasets of the features (one point per target; x = 0, 1, … numbers the targets).
pub fn feature_datasets(features: &[Feature]) -> Vec<Dataset> {
    features
        .iter()
        .map(|f| {
            let t = f.targets();
            Dataset {
                name: format!("feature:{}", f.name()),
                x: (0..t.len()).map(|k| k as f64).collect(),
                y: t.iter().map(|v| v.1).collect(),
                sigma: Some(t.iter().map(|v| v.2).collect()),
            }
        })
        .collect()
}

/// A model whose first `n_curves` datasets are the inner model's, followed by one pseudo-dataset
/// per feature. The inner model is built with the states `states` (the curves' states, then
/// every state a feature needs), so a feature's I(V) comes from the inner dataset of its state.
pub struct WithFeatures<'a, M: FitModel> {
    /// The model of the curves.
    pub inner: &'a M,
    /// Number of measured curves (the inner model's first datasets).
    pub n_curves: usize,
    /// The states the inner model was built with, in dataset order.
    pub states: Vec<String>,
    /// The features, in pseudo-dataset order.
    pub features: &'a [Feature],
}

impl<M: FitModel> FitModel for WithFeatures<'_, M> {
    fn predict(&self, values: &[f64], dataset: usize, x: &[f64]) -> Result<Vec<f64>> {
        if dataset < self.n_curves {
            return self.inner.predict(values, dataset, x);
        }
        let f = &self.features[dataset - self.n_curves];
        f.evaluate(&|state, biases| {
            let i = self
                .states
                .iter()
                .position(|s| s == state)
                .ok_or_else(|| Error::invalid("feature", format!("unknown state `{state}`")))?;
            self.inner.predict(values, i, biases)
        })
    }
}

/// The states a fit's model needs: the curves' states in order, then each further state the
/// features name (once).
pub fn model_states(curve_states: &[&str], features: &[Feature]) -> Vec<String> {
    let mut s: Vec<String> = curve_states.iter().map(|s| s.to_string()).collect();
    for f in features {
        for st in f.states() {
            if !s.iter().any(|x| x == st) {
                s.push(st.to_string());
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy two-state model: I_P = a·V + b, I_AP = c·V + d (nA, V in mV).
    struct Linear;
    impl FitModel for Linear {
        fn predict(&self, v: &[f64], d: usize, x: &[f64]) -> Result<Vec<f64>> {
            let (a, b) = if d == 0 { (v[0], v[1]) } else { (v[2], v[3]) };
            Ok(x.iter().map(|x| a * x + b).collect())
        }
    }

    fn iv<'a>(v: &'a [f64]) -> impl Fn(&str, &[f64]) -> Result<Vec<f64>> + 'a {
        move |s: &str, x: &[f64]| Linear.predict(v, usize::from(s == "AP"), x)
    }

    #[test]
    fn zero_current_is_the_analytic_root_and_falls_back_to_the_nearer_end() {
        let f = Feature::ZeroCurrent {
            state: "P".into(),
            window_mv: (-1.0, 3.0),
            value_mv: 0.0,
            sigma_mv: 0.1,
        };
        // I = 0.7 V − 0.91 → V_oc = 1.3 mV exactly.
        let v = f.evaluate(&iv(&[0.7, -0.91, 1.0, 0.0])).unwrap();
        assert!((v[0] - 1.3).abs() < 1e-9, "{v:?}");
        // No crossing in the window (root at 10 mV): the nearer end, 3 mV.
        let v = f.evaluate(&iv(&[0.1, -1.0, 1.0, 0.0])).unwrap();
        assert_eq!(v[0], 3.0);
    }

    #[test]
    fn tmr_and_tmr_peak_match_hand_values() {
        let f = Feature::Tmr {
            p: "P".into(),
            ap: "AP".into(),
            bias_mv: 2.0,
            value_percent: 0.0,
            sigma_percent: 1.0,
        };
        // I_P(2) = 3, I_AP(2) = 1 → TMR = 200 %.
        let v = f.evaluate(&iv(&[1.0, 1.0, 0.5, 0.0])).unwrap();
        assert!((v[0] - 200.0).abs() < 1e-12);
        // A parabolic TMR: I_P = I_AP·(1 + T(V)/100) with T = 300 − 50 (V + 3.4)², peak at −3.4 mV.
        let model = |s: &str, x: &[f64]| -> Result<Vec<f64>> {
            Ok(x.iter()
                .map(|v| {
                    let t = 300.0 - 50.0 * (v + 3.4) * (v + 3.4);
                    if s == "AP" {
                        2.0
                    } else {
                        2.0 * (1.0 + t / 100.0)
                    }
                })
                .collect())
        };
        let f = Feature::TmrPeak {
            p: "P".into(),
            ap: "AP".into(),
            window_mv: (-6.0, -1.0),
            bias: Some((-3.5, 0.1)),
            height: Some((300.0, 10.0)),
            width: Some((1.0, 0.1)),
        };
        let v = f.evaluate(&model).unwrap();
        assert!(
            (v[0] + 3.4).abs() < 1e-9 && (v[1] - 300.0).abs() < 1e-9,
            "{v:?}"
        );
        // Half height 150 % at (V + 3.4)² = 3: FWHM = 2√3 mV (linear interpolation on the
        // 61-point grid of a parabola: within a few 1e-3 mV).
        assert!((v[2] - 2.0 * 3f64.sqrt()).abs() < 5e-3, "{v:?}");
        // A Lorentzian TMR peak T = 400 / (1 + ((V + 3)/0.5)²): FWHM = 1 mV; a side cut by the
        // window counts to the window's end.
        let lor = |s: &str, x: &[f64]| -> Result<Vec<f64>> {
            Ok(x.iter()
                .map(|v| {
                    let t = 400.0 / (1.0 + ((v + 3.0) / 0.5).powi(2));
                    if s == "AP" {
                        1.0
                    } else {
                        1.0 + t / 100.0
                    }
                })
                .collect())
        };
        let v = f.evaluate(&lor).unwrap();
        assert!((v[2] - 1.0).abs() < 0.02, "{v:?}");
        let cut = Feature::TmrPeak {
            p: "P".into(),
            ap: "AP".into(),
            window_mv: (-3.2, -1.0),
            bias: None,
            height: None,
            width: Some((1.0, 0.1)),
        };
        let w = cut.evaluate(&lor).unwrap()[0];
        assert!((w - (0.5 + 0.2)).abs() < 0.02, "{w}");
    }

    #[test]
    fn a_fit_to_features_alone_recovers_a_consistent_model() {
        use crate::fit::params::{Param, Parameters};
        use crate::fit::{fit, FitOptions};
        // Targets from the parameters (0.5, −0.4, 0.2, 0.1): V_oc(P) = 0.8 mV, I_AP(0) = 0.1 nA,
        // TMR(−2 mV) = (−1.4 + 0.3)/(−0.3)·100 = 366.67 %; the slope of AP is held.
        let features = vec![
            Feature::ZeroCurrent {
                state: "P".into(),
                window_mv: (-2.0, 4.0),
                value_mv: 0.8,
                sigma_mv: 0.01,
            },
            Feature::Current {
                state: "AP".into(),
                bias_mv: 0.0,
                value_na: 0.1,
                sigma_na: 0.001,
            },
            Feature::Tmr {
                p: "P".into(),
                ap: "AP".into(),
                bias_mv: -2.0,
                value_percent: 100.0 * (-1.4 + 0.3) / -0.3,
                sigma_percent: 1.0,
            },
            Feature::Current {
                state: "P".into(),
                bias_mv: 2.0,
                value_na: 0.6,
                sigma_na: 0.001,
            },
        ];
        let params = Parameters::new(vec![
            Param::new("a", 0.3).bounds(0.0, 2.0),
            Param::new("b", -0.1).bounds(-2.0, 2.0),
            Param::new("c", 0.2).fixed(),
            Param::new("d", 0.3).bounds(-1.0, 1.0),
        ])
        .unwrap();
        let states = model_states(&[], &features);
        assert_eq!(states, ["P", "AP"]);
        let model = WithFeatures {
            inner: &Linear,
            n_curves: 0,
            states,
            features: &features,
        };
        let r = fit(
            &model,
            &params,
            &feature_datasets(&features),
            &FitOptions::default(),
            &|_| {},
        )
        .unwrap();
        let want = [0.5, -0.4, 0.2, 0.1];
        for (k, w) in want.iter().enumerate() {
            assert!((r.values[k] - w).abs() < 1e-4, "{:?}", r.values);
        }
        assert!(r.chi2 < 1e-6, "{}", r.chi2);
    }

    #[test]
    fn bad_features_are_refused_with_the_reason() {
        let f = Feature::TmrPeak {
            p: "P".into(),
            ap: "AP".into(),
            window_mv: (-1.0, -6.0),
            bias: Some((-3.5, 0.1)),
            height: None,
            width: None,
        };
        assert!(f.validate().unwrap_err().to_string().contains("from < to"));
        let f = Feature::Current {
            state: "P".into(),
            bias_mv: 0.0,
            value_na: 1.0,
            sigma_na: 0.0,
        };
        assert!(f
            .validate()
            .unwrap_err()
            .to_string()
            .contains("σ must be > 0"));
        let f = Feature::TmrPeak {
            p: "P".into(),
            ap: "AP".into(),
            window_mv: (-6.0, -1.0),
            bias: None,
            height: None,
            width: None,
        };
        assert!(f.validate().is_err());
    }
}
