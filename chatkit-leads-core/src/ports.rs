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
use crate::contact::EmailAddress;
use crate::email::OutgoingEmail;
use crate::ids::{ThreadId, UserId};
use crate::record::codec::CorruptRecord;
use crate::record::{Expected, LeadRecord, PutOutcome, Versioned};
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

    /// Whether ChatKit answers with these credentials, for an operator's
    /// `check`: lists one thread of a user nobody has (an authenticated
    /// read that changes nothing).
    async fn check(&self) -> Result<(), ChatKitError> {
        let probe = UserId::parse("chatkit-leads-check")
            .map_err(|err| ChatKitError::Decode(err.to_string()))?;
        let page = PageRequest {
            order: crate::chatkit::Order::Desc,
            limit: 1,
            after: None,
        };
        self.list_threads(&probe, &page).await.map(drop)
    }
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

impl From<CorruptRecord> for StoreError {
    fn from(err: CorruptRecord) -> Self {
        Self::Corrupt(err.to_string())
    }
}

/// The idempotency store: one [`LeadRecord`] per thread, kept whole with a
/// [`Version`](crate::record::Version), changed only by compare-and-set.
///
/// That is all a backend does. The lease rules — who may acquire, what each
/// mark changes — live once in [`crate::lease`] and reach every store
/// through these two methods, so a new backend cannot get them wrong; it
/// only has to make `put` atomic, and [`crate::testkit::conformance`]
/// (feature `testkit`) is the proof every store runs.
///
/// Stores never interpret a record: they keep what
/// [`record::codec`](crate::record::codec) writes and hand it back, and keep
/// error messages free of stored values.
#[async_trait]
pub trait LeadStore: Send + Sync {
    /// Reads a thread's record and its version (`Ok(None)`: no record).
    ///
    /// Must see every write that completed before it started (a strongly
    /// consistent read).
    async fn load(&self, thread_id: &ThreadId) -> Result<Option<Versioned>, StoreError>;

    /// Writes `record` (under its `thread_id`) iff the stored state still
    /// matches `expected`, as one atomic step: [`Expected::Absent`] inserts
    /// only when the thread has no record, [`Expected::Version`] replaces only
    /// when the stored version is that one. The stored version becomes
    /// [`Expected::next_version`].
    ///
    /// `Ok(false)` when the precondition failed; nothing was written.
    async fn put(&self, record: &LeadRecord, expected: Expected) -> Result<bool, StoreError>;

    /// [`put`](Self::put), and when the write was refused, the record as it
    /// is now (what [`load`](Self::load) would return). The lease calls this
    /// one: a refused writer always needs the record that won.
    ///
    /// Provided as `put` then `load`; a store that gets the current record
    /// with the refusal in the same round trip (DynamoDB's
    /// `ReturnValuesOnConditionCheckFailure`) overrides it.
    async fn put_or_load(
        &self,
        record: &LeadRecord,
        expected: Expected,
    ) -> Result<PutOutcome, StoreError> {
        if self.put(record, expected).await? {
            return Ok(PutOutcome::Written(expected.next_version()));
        }
        Ok(PutOutcome::Refused(
            self.load(&record.thread_id).await?.map(Box::new),
        ))
    }

    /// Reads a thread's record without its version.
    async fn get(&self, thread_id: &ThreadId) -> Result<Option<LeadRecord>, StoreError> {
        Ok(self.load(thread_id).await?.map(|stored| stored.record))
    }

    /// Records due for a look at `now` (`due_at <= now`), earliest first, at
    /// most `limit`: the sweeper's work list. It may come from an index that
    /// lags a moment behind writes; the sweeper re-reads every record before
    /// acting, and the lease decides.
    async fn due(&self, now: i64, limit: usize) -> Result<Vec<LeadRecord>, StoreError>;

    /// Remembers that `user` had a session minted at `now` (a later time
    /// wins over an earlier one), until `expires_at`. The sweeper lists the
    /// threads of remembered users, which finds chats whose page never sent
    /// a trigger.
    async fn touch_user(&self, user: &UserId, now: i64, expires_at: i64) -> Result<(), StoreError>;

    /// Users whose threads are worth listing: last seen within `[since,
    /// quiet_before]` and not listed since; earliest first, at most `limit`.
    async fn users_to_list(
        &self,
        since: i64,
        quiet_before: i64,
        limit: usize,
    ) -> Result<Vec<SeenUser>, StoreError>;

