//! The library's error type.
//!
//! Every error names what is wrong and, where it comes from a file, the file, line and key, and what
//! is allowed. Nothing in the library panics on user input.

use std::path::PathBuf;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error from configuration, model building, a solver or file I/O.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is wrong. `location` is `file:line:column` when known.
    #[error("{location}: key `{key}`: {message}")]
    Config {
        /// `file:line:column`, or the file name alone when no position is known.
        location: String,
        /// Dotted key path, e.g. `device.leads.left.polarization`.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// TOML that does not parse or does not match the schema (unknown key, wrong type, ...).
    #[error("{file}: {message}")]
    Parse {
        /// The file being read.
        file: String,
        /// The parser's message, including line and column.
        message: String,
    },
    /// A model or run that is inconsistent, found after parsing (no file position available).
    #[error("invalid {what}: {message}")]
    Invalid {
        /// What is invalid (e.g. `device`, `bias grid`).
        what: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A data file with a malformed line.
    #[error("{file}:{line}: {message}")]
    Data {
        /// The file being read.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What was expected.
        message: String,
    },
    /// An I/O failure on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A numerical failure (a singular matrix, a non-finite result).
    #[error("numerical failure in {context}: {message}")]
    Numerical {
        /// Where it happened.
        context: String,
        /// What happened.
        message: String,
    },
    /// The computation was stopped through a [`crate::cancel::Cancel`] flag (e.g. Ctrl-C) before
    /// it finished; nothing was produced.
    #[error("cancelled before the computation finished")]
    Cancelled,
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(what: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            what: what.into(),
            message: message.into(),
        }
    }

    /// The same error, naming `file` when it does not yet: a model or plan found invalid after
    /// parsing says which run file it came from. Errors that name their file are unchanged.
    pub fn in_file(self, file: &str) -> Self {
        match self {
            Error::Invalid { what, message } if !what.contains(file) && !message.contains(file) => {
                Error::Invalid {
                    what: format!("{what} in {file}"),
                    message,
                }
            }
            Error::Numerical { context, message } if !context.contains(file) => Error::Numerical {
                context: format!("{context} ({file})"),
                message,
            },
            e => e,
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
