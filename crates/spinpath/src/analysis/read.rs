//! Reading measurement files as instruments and lab software write them, and saying what was read.
//!
//! - Encodings: UTF-8 (with or without byte-order mark), UTF-16 (with a byte-order mark, or
//!   recognised from its zero bytes) and, when the bytes are not UTF-8, Windows-1252/Latin-1
//!   (decoded with `encoding_rs`). The encoding used is reported.
//! - Comment lines start with `#`, `%` or `//` and are kept in [`DataFile::comments`].
//! - The data block is found, not assumed: the delimiter (`,`, `;`, tab or blanks) and the decimal
//!   separator (`.` or `,`) are those under which the longest run of consecutive numeric rows parses.
//!   Lines before it — an instrument's metadata (Keithley, LabVIEW `.lvm` headers up to
//!   `***End_of_Header***`, Quantum Design `.dat` `[Header]` blocks up to `[Data]`) — are the
//!   preamble: skipped, counted and searched for units. The header is the last line of the preamble
//!   when it gives one name per column (or the last comment line, `% V[mV]  I[nA]`); a line of units
//!   under it (`V  A`) is appended to the names. A trailing delimiter on every line is ignored.
//! - Units come from the column name (`Voltage (V)`, `V[mV]`, `I_nA`, `H (kA/m)`, `I (1e-6 A)`), a
//!   units row, a `units:`/`Y_Unit_Label` line, or a comment that names the column (`# bias in mV`),
//!   in that order, and the source is recorded. Every SI prefix from f to M is known; fields in Oe,
//!   G, T and A/m. A column without a unit is never assumed to be in mV or nA: reading it is an
//!   error that says how to give the unit.
//! - Values: an empty cell, `NaN`, `NA` or `n/a` is a missing value (NaN); an instrument overflow
//!   (`9.91E+37`, |v| ≥ 9.9e37) or `±inf` is kept as ±∞ in [`DataFile::columns`] and such rows are
//!   dropped, with a count, when a trace is taken.
//! - A malformed line inside the data is an [`Error::Data`] naming the file, the 1-based line and
//!   what was expected.

use crate::error::{Error, Result};
use serde::Serialize;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use super::Trace;

/// The physical quantity of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

    fn flag(self, axis: &str) -> String {
        let eg = match self {
            Quantity::Voltage => "mV",
            Quantity::Current => "nA",
            Quantity::Field => "Oe",
            Quantity::Time => "s",
        };
        format!("--{axis}-unit (e.g. --{axis}-unit {eg})")
    }
}

/// A unit: its symbol, quantity, scale and factor to the canonical unit
/// (value_canonical = value × factor).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    /// Symbol (`V`, `µA`, `kA/m`, ...), without the scale.
    pub symbol: &'static str,
    /// What it measures.
    pub quantity: Quantity,
    /// Multiply by this to get mV, nA, Oe or s (includes `scale`).
    pub factor: f64,
    /// A number written before the symbol (`1e-6 A`: values are in units of 1e-6 A); 1 otherwise.
    pub scale: f64,
}

/// Known symbols: (symbol, quantity, factor to the canonical unit). µ is written `µ`; `u` and `μ`
/// are accepted for it.
const SYMBOLS: &[(&str, Quantity, f64)] = &[
    ("nV", Quantity::Voltage, 1e-6),
    ("µV", Quantity::Voltage, 1e-3),
    ("mV", Quantity::Voltage, 1.0),
    ("V", Quantity::Voltage, 1e3),
    ("kV", Quantity::Voltage, 1e6),
    ("aA", Quantity::Current, 1e-9),
    ("fA", Quantity::Current, 1e-6),
    ("pA", Quantity::Current, 1e-3),
    ("nA", Quantity::Current, 1.0),
    ("µA", Quantity::Current, 1e3),
    ("mA", Quantity::Current, 1e6),
    ("A", Quantity::Current, 1e9),
    ("kA", Quantity::Current, 1e12),
    ("mOe", Quantity::Field, 1e-3),
    ("Oe", Quantity::Field, 1.0),
    ("kOe", Quantity::Field, 1e3),
    ("G", Quantity::Field, 1.0),
    ("kG", Quantity::Field, 1e3),
    ("nT", Quantity::Field, 1e-5),
    ("µT", Quantity::Field, 1e-2),
    ("mT", Quantity::Field, 10.0),
    ("T", Quantity::Field, 1e4),
    // H in A/m: 1 A/m = 4π·10⁻³ Oe.
    ("A/m", Quantity::Field, 4e-3 * std::f64::consts::PI),
    ("kA/m", Quantity::Field, 4.0 * std::f64::consts::PI),
    ("MA/m", Quantity::Field, 4e3 * std::f64::consts::PI),
    ("ns", Quantity::Time, 1e-9),
    ("µs", Quantity::Time, 1e-6),
    ("ms", Quantity::Time, 1e-3),
    ("s", Quantity::Time, 1.0),
    ("min", Quantity::Time, 60.0),
];

/// Spelled-out names of the base units (any case), with an optional SI prefix word.
const WORDS: &[(&str, &str)] = &[
    ("volt", "V"),
    ("volts", "V"),
    ("millivolt", "mV"),
    ("millivolts", "mV"),
    ("microvolt", "µV"),
    ("microvolts", "µV"),
    ("amp", "A"),
    ("amps", "A"),
    ("ampere", "A"),
    ("amperes", "A"),
    ("nanoampere", "nA"),
    ("nanoamperes", "nA"),
    ("microampere", "µA"),
    ("microamperes", "µA"),
    ("picoampere", "pA"),
    ("picoamperes", "pA"),
    ("milliampere", "mA"),
    ("milliamperes", "mA"),
    ("oersted", "Oe"),
    ("gauss", "G"),
    ("tesla", "T"),
    ("sec", "s"),
    ("secs", "s"),
    ("second", "s"),
    ("seconds", "s"),
];

/// Units of other quantities that mark a column as not a candidate (temperature, resistance, ...).
fn is_other_unit(s: &str) -> bool {
    let t = s.trim().to_lowercase();
    [
        "k", "°c", "c", "ohm", "ohms", "ω", "kohm", "mohm", "Ω", "%", "deg", "°", "hz", "khz",
        "s/m", "w", "mw", "µw", "nw", "j", "counts", "a.u.", "au", "arb", "rad", "f", "pf", "nf",
        "h", "torr", "mbar", "pa·s",
    ]
    .contains(&t.as_str())
        || t.contains("ohm")
        || t.contains('Ω')
        || t.contains("/v")
        || t.contains("per")
}

fn lookup(sym: &str) -> Option<(&'static str, Quantity, f64)> {
    SYMBOLS.iter().find(|(s, ..)| *s == sym).copied()
}

