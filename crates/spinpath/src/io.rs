//! Files: atomic writes and output folders.
//!
//! Results are never half-written: every file is written to a temporary sibling and renamed into
//! place, and an existing output folder is only reused when the caller says so (`--force`). Whole
//! results folders of runs (staging, lock, fingerprint, resume) are handled by [`crate::outdir`].

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A fresh hidden temporary name `.<file name>.<process id>.<counter>.tmp` beside `path`
/// (unique across the threads of this process, so concurrent writers never share one).
fn temporary_for(path: &Path) -> Result<PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let file_name = path.file_name().ok_or_else(|| {
        Error::invalid(
            "output path",
            format!("{} has no file name", path.display()),
        )
    })?;
    let name = format!(
        ".{}.{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    Ok(match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(d) => d.join(name),
        None => PathBuf::from(name),
    })
}

/// Whether a file name is one of the temporaries written by [`write_atomic`] and
/// [`write_atomic_unsynced`] (hidden, ending in `.tmp`): left behind only by a killed process,
/// and removed by [`crate::outdir::remove_temporaries`].
pub fn is_temporary_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp") && name.len() > 5
}

/// Write `bytes` to `path` atomically: a temporary file in the same folder, flushed and synced, then
/// renamed over `path`. A reader sees either the old file or the complete new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temporary_for(path)?;
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Like [`write_atomic`] but without forcing the data to disk: still all-or-nothing for readers
/// and for an interrupted process (the rename is atomic), much cheaper for files rewritten often
/// (resume checkpoints), not guaranteed across a power failure.
pub fn write_atomic_unsynced(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temporary_for(path)?;
    let result = std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Prepare an output folder.
///
/// - If `dir` does not exist it is created (with parents).
/// - If it exists and `force` is false, an error explains that `--force` is needed; nothing is touched.
/// - If it exists and `force` is true, it is reused; files are replaced one by one, atomically.
pub fn prepare_output_dir(dir: &Path, force: bool) -> Result<()> {
    if dir.exists() {
        if !force {
            return Err(Error::invalid(
                "output folder",
                format!(
                    "{} already exists; refusing to overwrite it (use --force to replace its files, or choose another --output)",
                    dir.display()
                ),
            ));
        }
        if !dir.is_dir() {
            return Err(Error::invalid(
                "output folder",
                format!("{} exists and is not a folder", dir.display()),
            ));
        }
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}

/// Read a whole text file, with the path in the error.
pub fn read_to_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}
