//! The Lambda platform: variables from the process environment (the template and the runtime set them), buckets
//! through S3, queues through SQS, parameters through SSM (`GetParameter` with decryption) and the continuation
//! through an asynchronous (`Event`) Lambda invocation of the function's own name.

use std::sync::Arc;

use futures::future::BoxFuture;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use worklist::{Queue, SqsQueue};

use crate::{ENV_FUNCTION_NAME, Error, Platform};

/// The SDK clients a function needs beyond S3 (which comes from the standard environment).
#[derive(Debug, Clone)]
struct Clients {
    sqs: aws_sdk_sqs::Client,
    ssm: aws_sdk_ssm::Client,
    lambda: aws_sdk_lambda::Client,
}

/// AWS: S3 from the standard environment (credentials, region); SQS, SSM and Lambda when loaded with
/// [`Aws::load`] or [`Aws::from_config`].
#[derive(Debug, Clone, Default)]
pub struct Aws {
    clients: Option<Clients>,
}

impl Aws {
    /// Buckets only (a function that sends to no queue, reads no parameter and never continues).
    pub fn buckets_only() -> Self {
        Self::default()
    }

    /// Everything: loads the AWS configuration once for the SDK clients.
    pub async fn load() -> Self {
        Self::from_config(&aws_config::load_from_env().await)
    }

    /// Everything, with an AWS configuration loaded already (tests point it at moto).
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Self {
            clients: Some(Clients {
                sqs: aws_sdk_sqs::Client::new(config),
                ssm: aws_sdk_ssm::Client::new(config),
                lambda: aws_sdk_lambda::Client::new(config),
            }),
        }
    }

    fn clients(&self) -> Option<&Clients> {
        self.clients.as_ref()
    }
}

const NO_CLIENTS: &str = "this platform was built without SDK clients (Aws::buckets_only)";

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
        let clients = self.clients().ok_or_else(|| Error::Queue {
            url: url.to_owned(),
            reason: NO_CLIENTS.replace("SDK clients", "SQS"),
        })?;
        Ok(Arc::new(SqsQueue::new(clients.sqs.clone(), url)))
    }

    fn parameter<'a>(
        &'a self,
        physical_name: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, Error>> {
        use aws_sdk_ssm::error::DisplayErrorContext;
        use aws_sdk_ssm::operation::get_parameter::GetParameterError;
        Box::pin(async move {
            let err = |reason: String| Error::Parameter {
                name: physical_name.to_owned(),
                reason,
            };
            let clients = self.clients().ok_or_else(|| err(NO_CLIENTS.into()))?;
            let got = clients
                .ssm
                .get_parameter()
                .name(physical_name)
                .with_decryption(true)
                .send()
                .await;
            match got {
                Ok(out) => match out.parameter.and_then(|p| p.value) {
                    Some(value) => Ok(Some(value)),
                    None => Err(err("the parameter has no value".into())),
                },
                Err(e)
                    if matches!(
                        e.as_service_error(),
                        Some(GetParameterError::ParameterNotFound(_))
                    ) =>
                {
                    Ok(None)
                }
                Err(e) => Err(err(DisplayErrorContext(&e).to_string())),
            }
        })
    }

    fn invoke_self<'a>(
        &'a self,
        payload: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let function = self.var(ENV_FUNCTION_NAME).filter(|v| !v.is_empty());
            let Some(function) = function else {
                return Err(Error::Invoke {
                    function: ENV_FUNCTION_NAME.into(),
                    reason: format!("{ENV_FUNCTION_NAME} is not set: not running in Lambda?"),
                });
            };
            let err = |reason: String| Error::Invoke {
                function: function.clone(),
                reason,
            };
            let clients = self.clients().ok_or_else(|| err(NO_CLIENTS.into()))?;
            let body = serde_json::to_vec(payload).map_err(|e| err(e.to_string()))?;
            clients
                .lambda
                .invoke()
                .function_name(&function)
                .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
                .payload(aws_sdk_lambda::primitives::Blob::new(body))
                .send()
                .await
                .map_err(|e| err(aws_sdk_lambda::error::DisplayErrorContext(&e).to_string()))?;
            Ok(())
        })
    }
}
