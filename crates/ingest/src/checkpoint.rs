//! Run checkpoint (`runs/{dataset}/run={run_id}/checkpoint.json`): what a run that stopped at a
//! deadline (a Lambda invocation's 15 minutes) needs to continue in another process without reading
//! or writing a row twice. Every part file it lists is complete; the source position is the record
//! boundary after the last row counted. Written with one put; removed once the manifest is written.

use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::locations::Locations;
use crate::manifest::{ManifestPartition, ManifestSource};
use crate::source::Position;

/// Version of the checkpoint format.
pub const CHECKPOINT_VERSION: u32 = 1;

/// State of a suspended run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub version: u32,
    pub dataset: String,
    pub run_id: String,
    /// The source the run reads; a continuation must name the same one.
    pub source: ManifestSource,
    /// RFC 3339, when the first segment started.
    pub started_at: String,
    /// Segments finished so far.
    pub segments: u32,
    /// Column names of the source header (read by the first segment).
    pub header: Vec<String>,
    /// Where the source continues.
    pub position: Position,
    pub rows_read: u64,
    pub rows_written: u64,
    pub rows_quarantined: u64,
    /// Complete part files so far, per partition (part numbers go on from `keys.len()`).
    pub partitions: Vec<ManifestPartition>,
    pub quarantine_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<serde_json::Value>,
}

impl Checkpoint {
    /// Key of a run's checkpoint.
    pub fn key_of(loc: &Locations, dataset: &str, run_id: &str) -> Result<String> {
        loc.run_checkpoint(dataset, run_id)
    }

    /// Check the accounting (a checkpoint adds up like a manifest), then write it with one put.
    pub async fn write(&self, store: &Arc<dyn ObjectStore>, loc: &Locations) -> Result<String> {
        crate::manifest::check_accounting(
            self.rows_read,
            self.rows_written,
            self.rows_quarantined,
            &self.partitions,
        )?;
        let key = Self::key_of(loc, &self.dataset, &self.run_id)?;
        crate::manifest::put_json(store, &key, self).await?;
        Ok(key)
    }

    /// The run's checkpoint, if it has one.
    pub async fn load(
        store: &Arc<dyn ObjectStore>,
        loc: &Locations,
        dataset: &str,
        run_id: &str,
    ) -> Result<Option<Self>> {
        let key = Self::key_of(loc, dataset, run_id)?;
        let got = match store.get(&Path::from(key.as_str())).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(Error::store(&key, e)),
        };
        let bytes = got.bytes().await.map_err(|e| Error::store(&key, e))?;
        let cp: Checkpoint =
            serde_json::from_slice(&bytes).map_err(|e| Error::Invalid(format!("{key}: {e}")))?;
        if cp.version != CHECKPOINT_VERSION {
            return Err(Error::Invalid(format!(
                "{key}: checkpoint version {} is not {CHECKPOINT_VERSION}",
                cp.version
            )));
        }
        Ok(Some(cp))
    }

    /// Remove a run's checkpoint (after its manifest is written); a missing one is fine.
    pub async fn remove(
        store: &Arc<dyn ObjectStore>,
        loc: &Locations,
        dataset: &str,
        run_id: &str,
    ) -> Result<()> {
        let key = Self::key_of(loc, dataset, run_id)?;
        match store.delete(&Path::from(key.as_str())).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(Error::store(&key, e)),
        }
    }
}
