//! Operator redrive: re-send persisted dead letters, or give a completed layer's failed jobs another round.

use object_store::{ObjectStore, ObjectStoreExt};

use crate::keys::Locations;
use crate::markers::{LayerMarker, read_json};
use crate::message::WorkMessage;
use crate::queue::{Queue, QueueError};
use crate::start::{LayerStart, StartError, start_layer};
use crate::status::dead_letters;

/// Why a redrive could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    /// The store failed.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// The queue failed.
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    /// Starting the layer again failed.
    #[error(transparent)]
    Start(#[from] StartError),
    /// A value cannot be part of a key.
    #[error("key: {0}")]
    Key(#[from] prefixes::KeyError),
    /// The layer is not complete, so its failed set is not final.
    #[error("layer {0:?} has no completion marker yet; redrive its failed jobs after it completes")]
    NotComplete(String),
    /// The layer is not in the chain.
    #[error("layer {layer:?} is not in the chain {chain:?}")]
    UnknownLayer {
        /// The layer asked for.
        layer: String,
        /// The chain.
        chain: Vec<String>,
    },
}

/// Re-send every persisted dead letter whose body is a worklist message of this run, then delete its record.
/// Returns the number re-sent; letters that are not worklist messages stay for inspection.
pub async fn redrive_dead_letters(
    store: &dyn ObjectStore,
    loc: &Locations,
    queue: &dyn Queue,
    dataset: &str,
    run_id: &str,
) -> Result<usize, RedriveError> {
    let mut sent = 0;
    for entry in dead_letters(store, loc, dataset, run_id).await? {
        let Ok(msg) = serde_json::from_str::<WorkMessage>(&entry.letter.body) else {
            continue;
        };
        if msg.dataset != dataset || msg.run_id != run_id {
            continue;
        }
        queue.send(&entry.letter.body, None).await?;
        store
            .delete(&object_store::path::Path::from(entry.key.as_str()))
            .await?;
        sent += 1;
    }
    Ok(sent)
}

/// Give the failed jobs of the completed `layer` one more round: their failure records and the completion
/// state of `layer` and every later layer are removed, and one first message for the failed jobs is sent.
/// Jobs already done stay done (their records make the re-walk skip them). Returns the jobs re-sent.
#[allow(clippy::too_many_arguments)] // the store, its grants, the queue, the run and the layer: each is needed
pub async fn redrive_failed(
    store: &dyn ObjectStore,
    loc: &Locations,
    queue: &dyn Queue,
    dataset: &str,
    run_id: &str,
    chain: &[String],
    layer: &str,
    max_attempts: u32,
) -> Result<Vec<String>, RedriveError> {
    let keys = loc.run(dataset, run_id);
    let pos = chain
        .iter()
        .position(|l| l == layer)
        .ok_or_else(|| RedriveError::UnknownLayer {
            layer: layer.to_owned(),
            chain: chain.to_vec(),
        })?;
    let marker: LayerMarker = read_json(store, &keys.layer_complete(layer)?)
        .await?
        .ok_or_else(|| RedriveError::NotComplete(layer.to_owned()))?;
    if marker.failed.is_empty() {
        return Ok(Vec::new());
    }
    for job in &marker.failed {
        store.delete(&keys.job_record(layer, job)?).await?;
    }
    for later in &chain[pos..] {
        store
            .delete(&keys.layer_complete(later)?)
            .await
            .or_else(ignore_missing)?;
        for lane in crate::markers::jobs_under(store, loc, &keys.lanes_prefix(later)?).await? {
            let lane: u32 = lane.parse().unwrap_or(u32::MAX);
            store
                .delete(&keys.lane_done(later, lane)?)
                .await
                .or_else(ignore_missing)?;
        }
    }
    let start =
        LayerStart::new(dataset, run_id, layer, marker.failed.clone()).max_attempts(max_attempts);
    start_layer(
        start,
        store,
        loc.worklist.into(),
        queue,
        crate::message::SQS_MAX_MESSAGE_BYTES,
    )
    .await?;
    Ok(marker.failed)
}

fn ignore_missing(e: object_store::Error) -> Result<(), object_store::Error> {
    match e {
        object_store::Error::NotFound { .. } => Ok(()),
        e => Err(e),
    }
}
