//! The Lambda platform: variables from the process environment (the template sets them), buckets through S3,
//! queues through SQS.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use worklist::{Queue, SqsQueue};

use crate::{Error, Platform};

/// AWS: S3 from the standard environment (credentials, region), SQS when loaded with [`Aws::load`].
#[derive(Debug, Clone, Default)]
pub struct Aws {
    sqs: Option<aws_sdk_sqs::Client>,
}

impl Aws {
    /// Buckets only (a function that sends to no queue needs no SQS client).
    pub fn buckets_only() -> Self {
        Self::default()
    }

    /// Buckets and queues: loads the AWS configuration once for the SQS client.
    pub async fn load() -> Self {
        Self::from_config(&aws_config::load_from_env().await)
    }

    /// Buckets and queues with an AWS configuration the function already loaded (for its other clients).
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Self {
            sqs: Some(aws_sdk_sqs::Client::new(config)),
        }
    }
}

impl Platform for Aws {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn open_bucket(&self, physical_name: &str) -> Result<Arc<dyn ObjectStore>, Error> {
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(physical_name)
            .build()
            .map_err(|e| Error::Bucket {
                bucket: physical_name.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Arc::new(store))
    }

    fn open_queue(&self, url: &str) -> Result<Arc<dyn Queue>, Error> {
        let sqs = self.sqs.clone().ok_or_else(|| Error::Queue {
            url: url.to_owned(),
            reason: "this platform was built without SQS (Aws::buckets_only)".into(),
        })?;
        Ok(Arc::new(SqsQueue::new(sqs, url)))
    }
}
