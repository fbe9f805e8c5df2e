//! Thin Lambda shell for `process`: the recursive worklist consumer on its SQS queue.
//!
//! Queue URLs, bucket names and the layer chain come from the generated `prefixes` crate (the names the
//! templates set), so code and infrastructure cannot disagree.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use worklist::lambda::{LambdaEnv, handle_sqs_event};

fn bucket(b: prefixes::Bucket) -> Result<Arc<dyn ObjectStore>, Error> {
    Ok(Arc::new(
        AmazonS3Builder::from_env()
            .with_bucket_name(b.physical_name()?)
            .build()?,
    ))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let queue = prefixes::process::queues::WORKLIST;
    let env = LambdaEnv {
        queue_url: queue.url()?,
        dlq_url: queue.dlq_url()?,
        layers: queue.layers.iter().map(|l| l.to_string()).collect(),
    };
    let locations = process::Locations::granted();
    let data = bucket(locations.raw.bucket())?;
    let ledger = ledger::Ledger::new(bucket(locations.events.bucket())?);
    let runners = process::registry(&data, Some(&ledger), "la311")?;
    let sqs = aws_sdk_sqs::Client::new(&aws_config::load_from_env().await);
    let consumer = env.consumer(sqs, data, runners);
    let consumer = &consumer;
    lambda_runtime::run(service_fn(move |e: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(handle_sqs_event(consumer, e.payload).await)
    }))
    .await
}
