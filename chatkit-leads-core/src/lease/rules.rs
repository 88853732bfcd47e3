//! The lease state machine as pure functions over a [`LeadRecord`]: the one
//! place that says who may lease a thread and what each mark changes.
//!
//! Each function returns the record to write, or `None` when the change is
//! not allowed; [`super::acquire`] and [`super::Lease`] apply them to a
//! store by compare-and-set, and the property tests in
//! `tests/lease_properties.rs` hold them to their invariants: never two live
//! holders, a `sent` record never changes again.

use super::{AcquireRequest, ErrorMark, SentMark};
use crate::ids::LeaseId;
use crate::record::{ExtraFields, LeadRecord, LeadStatus, MAX_LAST_ERROR_CHARS};
use crate::text::truncate_chars;

/// Why a record cannot be leased at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocker {
    /// The lead went out (at `sent_at`, when known); final.
    Sent {
        /// When it was sent.
        sent_at: Option<i64>,
    },
    /// Another caller holds a live lease.
    Leased,
    /// The last attempt failed; the cooldown runs for `retry_after` more seconds.
    Cooldown {
        /// Seconds until the cooldown ends.
        retry_after: u64,
    },
}

/// What keeps `record` from being leased at `now`, if anything.
///
/// A record is leasable iff it is not `sent` and its lock has expired
/// (`lock_expires_at <= now`); the lock is the lease while `sending` and the
/// cooldown while `error`.
pub fn blocker(record: &LeadRecord, now: i64) -> Option<Blocker> {
    match record.status {
        LeadStatus::Sent => Some(Blocker::Sent {
            sent_at: record.sent_at,
        }),
        _ if !record.is_locked(now) => None,
        LeadStatus::Sending => Some(Blocker::Leased),
        LeadStatus::Error => Some(Blocker::Cooldown {
            retry_after: u64::try_from(record.lock_expires_at - now).unwrap_or(0),
        }),
    }
}

/// The record after a successful acquire, or `None` when the existing
/// record is sent or still locked.
///
/// A new thread gets a fresh `sending` record; a retry counts an attempt
/// (saturating), keeps `created_at`, `sent_at`, `message_id`, `last_error`
/// and — so the next attempt knows an earlier delivery may have happened —
/// `delivery_started_at`.
pub fn acquire(existing: Option<&LeadRecord>, req: &AcquireRequest) -> Option<LeadRecord> {
    match existing {
        Some(rec) if blocker(rec, req.now).is_some() => None,
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
            extra: ExtraFields::default(),
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

/// Marks the record sent (final), if `lease_id` still holds it.
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
/// The delivery checkpoint is cleared only when the mailer certainly did not
/// accept the message.
pub fn mark_error(rec: &LeadRecord, lease_id: &LeaseId, mark: &ErrorMark) -> Option<LeadRecord> {
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

/// Gives the lease back before delivery: the lock expires at `now`, so the
/// next trigger may acquire at once.
pub fn release(rec: &LeadRecord, lease_id: &LeaseId, now: i64, reason: &str) -> Option<LeadRecord> {
    holds(rec, lease_id).then(|| LeadRecord {
        lock_expires_at: now,
        updated_at: now,
        last_reason: Some(reason.to_owned()),
        ..rec.clone()
    })
}

/// Only the current holder of a `sending` record may change it.
fn holds(rec: &LeadRecord, lease_id: &LeaseId) -> bool {
    rec.status == LeadStatus::Sending && rec.is_held_by(lease_id)
}
