//! The queue abstraction with SQS semantics, and its two backends (embedded in-process, SQS).

pub mod embedded;
pub mod sqs;

use std::time::Duration;

use async_trait::async_trait;

pub use embedded::EmbeddedQueue;
pub use sqs::SqsQueue;

/// A message handed out by [`Queue::receive`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Stable id of the message (same on every delivery).
    pub message_id: String,
    /// Handle of this delivery; needed to delete or change visibility.
    pub receipt_handle: String,
    /// The body as sent.
    pub body: String,
    /// How many times the message has been received, this delivery included (1 on first delivery).
    pub receive_count: u32,
}

/// Approximate queue depth, as SQS reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Messages available for receipt now.
    pub visible: u64,
    /// Messages received and not yet deleted, still within their visibility timeout.
    pub in_flight: u64,
    /// Messages sent with a delay that has not yet passed.
    pub delayed: u64,
}

impl QueueCounts {
    /// All messages the queue holds.
    pub fn total(&self) -> u64 {
        self.visible + self.in_flight + self.delayed
    }
}

/// Queue failures, in stable categories.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The receipt handle is not one this queue issued, or its delivery is no longer in flight.
    #[error("receipt handle {0:?} is not valid for an in-flight message")]
    InvalidReceipt(String),
    /// A parameter is outside what SQS accepts (delay > 15 min, visibility > 12 h, body too large, ...).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The backend failed (network, throttling, service error); retryable.
    #[error("queue backend: {0}")]
    Backend(String),
}

/// SQS's longest send delay.
pub const MAX_DELAY: Duration = Duration::from_secs(900);
/// SQS's longest visibility timeout.
pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 60 * 60);
/// SQS's largest receive batch.
pub const MAX_RECEIVE_BATCH: u32 = 10;

/// A queue with SQS semantics: at-least-once delivery, visibility timeout, receive counts.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Send `body`, invisible for `delay` (at most [`MAX_DELAY`]); returns the message id.
    async fn send(&self, body: &str, delay: Option<Duration>) -> Result<String, QueueError>;

    /// Receive up to `max` (1..=10) visible messages, hiding each for `visibility`; waits up to `wait` when empty.
    async fn receive(
        &self,
        max: u32,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<Received>, QueueError>;

    /// Delete (acknowledge) the delivery identified by `receipt_handle`.
    async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError>;

    /// Change the remaining visibility timeout of an in-flight delivery (0 makes it visible now).
    async fn change_visibility(
        &self,
        receipt_handle: &str,
        visibility: Duration,
    ) -> Result<(), QueueError>;

    /// Approximate counts of visible, in-flight and delayed messages.
    async fn counts(&self) -> Result<QueueCounts, QueueError>;
}

pub(crate) fn check_delay(delay: Option<Duration>) -> Result<(), QueueError> {
    match delay {
        Some(d) if d > MAX_DELAY => Err(QueueError::InvalidRequest(format!(
            "delay {d:?} exceeds {MAX_DELAY:?}"
        ))),
        _ => Ok(()),
    }
}

pub(crate) fn check_receive(max: u32, visibility: Duration) -> Result<(), QueueError> {
    if !(1..=MAX_RECEIVE_BATCH).contains(&max) {
        return Err(QueueError::InvalidRequest(format!(
            "max messages {max} not in 1..={MAX_RECEIVE_BATCH}"
        )));
    }
    if visibility > MAX_VISIBILITY {
        return Err(QueueError::InvalidRequest(format!(
            "visibility {visibility:?} exceeds {MAX_VISIBILITY:?}"
        )));
    }
    Ok(())
}
