//! Thin Lambda shell for `process`: the recursive worklist consumer on its SQS queue.
//!
//! Queue URLs, bucket names and the layer chain come from the generated `prefixes` crate (the names the
//! templates set), read through the AWS platform, so code and infrastructure cannot disagree.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let function = process::Function::new(&platform::Aws::load().await)?;
    let function = &function;
    lambda_runtime::run(service_fn(move |e: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(function.handle(e.payload).await)
    }))
    .await
}
