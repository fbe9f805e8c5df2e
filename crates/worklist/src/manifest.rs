//! The worklist's read-only view of the run manifest ingestion writes (job ids, optional layer chain and lanes).

use object_store::{ObjectStore, ObjectStoreExt};
use serde::Deserialize;

use crate::layout::RunKeys;

/// The fields of `runs/{dataset}/run={run}/manifest.json` the worklist uses. Other fields belong to
/// ingestion's model and are ignored here on purpose (this is a view, not the owner's schema).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RunManifest {
    /// Dataset id.
    pub dataset: String,
    /// Run id.
    pub run_id: String,
    /// Partitions written; each value is one job id.
    pub partitions: Vec<Partition>,
    /// Layer chain declared for this run, if the manifest declares one.
    #[serde(default)]
    pub layers: Option<Vec<String>>,
    /// Lanes declared for this run, if any.
    #[serde(default)]
    pub lanes: Option<u32>,
}

/// One partition entry of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Partition {
    /// The partition value (= job id).
    pub value: String,
}

/// Why the manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// No manifest at the key (bad input: the run was never ingested, or ingestion is not finished).
    #[error("run manifest missing at {key}")]
    Missing {
        /// The key looked up.
        key: String,
    },
    /// Not JSON of the expected shape, or about another run.
    #[error("run manifest {key}: {reason}")]
    Invalid {
        /// The key read.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The store failed (retryable).
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
}

impl RunManifest {
    /// The job ids, in manifest order.
    pub fn job_ids(&self) -> Vec<String> {
        self.partitions.iter().map(|p| p.value.clone()).collect()
    }

    /// True when `job` is one of the manifest's partitions.
    pub fn has_job(&self, job: &str) -> bool {
        self.partitions.iter().any(|p| p.value == job)
    }

    /// Read and check the manifest of `dataset` / `run_id`.
    pub async fn load(
        store: &dyn ObjectStore,
        dataset: &str,
        run_id: &str,
    ) -> Result<RunManifest, ManifestError> {
        let key = RunKeys::new(dataset, run_id).manifest();
        let bytes = match store.get(&key).await {
            Ok(got) => got.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(ManifestError::Missing {
                    key: key.to_string(),
                });
            }
            Err(e) => return Err(e.into()),
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
}
