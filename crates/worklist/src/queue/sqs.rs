//! The SQS backend of [`Queue`] (aws-sdk-sqs), plus queue creation with a redrive policy for tests and tools.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{DisplayErrorContext, SdkError};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

use super::{Queue, QueueCounts, QueueError, Received, check_delay, check_receive};

/// One SQS queue, addressed by URL.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

fn backend<E, R>(op: &str, err: SdkError<E, R>) -> QueueError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    QueueError::Backend(format!("sqs {op}: {}", DisplayErrorContext(&err)))
}

fn secs(d: Duration) -> i32 {
    // SQS counts whole seconds; round up so a delay or timeout is never shorter than asked.
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0)) as i32
}

impl SqsQueue {
    /// A handle on an existing queue.
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// The queue URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Create (or open) queue `name`; with `redrive = Some((dlq, max_receives))` messages received
    /// `max_receives` times move to `dlq`.
    pub async fn create(
        client: Client,
        name: &str,
        redrive: Option<(&SqsQueue, u32)>,
    ) -> Result<SqsQueue, QueueError> {
        let mut req = client.create_queue().queue_name(name);
        if let Some((dlq, max_receives)) = redrive {
            let attrs = client
                .get_queue_attributes()
                .queue_url(&dlq.url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(|e| backend("get_queue_attributes", e))?;
            let arn = attrs
                .attributes()
                .and_then(|a| a.get(&QueueAttributeName::QueueArn))
                .ok_or_else(|| QueueError::Backend(format!("queue {} has no ARN", dlq.url)))?;
            let policy = serde_json::json!({
                "deadLetterTargetArn": arn,
                "maxReceiveCount": max_receives.to_string(),
            });
            req = req.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
        }
        let out = req.send().await.map_err(|e| backend("create_queue", e))?;
        let url = out
            .queue_url()
            .ok_or_else(|| QueueError::Backend(format!("create_queue {name}: no URL returned")))?;
        Ok(SqsQueue::new(client, url))
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, body: &str, delay: Option<Duration>) -> Result<String, QueueError> {
        check_delay(delay)?;
        let mut req = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(body);
        if let Some(delay) = delay {
            req = req.delay_seconds(secs(delay));
        }
        let out = req.send().await.map_err(|e| backend("send_message", e))?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }

    async fn receive(
        &self,
        max: u32,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<Received>, QueueError> {
        check_receive(max, visibility)?;
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max as i32)
            .visibility_timeout(secs(visibility))
            .wait_time_seconds(secs(wait.min(Duration::from_secs(20))))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| backend("receive_message", e))?;
        out.messages()
            .iter()
            .map(|m| {
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .ok_or_else(|| {
                        QueueError::Backend("receive_message: no ApproximateReceiveCount".into())
                    })?;
                Ok(Received {
                    message_id: m.message_id().unwrap_or_default().to_owned(),
                    receipt_handle: m.receipt_handle().unwrap_or_default().to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    receive_count,
                })
            })
            .collect()
    }

    async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError> {
        match self
            .client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_receipt_handle_is_invalid()) =>
            {
                Err(QueueError::InvalidReceipt(receipt_handle.to_owned()))
            }
            Err(e) => Err(backend("delete_message", e)),
        }
    }

    async fn change_visibility(
        &self,
        receipt_handle: &str,
        visibility: Duration,
    ) -> Result<(), QueueError> {
        match self
            .client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(secs(visibility))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_receipt_handle_is_invalid() || s.is_message_not_inflight()
                }) =>
            {
                Err(QueueError::InvalidReceipt(receipt_handle.to_owned()))
            }
            Err(e) => Err(backend("change_message_visibility", e)),
        }
    }

    async fn counts(&self) -> Result<QueueCounts, QueueError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| backend("get_queue_attributes", e))?;
        let get = |name: QueueAttributeName| -> u64 {
            out.attributes()
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Ok(QueueCounts {
            visible: get(QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
            delayed: get(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
        })
    }
}
