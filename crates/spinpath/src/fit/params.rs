//! Fit parameters: free or fixed, bounded, or tied to others by an expression.
//!
//! Bounds are handled as lmfit and MINUIT do: the optimiser works on an unbounded internal
//! variable θ mapped onto the bounded range, so no step can leave it.
//! - both bounds: x = min + (sin θ + 1)(max − min)/2
//! - lower bound only: x = min − 1 + √(θ² + 1)
//! - upper bound only: x = max + 1 − √(θ² + 1)

use super::expr::Expr;
use crate::error::{Error, Result};

/// One parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Name (unique).
    pub name: String,
    /// Current (starting, or best-fit) value.
    pub value: f64,
    /// Lower bound (−∞ if none).
    pub min: f64,
    /// Upper bound (+∞ if none).
    pub max: f64,
    /// Whether the fit varies it (ignored when `expr` is set).
    pub vary: bool,
    /// Tie: the value is computed from other parameters.
    pub expr: Option<Expr>,
}

impl Param {
    /// A free, unbounded parameter.
    pub fn new(name: impl Into<String>, value: f64) -> Self {
        Param {
            name: name.into(),
            value,
            min: f64::NEG_INFINITY,
            max: f64::INFINITY,
            vary: true,
            expr: None,
        }
    }
    /// With bounds.
    pub fn bounds(mut self, min: f64, max: f64) -> Self {
        self.min = min;
        self.max = max;
        self
    }
    /// Held fixed.
    pub fn fixed(mut self) -> Self {
        self.vary = false;
        self
    }
    /// Tied to an expression of other parameters.
    pub fn tied(mut self, expr: Expr) -> Self {
        self.expr = Some(expr);
        self.vary = false;
        self
    }
    /// Whether the fit varies it.
    pub fn is_free(&self) -> bool {
        self.vary && self.expr.is_none()
    }

    /// External value → internal variable.
    pub fn to_internal(&self, x: f64) -> f64 {
        match (self.min.is_finite(), self.max.is_finite()) {
            (true, true) => (2.0 * (x - self.min) / (self.max - self.min) - 1.0)
                .clamp(-1.0, 1.0)
                .asin(),
            (true, false) => ((x - self.min + 1.0).powi(2) - 1.0).max(0.0).sqrt(),
            (false, true) => ((self.max - x + 1.0).powi(2) - 1.0).max(0.0).sqrt(),
            (false, false) => x,
        }
    }
    /// Internal variable → external value (always within bounds).
    pub fn to_external(&self, t: f64) -> f64 {
        match (self.min.is_finite(), self.max.is_finite()) {
            (true, true) => self.min + (t.sin() + 1.0) * (self.max - self.min) / 2.0,
            (true, false) => self.min - 1.0 + (t * t + 1.0).sqrt(),
            (false, true) => self.max + 1.0 - (t * t + 1.0).sqrt(),
            (false, false) => t,
        }
    }
    /// d(external value)/d(internal variable) at `t`: the chain-rule factor of the bound
    /// transform ([`Param::to_external`]); 1 for an unbounded parameter.
    pub fn external_derivative(&self, t: f64) -> f64 {
        match (self.min.is_finite(), self.max.is_finite()) {
            (true, true) => t.cos() * (self.max - self.min) / 2.0,
            (true, false) => t / (t * t + 1.0).sqrt(),
            (false, true) => -t / (t * t + 1.0).sqrt(),
            (false, false) => 1.0,
        }
    }
}

/// An ordered, validated set of parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameters {
    params: Vec<Param>,
    /// Evaluation order of the tied parameters (indices), dependencies first.
    tie_order: Vec<usize>,
}

