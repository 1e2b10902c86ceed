//! Reading measurement files: CSV, TSV and whitespace-separated text, with or without a header.
//!
//! - Comment lines start with `#`, `%` or `//` (after optional blanks) and are kept in
//!   [`DataFile::comments`]. A header may be a plain first line (`Time (s),Voltage (V),...`) or the
//!   last comment line before the data when it has as many fields as the data (`% V[mV]  I[nA]`).
//! - The delimiter is detected from the first data line: `;` (where `,` is then accepted as a decimal
//!   separator), then `,`, then tab, then runs of blanks. The header is split to match the data
//!   (also on runs of two blanks, for names like `Voltage (V)`); a line of units under the header
//!   (`V  A`) is appended to the names.
//! - Units are read from column names: `Voltage (V)`, `V[mV]`, `I_nA`, `H_Oe`, `B/T`, or given
//!   explicitly; values are converted to mV, nA, Oe and s ([`Unit`]).
//! - A malformed line is an [`Error::Data`] naming the file, the 1-based line and what was expected,
//!   e.g. `expected 4 numeric columns, found 'abc' in column 2 (`Voltage (V)`)`.

use crate::error::{Error, Result};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::Trace;

/// The physical quantity of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Bias voltage, canonical unit mV.
    Voltage,
    /// Current, canonical unit nA.
    Current,
    /// Magnetic field, canonical unit Oe.
    Field,
    /// Time, canonical unit s.
    Time,
}

impl Quantity {
    /// The canonical unit's symbol.
    pub fn canonical(self) -> &'static str {
        match self {
            Quantity::Voltage => "mV",
            Quantity::Current => "nA",
            Quantity::Field => "Oe",
            Quantity::Time => "s",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Quantity::Voltage => "a voltage",
            Quantity::Current => "a current",
            Quantity::Field => "a magnetic field",
            Quantity::Time => "a time",
        }
    }
}

/// A unit: its symbol, quantity and factor to the canonical unit (value_canonical = value × factor).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    /// Symbol as written (`V`, `µA`, `Oe`, ...).
    pub symbol: &'static str,
    /// What it measures.
    pub quantity: Quantity,
    /// Multiply by this to get mV, nA, Oe or s.
    pub factor: f64,
}

const UNITS: &[(&[&str], &str, Quantity, f64)] = &[
    (&["v", "volt", "volts"], "V", Quantity::Voltage, 1e3),
    (&["mv"], "mV", Quantity::Voltage, 1.0),
    (&["uv", "µv", "μv"], "µV", Quantity::Voltage, 1e-3),
    (&["a", "amp", "amps"], "A", Quantity::Current, 1e9),
    (&["ma"], "mA", Quantity::Current, 1e6),
    (&["ua", "µa", "μa"], "µA", Quantity::Current, 1e3),
    (&["na"], "nA", Quantity::Current, 1.0),
    (&["pa"], "pA", Quantity::Current, 1e-3),
    (&["t", "tesla"], "T", Quantity::Field, 1e4),
    (&["mt"], "mT", Quantity::Field, 10.0),
    (&["oe"], "Oe", Quantity::Field, 1.0),
    (&["koe"], "kOe", Quantity::Field, 1e3),
    (&["s", "sec"], "s", Quantity::Time, 1.0),
    (&["ms"], "ms", Quantity::Time, 1e-3),
    (&["us", "µs", "μs"], "µs", Quantity::Time, 1e-6),
];

impl Unit {
    /// Parse a unit symbol (case-insensitive; `u` stands for `µ`): V, mV, µV, A, mA, µA, nA, pA, T,
    /// mT, Oe, kOe, s, ms, µs.
    pub fn parse(s: &str) -> Option<Unit> {
        let key = s.trim().to_lowercase();
        UNITS
            .iter()
            .find(|(names, ..)| names.contains(&key.as_str()))
            .map(|&(_, symbol, quantity, factor)| Unit {
                symbol,
                quantity,
                factor,
            })
    }

