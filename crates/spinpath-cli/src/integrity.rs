//! Run integrity on the command line: opening results folders through [`spinpath::outdir`],
//! signals (SIGINT/SIGTERM) and a closed standard output.

use spinpath::outdir::{Fingerprint, Mode, Opened, RunDir};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by SIGINT/SIGTERM while a resumable run polls for it.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Whether the running command stops cleanly between points (protocol runs) on a signal.
static POLLING: AtomicBool = AtomicBool::new(false);

/// Let a closed standard output end the program quietly (as `head` expects) instead of a panic,
/// and handle SIGINT/SIGTERM: a protocol run that polls ([`set_polling`]) stops after the current
/// point and keeps its points for `--resume`; any other command stops at once with a message (its
/// unfinished staging folder is removed by the next run). A second signal stops at once.
pub fn install() {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
            return; // keep the default behaviour (terminate) if handlers cannot be installed
        };
        std::thread::spawn(move || {
            for sig in signals.forever() {
                if POLLING.load(Ordering::SeqCst) && !INTERRUPTED.swap(true, Ordering::SeqCst) {
                    eprintln!("\nstopping after the current point (signal again to stop at once)");
                    continue;
                }
                eprintln!(
                    "\ninterrupted: the run did not finish and wrote no results; run it again"
                );
                std::process::exit(128 + sig);
            }
        });
    }
}

/// Whether a signal asked the run to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Tell the signal handler that the command now stops cleanly between points (or no longer).
pub fn set_polling(on: bool) {
    POLLING.store(on, Ordering::SeqCst);
}

/// The folder mode of `--force` / `--resume`.
pub fn mode(force: bool, resume: bool) -> Mode {
    match (force, resume) {
        (_, true) => Mode::Resume,
        (true, false) => Mode::Force,
        (false, false) => Mode::New,
    }
}

/// Open the results folder `target` for a run with fingerprint `fp`. `None` when `--resume` finds
/// the same run already finished (a message says so; nothing is changed).
pub fn open(target: &Path, fp: &Fingerprint, mode: Mode) -> anyhow::Result<Option<RunDir>> {
    match RunDir::open(target, fp, mode)? {
        Opened::Finished(p) => {
            eprintln!(
                "{} is a finished run of this run file (same content, seed and version): nothing to resume, nothing changed (use --force to run it again)",
                p.display()
            );
            Ok(None)
        }
        Opened::Ready(dir) => {
            // A resumable run stops cleanly on a signal from now on (between points).
            set_polling(fp.resumable);
            if mode == Mode::Resume && !dir.resumed() {
                eprintln!(
                    "nothing to resume for {}: starting the run",
                    target.display()
                );
            }
            Ok(Some(dir))
        }
    }
}

/// The command line that continues this run: the same arguments without `--force`,
/// `--stop-after N`, plus `--resume`.
pub fn resume_command() -> String {
    let mut out = vec!["spinpath".to_string()];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--stop-after" {
            args.next();
            continue;
        }
        if a.starts_with("--stop-after=") || a == "--force" || a == "--resume" {
            continue;
        }
        if a.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c)) {
            out.push(format!("'{}'", a.replace('\'', r"'\''")));
        } else {
            out.push(a);
        }
    }
    out.push("--resume".into());
    out.join(" ")
}

/// Whether `text` is a fit file (`spinpath fit`) rather than a run file: it has a `[[data]]` or
/// `[fit]` table and no device.
pub fn is_fit_file(text: &str) -> bool {
    let Ok(table) = text.parse::<toml::Table>() else {
        return false;
    };
    let device = ["spin_engine", "chain", "dots", "device"]
        .iter()
        .any(|k| table.contains_key(*k));
    (table.contains_key("data") || table.contains_key("fit")) && !device
}

/// An error when `text` (the file `path`) is not a run file but the input of another command:
/// a fit file (`spinpath fit`) or a data file (`spinpath analyze`).
pub fn check_run_file(path: &Path, text: &str) -> anyhow::Result<()> {
    let file = path.display();
    if is_fit_file(text) {
        anyhow::bail!(
            "{file} is a fit file ([[data]] and [parameters]), not a run file: fit it with `spinpath fit {file}`"
        );
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if matches!(ext.as_str(), "csv" | "dat" | "txt" | "tsv") && text.parse::<toml::Table>().is_err()
    {
        anyhow::bail!(
            "{file} is a data file, not a TOML run file: analyse it with `spinpath analyze` (or fit a model to it with `spinpath fit`)"
        );
    }
    Ok(())
}