/// Split a leading scale off a unit string: `1e-6 A`, `x1e-6 A`, `×10^-6 A`, `10^3 Oe`, `1E-9A`.
fn split_scale(s: &str) -> (f64, &str) {
    let t = s
        .trim()
        .trim_start_matches(['x', 'X', '×', '*'])
        .trim_start();
    if !t.starts_with(|c: char| c.is_ascii_digit()) {
        return (1.0, s.trim());
    }
    // `10^-6` / `10^(-6)`
    if let Some(rest) = t.strip_prefix("10^") {
        let rest = rest.trim_start_matches('(');
        let end = rest
            .char_indices()
            .find(|(i, c)| !(c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+'))))
            .map_or(rest.len(), |(i, _)| i);
        if let Ok(e) = rest[..end].parse::<i32>() {
            return (
                10f64.powi(e),
                rest[end..]
                    .trim_start_matches(')')
                    .trim_start_matches(['*', '·'])
                    .trim(),
            );
        }
        return (1.0, s.trim());
    }
    // A float literal, then the symbol.
    let bytes: Vec<char> = t.chars().collect();
    let mut end = 0;
    let mut seen_e = false;
    while end < bytes.len() {
        let c = bytes[end];
        let ok = c.is_ascii_digit()
            || c == '.'
            || ((c == 'e' || c == 'E')
                && !seen_e
                && bytes
                    .get(end + 1)
                    .is_some_and(|n| n.is_ascii_digit() || *n == '-' || *n == '+'))
            || ((c == '-' || c == '+') && end > 0 && matches!(bytes[end - 1], 'e' | 'E'));
        if !ok {
            break;
        }
        if c == 'e' || c == 'E' {
            seen_e = true;
        }
        end += 1;
    }
    let num: String = bytes[..end].iter().collect();
    let rest: String = bytes[end..].iter().collect();
    match num.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() && !rest.trim().is_empty() => {
            let byte_end = t.len() - rest.len();
            (v, t[byte_end..].trim_start_matches(['*', '·']).trim())
        }
        _ => (1.0, s.trim()),
    }
}

impl Unit {
    /// Parse a unit: a symbol with any SI prefix from a (atto) to M (mega) that makes sense for it
    /// (`V`, `mV`, `µV`/`uV`, `kV`; `fA` … `A`; `Oe`, `kOe`, `G`, `T`, `mT`, `A/m`, `kA/m`; `s`,
    /// `ms`, `µs`), a spelled-out name (`volts`, `amps`, `tesla`), or either preceded by a scale
    /// (`1e-6 A`, `x1e-3 V`, `10^-9 A`). Exact case first; a case-insensitive match is accepted when
    /// it is unique (`MV` is read as mV, `UA` as µA).
    pub fn parse(s: &str) -> Option<Unit> {
        let s = s.trim().trim_matches(['(', ')', '[', ']', '{', '}']).trim();
        if s.is_empty() {
            return None;
        }
        let (scale, sym) = split_scale(s);
        let sym = sym
            .trim_matches(['(', ')', '[', ']'])
            .trim()
            .replace(['μ', 'u'], "µ")
            .replace("µµ", "µ");
        // `u` → `µ` must not break words such as `amps`.
        let word = sym.to_lowercase().replace('µ', "u");
        let found = lookup(&sym)
            .or_else(|| {
                WORDS
                    .iter()
                    .find(|(w, _)| *w == word)
                    .and_then(|(_, s)| lookup(s))
            })
            .or_else(|| {
                let low = sym.to_lowercase().replace('µ', "u");
                let hits: Vec<_> = SYMBOLS
                    .iter()
                    .filter(|(s, ..)| s.to_lowercase().replace('µ', "u") == low)
                    .collect();
                match hits.as_slice() {
                    [one] => Some(**one),
                    // `ma` → mA (not MA), `mv` → mV: a lowercase m is milli.
                    many if !many.is_empty() => many
                        .iter()
                        .find(|(s, ..)| s.starts_with('m') || s.starts_with('µ'))
                        .map(|h| **h),
                    _ => None,
                }
            })?;
        Some(Unit {
            symbol: found.0,
            quantity: found.1,
            factor: found.2 * scale,
            scale,
        })
    }

    /// The unit a column name carries, if any: `Voltage (V)`, `V[mV]`, `I_nA`, `B/T`, `H in Oe`,
    /// `H (kA/m)`, `I (1e-6 A)`. Names with a compound unit (`didv_nA_per_mV`, `dI/dV (nA/mV)`)
    /// carry none.
    pub fn from_column_name(name: &str) -> Option<Unit> {
        match name_unit(name) {
            NameUnit::Known(u) => Some(u),
            _ => None,
        }
    }
}

/// What a column name says about its unit.
#[derive(Debug, Clone, Copy, PartialEq)]
enum NameUnit {
    /// A unit we convert.
    Known(Unit),
    /// A unit of something else (K, Ohm, %, a compound unit): not a candidate column.
    Other,
    /// No unit in the name.
    None,
}

fn name_unit(name: &str) -> NameUnit {
    let n = name.trim();
    let low = n.to_lowercase();
    if low.contains("_per_") || (n.contains("/mV") && !n.contains("A/m")) || low.contains("/v)") {
        return NameUnit::Other;
    }
    for (open, close) in [('(', ')'), ('[', ']'), ('{', '}')] {
        if let (Some(a), Some(b)) = (n.rfind(open), n.rfind(close)) {
            if a < b {
                let inner = &n[a + 1..b];
                return match Unit::parse(inner) {
                    Some(u) => NameUnit::Known(u),
                    None if is_other_unit(inner) || !inner.trim().is_empty() => NameUnit::Other,
                    None => NameUnit::None,
                };
            }
        }
    }
    if let Some(i) = low.rfind(" in ") {
        if let Some(u) = Unit::parse(&n[i + 4..]) {
            return NameUnit::Known(u);
        }
    }
    // `H_kA/m`, `I_nA`, `B/T`: the part after the last `_` (or `/` when there is no `_`).
    if let Some(i) = n.rfind('_') {
        let tail = &n[i + 1..];
        return match Unit::parse(tail) {
            Some(u) => NameUnit::Known(u),
            None if is_other_unit(tail) => NameUnit::Other,
            None => NameUnit::None,
        };
    }
    if let Some(i) = n.find('/') {
        if let Some(u) = Unit::parse(&n[i + 1..]) {
            return NameUnit::Known(u);
        }
    }
    NameUnit::None
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scale != 1.0 {
            write!(f, "{:e} {}", self.scale, self.symbol)
        } else {
            f.write_str(self.symbol)
        }
    }
}

impl FromStr for Unit {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Unit::parse(s).ok_or_else(|| {
            format!(
                "unknown unit `{s}` (known: V, A, Oe, G, T, A/m, s with SI prefixes f…k, e.g. mV, \
                 uV, nA, pA, fA, mT, kOe, kA/m, ms; or a scaled unit such as `1e-6 A`)"
            )
        })
    }
}

/// A bias in mV written in a file name: `ih_loop_1mV.tsv`, `loop_-0.5mV.dat`, `loop_0p8mV` (p for
/// the decimal point), `loop_m0p5mV` or `neg0p5mV` (negative), `500uV`, `0.001V`. `None` when the
/// name holds no such value, or holds several different ones.
pub fn bias_from_name(name: &str) -> Option<f64> {
    let chars: Vec<char> = name.chars().collect();
    let mut found: Vec<f64> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        // The end of a number followed by a voltage unit.
        let unit_len = ["mV", "uV", "µV", "V"].iter().find_map(|u| {
            let uc: Vec<char> = u.chars().collect();
            let matches = chars.len() >= i + uc.len()
                && chars[i..i + uc.len()]
                    .iter()
                    .zip(&uc)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b) || (a == b))
                && i > 0
                && chars[i - 1].is_ascii_digit()
                && chars
                    .get(i + uc.len())
                    .is_none_or(|c| !c.is_ascii_alphabetic());
            matches.then_some((uc.len(), *u))
        });
        if let Some((len, unit)) = unit_len {
            // Walk back over digits, `.`/`p` between digits, and a sign.
            let mut s = i;
            while s > 0 {
                let c = chars[s - 1];
                let between = s >= 2 && chars[s - 2].is_ascii_digit() && chars[s].is_ascii_digit();
                if c.is_ascii_digit() || ((c == '.' || c == 'p') && between) {
                    s -= 1;
                } else {
                    break;
                }
            }
            let mut text: String = chars[s..i]
                .iter()
                .map(|&c| if c == 'p' { '.' } else { c })
                .collect();
            let before: String = chars[..s].iter().collect::<String>().to_lowercase();
            let negative = before.ends_with('-')
                || before.ends_with("neg")
                || before.ends_with("minus")
                || ((before.ends_with('m') || before.ends_with('n'))
                    && (s < 2 || !chars[s - 2].is_ascii_alphanumeric()));
            if negative {
                text.insert(0, '-');
            }
            if let Ok(v) = text.parse::<f64>() {
                let f = match unit {
                    "mV" => 1.0,
                    "V" => 1e3,
                    _ => 1e-3,
                };
                found.push(v * f);
            }
            i += len;
        } else {
            i += 1;
        }
    }
    found.dedup();
    match found.as_slice() {
        [v] => Some(*v),
        _ => None,
    }
}

/// A bias in mV stated in comment or metadata lines: `bias = 0.8 mV`, `V = +1 mV`, `Vbias: 500 uV`.
/// Returns the value and the 1-based line. `None` when no line states one, or lines disagree.
pub fn bias_from_lines(lines: &[(usize, String)]) -> Option<(f64, usize)> {
    let mut found: Vec<(f64, usize)> = Vec::new();
    for (lineno, line) in lines {
        let low = line.to_lowercase();
        for key in ["bias", "v_bias", "vbias", "v_b", "vb", "v"] {
            let mut from = 0;
            while let Some(p) = low[from..].find(key) {
                let at = from + p;
                from = at + key.len();
                let before_ok = low[..at]
                    .chars()
                    .last()
                    .is_none_or(|c| !c.is_alphanumeric() && c != '_');
                if !before_ok {
                    continue;
                }
                let rest = low[at + key.len()..].trim_start();
                let Some(rest) = rest.strip_prefix(['=', ':']) else {
                    continue;
                };
                let rest = rest.trim_start();
                let end = rest
                    .char_indices()
                    .find(|(_, c)| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e')))
                    .map_or(rest.len(), |(i, _)| i);
                let Ok(v) = rest[..end].trim_end_matches('e').parse::<f64>() else {
                    continue;
                };
                let unit_text: String = line[line.len() - rest.len() + end..]
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_alphabetic())
                    .collect();
                if let Some(u) = Unit::parse(&unit_text) {
                    if u.quantity == Quantity::Voltage {
                        found.push((v * u.factor, *lineno));
                    }
                }
            }
        }
    }
    let first = *found.first()?;
    found
        .iter()
        .all(|(v, _)| (v - first.0).abs() <= 1e-9 * first.0.abs().max(1e-12))
        .then_some(first)
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Delimiter {
    /// `,`
    Comma,
    /// `;`
    Semicolon,
    /// tab
    Tab,
    /// runs of blanks
    Whitespace,
}

impl Delimiter {
    fn name(self) -> &'static str {
        match self {
            Delimiter::Comma => "comma",
            Delimiter::Semicolon => "semicolon",
            Delimiter::Tab => "tab",
            Delimiter::Whitespace => "whitespace",
        }
    }

    /// Split a line into trimmed fields; `"…"` quotes protect delimiters.
    fn split(self, line: &str) -> Vec<String> {
        let clean = |f: &str| f.trim().trim_matches('"').trim().to_string();
        let sep = match self {
            Delimiter::Comma => ',',
            Delimiter::Semicolon => ';',
            Delimiter::Tab => '\t',
            Delimiter::Whitespace => return line.split_whitespace().map(clean).collect(),
        };
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        for c in line.chars() {
            if c == '"' {
                quoted = !quoted;
                cur.push(c);
            } else if c == sep && !quoted {
                out.push(clean(&cur));
                cur.clear();
            } else {
                cur.push(c);
            }
        }
        out.push(clean(&cur));
        out
    }
}

