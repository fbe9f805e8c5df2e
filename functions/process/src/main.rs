//! Thin Lambda shell for `process`: sets up tracing and starts the runtime.
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

async fn handler(_event: LambdaEvent<Value>) -> Result<Value, Error> {
    Err("not implemented yet: the process handler arrives with its own issue".into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    lambda_runtime::run(service_fn(handler)).await
}
