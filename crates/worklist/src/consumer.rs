//! One consumer step: decode a message, run (or skip) its head job, record the outcome, send the continuation,
//! and fan in when the list is empty. The same code serves the `process` Lambda and the local runner; the caller
//! acknowledges the message only after the step returned `Ok`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::ObjectStore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codec::{self, DecodeError, ListError};
use crate::keys::Locations;
use crate::manifest::{self, ManifestError, RunManifest};
use crate::markers::{JobRecord, JobStatus, create_only, now_rfc3339, read_json};
use crate::message::{SQS_MAX_MESSAGE_BYTES, WorkMessage};
use crate::probe::{Crashed, NoProbe, Point, Probe};
use crate::queue::{Queue, QueueError};
use crate::runner::{JobContext, JobError, JobRunner, Registry};
use crate::step::{FanIn, JobOutcome, JobStep, StepReport};

/// How the consumer behaves (the layer chain comes from the manifest / feature configuration).
#[derive(Debug, Clone)]
pub struct Config {
    /// Layer names in execution order; a completed layer starts the next one. A run manifest that declares
    /// `layers` overrides this chain for its run.
    pub layers: Vec<String>,
    /// Largest message body sent inline; larger job lists are claim-checked into the store. (Bodies up to
    /// SQS's 1 MiB are always accepted on receipt.)
    pub max_body_bytes: usize,
    /// Delay before retrying a failed attempt, multiplied by the attempt number (capped at 15 min).
    pub retry_delay: Duration,
}

impl Config {
    /// Defaults for `layers`: SQS's 1 MiB body limit, 10 s retry delay.
    pub fn new(layers: Vec<String>) -> Self {
        Self {
            layers,
            max_body_bytes: SQS_MAX_MESSAGE_BYTES,
            retry_delay: Duration::from_secs(10),
        }
    }

    /// The layer after `layer` in `chain`.
    pub fn next_layer<'a>(chain: &'a [String], layer: &str) -> Option<&'a str> {
        let pos = chain.iter().position(|l| l == layer)?;
        chain.get(pos + 1).map(String::as_str)
    }
}

