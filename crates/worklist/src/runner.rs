//! What a layer's job is: the [`JobRunner`] trait the real steps (transform, analyze) implement, and the registry
//! mapping layer names to runners.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

/// Everything a runner needs to know about the job it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobContext<'a> {
    /// Dataset id.
    pub dataset: &'a str,
    /// Ingestion run id.
    pub run_id: &'a str,
    /// The layer this job belongs to.
    pub layer: &'a str,
    /// The job id (a partition value for LA 311).
    pub job: &'a str,
    /// 1-based attempt number within the chain.
    pub attempt: u32,
}

/// How a job failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Might succeed when retried (throttling, timeouts, a flaky dependency).
    #[error("retryable: {0}")]
    Retryable(String),
    /// Will fail again (bad input, missing raw data): recorded as failed without further attempts.
    #[error("fatal: {0}")]
    Fatal(String),
}

/// Runs one job of one layer. Must be idempotent: write outputs to deterministic keys, so a second run
/// (SQS delivers at least once) overwrites with the same content.
#[async_trait]
pub trait JobRunner: Send + Sync {
    /// Run the job; the returned JSON summary is kept in the job's done marker and the layer report.
    async fn run(&self, job: &JobContext<'_>) -> Result<serde_json::Value, JobError>;
}

/// Layer name -> runner.
#[derive(Clone, Default)]
pub struct Registry {
    runners: BTreeMap<String, Arc<dyn JobRunner>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("layers", &self.runners.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Register `runner` for `layer` (replacing any earlier one).
    pub fn register(&mut self, layer: &str, runner: Arc<dyn JobRunner>) -> &mut Self {
        self.runners.insert(layer.to_owned(), runner);
        self
    }

    /// The runner of `layer`.
    pub fn get(&self, layer: &str) -> Option<&Arc<dyn JobRunner>> {
        self.runners.get(layer)
    }

    /// Layers registered, sorted.
    pub fn layers(&self) -> Vec<&str> {
        self.runners.keys().map(String::as_str).collect()
    }

    /// The layers of `chain` that have no runner, in chain order.
    pub fn missing<'a>(&self, chain: &'a [String]) -> Vec<&'a str> {
        chain
            .iter()
            .filter(|l| !self.runners.contains_key(l.as_str()))
            .map(String::as_str)
            .collect()
    }
}
