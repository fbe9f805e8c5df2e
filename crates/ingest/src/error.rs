//! Error type of the ingestion library: every variant names the file, key, row or URL it is about.

/// Result alias for the ingestion library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop an ingestion run (bad rows never do: they are quarantined).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The dataset catalog could not be read or is invalid.
    #[error("{path}:{line}:{column}: {message}")]
    Catalog {
        path: String,
        line: u64,
        column: u64,
        message: String,
    },
    /// A local file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The CSV stream itself is unreadable (not a single bad row).
    #[error("{uri}: CSV error near line {line}: {message}")]
    Csv {
        uri: String,
        line: u64,
        message: String,
    },
    /// The header is unusable (missing or ambiguous partition column, not UTF-8, a reserved name).
    #[error("{uri}: bad header: {message}")]
    Header { uri: String, message: String },
    /// An HTTP source failed for good (after retries, or a non-retryable status).
    #[error("{url}: {message}")]
    Http { url: String, message: String },
    /// Writing to or reading from the object store failed.
    #[error("object store, key {key}: {source}")]
    Store {
        key: String,
        #[source]
        source: object_store::Error,
    },
    /// Parquet or Arrow encoding failed.
    #[error("parquet, key {key}: {message}")]
    Parquet { key: String, message: String },
    /// Counts do not add up: the run is not declared complete.
    #[error(
        "accounting mismatch: rows_read {read} != rows_written {written} + rows_quarantined {quarantined}"
    )]
    Accounting {
        read: u64,
        written: u64,
        quarantined: u64,
    },
    /// An invalid argument (run id, source spec, dataset id).
    #[error("invalid argument: {0}")]
    Invalid(String),
}

impl Error {
    pub(crate) fn store(key: impl Into<String>, source: object_store::Error) -> Self {
        Error::Store {
            key: key.into(),
            source,
        }
    }
    pub(crate) fn parquet(key: impl Into<String>, e: impl std::fmt::Display) -> Self {
        Error::Parquet {
            key: key.into(),
            message: e.to_string(),
        }
    }
}
