//! Arithmetic expressions that tie fit parameters together (`e0_AP = e0_P + delta`).
//!
//! Hand-written: the well-known expression crates are either unmaintained or under a licence the
//! project cannot take (AGPL), and the grammar needed here is tiny: numbers, parameter names,
//! `+ − × ÷`, unary minus, `^` (power) and parentheses.

use std::fmt;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal number.
    Num(f64),
    /// A parameter by name.
    Var(String),
    /// Unary minus.
    Neg(Box<Expr>),
    /// A binary operation: one of `+ - * / ^`.
    Bin(char, Box<Expr>, Box<Expr>),
}

/// A parse failure: position (0-based character) and message.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// Character offset in the expression.
    pub pos: usize,
    /// What was expected.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.pos + 1, self.message)
    }
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    _src: &'a str,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.chars.len() && self.chars[self.pos].is_whitespace() {
            self.pos += 1;
        }
    }
    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.chars.get(self.pos).copied()
    }
    fn err<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            pos: self.pos,
            message: message.into(),
        })
    }
    // expr := term (('+'|'-') term)*
    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.term()?;
        while let Some(c @ ('+' | '-')) = self.peek() {
            self.pos += 1;
            let rhs = self.term()?;
            lhs = Expr::Bin(c, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }
    // term := unary (('*'|'/') unary)*
    fn term(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.unary()?;
        while let Some(c @ ('*' | '/')) = self.peek() {
            self.pos += 1;
            let rhs = self.unary()?;
            lhs = Expr::Bin(c, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }
    // unary := '-' unary | power
    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.peek() == Some('-') {
            self.pos += 1;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        if self.peek() == Some('+') {
            self.pos += 1;
            return self.unary();
        }
        self.power()
    }
    // power := atom ('^' unary)?
    fn power(&mut self) -> Result<Expr, ParseError> {
        let base = self.atom()?;
        if self.peek() == Some('^') {
            self.pos += 1;
            let exp = self.unary()?;
            return Ok(Expr::Bin('^', Box::new(base), Box::new(exp)));
        }
        Ok(base)
    }
    fn atom(&mut self) -> Result<Expr, ParseError> {
        match self.peek() {
            Some('(') => {
                self.pos += 1;
                let e = self.expr()?;
                if self.peek() != Some(')') {
                    return self.err("expected `)`");
                }
                self.pos += 1;
                Ok(e)
            }
            Some(c) if c.is_ascii_digit() || c == '.' => {
                let start = self.pos;
                while self.pos < self.chars.len() {
                    let c = self.chars[self.pos];
                    let exp_sign = (c == '-' || c == '+')
                        && self.pos > start
                        && matches!(self.chars[self.pos - 1], 'e' | 'E');
                    if c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E' || exp_sign {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                let s: String = self.chars[start..self.pos].iter().collect();
                s.parse::<f64>().map(Expr::Num).or_else(|_| {
                    self.pos = start;
                    self.err(format!("`{s}` is not a number"))
                })
            }
            Some(c) if c.is_alphabetic() || c == '_' => {
                let start = self.pos;
                while self.pos < self.chars.len()
                    && (self.chars[self.pos].is_alphanumeric()
                        || matches!(self.chars[self.pos], '_' | '.'))
                {
                    self.pos += 1;
                }
                Ok(Expr::Var(self.chars[start..self.pos].iter().collect()))
            }
            Some(c) => self.err(format!(
                "unexpected `{c}`; expected a number, a parameter name or `(`"
            )),
            None => self.err("unexpected end; expected a number, a parameter name or `(`"),
        }
    }
}

impl Expr {
    /// Parse an expression.
    pub fn parse(src: &str) -> Result<Expr, ParseError> {
        let mut p = Parser {
            chars: src.chars().collect(),
            pos: 0,
            _src: src,
        };
        let e = p.expr()?;
        if p.peek().is_some() {
            return p.err("unexpected text after the expression");
        }
        Ok(e)
    }

    /// Names of the parameters the expression uses.
    pub fn variables(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out.sort();
        out.dedup();
        out
    }

    fn collect(&self, out: &mut Vec<String>) {
        match self {
            Expr::Num(_) => {}
            Expr::Var(v) => out.push(v.clone()),
            Expr::Neg(e) => e.collect(out),
            Expr::Bin(_, a, b) => {
                a.collect(out);
                b.collect(out);
            }
        }
    }

    /// Evaluate with `lookup` giving each parameter's value (`None`: unknown name).
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<f64>) -> Result<f64, String> {
        Ok(match self {
            Expr::Num(x) => *x,
            Expr::Var(v) => lookup(v).ok_or_else(|| format!("unknown parameter `{v}`"))?,
            Expr::Neg(e) => -e.eval(lookup)?,
            Expr::Bin(op, a, b) => {
                let (x, y) = (a.eval(lookup)?, b.eval(lookup)?);
                match op {
                    '+' => x + y,
                    '-' => x - y,
                    '*' => x * y,
                    '/' => x / y,
                    _ => x.powf(y),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str) -> f64 {
        Expr::parse(s)
            .unwrap()
            .eval(&|v| match v {
                "a" => Some(2.0),
                "b_1" => Some(-3.0),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(ev("1 + 2 * 3"), 7.0);
        assert_eq!(ev("(1 + 2) * 3"), 9.0);
        assert_eq!(ev("8 / 4 / 2"), 1.0);
        assert_eq!(ev("10 - 4 - 3"), 3.0);
        assert_eq!(ev("-a ^ 2"), -4.0);
        assert_eq!(ev("a + b_1 * 2e-1"), 2.0 - 0.6000000000000001);
        assert_eq!(
            Expr::parse("e0_P + delta").unwrap().variables(),
            vec!["delta", "e0_P"]
        );
    }

    #[test]
    fn errors_point_at_the_problem() {
        assert_eq!(Expr::parse("1 +").unwrap_err().pos, 3);
        assert!(Expr::parse("(a").unwrap_err().message.contains(")"));
        assert!(Expr::parse("a b").is_err());
        assert!(Expr::parse("a + c").unwrap().eval(&|_| None).is_err());
    }
}
