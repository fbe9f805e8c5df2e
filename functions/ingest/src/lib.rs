//! Handler library of the `ingest` Lambda: [`Function`], wired from a [`platform::Platform`] like the other
//! functions (`process::Function`, `ledger_api::app`), streams one source into the raw layer, continues itself
//! past its invocation's deadline, then hands ONE worklist message listing every partition job to the
//! processing queue. Everything it reads from outside (variables, the data bucket, the worklist queue, the SSM
//! app token, its own continuation) comes through the platform.
//!
//! The locations are the generated `prefixes` handles with their access types, so a grant removed from
//! prefixes.yaml (and regenerated) stops this crate from compiling instead of failing with AccessDenied.

pub mod app_token;
pub mod continuation;
pub mod error;
mod run;

use std::sync::Arc;

use chrono::Datelike;

use object_store::ObjectStore;
use prefixes::Prefix;
use prefixes::access::{ReadWrite, Write};
use prefixes::keys::{Quarantine, Raw, Runs, Worklist};
use serde::{Deserialize, Serialize};

pub use app_token::AppToken;
pub use error::{Category, Error};

/// Where ingestion writes: raw partitions, quarantined rows, the run manifest and checkpoint (read back to
/// continue a run), claim-check job lists.
#[derive(Debug, Clone, Copy)]
pub struct Locations {
    pub raw: Prefix<Raw, Write>,
    pub quarantine: Prefix<Quarantine, Write>,
    pub runs: Prefix<Runs, ReadWrite>,
    pub worklist: Prefix<Worklist, Write>,
}

impl Locations {
    pub const fn granted() -> Self {
        use prefixes::ingest as p;
        Locations {
            raw: p::raw(),
            quarantine: p::quarantine(),
            runs: p::runs(),
            worklist: p::worklist(),
        }
    }

    /// The grants ingestion's library writes under.
    pub const fn ingestion(&self) -> ingest_core::Locations {
        ingest_core::Locations {
            raw: self.raw,
            quarantine: self.quarantine,
            runs: self.runs,
        }
    }
}

/// The invocation event: `{"dataset": "la311", "year": 2024}` or `{"dataset": "la311", "source": "https://..."}`.
/// A continuation (the function invoking itself) sends the same event with the run id filled in.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IngestEvent {
    pub dataset: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    /// A file path or URL (plain or .gz), instead of a catalogued Socrata year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Reuse a run id (a rerun, or the next segment of a run that has a checkpoint); a fresh one
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

/// The catalog compiled into the function (every `datasets/<id>/dataset.yaml` of the repository).
pub fn dataset_spec(id: &str) -> Result<ingest_core::DatasetSpec, Error> {
    load_spec(&ingest_core::Catalog::builtin(), id)
}

/// `id` from `catalog`; an id the catalog does not hold is bad input (the event names it).
fn load_spec(catalog: &ingest_core::Catalog, id: &str) -> Result<ingest_core::DatasetSpec, Error> {
    if let Err(e) = catalog.files().dataset(id) {
        return Err(Error::bad_input(format_args!("{e}")));
    }
    Ok(catalog.load(id)?)
}

/// What a caller other than the Lambda runtime may tune (the local CLI's flags). The defaults are the Lambda's:
/// a memory budget of half the function's memory, progress as log lines, the compiled-in catalog.
#[derive(Clone, Default)]
pub struct Options {
    /// Partitioner settings instead of [`memory_budget`]'s.
    pub partitioner: Option<ingest_core::partitioner::PartitionerConfig>,
    /// Progress sink instead of a log line every 100,000 rows.
    pub progress: Option<Arc<dyn ingest_core::Progress>>,
    /// Dataset catalog directory instead of the compiled-in one.
    pub catalog: Option<ingest_core::Catalog>,
    /// Socrata base URL instead of `https://<socrata_domain>` of the catalog.
    pub socrata_base_url: Option<String>,
    /// Rows per Socrata page instead of the default.
    pub page_rows: Option<usize>,
}

/// The `ingest` function as its `main` runs it; it borrows the platform for the self-invocation that continues a
/// run.
pub struct Function<'p> {
    data: Arc<dyn ObjectStore>,
    queue: Arc<dyn worklist::Queue>,
    app_token: Option<AppToken>,
    memory_mb: Option<String>,
    platform: &'p dyn platform::Platform,
    options: Options,
}

