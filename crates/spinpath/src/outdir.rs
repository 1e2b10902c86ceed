//! Results folders: one folder holds exactly one complete run.
//!
//! A run never writes into its output folder `<name>` directly. It writes into a hidden staging
//! sibling `.<name>.partial` and [`RunDir::commit`] renames that into place once every file is
//! written. Hence:
//!
//! - a run that fails leaves nothing behind (the staging folder is removed when the [`RunDir`] is
//!   dropped without a commit), and the corrected rerun is not refused;
//! - `--force` leaves nothing stale: the new folder replaces the old one as a whole, and the old
//!   results stay untouched until the new ones are complete;
//! - a reader never sees a half-written folder.
//!
//! While a run writes, it holds an exclusive advisory lock on `.<name>.lock` beside the folder, so
//! a second writer to the same folder is refused at once (the lock dies with the process, even on
//! `SIGKILL`). Every folder records its [`Fingerprint`] (command, SHA-256 of the run file, seed,
//! spinpath version) in `run.json`. An interrupted run keeps its staging folder
//! ([`RunDir::keep_for_resume`]); `--resume` ([`Mode::Resume`]) continues it only when the
//! fingerprint is the same, and says so (changing nothing) when the run has already finished. A
//! staging folder left by a killed run with nothing to resume, and the temporaries of interrupted
//! atomic writes inside a resumed folder, are removed by the next run.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Name of the fingerprint file inside a results folder.
pub const FINGERPRINT_FILE: &str = "run.json";

/// What identifies a run: two runs with equal fingerprints write identical results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The subcommand (`run`, `dots`, `scan`, ...).
    pub command: String,
    /// The run file as given (informational; not compared).
    pub config_file: String,
    /// SHA-256 of the run file's text, lowercase hex.
    pub config_sha256: String,
    /// The run's random seed, when it has one.
    pub seed: Option<u64>,
    /// Further arguments that change the results (e.g. a scan's parameter and range).
    #[serde(default)]
    pub arguments: Vec<String>,
    /// Whether an interrupted run can be continued (`--resume`).
    #[serde(default)]
    pub resumable: bool,
    /// Version of spinpath that wrote the folder.
    pub spinpath_version: String,
}

