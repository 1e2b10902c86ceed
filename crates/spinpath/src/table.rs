//! Results tables: named, unit-carrying columns.
//!
//! Every writer (CSV, figures, JSON, Python arrays) reads the same [`Table`], so the command line and
//! the library agree by construction. Column names carry their unit (`bias_mV`, `current_nA`).
//!
//! Missing values: a numeric cell that has no defined value (for example the TMR where I_AP = 0) is
//! stored as NaN and written to CSV as an **empty field**, never as the text `NaN`.

use crate::error::{Error, Result};
use std::path::Path;

/// One column of a [`Table`].
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Numbers; NaN marks a missing value.
    F64(Vec<f64>),
    /// Text (state names, directions, ...).
    Str(Vec<String>),
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Column::F64(v) => v.len(),
            Column::Str(v) => v.len(),
        }
    }
}

/// A table of equally long named columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    names: Vec<String>,
    columns: Vec<Column>,
}

impl Table {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of rows (0 for a table without columns).
    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    /// Column names in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    fn check_push(&self, name: &str, len: usize) -> Result<()> {
        if self.names.iter().any(|n| n == name) {
            return Err(Error::invalid(
                "table",
                format!("duplicate column `{name}`"),
            ));
        }
        if !self.columns.is_empty() && len != self.n_rows() {
            return Err(Error::invalid(
                "table",
                format!(
                    "column `{name}` has {len} rows, the table has {}",
                    self.n_rows()
                ),
            ));
        }
        Ok(())
    }

    /// Append a numeric column.
    pub fn push_f64(&mut self, name: impl Into<String>, values: Vec<f64>) -> Result<()> {
        let name = name.into();
        self.check_push(&name, values.len())?;
        self.names.push(name);
        self.columns.push(Column::F64(values));
        Ok(())
    }

    /// Append a text column.
    pub fn push_str(&mut self, name: impl Into<String>, values: Vec<String>) -> Result<()> {
        let name = name.into();
        self.check_push(&name, values.len())?;
        self.names.push(name);
        self.columns.push(Column::Str(values));
        Ok(())
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.columns[i])
    }

    /// A numeric column by name.
    pub fn f64(&self, name: &str) -> Option<&[f64]> {
        match self.column(name)? {
            Column::F64(v) => Some(v),
            Column::Str(_) => None,
        }
    }

    /// A text column by name.
    pub fn str(&self, name: &str) -> Option<&[String]> {
        match self.column(name)? {
            Column::Str(v) => Some(v),
            Column::F64(_) => None,
        }
    }

    /// Iterate over `(name, column)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Column)> {
        self.names
            .iter()
            .map(String::as_str)
            .zip(self.columns.iter())
    }

    /// Render as CSV text (header line, then rows). Numbers use Rust's shortest round-trip format
    /// (exponent form below 1e-4 and from 1e15 in magnitude);
    /// NaN is written as an empty field; infinities are refused.
    pub fn to_csv_string(&self) -> Result<String> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.names)
            .map_err(|e| Error::invalid("table", e.to_string()))?;
        let mut record: Vec<String> = Vec::with_capacity(self.names.len());
        for row in 0..self.n_rows() {
            record.clear();
            for (name, col) in self.iter() {
                record.push(match col {
                    Column::Str(v) => v[row].clone(),
                    Column::F64(v) => {
                        let x = v[row];
                        if x.is_nan() {
                            String::new()
                        } else if x.is_infinite() {
                            return Err(Error::Numerical {
                                context: format!("column `{name}`"),
                                message: format!("infinite value in row {}", row + 1),
                            });
                        } else {
                            format_number(x)
                        }
                    }
                });
            }
            w.write_record(&record)
                .map_err(|e| Error::invalid("table", e.to_string()))?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| Error::invalid("table", e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| Error::invalid("table", e.to_string()))
    }

    /// Write as CSV, atomically.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        crate::io::write_atomic(path, self.to_csv_string()?.as_bytes())
    }
}

/// The text of a finite number in every CSV spinpath writes: Rust's shortest round-trip form,
/// in exponent form below 1e-4 and from 1e15 in magnitude (so 4e-78 stays short).
pub fn format_number(x: f64) -> String {
    if x != 0.0 && (x.abs() < 1e-4 || x.abs() >= 1e15) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_header_rows_and_empty_missing() {
        let mut t = Table::new();
        t.push_str("state", vec!["P".into(), "AP".into()]).unwrap();
        t.push_f64("tmr", vec![0.5, f64::NAN]).unwrap();
        let s = t.to_csv_string().unwrap();
        assert_eq!(s, "state,tmr\nP,0.5\nAP,\n");
    }

    #[test]
    fn mismatched_lengths_and_infinities_are_errors() {
        let mut t = Table::new();
        t.push_f64("a", vec![1.0, 2.0]).unwrap();
        assert!(t.push_f64("b", vec![1.0]).is_err());
        assert!(t.push_f64("a", vec![1.0, 2.0]).is_err());
        t.push_f64("c", vec![1.0, f64::INFINITY]).unwrap();
        assert!(t.to_csv_string().is_err());
    }
}
