//! Thin Lambda shell for `ingest`: bucket and queue from the generated names (through `platform::Aws`),
//! the Socrata app token from its SSM parameter (once, at cold start), then [`ingest::handle_segment`]
//! until 120 s before the invocation's deadline (a longer run continues in an asynchronous invocation
//! of this function).

use platform::Platform;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let aws = aws_config::load_from_env().await;
    // Buckets and queues through the same platform wiring as the other functions (and civic, locally).
    let platform = platform::Aws::from_config(&aws);
    let data = platform.bucket(ingest::Locations::granted().raw.bucket())?;
    let queue = platform.queue(prefixes::ingest::queues::WORKLIST)?;
    let ssm = aws_sdk_ssm::Client::new(&aws);
    let token = ingest::app_token::resolve(&ingest::app_token::PARAMETER, &ssm).await?;
    let continuer = ingest::LambdaContinuer::from_env(aws_sdk_lambda::Client::new(&aws))?;
    let (data, queue, token, continuer) = (&data, queue.as_ref(), token.as_ref(), &continuer);
    lambda_runtime::run(service_fn(move |e: LambdaEvent<Value>| async move {
        let event: ingest::IngestEvent = serde_json::from_value(e.payload)?;
        // Stop 120 s before this invocation's deadline; the next segment is a new invocation.
        let deadline = ingest::continuation::segment_deadline(e.context.deadline);
        ingest::handle_segment(event, data.clone(), queue, token, deadline, continuer)
            .await
            .map_err(Error::from)
    }))
    .await
}
