//! Retry policy for HTTP requests: exponential backoff with full jitter, and the classification of
//! responses into retryable (429, 5xx, 202, dropped connection) and final.

use std::time::Duration;

use rand::Rng;

/// How often and how patiently to retry one request.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in total (first try included).
    pub max_attempts: u32,
    /// Backoff of the first retry.
    pub base: Duration,
    /// Upper bound of any single wait.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Wait before retry number `attempt` (1-based): uniform in `[ceiling/2, ceiling]`,
    /// where the ceiling doubles per attempt up to `cap`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let ceiling = exp.min(self.cap);
        let ms = ceiling.as_millis().max(1) as u64;
        Duration::from_millis(rand::rng().random_range(ms / 2..=ms))
    }
}

/// True for statuses that Socrata documents as "try again": 202 (still processing), 429, 5xx.
pub fn retryable_status(status: reqwest::StatusCode) -> bool {
    status == reqwest::StatusCode::ACCEPTED
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
        };
        for _ in 0..50 {
            let b1 = p.backoff(1);
            assert!(b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100));
            let b3 = p.backoff(3);
            assert!(b3 >= Duration::from_millis(200) && b3 <= Duration::from_millis(400));
            assert!(p.backoff(30) <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn statuses_are_classified() {
        use reqwest::StatusCode as S;
        for s in [
            S::ACCEPTED,
            S::TOO_MANY_REQUESTS,
            S::INTERNAL_SERVER_ERROR,
            S::BAD_GATEWAY,
        ] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [S::OK, S::BAD_REQUEST, S::FORBIDDEN, S::NOT_FOUND] {
            assert!(!retryable_status(s), "{s}");
        }
    }
}
