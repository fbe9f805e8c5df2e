//! The recursive SQS worklist: message protocol, queue trait (embedded + SQS), idempotent consumer step,
//! fan-in across lanes and layers, local runner and Lambda handler logic.
//!
//! Invariants, as the seeded `worklist_simulation` test checks them (`tests/sim/`): under crashes before and
//! after every side effect, injected failures of store calls (create-only puts included, failing before or
//! after they took effect) and of queue sends, receives, deletes and visibility changes, the same message
//! redelivered (receive count + 1: visibility expiring before the delete, a failed delete, at-least-once
//! delivery of a message in flight), duplicates sent as new messages, visible messages handed out in random
//! order, and the operator's redrive of the DLQ through [`local::persist_dead_letters`] and
//! [`redrive::redrive_dead_letters`]:
//! - a step sends its continuation BEFORE its caller acknowledges the message; an `Err` step is never acked
//!   (a driver that acks failed steps is shown to lose work);
//! - each job gets exactly one terminal record (object `job-record`, create-only: done or failed, first wins;
//!   checked: written once). A job is skipped when it has one, so a delivery that checks after the record
//!   exists never runs it again (checked as each job starts). A delivery that checked just before an
//!   overlapping delivery wrote the record can still run it once more: runners must be idempotent;
//! - a failing job is retried in the chain (its attempts travel in the message) up to `max_attempts`;
//! - hops never exceed `max_hops = lane jobs x max_attempts` (the loop guard that replaces AWS's 16-hop stop);
//! - a layer's completion marker is created exactly once, and only its owner (the message whose create-only
//!   put of `layer-complete` succeeded, or another delivery of that same body) writes the report, runs the
//!   layer's hook and starts the next layer, with one first message per lane holding the marker's done jobs;
//! - nothing is lost: once the queue is empty, each layer is complete with every job's record listed in its
//!   marker, or what it has left (each unfinished lane, each job without a record, the completion) is in a
//!   message in the DLQ, where it stays, counted, until redriven (the exact rule: `tests/sim/invariants.rs`);
//! - messages that cannot be acted on go to the DLQ with a reason; they are never retried forever (an
//!   operator's redrive re-sends the ones that are worklist messages, and they are refused again).
//!
//! Known gap (found by the simulation, reproduced by its `known_gap_*` test, counted there rather than
//! failed on): when another delivery of the owner's body acknowledged it on a different path (a concurrent
//! redelivery that retried the head job, or found a lane not yet done) and the owner's own delivery fails after
//! creating the marker, nothing resumes the completion — every later message finds the marker and stops — so
//! the report and the next layer never come.
//!
//! Every object key comes from the prefix handles the caller was granted ([`keys::Locations`]); a layer's
//! first messages are built and sent only by [`start::start_layer`].

pub mod clock;
pub mod codec;
pub mod consumer;
mod fanin;
pub mod keys;
pub mod lambda;
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
pub use message::{JobList, WorkMessage};
pub use queue::{EmbeddedQueue, Queue, QueueCounts, QueueError, Received, SqsQueue};
pub use runner::{JobContext, JobError, JobRunner, LayerHook, Registry};
pub use start::{LayerStart, StartError, start_layer};
pub use step::{FanIn, JobOutcome, StepReport};
