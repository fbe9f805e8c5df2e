//! The `process` Lambda's handler logic: run the consumer step on each record of an SQS event and report
//! the records that must be redelivered as partial batch failures (`ReportBatchItemFailures`).

//!
//! Wiring in `functions/process/src/main.rs` (sketch):
//! ```ignore
//! let env = LambdaEnv::from_lookup(|k| std::env::var(k).ok())?;
//! let sqs = aws_sdk_sqs::Client::new(&aws_config::load_from_env().await);
//! let consumer = env.consumer(sqs, data_store, runners);
//! lambda_runtime::run(service_fn(|e: LambdaEvent<SqsEvent>| async {
//!     Ok::<_, Error>(handle_sqs_event(&consumer, e.payload).await)
//! })).await
//! ```

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use object_store::ObjectStore;

use crate::consumer::{Config, Consumer};
use crate::queue::SqsQueue;
use crate::runner::Registry;

/// Environment the `process` function reads (set by the generated stack).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaEnv {
    /// `WORKLIST_QUEUE_URL`: where continuations and next-layer starts are sent (the function's own queue).
    pub queue_url: String,
    /// `WORKLIST_DLQ_URL`: where refused messages go.
    pub dlq_url: String,
    /// `WORKLIST_LAYERS`: comma-separated layer chain, e.g. `transform,analyze`.
    pub layers: Vec<String>,
}

impl LambdaEnv {
    /// Read the variables through `get` (e.g. `|k| std::env::var(k).ok()`); names every missing one.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut missing = Vec::new();
        let mut var = |name: &str| {
            get(name).filter(|v| !v.is_empty()).unwrap_or_else(|| {
                missing.push(name.to_owned());
                String::new()
            })
        };
        let queue_url = var("WORKLIST_QUEUE_URL");
        let dlq_url = var("WORKLIST_DLQ_URL");
        let layers = var("WORKLIST_LAYERS");
        if !missing.is_empty() {
            return Err(format!(
                "missing environment variable(s): {}",
                missing.join(", ")
            ));
        }
        let layers = layers
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Self {
            queue_url,
            dlq_url,
            layers,
        })
    }
}

impl LambdaEnv {
    /// The consumer the handler runs: SQS work queue and DLQ from the URLs, the data store, the runners.
    pub fn consumer(
        &self,
        sqs: aws_sdk_sqs::Client,
        store: Arc<dyn ObjectStore>,
        runners: Registry,
    ) -> Consumer {
        let queue = Arc::new(SqsQueue::new(sqs.clone(), &self.queue_url));
        let dlq = Arc::new(SqsQueue::new(sqs, &self.dlq_url));
        Consumer::new(store, queue, dlq, runners, Config::new(self.layers.clone()))
    }
}

/// Step every record; the ones whose step failed are returned for redelivery, all others are acknowledged
/// by Lambda (their continuation was already sent, or they were dead-lettered with a reason).
pub async fn handle_sqs_event(consumer: &Consumer, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let receive_count = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let body = record.body.unwrap_or_default();
        if consumer.step(&body, receive_count).await.is_err() {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_every_missing_variable() {
        let err = LambdaEnv::from_lookup(|_| None).unwrap_err();
        assert!(
            err.contains("WORKLIST_QUEUE_URL") && err.contains("WORKLIST_LAYERS"),
            "{err}"
        );
        let env = LambdaEnv::from_lookup(|k| {
            Some(match k {
                "WORKLIST_LAYERS" => "transform, analyze".to_owned(),
                other => format!("url-{other}"),
            })
        })
        .unwrap();
        assert_eq!(env.layers, ["transform", "analyze"]);
    }
}
