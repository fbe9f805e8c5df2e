//! The run manifest: written last by ingestion (one put, only when the accounting adds up), read by the
//! worklist (a run's jobs), the transform (each partition's raw files), the report and `civic`.

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use prefixes::keys::{Runs, RunsKey, runs};
use prefixes::{CanRead, Prefix};
use serde::{Deserialize, Serialize};

/// Version of the manifest format.
pub const MANIFEST_VERSION: u32 = 1;

/// The run manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RunManifest {
    pub version: u32,
    pub dataset: String,
    pub run_id: String,
    pub source: ManifestSource,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339.
    pub finished_at: String,
    /// Column names as found in the source header, in source order, made unique and non-empty by
    /// ingestion (`Name__2` for a repeated name, `_index` for an unnamed first column; the drift report
    /// lists each change).
    pub schema: Vec<String>,
    pub partition_column: String,
    pub rows_read: u64,
    pub rows_written: u64,
    pub rows_quarantined: u64,
    pub partitions: Vec<ManifestPartition>,
    pub quarantine_keys: Vec<String>,
    /// The schema-drift report of the source against the dataset's mapping, when a check was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<serde_json::Value>,
    /// A layer chain for this run instead of the worklist queue's (tests, partial reruns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<String>>,
    /// Lanes for this run instead of the worklist queue's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lanes: Option<u32>,
}

/// Where the rows came from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ManifestSource {
    /// `file`, `https` or `socrata`.
    pub kind: String,
    pub uri: String,
    pub year: Option<i32>,
    pub dataset_id: Option<String>,
}

/// One partition of the run: one job of every layer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ManifestPartition {
    pub value: String,
    pub rows: u64,
    pub bytes: u64,
    /// The raw part files, in order.
    pub keys: Vec<String>,
}

/// The accounting of a manifest (or a checkpoint) does not add up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "row accounting does not add up: {read} read != {written} written + {quarantined} quarantined"
)]
pub struct Unbalanced {
    pub read: u64,
    /// Rows the partitions hold.
    pub written: u64,
    pub quarantined: u64,
}

/// `rows_read = rows_written + rows_quarantined`, and the partitions sum to `rows_written`.
pub fn check_accounting(
    read: u64,
    written: u64,
    quarantined: u64,
    partitions: &[ManifestPartition],
) -> Result<(), Unbalanced> {
    let by_partition: u64 = partitions.iter().map(|p| p.rows).sum();
    if read != written + quarantined || by_partition != written {
        return Err(Unbalanced {
            read,
            written: by_partition,
            quarantined,
        });
    }
    Ok(())
}

impl RunManifest {
    /// A manifest of a run whose partitions `jobs` hold one row each and no raw file (what the worklist
    /// needs of a run: tests of the worklist, tools that drive a layer over given jobs).
    pub fn of_jobs(dataset: &str, run_id: &str, jobs: &[String]) -> Self {
        let partitions: Vec<ManifestPartition> = jobs
            .iter()
            .map(|j| ManifestPartition {
                value: j.clone(),
                rows: 1,
                bytes: 0,
                keys: Vec::new(),
            })
            .collect();
        let rows = partitions.len() as u64;
        RunManifest {
            version: MANIFEST_VERSION,
            dataset: dataset.to_owned(),
            run_id: run_id.to_owned(),
            source: ManifestSource {
                kind: "jobs".into(),
                uri: String::new(),
                year: None,
                dataset_id: None,
            },
            started_at: String::new(),
            finished_at: String::new(),
            schema: Vec::new(),
            partition_column: String::new(),
            rows_read: rows,
            rows_written: rows,
            rows_quarantined: 0,
            partitions,
            quarantine_keys: Vec::new(),
            drift: None,
            layers: None,
            lanes: None,
        }
    }

    /// The job ids of every layer's first message: the partition values, in manifest order.
    pub fn job_ids(&self) -> Vec<String> {
        self.partitions.iter().map(|p| p.value.clone()).collect()
    }

    /// Whether `job` is one of the run's partitions.
    pub fn has_job(&self, job: &str) -> bool {
        self.partitions.iter().any(|p| p.value == job)
    }

    /// The partition with value `partition`.
    pub fn partition(&self, partition: &str) -> Option<&ManifestPartition> {
        self.partitions.iter().find(|p| p.value == partition)
    }

    /// Check the row accounting.
    pub fn check_accounting(&self) -> Result<(), Unbalanced> {
        check_accounting(
            self.rows_read,
            self.rows_written,
            self.rows_quarantined,
            &self.partitions,
        )
    }
}

/// Why a run manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// No manifest at the key (bad input: the run was never ingested, or ingestion is not finished).
    #[error("run manifest missing at {key}")]
    Missing { key: String },
    /// Not JSON of the manifest's shape, or about another run, or its key cannot be built.
    #[error("run manifest {key}: {reason}")]
    Invalid { key: String, reason: String },
    /// The store failed (retryable).
    #[error("run manifest {key}: object store: {source}")]
    Store {
        key: String,
        #[source]
        source: object_store::Error,
    },
}

/// The key of the run manifest of `dataset` / `run_id`, for a reader of `runs`.
pub fn key<A: CanRead>(
    runs: Prefix<Runs, A>,
    dataset: &str,
    run_id: &str,
) -> Result<Path, prefixes::KeyError> {
    runs.read_key(&RunsKey { dataset, run_id }, &runs::Manifest)
        .map(|k| Path::from(k.into_string()))
}

/// Read and check the run manifest of `dataset` / `run_id` (it must describe that run).
pub async fn read<A: CanRead>(
    store: &dyn ObjectStore,
    runs: Prefix<Runs, A>,
    dataset: &str,
    run_id: &str,
) -> Result<RunManifest, ManifestError> {
    let key = key(runs, dataset, run_id).map_err(|e| ManifestError::Invalid {
        key: format!("(manifest of {dataset}/{run_id})"),
        reason: e.to_string(),
    })?;
    let store_err = |source| ManifestError::Store {
        key: key.to_string(),
        source,
    };
    let bytes = match store.get(&key).await {
        Ok(got) => got.bytes().await.map_err(store_err)?,
        Err(object_store::Error::NotFound { .. }) => {
            return Err(ManifestError::Missing {
                key: key.to_string(),
            });
        }
        Err(e) => return Err(store_err(e)),
    };
    let invalid = |reason: String| ManifestError::Invalid {
        key: key.to_string(),
        reason,
    };
    let manifest: RunManifest =
        serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    if manifest.dataset != dataset || manifest.run_id != run_id {
        return Err(invalid(format!(
            "describes {}/{} instead",
            manifest.dataset, manifest.run_id
        )));
    }
    Ok(manifest)
}
