//! The recursive SQS worklist: message protocol, queue trait (embedded + SQS), idempotent consumer step,
//! fan-in across lanes and layers, local runner and Lambda handler logic.
//!
//! Invariants (checked by the `worklist_simulation` test under crashes, duplicates and redeliveries):
//! - a step sends its continuation BEFORE its caller acknowledges the message; an `Err` step is never acked;
//! - each job gets exactly one terminal record (object `job-record`, create-only: done or failed, first wins);
//!   a job is skipped when it has one, so redeliveries never redo finished work;
//! - a failing job is retried in the chain (its attempts travel in the message) up to `max_attempts`;
//! - hops never exceed `max_hops = lane jobs x max_attempts` (the loop guard that replaces AWS's 16-hop stop);
//! - a layer completes exactly once: the message whose create-only put of `layer-complete` succeeds (or a
//!   redelivery of that same body) writes the report, runs the layer's hook and starts the next layer;
//! - messages that cannot be acted on go to the DLQ with a reason; they are never retried forever.
//!
//! Every object key comes from the prefix handles the caller was granted ([`keys::Locations`]); a layer's
//! first messages are built and sent only by [`start::start_layer`].

pub mod clock;
pub mod codec;
pub mod consumer;
mod fanin;
pub mod lambda;
pub mod keys;
pub mod local;
pub mod manifest;
pub mod markers;
pub mod message;
pub mod probe;
pub mod queue;
pub mod redrive;
pub mod report;
pub mod runner;
pub mod start;
pub mod status;
pub mod step;

pub use consumer::{Config, Consumer, DeadLetter, StepError};
pub use keys::{Locations, RunKeys};
pub use start::{LayerStart, StartError, start_layer};
pub use message::{JobList, WorkMessage};
pub use queue::{EmbeddedQueue, Queue, QueueCounts, QueueError, Received, SqsQueue};
pub use runner::{JobContext, JobError, JobRunner, LayerHook, Registry};
pub use step::{FanIn, JobOutcome, StepReport};
