//! The records the worklist keeps in the store (done markers, failure records, lane and layer markers) and the
//! create-only put that makes each of them happen once.

use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use object_store::path::Path;

/// A job's terminal state, written once with a create-only put: the first writer wins, so duplicate chains
/// racing on one job can never leave it both done and failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// Job id.
    pub job: String,
    /// Done or failed.
    pub status: JobStatus,
    /// Attempts made (the successful one included).
    pub attempts: u32,
    /// Wall time of the successful attempt.
    pub duration_ms: Option<u64>,
    /// The last error of a failed job.
    pub error: Option<String>,
    /// The runner's summary of a done job.
    pub summary: Option<serde_json::Value>,
    /// RFC 3339 time the record was written.
    pub at: String,
}

pub use contract::JobStatus;

/// Written (create-only) when a lane's list is empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaneMarker {
    /// Lane number.
    pub lane: u32,
    /// Hop at which the lane finished.
    pub hop: u64,
}

/// The layer completion marker: created once by the fan-in winner; it fixes the outcome and the next layer's jobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerMarker {
    /// Layer that completed.
    pub layer: String,
    /// Identity of the winning message (sha256 of its body); a redelivery of it resumes the fan-in.
    pub owner: String,
    /// Jobs recorded done, in manifest order.
    pub done: Vec<String>,
    /// Jobs recorded failed, in manifest order.
    pub failed: Vec<String>,
    /// Layer started next, if any.
    pub next_layer: Option<String>,
}

/// Put `value` at `key` only if nothing is there. `Ok(true)` = created, `Ok(false)` = it already existed.
pub async fn create_only<T: Serialize>(
    store: &dyn ObjectStore,
    key: &Path,
    value: &T,
) -> Result<bool, object_store::Error> {
    let body = serde_json::to_vec_pretty(value).expect("marker serializes");
    let opts = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    match store.put_opts(key, PutPayload::from(body), opts).await {
        Ok(_) => Ok(true),
        Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// True when an object exists at `key`.
pub async fn exists(store: &dyn ObjectStore, key: &Path) -> Result<bool, object_store::Error> {
    match store.head(key).await {
        Ok(_) => Ok(true),
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Read and parse the JSON at `key`; `Ok(None)` when absent.
pub async fn read_json<T: for<'de> Deserialize<'de>>(
    store: &dyn ObjectStore,
    key: &Path,
) -> Result<Option<T>, object_store::Error> {
    let bytes = match store.get(key).await {
        Ok(got) => got.bytes().await?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| object_store::Error::Generic {
            store: "worklist",
            source: format!("{key}: not the expected JSON record: {e}").into(),
        })
}

/// The names of the markers under `prefix` (job ids, lane numbers, dead-letter ids), sorted: the
/// objects of the `worklist` prefix that `loc` reads back.
pub async fn jobs_under(
    store: &dyn ObjectStore,
    loc: &crate::keys::Locations,
    prefix: &Path,
) -> Result<Vec<String>, object_store::Error> {
    use futures::TryStreamExt;
    let metas: Vec<_> = store.list(Some(prefix)).try_collect().await?;
    let mut jobs: Vec<String> = metas
        .iter()
        .filter_map(|m| crate::keys::marker_name(loc, &m.location))
        .collect();
    jobs.sort();
    Ok(jobs)
}

/// The current time as RFC 3339.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
