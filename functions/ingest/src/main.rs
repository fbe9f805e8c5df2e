//! Thin Lambda shell for `ingest`: bucket and queue from the generated names, then [`ingest::handle`].

use std::sync::Arc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use object_store::aws::AmazonS3Builder;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let bucket = ingest::Locations::granted().raw.bucket().physical_name()?;
    let data: Arc<dyn object_store::ObjectStore> = Arc::new(
        AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()?,
    );
    let sqs = aws_sdk_sqs::Client::new(&aws_config::load_from_env().await);
    let queue = worklist::SqsQueue::new(sqs, &prefixes::ingest::queues::WORKLIST.url()?);
    let (data, queue) = (&data, &queue);
    lambda_runtime::run(service_fn(move |e: LambdaEvent<Value>| async move {
        let event: ingest::IngestEvent = serde_json::from_value(e.payload)?;
        ingest::handle(event, data.clone(), queue)
            .await
            .map_err(Error::from)
    }))
    .await
}