    /// The unit a column name carries, if any: `Voltage (V)`, `V[mV]`, `I_nA`, `B/T`, `H in Oe`.
    /// Names with a compound unit (`didv_nA_per_mV`) carry none.
    pub fn from_column_name(name: &str) -> Option<Unit> {
        let n = name.trim();
        if n.to_lowercase().contains("_per_") || n.contains("/mV") {
            return None;
        }
        for (open, close) in [('(', ')'), ('[', ']'), ('{', '}')] {
            if let (Some(a), Some(b)) = (n.rfind(open), n.rfind(close)) {
                if a < b {
                    return Unit::parse(&n[a + 1..b]);
                }
            }
        }
        if let Some(i) = n.rfind(['_', '/']) {
            return Unit::parse(&n[i + 1..]);
        }
        if let Some(i) = n.to_lowercase().rfind(" in ") {
            return Unit::parse(&n[i + 4..]);
        }
        None
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol)
    }
}

impl FromStr for Unit {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Unit::parse(s).ok_or_else(|| {
            format!("unknown unit `{s}` (known: V, mV, uV, A, mA, uA, nA, pA, T, mT, Oe, kOe, s, ms, us)")
        })
    }
}

/// A column chosen by its 0-based index or by its header name (exact, then case-insensitive, then a
/// unique case-insensitive prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnSel {
    /// 0-based column index.
    Index(usize),
    /// Header name.
    Name(String),
}

impl FromStr for ColumnSel {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let t = s.trim();
        if t.is_empty() {
            return Err("empty column name".into());
        }
        Ok(match t.parse::<usize>() {
            Ok(i) => ColumnSel::Index(i),
            Err(_) => ColumnSel::Name(t.to_string()),
        })
    }
}

/// The field delimiter of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    /// `,`
    Comma,
    /// `;` (a `,` in a number is then a decimal separator)
    Semicolon,
    /// tab
    Tab,
    /// runs of blanks
    Whitespace,
}

impl Delimiter {
    fn detect(line: &str) -> Self {
        if line.contains(';') {
            Delimiter::Semicolon
        } else if line.contains(',') {
            Delimiter::Comma
        } else if line.contains('\t') {
            Delimiter::Tab
        } else {
            Delimiter::Whitespace
        }
    }

    fn split(self, line: &str) -> Vec<String> {
        let clean = |f: &str| f.trim().trim_matches('"').trim().to_string();
        match self {
            Delimiter::Comma => line.split(',').map(clean).collect(),
            Delimiter::Semicolon => line.split(';').map(clean).collect(),
            Delimiter::Tab => {
                let tabbed: Vec<String> = line
                    .split('\t')
                    .map(clean)
                    .filter(|f| !f.is_empty())
                    .collect();
                if tabbed.len() > 1 {
                    tabbed
                } else {
                    line.split_whitespace().map(clean).collect()
                }
            }
            Delimiter::Whitespace => line.split_whitespace().map(clean).collect(),
        }
    }
}

/// A numeric data file: named columns of numbers, converted nowhere yet (see [`DataFile::values`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DataFile {
    /// The file's name as given (used in messages).
    pub path: String,
    /// Column names: the header's, or `column 0`, `column 1`, ... without a header.
    pub names: Vec<String>,
    /// Whether a header (plain or commented) was found.
    pub has_header: bool,
    /// For a text column (non-numeric in its first row, e.g. `direction` or `state`), the line and
    /// value that made it text; `None` for numeric columns.
    pub text_columns: Vec<Option<(usize, String)>>,
    /// The detected delimiter.
    pub delimiter: Delimiter,
    /// Columns of raw numbers (as written in the file); NaN marks a missing value (an empty CSV
    /// cell, `NaN`, `NA`) and fills text columns.
    pub columns: Vec<Vec<f64>>,
    /// 1-based file line of each row.
    pub line_numbers: Vec<usize>,
    /// Comment lines without their marker.
    pub comments: Vec<String>,
}