impl<'p> Function<'p> {
    /// Wire the function from the platform: the data bucket and the worklist queue from the variables the
    /// template sets, the Socrata app token from its SSM parameter (once: this is the cold start), the memory
    /// size the runtime reports.
    pub async fn new(platform: &'p dyn platform::Platform) -> Result<Self, Error> {
        let data = platform.bucket(Locations::granted().raw.bucket())?;
        let queue = platform.queue(prefixes::ingest::queues::WORKLIST)?;
        let app_token = app_token::resolve(platform, &app_token::PARAMETER).await?;
        Ok(Function {
            data,
            queue,
            app_token,
            memory_mb: platform.var(platform::ENV_FUNCTION_MEMORY_MB),
            platform,
            options: Options::default(),
        })
    }

    /// The same function with the caller's tuning (see [`Options`]).
    pub fn with_options(self, options: Options) -> Self {
        Function { options, ..self }
    }

    /// Whether a token was resolved at cold start (never the token itself).
    pub fn has_app_token(&self) -> bool {
        self.app_token.is_some()
    }

    /// One invocation: ingest the event's source until `deadline` (see [`continuation::segment_deadline`]; none:
    /// to the end). When the source is not finished by then, the checkpoint is written, the function invokes
    /// itself with the same event and run id, and the answer says `"continued": true`. The segment that
    /// completes the run writes the manifest, then sends the hand-off; a failed send fails the invocation
    /// (retryable: rerunning the same `run_id` is safe, keys are deterministic and the worklist skips finished
    /// jobs). Returns the run summary the invocation answers with.
    pub async fn handle(
        &self,
        event: serde_json::Value,
        deadline: Option<std::time::Instant>,
    ) -> Result<serde_json::Value, Error> {
        let event: IngestEvent = serde_json::from_value(event)
            .map_err(|e| Error::bad_input(format_args!("the event is not an ingest event: {e}")))?;
        run::run(self, event, deadline).await
    }

    fn ingest_options(&self) -> ingest_core::IngestOptions {
        ingest_core::IngestOptions {
            progress: Some(self.options.progress.clone().unwrap_or_else(|| {
                Arc::new(ingest_core::LogProgress::new(100_000)) as Arc<dyn ingest_core::Progress>
            })),
            partitioner: self.options.partitioner.clone().unwrap_or_else(|| {
                ingest_core::partitioner::PartitionerConfig::for_process(memory_budget(
                    self.memory_mb.as_deref(),
                ))
            }),
            ..Default::default()
        }
    }

    fn spec(&self, dataset: &str) -> Result<ingest_core::DatasetSpec, Error> {
        match &self.options.catalog {
            Some(catalog) => load_spec(catalog, dataset),
            None => dataset_spec(dataset),
        }
    }
}

/// The ingestion's memory target inside a Lambda of `memory_mb` (the runtime's
/// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`): half of it, so the other half absorbs what no accounting
/// sees; 128 MiB when unset or unreadable. Larger budgets give larger row groups and fewer files.
pub fn memory_budget(memory_mb: Option<&str>) -> usize {
    const MIB: usize = 1024 * 1024;
    memory_mb
        .and_then(|mb| mb.trim().parse::<usize>().ok())
        .map_or(128 * MIB, |mb| (mb * MIB / 2).max(64 * MIB))
}

/// What the event asks to read. A resolved `app_token` goes into Socrata sources; other sources ignore it.
pub fn source_of(
    event: &IngestEvent,
    spec: &ingest_core::DatasetSpec,
    app_token: Option<&AppToken>,
) -> Result<ingest_core::SourceSpec, Error> {
    source_with(event, spec, app_token, &Options::default())
}

