//! The layer report (object `layer-report` of the `runs` prefix; the type is [`contract::LayerReport`]), built
//! from the completion marker and the per-job done markers and failure records.

use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use prefixes::Prefix;
use prefixes::access::Read;
use prefixes::keys::{Runs, RunsKey, runs};

use crate::keys::{RunKeys, key_error, path};
pub use crate::markers::JobStatus;
use crate::markers::{JobRecord, LayerMarker, read_json};

pub use contract::layer::{JobReport, LayerReport, REPORT_VERSION};

/// Build the report of the layer `marker` completed, reading each job's record.
pub async fn build(
    store: &dyn ObjectStore,
    keys: &RunKeys<'_>,
    marker: &LayerMarker,
) -> Result<LayerReport, object_store::Error> {
    let mut jobs = Vec::with_capacity(marker.done.len() + marker.failed.len());
    for job in marker.done.iter().chain(&marker.failed) {
        let key = keys.job_record(&marker.layer, job).map_err(key_error)?;
        let record: JobRecord = read_json(store, &key).await?.ok_or_else(|| missing(&key))?;
        jobs.push(JobReport {
            job: job.clone(),
            status: record.status,
            attempts: record.attempts,
            duration_ms: record.duration_ms,
            error: record.error,
            summary: record.summary,
        });
    }
    Ok(LayerReport {
        version: REPORT_VERSION,
        dataset: keys.dataset().to_owned(),
        run_id: keys.run_id().to_owned(),
        layer: marker.layer.clone(),
        jobs_total: jobs.len(),
        jobs_done: marker.done.len(),
        jobs_failed: marker.failed.len(),
        total_duration_ms: jobs.iter().filter_map(|j| j.duration_ms).sum(),
        next_layer: marker.next_layer.clone(),
        jobs,
    })
}

/// Write `report` to its key (overwriting: it is a pure function of the completion marker and job records).
pub async fn write(
    store: &dyn ObjectStore,
    keys: &RunKeys<'_>,
    report: &LayerReport,
) -> Result<(), object_store::Error> {
    let key = keys.layer_report(&report.layer).map_err(key_error)?;
    let body = serde_json::to_vec_pretty(report).expect("report serializes");
    store.put(&key, PutPayload::from(body)).await?;
    Ok(())
}

/// Read the report of `layer`, if written.
pub async fn read(
    store: &dyn ObjectStore,
    runs: Prefix<Runs, Read>,
    dataset: &str,
    run_id: &str,
    layer: &str,
) -> Result<Option<LayerReport>, object_store::Error> {
    let key = path(runs.read_key(&RunsKey { dataset, run_id }, &runs::LayerReport { layer }))
        .map_err(key_error)?;
    read_json(store, &key).await
}

fn missing(key: &object_store::path::Path) -> object_store::Error {
    object_store::Error::NotFound {
        path: key.to_string(),
        source: "record listed in the layer completion marker is missing".into(),
    }
}
