//! Retry and timeout settings for [`DynamoStore`](crate::DynamoStore).

use std::time::Duration;

/// How [`DynamoStore::with_options`](crate::DynamoStore::with_options)
/// talks to DynamoDB.
///
/// The store applies these on top of the client's own configuration: the
/// SDK's **standard** retry mode with at most [`max_attempts`] attempts per
/// call (throttling — `ProvisionedThroughputExceededException`,
/// `ThrottlingException`, `RequestLimitExceeded` — and transient errors such
/// as 5xx answers and dropped connections are retried with jittered
/// exponential backoff; a failed condition is an answer, never retried), and
/// an [`operation_timeout`] covering all attempts of one call.
///
/// [`max_attempts`]: DynamoStoreOptions::max_attempts
/// [`operation_timeout`]: DynamoStoreOptions::operation_timeout
///
/// ```
/// use std::time::Duration;
/// use chatkit_leads_dynamodb::DynamoStoreOptions;
///
/// let options = DynamoStoreOptions::default()
///     .max_attempts(5)
///     .operation_timeout(Some(Duration::from_secs(20)));
/// assert_eq!(options.max_attempts, 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DynamoStoreOptions {
    /// Attempts per call, the first included (at least 1; default 3).
    pub max_attempts: u32,
    /// Longest time one call may take, retries and backoff included
    /// (default 10 s; `None` leaves the client's setting).
    pub operation_timeout: Option<Duration>,
}

impl Default for DynamoStoreOptions {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            operation_timeout: Some(Duration::from_secs(10)),
        }
    }
}

impl DynamoStoreOptions {
    /// Sets [`DynamoStoreOptions::max_attempts`] (0 counts as 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets [`DynamoStoreOptions::operation_timeout`].
    #[must_use]
    pub fn operation_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.operation_timeout = timeout;
        self
    }
}
