//! The local runners: drain a queue with the consumer step (receive, step, delete), or hand its messages to a
//! Lambda SQS handler in events as the event source mapping does ([`deliver`]); and keep what landed in the DLQ.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::consumer::{Consumer, DeadLetter};
use crate::keys::Locations;
use crate::queue::{MAX_RECEIVE_BATCH, Queue, QueueError};

/// How the local runner polls.
#[derive(Debug, Clone)]
pub struct DrainOptions {
    /// Visibility timeout for each receive.
    pub visibility: Duration,
    /// Long-poll wait per receive (0 for the embedded queue).
    pub wait: Duration,
    /// Pause between polls while only delayed or in-flight messages remain.
    pub idle_pause: Duration,
    /// Give up when the queue has not been empty for this long.
    pub deadline: Duration,
}

impl Default for DrainOptions {
    fn default() -> Self {
        Self {
            visibility: Duration::from_secs(300),
            wait: Duration::ZERO,
            idle_pause: Duration::from_millis(100),
            deadline: Duration::from_secs(3600),
        }
    }
}

/// What draining did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainSummary {
    /// Steps acknowledged.
    pub steps: u64,
    /// Steps that failed and were left for redelivery.
    pub errors: u64,
    /// Count of steps per outcome name.
    pub outcomes: BTreeMap<String, u64>,
    /// Layers completed, in completion order.
    pub completed_layers: Vec<String>,
}

/// Why draining stopped early.
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    /// The queue failed.
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    /// Messages remained after the deadline.
    #[error("queue still holds {remaining} message(s) after {deadline:?}")]
    Deadline {
        /// Messages left.
        remaining: u64,
        /// The deadline.
        deadline: Duration,
    },
}

/// Receive and step until `queue` is empty. Step errors are logged, the message made visible again, and the
/// queue's redrive policy eventually moves a message that keeps failing to its DLQ.
pub async fn drain(
    consumer: &Consumer,
    queue: &dyn Queue,
    opts: &DrainOptions,
) -> Result<DrainSummary, DrainError> {
    let started = Instant::now();
    let mut summary = DrainSummary::default();
    loop {
        let batch = queue
            .receive(MAX_RECEIVE_BATCH, opts.visibility, opts.wait)
            .await?;
        if batch.is_empty() {
            if drained(queue, opts, started).await? {
                return Ok(summary);
            }
            continue;
        }
        for received in batch {
            match consumer.step(&received.body, received.receive_count).await {
                Ok(report) => {
                    queue.delete(&received.receipt_handle).await?;
                    summary.steps += 1;
                    *summary
                        .outcomes
                        .entry(report.outcome().to_owned())
                        .or_default() += 1;
                    if let Some(crate::step::FanIn::Completed { resumed: false, .. }) =
                        report.fan_in
                    {
                        summary.completed_layers.push(report.layer.clone());
                    }
                }
                Err(_) => {
                    summary.errors += 1;
                    // Already logged by the step; retry soon rather than after the full visibility timeout.
                    let _ = queue
                        .change_visibility(&received.receipt_handle, Duration::ZERO)
                        .await;
                }
            }
        }
    }
}

/// Deliver `queue`'s messages to `handler` as the Lambda SQS event source mapping does, until the queue is empty:
/// events of up to `batch_size` records (message id, body, `ApproximateReceiveCount`), every record the handler
/// does not name in `batchItemFailures` deleted, the named ones made visible again at once (the queue's redrive
/// policy moves a message that keeps failing to its DLQ). `steps` counts deleted records, `errors` failed ones.
pub async fn deliver<F, Fut>(
    queue: &dyn Queue,
    opts: &DrainOptions,
    batch_size: u32,
    handler: F,
) -> Result<DrainSummary, DrainError>
where
    F: Fn(SqsEvent) -> Fut,
    Fut: std::future::Future<Output = SqsBatchResponse>,
{
    let started = Instant::now();
    let mut summary = DrainSummary::default();
    loop {
        let batch = queue
            .receive(
                batch_size.clamp(1, MAX_RECEIVE_BATCH),
                opts.visibility,
                opts.wait,
            )
            .await?;
        if batch.is_empty() {
            if drained(queue, opts, started).await? {
                return Ok(summary);
            }
            continue;
        }
        let mut event = SqsEvent::default();
        event.records = batch.iter().map(record).collect();
        let response = handler(event).await;
        *summary.outcomes.entry("invocations".into()).or_default() += 1;
        for received in batch {
            let failed = response
                .batch_item_failures
                .iter()
                .any(|f| f.item_identifier == received.message_id);
            if failed {
                summary.errors += 1;
                let _ = queue
                    .change_visibility(&received.receipt_handle, Duration::ZERO)
                    .await;
            } else {
                queue.delete(&received.receipt_handle).await?;
                summary.steps += 1;
            }
        }
    }
}

/// A received message as an SQS event record.
fn record(received: &crate::queue::Received) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(received.message_id.clone());
    m.receipt_handle = Some(received.receipt_handle.clone());
    m.body = Some(received.body.clone());
    m.attributes.insert(
        "ApproximateReceiveCount".into(),
        received.receive_count.to_string(),
    );
    m
}

/// After an empty receive: true when the queue holds nothing at all; otherwise waits `idle_pause` (delayed or
/// in-flight messages remain), or fails past the deadline.
async fn drained(
    queue: &dyn Queue,
    opts: &DrainOptions,
    started: Instant,
) -> Result<bool, DrainError> {
    let counts = queue.counts().await?;
    if counts.total() == 0 {
        return Ok(true);
    }
    if started.elapsed() > opts.deadline {
        return Err(DrainError::Deadline {
            remaining: counts.total(),
            deadline: opts.deadline,
        });
    }
    tokio::time::sleep(opts.idle_pause).await;
    Ok(false)
}

/// Move every message of `dlq` into the store as `dead-letter` objects of the run's `worklist` prefix (so `civic worklist
/// status` can see them after the process ends) and delete it from the queue. Returns how many were kept.
pub async fn persist_dead_letters(
    store: &dyn ObjectStore,
    loc: &Locations,
    dlq: &dyn Queue,
    dataset: &str,
    run_id: &str,
) -> Result<usize, DrainError> {
    let keys = loc.run(dataset, run_id);
    let mut kept = 0;
    loop {
        let batch = dlq
            .receive(MAX_RECEIVE_BATCH, Duration::from_secs(60), Duration::ZERO)
            .await?;
        if batch.is_empty() {
            return Ok(kept);
        }
        for received in batch {
            // A message redriven by the queue itself arrives raw; wrap it so every record has a reason.
            let letter = match serde_json::from_str::<DeadLetter>(&received.body) {
                Ok(letter) => letter,
                Err(_) => DeadLetter {
                    version: 1,
                    reason: "received too many times without success (queue redrive)".into(),
                    body: received.body.clone(),
                    receive_count: received.receive_count,
                    at: crate::markers::now_rfc3339(),
                },
            };
            let id = &crate::consumer::body_token(&received.body)[..16];
            let body = serde_json::to_vec_pretty(&letter).expect("dead letter serializes");
            let key = keys
                .dlq_record(id)
                .map_err(|e| QueueError::Backend(format!("persist dead letter: {e}")))?;
            store
                .put(&key, PutPayload::from(body))
                .await
                .map_err(|e| QueueError::Backend(format!("persist dead letter: {e}")))?;
            dlq.delete(&received.receipt_handle).await?;
            kept += 1;
        }
    }
}
