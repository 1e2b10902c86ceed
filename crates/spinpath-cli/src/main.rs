//! The `spinpath` command line: a thin layer over the `spinpath` library.

use clap::{Parser, Subcommand};

mod analyze;
mod capacitance;
mod dots;
mod ensemble;
mod fit;
mod integrity;
mod protocol;
mod reproduce;
mod run;
mod scan;

/// Spin-polarised quantum transport through atom-scale paths in magnetic tunnel junctions.
#[derive(Parser)]
#[command(name = "spinpath", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a simulation described by a TOML file and write its results folder.
    Run(run::RunArgs),
    /// Analyse measured or simulated data files (dI/dV, TMR, power, peaks, shift, stats, jumps, I(H)).
    Analyze(Box<analyze::AnalyzeArgs>),
    /// Fit a model's parameters to measured I(V) files (bounded, tied, multi-dataset).
    Fit(fit::FitArgs),
    /// Explore designs: grids or samples over device parameters (sharded for clusters), and `scan merge`.
    Scan(scan::ScanArgs),
    /// Device ensembles: sample C-in-MgO junctions, run them (sharded), yields and distributions.
    Ensemble(ensemble::EnsembleArgs),
    /// Interacting dots (master equation, transient, Monte Carlo) from `[dots]` + `[dots_run]`.
    Dots(dots::DotsArgs),
    /// Reproduce a paper: `spin-engine` (paper 1) or `memristor` (paper 2); writes signatures.csv and figures.
    Reproduce(reproduce::ReproduceArgs),
    /// Capacitance estimates (paper 2, SI Note 5): radius from gap, gating distance from shift.
    Capacitance(capacitance::CapacitanceArgs),
}

fn main() {
    integrity::install();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Analyze(args) => analyze::run(*args),
        Command::Fit(args) => fit::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Dots(args) => dots::run(args),
        Command::Ensemble(args) => ensemble::run(args),
        Command::Reproduce(args) => reproduce::run(args),
        Command::Capacitance(args) => capacitance::run(args),
    };
    if let Err(e) = result {
        eprintln!("error: {}", message(&e));
        std::process::exit(1);
    }
}

/// The error and its causes, each cause once: a cause already spelled out by the message before
/// it (an I/O error that names its path and reason) is not repeated.
fn message(e: &anyhow::Error) -> String {
    let mut s = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if s.contains(text.trim_end()) {
            continue;
        }
        if !s.is_empty() {
            s.push_str(": ");
        }
        s.push_str(&text);
    }
    s.trim_end().to_string()
}
