//! Paper reproductions: run a paper's models, write their curves and figures, and a
//! `signatures.csv` table with one row per signature the paper reports — paper value, model
//! value, unit, a *computed* verdict and a note saying why where the model cannot reach it.
//!
//! - [`spin_engine`]: paper 1 (MgO MTJ with carbon spinterfaces and a paramagnetic C dimer).
//! - [`memristor`]: paper 2 (single C atoms in MgO: memristive Coulomb blockade).

use crate::run::RunOutput;
use crate::table::Table;
use crate::{Error, Result};

pub mod memristor;
pub mod spin_engine;
pub mod spin_engine_fit;

/// Which paper to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Paper 1: the room-temperature spin engine.
    SpinEngine,
    /// Paper 2: the atom memristor.
    Memristor,
}

impl Target {
    /// Every target, in the order the CLI lists them.
    pub const ALL: [Target; 2] = [Target::SpinEngine, Target::Memristor];

    /// The command-line name (`spin-engine`, `memristor`).
    pub fn name(self) -> &'static str {
        match self {
            Target::SpinEngine => "spin-engine",
            Target::Memristor => "memristor",
        }
    }

    /// Parse a command-line name; the error lists the allowed names.
    pub fn from_name(name: &str) -> Result<Target> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
                Error::invalid(
                    "reproduce",
                    format!(
                        "unknown paper `{name}`; choose one of: {}",
                        names.join(", ")
                    ),
                )
            })
    }
}

/// Options shared by the reproductions.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seed of every random process (Monte Carlo, write/read cycles); written into the output.
    pub seed: u64,
    /// A quicker, coarser run (fewer bias points / cycles) for tests and previews; the verdicts
    /// are still computed from what was run and `summary.json` says `quick = true`.
    pub quick: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 20_261_201,
            quick: false,
        }
    }
}

/// One signature of a paper: what the paper reports, what the model gives, and whether that
/// counts as reproduced (computed from the two by the reproduction's stated criterion).
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    /// Short name, e.g. `I0_P`, `tmr_peak_bias`.
    pub signature: String,
    /// The paper's value as text (a number, a range like `87`, `< -100`, or `opposite signs`).
    pub paper_value: String,
    /// The model's value as text (numbers formatted with their precision).
    pub model_value: String,
    /// Unit of both values (`nA`, `mV`, `%`, `nW`, `count`, empty for yes/no signatures).
    pub unit: String,
    /// The computed verdict: `Some(true/false)`, or `None` where the paper gives no comparable
    /// number (the note says why).
    pub reproduced: Option<bool>,
    /// The criterion used and, where the model cannot reach the paper's number, the reason.
    pub note: String,
}

/// The `signatures.csv` table (columns `signature,paper_value,model_value,unit,reproduced,note`;
/// `reproduced` is `yes`, `no` or `n/a`).
pub fn signatures_table(rows: &[Signature]) -> Result<Table> {
    let mut t = Table::new();
    let col = |f: &dyn Fn(&Signature) -> String| rows.iter().map(f).collect::<Vec<_>>();
    t.push_str("signature", col(&|s| s.signature.clone()))?;
    t.push_str("paper_value", col(&|s| s.paper_value.clone()))?;
    t.push_str("model_value", col(&|s| s.model_value.clone()))?;
    t.push_str("unit", col(&|s| s.unit.clone()))?;
    t.push_str(
        "reproduced",
        col(&|s| match s.reproduced {
            Some(true) => "yes".into(),
            Some(false) => "no".into(),
            None => "n/a".into(),
        }),
    )?;
    t.push_str("note", col(&|s| s.note.clone()))?;
    Ok(t)
}

/// Run one reproduction. `tick` is called once per unit of work (for a progress bar).
/// The output holds `signatures.csv`, the models' curves and the figures laid out like the paper's.
pub fn run(target: Target, opts: &Options, tick: &(dyn Fn() + Sync)) -> Result<RunOutput> {
    match target {
        Target::SpinEngine => spin_engine::run(opts, tick),
        Target::Memristor => memristor::run(opts, tick),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_names_round_trip_and_unknown_is_refused() {
        for t in Target::ALL {
            assert_eq!(Target::from_name(t.name()).unwrap(), t);
        }
        let e = Target::from_name("spin_engine").unwrap_err().to_string();
        assert!(e.contains("spin-engine") && e.contains("memristor"), "{e}");
    }

    #[test]
    fn signatures_table_has_the_documented_columns() {
        let t = signatures_table(&[Signature {
            signature: "I0_P".into(),
            paper_value: "-0.5".into(),
            model_value: "-0.8".into(),
            unit: "nA".into(),
            reproduced: None,
            note: "sign only".into(),
        }])
        .unwrap();
        assert_eq!(
            t.names(),
            [
                "signature",
                "paper_value",
                "model_value",
                "unit",
                "reproduced",
                "note"
            ]
        );
        assert_eq!(t.str("reproduced").unwrap(), ["n/a"]);
    }
}
