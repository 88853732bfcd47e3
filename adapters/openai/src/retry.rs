//! Backoff arithmetic, kept pure so it is testable without a server.

use std::time::Duration;

use crate::config::RetryPolicy;

/// How long to wait before retry number `retry` (1 for the first retry):
/// the server's `retry-after` when given (capped by `max_delay`), otherwise
/// full jitter over an exponentially growing window.
pub(crate) fn backoff(policy: &RetryPolicy, retry: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(after) = retry_after {
        return after.min(policy.max_delay);
    }
    let exp = policy
        .base_delay
        .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
        .min(policy.max_delay);
    let jittered = exp.as_secs_f64() * (0.5 + fastrand::f64() * 0.5);
    Duration::from_secs_f64(jittered)
}

/// Reads `retry-after-ms` or `retry-after` (seconds) from response headers.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok();
    if let Some(ms) = value("retry-after-ms").filter(|v| v.is_finite() && *v >= 0.0) {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    value("retry-after")
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(800),
            max_elapsed: Duration::from_secs(10),
        };
        for retry in 1..=8 {
            let window =
                Duration::from_millis(100 * 2u64.pow(retry - 1)).min(Duration::from_millis(800));
            let d = backoff(&policy, retry, None);
            assert!(
                d <= window && d >= window / 2,
                "retry {retry}: {d:?} outside {window:?}"
            );
        }
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(
            backoff(&policy, 1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            backoff(&policy, 1, Some(Duration::from_secs(600))),
            policy.max_delay
        );
    }

    #[test]
    fn retry_after_headers_are_read() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "3".parse().expect("header"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert("retry-after-ms", "150".parse().expect("header"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
        h.insert("retry-after-ms", "soon".parse().expect("header"));
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().expect("header"),
        );
        assert_eq!(retry_after(&h), None);
    }
}