fn comment_body(line: &str) -> Option<&str> {
    let t = line.trim_start();
    for marker in ["//", "#", "%"] {
        if let Some(rest) = t.strip_prefix(marker) {
            return Some(rest.trim());
        }
    }
    None
}

/// Split a header into exactly `n` non-empty names: with the data's delimiter, else on tabs or runs
/// of two or more blanks (names with single spaces, `Voltage (V)  Current (A)`), else on blanks.
fn split_header(line: &str, delimiter: Delimiter, n: usize) -> Option<Vec<String>> {
    let ok = |v: &Vec<String>| v.len() == n && v.iter().all(|f| !f.is_empty());
    let first = delimiter.split(line);
    if ok(&first) {
        return Some(first);
    }
    let wide: Vec<String> = line
        .split('\t')
        .flat_map(|part| part.split("  "))
        .map(|f| f.trim().trim_matches('"').trim().to_string())
        .filter(|f| !f.is_empty())
        .collect();
    if ok(&wide) {
        return Some(wide);
    }
    let blank = Delimiter::Whitespace.split(line);
    ok(&blank).then_some(blank)
}

/// An explicitly missing value: an empty field, `nan`, `NA` (any case).
fn is_missing(field: &str) -> bool {
    let f = field.trim();
    f.is_empty() || f.eq_ignore_ascii_case("nan") || f.eq_ignore_ascii_case("na")
}

fn parse_number(field: &str, delimiter: Delimiter) -> Option<f64> {
    let v = if delimiter == Delimiter::Semicolon && field.contains(',') && !field.contains('.') {
        field.replace(',', ".").parse::<f64>().ok()?
    } else {
        field.parse::<f64>().ok()?
    };
    v.is_finite().then_some(v)
}

