//! Thin Lambda shell for `ledger-api`: the ledger's axum router behind a Lambda function URL.
//!
//! Writes are authorized in front of the app: the function URL uses AWS_IAM (SigV4), as infra-gen emits it.

use std::sync::Arc;

use lambda_http::Error;
use object_store::aws::AmazonS3Builder;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_target(false)
        .without_time()
        .init();
    let bucket = ledger_api::Locations::granted()
        .events
        .bucket()
        .physical_name()?;
    let store = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()?;
    let config = ledger::api::ApiConfig::new(ledger::api::WriteAuth::Platform, "la311");
    let app = ledger::api::router(ledger::Ledger::new(Arc::new(store)), config);
    lambda_http::run(app).await
}
