//! What a layer's job is: the [`JobRunner`] trait the real steps (transform, analyze) implement, the
//! [`LayerHook`] that runs once a layer has fanned in, and the registry mapping layer names to both.

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

/// Runs once a layer has fanned in (every job settled, the layer report written), before the next layer
/// starts: the place for work that needs every partition (e.g. city-wide findings).
///
/// Must be idempotent: when it fails, the completing message is left for redelivery, and the redelivery
/// resumes the completion and runs the hook again (a message that keeps failing reaches the DLQ).
#[async_trait]
pub trait LayerHook: Send + Sync {
    /// Called with the completed layer's report.
    async fn completed(&self, report: &crate::report::LayerReport) -> Result<(), JobError>;
}

/// Layer name -> runner, and layer name -> fan-in hook.
#[derive(Clone, Default)]
pub struct Registry {
    runners: BTreeMap<String, Arc<dyn JobRunner>>,
    hooks: BTreeMap<String, Arc<dyn LayerHook>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("layers", &self.runners.keys().collect::<Vec<_>>())
            .field("hooks", &self.hooks.keys().collect::<Vec<_>>())
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

    /// Run `hook` when `layer` completes (replacing any earlier one).
    pub fn on_completed(&mut self, layer: &str, hook: Arc<dyn LayerHook>) -> &mut Self {
        self.hooks.insert(layer.to_owned(), hook);
        self
    }

    /// The fan-in hook of `layer`.
    pub fn hook(&self, layer: &str) -> Option<&Arc<dyn LayerHook>> {
        self.hooks.get(layer)
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
