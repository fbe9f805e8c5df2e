//! Thin Lambda shell for `ledger-api`: the ledger's axum router behind a Lambda function URL.
//!
//! Writes are authorized in front of the app: the function URL uses AWS_IAM (SigV4), as infra-gen emits it.

use lambda_http::Error;
use ledger_http::WriteAuth;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let app = ledger_api::app(&platform::Aws::buckets_only(), WriteAuth::Platform)?;
    lambda_http::run(app).await
}