impl DataFile {
    /// Read and parse a file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = crate::io::read_to_string(path)?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parse file contents; `file` names the source in error messages.
    pub fn parse(text: &str, file: &str) -> Result<Self> {
        let data_err = |line: usize, message: String| Error::Data {
            file: file.to_string(),
            line,
            message,
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut comments = Vec::new();
        let mut last_comment: Option<String> = None;
        let mut header: Option<Vec<String>> = None;
        let mut header_raw: Option<(usize, String)> = None;
        let mut units_raw: Option<String> = None;
        let mut has_header = false;
        let mut delimiter = Delimiter::Whitespace;
        let mut columns: Vec<Vec<f64>> = Vec::new();
        let mut line_numbers = Vec::new();
        let mut text_columns: Vec<Option<(usize, String)>> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let lineno = i + 1;
            if raw.trim().is_empty() {
                continue;
            }
            if let Some(body) = comment_body(raw) {
                comments.push(body.to_string());
                if columns.is_empty() && header_raw.is_none() {
                    last_comment = Some(body.to_string());
                }
                continue;
            }
            if columns.is_empty() && header.is_none() {
                let d = Delimiter::detect(raw);
                let fields = d.split(raw);
                if fields.iter().any(|f| parse_number(f, d).is_none()) {
                    // A plain header line, then optionally a line of units (`V  A`, `(mV) (nA)`).
                    if header_raw.is_none() {
                        header_raw = Some((lineno, raw.to_string()));
                        continue;
                    }
                    let is_unit =
                        |f: &String| Unit::parse(f.trim_matches(['(', ')', '[', ']'])).is_some();
                    if units_raw.is_none() && fields.iter().all(is_unit) {
                        units_raw = Some(raw.to_string());
                        continue;
                    }
                    // Otherwise this is a malformed first data line, reported below.
                }
                // First data line: it fixes the delimiter and the number of columns.
                delimiter = d;
                let n = fields.len();
                if let Some((hl, h)) = &header_raw {
                    let mut names = split_header(h, delimiter, n).ok_or_else(|| {
                        data_err(
                            *hl,
                            format!(
                                "the header `{}` does not split into {n} column names, but the first \
                                 data line (line {lineno}) has {n} fields; expected one name per column",
                                h.trim()
                            ),
                        )
                    })?;
                    if let Some(u) = units_raw
                        .as_ref()
                        .and_then(|u| split_header(u, delimiter, n))
                    {
                        for (name, unit) in names.iter_mut().zip(u) {
                            *name = format!("{name} ({})", unit.trim_matches(['(', ')', '[', ']']));
                        }
                    }
                    header = Some(names);
                    has_header = true;
                } else if let Some(c) = &last_comment {
                    // A commented header: the last comment before the data, one name per column.
                    if let Some(names) = split_header(c, delimiter, n) {
                        if names.iter().any(|f| parse_number(f, delimiter).is_none()) {
                            header = Some(names);
                            has_header = true;
                        }
                    }
                }
            }
            let fields = delimiter.split(raw);
            let expected = header.as_ref().map_or(
                if columns.is_empty() {
                    fields.len()
                } else {
                    columns.len()
                },
                Vec::len,
            );
            if text_columns.len() != expected {
                text_columns = vec![None; expected];
            }
            let name_of = |k: usize| match &header {
                Some(h) => format!(" (`{}`)", h[k]),
                None => String::new(),
            };
            if fields.len() != expected {
                return Err(data_err(
                    lineno,
                    format!(
                        "expected {expected} numeric columns, found {} field{} in `{}`",
                        fields.len(),
                        if fields.len() == 1 { "" } else { "s" },
                        raw.trim()
                    ),
                ));
            }
            if columns.is_empty() {
                columns = vec![Vec::new(); expected];
                // With a header, a column that holds text in its first row is a text column
                // (labels, flags): kept, but refused if chosen as data.
                if header.is_some() {
                    for (k, f) in fields.iter().enumerate() {
                        if parse_number(f, delimiter).is_none() && !is_missing(f) {
                            text_columns[k] = Some((lineno, f.clone()));
                        }
                    }
                }
            }
            let n_numeric = text_columns.iter().filter(|t| t.is_none()).count();
            for (k, f) in fields.iter().enumerate() {
                if text_columns[k].is_some() {
                    columns[k].push(f64::NAN);
                    continue;
                }
                match parse_number(f, delimiter) {
                    Some(v) => columns[k].push(v),
                    None if is_missing(f) => columns[k].push(f64::NAN),
                    None => {
                        return Err(data_err(
                            lineno,
                            format!(
                                "expected {n_numeric} numeric columns, found '{f}' in column {}{} \
                                 (0-based index {k}); a finite number (or an empty cell / NaN for a \
                                 missing value) was expected",
                                k + 1,
                                name_of(k)
                            ),
                        ))
                    }
                }
            }
            line_numbers.push(lineno);
        }
        if columns.is_empty() {
            return Err(Error::Data {
                file: file.to_string(),
                line: text.lines().count().max(1),
                message: "no data lines found (expected rows of numbers after optional comment \
                          lines starting with #, % or // and an optional header)"
                    .into(),
            });
        }
        let names =
            header.unwrap_or_else(|| (0..columns.len()).map(|k| format!("column {k}")).collect());
        Ok(DataFile {
            path: file.to_string(),
            names,
            has_header,
            text_columns,
            delimiter,
            columns,
            line_numbers,
            comments,
        })
    }

    /// Number of data rows.
    pub fn n_rows(&self) -> usize {
        self.line_numbers.len()
    }

