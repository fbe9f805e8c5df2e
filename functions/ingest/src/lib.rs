//! Handler library of the `ingest` Lambda: stream one source into the raw layer, then hand ONE worklist
//! message listing every partition job to the processing queue.
//!
//! The locations are the generated `prefixes` handles with their access types, so a grant removed from
//! prefixes.yaml (and regenerated) stops this crate from compiling instead of failing with AccessDenied.

pub mod app_token;
pub mod continuation;

use std::sync::Arc;

use object_store::ObjectStore;
use prefixes::Prefix;
use prefixes::access::{ReadWrite, Write};
use prefixes::keys::{Quarantine, Raw, Runs, Worklist};
use serde::{Deserialize, Serialize};

pub use app_token::AppToken;
pub use continuation::{Continuer, LambdaContinuer};

/// Where ingestion writes: raw partitions, quarantined rows, the run manifest, claim-check job lists.
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

/// The catalog compiled into the function (datasets/<id>/dataset.yaml).
pub fn dataset_spec(id: &str) -> anyhow::Result<ingest_core::DatasetSpec> {
    match id {
        "la311" => Ok(ingest_core::DatasetSpec::from_yaml(
            include_str!("../../../datasets/la311/dataset.yaml"),
            "datasets/la311/dataset.yaml",
        )?),
        other => anyhow::bail!("unknown dataset '{other}' (this build knows: la311)"),
    }
}

/// Ingest, then send the hand-off. Returns the run summary the invocation answers with.
/// The hand-off is sent only after the manifest is written; a failed send fails the invocation, and
/// rerunning the same `run_id` is safe (deterministic keys, the worklist skips finished jobs).
/// `app_token` is the one [`app_token::resolve`] found at cold start; Socrata sources send it.
pub async fn handle(
    event: IngestEvent,
    data: Arc<dyn ObjectStore>,
    queue: &dyn worklist::Queue,
    app_token: Option<&AppToken>,
) -> anyhow::Result<serde_json::Value> {
    run(event, data, queue, lambda_options(), app_token, None).await
}

/// One invocation's share of a run: [`handle`] until `deadline` (see
/// [`continuation::segment_deadline`]); when the source is not finished by then, the checkpoint is
/// written and `continuer` starts the next segment with the same event and run id, and the answer
/// says `"continued": true`. The hand-off is sent by the segment that completes the run.
pub async fn handle_segment(
    event: IngestEvent,
    data: Arc<dyn ObjectStore>,
    queue: &dyn worklist::Queue,
    app_token: Option<&AppToken>,
    deadline: std::time::Instant,
    continuer: &dyn Continuer,
) -> anyhow::Result<serde_json::Value> {
    let opts = ingest_core::IngestOptions {
        deadline: Some(deadline),
        ..lambda_options()
    };
    run(event, data, queue, opts, app_token, Some(continuer)).await
}

