//! Run manifest (`runs/{dataset}/run={run_id}/manifest.json`): the contract later layers read.
//! Written last, with one atomic put, only after the row accounting adds up.

use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::locations::Locations;
use prefixes::keys::Runs;
use prefixes::{CanRead, Prefix};

pub use contract::manifest::{MANIFEST_VERSION, ManifestPartition, ManifestSource, RunManifest};

impl From<contract::manifest::Unbalanced> for Error {
    fn from(u: contract::manifest::Unbalanced) -> Self {
        Error::Accounting {
            read: u.read,
            written: u.written,
            quarantined: u.quarantined,
        }
    }
}

/// Object key of `manifest` under the writer's grants.
pub fn key(manifest: &RunManifest, loc: &Locations) -> Result<String> {
    loc.run_manifest(&manifest.dataset, &manifest.run_id)
}

/// Check the accounting, then write `manifest` with a single put. Returns its key.
pub async fn write(
    manifest: &RunManifest,
    store: &Arc<dyn ObjectStore>,
    loc: &Locations,
) -> Result<String> {
    manifest.check_accounting()?;
    let key = key(manifest, loc)?;
    put_json(store, &key, manifest).await?;
    Ok(key)
}

/// Read a run's manifest back (through [`contract::manifest::read`]).
pub async fn read<A: CanRead>(
    store: &Arc<dyn ObjectStore>,
    runs: Prefix<Runs, A>,
    dataset: &str,
    run_id: &str,
) -> Result<RunManifest> {
    contract::manifest::read(store.as_ref(), runs, dataset, run_id)
        .await
        .map_err(|e| Error::Invalid(e.to_string()))
}

/// `rows_read = rows_written + rows_quarantined`, and the partitions sum to `rows_written` (the check of
/// a manifest and of a checkpoint).
pub(crate) fn check_accounting(
    read: u64,
    written: u64,
    quarantined: u64,
    partitions: &[ManifestPartition],
) -> Result<()> {
    Ok(contract::manifest::check_accounting(
        read,
        written,
        quarantined,
        partitions,
    )?)
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
    manifest.job_ids()
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
            layers: None,
            lanes: None,
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
            m.check_accounting().map_err(Error::from),
            Err(Error::Accounting { .. })
        ));
        let mut m = sample();
        m.partitions[0].rows = 2;
        assert!(m.check_accounting().is_err());
    }

    #[tokio::test]
    async fn manifest_round_trips_through_the_store() {
        let store: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let loc = Locations {
            raw: prefixes::ingest::raw(),
            quarantine: prefixes::ingest::quarantine(),
            runs: prefixes::ingest::runs(),
        };
        let key = write(&sample(), &store, &loc).await.unwrap();
        assert_eq!(key, "runs/la311/run=r1/manifest.json");
        assert_eq!(
            read(&store, prefixes::process::runs(), "la311", "r1")
                .await
                .unwrap(),
            sample()
        );
    }
}
