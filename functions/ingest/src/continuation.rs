//! Continuing a run that outgrows one invocation: the segment stops [`MARGIN`] before the
//! invocation's deadline (the checkpoint is written by `ingest_core::ingest_segment`), and the
//! function invokes itself asynchronously with the same event and run id. The feature manifest's
//! `continues: true` grants `lambda:InvokeFunction` on this function's own ARN and nothing else.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;

use crate::IngestEvent;

/// Time kept free before the invocation's deadline to close part files and write the checkpoint
/// (infra-gen's `CONTINUE_MARGIN_S` requires a timeout of at least twice this).
pub const MARGIN: Duration = Duration::from_secs(120);

/// Segments one run may take (a day of 15-minute invocations): the hop guard of the self-invocation
/// chain, since the function opts out of AWS's recursive-loop stop.
pub const MAX_SEGMENTS: u32 = 96;

/// Starts the next segment of a run.
pub trait Continuer: Send + Sync {
    /// Invoke the function again with `event` (which names the run id), without waiting for it.
    fn continue_run<'a>(&'a self, event: &'a IngestEvent) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// The Lambda [`Continuer`]: an `Event` (asynchronous) invocation of this same function.
pub struct LambdaContinuer {
    client: aws_sdk_lambda::Client,
    function_name: String,
}

impl LambdaContinuer {
    /// The function's own name comes from the runtime (`AWS_LAMBDA_FUNCTION_NAME`).
    pub fn from_env(client: aws_sdk_lambda::Client) -> anyhow::Result<Self> {
        let function_name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").map_err(|_| {
            anyhow::anyhow!("AWS_LAMBDA_FUNCTION_NAME is not set: not running in Lambda?")
        })?;
        Ok(LambdaContinuer {
            client,
            function_name,
        })
    }
}

impl Continuer for LambdaContinuer {
    fn continue_run<'a>(&'a self, event: &'a IngestEvent) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let payload = serde_json::to_vec(event)?;
            self.client
                .invoke()
                .function_name(&self.function_name)
                .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
                .payload(aws_sdk_lambda::primitives::Blob::new(payload))
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "could not invoke {} to continue the run: {}",
                        self.function_name,
                        aws_sdk_lambda::error::DisplayErrorContext(&e)
                    )
                })?;
            Ok(())
        })
    }
}

/// The instant a segment must stop: [`MARGIN`] before the invocation's deadline (milliseconds since
/// the Unix epoch, as the Lambda context gives it); now when that is already past.
pub fn segment_deadline(invocation_deadline_ms: u64) -> Instant {
    let deadline = UNIX_EPOCH + Duration::from_millis(invocation_deadline_ms);
    let left = deadline
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(MARGIN);
    Instant::now() + left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_segment_stops_the_margin_before_the_invocation() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let d = segment_deadline(now_ms + 900_000);
        let left = d.saturating_duration_since(Instant::now());
        assert!(
            left <= Duration::from_secs(780) && left > Duration::from_secs(775),
            "{left:?}"
        );
        // A deadline closer than the margin (or past) stops at once.
        let d = segment_deadline(now_ms + 60_000);
        assert!(d <= Instant::now());
    }
}
