//! Sources of CSV records: a local file (plain or gzip), an https URL (streamed), or the Socrata
//! SODA resource endpoint (paged by `:id`). Each yields the header, then records with line numbers.

mod csv_stream;
mod http;
mod retry;
mod socrata;

use std::path::PathBuf;

use tokio::runtime::Handle;

pub use csv_stream::{CsvPosition, CsvStream};
pub use retry::RetryPolicy;
pub use socrata::SocrataSource;

use crate::error::{Error, Result};

/// What to read.
#[derive(Debug, Clone)]
pub enum SourceSpec {
    /// A local CSV file, plain or gzip (detected by its magic bytes).
    File { path: PathBuf },
    /// A CSV (plain or `.gz`) at an http(s) URL, streamed; a connection dropped mid-body is resumed
    /// with `Range` from the last byte received (`retry` paces the attempts).
    Https { url: String, retry: RetryPolicy },
    /// A Socrata dataset read through the SODA resource CSV endpoint, page after page.
    Socrata(SocrataSpec),
}

/// Parameters of a Socrata source. `Debug` does not show the app token.
#[derive(Clone)]
pub struct SocrataSpec {
    /// Scheme and host, e.g. `https://data.lacity.org` (a local server in tests).
    pub base_url: String,
    /// The 4x4 id.
    pub dataset_id: String,
    /// Data year (recorded in the manifest).
    pub year: Option<i32>,
    /// Rows per page (`$limit`).
    pub page_rows: usize,
    /// Value of the `X-App-Token` header.
    pub app_token: Option<String>,
    /// Retry and backoff of each page request.
    pub retry: RetryPolicy,
}

impl std::fmt::Debug for SocrataSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocrataSpec")
            .field("base_url", &self.base_url)
            .field("dataset_id", &self.dataset_id)
            .field("year", &self.year)
            .field("page_rows", &self.page_rows)
            .field("app_token", &self.app_token.as_ref().map(|_| "<redacted>"))
            .field("retry", &self.retry)
            .finish()
    }
}

/// Environment variable of the `civic` CLI holding the Socrata app token for local runs (the CLI passes it to
/// the local topology as the value of the function's SSM parameter; this library never reads the environment).
pub const APP_TOKEN_ENV: &str = "SOCRATA_APP_TOKEN";

impl SocrataSpec {
    /// A spec with default paging (10,000 rows) and retry policy, without an app token (the caller sets one).
    pub fn new(base_url: &str, dataset_id: &str, year: Option<i32>) -> Self {
        SocrataSpec {
            base_url: base_url.trim_end_matches('/').to_string(),
            dataset_id: dataset_id.to_string(),
            year,
            page_rows: 10_000,
            app_token: None,
            retry: RetryPolicy::default(),
        }
    }
}

impl SourceSpec {
    /// The catalogued Socrata source of `year` (`base_url` overrides `https://<socrata_domain>`).
    /// Shared by the CLI and the Lambda so both resolve a year the same way.
    pub fn socrata_year(
        spec: &crate::catalog::DatasetSpec,
        year: i32,
        base_url: Option<&str>,
    ) -> Result<Self> {
        let entry = spec.source_for_year(year).ok_or_else(|| {
            let years: Vec<String> = spec.sources.iter().map(|s| s.year.to_string()).collect();
            Error::Invalid(format!(
                "dataset {} has no source for {year} (catalogued: {})",
                spec.id,
                years.join(", ")
            ))
        })?;
        let id = entry.dataset_id.as_deref().ok_or_else(|| {
            Error::Invalid(format!(
                "the {year} source of {} is not a Socrata dataset",
                spec.id
            ))
        })?;
        let base = match (base_url, &spec.socrata_domain) {
            (Some(b), _) => b.to_string(),
            (None, Some(d)) => format!("https://{d}"),
            (None, None) => {
                return Err(Error::Invalid(format!(
                    "dataset {} has no socrata_domain and no base URL was given",
                    spec.id
                )));
            }
        };
        Ok(SourceSpec::Socrata(SocrataSpec::new(&base, id, Some(year))))
    }

    /// `https://...`/`http://...` is a URL, `file:PATH` or anything else a local path.
    pub fn from_input(input: &str) -> Self {
        if input.starts_with("https://") || input.starts_with("http://") {
            SourceSpec::Https {
                url: input.to_string(),
                retry: RetryPolicy::default(),
            }
        } else {
            let path = input
                .strip_prefix("file://")
                .or_else(|| input.strip_prefix("file:"));
            SourceSpec::File {
                path: PathBuf::from(path.unwrap_or(input)),
            }
        }
    }

    /// Kind as recorded in the manifest.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceSpec::File { .. } => "file",
            SourceSpec::Https { .. } => "https",
            SourceSpec::Socrata(_) => "socrata",
        }
    }

    /// URI as recorded in the manifest.
    pub fn uri(&self) -> String {
        match self {
            SourceSpec::File { path } => path.display().to_string(),
            SourceSpec::Https { url, .. } => url.clone(),
            SourceSpec::Socrata(s) => format!("{}/resource/{}.csv", s.base_url, s.dataset_id),
        }
    }
}

/// Where a source stands after the last record it served: enough to continue in another process
/// (a checkpoint) without reading or duplicating a row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Position {
    /// A byte stream (file or https): the next record's offset in the decompressed CSV. A gzip
    /// stream is re-read from its start and decompressed up to `at.byte`; a plain file is seeked; a
    /// plain https body is requested with `Range`.
    Csv { at: CsvPosition, gzip: bool },
    /// Socrata keyset paging: the `:id` of the last row served, rows served, pages fetched.
    Socrata {
        last_id: Option<String>,
        rows_served: u64,
        pages: u64,
    },
}

