//! The lease state machine as pure functions over a [`LeadRecord`]: the one
//! place that says who may lease a thread, what each mark changes, and when
//! the sweeper looks at a thread again (`due_at`).
//!
//! Each function returns the record to write, or `None` when the change is
//! not allowed; [`super::acquire`] and [`super::Lease`] apply them to a
//! store by compare-and-set, and the property tests in
//! `tests/lease_properties.rs` hold them to their invariants: never two live
//! holders, a `sent` record never changes again.

use super::{AcquireRequest, ErrorMark, Look, SentMark, Watch};
use crate::delivery::only_deliveries;
use crate::ids::LeaseId;
use crate::record::{
    CachedSummary, ExtraFields, LeadRecord, LeadStatus, MAX_LAST_ERROR_CHARS, Told,
};
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
        LeadStatus::Pending => None,
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
/// `delivery_started_at`. The thread is due when the lease expires: should
/// the holder die, the sweeper picks it up then.
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
            due_at: Some(req.lock_expires_at),
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
            due_at: Some(req.lock_expires_at),
            summary_cache: None,
            told: Told::default(),
            outbox: Default::default(),
            extra: ExtraFields::default(),
        }),
    }
}

/// The record after a caller takes the lease of a sent thread — an
/// operator's forced resend, or an update email with the customer's new
/// messages: `sending` again under a fresh lease, attempts counted, the
/// delivery checkpoint cleared (every earlier delivery is known to have
/// happened; this send is deliberate, not a possible duplicate). `None`
/// unless the record is `sent` — a thread not sent yet is leased the
/// ordinary way. Should the holder die, the lease expires like any other,
/// and the next acquire (which finds `sent_at` set) finishes it as an
/// update, flagged when its delivery may have started.
pub fn acquire_sent(existing: &LeadRecord, req: &AcquireRequest) -> Option<LeadRecord> {
    (existing.status == LeadStatus::Sent).then(|| LeadRecord {
        status: LeadStatus::Sending,
        lease_id: Some(req.lease_id.clone()),
        lock_expires_at: req.lock_expires_at,
        updated_at: req.now,
        attempts: existing.attempts.saturating_add(1),
        last_reason: Some(req.reason.clone()),
        ttl: req.ttl,
        delivery_started_at: None,
        due_at: Some(req.lock_expires_at),
        ..existing.clone()
    })
}

/// Whether a look for news on `rec` may be claimed at `look.now`: the
/// record is `sent` and its last look is at least `look.interval` seconds
/// old. Decided without building a record, so a trigger inside the
/// interval costs its read and nothing more.
pub fn look_due(rec: &LeadRecord, look: &Look) -> bool {
    rec.status == LeadStatus::Sent
        && rec
            .told
            .checked_at
            .is_none_or(|at| look.now.saturating_sub(at) >= look.interval)
}

/// The record after a caller claims the look for news on a sent thread at
/// `look.now`: `told.checked_at` set, nothing due any more. `None` — the
/// caller answers from the store alone — unless the record is `sent` and
/// the last look is at least `look.interval` seconds old.
pub fn claim_look(rec: &LeadRecord, look: &Look) -> Option<LeadRecord> {
    // The look is done; deliveries still to make keep the record due.
    look_due(rec, look).then(|| {
        only_deliveries(LeadRecord {
            updated_at: look.now,
            told: Told {
                checked_at: Some(look.now),
                ..rec.told.clone()
            },
            ..rec.clone()
        })
    })
}

/// The record after a look found news with nothing for the shop yet: the
/// newest item it saw is remembered (`seen`, so the next look does not
/// fetch the thread again for the same items) and the thread is due at
/// `due_at` when the chat was still active. `None` when the record is not
/// `sent` (an update is under way) or nothing would change.
pub fn saw(
    rec: &LeadRecord,
    now: i64,
    seen: Option<&str>,
    due_at: Option<i64>,
) -> Option<LeadRecord> {
    let seen_item = seen
        .map(str::to_owned)
        .or_else(|| rec.told.seen_item.clone());
    let next = LeadRecord {
        due_at: due_at.or(rec.due_at),
        told: Told {
            seen_item,
            ..rec.told.clone()
        },
        ..rec.clone()
    };
    (rec.status == LeadStatus::Sent && next != *rec).then_some(LeadRecord {
        updated_at: now,
        ..next
    })
}

