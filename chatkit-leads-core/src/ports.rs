//! The four ports the workflow drives, plus the clock. Adapters implement
//! them; the workflow never sees HTTP, SQL or SMTP.
//!
//! Errors are small enums per port so the workflow can decide (retry later,
//! 404, 5xx) without knowing the adapter. Adapters must keep secrets, message
//! text, phone numbers and email addresses out of every error string.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::chatkit::{CreateSession, Page, PageRequest, Session, Thread, ThreadItem};
use crate::email::OutgoingEmail;
use crate::ids::{ThreadId, UserId};
use crate::record::{AcquireRequest, Acquired, ErrorMark, LeadRecord, LeaseToken, SentMark};
use crate::summary::{LeadSummary, SummaryInput};

/// A ChatKit call failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ChatKitError {
    /// ChatKit has no such thread (HTTP 404).
    #[error("thread not found")]
    NotFound,
    /// Authentication or permission failure (401/403): a configuration problem.
    #[error("ChatKit refused the credentials (HTTP {status})")]
    Unauthorized {
        /// HTTP status.
        status: u16,
    },
    /// Too many requests, after the adapter's retries.
    #[error("ChatKit rate limit reached")]
    RateLimited,
    /// Any other HTTP error status, after retries.
    #[error("ChatKit answered HTTP {status}")]
    Status {
        /// HTTP status.
        status: u16,
    },
    /// The connection failed or timed out.
    #[error("ChatKit unreachable: {0}")]
    Transport(String),
    /// The answer was not the expected JSON.
    #[error("unexpected ChatKit response: {0}")]
    Decode(String),
}

/// The ChatKit REST API (`/v1/chatkit/...`).
#[async_trait]
pub trait ChatKitClient: Send + Sync {
    /// `POST /v1/chatkit/sessions`.
    async fn create_session(&self, request: &CreateSession) -> Result<Session, ChatKitError>;
    /// `GET /v1/chatkit/threads/{id}`.
    async fn retrieve_thread(&self, thread_id: &ThreadId) -> Result<Thread, ChatKitError>;
    /// `GET /v1/chatkit/threads/{id}/items` for one page.
    async fn list_items(
        &self,
        thread_id: &ThreadId,
        page: &PageRequest,
    ) -> Result<Page<ThreadItem>, ChatKitError>;
    /// `GET /v1/chatkit/threads?user=…` for one page.
    async fn list_threads(
        &self,
        user: &UserId,
        page: &PageRequest,
    ) -> Result<Page<Thread>, ChatKitError>;
}

/// A lead store could not be reached or returned something unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store could not be reached or the operation failed.
    #[error("lead store unavailable: {0}")]
    Unavailable(String),
    /// A stored record could not be read back.
    #[error("lead store record unreadable: {0}")]
    Corrupt(String),
}

/// The idempotency store: one [`LeadRecord`] per thread, changed only by
/// single atomic operations (SPEC §7). Every method takes the current time
/// from the caller so behaviour is deterministic and testable.
///
/// `checkpoint_delivery`, `mark_sent`, `mark_error` and `release` return
/// `Ok(false)` when the caller no longer holds the lease.
#[async_trait]
pub trait LeadStore: Send + Sync {
    /// Reads a thread's record.
    async fn get(&self, thread_id: &ThreadId) -> Result<Option<LeadRecord>, StoreError>;
    /// Takes the send lease iff no record exists, or it is not `sent` and its
    /// lock has expired (`lock_expires_at <= now`).
    async fn try_acquire(&self, request: &AcquireRequest) -> Result<Acquired, StoreError>;
    /// Sets `delivery_started_at` just before the mailer is called.
    async fn checkpoint_delivery(&self, lease: &LeaseToken, now: i64) -> Result<bool, StoreError>;
    /// Marks the thread `sent` (final).
    async fn mark_sent(&self, lease: &LeaseToken, mark: &SentMark) -> Result<bool, StoreError>;
    /// Marks the attempt failed; the lock becomes the cooldown.
    async fn mark_error(&self, lease: &LeaseToken, mark: &ErrorMark) -> Result<bool, StoreError>;
    /// Gives the lease back before delivery (`lock_expires_at = now`).
    async fn release(&self, lease: &LeaseToken, now: i64, reason: &str)
    -> Result<bool, StoreError>;
}

/// The mail provider did not take the message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MailError {
    /// The provider refused the message; it certainly was not sent.
    #[error("mail rejected: {0}")]
    Rejected(String),
    /// Throttled; it was not sent.
    #[error("mail provider throttled the send")]
    Throttled,
    /// The connection failed or timed out; the message may or may not have
    /// been accepted.
    #[error("mail provider unreachable: {0}")]
    Transport(String),
}

impl MailError {
    /// True when the provider certainly did not accept the message.
    pub fn certainly_not_sent(&self) -> bool {
        matches!(self, Self::Rejected(_) | Self::Throttled)
    }
}