/// Log progress and the memory budget of this Lambda's size.
fn lambda_options() -> ingest_core::IngestOptions {
    ingest_core::IngestOptions {
        progress: Some(Arc::new(ingest_core::LogProgress::new(100_000))),
        partitioner: ingest_core::partitioner::PartitionerConfig::for_process(memory_budget(
            std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
                .ok()
                .as_deref(),
        )),
        ..Default::default()
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

/// [`handle`] with the caller's partitioner settings and progress sink (`civic demo` shows a bar); the run id
/// and the drift check still come from the event. Socrata sources take the token from `SOCRATA_APP_TOKEN`.
pub async fn handle_with(
    event: IngestEvent,
    data: Arc<dyn ObjectStore>,
    queue: &dyn worklist::Queue,
    opts: ingest_core::IngestOptions,
) -> anyhow::Result<serde_json::Value> {
    run(event, data, queue, opts, None, None).await
}

/// What the event asks to read. A resolved `app_token` replaces the `SOCRATA_APP_TOKEN` fallback of
/// Socrata sources; other sources ignore it.
pub fn source_of(
    event: &IngestEvent,
    spec: &ingest_core::DatasetSpec,
    app_token: Option<&AppToken>,
) -> anyhow::Result<ingest_core::SourceSpec> {
    let mut source = match (&event.year, &event.source) {
        (Some(year), None) => ingest_core::SourceSpec::socrata_year(spec, *year, None)?,
        (None, Some(src)) => ingest_core::SourceSpec::from_input(src),
        _ => anyhow::bail!(
            "the event names exactly one of `year` (a catalogued Socrata year) or `source` (a path or URL)"
        ),
    };
    if let (Some(token), ingest_core::SourceSpec::Socrata(s)) = (app_token, &mut source) {
        s.app_token = Some(token.expose().to_string());
    }
    Ok(source)
}

async fn run(
    event: IngestEvent,
    data: Arc<dyn ObjectStore>,
    queue: &dyn worklist::Queue,
    opts: ingest_core::IngestOptions,
    app_token: Option<&AppToken>,
    continuer: Option<&dyn Continuer>,
) -> anyhow::Result<serde_json::Value> {
    let spec = dataset_spec(&event.dataset)?;
    let source = source_of(&event, &spec, app_token)?;
    let run_id = event
        .run_id
        .clone()
        .unwrap_or_else(ingest_core::locations::new_run_id);
    let opts = ingest_core::IngestOptions {
        run_id: Some(run_id.clone()),
        drift: harmonize::drift::ingest_check(&event.dataset),
        ..opts
    };
    let grants = Locations::granted();
    let report = match continuer {
        None => ingest_core::ingest(data.clone(), grants.ingestion(), &spec, source, opts).await?,
        Some(continuer) => {
            match ingest_core::ingest_segment(data.clone(), grants.ingestion(), &spec, source, opts)
                .await?
            {
                ingest_core::Segment::Complete(report) => *report,
                ingest_core::Segment::Suspended {
                    checkpoint, key, ..
                } => {
                    if checkpoint.segments >= continuation::MAX_SEGMENTS {
                        anyhow::bail!(
                            "run {run_id} stopped after {} segments ({} rows read; checkpoint {key}): \
                             more than {} invocations is not continued automatically; give the \
                             function more memory (CPU) or invoke it again with this run_id",
                            checkpoint.segments,
                            checkpoint.rows_read,
                            continuation::MAX_SEGMENTS
                        );
                    }
                    let next = IngestEvent {
                        run_id: Some(run_id.clone()),
                        ..event
                    };
                    continuer.continue_run(&next).await?;
                    tracing::info!(run = %run_id, segment = checkpoint.segments, rows = checkpoint.rows_read, "continued in a new invocation");
                    return Ok(serde_json::json!({
                        "run_id": run_id,
                        "checkpoint": key,
                        "segment": checkpoint.segments,
                        "rows_read": checkpoint.rows_read,
                        "continued": true,
                        "handed_off": false,
                    }));
                }
            }
        }
    };
    let m = &report.manifest;
    let work = prefixes::ingest::queues::WORKLIST;
    let layer = work
        .layers
        .first()
        .ok_or_else(|| anyhow::anyhow!("the worklist queue declares no layers"))?;
    let jobs = ingest_core::job_ids(m);
    let start = worklist::LayerStart::new(&m.dataset, &m.run_id, layer, jobs.clone()).lanes(work.lanes);
    worklist::start_layer(
        start,
        data.as_ref(),
        grants.worklist,
        queue,
        worklist::message::SQS_MAX_MESSAGE_BYTES,
    )
    .await
    .map_err(|e| {
        anyhow::anyhow!(
            "hand-off to the worklist failed (rerun with run_id {}): {e}",
            m.run_id
        )
    })?;
    Ok(serde_json::json!({
        "run_id": m.run_id,
        "manifest": report.manifest_key,
        "rows_read": m.rows_read,
        "rows_written": m.rows_written,
        "rows_quarantined": m.rows_quarantined,
        "jobs": jobs.len(),
        "handed_off": true,
    }))
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
}