impl Parameters {
    /// Validate: unique names, min < max, start value inside the bounds, expressions referring to
    /// existing parameters without cycles.
    pub fn new(params: Vec<Param>) -> Result<Self> {
        let bad = |m: String| Err(Error::invalid("fit parameters", m));
        for (i, p) in params.iter().enumerate() {
            if params[..i].iter().any(|q| q.name == p.name) {
                return bad(format!("parameter `{}` is defined twice", p.name));
            }
            if p.min.is_nan() || p.max.is_nan() || p.min >= p.max {
                return bad(format!(
                    "parameter `{}`: min ({}) must be < max ({})",
                    p.name, p.min, p.max
                ));
            }
            if p.expr.is_none() && !(p.value.is_finite() && p.value >= p.min && p.value <= p.max) {
                return bad(format!(
                    "parameter `{}`: start value {} must be finite and within [{}, {}]",
                    p.name, p.value, p.min, p.max
                ));
            }
            if let Some(e) = &p.expr {
                for v in e.variables() {
                    if !params.iter().any(|q| q.name == v) {
                        return bad(format!(
                            "parameter `{}`: its expression uses unknown parameter `{v}`",
                            p.name
                        ));
                    }
                }
            }
        }
        // Topological order of the ties.
        let mut order = Vec::new();
        let mut state = vec![0u8; params.len()]; // 0 new, 1 visiting, 2 done
        fn visit(
            i: usize,
            ps: &[Param],
            st: &mut [u8],
            order: &mut Vec<usize>,
        ) -> std::result::Result<(), String> {
            match st[i] {
                2 => return Ok(()),
                1 => return Err(ps[i].name.clone()),
                _ => {}
            }
            st[i] = 1;
            if let Some(e) = &ps[i].expr {
                for v in e.variables() {
                    let j = ps.iter().position(|q| q.name == v).expect("checked above");
                    visit(j, ps, st, order)?;
                }
                order.push(i);
            }
            st[i] = 2;
            Ok(())
        }
        for i in 0..params.len() {
            if let Err(name) = visit(i, &params, &mut state, &mut order) {
                return bad(format!(
                    "the expressions form a cycle through parameter `{name}`"
                ));
            }
        }
        let mut ps = Parameters {
            params,
            tie_order: order,
        };
        let values: Vec<f64> = ps.params.iter().map(|p| p.value).collect();
        let full = ps.apply_ties(values)?;
        for (p, v) in ps.params.iter_mut().zip(full) {
            p.value = v;
        }
        Ok(ps)
    }

