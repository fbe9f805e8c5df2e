//! Starting a layer: the one code path that builds a layer's first messages (one per lane, jobs dealt
//! round-robin), claim-checks oversized job lists and sends them. Ingestion's hand-off, the fan-in of the
//! previous layer, redrive and `civic` all start layers through [`start_layer`].

use object_store::ObjectStore;
use prefixes::Prefix;
use prefixes::access::Write;
use prefixes::keys::Worklist;

use crate::codec::{self, ListError};
use crate::message::{DEFAULT_MAX_ATTEMPTS, WorkMessage};
use crate::queue::{Queue, QueueError};

/// What to start.
#[derive(Debug, Clone)]
pub struct LayerStart<'a> {
    pub dataset: &'a str,
    pub run_id: &'a str,
    pub layer: &'a str,
    /// The layer's jobs, in the order they should run.
    pub jobs: Vec<String>,
    /// Independent chains (the queue's `lanes`).
    pub lanes: u32,
    /// Attempts per job before it is recorded failed.
    pub max_attempts: u32,
}

impl<'a> LayerStart<'a> {
    /// `jobs` of `layer` in one lane with the default attempt budget.
    pub fn new(dataset: &'a str, run_id: &'a str, layer: &'a str, jobs: Vec<String>) -> Self {
        Self {
            dataset,
            run_id,
            layer,
            jobs,
            lanes: 1,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// With `lanes` lanes.
    pub fn lanes(mut self, lanes: u32) -> Self {
        self.lanes = lanes;
        self
    }

    /// With `max_attempts` attempts per job.
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }
}

/// Why a layer could not be started (retry: the messages are idempotent).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Writing a claim-check list failed.
    #[error(transparent)]
    List(#[from] ListError),
    /// Sending failed.
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
}

/// Build, encode and send the first messages of a layer. `worklist` is the sender's grant on the prefix
/// oversized job lists go to; bodies larger than `max_body` are claim-checked. Returns how many
/// messages were sent.
pub async fn start_layer(
    start: LayerStart<'_>,
    store: &dyn ObjectStore,
    worklist: Prefix<Worklist, Write>,
    queue: &dyn Queue,
    max_body: usize,
) -> Result<usize, StartError> {
    let firsts = WorkMessage::first_of_layer_with(
        start.dataset,
        start.run_id,
        start.layer,
        start.jobs,
        start.lanes,
        start.max_attempts,
    );
    for first in &firsts {
        let body = codec::encode(first, store, worklist, max_body).await?;
        queue.send(&body, None).await?;
    }
    Ok(firsts.len())
}
