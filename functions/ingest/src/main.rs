//! Thin Lambda shell for `ingest`: tracing, then [`ingest::Function`] wired from `platform::Aws` (bucket, queue,
//! the Socrata app token from SSM once at cold start, the self-invocation), each invocation handled until 120 s
//! before its deadline (a longer run continues in an asynchronous invocation of this function). A failure
//! answers with its category (`retryable`, `bad_input`, `internal`) as the error type. The process keeps to one
//! malloc arena (`ingest_core::malloc`), set before the runtime starts its threads.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

fn main() -> Result<(), lambda_runtime::Error> {
    ingest_core::malloc::one_arena();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let platform = platform::Aws::load().await;
    let function = ingest::Function::new(&platform).await?;
    let function = &function;
    lambda_runtime::run(service_fn(move |e: LambdaEvent<Value>| async move {
        // Stop 120 s before this invocation's deadline; the next segment is a new invocation.
        let deadline = ingest::continuation::segment_deadline(e.context.deadline);
        function
            .handle(e.payload, Some(deadline))
            .await
            .map_err(Diagnostic::from)
    }))
    .await
}