impl Fingerprint {
    /// The fingerprint of `command` run on the file `config_file` whose text is `config_text`.
    pub fn new(command: &str, config_file: &str, config_text: &str, seed: Option<u64>) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(config_text.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Fingerprint {
            command: command.to_string(),
            config_file: config_file.to_string(),
            config_sha256: hex,
            seed,
            arguments: Vec::new(),
            resumable: false,
            spinpath_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// With further result-changing arguments.
    pub fn with_arguments(mut self, arguments: Vec<String>) -> Self {
        self.arguments = arguments;
        self
    }

    /// Marked as resumable (protocol runs).
    pub fn resumable(mut self, resumable: bool) -> Self {
        self.resumable = resumable;
        self
    }

    /// How `self` (the new run) differs from `recorded` (the folder's), in words; empty when they
    /// are the same run.
    pub fn differences(&self, recorded: &Fingerprint) -> Vec<String> {
        let mut d = Vec::new();
        if self.command != recorded.command {
            d.push(format!(
                "the command (`{}` now, `{}` then)",
                self.command, recorded.command
            ));
        }
        if self.config_sha256 != recorded.config_sha256 {
            d.push(if self.config_file == recorded.config_file {
                format!("the content of {} (edited since)", self.config_file)
            } else {
                format!(
                    "the run file's content ({} differs from {} as it was then)",
                    self.config_file, recorded.config_file
                )
            });
        }
        if self.seed != recorded.seed {
            let s = |x: Option<u64>| x.map_or_else(|| "none".to_string(), |v| v.to_string());
            d.push(format!(
                "the seed ({} now, {} then)",
                s(self.seed),
                s(recorded.seed)
            ));
        }
        if self.arguments != recorded.arguments {
            d.push(format!(
                "the arguments ([{}] now, [{}] then)",
                self.arguments.join(" "),
                recorded.arguments.join(" ")
            ));
        }
        if self.spinpath_version != recorded.spinpath_version {
            d.push(format!(
                "the version (spinpath {} now, {} then)",
                self.spinpath_version, recorded.spinpath_version
            ));
        }
        d
    }
}

/// How to treat an existing output folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Refuse an existing folder (or an interrupted run of it).
    New,
    /// Start over: the new run replaces the folder (and discards an interrupted run) when complete.
    Force,
    /// Continue an interrupted run with the same fingerprint; a finished one is left as it is.
    Resume,
}

/// The outcome of [`RunDir::open`].
#[derive(Debug)]
pub enum Opened {
    /// Write the run's files into [`RunDir::path`], then [`RunDir::commit`].
    Ready(RunDir),
    /// `--resume` of a run that has finished with the same fingerprint: nothing to do.
    Finished(PathBuf),
}

/// An exclusive advisory lock on a file beside the output folder, held while a run writes.
#[derive(Debug)]
struct Lock {
    file: File,
    path: PathBuf,
}

impl Lock {
    fn acquire(path: &Path, target: &Path) -> Result<Lock> {
        // The previous holder removes the file while still holding it; if we locked such a
        // removed file, the path now names another one: try again.
        for _ in 0..20 {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| Error::io(path, e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    let holder = std::fs::read_to_string(path).unwrap_or_default();
                    let holder = holder.trim();
                    let who = if holder.is_empty() {
                        "another spinpath run".to_string()
                    } else {
                        format!("another spinpath run (process {holder})")
                    };
                    return Err(Error::invalid(
                        "output folder",
                        format!(
                            "{} is being written by {who}; wait for it to finish or choose another --output",
                            target.display()
                        ),
                    ));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(path, e)),
            }
            if same_file(&file, path) {
                // Informational only (who holds the lock); failures do not matter.
                let _ = file.set_len(0);
                let _ = write!(file, "{}", std::process::id());
                return Ok(Lock {
                    file,
                    path: path.to_path_buf(),
                });
            }
        }
        Err(Error::invalid(
            "output folder",
            format!(
                "could not lock {} (its lock file keeps changing); retry",
                target.display()
            ),
        ))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Remove the file while still holding the lock, then release it (closing the file).
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &File, path: &Path) -> bool {
    path.exists()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Active,
    Kept,
    Committed,
}

/// A run's results folder being written: files go into [`RunDir::path`] (the staging folder);
/// [`RunDir::commit`] puts them in place. Dropped without a commit (an error, a panic), the
/// staging folder is removed unless [`RunDir::keep_for_resume`] was called.
#[derive(Debug)]
pub struct RunDir {
    target: PathBuf,
    staging: PathBuf,
    resumed: bool,
    state: State,
    lock: Option<Lock>,
}

/// `(parent, name)` of an output folder path, with a clear error for paths that name no folder.
fn split(target: &Path) -> Result<(PathBuf, String)> {
    let name = match target.file_name() {
        Some(n)
            if target
                .components()
                .next_back()
                .is_some_and(|c| matches!(c, std::path::Component::Normal(_))) =>
        {
            n.to_string_lossy().to_string()
        }
        _ => {
            return Err(Error::invalid(
                "output folder",
                format!(
                    "`{}` does not name a folder to create (give a path such as out/run1)",
                    target.display()
                ),
            ))
        }
    };
    // An empty parent is the current folder (kept empty so that sibling paths read `.x.partial`).
    let parent = target.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok((parent, name))
}

/// Read the fingerprint recorded in `dir`, if any (`None` when missing or unreadable).
pub fn read_fingerprint(dir: &Path) -> Option<Fingerprint> {
    let text = std::fs::read_to_string(dir.join(FINGERPRINT_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The hidden staging folder `.<name>.partial` of the output folder `target`.
pub fn staging_path(target: &Path) -> Result<PathBuf> {
    let (parent, name) = split(target)?;
    Ok(parent.join(format!(".{name}.partial")))
}

/// Remove the temporaries of interrupted atomic writes (hidden `.*.tmp` files) in `dir`.
/// Returns how many were removed.
pub fn remove_temporaries(dir: &Path) -> Result<usize> {
    let mut n = 0;
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if crate::io::is_temporary_name(&name) && entry.path().is_file() {
            std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
            n += 1;
        }
    }
    Ok(n)
}

fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// Whether an existing folder looks like a spinpath results folder (safe to replace with
/// `--force`): empty, or holding `run.json` or `summary.json`.
fn replaceable(dir: &Path) -> bool {
    let empty = std::fs::read_dir(dir).is_ok_and(|mut r| r.next().is_none());
    empty || dir.join(FINGERPRINT_FILE).is_file() || dir.join("summary.json").is_file()
}

impl RunDir {
    /// Open the output folder `target` for a run with fingerprint `fp`, following `mode`.
    ///
    /// Errors (nothing is changed): another run holds the folder; `target` exists (without
    /// `--force`/`--resume`) or is not a folder, or is a folder that is no spinpath results folder;
    /// an interrupted resumable run of it exists (without `--resume`/`--force`); `--resume` with a
    /// different fingerprint; the parent folder cannot be created.
    pub fn open(target: &Path, fp: &Fingerprint, mode: Mode) -> Result<Opened> {
        let (parent, name) = split(target)?;
        let shown = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent.as_path()
        };
        if parent.exists() && !parent.is_dir() {
            return Err(Error::invalid(
                "output folder",
                format!(
                    "cannot create {}: {} is a file, not a folder",
                    target.display(),
                    shown.display()
                ),
            ));
        }
        if let Err(e) = std::fs::create_dir_all(&parent) {
            return Err(Error::invalid(
                "output folder",
                format!(
                    "cannot create {}: the folder {} that should hold it cannot be made ({e})",
                    target.display(),
                    if parent.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        &parent
                    }
                    .display()
                ),
            ));
        }
        if target.exists() && !target.is_dir() {
            return Err(Error::invalid(
                "output folder",
                format!(
                    "{} exists and is not a folder; choose another --output",
                    target.display()
                ),
            ));
        }
        let lock = Lock::acquire(&parent.join(format!(".{name}.lock")), target)?;
        let staging = parent.join(format!(".{name}.partial"));
        let interrupted = staging.is_dir();
        let recorded_staging = if interrupted {
            read_fingerprint(&staging)
        } else {
            None
        };
        let mut resumed = false;
        match mode {
            Mode::Resume => {
                if let Some(rec) = recorded_staging.as_ref().filter(|r| r.resumable) {
                    let diff = fp.differences(rec);
                    if !diff.is_empty() {
                        return Err(Error::invalid(
                            "--resume",
                            format!(
                                "cannot continue the interrupted run of {}: this run differs from it in {}; start over with --force, or restore the original run file",
                                target.display(),
                                diff.join(" and ")
                            ),
                        ));
                    }
                    remove_temporaries(&staging)?;
                    resumed = true;
                } else if target.is_dir() {
                    match read_fingerprint(target) {
                        Some(rec) => {
                            let diff = fp.differences(&rec);
                            if diff.is_empty() {
                                return Ok(Opened::Finished(target.to_path_buf()));
                            }
                            return Err(Error::invalid(
                                "--resume",
                                format!(
                                    "{} holds a finished run that differs from this one in {}; nothing to resume: replace it with --force, or choose another --output",
                                    target.display(),
                                    diff.join(" and ")
                                ),
                            ));
                        }
                        None => {
                            return Err(Error::invalid(
                                "--resume",
                                format!(
                                    "{} exists but records no run ({FINGERPRINT_FILE} is missing or unreadable); nothing to resume: replace it with --force, or choose another --output",
                                    target.display()
                                ),
                            ))
                        }
                    }
                }
            }
            Mode::New => {
                if target.exists() {
                    return Err(Error::invalid(
                        "output folder",
                        format!(
                            "{} already exists; refusing to overwrite it (use --force to replace it, or choose another --output)",
                            target.display()
                        ),
                    ));
                }
                if recorded_staging.as_ref().is_some_and(|r| r.resumable) {
                    return Err(Error::invalid(
                        "output folder",
                        format!(
                            "an interrupted run of {} is kept in {}; continue it with --resume, or start over with --force",
                            target.display(),
                            staging.display()
                        ),
                    ));
                }
            }
            Mode::Force => {}
        }
        if mode == Mode::Force && target.is_dir() && !replaceable(target) {
            return Err(Error::invalid(
                "output folder",
                format!(
                    "{} is not a spinpath results folder (no {FINGERPRINT_FILE} or summary.json); refusing to replace it even with --force: choose another --output",
                    target.display()
                ),
            ));
        }
        if !resumed {
            // An orphan (killed run, nothing to resume) or a discarded interrupted run.
            remove_dir(&staging)?;
            std::fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
            let json = serde_json::to_string_pretty(fp)
                .map_err(|e| Error::invalid("fingerprint", e.to_string()))?;
            crate::io::write_atomic(&staging.join(FINGERPRINT_FILE), json.as_bytes())?;
        }
        Ok(Opened::Ready(RunDir {
            target: target.to_path_buf(),
            staging,
            resumed,
            state: State::Active,
            lock: Some(lock),
        }))
    }

    /// The folder to write the run's files into (the staging folder).
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The output folder the files will be in after [`RunDir::commit`].
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Whether this continues an interrupted run (its files are in [`RunDir::path`]).
    pub fn resumed(&self) -> bool {
        self.resumed
    }

    /// Put the finished run in place: the staging folder becomes the output folder, replacing an
    /// existing one as a whole. Returns the output folder.
    pub fn commit(mut self) -> Result<PathBuf> {
        remove_temporaries(&self.staging)?;
        if self.target.exists() {
            let (parent, name) = split(&self.target)?;
            let old = parent.join(format!(".{name}.old.{}", std::process::id()));
            remove_dir(&old)?;
            std::fs::rename(&self.target, &old).map_err(|e| Error::io(&self.target, e))?;
            if let Err(e) = std::fs::rename(&self.staging, &self.target) {
                let _ = std::fs::rename(&old, &self.target);
                return Err(Error::io(&self.target, e));
            }
            remove_dir(&old)?;
        } else {
            std::fs::rename(&self.staging, &self.target).map_err(|e| Error::io(&self.target, e))?;
        }
        self.state = State::Committed;
        self.lock.take();
        Ok(self.target.clone())
    }

    /// Leave the staging folder for `--resume` (an interrupted run) and release the folder.
    /// Returns the staging folder.
    pub fn keep_for_resume(mut self) -> PathBuf {
        self.state = State::Kept;
        self.lock.take();
        self.staging.clone()
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if self.state == State::Active {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
        // The lock (if still held) is released by its own drop, after the cleanup above.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(text: &str, seed: u64) -> Fingerprint {
        Fingerprint::new("run", "p.toml", text, Some(seed)).resumable(true)
    }

    fn ready(o: Opened) -> RunDir {
        match o {
            Opened::Ready(d) => d,
            Opened::Finished(p) => panic!("unexpectedly finished: {}", p.display()),
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn commit_puts_the_whole_folder_in_place_and_leaves_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let d = ready(RunDir::open(&out, &fp("a", 1), Mode::New).unwrap());
        assert!(!out.exists(), "nothing visible before the commit");
        std::fs::write(d.path().join("iv.csv"), "x").unwrap();
        d.commit().unwrap();
        assert_eq!(names(&out), ["iv.csv", "run.json"]);
        assert_eq!(
            names(tmp.path()),
            ["out"],
            "no staging, lock or old folder left"
        );
        assert_eq!(read_fingerprint(&out), Some(fp("a", 1)));
    }

    #[test]
    fn a_failed_run_leaves_nothing_and_the_rerun_is_accepted() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        {
            let d = ready(RunDir::open(&out, &fp("a", 1), Mode::New).unwrap());
            std::fs::write(d.path().join("half.csv"), "x").unwrap();
            // dropped: the run failed
        }
        assert!(names(tmp.path()).is_empty());
        let d = ready(RunDir::open(&out, &fp("a", 1), Mode::New).unwrap());
        d.commit().unwrap();
        assert!(out.is_dir());
    }

    #[test]
    fn force_replaces_everything_and_keeps_old_results_until_commit() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let d = ready(RunDir::open(&out, &fp("a", 1), Mode::New).unwrap());
        std::fs::write(d.path().join("tmr.csv"), "old").unwrap();
        d.commit().unwrap();
        let err = RunDir::open(&out, &fp("b", 1), Mode::New).unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
        let d = ready(RunDir::open(&out, &fp("b", 1), Mode::Force).unwrap());
        std::fs::write(d.path().join("iv.csv"), "new").unwrap();
        assert!(
            out.join("tmr.csv").is_file(),
            "old results intact meanwhile"
        );
        d.commit().unwrap();
        assert_eq!(names(&out), ["iv.csv", "run.json"], "nothing stale");
        assert_eq!(names(tmp.path()), ["out"]);
    }

    #[test]
    fn force_refuses_a_folder_that_is_not_a_results_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("docs");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("thesis.tex"), "precious").unwrap();
        let err = RunDir::open(&out, &fp("a", 1), Mode::Force).unwrap_err();
        assert!(
            err.to_string().contains("not a spinpath results folder"),
            "{err}"
        );
        assert!(out.join("thesis.tex").is_file());
    }

    #[test]
    fn a_second_writer_is_refused_while_the_first_holds_the_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let first = ready(RunDir::open(&out, &fp("a", 1), Mode::New).unwrap());
        for mode in [Mode::New, Mode::Force, Mode::Resume] {
            let err = RunDir::open(&out, &fp("b", 2), mode).unwrap_err();
            assert!(err.to_string().contains("being written by"), "{err}");
        }
        first.commit().unwrap();
        // Released: a forced rerun may now proceed.
        ready(RunDir::open(&out, &fp("b", 2), Mode::Force).unwrap())
            .commit()
            .unwrap();
        assert_eq!(read_fingerprint(&out).unwrap().seed, Some(2));
    }

    #[test]
    fn resume_checks_the_fingerprint() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let d = ready(RunDir::open(&out, &fp("cycles = 1357", 1), Mode::New).unwrap());
        std::fs::write(d.path().join("points.partial.csv"), "1\n").unwrap();
        std::fs::write(d.path().join(".tmr.csv.123.tmp"), "torn").unwrap();
        let staging = d.keep_for_resume();
        assert!(staging.join("points.partial.csv").is_file());
        // A plain rerun is refused and points to --resume.
        let err = RunDir::open(&out, &fp("cycles = 1357", 1), Mode::New).unwrap_err();
        assert!(err.to_string().contains("--resume"), "{err}");
        // Another run file or seed: refused, nothing changed.
        for other in [fp("cycles = 100", 1), fp("cycles = 1357", 99)] {
            let err = RunDir::open(&out, &other, Mode::Resume).unwrap_err();
            assert!(err.to_string().contains("differs from it in"), "{err}");
            assert!(staging.join("points.partial.csv").is_file());
        }
        let d = ready(RunDir::open(&out, &fp("cycles = 1357", 1), Mode::Resume).unwrap());
        assert!(d.resumed());
        assert!(
            !d.path().join(".tmr.csv.123.tmp").exists(),
            "orphaned temporaries removed"
        );
        assert!(d.path().join("points.partial.csv").is_file());
        d.commit().unwrap();
        // Resuming the finished run changes nothing.
        let before = names(&out);
        match RunDir::open(&out, &fp("cycles = 1357", 1), Mode::Resume).unwrap() {
            Opened::Finished(p) => assert_eq!(p, out),
            Opened::Ready(_) => panic!("a finished run was reopened"),
        }
        assert_eq!(names(&out), before);
        let err = RunDir::open(&out, &fp("cycles = 100", 1), Mode::Resume).unwrap_err();
        assert!(err.to_string().contains("finished run"), "{err}");
        assert!(err.to_string().contains("content of p.toml"), "{err}");
    }

    #[test]
    fn orphans_of_killed_runs_are_cleaned_or_kept_for_resume() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        // A killed plain sweep: nothing to resume, the next run removes its staging folder.
        let staging = staging_path(&out).unwrap();
        std::fs::create_dir(&staging).unwrap();
        std::fs::write(staging.join(".tmr.csv.999.tmp"), "x").unwrap();
        let plain = Fingerprint::new("run", "p.toml", "a", None);
        std::fs::write(
            staging.join(FINGERPRINT_FILE),
            serde_json::to_string(&plain).unwrap(),
        )
        .unwrap();
        let d = ready(RunDir::open(&out, &plain, Mode::New).unwrap());
        assert_eq!(names(d.path()), ["run.json"]);
        d.commit().unwrap();
        // A killed protocol run: kept, and --force discards it.
        let staging = staging_path(&tmp.path().join("p")).unwrap();
        std::fs::create_dir(&staging).unwrap();
        std::fs::write(
            staging.join(FINGERPRINT_FILE),
            serde_json::to_string(&fp("a", 1)).unwrap(),
        )
        .unwrap();
        std::fs::write(staging.join("points.partial.csv"), "x").unwrap();
        let p = tmp.path().join("p");
        assert!(RunDir::open(&p, &fp("a", 1), Mode::New).is_err());
        let d = ready(RunDir::open(&p, &fp("a", 2), Mode::Force).unwrap());
        assert_eq!(names(d.path()), ["run.json"]);
    }

    #[test]
    fn paths_that_name_no_folder_are_refused_clearly() {
        let tmp = tempfile::tempdir().unwrap();
        for bad in ["..", "/", "."] {
            let err = RunDir::open(Path::new(bad), &fp("a", 1), Mode::New).unwrap_err();
            assert!(
                err.to_string().contains("does not name a folder"),
                "{bad}: {err}"
            );
        }
        let file = tmp.path().join("f");
        std::fs::write(&file, "x").unwrap();
        let err = RunDir::open(&file.join("out"), &fp("a", 1), Mode::New).unwrap_err();
        assert!(err.to_string().contains("is a file, not a folder"), "{err}");
        let err = RunDir::open(&file.join("a/b"), &fp("a", 1), Mode::New).unwrap_err();
        assert!(err.to_string().contains("cannot be made"), "{err}");
        let err = RunDir::open(&file, &fp("a", 1), Mode::New).unwrap_err();
        assert!(err.to_string().contains("not a folder"), "{err}");
    }
}
