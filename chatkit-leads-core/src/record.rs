//! The idempotency record kept per thread and the lease rules every store
//! implements (SPEC §7).
//!
//! The rules live here once, as pure functions over a record: the in-memory
//! store calls them directly, SQL and DynamoDB stores encode the same
//! conditions in one atomic statement, and the conformance suite in
//! `testkit::conformance` (feature `testkit`) checks that both agree.
//!
//! ```text
//!            try_acquire (no record, or not sent and lock expired)
//!   (none) ─────────────────────────────▶ sending ──mark_sent──▶ sent (final)
//!                                          │  ▲ │
//!                      mark_error (cooldown)│  │ │release (lock expires now)
//!                                          ▼  │ ▼
//!                                         error ─ try_acquire after cooldown
//! ```

use serde::{Deserialize, Serialize};

use crate::ids::{LeaseId, ThreadId};

/// Longest `last_error` kept, in characters.
pub const MAX_LAST_ERROR_CHARS: usize = 500;

/// Where a thread's send stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeadStatus {
    /// A caller holds (or held) the send lease.
    Sending,
    /// The email went out; final.
    Sent,
    /// The last attempt failed; retry after `lock_expires_at` (the cooldown).
    Error,
}

impl LeadStatus {
    /// `sending`, `sent` or `error`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Error => "error",
        }
    }

    /// Parses a stored status.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "sending" => Some(Self::Sending),
            "sent" => Some(Self::Sent),
            "error" => Some(Self::Error),
            _ => None,
        }
    }
}

/// One thread's idempotency record. Field names and meanings match the seed's
/// DynamoDB table; times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadRecord {
    /// The thread.
    pub thread_id: ThreadId,
    /// Where the send stands.
    pub status: LeadStatus,
    /// Holder of the current or last lease.
    pub lease_id: Option<LeaseId>,
    /// While `status` is `sending`: lease expiry; while `error`: cooldown end.
    pub lock_expires_at: i64,
    /// First acquire.
    pub created_at: i64,
    /// Last change.
    pub updated_at: i64,
    /// Number of acquires so far.
    pub attempts: u32,
    /// When the email went out.
    pub sent_at: Option<i64>,
    /// Mail provider's message id.
    pub message_id: Option<String>,
    /// Trigger of the last attempt (or the release reason).
    pub last_reason: Option<String>,
    /// Last failure, at most [`MAX_LAST_ERROR_CHARS`] characters.
    pub last_error: Option<String>,
    /// When the store may delete the record.
    pub ttl: i64,
    /// Set just before handing the email to the mailer: an attempt that finds
    /// it set without `sent` knows the outcome of an earlier delivery is unknown.
    pub delivery_started_at: Option<i64>,
}

impl LeadRecord {
    /// Whether a lease (or cooldown) is still running at `now`.
    pub fn is_locked(&self, now: i64) -> bool {
        self.lock_expires_at > now
    }

    /// Whether the record may be leased at `now`: not sent and not locked.
    pub fn is_acquirable(&self, now: i64) -> bool {
        self.status != LeadStatus::Sent && !self.is_locked(now)
    }

    /// Whether `lease_id` is the current holder.
    pub fn is_held_by(&self, lease_id: &LeaseId) -> bool {
        self.lease_id.as_ref() == Some(lease_id)
    }
}

/// Everything a store needs for one acquire; computed by the workflow from
/// its [`crate::LeasePolicy`] so stores stay policy-free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireRequest {
    /// The thread to lease.
    pub thread_id: ThreadId,
    /// The new holder.
    pub lease_id: LeaseId,
    /// Current time.
    pub now: i64,
    /// `now + lease duration`.
    pub lock_expires_at: i64,
    /// `now + record TTL`.
    pub ttl: i64,
    /// The trigger, stored as `last_reason`.
    pub reason: String,
}

impl AcquireRequest {
    /// The token the caller holds if this acquire wins.
    pub fn lease(&self) -> LeaseToken {
        LeaseToken {
            thread_id: self.thread_id.clone(),
            lease_id: self.lease_id.clone(),
        }
    }
}

/// What a store answers to an acquire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// The caller holds the lease; the record as written. Its
    /// `delivery_started_at` is carried over from the previous attempt.
    Won(LeadRecord),
    /// Someone else holds it or the thread is sent; the holder's record
    /// (`None` if it vanished between the write and the read).
    Lost(Option<LeadRecord>),
}

