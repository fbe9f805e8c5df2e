//! One invocation's share of a run: ingest a segment, then either continue in a new invocation of the function
//! (the checkpoint is written) or, when the source is read to the end, send the hand-off to the worklist.

use crate::{Error, Function, IngestEvent, continuation};

pub(crate) async fn run(
    f: &Function<'_>,
    event: IngestEvent,
    deadline: Option<std::time::Instant>,
) -> Result<serde_json::Value, Error> {
    let spec = f.spec(&event.dataset)?;
    let source = crate::source_with(&event, &spec, f.app_token.as_ref(), &f.options)?;
    let run_id = event
        .run_id
        .clone()
        .unwrap_or_else(ingest_core::locations::new_run_id);
    let opts = ingest_core::IngestOptions {
        run_id: Some(run_id.clone()),
        drift: harmonize::drift::ingest_check(&event.dataset),
        deadline,
        ..f.ingest_options()
    };
    let grants = crate::Locations::granted();
    let report = match ingest_core::ingest_segment(
        f.data.clone(),
        grants.ingestion(),
        &spec,
        source,
        opts,
    )
    .await?
    {
        ingest_core::Segment::Complete(report) => *report,
        ingest_core::Segment::Suspended {
            checkpoint, key, ..
        } => {
            if checkpoint.segments >= continuation::MAX_SEGMENTS {
                return Err(Error::internal(format_args!(
                    "run {run_id} stopped after {} segments ({} rows read; checkpoint {key}): \
                     more than {} invocations is not continued automatically; give the \
                     function more memory (CPU) or invoke it again with this run_id",
                    checkpoint.segments,
                    checkpoint.rows_read,
                    continuation::MAX_SEGMENTS
                )));
            }
            let next = IngestEvent {
                run_id: Some(run_id.clone()),
                ..event
            };
            let payload = serde_json::to_value(&next).map_err(Error::internal)?;
            f.platform.invoke_self(&payload).await?;
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
    };
    let m = &report.manifest;
    let jobs = hand_off(f, m).await?;
    Ok(serde_json::json!({
        "run_id": m.run_id,
        "manifest": report.manifest_key,
        "rows_read": m.rows_read,
        "rows_written": m.rows_written,
        "rows_quarantined": m.rows_quarantined,
        "jobs": jobs,
        "partitioner_peak_bytes": report.budget.peak_buffered_bytes,
        "handed_off": true,
    }))
}

/// Send the first worklist message(s) of the run's first layer, listing every partition job; returns the number
/// of jobs.
async fn hand_off(f: &Function<'_>, m: &ingest_core::RunManifest) -> Result<usize, Error> {
    let work = prefixes::ingest::queues::WORKLIST;
    let layer = work
        .layers
        .first()
        .ok_or_else(|| Error::internal("the worklist queue declares no layers"))?;
    let jobs = ingest_core::job_ids(m);
    let start =
        worklist::LayerStart::new(&m.dataset, &m.run_id, layer, jobs.clone()).lanes(work.lanes);
    worklist::start_layer(
        start,
        f.data.as_ref(),
        crate::Locations::granted().worklist,
        f.queue.as_ref(),
        worklist::message::SQS_MAX_MESSAGE_BYTES,
    )
    .await
    .map_err(|e| {
        Error::retryable(format_args!(
            "hand-off to the worklist failed (rerun with run_id {}): {e}",
            m.run_id
        ))
    })?;
    Ok(jobs.len())
}
