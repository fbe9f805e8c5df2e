//! The recursive SQS worklist: message protocol, queue trait (embedded + SQS), idempotent consumer step,
//! fan-in across lanes and layers, local runner and Lambda handler logic.

pub mod clock;
pub mod codec;
pub mod consumer;
mod fanin;
pub mod lambda;
pub mod layout;
pub mod local;
pub mod manifest;
pub mod markers;
pub mod message;
pub mod probe;
pub mod queue;
pub mod redrive;
pub mod report;
pub mod runner;
pub mod status;
pub mod step;

pub use consumer::{Config, Consumer, DeadLetter, StepError};
pub use message::{JobList, WorkMessage};
pub use queue::{EmbeddedQueue, Queue, QueueCounts, QueueError, Received, SqsQueue};
pub use runner::{JobContext, JobError, JobRunner, Registry};
pub use step::{FanIn, JobOutcome, StepReport};
