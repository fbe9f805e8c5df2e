//! The layer report: what one worklist layer did, written when the layer fans in (object `layer-report`
//! of the `runs` prefix), read by the report, `civic` and the operator.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::summary::{AnalyzeSummary, SummaryError, TransformSummary};

/// Version of the report format.
pub const REPORT_VERSION: u32 = 1;

/// Final state of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Output complete.
    Done,
    /// Given up on.
    Failed,
}

/// What a layer did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerReport {
    /// Always [`REPORT_VERSION`].
    pub version: u32,
    pub dataset: String,
    pub run_id: String,
    pub layer: String,
    /// Jobs done + failed.
    pub jobs_total: usize,
    /// Jobs with a done marker.
    pub jobs_done: usize,
    /// Jobs given up on.
    pub jobs_failed: usize,
    /// Sum of the successful attempts' durations.
    pub total_duration_ms: u64,
    /// The layer started next, if any.
    pub next_layer: Option<String>,
    /// One entry per job, done first (in completion-marker order), then failed.
    pub jobs: Vec<JobReport>,
}

/// One job's line in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobReport {
    pub job: String,
    /// `done` or `failed`.
    pub status: JobStatus,
    /// Attempts made (the successful one included).
    pub attempts: u32,
    /// Duration of the successful attempt.
    pub duration_ms: Option<u64>,
    /// Last error of a failed job.
    pub error: Option<String>,
    /// The runner's summary of a done job: a [`TransformSummary`] in layer `transform`, an
    /// [`AnalyzeSummary`] in layer `analyze` (read them with [`LayerReport::transform_summaries`] and
    /// [`LayerReport::analyze_summaries`]).
    pub summary: Option<serde_json::Value>,
}

impl LayerReport {
    fn summaries<T: DeserializeOwned>(&self, kind: &'static str) -> Result<Vec<T>, SummaryError> {
        self.jobs
            .iter()
            .filter_map(|j| j.summary.as_ref().map(|s| (j, s)))
            .map(|(j, s)| {
                serde_json::from_value(s.clone()).map_err(|e| SummaryError {
                    layer: self.layer.clone(),
                    job: j.job.clone(),
                    kind,
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    /// The done jobs' summaries of a `transform` layer.
    pub fn transform_summaries(&self) -> Result<Vec<TransformSummary>, SummaryError> {
        self.summaries("transform summary")
    }

    /// The done jobs' summaries of an `analyze` layer.
    pub fn analyze_summaries(&self) -> Result<Vec<AnalyzeSummary>, SummaryError> {
        self.summaries("analyze summary")
    }
}