/// One way of reading the numbers of a file.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Setting {
    delimiter: Delimiter,
    decimal_comma: bool,
}

const SETTINGS: [Setting; 7] = [
    Setting {
        delimiter: Delimiter::Comma,
        decimal_comma: false,
    },
    Setting {
        delimiter: Delimiter::Tab,
        decimal_comma: false,
    },
    Setting {
        delimiter: Delimiter::Semicolon,
        decimal_comma: false,
    },
    Setting {
        delimiter: Delimiter::Whitespace,
        decimal_comma: false,
    },
    Setting {
        delimiter: Delimiter::Semicolon,
        decimal_comma: true,
    },
    Setting {
        delimiter: Delimiter::Tab,
        decimal_comma: true,
    },
    Setting {
        delimiter: Delimiter::Whitespace,
        decimal_comma: true,
    },
];

/// What one field holds.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Number(f64),
    /// ±inf or an instrument overflow value (|v| ≥ 9.9e37).
    Overflow(f64),
    Missing,
    Text,
}

/// Smallest magnitude taken for an instrument overflow reading (Keithley writes 9.91E+37).
pub const OVERFLOW: f64 = 9.9e37;

/// An explicitly missing value: an empty field, `nan`, `NA`, `n/a` (any case).
fn is_missing(field: &str) -> bool {
    let f = field.trim();
    f.is_empty()
        || f.eq_ignore_ascii_case("nan")
        || f.eq_ignore_ascii_case("na")
        || f.eq_ignore_ascii_case("n/a")
        || f.eq_ignore_ascii_case("-nan")
}

