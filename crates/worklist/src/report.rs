//! The layer report (`runs/{dataset}/run={run}/layer-{layer}.json`), built from the completion marker and the
//! per-job done markers and failure records.

use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use crate::layout::RunKeys;
pub use crate::markers::JobStatus;
use crate::markers::{JobRecord, LayerMarker, read_json};

/// Version of the report format.
pub const REPORT_VERSION: u32 = 1;

/// What a layer did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerReport {
    /// Always [`REPORT_VERSION`].
    pub version: u32,
    /// Dataset id.
    pub dataset: String,
    /// Run id.
    pub run_id: String,
    /// Layer name.
    pub layer: String,
    /// Jobs done + failed.
    pub jobs_total: usize,
    /// Jobs with a done marker.
    pub jobs_done: usize,
    /// Jobs given up on.
    pub jobs_failed: usize,
    /// Sum of the successful attempts' durations.
    pub total_duration_ms: u64,
    /// The layer started next, if any.
    pub next_layer: Option<String>,
    /// One entry per job, done first (in completion-marker order), then failed.
    pub jobs: Vec<JobReport>,
}

/// One job's line in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobReport {
    /// Job id.
    pub job: String,
    /// `done` or `failed`.
    pub status: JobStatus,
    /// Attempts made (the successful one included).
    pub attempts: u32,
    /// Duration of the successful attempt.
    pub duration_ms: Option<u64>,
    /// Last error of a failed job.
    pub error: Option<String>,
    /// The runner's summary of a done job.
    pub summary: Option<serde_json::Value>,
}

/// Build the report of the layer `marker` completed, reading each job's record.
pub async fn build(
    store: &dyn ObjectStore,
    dataset: &str,
    run_id: &str,
    marker: &LayerMarker,
) -> Result<LayerReport, object_store::Error> {
    let keys = RunKeys::new(dataset, run_id);
    let mut jobs = Vec::with_capacity(marker.done.len() + marker.failed.len());
    for job in marker.done.iter().chain(&marker.failed) {
        let key = keys.job_record(&marker.layer, job);
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
        dataset: dataset.to_owned(),
        run_id: run_id.to_owned(),
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
    report: &LayerReport,
) -> Result<(), object_store::Error> {
    let key = RunKeys::new(&report.dataset, &report.run_id).layer_report(&report.layer);
    let body = serde_json::to_vec_pretty(report).expect("report serializes");
    store.put(&key, PutPayload::from(body)).await?;
    Ok(())
}

/// Read the report of `layer`, if written.
pub async fn read(
    store: &dyn ObjectStore,
    dataset: &str,
    run_id: &str,
    layer: &str,
) -> Result<Option<LayerReport>, object_store::Error> {
    read_json(store, &RunKeys::new(dataset, run_id).layer_report(layer)).await
}

fn missing(key: &object_store::path::Path) -> object_store::Error {
    object_store::Error::NotFound {
        path: key.to_string(),
        source: "record listed in the layer completion marker is missing".into(),
    }
}