    /// All parameters in order.
    pub fn all(&self) -> &[Param] {
        &self.params
    }
    /// Index of a parameter by name.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }
    /// Current value of a parameter by name.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.index(name).map(|i| self.params[i].value)
    }
    /// Indices of the free parameters.
    pub fn free(&self) -> Vec<usize> {
        (0..self.params.len())
            .filter(|&i| self.params[i].is_free())
            .collect()
    }

    /// Compute the tied parameters from the others.
    pub fn apply_ties(&self, mut values: Vec<f64>) -> Result<Vec<f64>> {
        for &i in &self.tie_order {
            let e = self.params[i]
                .expr
                .as_ref()
                .expect("tie order holds tied parameters");
            let v = e
                .eval(&|name| self.index(name).map(|j| values[j]))
                .map_err(|m| {
                    Error::invalid(
                        "fit parameters",
                        format!("parameter `{}`: {m}", self.params[i].name),
                    )
                })?;
            values[i] = v;
        }
        Ok(values)
    }

    /// Full value vector from the free parameters' external values.
    pub fn with_free(&self, free_values: &[f64]) -> Result<Vec<f64>> {
        let mut values: Vec<f64> = self.params.iter().map(|p| p.value).collect();
        for (k, i) in self.free().into_iter().enumerate() {
            values[i] = free_values[k];
        }
        self.apply_ties(values)
    }

    /// [`Parameters::with_free`] and its derivatives: the full value vector and, for every
    /// parameter `i`, the row d values[i] / d free_values[k] (k over the free parameters). Free
    /// parameters give unit rows, fixed ones zero rows, tied ones the exact gradient of their
    /// expression (forward-mode chain rule through the ties, in dependency order).
    pub fn with_free_jacobian(&self, free_values: &[f64]) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
        let values = self.with_free(free_values)?;
        let free = self.free();
        let mut grad = vec![vec![0.0; free.len()]; self.params.len()];
        for (k, &i) in free.iter().enumerate() {
            grad[i][k] = 1.0;
        }
        for &i in &self.tie_order {
            let e = self.params[i]
                .expr
                .as_ref()
                .expect("tie order holds tied parameters");
            let row = (0..free.len())
                .map(|k| self.expr_derivative(e, &values, &grad, k))
                .collect::<Result<Vec<f64>>>()?;
            grad[i] = row;
        }
        Ok((values, grad))
    }

    /// d e / d free_k given the values and the gradient rows of the parameters it uses.
    fn expr_derivative(
        &self,
        e: &Expr,
        values: &[f64],
        grad: &[Vec<f64>],
        k: usize,
    ) -> Result<f64> {
        let lookup = |name: &str| self.index(name).map(|j| values[j]);
        let value = |e: &Expr| {
            e.eval(&lookup)
                .map_err(|m| Error::invalid("fit parameters", m))
        };
        Ok(match e {
            Expr::Num(_) => 0.0,
            Expr::Var(v) => {
                let j = self.index(v).ok_or_else(|| {
                    Error::invalid("fit parameters", format!("unknown parameter `{v}`"))
                })?;
                grad[j][k]
            }
            Expr::Neg(a) => -self.expr_derivative(a, values, grad, k)?,
            Expr::Bin(op, a, b) => {
                let (da, db) = (
                    self.expr_derivative(a, values, grad, k)?,
                    self.expr_derivative(b, values, grad, k)?,
                );
                match op {
                    '+' => da + db,
                    '-' => da - db,
                    '*' => da * value(b)? + value(a)? * db,
                    '/' => {
                        let (x, y) = (value(a)?, value(b)?);
                        (da * y - x * db) / (y * y)
                    }
                    _ => {
                        // x^y: y·x^(y−1)·dx + x^y·ln x·dy (the second term only where y varies).
                        let (x, y) = (value(a)?, value(b)?);
                        let mut d = 0.0;
                        if da != 0.0 {
                            d += y * x.powf(y - 1.0) * da;
                        }
                        if db != 0.0 {
                            d += x.powf(y) * x.ln() * db;
                        }
                        d
                    }
                }
            }
        })
    }

    /// Replace the values (e.g. with the best fit).
    pub fn set_values(&mut self, values: &[f64]) {
        for (p, v) in self.params.iter_mut().zip(values) {
            p.value = *v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_transforms_round_trip_and_stay_inside() {
        for p in [
            Param::new("a", 0.3).bounds(-1.0, 2.0),
            Param::new("b", 5.0).bounds(1.0, f64::INFINITY),
            Param::new("c", -5.0).bounds(f64::NEG_INFINITY, 0.0),
            Param::new("d", 3.0),
        ] {
            let t = p.to_internal(p.value);
            assert!((p.to_external(t) - p.value).abs() < 1e-12, "{}", p.name);
            for t in [-100.0, -1.0, 0.0, 0.7, 1e3] {
                let x = p.to_external(t);
                assert!(x >= p.min && x <= p.max);
            }
        }
    }

    #[test]
    fn ties_follow_dependencies_and_cycles_are_refused() {
        let ps = Parameters::new(vec![
            Param::new("e0_AP", 0.0).tied(Expr::parse("e0_P + delta").unwrap()),
            Param::new("e0_P", -2.5),
            Param::new("delta", 3.35).bounds(0.0, 5.0),
            Param::new("twice", 0.0).tied(Expr::parse("2 * e0_AP").unwrap()),
        ])
        .unwrap();
        assert!((ps.value("e0_AP").unwrap() - 0.85).abs() < 1e-12);
        assert!((ps.value("twice").unwrap() - 1.7).abs() < 1e-12);
        assert_eq!(ps.free(), vec![1, 2]);
        let v = ps.with_free(&[-1.0, 1.0]).unwrap();
        assert_eq!(v[0], 0.0);
        assert_eq!(v[3], 0.0);
        let cyc = Parameters::new(vec![
            Param::new("a", 0.0).tied(Expr::parse("b").unwrap()),
            Param::new("b", 0.0).tied(Expr::parse("a + 1").unwrap()),
        ]);
        assert!(cyc.unwrap_err().to_string().contains("cycle"));
        assert!(Parameters::new(vec![Param::new("a", 3.0).bounds(0.0, 1.0)]).is_err());
        assert!(
            Parameters::new(vec![Param::new("a", 0.0).tied(Expr::parse("zz").unwrap())]).is_err()
        );
    }
}
