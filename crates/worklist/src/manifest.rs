//! The run manifest as the worklist reads it: the one contract type ([`contract::RunManifest`]), loaded
//! through the one interface ([`contract::manifest::read`]) with the consumer's grant on `runs`.

pub use contract::manifest::{ManifestError, ManifestPartition as Partition, RunManifest};
use object_store::ObjectStore;

use crate::keys::Locations;

/// Read and check the manifest of `dataset` / `run_id`: the run's jobs and, when it declares them, its
/// layer chain and lanes.
pub async fn load(
    store: &dyn ObjectStore,
    loc: &Locations,
    dataset: &str,
    run_id: &str,
) -> Result<RunManifest, ManifestError> {
    contract::manifest::read(store, loc.runs, dataset, run_id).await
}
