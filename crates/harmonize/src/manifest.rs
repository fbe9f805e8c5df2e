//! The part of the ingestion run manifest the transform reads (lenient: ingestion owns the format).

use serde::{Deserialize, Serialize};

/// `runs/{dataset}/run={run_id}/manifest.json`, as far as the transform needs it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RunManifest {
    pub version: u32,
    pub dataset: String,
    pub run_id: String,
    pub source: ManifestSource,
    /// Raw header, in source order.
    #[serde(default)]
    pub schema: Vec<String>,
    pub partitions: Vec<ManifestPartition>,
}

/// Where the run's rows came from.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ManifestSource {
    pub kind: String,
    pub uri: String,
    #[serde(default)]
    pub year: Option<i32>,
    #[serde(default)]
    pub dataset_id: Option<String>,
}

/// One partition of the raw layer.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ManifestPartition {
    pub value: String,
    pub rows: u64,
    #[serde(default)]
    pub bytes: u64,
    pub keys: Vec<String>,
}

impl RunManifest {
    /// The partition with value `partition`.
    pub fn partition(&self, partition: &str) -> Option<&ManifestPartition> {
        self.partitions.iter().find(|p| p.value == partition)
    }
}
