//! Errors of loading boundary sets: every problem at once, each with its `file:line:col`.

use std::fmt;

/// One located problem in `boundaries.yaml` or in a boundary file it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Display path of the file at fault (the yaml, or a GeoJSON file it names).
    pub path: String,
    /// 1-based line (0 when unknown).
    pub line: u64,
    /// 1-based column (0 when unknown).
    pub column: u64,
    /// What is wrong, and where possible how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path, self.line, self.column, self.message
        )
    }
}

/// Why boundary sets could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The manifest or its files are invalid; all problems found, in file order.
    #[error("{}", join(.0))]
    Invalid(Vec<Problem>),
    /// `boundaries.yaml` itself could not be read (by [`crate::Boundaries::load_dir`]).
    #[error("{path}: {source}")]
    Io {
        /// The path that failed.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    /// The located problems (empty for [`Error::Io`]).
    pub fn problems(&self) -> &[Problem] {
        match self {
            Error::Invalid(p) => p,
            Error::Io { .. } => &[],
        }
    }
}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
