//! Continuing a run that outgrows one invocation: the segment stops [`MARGIN`] before the
//! invocation's deadline (the checkpoint is written by `ingest_core::ingest_segment`), and the
//! function invokes itself asynchronously with the same event and run id
//! ([`platform::Platform::invoke_self`]: a Lambda `Event` invocation in AWS, a queued in-process invocation
//! locally). The feature manifest's `continues: true` grants `lambda:InvokeFunction` on this function's own
//! ARN and nothing else.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Time kept free before the invocation's deadline to close part files and write the checkpoint
/// (infra-gen's `CONTINUE_MARGIN_S` requires a timeout of at least twice this).
pub const MARGIN: Duration = Duration::from_secs(120);

/// Segments one run may take (a day of 15-minute invocations): the hop guard of the self-invocation
/// chain, since the function opts out of AWS's recursive-loop stop.
pub const MAX_SEGMENTS: u32 = 96;

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
