//! The `process` Lambda's handler logic: run the consumer step on each record of an SQS event and report
//! the records that must be redelivered as partial batch failures (`ReportBatchItemFailures`).
//!
//! The `process` function crate wires the consumer from its platform (`process::Function::new`) and calls
//! [`handle_sqs_event`] per invocation; `civic` feeds it events with [`crate::local::deliver`].

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};

use crate::consumer::Consumer;

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