/// Who may change a leased record: the thread and the lease holder's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseToken {
    /// The thread.
    pub thread_id: ThreadId,
    /// The holder.
    pub lease_id: LeaseId,
}

/// Success of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMark {
    /// Current time (becomes `sent_at`).
    pub now: i64,
    /// Mail provider's message id.
    pub message_id: String,
    /// `now + record TTL`.
    pub ttl: i64,
}

/// Failure of a send attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorMark {
    /// Current time.
    pub now: i64,
    /// End of the cooldown (becomes `lock_expires_at`).
    pub retry_at: i64,
    /// What failed; cut to [`MAX_LAST_ERROR_CHARS`].
    pub error: String,
    /// True when the mailer certainly did not accept the message, so the
    /// delivery checkpoint is cleared and the next attempt is not a duplicate.
    pub clear_delivery: bool,
}

/// The pure lease rules. Stores that cannot call them (SQL, DynamoDB) encode
/// the same conditions; the conformance suite holds them to it.
pub mod rules {
    use super::*;
    use crate::text::truncate_chars;

    /// The record after a successful acquire, or `None` when the existing
    /// record is sent or still locked.
    pub fn acquire(existing: Option<&LeadRecord>, req: &AcquireRequest) -> Option<LeadRecord> {
        match existing {
            Some(rec) if !rec.is_acquirable(req.now) => None,
            Some(rec) => Some(LeadRecord {
                status: LeadStatus::Sending,
                lease_id: Some(req.lease_id.clone()),
                lock_expires_at: req.lock_expires_at,
                updated_at: req.now,
                attempts: rec.attempts.saturating_add(1),
                last_reason: Some(req.reason.clone()),
                ttl: req.ttl,
                ..rec.clone()
            }),
            None => Some(LeadRecord {
                thread_id: req.thread_id.clone(),
                status: LeadStatus::Sending,
                lease_id: Some(req.lease_id.clone()),
                lock_expires_at: req.lock_expires_at,
                created_at: req.now,
                updated_at: req.now,
                attempts: 1,
                sent_at: None,
                message_id: None,
                last_reason: Some(req.reason.clone()),
                last_error: None,
                ttl: req.ttl,
                delivery_started_at: None,
            }),
        }
    }

    /// Sets the delivery checkpoint, if `lease_id` still holds a `sending` record.
    pub fn checkpoint(rec: &LeadRecord, lease_id: &LeaseId, now: i64) -> Option<LeadRecord> {
        holds(rec, lease_id).then(|| LeadRecord {
            delivery_started_at: Some(now),
            updated_at: now,
            ..rec.clone()
        })
    }

    /// Marks the record sent, if `lease_id` still holds it.
    pub fn mark_sent(rec: &LeadRecord, lease_id: &LeaseId, mark: &SentMark) -> Option<LeadRecord> {
        holds(rec, lease_id).then(|| LeadRecord {
            status: LeadStatus::Sent,
            sent_at: Some(mark.now),
            message_id: Some(mark.message_id.clone()),
            lock_expires_at: mark.now,
            updated_at: mark.now,
            last_error: None,
            ttl: mark.ttl,
            ..rec.clone()
        })
    }

    /// Marks the attempt failed with a cooldown, if `lease_id` still holds it.
    pub fn mark_error(
        rec: &LeadRecord,
        lease_id: &LeaseId,
        mark: &ErrorMark,
    ) -> Option<LeadRecord> {
        holds(rec, lease_id).then(|| LeadRecord {
            status: LeadStatus::Error,
            lock_expires_at: mark.retry_at,
            updated_at: mark.now,
            last_error: Some(truncate_chars(&mark.error, MAX_LAST_ERROR_CHARS).to_owned()),
            delivery_started_at: if mark.clear_delivery {
                None
            } else {
                rec.delivery_started_at
            },
            ..rec.clone()
        })
    }

    /// Gives the lease back before delivery: the lock expires at `now`, so
    /// the next trigger may acquire at once.
    pub fn release(
        rec: &LeadRecord,
        lease_id: &LeaseId,
        now: i64,
        reason: &str,
    ) -> Option<LeadRecord> {
        holds(rec, lease_id).then(|| LeadRecord {
            lock_expires_at: now,
            updated_at: now,
            last_reason: Some(reason.to_owned()),
            ..rec.clone()
        })
    }

    fn holds(rec: &LeadRecord, lease_id: &LeaseId) -> bool {
        rec.status == LeadStatus::Sending && rec.is_held_by(lease_id)
    }
}