    /// Marks `user` as listed for its session at `seen_at`: it comes back in
    /// [`users_to_list`](Self::users_to_list) only after a later session.
    async fn mark_listed(&self, user: &UserId, seen_at: i64) -> Result<(), StoreError>;

    /// Readiness: the store answers. Provided as a read of a thread no one
    /// has; stores with a cheaper check override it.
    async fn ping(&self) -> Result<(), StoreError> {
        let probe = ThreadId::parse("cthr_readyz_probe")
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.load(&probe).await.map(drop)
    }
}

/// A user the store remembers, and when it last had a session minted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenUser {
    /// The ChatKit `user` (server-bound, or as the browser sent it).
    pub user: UserId,
    /// Unix seconds of its latest session.
    pub last_seen_at: i64,
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

    /// Whether the provider can take lead emails from `from` with this
    /// configuration, without sending anything, for an operator's `check`
    /// (SMTP: a session up to `AUTH`; SES: `from` or its domain is a
    /// verified identity; outbox: a writable directory). Mailers with
    /// nothing to reach keep this default, which succeeds.
    async fn check(&self, from: &EmailAddress) -> Result<(), MailError> {
        let _ = from;
        Ok(())
    }

    /// The largest message, in bytes, the provider takes (SES v2: 40 MB),
    /// or `None` for no known limit. The workflow leaves photos out of an
    /// email that would be larger, saying so in it, rather than have the
    /// whole lead refused.
    fn max_message_bytes(&self) -> Option<usize> {
        None
    }
}

/// Why a photo could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PhotoError {
    /// The fetcher's policy refused the URL or where it leads: not https,
    /// a host not allowed, a private or loopback address, a redirect to
    /// another host. Says what, never the URL's query.
    #[error("not fetched: {0}")]
    Refused(String),
    /// The file server answered with this status.
    #[error("the file server answered {0}")]
    Status(u16),
    /// The file is larger than the limit it was fetched with.
    #[error("larger than {0} bytes")]
    TooLarge(usize),
    /// The connection failed.
    #[error("the fetch failed: {0}")]
    Transport(String),
}

/// Fetches a customer's photo (an attachment link) for the lead email.
///
/// Implementations decide what may be fetched (an allow-list of hosts,
/// public addresses only) and stop reading past `max_bytes`; the workflow
/// applies the time budget, checks the bytes are an image and decides what
/// the email carries.
#[async_trait]
pub trait PhotoFetcher: Send + Sync {
    /// The file at `url`, at most `max_bytes` long.
    async fn fetch(&self, url: &str, max_bytes: usize) -> Result<Vec<u8>, PhotoError>;
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

/// Produces the internal summary of a transcript.
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
    async fn check(&self) -> Result<(), ChatKitError> {
        (**self).check().await
    }
}

#[async_trait]
impl<T: LeadStore + ?Sized> LeadStore for Arc<T> {
    async fn load(&self, thread_id: &ThreadId) -> Result<Option<Versioned>, StoreError> {
        (**self).load(thread_id).await
    }
    async fn put(&self, record: &LeadRecord, expected: Expected) -> Result<bool, StoreError> {
        (**self).put(record, expected).await
    }
    async fn put_or_load(
        &self,
        record: &LeadRecord,
        expected: Expected,
    ) -> Result<PutOutcome, StoreError> {
        (**self).put_or_load(record, expected).await
    }
    async fn due(&self, now: i64, limit: usize) -> Result<Vec<LeadRecord>, StoreError> {
        (**self).due(now, limit).await
    }
    async fn touch_user(&self, user: &UserId, now: i64, expires_at: i64) -> Result<(), StoreError> {
        (**self).touch_user(user, now, expires_at).await
    }
    async fn users_to_list(
        &self,
        since: i64,
        quiet_before: i64,
        limit: usize,
    ) -> Result<Vec<SeenUser>, StoreError> {
        (**self).users_to_list(since, quiet_before, limit).await
    }
    async fn mark_listed(&self, user: &UserId, seen_at: i64) -> Result<(), StoreError> {
        (**self).mark_listed(user, seen_at).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        (**self).ping().await
    }
}

#[async_trait]
impl<T: Mailer + ?Sized> Mailer for Arc<T> {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        (**self).send(email).await
    }
    async fn check(&self, from: &EmailAddress) -> Result<(), MailError> {
        (**self).check(from).await
    }
    fn max_message_bytes(&self) -> Option<usize> {
        (**self).max_message_bytes()
    }
}

