//! What one consumer step did, and its one structured log line (run, layer, job, hop, attempt, outcome, duration).

use crate::message::WorkMessage;

/// The outcome of one step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Dataset of the message (empty when it could not be decoded).
    pub dataset: String,
    /// Run of the message.
    pub run_id: String,
    /// Layer of the message.
    pub layer: String,
    /// Lane of the message.
    pub lane: u32,
    /// Hop of the message.
    pub hop: u64,
    /// The head job, when one was settled.
    pub job: Option<JobStep>,
    /// The fan-in, when the list ended in this step.
    pub fan_in: Option<FanIn>,
    /// Why the message was dead-lettered, if it was.
    pub dead_letter: Option<String>,
    /// Wall time of the whole step.
    pub duration_ms: u64,
}

/// What happened to the head job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStep {
    /// Job id.
    pub job: String,
    /// Attempt number (1-based) this step made or would have made.
    pub attempt: u32,
    /// What happened.
    pub outcome: JobOutcome,
    /// Wall time of the run (0 when not run).
    pub duration_ms: u64,
}

impl JobStep {
    pub(crate) fn new(job: &str, attempt: u32) -> Self {
        Self {
            job: job.to_owned(),
            attempt,
            outcome: JobOutcome::Skipped,
            duration_ms: 0,
        }
    }
}

/// Head-job outcomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Ran and its done marker is written.
    Done,
    /// Its done marker already existed (a duplicate delivery or a resumed chain).
    Skipped,
    /// Its failure record already existed.
    AlreadyFailed,
    /// Failed an attempt; the continuation retries it.
    Retrying {
        /// The error.
        error: String,
    },
    /// Given up on; failure recorded.
    Failed {
        /// The error.
        error: String,
    },
}

impl JobOutcome {
    /// Short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            JobOutcome::Done => "done",
            JobOutcome::Skipped => "skipped",
            JobOutcome::AlreadyFailed => "already_failed",
            JobOutcome::Retrying { .. } => "retrying",
            JobOutcome::Failed { .. } => "failed",
        }
    }
}

/// Fan-in outcomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FanIn {
    /// This lane is done; other lanes are not yet.
    LaneDone,
    /// This step completed the layer (or, `resumed`, finished a completion an earlier delivery began).
    Completed {
        /// True when the marker was created by an earlier delivery of the same message.
        resumed: bool,
        /// The layer started next.
        next_layer: Option<String>,
    },
    /// Another message already completed the layer; nothing to do.
    AlreadyComplete,
}

impl FanIn {
    /// Short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            FanIn::LaneDone => "lane_done",
            FanIn::Completed { resumed: false, .. } => "layer_completed",
            FanIn::Completed { resumed: true, .. } => "layer_completion_resumed",
            FanIn::AlreadyComplete => "layer_already_complete",
        }
    }
}

impl StepReport {
    pub(crate) fn set_message(&mut self, msg: &WorkMessage) {
        self.dataset.clone_from(&msg.dataset);
        self.run_id.clone_from(&msg.run_id);
        self.layer.clone_from(&msg.layer);
        self.lane = msg.lane;
        self.hop = msg.hop;
    }

    /// One word for the step: the dead letter, else the fan-in, else the job outcome.
    pub fn outcome(&self) -> &'static str {
        if self.dead_letter.is_some() {
            "dead_lettered"
        } else if let Some(f) = &self.fan_in {
            f.name()
        } else if let Some(j) = &self.job {
            j.outcome.name()
        } else {
            "noop"
        }
    }

    pub(crate) fn log(&self) {
        tracing::info!(
            target: "worklist",
            run = %self.run_id,
            dataset = %self.dataset,
            layer = %self.layer,
            lane = self.lane,
            job = self.job.as_ref().map(|j| j.job.as_str()).unwrap_or(""),
            hop = self.hop,
            attempt = self.job.as_ref().map_or(0, |j| j.attempt),
            outcome = self.outcome(),
            job_outcome = self.job.as_ref().map_or("", |j| j.outcome.name()),
            reason = self.dead_letter.as_deref().unwrap_or(""),
            duration_ms = self.duration_ms,
            "worklist step"
        );
    }

    pub(crate) fn log_error(&self, error: &dyn std::error::Error) {
        tracing::warn!(
            target: "worklist",
            run = %self.run_id,
            layer = %self.layer,
            lane = self.lane,
            job = self.job.as_ref().map(|j| j.job.as_str()).unwrap_or(""),
            hop = self.hop,
            outcome = "error_will_redeliver",
            error = %error,
            duration_ms = self.duration_ms,
            "worklist step"
        );
    }
}
