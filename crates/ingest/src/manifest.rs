//! Run manifest (`runs/{dataset}/run={run_id}/manifest.json`): the contract later layers read.
//! Written last, with one atomic put, only after the row accounting adds up.

use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::layout;

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
    /// Column names exactly as found in the source header, in source order.
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

/// One partition of the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ManifestPartition {
    pub value: String,
    pub rows: u64,
    pub bytes: u64,
    pub keys: Vec<String>,
}

impl RunManifest {
    /// Check `rows_read = rows_written + rows_quarantined` and that partitions sum to `rows_written`.
    pub fn check_accounting(&self) -> Result<()> {
        check_accounting(
            self.rows_read,
            self.rows_written,
            self.rows_quarantined,
            &self.partitions,
        )
    }

    /// Object key of this manifest.
    pub fn key(&self) -> Result<String> {
        layout::run_manifest(&self.dataset, &self.run_id)
    }

    /// Check the accounting, then write the manifest with a single put. Returns its key.
    pub async fn write(&self, store: &Arc<dyn ObjectStore>) -> Result<String> {
        self.check_accounting()?;
        let key = self.key()?;
        put_json(store, &key, self).await?;
        Ok(key)
    }

    /// Read a run's manifest back.
    pub async fn read(store: &Arc<dyn ObjectStore>, dataset: &str, run_id: &str) -> Result<Self> {
        let key = layout::run_manifest_for_reading(dataset, run_id)?;
        let bytes = store
            .get(&Path::from(key.as_str()))
            .await
            .map_err(|e| Error::store(&key, e))?
            .bytes()
            .await
            .map_err(|e| Error::store(&key, e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Invalid(format!("{key}: {e}")))
    }
}

/// `rows_read = rows_written + rows_quarantined`, and the partitions sum to `rows_written` (the check of
/// a manifest and of a checkpoint).
pub(crate) fn check_accounting(
    read: u64,
    written: u64,
    quarantined: u64,
    partitions: &[ManifestPartition],
) -> Result<()> {
    let by_partition: u64 = partitions.iter().map(|p| p.rows).sum();
    if read != written + quarantined || by_partition != written {
        return Err(Error::Accounting {
            read,
            written: by_partition,
            quarantined,
        });
    }
    Ok(())
}

/// Write `value` as pretty JSON to `key` with one put (readers see all of it or nothing).
pub(crate) async fn put_json(
    store: &Arc<dyn ObjectStore>,
    key: &str,
    value: &impl Serialize,
) -> Result<()> {
    let body = serde_json::to_vec_pretty(value).expect("serialising a plain struct");
    store
        .put(&Path::from(key), PutPayload::from(body))
        .await
        .map_err(|e| Error::store(key, e))?;
    Ok(())
}

/// The worklist job ids of a run: one per partition value, in manifest order.
pub fn job_ids(manifest: &RunManifest) -> Vec<String> {
    manifest
        .partitions
        .iter()
        .map(|p| p.value.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RunManifest {
        RunManifest {
            version: MANIFEST_VERSION,
            dataset: "la311".into(),
            run_id: "r1".into(),
            source: ManifestSource {
                kind: "file".into(),
                uri: "x.csv".into(),
                year: None,
                dataset_id: None,
            },
            started_at: "2026-11-25T20:00:00Z".into(),
            finished_at: "2026-11-25T20:00:01Z".into(),
            schema: vec!["SRNumber".into(), "CD".into()],
            partition_column: "CD".into(),
            rows_read: 5,
            rows_written: 4,
            rows_quarantined: 1,
            partitions: vec![
                ManifestPartition {
                    value: "1".into(),
                    rows: 3,
                    bytes: 10,
                    keys: vec!["k1".into()],
                },
                ManifestPartition {
                    value: "__missing__".into(),
                    rows: 1,
                    bytes: 9,
                    keys: vec!["k2".into()],
                },
            ],
            quarantine_keys: vec![],
            drift: None,
        }
    }

    #[test]
    fn job_ids_are_partition_values() {
        assert_eq!(job_ids(&sample()), vec!["1", "__missing__"]);
    }

    #[test]
    fn accounting_mismatch_refuses_to_write() {
        let mut m = sample();
        m.check_accounting().unwrap();
        m.rows_quarantined = 0;
        assert!(matches!(
            m.check_accounting(),
            Err(Error::Accounting { .. })
        ));
        let mut m = sample();
        m.partitions[0].rows = 2;
        assert!(m.check_accounting().is_err());
    }

    #[tokio::test]
    async fn manifest_round_trips_through_the_store() {
        let store: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let key = sample().write(&store).await.unwrap();
        assert_eq!(key, "runs/la311/run=r1/manifest.json");
        assert_eq!(
            RunManifest::read(&store, "la311", "r1").await.unwrap(),
            sample()
        );
    }
}