/// Why a step did not finish; the message must NOT be acknowledged, so it is redelivered.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The object store failed.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// The queue failed.
    #[error("queue: {0}")]
    Queue(#[from] QueueError),
    /// A simulated crash.
    #[error(transparent)]
    Crashed(#[from] Crashed),
    /// A value of the message cannot be part of a key (validated messages never get here).
    #[error("key: {0}")]
    Key(#[from] prefixes::KeyError),
    /// The layer's fan-in hook failed; the completing message is redelivered and runs it again.
    #[error("fan-in hook of layer {layer}: {error}")]
    Hook {
        /// The completed layer.
        layer: String,
        /// What the hook reported.
        error: String,
    },
}

/// A message the consumer refused, as sent to the DLQ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Format version (1).
    pub version: u32,
    /// Why it was refused.
    pub reason: String,
    /// The original body.
    pub body: String,
    /// Receive count of the delivery that refused it.
    pub receive_count: u32,
    /// RFC 3339 time.
    pub at: String,
}

/// Everything a step needs: store, queues, runners, configuration and a probe.
#[derive(Clone)]
pub struct Consumer {
    /// The "data" bucket.
    pub store: Arc<dyn ObjectStore>,
    /// The prefixes of that bucket the running function was granted.
    pub locations: Locations,
    /// The worklist queue (continuations and next layers are sent here).
    pub queue: Arc<dyn Queue>,
    /// Where refused messages go.
    pub dlq: Arc<dyn Queue>,
    /// Layer -> runner.
    pub runners: Registry,
    /// Behaviour.
    pub config: Config,
    /// Crash/interleave hook; [`NoProbe`] in production.
    pub probe: Arc<dyn Probe>,
}

/// A hex sha256 of a body: the identity of a message across redeliveries.
pub fn body_token(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
}

impl Consumer {
    /// A consumer with no probe.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        locations: Locations,
        queue: Arc<dyn Queue>,
        dlq: Arc<dyn Queue>,
        runners: Registry,
        config: Config,
    ) -> Self {
        Self {
            store,
            locations,
            queue,
            dlq,
            runners,
            config,
            probe: Arc::new(NoProbe),
        }
    }

    /// Process one delivered body. `Ok` means: acknowledge it. `Err` means: leave it for redelivery.
    pub async fn step(&self, body: &str, receive_count: u32) -> Result<StepReport, StepError> {
        let started = Instant::now();
        let mut report = StepReport::default();
        let result = self.step_inner(body, receive_count, &mut report).await;
        report.duration_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(()) => report.log(),
            Err(e) => report.log_error(e),
        }
        result.map(|()| report)
    }

    async fn step_inner(
        &self,
        body: &str,
        receive_count: u32,
        report: &mut StepReport,
    ) -> Result<(), StepError> {
        let msg = match codec::decode(body, SQS_MAX_MESSAGE_BYTES) {
            Ok(msg) => msg,
            Err(
                e @ (DecodeError::Malformed(_)
                | DecodeError::Invalid(_)
                | DecodeError::Oversized { .. }),
            ) => {
                return self
                    .dead_letter(body, receive_count, e.to_string(), report)
                    .await;
            }
        };
        report.set_message(&msg);
        let loaded = manifest::load(
            self.store.as_ref(),
            &self.locations,
            &msg.dataset,
            &msg.run_id,
        )
        .await;
        let manifest = match loaded {
            Ok(m) => m,
            Err(ManifestError::Store { source, .. }) => return Err(source.into()),
            Err(e) => {
                return self
                    .dead_letter(body, receive_count, e.to_string(), report)
                    .await;
            }
        };
        let chain = manifest.layers.as_ref().unwrap_or(&self.config.layers);
        if !chain.contains(&msg.layer) {
            let reason = format!(
                "layer {:?} is not in the declared chain {chain:?}",
                msg.layer
            );
            return self.dead_letter(body, receive_count, reason, report).await;
        }
        let Some(runner) = self.runners.get(&msg.layer).cloned() else {
            let reason = format!("no job runner registered for layer {:?}", msg.layer);
            return self.dead_letter(body, receive_count, reason, report).await;
        };
        let jobs = match codec::remaining_jobs(&msg, self.store.as_ref(), &self.locations).await {
            Ok(jobs) => jobs,
            Err(ListError::Store(e)) => return Err(e.into()),
            Err(e @ (ListError::Corrupt { .. } | ListError::Key(_))) => {
                return self
                    .dead_letter(body, receive_count, e.to_string(), report)
                    .await;
            }
        };
        if msg.hop == 0 {
            let unknown: Vec<&String> = jobs.iter().filter(|j| !manifest.has_job(j)).collect();
            if !unknown.is_empty() {
                let reason = format!("job ids not in the run manifest: {unknown:?}");
                return self.dead_letter(body, receive_count, reason, report).await;
            }
        }
        let token = body_token(body);
        let Some(head) = jobs.first() else {
            report.fan_in = Some(self.fan_in(&msg, &token, &manifest).await?);
            return Ok(());
        };
        let (next, delay, job) = self
            .run_head(&msg, head, runner.as_ref(), &manifest)
            .await?;
        report.job = Some(job);
        if next.jobs.remaining() > 0 {
            self.probe.at(Point::BeforeSend).await?;
            let body = codec::encode(
                &next,
                self.store.as_ref(),
                self.locations.worklist.into(),
                self.config.max_body_bytes,
            )
            .await
            .map_err(list_to_step)?;
            self.queue.send(&body, delay).await?;
            self.probe.at(Point::AfterSend).await?;
        } else {
            report.fan_in = Some(self.fan_in(&next, &token, &manifest).await?);
        }
        Ok(())
    }

    /// Settle the head job; returns the continuation, its delay and what happened.
    async fn run_head(
        &self,
        msg: &WorkMessage,
        head: &str,
        runner: &dyn JobRunner,
        manifest: &RunManifest,
    ) -> Result<(WorkMessage, Option<Duration>, JobStep), StepError> {
        let store = self.store.as_ref();
        let record_key = self
            .locations
            .run(&msg.dataset, &msg.run_id)
            .job_record(&msg.layer, head)?;
        let attempt = msg.attempts_of(head) + 1;
        let mut step = JobStep::new(head, attempt);
        match read_json::<JobRecord>(store, &record_key).await? {
            Some(r) if r.status == JobStatus::Done => {
                step.outcome = JobOutcome::Skipped;
                return Ok((msg.advanced(head, false), None, step));
            }
            Some(_) => {
                step.outcome = JobOutcome::AlreadyFailed;
                return Ok((msg.advanced(head, true), None, step));
            }
            None => {}
        }
        if !manifest.has_job(head) {
            let error = format!("job id {head:?} is not in the run manifest");
            step.outcome = self.record_failure(msg, head, attempt, &error).await?;
            let done = step.outcome == JobOutcome::Skipped;
            return Ok((msg.advanced(head, !done), None, step));
        }
        self.probe.at(Point::BeforeRun).await?;
        let ctx = JobContext {
            dataset: &msg.dataset,
            run_id: &msg.run_id,
            layer: &msg.layer,
            job: head,
            attempt,
        };
        let started = Instant::now();
        let result = runner.run(&ctx).await;
        step.duration_ms = started.elapsed().as_millis() as u64;
        match result {
            Ok(summary) => {
                self.probe.at(Point::BeforeDoneMarker).await?;
                let record = JobRecord {
                    job: head.to_owned(),
                    status: JobStatus::Done,
                    attempts: attempt,
                    duration_ms: Some(step.duration_ms),
                    error: None,
                    summary: Some(summary),
                    at: now_rfc3339(),
                };
                let outcome = self.settle(msg, head, &record).await?;
                self.probe.at(Point::AfterDoneMarker).await?;
                step.outcome = outcome;
                let failed = step.outcome == JobOutcome::AlreadyFailed;
                Ok((msg.advanced(head, failed), None, step))
            }
            Err(JobError::Retryable(error)) if attempt < msg.max_attempts => {
                let delay = (self.config.retry_delay * attempt).min(crate::queue::MAX_DELAY);
                step.outcome = JobOutcome::Retrying { error };
                Ok((msg.retried(head), Some(delay), step))
            }
            Err(e) => {
                let error = e.to_string();
                let outcome = self.record_failure(msg, head, attempt, &error).await?;
                step.outcome = outcome;
                let done = step.outcome == JobOutcome::Skipped;
                Ok((msg.advanced(head, !done), None, step))
            }
        }
    }

    /// Create the job's terminal record; when another delivery already settled the job, its record stands
    /// (first writer wins) and the outcome says what it was.
    async fn settle(
        &self,
        msg: &WorkMessage,
        job: &str,
        record: &JobRecord,
    ) -> Result<JobOutcome, StepError> {
        let key = self
            .locations
            .run(&msg.dataset, &msg.run_id)
            .job_record(&msg.layer, job)?;
        if create_only(self.store.as_ref(), &key, record).await? {
            return Ok(match record.status {
                JobStatus::Done => JobOutcome::Done,
                JobStatus::Failed => JobOutcome::Failed {
                    error: record.error.clone().unwrap_or_default(),
                },
            });
        }
        let existing: Option<JobRecord> = read_json(self.store.as_ref(), &key).await?;
        Ok(match existing.map(|r| r.status) {
            Some(JobStatus::Failed) => {
                if record.status == JobStatus::Done {
                    tracing::warn!(
                        target: "worklist",
                        run = %msg.run_id, layer = %msg.layer, job,
                        "a straggling duplicate succeeded after the job was recorded failed; the failure stands"
                    );
                }
                JobOutcome::AlreadyFailed
            }
            _ => JobOutcome::Skipped,
        })
    }

    async fn record_failure(
        &self,
        msg: &WorkMessage,
        job: &str,
        attempts: u32,
        error: &str,
    ) -> Result<JobOutcome, StepError> {
        self.probe.at(Point::BeforeFailedRecord).await?;
        let record = JobRecord {
            job: job.to_owned(),
            status: JobStatus::Failed,
            attempts,
            duration_ms: None,
            error: Some(error.to_owned()),
            summary: None,
            at: now_rfc3339(),
        };
        self.settle(msg, job, &record).await
    }

    async fn fan_in(
        &self,
        msg: &WorkMessage,
        token: &str,
        manifest: &RunManifest,
    ) -> Result<FanIn, StepError> {
        crate::fanin::fan_in(self, msg, token, manifest).await
    }

    /// Send `body` to the DLQ with `reason`; the caller then acknowledges the original.
    async fn dead_letter(
        &self,
        body: &str,
        receive_count: u32,
        reason: String,
        report: &mut StepReport,
    ) -> Result<(), StepError> {
        self.probe.at(Point::BeforeDeadLetter).await?;
        let letter = DeadLetter {
            version: 1,
            reason: reason.clone(),
            body: body.to_owned(),
            receive_count,
            at: now_rfc3339(),
        };
        let json = serde_json::to_string(&letter).expect("dead letter serializes");
        self.dlq.send(&json, None).await?;
        report.dead_letter = Some(reason);
        Ok(())
    }
}

pub(crate) fn list_to_step(e: ListError) -> StepError {
    match e {
        ListError::Store(e) => StepError::Store(e),
        ListError::Key(e) => StepError::Key(e),
        ListError::Corrupt { key, reason } => StepError::Store(object_store::Error::Generic {
            store: "worklist",
            source: format!("claim-check list {key}: {reason}").into(),
        }),
    }
}
