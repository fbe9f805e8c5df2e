//! Named points between the consumer's side effects, where a simulation can interleave other work or crash.

use async_trait::async_trait;

/// A point in a consumer step, just before or after one side effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Point {
    /// Before the job runs (its output write happens inside the runner).
    BeforeRun,
    /// After the job ran, before its done marker is written.
    BeforeDoneMarker,
    /// After the done marker was written.
    AfterDoneMarker,
    /// Before a failure record is written.
    BeforeFailedRecord,
    /// Before the continuation message is sent.
    BeforeSend,
    /// After the continuation message was sent (the ack comes next, in the caller).
    AfterSend,
    /// Before the lane-done marker is written.
    BeforeLaneMarker,
    /// Before the layer completion marker is written.
    BeforeLayerMarker,
    /// After the layer completion marker was written, before the report.
    AfterLayerMarker,
    /// After the report, before the next layer's first messages are sent.
    BeforeNextLayer,
    /// Before a dead letter is sent.
    BeforeDeadLetter,
}

/// The step stopped at a probe point, as if the process had died there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("crashed at {0:?}")]
pub struct Crashed(pub Point);

/// Observes (and may stop) a step at each [`Point`].
#[async_trait]
pub trait Probe: Send + Sync {
    /// Called at `point`; an `Err` ends the step there.
    async fn at(&self, point: Point) -> Result<(), Crashed>;
}

/// The production probe: never interferes.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProbe;

#[async_trait]
impl Probe for NoProbe {
    async fn at(&self, _point: Point) -> Result<(), Crashed> {
        Ok(())
    }
}