/// A stream of CSV records: the header first, then data records.
pub trait RecordSource: Send {
    /// Where the source stands after the last record served.
    fn position(&self) -> Position;
    /// The header record.
    fn header(&self) -> &csv::ByteRecord;
    /// Read the next record into `rec`; returns the 1-based line it starts on, or None at the end.
    fn next_record(&mut self, rec: &mut csv::ByteRecord) -> Result<Option<u64>>;
    /// Source bytes consumed so far (for progress).
    fn bytes_read(&self) -> u64;
    /// Total bytes when known in advance (for progress).
    fn total_bytes(&self) -> Option<u64>;
}

/// Open a source. Must be called on a blocking thread: network I/O is driven through `rt`.
pub fn open(spec: &SourceSpec, rt: &Handle) -> Result<Box<dyn RecordSource>> {
    match spec {
        SourceSpec::File { path } => {
            let shown = path.display().to_string();
            let io = |source| Error::Io {
                path: shown.clone(),
                source,
            };
            let file = std::fs::File::open(path).map_err(io)?;
            let len = file.metadata().map_err(io)?.len();
            let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
            let gz = is_gzip(&mut reader).map_err(io)?;
            if gz {
                let dec = flate2::bufread::MultiGzDecoder::new(reader);
                Ok(Box::new(
                    CsvStream::new(dec, &shown, None)?.compressed(true),
                ))
            } else {
                Ok(Box::new(CsvStream::new(reader, &shown, Some(len))?))
            }
        }
        SourceSpec::Https { url, retry } => http::open(url, rt, retry),
        SourceSpec::Socrata(s) => Ok(Box::new(SocrataSource::open(s.clone(), rt.clone())?)),
    }
}

/// Open a source again at `at` (a checkpoint's position), with the header an earlier segment read.
/// Must be called on a blocking thread.
pub fn open_at(
    spec: &SourceSpec,
    rt: &Handle,
    header: csv::ByteRecord,
    at: &Position,
) -> Result<Box<dyn RecordSource>> {
    let mismatch = || {
        Error::Invalid(format!(
            "the checkpoint's position ({at:?}) does not fit a {} source",
            spec.kind()
        ))
    };
    match (spec, at) {
        (SourceSpec::File { path }, Position::Csv { at, gzip }) => {
            use std::io::{Seek, SeekFrom};
            let shown = path.display().to_string();
            let io = |source| Error::Io {
                path: shown.clone(),
                source,
            };
            let mut file = std::fs::File::open(path).map_err(io)?;
            let len = file.metadata().map_err(io)?.len();
            if *gzip {
                let reader = std::io::BufReader::with_capacity(1 << 20, file);
                let mut dec = flate2::bufread::MultiGzDecoder::new(reader);
                skip(&mut dec, at.byte).map_err(io)?;
                Ok(Box::new(
                    CsvStream::resume(dec, &shown, None, header, *at).compressed(true),
                ))
            } else {
                file.seek(SeekFrom::Start(at.byte)).map_err(io)?;
                let reader = std::io::BufReader::with_capacity(1 << 20, file);
                Ok(Box::new(CsvStream::resume(
                    reader,
                    &shown,
                    Some(len),
                    header,
                    *at,
                )))
            }
        }
        (SourceSpec::Https { url, retry }, Position::Csv { at, gzip }) => {
            http::open_at(url, rt, retry, header, *at, *gzip)
        }
        (
            SourceSpec::Socrata(s),
            Position::Socrata {
                last_id,
                rows_served,
                pages,
            },
        ) => Ok(Box::new(SocrataSource::resume(
            s.clone(),
            rt.clone(),
            header,
            last_id.clone(),
            *rows_served,
            *pages,
        )?)),
        _ => Err(mismatch()),
    }
}

/// Read and drop `n` bytes (a gzip stream cannot seek); a shorter stream is an error.
pub(crate) fn skip<R: std::io::Read>(r: &mut R, n: u64) -> std::io::Result<()> {
    let got = std::io::copy(&mut std::io::Read::take(r, n), &mut std::io::sink())?;
    if got < n {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("the source ended after {got} bytes, before the checkpoint's offset {n}"),
        ));
    }
    Ok(())
}

fn is_gzip(r: &mut impl std::io::BufRead) -> std::io::Result<bool> {
    let head = r.fill_buf()?;
    Ok(head.starts_with(&[0x1f, 0x8b]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogued_year_resolves_to_its_socrata_id() {
        let spec = crate::Catalog::builtin().load("la311").unwrap();
        let SourceSpec::Socrata(s) = SourceSpec::socrata_year(&spec, 2018, None).unwrap() else {
            panic!("not socrata")
        };
        assert_eq!(
            (s.base_url.as_str(), s.dataset_id.as_str(), s.year),
            ("https://data.lacity.org", "h65r-yf5i", Some(2018))
        );
        let err = SourceSpec::socrata_year(&spec, 2014, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no source for 2014 (catalogued: 2015,"),
            "{err}"
        );
        assert!(matches!(
            SourceSpec::from_input("file:/x.csv"),
            SourceSpec::File { .. }
        ));
        assert!(matches!(
            SourceSpec::from_input("https://h/x.csv.gz"),
            SourceSpec::Https { .. }
        ));
    }

    #[test]
    fn debug_output_never_shows_the_app_token() {
        let mut s = SocrataSpec::new("https://h", "abcd-1234", None);
        s.app_token = Some("tok-secret".into());
        let shown = format!("{:?}", SourceSpec::Socrata(s));
        assert!(!shown.contains("tok-secret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