fn source_with(
    event: &IngestEvent,
    spec: &ingest_core::DatasetSpec,
    app_token: Option<&AppToken>,
    options: &Options,
) -> Result<ingest_core::SourceSpec, Error> {
    let mut source = match (&event.year, &event.source) {
        (Some(year), None) => {
            ingest_core::SourceSpec::socrata_year(spec, *year, options.socrata_base_url.as_deref())?
        }
        (None, Some(src)) => ingest_core::SourceSpec::from_input(src),
        (None, None) => {
            // A schedule's event: the source holding the current year in Los Angeles.
            let year = chrono::Utc::now()
                .with_timezone(&chrono_tz::America::Los_Angeles)
                .year();
            if spec.source_for_year(year).is_none() {
                return Err(Error::bad_input(format_args!(
                    "the event names no `year` and dataset {} catalogues no source for the current year {year}",
                    spec.id
                )));
            }
            ingest_core::SourceSpec::socrata_year(spec, year, options.socrata_base_url.as_deref())?
        }
        (Some(_), Some(_)) => {
            return Err(Error::bad_input(
                "the event names at most one of `year` (a catalogued Socrata year) or `source` (a path or URL)",
            ));
        }
    };
    if let ingest_core::SourceSpec::Socrata(s) = &mut source {
        s.app_token = app_token.map(|t| t.expose().to_string());
        if let Some(rows) = options.page_rows {
            s.page_rows = rows;
        }
    }
    Ok(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: serde_json::Value) -> IngestEvent {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_resolved_token_goes_into_the_socrata_source() {
        let spec = dataset_spec("la311").unwrap();
        let year = event(serde_json::json!({"dataset": "la311", "year": 2018}));
        let token = AppToken::new("tok-from-ssm");
        let ingest_core::SourceSpec::Socrata(s) = source_of(&year, &spec, Some(&token)).unwrap()
        else {
            panic!("a catalogued year is a Socrata source")
        };
        assert_eq!(s.app_token.as_deref(), Some("tok-from-ssm"));
        let ingest_core::SourceSpec::Socrata(s) = source_of(&year, &spec, None).unwrap() else {
            panic!("a catalogued year is a Socrata source")
        };
        assert_eq!(s.app_token, None, "no token: anonymous requests");
        let file = event(serde_json::json!({"dataset": "la311", "source": "file:/x.csv"}));
        assert!(matches!(
            source_of(&file, &spec, Some(&token)).unwrap(),
            ingest_core::SourceSpec::File { .. }
        ));
    }

    #[test]
    fn the_token_is_redacted_in_debug_output() {
        let token = AppToken::new("tok-secret");
        assert_eq!(format!("{token:?}"), "AppToken(<redacted>)");
        assert_eq!(token.expose(), "tok-secret");
    }

    #[test]
    fn the_lambda_budget_is_half_the_function_memory() {
        const MIB: usize = 1024 * 1024;
        assert_eq!(memory_budget(Some("1024")), 512 * MIB);
        assert_eq!(memory_budget(Some("128")), 64 * MIB);
        assert_eq!(memory_budget(None), 128 * MIB);
        assert_eq!(memory_budget(Some("lots")), 128 * MIB);
    }

    #[test]
    fn a_malformed_event_is_bad_input() {
        let spec = dataset_spec("la311").unwrap();
        let both = event(serde_json::json!({"dataset": "la311", "year": 2018, "source": "x.csv"}));
        assert_eq!(
            source_of(&both, &spec, None).unwrap_err().category,
            Category::BadInput
        );
        assert_eq!(
            dataset_spec("nyc311").unwrap_err().category,
            Category::BadInput
        );
    }

    #[test]
    fn every_catalogued_dataset_loads_and_a_schedule_event_reads_this_years_source() {
        let ids: Vec<&str> = datasets::Catalog::builtin().ids().collect();
        assert!(
            ids.contains(&"lapd_crime") && ids.contains(&"ladbs_permits"),
            "{ids:?}"
        );
        for id in ids {
            let spec = dataset_spec(id).unwrap();
            // The schedules' events name only the dataset.
            let scheduled = event(serde_json::json!({ "dataset": id }));
            match source_of(&scheduled, &spec, None) {
                Ok(ingest_core::SourceSpec::Socrata(s)) => {
                    let year = chrono::Utc::now()
                        .with_timezone(&chrono_tz::America::Los_Angeles)
                        .year();
                    let entry = spec.source_for_year(year).unwrap();
                    assert_eq!(
                        Some(s.dataset_id.as_str()),
                        entry.dataset_id.as_deref(),
                        "{id}"
                    );
                }
                other => {
                    panic!("{id}: a schedule event should read a Socrata source, got {other:?}")
                }
            }
        }
        let crime = dataset_spec("lapd_crime").unwrap();
        let old = event(serde_json::json!({"dataset": "lapd_crime", "year": 2014}));
        match source_of(&old, &crime, None).unwrap() {
            ingest_core::SourceSpec::Socrata(s) => assert_eq!(s.dataset_id, "63jg-8b9z"),
            other => panic!("{other:?}"),
        }
    }
}