/// Sends a rendered lead email.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `email` and returns the provider's message id.
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError>;
}

/// The model call failed or gave an unusable answer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SummaryError {
    /// The model refused to answer.
    #[error("the model refused to summarise")]
    Refused,
    /// The answer was cut off (e.g. `max_output_tokens`).
    #[error("the summary was incomplete: {0}")]
    Incomplete(String),
    /// The answer was not JSON of the summary schema.
    #[error("the summary was not valid JSON: {0}")]
    Malformed(String),
    /// Too many requests, after retries.
    #[error("the model API rate limit was reached")]
    RateLimited,
    /// An HTTP error status, after retries.
    #[error("the model API answered HTTP {status}")]
    Status {
        /// HTTP status.
        status: u16,
    },
    /// The connection failed.
    #[error("the model API was unreachable: {0}")]
    Transport(String),
    /// The workflow's summary timeout passed.
    #[error("the summary timed out")]
    Timeout,
    /// No model is configured (e.g. an offline preview); leads go out
    /// without a summary.
    #[error("no AI model is configured")]
    NotConfigured,
}

/// A [`Summarizer`] for deployments without a model: every lead is sent
/// without an AI summary, and Diagnostics says why.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSummarizer;

#[async_trait]
impl Summarizer for NoSummarizer {
    async fn summarize(&self, _input: &SummaryInput) -> Result<LeadSummary, SummaryError> {
        Err(SummaryError::NotConfigured)
    }
}

/// Produces the internal summary of a transcript (SPEC §8).
#[async_trait]
pub trait Summarizer: Send + Sync {
    /// Summarises `input`. The workflow sanitises whatever comes back.
    async fn summarize(&self, input: &SummaryInput) -> Result<LeadSummary, SummaryError>;
}

/// Time, injected so leases, cooldowns and timeouts are testable.
#[async_trait]
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
    /// Completes after `duration`.
    async fn sleep(&self, duration: Duration);
}

/// Wall-clock time with tokio timers.
#[cfg(feature = "tokio-clock")]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[cfg(feature = "tokio-clock")]
#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

// Shared ports: a server picks its store and mailer at start-up and shares
// them across requests, so `Arc<dyn Port>` must be a port too.

#[async_trait]
impl<T: ChatKitClient + ?Sized> ChatKitClient for Arc<T> {
    async fn create_session(&self, request: &CreateSession) -> Result<Session, ChatKitError> {
        (**self).create_session(request).await
    }
    async fn retrieve_thread(&self, thread_id: &ThreadId) -> Result<Thread, ChatKitError> {
        (**self).retrieve_thread(thread_id).await
    }
    async fn list_items(
        &self,
        thread_id: &ThreadId,
        page: &PageRequest,
    ) -> Result<Page<ThreadItem>, ChatKitError> {
        (**self).list_items(thread_id, page).await
    }
    async fn list_threads(
        &self,
        user: &UserId,
        page: &PageRequest,
    ) -> Result<Page<Thread>, ChatKitError> {
        (**self).list_threads(user, page).await
    }
}

#[async_trait]
impl<T: LeadStore + ?Sized> LeadStore for Arc<T> {
    async fn get(&self, thread_id: &ThreadId) -> Result<Option<LeadRecord>, StoreError> {
        (**self).get(thread_id).await
    }
    async fn try_acquire(&self, request: &AcquireRequest) -> Result<Acquired, StoreError> {
        (**self).try_acquire(request).await
    }
    async fn checkpoint_delivery(&self, lease: &LeaseToken, now: i64) -> Result<bool, StoreError> {
        (**self).checkpoint_delivery(lease, now).await
    }
    async fn mark_sent(&self, lease: &LeaseToken, mark: &SentMark) -> Result<bool, StoreError> {
        (**self).mark_sent(lease, mark).await
    }
    async fn mark_error(&self, lease: &LeaseToken, mark: &ErrorMark) -> Result<bool, StoreError> {
        (**self).mark_error(lease, mark).await
    }
    async fn release(
        &self,
        lease: &LeaseToken,
        now: i64,
        reason: &str,
    ) -> Result<bool, StoreError> {
        (**self).release(lease, now, reason).await
    }
}

#[async_trait]
impl<T: Mailer + ?Sized> Mailer for Arc<T> {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        (**self).send(email).await
    }
}

#[async_trait]
impl<T: Summarizer + ?Sized> Summarizer for Arc<T> {
    async fn summarize(&self, input: &SummaryInput) -> Result<LeadSummary, SummaryError> {
        (**self).summarize(input).await
    }
}

#[async_trait]
impl<T: Clock + ?Sized> Clock for Arc<T> {
    fn now(&self) -> DateTime<Utc> {
        (**self).now()
    }
    async fn sleep(&self, duration: Duration) {
        (**self).sleep(duration).await;
    }
}