fn classify(field: &str, decimal_comma: bool) -> Field {
    if is_missing(field) {
        return Field::Missing;
    }
    let t = field.trim();
    let parsed = if decimal_comma {
        if t.contains('.') {
            None
        } else {
            t.replace(',', ".").parse::<f64>().ok()
        }
    } else {
        t.parse::<f64>().ok()
    };
    match parsed {
        Some(v) if v.is_nan() => Field::Missing,
        Some(v) if !v.is_finite() || v.abs() >= OVERFLOW => Field::Overflow(v),
        Some(v) => Field::Number(v),
        None => Field::Text,
    }
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

/// A section marker of instrument files: `[Header]`, `[Data]`, `***End_of_Header***`.
fn is_marker(line: &str) -> bool {
    let t = line.trim().trim_end_matches([',', '\t', ';']).trim();
    (t.starts_with('[') && t.ends_with(']')) || t.starts_with("***")
}

/// Split a header into exactly `n` non-empty names: with the data's delimiter, else on tabs or runs
/// of two or more blanks (names with single spaces, `Voltage (V)  Current (A)`), else on blanks.
fn split_header(line: &str, delimiter: Delimiter, n: usize) -> Option<Vec<String>> {
    let trim_tail = |mut v: Vec<String>| {
        while v.len() > n && v.last().is_some_and(|f| f.is_empty()) {
            v.pop();
        }
        v
    };
    let ok = |v: &Vec<String>| v.len() == n && v.iter().all(|f| !f.is_empty());
    let first = trim_tail(delimiter.split(line));
    if ok(&first) {
        return Some(first);
    }
    // A line that uses the data's `,` or `;` is split on it only.
    let sep = match delimiter {
        Delimiter::Comma => Some(','),
        Delimiter::Semicolon => Some(';'),
        _ => None,
    };
    if sep.is_some_and(|c| line.contains(c)) {
        return None;
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

/// Decode a file's bytes: UTF-8 (BOM optional), UTF-16 (BOM, or recognised by its zero bytes), else
/// Windows-1252. Returns the text and the encoding's name.
pub fn decode(bytes: &[u8]) -> (String, &'static str) {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom..]);
        return (text.into_owned(), enc.name());
    }
    // UTF-16 without a BOM: text in ASCII has a zero in every other byte.
    let n = bytes.len().min(4000) / 2 * 2;
    if n >= 4 {
        let zeros_odd = bytes[..n]
            .iter()
            .skip(1)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count();
        let zeros_even = bytes[..n].iter().step_by(2).filter(|&&b| b == 0).count();
        let half = n / 2;
        if zeros_odd * 10 > half * 6 && zeros_even * 10 < half {
            let (t, _) = encoding_rs::UTF_16LE.decode_without_bom_handling(bytes);
            return (t.into_owned(), "UTF-16LE");
        }
        if zeros_even * 10 > half * 6 && zeros_odd * 10 < half {
            let (t, _) = encoding_rs::UTF_16BE.decode_without_bom_handling(bytes);
            return (t.into_owned(), "UTF-16BE");
        }
    }
    match std::str::from_utf8(bytes) {
        Ok(t) => (t.to_string(), "UTF-8"),
        Err(_) => {
            let (t, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            (t.into_owned(), "windows-1252")
        }
    }
}

/// Where a column's unit was found.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnUnit {
    /// The unit.
    pub unit: Unit,
    /// `header`, `units row (line 4)`, `line 12` (a `units:`/`Y_Unit_Label` line), `comment line 2`.
    pub source: String,
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
    /// For a text column (its first value is not a number, e.g. `direction` or `state`), the line
    /// and value that made it text; `None` for numeric columns.
    pub text_columns: Vec<Option<(usize, String)>>,
    /// The detected delimiter.
    pub delimiter: Delimiter,
    /// Whether `,` is the decimal separator.
    pub decimal_comma: bool,
    /// Columns of raw numbers (as written in the file); NaN marks a missing value (an empty cell,
    /// `NaN`, `NA`) and fills text columns; ±∞ marks an overflow reading (±9.9e37 or more, `inf`).
    pub columns: Vec<Vec<f64>>,
    /// 1-based file line of each row.
    pub line_numbers: Vec<usize>,
    /// Comment lines without their marker.
    pub comments: Vec<String>,
    /// Comment lines with their 1-based line numbers.
    pub comment_lines: Vec<(usize, String)>,
    /// Non-comment lines before the data and its header (an instrument's metadata), with their
    /// 1-based line numbers.
    pub preamble: Vec<(usize, String)>,
    /// The header's 1-based line (`None` without a header).
    pub header_line: Option<usize>,
    /// The text encoding (`UTF-8`, `UTF-16LE`, `windows-1252`, ...).
    pub encoding: String,
    /// The layout recognised: `delimited text`, `LabVIEW .lvm`, `Quantum Design .dat`.
    pub format: String,
    /// A delimiter ended every line and was ignored.
    pub trailing_delimiter: bool,
    /// Units from a units row, a `units:` line or a comment, per column (the header's own unit is
    /// not repeated here).
    pub extra_units: Vec<Option<ColumnUnit>>,
    /// Notes on what was skipped (e.g. a second data block).
    pub parse_warnings: Vec<String>,
}

struct Line<'a> {
    no: usize,
    text: &'a str,
}

impl DataFile {
    /// Read and parse a file (any of the encodings of [`decode`]).
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let (text, enc) = decode(&bytes);
        let mut df = Self::parse(&text, &path.display().to_string())?;
        df.encoding = enc.to_string();
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if ext == "lvm" && df.format == "delimited text" {
            df.format = "LabVIEW .lvm".into();
        }
        Ok(df)
    }

    /// Parse file contents; `file` names the source in error messages.
    pub fn parse(text: &str, file: &str) -> Result<Self> {
        let data_err = |line: usize, message: String| Error::Data {
            file: file.to_string(),
            line,
            message,
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let raw_lines: Vec<&str> = if !text.contains('\n') && text.contains('\r') {
            text.split('\r').collect()
        } else {
            text.split('\n')
                .map(|l| l.strip_suffix('\r').unwrap_or(l))
                .collect()
        };
        let mut comment_lines = Vec::new();
        let mut content: Vec<Line> = Vec::new();
        for (i, raw) in raw_lines.iter().enumerate() {
            if raw.trim().trim_matches([',', ';', '\t']).trim().is_empty() {
                continue;
            }
            if let Some(body) = comment_body(raw) {
                comment_lines.push((i + 1, body.to_string()));
                continue;
            }
            content.push(Line {
                no: i + 1,
                text: raw,
            });
        }
        let no_data = || {
            data_err(
                raw_lines.len().max(1),
                "no data lines found (expected rows of numbers after optional comment lines \
                 starting with #, % or //, metadata lines and a header)"
                    .into(),
            )
        };
        // The setting under which the longest run of numeric rows parses.
        struct Run {
            setting: Setting,
            start: usize,
            end: usize,
            n: usize,
            text_fields: usize,
        }
        let mut best: Option<Run> = None;
        for setting in SETTINGS {
            let sig: Vec<Option<(usize, usize)>> = content
                .iter()
                .map(|l| {
                    if is_marker(l.text) {
                        return None;
                    }
                    let fields = setting.delimiter.split(l.text);
                    let kinds: Vec<Field> = fields
                        .iter()
                        .map(|f| classify(f, setting.decimal_comma))
                        .collect();
                    let num = kinds
                        .iter()
                        .filter(|k| matches!(k, Field::Number(_) | Field::Overflow(_)))
                        .count();
                    let txt = kinds.iter().filter(|k| **k == Field::Text).count();
                    (num >= 1 && num >= txt).then_some((fields.len(), txt))
                })
                .collect();
            let mut k = 0;
            while k < sig.len() {
                let Some((n, _)) = sig[k] else {
                    k += 1;
                    continue;
                };
                let mut e = k;
                let mut txt = 0;
                while e < sig.len() && sig[e].is_some_and(|s| s.0 == n) {
                    txt += sig[e].map_or(0, |s| s.1);
                    e += 1;
                }
                let better = match &best {
                    None => true,
                    Some(b) => {
                        let (len, blen) = (e - k, b.end - b.start);
                        len > blen
                            || (len == blen
                                && (txt < b.text_fields || (txt == b.text_fields && n > b.n)))
                    }
                };
                if better {
                    best = Some(Run {
                        setting,
                        start: k,
                        end: e,
                        n,
                        text_fields: txt,
                    });
                }
                k = e;
            }
        }
        let run = best.ok_or_else(no_data)?;
        let Setting {
            delimiter,
            decimal_comma,
        } = run.setting;
        let mut parse_warnings = Vec::new();
        // An interrupted data block: numeric rows of the same width just above the line before
        // the run.
        let mut numeric_before = 0;
        if run.start >= 2 {
            let mut k = run.start - 1;
            while k > 0 {
                k -= 1;
                let fields = delimiter.split(content[k].text);
                let all_num = fields.len() == run.n
                    && fields
                        .iter()
                        .all(|f| !matches!(classify(f, decimal_comma), Field::Text));
                if !all_num {
                    break;
                }
                numeric_before += 1;
            }
        }
        if numeric_before >= 2 {
            let bad = &content[run.start - 1];
            return Err(data_err(
                bad.no,
                format!(
                    "this line interrupts the data (rows of {} numbers before and after it): `{}`; \
                     fix or comment it out with #",
                    run.n,
                    bad.text.trim()
                ),
            ));
        }
        // The data region runs from the start of the run to the end of the file, except after a
        // section marker or a second header followed by another block.
        let mut end = content.len();
        if run.end < content.len() {
            let next = &content[run.end];
            let fields = delimiter.split(next.text);
            let no_numbers = fields
                .iter()
                .all(|f| matches!(classify(f, decimal_comma), Field::Text | Field::Missing));
            let footer = content.len() - run.end <= 2;
            if is_marker(next.text) || (no_numbers && (footer || fields.len() >= 2)) {
                parse_warnings.push(format!(
                    "the data block ends at line {}; lines {}–{} (another block or a footer) were not read",
                    content[run.end - 1].no,
                    next.no,
                    content[content.len() - 1].no
                ));
                end = run.end;
            }
        }
        // Header and units row: the last preamble lines.
        let preamble_all: Vec<&Line> = content[..run.start].iter().collect();
        let mut n = run.n;
        let all_trailing_empty = delimiter != Delimiter::Whitespace
            && content[run.start..run.end]
                .iter()
                .all(|l| delimiter.split(l.text).last().is_some_and(|f| f.is_empty()));
        let is_unit_row = |l: &str, n: usize| {
            split_header(l, delimiter, n)
                .is_some_and(|v| v.iter().all(|f| Unit::parse(f).is_some()))
        };
        let mut header: Option<(usize, Vec<String>)> = None;
        let mut units_row: Option<(usize, Vec<String>)> = None;
        let mut trailing_delimiter = false;
        let widths: Vec<usize> = if all_trailing_empty {
            vec![n, n - 1]
        } else {
            vec![n]
        };
        'outer: for &w in &widths {
            if w == 0 {
                continue;
            }
            let mut idx = preamble_all.len();
            let mut units: Option<(usize, Vec<String>)> = None;
            if idx > 0 && is_unit_row(preamble_all[idx - 1].text, w) {
                let l = preamble_all[idx - 1];
                units = split_header(l.text, delimiter, w).map(|v| (l.no, v));
                idx -= 1;
            }
            if idx > 0 {
                let l = preamble_all[idx - 1];
                if !is_marker(l.text) {
                    if let Some(names) = split_header(l.text, delimiter, w) {
                        if names
                            .iter()
                            .any(|f| matches!(classify(f, decimal_comma), Field::Text))
                        {
                            header = Some((l.no, names));
                            units_row = units;
                            trailing_delimiter = w < n;
                            break 'outer;
                        }
                    }
                }
            }
            // A units row alone, then the last comment line as header.
            if let Some((cl, c)) = comment_lines
                .iter()
                .rev()
                .find(|(no, _)| *no < content[run.start].no)
            {
                let after_preamble = preamble_all.last().is_none_or(|l| l.no < *cl);
                if after_preamble {
                    // `columns: bias (mV), current (pA)`: a key before a colon, names separated
                    // by the data's delimiter, commas or semicolons.
                    let body = match c.split_once(':') {
                        Some((key, rest))
                            if !key.contains(['(', '[', ',', '\t'])
                                && key.split_whitespace().count() == 1 =>
                        {
                            rest.trim()
                        }
                        _ => c.as_str(),
                    };
                    let names = split_header(body, delimiter, w).or_else(|| {
                        [Delimiter::Comma, Delimiter::Semicolon]
                            .iter()
                            .map(|d| d.split(body))
                            .find(|v| v.len() == w && v.iter().all(|f| !f.is_empty()))
                    });
                    if let Some(names) = names {
                        if names
                            .iter()
                            .any(|f| matches!(classify(f, decimal_comma), Field::Text))
                            && !names.iter().all(|f| Unit::parse(f).is_some())
                        {
                            header = Some((*cl, names));
                            units_row = units;
                            trailing_delimiter = w < n;
                            break 'outer;
                        }
                    }
                }
            }
        }
        if header.is_none() {
            if let Some(l) = preamble_all.last() {
                let fields = delimiter.split(l.text);
                let names = fields.iter().filter(|f| !f.is_empty()).count();
                if !is_marker(l.text)
                    && names >= 2
                    && names != n
                    && fields
                        .iter()
                        .all(|f| matches!(classify(f, decimal_comma), Field::Text | Field::Missing))
                {
                    return Err(data_err(
                        l.no,
                        format!(
                            "the header `{}` does not split into {n} column names, but the first \
                             data line (line {}) has {n} fields; expected one name per column",
                            l.text.trim(),
                            content[run.start].no
                        ),
                    ));
                }
            }
        }
        if header.is_none() && all_trailing_empty {
            trailing_delimiter = true;
        }
        if trailing_delimiter {
            n -= 1;
        }
        if n == 0 {
            return Err(no_data());
        }
        let header_no = header.as_ref().map(|h| h.0);
        let units_no = units_row.as_ref().map(|u| u.0);
        let preamble: Vec<(usize, String)> = preamble_all
            .iter()
            .filter(|l| Some(l.no) != header_no && Some(l.no) != units_no)
            .map(|l| (l.no, l.text.trim_end().to_string()))
            .collect();
        // The rows.
        let names_opt = header.as_ref().map(|h| h.1.clone());
        let name_of = |k: usize| match &names_opt {
            Some(h) => format!(" (`{}`)", h[k]),
            None => String::new(),
        };
        let mut columns: Vec<Vec<f64>> = vec![Vec::new(); n];
        let mut text_columns: Vec<Option<(usize, String)>> = vec![None; n];
        let mut decided = vec![false; n];
        let mut line_numbers = Vec::new();
        for l in &content[run.start..end] {
            if is_marker(l.text) {
                return Err(data_err(
                    l.no,
                    format!(
                        "unexpected section marker `{}` inside the data",
                        l.text.trim()
                    ),
                ));
            }
            let mut fields = delimiter.split(l.text);
            if trailing_delimiter && fields.len() == n + 1 && fields[n].is_empty() {
                fields.pop();
            }
            if fields.len() != n {
                return Err(data_err(
                    l.no,
                    format!(
                        "expected {n} numeric columns, found {} field{} in `{}`",
                        fields.len(),
                        if fields.len() == 1 { "" } else { "s" },
                        l.text.trim()
                    ),
                ));
            }
            for (k, f) in fields.iter().enumerate() {
                let kind = classify(f, decimal_comma);
                if !decided[k] && kind != Field::Missing {
                    decided[k] = true;
                    if kind == Field::Text && names_opt.is_some() {
                        text_columns[k] = Some((l.no, f.clone()));
                    }
                }
                if text_columns[k].is_some() {
                    columns[k].push(f64::NAN);
                    continue;
                }
                match kind {
                    Field::Number(v) => columns[k].push(v),
                    Field::Overflow(v) => columns[k].push(if v < 0.0 {
                        f64::NEG_INFINITY
                    } else {
                        f64::INFINITY
                    }),
                    Field::Missing => columns[k].push(f64::NAN),
                    Field::Text => {
                        let n_numeric = text_columns.iter().filter(|t| t.is_none()).count();
                        return Err(data_err(
                            l.no,
                            format!(
                                "expected {n_numeric} numeric columns, found '{f}' in column {}{} \
                                 (0-based index {k}); a finite number (or an empty cell / NaN for a \
                                 missing value) was expected",
                                k + 1,
                                name_of(k)
                            ),
                        ));
                    }
                }
            }
            line_numbers.push(l.no);
        }
        let has_header = header.is_some();
        let mut names = names_opt
            .clone()
            .unwrap_or_else(|| (0..n).map(|k| format!("column {k}")).collect());
        let mut extra_units: Vec<Option<ColumnUnit>> = vec![None; n];
        if let Some((no, u)) = &units_row {
            for (k, s) in u.iter().enumerate() {
                if let Some(unit) = Unit::parse(s) {
                    if name_unit(&names[k]) == NameUnit::None {
                        extra_units[k] = Some(ColumnUnit {
                            unit,
                            source: format!("units row (line {no})"),
                        });
                    }
                }
            }
            for (name, s) in names.iter_mut().zip(u) {
                if name_unit(name) == NameUnit::None {
                    *name = format!("{name} ({})", s.trim_matches(['(', ')', '[', ']']));
                }
            }
        }
        let format = if preamble
            .iter()
            .any(|(_, l)| l.contains("***End_of_Header***") || l.starts_with("LabVIEW"))
        {
            "LabVIEW .lvm"
        } else if preamble.iter().any(|(_, l)| l.trim().starts_with("[Data]"))
            && preamble
                .iter()
                .any(|(_, l)| l.trim().starts_with("[Header]"))
        {
            "Quantum Design .dat"
        } else {
            "delimited text"
        };
        let mut df = DataFile {
            path: file.to_string(),
            names,
            has_header,
            text_columns,
            delimiter,
            decimal_comma,
            columns,
            line_numbers,
            comments: comment_lines.iter().map(|c| c.1.clone()).collect(),
            comment_lines,
            preamble,
            header_line: header_no,
            encoding: "UTF-8".into(),
            format: format.into(),
            trailing_delimiter,
            extra_units,
            parse_warnings,
        };
        df.find_units_in_text();
        Ok(df)
    }

    /// Units for columns whose name has none, from `units:`/`Y_Unit_Label` lines and from comment
    /// or metadata lines that name the column (`# bias in mV`, `Current: pA`).
    fn find_units_in_text(&mut self) {
        let n = self.names.len();
        let mut lines: Vec<(usize, String, bool)> = self
            .comment_lines
            .iter()
            .map(|(l, s)| (*l, s.clone(), true))
            .collect();
        lines.extend(self.preamble.iter().map(|(l, s)| (*l, s.clone(), false)));
        let needs: Vec<bool> = (0..n)
            .map(|k| self.text_columns[k].is_none() && name_unit(&self.names[k]) == NameUnit::None)
            .collect();
        if !needs.iter().any(|b| *b) {
            return;
        }
        // 1. A units line: `units: V, A`, `Y_Unit_Label  V  A`, or a comment of units only.
        for (no, line, is_comment) in &lines {
            let low = line.trim().to_lowercase();
            let (keyed, rest) = ["y_unit_label", "units", "unit"]
                .iter()
                .find_map(|k| {
                    low.strip_prefix(k).map(|r| {
                        let off = line.trim().len() - r.len();
                        (
                            true,
                            line.trim()[off..].trim_start_matches([':', '=', ' ', '\t']),
                        )
                    })
                })
                .unwrap_or((false, line.trim()));
            if !keyed && !is_comment {
                continue;
            }
            let toks: Vec<&str> = rest
                .split([',', ';', '\t', ' '])
                .map(|t| t.trim())
                .filter(|t| !t.is_empty())
                .collect();
            if toks.is_empty() || !toks.iter().all(|t| Unit::parse(t).is_some()) {
                continue;
            }
            let units: Vec<Unit> = toks.iter().filter_map(|t| Unit::parse(t)).collect();
            // Positional over all columns, or over the channels (without X_Value and Comment).
            let targets: Vec<usize> = if units.len() == n {
                (0..n).collect()
            } else {
                let ch: Vec<usize> = (0..n)
                    .filter(|&k| {
                        let l = self.names[k].to_lowercase();
                        !(l.starts_with("x_value") || l == "comment")
                    })
                    .collect();
                if ch.len() == units.len() {
                    ch
                } else {
                    continue;
                }
            };
            let what = if *is_comment { "comment line" } else { "line" };
            for (u, &k) in units.iter().zip(&targets) {
                if needs[k] && self.extra_units[k].is_none() {
                    self.extra_units[k] = Some(ColumnUnit {
                        unit: *u,
                        source: format!("{what} {no}"),
                    });
                }
            }
        }
        // 2. A line naming the column: `<name> in <unit>`, `<name> (<unit>)`, `<name>: <unit>`.
        if !self.has_header {
            return;
        }
        for k in 0..n {
            if !needs[k] || self.extra_units[k].is_some() {
                continue;
            }
            let name = self.names[k].trim().to_lowercase();
            if name.is_empty() {
                continue;
            }
            'lines: for (no, line, is_comment) in &lines {
                let low = line.to_lowercase();
                let mut from = 0;
                while let Some(p) = low[from..].find(&name) {
                    let at = from + p;
                    from = at + name.len();
                    let before_ok = low[..at]
                        .chars()
                        .last()
                        .is_none_or(|c| !c.is_alphanumeric() && c != '_');
                    let after = &low[at + name.len()..];
                    if !before_ok || after.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    let mut rest = after.trim_start();
                    for sep in ["in units of", "in", "unit", ":", "=", "/", "_"] {
                        if let Some(r) = rest.strip_prefix(sep) {
                            if sep.chars().all(char::is_alphabetic)
                                && r.starts_with(|c: char| c.is_alphanumeric())
                            {
                                continue;
                            }
                            rest = r.trim_start();
                            break;
                        }
                    }
                    let tok: String = if rest.starts_with(['(', '[']) {
                        rest[1..].split([')', ']']).next().unwrap_or("").to_string()
                    } else {
                        rest.split([',', ';', ')', ']', '\t'])
                            .next()
                            .unwrap_or("")
                            .split_whitespace()
                            .take(2)
                            .collect::<Vec<_>>()
                            .join(" ")
                    };
                    // `1e-6 A` is two words; a plain unit is one.
                    let unit = Unit::parse(&tok)
                        .or_else(|| tok.split_whitespace().next().and_then(Unit::parse));
                    if let Some(u) = unit {
                        let what = if *is_comment { "comment line" } else { "line" };
                        self.extra_units[k] = Some(ColumnUnit {
                            unit: u,
                            source: format!("{what} {no}"),
                        });
                        break 'lines;
                    }
                }
            }
        }
    }

    /// Number of data rows.
    pub fn n_rows(&self) -> usize {
        self.line_numbers.len()
    }

    /// The 0-based index of a selected column.
    pub fn index_of(&self, sel: &ColumnSel) -> Result<usize> {
        let available = || self.available();
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

    fn available(&self) -> String {
        self.names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{i}: `{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The unit of a column and where it was found: its name, a units row, a `units:` line or a
    /// comment naming the column.
    pub fn column_unit(&self, index: usize) -> Option<ColumnUnit> {
        if let Some(u) = self.extra_units.get(index).and_then(Clone::clone) {
            return Some(u);
        }
        if !self.has_header {
            return None;
        }
        match name_unit(self.names.get(index)?) {
            NameUnit::Known(unit) => Some(ColumnUnit {
                unit,
                source: match self.header_line {
                    Some(l) => format!("header (line {l})"),
                    None => "header".into(),
                },
            }),
            _ => None,
        }
    }

    /// The unit a column carries (see [`DataFile::column_unit`]), if any.
    pub fn header_unit(&self, index: usize) -> Option<Unit> {
        self.column_unit(index).map(|c| c.unit)
    }

    /// The name says the column holds a unit of something else (K, Ohm, %).
    fn other_unit(&self, index: usize) -> bool {
        self.has_header
            && self.column_unit(index).is_none()
            && name_unit(&self.names[index]) == NameUnit::Other
    }

    /// The name marks a setting or an uncertainty rather than the reading (`Compliance (A)`,
    /// `I_limit`, `Range`, `sigma_nA`, `I_set`, `Current std`).
    fn is_auxiliary(&self, index: usize) -> bool {
        if !self.has_header {
            return false;
        }
        let n = self.names[index].to_lowercase();
        let words: Vec<&str> = n
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        [
            "compliance",
            "limit",
            "range",
            "setpoint",
            "sigma",
            "std",
            "stdev",
            "stderr",
            "err",
            "error",
            "uncertainty",
            "nplc",
            "protection",
            "max",
            "min",
        ]
        .iter()
        .any(|k| words.contains(k) || n.starts_with(k))
            || n.contains("compliance")
            || n.contains("sigma")
    }

    /// The column is constant (all finite values equal) — a setting, not a reading.
    fn is_constant(&self, index: usize) -> bool {
        let v: Vec<f64> = self.columns[index]
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        v.len() >= 3 && v.iter().all(|x| *x == v[0])
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
                word_start("volt")
                    || word_start("bias")
                    || word_start("u_")
                    || (first == 'v' && !word_start("val"))
            }
            Quantity::Current => word_start("curr") || (first == 'i' && !word_start("index")),
            Quantity::Field => {
                word_start("field") || word_start("mag") || first == 'h' || first == 'b'
            }
            Quantity::Time => word_start("time") || first == 't',
        }
    }

    /// Find the column for `want`, or explain why none can be chosen safely.
    ///
    /// An explicit selection wins. Otherwise the candidates are the numeric columns whose unit
    /// measures `want` (from the name, a units row or a comment); failing those, the columns without
    /// a unit whose name suggests it (`V…`, `bias`, `I…`, `curr…`, `H…`, `field`, `time`); in a file
    /// without a header, the first free column. Columns named as settings or uncertainties
    /// (`Compliance (A)`, `I_limit`, `sigma`) and constant columns are passed over while another
    /// candidate is left; of several remaining readings of a current that differ, one named
    /// `meas`/`read`/`sense` is taken, else the choice is refused as ambiguous. `exclude` lists
    /// columns already taken. `Ok(None)` when nothing is left.
    pub fn resolve(
        &self,
        sel: Option<&ColumnSel>,
        want: Quantity,
        exclude: &[usize],
    ) -> Result<Option<usize>> {
        if let Some(s) = sel {
            return self.index_of(s).map(Some);
        }
        let n = self.names.len();
        let free: Vec<usize> = (0..n)
            .filter(|i| !exclude.contains(i) && self.text_columns[*i].is_none())
            .filter(|&i| self.columns[i].iter().any(|v| !v.is_nan()))
            .collect();
        let by_unit: Vec<usize> = free
            .iter()
            .copied()
            .filter(|&i| self.header_unit(i).is_some_and(|u| u.quantity == want))
            .collect();
        let mut cands = if !by_unit.is_empty() {
            by_unit
        } else {
            free.iter()
                .copied()
                .filter(|&i| {
                    self.header_unit(i).is_none() && !self.other_unit(i) && self.name_hints(i, want)
                })
                .collect()
        };
        if cands.is_empty() && !self.has_header {
            cands = free.iter().copied().take(1).collect();
        }
        if cands.is_empty() {
            return Ok(None);
        }
        // Drop settings and uncertainties, then constant columns, while others are left.
        let keep = |c: &Vec<usize>, f: &dyn Fn(usize) -> bool| -> Vec<usize> {
            let k: Vec<usize> = c.iter().copied().filter(|&i| !f(i)).collect();
            if k.is_empty() {
                c.clone()
            } else {
                k
            }
        };
        let cands = keep(&cands, &|i| self.is_auxiliary(i));
        let cands = keep(&cands, &|i| self.is_constant(i));
        if cands.len() == 1 {
            let i = cands[0];
            if self.is_auxiliary(i) && self.is_constant(i) {
                return Err(Error::invalid(
                    "column",
                    format!(
                        "{}: the only column that could be {} is `{}`, which is constant and named \
                         as a setting; choose the data column with --{} (columns: {})",
                        self.path,
                        want.noun(),
                        self.names[i],
                        if want == Quantity::Current { "y" } else { "x" },
                        self.available()
                    ),
                ));
            }
            return Ok(Some(i));
        }
        // The current: the measured reading. The swept quantity (bias, field): the programmed
        // value, which is clean and monotonic, rather than a noisy read-back.
        let keys: &[&str] = if want == Quantity::Current {
            &["meas", "read", "sense", "sens"]
        } else {
            &["source", "set", "sweep", "program", "applied", "bias"]
        };
        let preferred: Vec<usize> = cands
            .iter()
            .copied()
            .filter(|&i| {
                let l = self.names[i].to_lowercase();
                keys.iter().any(|k| l.contains(k))
            })
            .collect();
        if preferred.len() == 1 {
            return Ok(Some(preferred[0]));
        }
        // Several readings: the same numbers (within 1 %) are harmless, different ones are not.
        let a = self.columns[cands[0]].clone();
        let (ua, _) = (self.header_unit(cands[0]).map_or(1.0, |u| u.factor), ());
        let same = cands[1..].iter().all(|&j| {
            let f = self.header_unit(j).map_or(1.0, |u| u.factor);
            let scale = a
                .iter()
                .filter(|v| v.is_finite())
                .fold(0.0f64, |m, v| m.max((v * ua).abs()));
            a.iter().zip(&self.columns[j]).all(|(x, y)| {
                !x.is_finite() || !y.is_finite() || (x * ua - y * f).abs() <= 0.01 * scale
            })
        });
        if same || want != Quantity::Current {
            return Ok(Some(cands[0]));
        }
        Err(Error::invalid(
            "column",
            format!(
                "{}: several columns could be {}: {}; they differ, so choose one with --{} NAME \
                 (or its 0-based index)",
                self.path,
                want.noun(),
                cands
                    .iter()
                    .map(|&i| format!("`{}`", self.names[i]))
                    .collect::<Vec<_>>()
                    .join(", "),
                if want == Quantity::Current { "y" } else { "x" }
            ),
        ))
    }

    /// The raw numbers of column `index` (NaN for missing values, ±∞ for overflow readings); an
    /// error for a text column.
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
    /// of the unit used and its source. The unit is `unit` if given, else the column's (name, units
    /// row, comment). A column without a unit is an error naming the flag that gives it; a unit of
    /// another quantity is an error.
    pub fn values(
        &self,
        index: usize,
        want: Quantity,
        unit: Option<Unit>,
    ) -> Result<(Vec<f64>, String)> {
        self.values_for(
            index,
            want,
            unit,
            if want == Quantity::Current { "y" } else { "x" },
        )
        .map(|(v, c)| (v, c.note()))
    }

    fn values_for(
        &self,
        index: usize,
        want: Quantity,
        unit: Option<Unit>,
        axis: &str,
    ) -> Result<(Vec<f64>, ColumnRead)> {
        let name = self
            .names
            .get(index)
            .ok_or_else(|| Error::invalid("column", format!("{}: no column {index}", self.path)))?;
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
        let (unit, source) = match (unit, self.column_unit(index)) {
            (Some(u), _) => (u, "given".to_string()),
            (None, Some(c)) => (c.unit, c.source),
            (None, None) => {
                return Err(Error::Data {
                    file: self.path.clone(),
                    line: self
                        .header_line
                        .unwrap_or_else(|| self.line_numbers.first().copied().unwrap_or(1)),
                    message: format!(
                        "the unit of column `{name}` ({}) is not stated in its name, a units row or \
                         a comment, and is never assumed; give it with {} or write it in the header \
                         (`{name} (mV)`)",
                        want.noun(),
                        want.flag(axis)
                    ),
                })
            }
        };
        if unit.quantity != want {
            return Err(Error::invalid(
                "column",
                format!(
                    "{}: column `{name}` is in {unit} (from {source}), not {} (in {}); choose \
                     another column with --{axis} or give its unit with --{axis}-unit",
                    self.path,
                    want.noun(),
                    want.canonical()
                ),
            ));
        }
        let values = self.columns[index]
            .iter()
            .map(|v| v * unit.factor)
            .collect();
        Ok((
            values,
            ColumnRead {
                index,
                name: name.clone(),
                unit: unit.to_string(),
                unit_source: source,
                factor: unit.factor,
                canonical: want.canonical().to_string(),
            },
        ))
    }
}

/// How one column was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnRead {
    /// 0-based column index.
    pub index: usize,
    /// Its name in the file (`column k` without a header).
    pub name: String,
    /// The unit the numbers are written in (`V`, `1e-6 A`, `kA/m`).
    pub unit: String,
    /// Where the unit was found: `header (line 3)`, `units row (line 4)`, `comment line 2`, `given`.
    pub unit_source: String,
    /// Factor applied to reach the canonical unit.
    pub factor: f64,
    /// The canonical unit the values are converted to (mV, nA, Oe, s).
    pub canonical: String,
}

impl ColumnRead {
    /// One-line description: "`Voltage (V)` (column 1) in V (from header (line 3)) → mV".
    pub fn note(&self) -> String {
        format!(
            "`{}` (column {}) in {} (from {}) → {}",
            self.name, self.index, self.unit, self.unit_source, self.canonical
        )
    }
}

/// Repeated readings at one bias merged into one point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Averaged {
    /// Points before merging.
    pub points_before: usize,
    /// Points after merging.
    pub points_after: usize,
    /// Smallest and largest number of readings merged into one point.
    pub readings_per_point: (usize, usize),
    /// Median standard deviation of the merged readings (y units, canonical).
    pub median_spread: f64,
}

/// Everything the reader decided for one file: printed by `spinpath analyze` on stderr and written
/// into `summary.json` under `read`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadReport {
    /// The file.
    pub file: String,
    /// Text encoding.
    pub encoding: String,
    /// Layout recognised (`delimited text`, `LabVIEW .lvm`, `Quantum Design .dat`).
    pub format: String,
    /// Delimiter (`comma`, `semicolon`, `tab`, `whitespace`).
    pub delimiter: String,
    /// `,` was the decimal separator.
    pub decimal_comma: bool,
    /// 1-based line of the header, if any.
    pub header_line: Option<usize>,
    /// Metadata lines skipped before the data (not counting comments, header and units row).
    pub preamble_lines: usize,
    /// First and last 1-based data line.
    pub data_lines: (usize, usize),
    /// Data rows in the file.
    pub rows: usize,
    /// Rows used (after dropping missing and overflow values, before any averaging).
    pub rows_used: usize,
    /// The x column.
    pub x: ColumnRead,
    /// The y column.
    pub y: ColumnRead,
    /// Rows dropped for a missing x or y value (empty, NaN).
    pub dropped_missing: usize,
    /// Rows dropped for an overflow reading (±9.9e37 or more, ±inf).
    pub dropped_overflow: usize,
    /// Repeated readings per bias merged, if any.
    pub averaged: Option<Averaged>,
    /// Things worth a look (constant column chosen, repeated bias values, ...).
    pub warnings: Vec<String>,
}

impl ReadReport {
    /// The report as lines of text (for a terminal).
    pub fn lines(&self) -> Vec<String> {
        let mut v = vec![format!(
            "read {}: {} ({}, {} delimited{}{}), rows {} (lines {}–{}){}",
            self.file,
            self.format,
            self.encoding,
            self.delimiter,
            if self.decimal_comma {
                ", decimal comma"
            } else {
                ""
            },
            match self.header_line {
                Some(l) => format!(", header on line {l}"),
                None => ", no header".into(),
            },
            self.rows,
            self.data_lines.0,
            self.data_lines.1,
            if self.preamble_lines > 0 {
                format!(", {} metadata line(s) skipped", self.preamble_lines)
            } else {
                String::new()
            }
        )];
        v.push(format!("  x: {}", self.x.note()));
        v.push(format!("  y: {}", self.y.note()));
        if self.dropped_missing + self.dropped_overflow > 0 {
            v.push(format!(
                "  dropped {} row(s) with a missing value and {} with an overflow reading (±9.9e37, inf); {} used",
                self.dropped_missing, self.dropped_overflow, self.rows_used
            ));
        }
        if let Some(a) = &self.averaged {
            v.push(format!(
                "  {} readings per bias averaged: {} points → {} (median spread {:.3e})",
                if a.readings_per_point.0 == a.readings_per_point.1 {
                    a.readings_per_point.0.to_string()
                } else {
                    format!("{}–{}", a.readings_per_point.0, a.readings_per_point.1)
                },
                a.points_before,
                a.points_after,
                a.median_spread
            ));
        }
        for w in &self.warnings {
            v.push(format!("  warning: {w}"));
        }
        v
    }

    /// The report as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// How to pick and convert one axis of a trace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AxisSpec {
    /// The column; automatic when `None` (see [`DataFile::resolve`]).
    pub column: Option<ColumnSel>,
    /// The unit the column is written in; from the file when `None` (never assumed).
    pub unit: Option<Unit>,
}

/// A trace read from a file, with a record of how it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The file's name.
    pub file: String,
    /// x in the canonical unit of its quantity, y likewise.
    pub trace: Trace,
    /// How x was read, e.g. "`Voltage (V)` (column 1) in V (from header (line 3)) → mV".
    pub x_note: String,
    /// How y was read (with the dropped rows, if any).
    pub y_note: String,
    /// The file's comment lines.
    pub comments: Vec<String>,
    /// The full record of the reader's decisions.
    pub report: ReadReport,
    /// Comment and metadata lines with their 1-based numbers (e.g. for a bias stated in them).
    pub text_lines: Vec<(usize, String)>,
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
    /// Pick and convert an x and a y column (see [`read_trace`]); rows with a missing or overflow
    /// value in either are dropped and counted.
    pub fn trace(&self, xq: Quantity, x: &AxisSpec, yq: Quantity, y: &AxisSpec) -> Result<Loaded> {
        let missing = |what: Quantity, axis: &str| {
            Error::invalid(
                "column",
                format!(
                    "{}: cannot find a column for {} among {}; choose one with --{axis} (name or \
                     0-based index)",
                    self.path,
                    what.noun(),
                    self.available()
                ),
            )
        };
        if !self.has_header && self.names.len() > 2 && (x.column.is_none() || y.column.is_none()) {
            return Err(Error::invalid(
                "column",
                format!(
                    "{}: {} columns and no header naming them; choose them with --x and --y \
                     (0-based indices)",
                    self.path,
                    self.names.len()
                ),
            ));
        }
        let xi = self
            .resolve(x.column.as_ref(), xq, &[])?
            .ok_or_else(|| missing(xq, "x"))?;
        let yi = self
            .resolve(y.column.as_ref(), yq, &[xi])?
            .ok_or_else(|| missing(yq, "y"))?;
        if xi == yi {
            return Err(Error::invalid(
                "column",
                format!(
                    "{}: x and y are the same column `{}`",
                    self.path, self.names[xi]
                ),
            ));
        }
        let (xv, xr) = self.values_for(xi, xq, x.unit, "x")?;
        let (yv, yr) = self.values_for(yi, yq, y.unit, "y")?;
        let mut dropped_missing = 0;
        let mut dropped_overflow = 0;
        let mut keep = Vec::with_capacity(xv.len());
        for k in 0..xv.len() {
            if xv[k].is_infinite() || yv[k].is_infinite() {
                dropped_overflow += 1;
            } else if xv[k].is_nan() || yv[k].is_nan() {
                dropped_missing += 1;
            } else {
                keep.push(k);
            }
        }
        let mut warnings = self.parse_warnings.clone();
        if keep.is_empty() {
            return Err(Error::Data {
                file: self.path.clone(),
                line: self.line_numbers.first().copied().unwrap_or(1),
                message: format!(
                    "no usable rows: {dropped_missing} missing and {dropped_overflow} overflow \
                     value(s) in the chosen columns `{}` and `{}`",
                    xr.name, yr.name
                ),
            });
        }
        if self.is_constant(yi) && yq == Quantity::Current {
            warnings.push(format!(
                "the current column `{}` is constant ({} {})",
                yr.name,
                self.columns[yi]
                    .iter()
                    .find(|v| v.is_finite())
                    .copied()
                    .unwrap_or(0.0),
                yr.unit
            ));
        }
        for (i, r) in [(xi, &xr), (yi, &yr)] {
            if self.is_auxiliary(i) {
                warnings.push(format!(
                    "column `{}` is named like a setting or an uncertainty",
                    r.name
                ));
            }
        }
        let xs: Vec<f64> = keep.iter().map(|&k| xv[k]).collect();
        let ys: Vec<f64> = keep.iter().map(|&k| yv[k]).collect();
        let report = ReadReport {
            file: self.path.clone(),
            encoding: self.encoding.clone(),
            format: self.format.clone(),
            delimiter: self.delimiter.name().into(),
            decimal_comma: self.decimal_comma,
            header_line: self.header_line,
            preamble_lines: self.preamble.len(),
            data_lines: (
                self.line_numbers.first().copied().unwrap_or(0),
                self.line_numbers.last().copied().unwrap_or(0),
            ),
            rows: self.n_rows(),
            rows_used: keep.len(),
            x: xr.clone(),
            y: yr.clone(),
            dropped_missing,
            dropped_overflow,
            averaged: None,
            warnings,
        };
        let mut y_note = yr.note();
        if dropped_missing + dropped_overflow > 0 {
            y_note += &format!(
                "; {dropped_missing} row(s) with a missing value and {dropped_overflow} with an \
                 overflow reading skipped"
            );
        }
        let mut text_lines = self.comment_lines.clone();
        text_lines.extend(self.preamble.iter().cloned());
        text_lines.sort();
        Ok(Loaded {
            file: self.path.clone(),
            trace: Trace::new(xs, ys)?,
            x_note: xr.note(),
            y_note,
            comments: self.comments.clone(),
            report,
            text_lines,
        })
    }
}

impl Loaded {
    /// Merge repeated readings at one x (consecutive points with equal x, as written by an
    /// instrument taking several readings per bias step, or a read-back bias rounded coarser than
    /// the step) into their mean, when they are systematic: at least a quarter of the points sit
    /// in such runs. Isolated repeats (a turning point written twice) are left to the analyses.
    /// The report records what was merged. Returns whether anything was merged.
    pub fn average_repeats(&mut self) -> bool {
        let x = &self.trace.x;
        let n = x.len();
        if n < 3 {
            return false;
        }
        let tol = 1e-9 * super::median_step(x).abs().max(f64::MIN_POSITIVE);
        let mut runs: Vec<(usize, usize)> = Vec::new();
        let mut s = 0;
        for k in 1..=n {
            if k == n || (x[k] - x[s]).abs() > tol {
                runs.push((s, k));
                s = k;
            }
        }
        let in_repeats: usize = runs
            .iter()
            .filter(|r| r.1 - r.0 > 1)
            .map(|r| r.1 - r.0)
            .sum();
        if in_repeats * 4 < n {
            return false;
        }
        let mut nx = Vec::with_capacity(runs.len());
        let mut ny = Vec::with_capacity(runs.len());
        let mut spreads = Vec::new();
        for &(a, b) in &runs {
            let (m, sd, _) = super::mean_sd(self.trace.y[a..b].iter().copied());
            nx.push(x[a]);
            ny.push(m);
            if b - a > 1 {
                spreads.push(sd);
            }
        }
        let lens: Vec<usize> = runs.iter().map(|r| r.1 - r.0).collect();
        self.report.averaged = Some(Averaged {
            points_before: n,
            points_after: runs.len(),
            readings_per_point: (
                lens.iter().copied().min().unwrap_or(1),
                lens.iter().copied().max().unwrap_or(1),
            ),
            median_spread: super::median(&spreads),
        });
        self.trace = Trace { x: nx, y: ny };
        true
    }
}

impl Loaded {
    /// The bias (mV) an I(H) loop file states: a value in its file name (`_1mV`, `_0p8mV`), else one
    /// in its comment or metadata lines (`bias = 1 mV`), with where it was found. `Ok(None)` when
    /// neither states one; an error when they disagree.
    pub fn stated_bias(&self) -> Result<Option<(f64, String)>> {
        let name = Path::new(&self.file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match (bias_from_name(&name), bias_from_lines(&self.text_lines)) {
            (Some(a), Some((b, line))) if (a - b).abs() > 1e-9 * a.abs().max(1e-9) => {
                Err(Error::Data {
                    file: self.file.clone(),
                    line,
                    message: format!(
                        "the file name says a bias of {a} mV but this line says {b} mV; give the \
                         bias explicitly (--bias)"
                    ),
                })
            }
            (Some(a), _) => Ok(Some((a, "the file name".into()))),
            (None, Some((b, line))) => Ok(Some((b, format!("line {line}")))),
            (None, None) => Ok(None),
        }
    }
}

/// A current time trace read for jump detection.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeTrace {
    /// Time in s (`x_name` = `time_s`), a chosen column as written (`x`), or the sample index
    /// (`sample`).
    pub x: Vec<f64>,
    /// Column name for `x` in tables.
    pub x_name: String,
    /// Current in nA.
    pub y: Vec<f64>,
    /// Cycle number of each sample, if a cycle column was given.
    pub cycle: Option<Vec<f64>>,
    /// How the current was read.
    pub y_note: String,
}

impl DataFile {
    /// x in mV and a signal column as written (no unit: a conductance, a TMR), rows with a missing
    /// or overflow value dropped. Without `y` the signal is the first other column. Returns the
    /// trace and descriptions of both columns.
    pub fn raw_signal(
        &self,
        x: &AxisSpec,
        y: Option<&ColumnSel>,
    ) -> Result<(Trace, String, String)> {
        let xi = self
            .resolve(x.column.as_ref(), Quantity::Voltage, &[])?
            .ok_or_else(|| {
                Error::invalid(
                    "column",
                    format!("{}: no bias column; choose it with --x", self.path),
                )
            })?;
        let yi = match y {
            Some(sel) => self.index_of(sel)?,
            None => (0..self.names.len()).find(|&i| i != xi).ok_or_else(|| {
                Error::invalid(
                    "column",
                    format!("{}: no signal column besides the bias", self.path),
                )
            })?,
        };
        let (xv, x_note) = self.values(xi, Quantity::Voltage, x.unit)?;
        let yv = self.raw_values(yi)?;
        let (xs, ys): (Vec<f64>, Vec<f64>) = xv
            .into_iter()
            .zip(yv)
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .unzip();
        let y_note = format!("`{}` (column {yi}) as written", self.names[yi]);
        Ok((Trace::new(xs, ys)?, x_note, y_note))
    }

    /// A current time trace: x is the `x` column (in s when it has a time unit or `x_unit` is given,
    /// else as written), else the first column with a time unit, else the sample index; y is the
    /// current (see [`DataFile::resolve`]); `cycle` an optional column of cycle numbers. Rows with
    /// a missing or overflow value in any of them are dropped.
    pub fn time_trace(
        &self,
        x: Option<&ColumnSel>,
        x_unit: Option<Unit>,
        y: &AxisSpec,
        cycle: Option<&ColumnSel>,
    ) -> Result<TimeTrace> {
        let ci = cycle.map(|c| self.index_of(c)).transpose()?;
        let excl: Vec<usize> = ci.into_iter().collect();
        let is_time = |i: usize| {
            self.header_unit(i)
                .is_some_and(|u| u.quantity == Quantity::Time)
        };
        let xi = match x {
            Some(sel) => Some(self.index_of(sel)?),
            None => (0..self.names.len()).find(|&i| !excl.contains(&i) && is_time(i)),
        };
        let mut ex = excl.clone();
        ex.extend(xi);
        let yi = self
            .resolve(y.column.as_ref(), Quantity::Current, &ex)?
            .ok_or_else(|| {
                Error::invalid(
                    "column",
                    format!("{}: no current column; choose it with --y", self.path),
                )
            })?;
        let (yv, y_note) = self.values(yi, Quantity::Current, y.unit)?;
        let (xv, x_name) = match xi {
            Some(i) if is_time(i) || x_unit.is_some() => {
                (self.values(i, Quantity::Time, x_unit)?.0, "time_s")
            }
            Some(i) => (self.raw_values(i)?, "x"),
            None => ((0..yv.len()).map(|i| i as f64).collect(), "sample"),
        };
        let cv = ci.map(|c| self.raw_values(c)).transpose()?;
        let keep: Vec<usize> = (0..yv.len())
            .filter(|&k| {
                xv[k].is_finite()
                    && yv[k].is_finite()
                    && cv.as_ref().is_none_or(|c| c[k].is_finite())
            })
            .collect();
        let pick = |v: &[f64]| keep.iter().map(|&k| v[k]).collect::<Vec<f64>>();
        Ok(TimeTrace {
            x: pick(&xv),
            x_name: x_name.into(),
            y: pick(&yv),
            cycle: cv.map(|c| pick(&c)),
            y_note,
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
        // No unit anywhere: refused, naming the flag, never assumed.
        let e = df
            .trace(
                Quantity::Voltage,
                &AxisSpec::default(),
                Quantity::Current,
                &AxisSpec::default(),
            )
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("plain.txt:1: the unit of column `column 0`"),
            "{e}"
        );
        assert!(e.contains("--x-unit"), "{e}");
        let given = |u: &str| AxisSpec {
            column: None,
            unit: Some(u.parse().unwrap()),
        };
        let l = df
            .trace(
                Quantity::Voltage,
                &given("mV"),
                Quantity::Current,
                &given("pA"),
            )
            .unwrap();
        assert_eq!(l.trace.y, vec![2e-3, 4e-3]);
        assert_eq!(l.report.y.unit_source, "given");
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
        // Overflow readings are kept as infinities and dropped, with a count, from a trace.
        let df = DataFile::parse("V_mV I_nA\n1 2\n1 inf\n2 9.91E+37\n3 4\n", "inf.dat").unwrap();
        let l = df
            .trace(
                Quantity::Voltage,
                &AxisSpec::default(),
                Quantity::Current,
                &AxisSpec::default(),
            )
            .unwrap();
        assert_eq!(l.trace.y, vec![2.0, 4.0]);
        assert_eq!(l.report.dropped_overflow, 2);
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
        assert!(
            l.y_note.contains("1 row(s) with a missing value"),
            "{}",
            l.y_note
        );
        assert_eq!(l.report.dropped_missing, 1);
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