    /// The 0-based index of a selected column.
    pub fn index_of(&self, sel: &ColumnSel) -> Result<usize> {
        let available = || {
            self.names
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{i}: `{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match sel {
            ColumnSel::Index(i) if *i < self.names.len() => Ok(*i),
            ColumnSel::Index(i) => Err(Error::invalid(
                "column",
                format!(
                    "{}: column index {i} does not exist; the file has {} columns ({})",
                    self.path,
                    self.names.len(),
                    available()
                ),
            )),
            ColumnSel::Name(name) => {
                let lower = name.to_lowercase();
                if let Some(i) = self.names.iter().position(|n| n == name) {
                    return Ok(i);
                }
                if let Some(i) = self.names.iter().position(|n| n.to_lowercase() == lower) {
                    return Ok(i);
                }
                let prefixed: Vec<usize> = (0..self.names.len())
                    .filter(|&i| self.names[i].to_lowercase().starts_with(&lower))
                    .collect();
                if prefixed.len() == 1 {
                    return Ok(prefixed[0]);
                }
                Err(Error::invalid(
                    "column",
                    format!(
                        "{}: no column named `{name}`; columns are {}",
                        self.path,
                        available()
                    ),
                ))
            }
        }
    }

    /// The unit a column's header carries, if any.
    pub fn header_unit(&self, index: usize) -> Option<Unit> {
        if !self.has_header {
            return None;
        }
        self.names
            .get(index)
            .and_then(|n| Unit::from_column_name(n))
    }

    fn name_hints(&self, index: usize, want: Quantity) -> bool {
        if !self.has_header {
            return false;
        }
        let n = self.names[index].trim().to_lowercase();
        let first = n.chars().next().unwrap_or(' ');
        let word_start = |s: &str| n.starts_with(s);
        match want {
            Quantity::Voltage => {
                word_start("volt") || word_start("bias") || (first == 'v' && !word_start("val"))
            }
            Quantity::Current => word_start("curr") || first == 'i',
            Quantity::Field => {
                word_start("field") || word_start("mag") || first == 'h' || first == 'b'
            }
            Quantity::Time => word_start("time") || first == 't',
        }
    }

    /// Find the column for `want`: the explicit selection if given, else the first column whose header
    /// unit measures `want`, else the first whose name suggests it (`V…`, `bias`, `I…`, `H…`,
    /// `time`), else the first column not in `exclude` (files without a header: column 0 for x,
    /// column 1 for y, via `exclude`). `None` only when nothing is left.
    pub fn resolve(
        &self,
        sel: Option<&ColumnSel>,
        want: Quantity,
        exclude: &[usize],
    ) -> Result<Option<usize>> {
        if let Some(s) = sel {
            return self.index_of(s).map(Some);
        }
        let free = |i: &usize| {
            !exclude.contains(i) && self.text_columns.get(*i).is_none_or(Option::is_none)
        };
        let n = self.names.len();
        if let Some(i) = (0..n)
            .filter(free)
            .find(|&i| self.header_unit(i).is_some_and(|u| u.quantity == want))
        {
            return Ok(Some(i));
        }
        if let Some(i) = (0..n)
            .filter(free)
            .find(|&i| self.header_unit(i).is_none() && self.name_hints(i, want))
        {
            return Ok(Some(i));
        }
        Ok((0..n).filter(free).find(|&i| {
            // Do not fall back onto a column whose unit says it is something else.
            self.header_unit(i).is_none()
        }))
    }

    /// The raw numbers of column `index` (NaN for missing values); an error for a text column.
    pub fn raw_values(&self, index: usize) -> Result<Vec<f64>> {
        let name = self
            .names
            .get(index)
            .ok_or_else(|| Error::invalid("column", format!("{}: no column {index}", self.path)))?;
        if let Some(Some((line, value))) = self.text_columns.get(index) {
            return Err(Error::Data {
                file: self.path.clone(),
                line: *line,
                message: format!("column `{name}` holds text ('{value}'), not numbers"),
            });
        }
        Ok(self.columns[index].clone())
    }

    /// The values of column `index` converted to `want`'s canonical unit (mV, nA, Oe, s), with a note
    /// of the unit used. The unit is `unit` if given, else the header's, else the canonical one is
    /// assumed (and the note says so). A unit of another quantity is an error.
    pub fn values(
        &self,
        index: usize,
        want: Quantity,
        unit: Option<Unit>,
    ) -> Result<(Vec<f64>, String)> {
        let name = &self.names[index];
        if let Some(Some((line, value))) = self.text_columns.get(index) {
            return Err(Error::Data {
                file: self.path.clone(),
                line: *line,
                message: format!(
                    "column `{name}` holds text ('{value}'), not {}; choose a numeric column",
                    want.noun()
                ),
            });
        }
        let (unit, how) = match (unit, self.header_unit(index)) {
            (Some(u), _) => (Some(u), "given"),
            (None, Some(u)) => (Some(u), "from header"),
            (None, None) => (None, "assumed"),
        };
        let (factor, note) = match unit {
            Some(u) if u.quantity != want => {
                return Err(Error::invalid(
                    "column",
                    format!(
                        "{}: column `{name}` is in {u}, not {} (in {}); choose another column or give its unit",
                        self.path,
                        want.noun(),
                        want.canonical()
                    ),
                ))
            }
            Some(u) => (u.factor, format!("`{name}` in {u} ({how})")),
            None => (1.0, format!("`{name}` in {} ({how})", want.canonical())),
        };
        Ok((
            self.columns[index].iter().map(|v| v * factor).collect(),
            note,
        ))
    }
}

/// How to pick and convert one axis of a trace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AxisSpec {
    /// The column; automatic when `None` (see [`DataFile::resolve`]).
    pub column: Option<ColumnSel>,
    /// The unit the column is written in; from the header (or canonical) when `None`.
    pub unit: Option<Unit>,
}

/// A trace read from a file, with a record of how its columns were chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The file's name.
    pub file: String,
    /// x in the canonical unit of its quantity, y likewise.
    pub trace: Trace,
    /// How x was read, e.g. "`Voltage (V)` in V (from header)".
    pub x_note: String,
    /// How y was read.
    pub y_note: String,
    /// The file's comment lines.
    pub comments: Vec<String>,
}

/// Read `path` and pick x (quantity `xq`) and y (quantity `yq`) columns, converted to mV/nA/Oe/s.
pub fn read_trace(
    path: &Path,
    xq: Quantity,
    x: &AxisSpec,
    yq: Quantity,
    y: &AxisSpec,
) -> Result<Loaded> {
    let df = DataFile::read(path)?;
    df.trace(xq, x, yq, y)
}

impl DataFile {
    /// Pick and convert an x and a y column (see [`read_trace`]).
    pub fn trace(&self, xq: Quantity, x: &AxisSpec, yq: Quantity, y: &AxisSpec) -> Result<Loaded> {
        let missing = |what: Quantity| {
            Error::invalid(
                "column",
                format!(
                    "{}: cannot find a column for {} among {:?}; choose one by name or index",
                    self.path,
                    what.noun(),
                    self.names
                ),
            )
        };
        let xi = self
            .resolve(x.column.as_ref(), xq, &[])?
            .ok_or_else(|| missing(xq))?;
        let yi = self
            .resolve(y.column.as_ref(), yq, &[xi])?
            .ok_or_else(|| missing(yq))?;
        if xi == yi {
            return Err(Error::invalid(
                "column",
                format!(
                    "{}: x and y are the same column `{}`",
                    self.path, self.names[xi]
                ),
            ));
        }
        let (xv, x_note) = self.values(xi, xq, x.unit)?;
        let (yv, mut y_note) = self.values(yi, yq, y.unit)?;
        let keep: Vec<usize> = (0..xv.len())
            .filter(|&k| !xv[k].is_nan() && !yv[k].is_nan())
            .collect();
        if keep.len() < xv.len() {
            y_note += &format!(
                "; {} row(s) with a missing value skipped",
                xv.len() - keep.len()
            );
        }
        let xv = keep.iter().map(|&k| xv[k]).collect();
        let yv = keep.iter().map(|&k| yv[k]).collect();
        Ok(Loaded {
            file: self.path.clone(),
            trace: Trace::new(xv, yv)?,
            x_note,
            y_note,
            comments: self.comments.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BENCH: &str =
        "# bench export\n# sample=MTJ T=295 K\nTime (s),Voltage (V),Current (A),Field (Oe)\n\
                         0.0,0.0,-8.0e-10,-2000\n0.8,1.0e-4,-7.0e-10,-2000\n";
    const DAT: &str = "% synthetic\n% V[mV]\tI[nA]\n 0.0000\t-0.05\n 0.1000\t 0.007\n";
    const TSV: &str = "# loop\nH_Oe\tI_nA\n-2000.0\t-0.019\n-1980.0\t-0.020\n";

    #[test]
    fn bench_csv_in_si_units_is_converted() {
        let df = DataFile::parse(BENCH, "bench.csv").unwrap();
        assert!(df.has_header);
        assert_eq!(df.delimiter, Delimiter::Comma);
        assert_eq!(df.line_numbers, vec![4, 5]);
        let l = df
            .trace(
                Quantity::Voltage,
                &AxisSpec::default(),
                Quantity::Current,
                &AxisSpec::default(),
            )
            .unwrap();
        assert_eq!(l.trace.x, vec![0.0, 0.1]);
        assert!((l.trace.y[0] + 0.8).abs() < 1e-12);
        assert!(l.x_note.contains("Voltage (V)"), "{}", l.x_note);
    }

    #[test]
    fn commented_header_and_whitespace() {
        let df = DataFile::parse(DAT, "x.dat").unwrap();
        assert!(df.has_header);
        assert_eq!(df.names, vec!["V[mV]", "I[nA]"]);
        assert_eq!(df.header_unit(1).unwrap().symbol, "nA");
        // Spaces instead of tabs in the commented header.
        let df = DataFile::parse("% V[uV] I[pA]\n1 2\n3 4\n", "y.dat").unwrap();
        let l = df
            .trace(
                Quantity::Voltage,
                &AxisSpec::default(),
                Quantity::Current,
                &AxisSpec::default(),
            )
            .unwrap();
        assert_eq!(l.trace.x, vec![1e-3, 3e-3]);
        assert_eq!(l.trace.y, vec![2e-3, 4e-3]);
    }

    #[test]
    fn tsv_field_loop_and_explicit_columns() {
        let df = DataFile::parse(TSV, "loop.tsv").unwrap();
        let l = df
            .trace(
                Quantity::Field,
                &AxisSpec::default(),
                Quantity::Current,
                &AxisSpec::default(),
            )
            .unwrap();
        assert_eq!(l.trace.x, vec![-2000.0, -1980.0]);
        // By index with an explicit unit: the field column read as mT.
        let x = AxisSpec {
            column: Some("0".parse().unwrap()),
            unit: Some("mT".parse().unwrap()),
        };
        let y = AxisSpec {
            column: Some("i_na".parse().unwrap()),
            unit: None,
        };
        let l = df
            .trace(Quantity::Field, &x, Quantity::Current, &y)
            .unwrap();
        assert_eq!(l.trace.x, vec![-20000.0, -19800.0]);
        // A unit of the wrong kind is refused.
        let bad = AxisSpec {
            column: None,
            unit: Some("mV".parse().unwrap()),
        };
        assert!(df
            .trace(
                Quantity::Field,
                &bad,
                Quantity::Current,
                &AxisSpec::default()
            )
            .is_err());
    }

    #[test]
    fn no_header_and_semicolon_decimal_comma() {
        let df = DataFile::parse("1 2\n3 4\n", "plain.txt").unwrap();
        assert!(!df.has_header);
        let l = df
            .trace(
                Quantity::Voltage,
                &AxisSpec::default(),
                Quantity::Current,
                &AxisSpec::default(),
            )
            .unwrap();
        assert_eq!(l.trace.y, vec![2.0, 4.0]);
        assert!(l.y_note.contains("assumed"));
        let df = DataFile::parse("U (mV);I (nA)\n1,5;2,25\n", "eu.csv").unwrap();
        assert_eq!(df.columns, vec![vec![1.5], vec![2.25]]);
    }

    #[test]
    fn malformed_lines_name_file_line_and_expectation() {
        let text = "# c\nTime (s),Voltage (V),Current (A),Field (Oe)\n0,0,0,0\n1,abc,0,0\n";
        let e = DataFile::parse(text, "bad.csv").unwrap_err();
        match &e {
            Error::Data {
                file,
                line,
                message,
            } => {
                assert_eq!(file, "bad.csv");
                assert_eq!(*line, 4);
                assert!(message.contains("expected 4 numeric columns"), "{message}");
                assert!(message.contains("'abc' in column 2"), "{message}");
                assert!(message.contains("Voltage (V)"), "{message}");
            }
            other => panic!("wrong error {other:?}"),
        }
        assert!(e.to_string().starts_with("bad.csv:4: "));
        let e = DataFile::parse("1 2\n3\n", "short.dat").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("short.dat:2: expected 2 numeric columns, found 1 field"),
            "{e}"
        );
        let e = DataFile::parse("# only comments\n", "empty.dat").unwrap_err();
        assert!(e.to_string().contains("no data lines"));
        let e = DataFile::parse("1 2\n1 inf\n", "inf.dat").unwrap_err();
        assert!(e.to_string().contains("'inf'"), "{e}");
    }

    #[test]
    fn header_spaces_units_row_and_mismatch() {
        // Names with single spaces separated by two blanks; data separated by blanks.
        let df = DataFile::parse("Voltage (mV)  Current (nA)\n1 2\n", "a.txt").unwrap();
        assert_eq!(df.names, vec!["Voltage (mV)", "Current (nA)"]);
        // A units row under the names.
        let df = DataFile::parse("Bias\tCurrent\nV\tuA\n0.001\t2\n", "b.tsv").unwrap();
        let l = df
            .trace(
                Quantity::Voltage,
                &AxisSpec::default(),
                Quantity::Current,
                &AxisSpec::default(),
            )
            .unwrap();
        assert_eq!(l.trace.x, vec![1.0]);
        assert_eq!(l.trace.y, vec![2000.0]);
        // A header with the wrong number of names is reported on its own line.
        let e = DataFile::parse("# c\nV,I,H\n1,2\n", "c.csv").unwrap_err();
        assert!(e.to_string().starts_with("c.csv:2: the header"), "{e}");
        // A free-text comment is not taken for a header.
        let df = DataFile::parse("% measured on Monday\n1 2\n", "d.dat").unwrap();
        assert!(!df.has_header);
    }

    #[test]
    fn missing_values_and_text_columns() {
        // spinpath's own tables: empty cells for undefined values, text flag columns.
        let text =
            "bias_mV,current_nA,tmr_percent,ap_near_zero\n0,1,,true\n1,2,5,false\n2,NaN,7,false\n";
        let df = DataFile::parse(text, "tmr.csv").unwrap();
        assert!(df.text_columns[3].is_some());
        assert!(df.columns[2][0].is_nan());
        let l = df
            .trace(
                Quantity::Voltage,
                &AxisSpec::default(),
                Quantity::Current,
                &AxisSpec::default(),
            )
            .unwrap();
        assert_eq!(l.trace.x, vec![0.0, 1.0]);
        assert!(l.y_note.contains("1 row(s) with a missing value skipped"));
        let e = df
            .values(3, Quantity::Current, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("tmr.csv:2: column `ap_near_zero` holds text"),
            "{e}"
        );
        // Text later in a numeric column is a malformed line.
        let e = DataFile::parse("a,b\n1,2\n3,x\n", "m.csv").unwrap_err();
        assert!(e
            .to_string()
            .starts_with("m.csv:3: expected 2 numeric columns, found 'x'"));
    }

    #[test]
    fn units_from_names() {
        let sym = |n: &str| Unit::from_column_name(n).map(|u| u.symbol);
        assert_eq!(sym("Voltage (V)"), Some("V"));
        assert_eq!(sym("V[mV]"), Some("mV"));
        assert_eq!(sym("I_nA"), Some("nA"));
        assert_eq!(sym("B/T"), Some("T"));
        assert_eq!(sym("Current (uA)"), Some("µA"));
        assert_eq!(sym("H in kOe"), Some("kOe"));
        assert_eq!(sym("didv_nA_per_mV"), None);
        assert_eq!(sym("index"), None);
    }
}