/// The record after a trigger that found nothing to send yet (no customer
/// message, no contact, the chat still active, ChatKit failing): the thread
/// is due at `watch.due_at`. `None` when there is nothing to write: the
/// thread is sent (nothing left to do) or already due as early — a due time
/// that has come (`<= now`) is the look happening now, and is replaced.
///
/// A thread without a record gets a `pending` one: never leased, acquirable
/// at once, created at `watch.created_at`. `last_reason` becomes the
/// look's answer (`missing_contact`, `not_idle`, …), so an operator sees why
/// the thread waits.
pub fn watch(existing: Option<&LeadRecord>, watch: &Watch) -> Option<LeadRecord> {
    match existing {
        None => Some(LeadRecord {
            thread_id: watch.thread_id.clone(),
            status: LeadStatus::Pending,
            lease_id: None,
            lock_expires_at: watch.now,
            created_at: watch.created_at,
            updated_at: watch.now,
            attempts: 0,
            sent_at: None,
            message_id: None,
            last_reason: Some(watch.reason.clone()),
            last_error: None,
            ttl: watch.ttl,
            delivery_started_at: None,
            due_at: Some(watch.due_at),
            summary_cache: None,
            told: Told::default(),
            outbox: Default::default(),
            extra: ExtraFields::default(),
        }),
        Some(rec) if rec.status == LeadStatus::Sent => None,
        Some(rec)
            if rec
                .due_at
                .is_some_and(|due| due > watch.now && due <= watch.due_at) =>
        {
            None
        }
        Some(rec) => Some(LeadRecord {
            due_at: Some(watch.due_at),
            updated_at: watch.now,
            last_reason: Some(watch.reason.clone()),
            ..rec.clone()
        }),
    }
}

/// The record with nothing due any more but its deliveries (the sweeper
/// gives up on a thread past its horizon), or `None` when nothing else was
/// due.
pub fn unwatch(rec: &LeadRecord, now: i64) -> Option<LeadRecord> {
    // The sinks' deliveries have their own bounded schedule.
    crate::delivery::record_due(rec).is_some().then(|| {
        only_deliveries(LeadRecord {
            updated_at: now,
            ..rec.clone()
        })
    })
}

/// Sets the delivery checkpoint, if `lease_id` still holds a `sending`
/// record, with the summary the email carries (kept for a retry of the same
/// transcript; `None` keeps what the record has).
pub fn checkpoint(
    rec: &LeadRecord,
    lease_id: &LeaseId,
    now: i64,
    summary: Option<&CachedSummary>,
) -> Option<LeadRecord> {
    holds(rec, lease_id).then(|| LeadRecord {
        delivery_started_at: Some(now),
        updated_at: now,
        summary_cache: summary.cloned().or_else(|| rec.summary_cache.clone()),
        ..rec.clone()
    })
}

/// Marks the record sent, if `lease_id` still holds it: the lead email or
/// an update went out, and `mark.told` is what the shop has been told now.
/// `sent_at` stays the time of the first email; `message_id` becomes the
/// provider's id of this one.
pub fn mark_sent(rec: &LeadRecord, lease_id: &LeaseId, mark: &SentMark) -> Option<LeadRecord> {
    let sent = sent(rec, lease_id, mark)?;
    let Some(event) = &mark.event else {
        return Some(sent);
    };
    let sinks: Vec<&str> = event.sinks.iter().map(String::as_str).collect();
    let queued = crate::delivery::enqueue(&sent, event.kind, &event.document, &sinks, mark.now);
    Some(queued.unwrap_or(sent))
}

/// [`mark_sent`] without the event.
fn sent(rec: &LeadRecord, lease_id: &LeaseId, mark: &SentMark) -> Option<LeadRecord> {
    // Sent: nothing will be retried, nothing is due but the deliveries.
    holds(rec, lease_id).then(|| {
        only_deliveries(LeadRecord {
            status: LeadStatus::Sent,
            sent_at: Some(rec.sent_at.unwrap_or(mark.now)),
            told: mark.told.clone(),
            message_id: Some(mark.message_id.clone()),
            lock_expires_at: mark.now,
            updated_at: mark.now,
            last_error: None,
            ttl: mark.ttl,
            summary_cache: None,
            ..rec.clone()
        })
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
        due_at: Some(mark.retry_at),
        ..rec.clone()
    })
}

/// Gives the lease back before delivery: the lock expires at `now`, so the
/// next trigger may acquire at once, and the sweeper looks again at
/// `due_at`.
pub fn release(
    rec: &LeadRecord,
    lease_id: &LeaseId,
    now: i64,
    reason: &str,
    due_at: i64,
) -> Option<LeadRecord> {
    holds(rec, lease_id).then(|| LeadRecord {
        lock_expires_at: now,
        updated_at: now,
        last_reason: Some(reason.to_owned()),
        due_at: Some(due_at),
        ..rec.clone()
    })
}

/// Only the current holder of a `sending` record may change it.
fn holds(rec: &LeadRecord, lease_id: &LeaseId) -> bool {
    rec.status == LeadStatus::Sending && rec.is_held_by(lease_id)
}