#[async_trait]
impl<T: PhotoFetcher + ?Sized> PhotoFetcher for Arc<T> {
    async fn fetch(&self, url: &str, max_bytes: usize) -> Result<Vec<u8>, PhotoError> {
        (**self).fetch(url, max_bytes).await
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

/// Why a [`Sink`] did not deliver an event.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SinkError {
    /// The receiver answered with this status (not 2xx). Never its body.
    #[error("receiver answered HTTP {0}")]
    Status(u16),
    /// No answer: a timeout, a refused connection, a reset.
    #[error("receiver unreachable: {0}")]
    Transport(String),
    /// Refused by policy before sending (a private address, a redirect).
    #[error("target refused: {0}")]
    Refused(String),
}

impl SinkError {
    /// What the failure means for the delivery.
    pub fn verdict(&self) -> crate::delivery::Verdict {
        use crate::delivery::Verdict;
        match self {
            Self::Status(status) => Verdict::of(Some(*status)),
            Self::Transport(_) => Verdict::of(None),
            Self::Refused(_) => Verdict::Fail,
        }
    }

    /// The attempt this failure settles.
    pub fn attempt(&self) -> crate::delivery::Attempt {
        crate::delivery::Attempt {
            verdict: self.verdict(),
            status: match self {
                Self::Status(status) => Some(*status),
                Self::Transport(_) | Self::Refused(_) => None,
            },
        }
    }
}

/// One event as a sink sends it.
pub struct SinkEvent<'a> {
    /// The event id for this sink (`webhook-id`): the same on every retry
    /// and every instance.
    pub id: &'a str,
    /// `lead.created` or the n-th `lead.updated`.
    pub kind: crate::delivery::EventKind,
    /// When the email went out (Unix seconds).
    pub timestamp: i64,
    /// The lead document ([`crate::email::LeadDocument`]) as JSON.
    pub document: &'a str,
}

impl SinkEvent<'_> {
    /// The event as a webhook's body: `{"type", "timestamp", "data"}` (the
    /// envelope Standard Webhooks recommends), `timestamp` the time the
    /// email went out in RFC 3339, `data` the lead document. The JSON
    /// Schema of it is `schemas/lead-event.v1.json` in the repository.
    ///
    /// ```
    /// use chatkit_leads_core::{SinkEvent, delivery::EventKind};
    /// let event = SinkEvent {
    ///     id: "msg_1",
    ///     kind: EventKind::Created,
    ///     timestamp: 1_800_000_000,
    ///     document: r#"{"version":1}"#,
    /// };
    /// let body: serde_json::Value = serde_json::from_str(&event.payload()).unwrap();
    /// assert_eq!(body["type"], "lead.created");
    /// assert_eq!(body["timestamp"], "2027-01-15T08:00:00Z");
    /// assert_eq!(body["data"]["version"], 1);
    /// ```
    pub fn payload(&self) -> String {
        let at = chrono::DateTime::from_timestamp(self.timestamp, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        // The document is JSON this crate wrote: it goes in as it is.
        let mut body = String::with_capacity(self.document.len() + 64);
        body.push_str(r#"{"type":""#);
        body.push_str(self.kind.name());
        body.push_str(r#"","timestamp":""#);
        body.push_str(&at);
        body.push_str(r#"","data":"#);
        body.push_str(self.document);
        body.push('}');
        body
    }
}

// The document holds customer details.
impl std::fmt::Debug for SinkEvent<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkEvent")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
}

/// Somewhere besides the inbox that a lead goes to (a signed webhook,
/// Slack). The email never waits for one: events are delivered after it,
/// each retried on its own schedule (`crate::delivery`).
#[async_trait]
pub trait Sink: Send + Sync {
    /// The sink's id in the lead record (`webhook:<name>`, `slack`): stable
    /// across restarts and instances, or deliveries are orphaned.
    fn id(&self) -> &str;

    /// Sends `event`; `Ok` with the receiver's 2xx status.
    async fn deliver(&self, event: &SinkEvent<'_>) -> Result<u16, SinkError>;
}

#[async_trait]
impl<T: Sink + ?Sized> Sink for Arc<T> {
    fn id(&self) -> &str {
        (**self).id()
    }

    async fn deliver(&self, event: &SinkEvent<'_>) -> Result<u16, SinkError> {
        (**self).deliver(event).await
    }
}
