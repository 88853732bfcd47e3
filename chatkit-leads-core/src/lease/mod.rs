//! The send lease: the state machine in [`rules`], applied to any
//! [`LeadStore`] by compare-and-set.
//!
//! ```text
//!            acquire (no record, or not sent and lock expired)
//!   (none) ─────────────────────────────▶ sending ──mark_sent──▶ sent (final)
//!                                          │  ▲ │
//!                     mark_error (cooldown)│  │ │release (lock expires now)
//!                                          ▼  │ ▼
//!                                         error ─ acquire after the cooldown
//! ```
//!
//! A store only offers "read with version" and "write if the version is
//! unchanged" ([`LeadStore::load`], [`LeadStore::put`]). Every transition
//! here reads (or reuses) a versioned record, asks [`rules`] for the next
//! record and writes it with the version it read as precondition. When the
//! write is refused somebody else wrote in between: the record is read again
//! and the rule decided again, so two callers can never both act on the
//! same version — the guarantee the seed got from one conditional
//! `UpdateItem` per transition, now the same for every store.
//!
//! A refused write whose record reads back exactly as this caller meant to
//! write it was this caller's own (a store client retried a write whose
//! first answer was lost): it counts as done.

pub mod rules;

use std::fmt;

use crate::ids::{LeaseId, ThreadId};
use crate::ports::{LeadStore, StoreError};
use crate::record::{CachedSummary, Expected, LeadRecord, PutOutcome, Told, Versioned};

/// How often a transition re-reads and re-decides after losing a
/// compare-and-set before it gives up with [`StoreError::Unavailable`].
/// Each retry means another caller wrote the same record meanwhile; after
/// one retry the rules normally refuse (someone else holds the lease).
const MAX_ROUNDS: usize = 8;

/// Everything one acquire needs; computed by the workflow from its
/// [`crate::LeasePolicy`] so the rules stay policy-free.
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
    /// What the shop has been told once this email is in: its items, and
    /// for the lead email its `Message-ID` and subject.
    pub told: Told,
    /// The event this email is for the sinks, if any are configured:
    /// written by the same write, so it cannot be lost in between.
    pub event: Option<NewEvent>,
}

/// An event for the sinks, enqueued with the email's [`SentMark`].
#[derive(Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// `lead.created` or the n-th `lead.updated`.
    pub kind: crate::delivery::EventKind,
    /// The lead document (JSON).
    pub document: String,
    /// The sinks to deliver it to.
    pub sinks: Vec<String>,
}

// The document holds customer details.
impl fmt::Debug for NewEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewEvent")
            .field("kind", &self.kind)
            .field("sinks", &self.sinks)
            .finish_non_exhaustive()
    }
}

/// A look for news on a sent thread ([`claim_look`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    /// Current time.
    pub now: i64,
    /// Seconds that must pass between two looks at one thread.
    pub interval: i64,
}

/// Failure of a send attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorMark {
    /// Current time.
    pub now: i64,
    /// End of the cooldown (becomes `lock_expires_at`).
    pub retry_at: i64,
    /// What failed; cut to [`crate::record::MAX_LAST_ERROR_CHARS`].
    pub error: String,
    /// True when the mailer certainly did not accept the message, so the
    /// delivery checkpoint is cleared and the next attempt is not a duplicate.
    pub clear_delivery: bool,
}

/// A trigger that found nothing to send yet: look again at `due_at`
/// ([`watch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// The thread.
    pub thread_id: ThreadId,
    /// Current time.
    pub now: i64,
    /// When the sweeper should look again.
    pub due_at: i64,
    /// For a thread without a record: when it was first seen (or created,
    /// when ChatKit says so). The sweep horizon counts from here.
    pub created_at: i64,
    /// For a thread without a record: `now + record TTL`.
    pub ttl: i64,
    /// Why it was not sent (the outcome's reason), kept as `last_reason`.
    pub reason: String,
}

/// Marks a thread due at `request.due_at` unless it is sent or already due
/// as early: one conditional write, or none. `seen` is the record as the
/// caller last read it, as for [`acquire`]. Returns whether it wrote.
///
/// # Errors
/// [`StoreError`] when the store fails or the record is unreadable.
pub async fn watch<S: LeadStore + ?Sized>(
    store: &S,
    request: &Watch,
    seen: Option<Versioned>,
) -> Result<bool, StoreError> {
    change(
        store,
        &request.thread_id,
        seen,
        |current| rules::watch(current, request),
        OwnWrite::Recognised,
    )
    .await
}

/// Clears `due_at` (the sweeper gives up on the thread). Returns whether it
/// wrote.
///
/// # Errors
/// [`StoreError`] when the store fails or the record is unreadable.
pub async fn unwatch<S: LeadStore + ?Sized>(
    store: &S,
    thread_id: &ThreadId,
    now: i64,
) -> Result<bool, StoreError> {
    let current = store.load(thread_id).await?;
    change(
        store,
        thread_id,
        current,
        |current| current.and_then(|r| rules::unwatch(r, now)),
        OwnWrite::Recognised,
    )
    .await
}

/// Applies `rule` to the thread's record by compare-and-set, outside any
/// lease: decide on `seen`, write under its version, and decide again when
/// another writer got in between. "No change" is only ever decided on a
/// record read for this call. `Ok(false)` when the rule wants no change.
async fn change<S: LeadStore + ?Sized>(
    store: &S,
    thread_id: &ThreadId,
    seen: Option<Versioned>,
    rule: impl Fn(Option<&LeadRecord>) -> Option<LeadRecord>,
    own: OwnWrite,
) -> Result<bool, StoreError> {
    let mut current = seen;
    let mut fresh = false;
    for _ in 0..MAX_ROUNDS {
        let Some(next) = rule(current.as_ref().map(|v| &v.record)) else {
            if fresh {
                return Ok(false);
            }
            current = store.load(thread_id).await?;
            fresh = true;
            continue;
        };
        match write(store, thread_id, next, Expected::of(current.as_ref()), own).await? {
            Written::Done(_) => return Ok(true),
            Written::Refused(now_stored) => {
                current = now_stored;
                fresh = true;
            }
        }
    }
    Err(contended())
}

/// The answer to an acquire.
pub enum Acquired<'s, S: ?Sized> {
    /// The caller holds the lease.
    Won(Lease<'s, S>),
    /// The thread is sent, leased by someone else or cooling down: the
    /// record that says so.
    Lost(LeadRecord),
}

/// Takes the send lease on `store` iff the thread has no record, or its
/// record is not `sent` and its lock has expired.
///
/// `seen` is the record as the caller last read it (`None`: it read none),
/// typically from its fast-path check; passing it saves a read when nothing
/// changed since. A stale `seen` costs one more round trip, never
/// correctness: the write is conditional on it, and a refusal is only ever
/// decided on a record read for this call.
///
/// # Errors
/// [`StoreError`] when the store fails, when the stored record is
/// unreadable (an unknown status is never taken over), or after
/// eight lost compare-and-sets in a row.
pub async fn acquire<'s, S: LeadStore + ?Sized>(
    store: &'s S,
    request: &AcquireRequest,
    seen: Option<Versioned>,
) -> Result<Acquired<'s, S>, StoreError> {
    let mut current = seen;
    let mut fresh = false;
    for _ in 0..MAX_ROUNDS {
        let Some(next) = rules::acquire(current.as_ref().map(|v| &v.record), request) else {
            if let (true, Some(holder)) = (fresh, current) {
                return Ok(Acquired::Lost(holder.record));
            }
            // Refused on the caller's snapshot: decide again on a fresh read.
            current = store.load(&request.thread_id).await?;
            fresh = true;
            continue;
        };
        match take(store, request, next, Expected::of(current.as_ref())).await? {
            Ok(lease) => return Ok(Acquired::Won(lease)),
            Err(now_stored) => {
                current = now_stored;
                fresh = true;
            }
        }
    }
    Err(contended())
}

/// Takes the lease of a `sent` thread for an operator's resend or an
/// update email ([`rules::acquire_sent`]); `Lost` with the record when it
/// is not sent (any more), for example because another resend or update
/// holds the lease now.
///
/// # Errors
/// As [`acquire`], and [`StoreError::Unavailable`] when there is no record.
pub async fn acquire_sent<'s, S: LeadStore + ?Sized>(
    store: &'s S,
    request: &AcquireRequest,
    seen: Option<Versioned>,
) -> Result<Acquired<'s, S>, StoreError> {
    let mut current = seen;
    for _ in 0..MAX_ROUNDS {
        let Some(stored) = current else {
            return Err(StoreError::Unavailable(
                "the record of a sent thread is gone".to_owned(),
            ));
        };
        let Some(next) = rules::acquire_sent(&stored.record, request) else {
            return Ok(Acquired::Lost(stored.record));
        };
        match take(store, request, next, Expected::Version(stored.version)).await? {
            Ok(lease) => return Ok(Acquired::Won(lease)),
            Err(now_stored) => current = now_stored,
        }
    }
    Err(contended())
}

/// Writes `next`, a record leased to `request`, if the stored one is still
/// `expected`: `Ok` with the lease, or `Err` with what is stored now.
async fn take<'s, S: LeadStore + ?Sized>(
    store: &'s S,
    request: &AcquireRequest,
    next: LeadRecord,
    expected: Expected,
) -> Result<Result<Lease<'s, S>, Option<Versioned>>, StoreError> {
    let written = write(
        store,
        &request.thread_id,
        next,
        expected,
        OwnWrite::Recognised,
    )
    .await?;
    Ok(match written {
        Written::Done(current) => Ok(Lease {
            store,
            lease_id: request.lease_id.clone(),
            current,
        }),
        Written::Refused(now_stored) => Err(now_stored),
    })
}

/// Claims the look for news on a sent thread ([`rules::claim_look`]): one
/// conditional write, so across every instance at most one caller per
/// interval asks ChatKit. `seen` as for [`acquire`]. Returns whether this
/// caller won the look.
///
/// # Errors
/// [`StoreError`] when the store fails or the record is unreadable.
pub async fn claim_look<S: LeadStore + ?Sized>(
    store: &S,
    thread_id: &ThreadId,
    look: &Look,
    seen: Option<Versioned>,
) -> Result<bool, StoreError> {
    // Two callers looking in the same second write equal records, so a
    // refused write that reads back as this caller's is no proof that it
    // was; a lost answer costs this interval's look.
    let rule = |current: Option<&LeadRecord>| current.and_then(|r| rules::claim_look(r, look));
    change(store, thread_id, seen, rule, OwnWrite::NotProof).await
}

/// Claims delivery `id` of the thread's outbox at `now` until `until`
/// ([`crate::delivery::claim`]); of simultaneous claimers one wins.
///
/// # Errors
/// [`StoreError`] when the store fails or the record is unreadable.
pub async fn claim_delivery<S: LeadStore + ?Sized>(
    store: &S,
    thread_id: &ThreadId,
    id: &str,
    now: i64,
    until: i64,
) -> Result<bool, StoreError> {
    // Two claimers in the same second write equal records: a refused
    // write that reads back as this caller's is no proof that it was.
    let rule = |current: Option<&LeadRecord>| {
        current.and_then(|r| crate::delivery::claim(r, id, now, until))
    };
    change(store, thread_id, None, rule, OwnWrite::NotProof).await
}

/// Settles the claimed delivery `id` with `attempt`
/// ([`crate::delivery::settle`]). `Ok(false)` when it is no longer this
/// caller's to settle (its claim ran out and another took it).
///
/// # Errors
/// [`StoreError`] when the store fails or the record is unreadable.
pub async fn settle_delivery<S: LeadStore + ?Sized>(
    store: &S,
    thread_id: &ThreadId,
    id: &str,
    attempt: crate::delivery::Attempt,
    now: i64,
    jitter: f64,
) -> Result<bool, StoreError> {
    let rule = |current: Option<&LeadRecord>| {
        current.and_then(|r| crate::delivery::settle(r, id, attempt, now, jitter))
    };
    change(store, thread_id, None, rule, OwnWrite::NotProof).await
}

/// Makes the failed or disabled deliveries to `sink` due again
/// ([`crate::delivery::rearm`]). Returns whether there were any.
///
/// # Errors
/// [`StoreError`] when the store fails or the record is unreadable.
pub async fn rearm_deliveries<S: LeadStore + ?Sized>(
    store: &S,
    thread_id: &ThreadId,
    sink: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let rule =
        |current: Option<&LeadRecord>| current.and_then(|r| crate::delivery::rearm(r, sink, now));
    change(store, thread_id, None, rule, OwnWrite::NotProof).await
}

/// Records what a look for news saw without telling the shop
/// ([`rules::saw`]). Returns whether it wrote.
///
/// # Errors
/// [`StoreError`] when the store fails or the record is unreadable.
pub async fn saw<S: LeadStore + ?Sized>(
    store: &S,
    thread_id: &ThreadId,
    now: i64,
    seen: Option<&str>,
    due_at: Option<i64>,
) -> Result<bool, StoreError> {
    let current = store.load(thread_id).await?;
    change(
        store,
        thread_id,
        current,
        |current| current.and_then(|r| rules::saw(r, now, seen, due_at)),
        OwnWrite::Recognised,
    )
    .await
}

/// A won lease: the record as this holder last wrote it, and the marks only
/// the holder may make. Each mark is one conditional write when nobody else
/// touched the record; `Ok(false)` means the lease was lost (it expired and
/// another caller took the thread) and nothing was changed.
pub struct Lease<'s, S: ?Sized> {
    store: &'s S,
    lease_id: LeaseId,
    current: Versioned,
}

impl<S: LeadStore + ?Sized> Lease<'_, S> {
    /// The record as this holder last wrote (or read) it.
    pub fn record(&self) -> &LeadRecord {
        &self.current.record
    }

    /// The holder's token.
    pub fn token(&self) -> LeaseToken {
        LeaseToken {
            thread_id: self.current.record.thread_id.clone(),
            lease_id: self.lease_id.clone(),
        }
    }

    /// Sets `delivery_started_at` just before the mailer is called, with
    /// the summary the email carries (see [`rules::checkpoint`]).
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn checkpoint(
        &mut self,
        now: i64,
        summary: Option<&CachedSummary>,
    ) -> Result<bool, StoreError> {
        let id = self.lease_id.clone();
        self.transition(|r| rules::checkpoint(r, &id, now, summary))
            .await
    }

    /// Marks the thread `sent` (final).
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn mark_sent(&mut self, mark: &SentMark) -> Result<bool, StoreError> {
        let id = self.lease_id.clone();
        self.transition(|r| rules::mark_sent(r, &id, mark)).await
    }

    /// Marks the attempt failed; the lock becomes the cooldown.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn mark_error(&mut self, mark: &ErrorMark) -> Result<bool, StoreError> {
        let id = self.lease_id.clone();
        self.transition(|r| rules::mark_error(r, &id, mark)).await
    }

    /// Gives the lease back before delivery (`lock_expires_at = now`); the
    /// sweeper looks again at `due_at`.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn release(
        &mut self,
        now: i64,
        reason: &str,
        due_at: i64,
    ) -> Result<bool, StoreError> {
        let id = self.lease_id.clone();
        self.transition(|r| rules::release(r, &id, now, reason, due_at))
            .await
    }

    /// Applies `rule` to the record by compare-and-set, re-deciding on the
    /// fresh record when another writer got in between.
    async fn transition(
        &mut self,
        rule: impl Fn(&LeadRecord) -> Option<LeadRecord>,
    ) -> Result<bool, StoreError> {
        let thread_id = self.current.record.thread_id.clone();
        for _ in 0..MAX_ROUNDS {
            let Some(next) = rule(&self.current.record) else {
                return Ok(false);
            };
            let expected = Expected::Version(self.current.version);
            match write(self.store, &thread_id, next, expected, OwnWrite::Recognised).await? {
                Written::Done(stored) => {
                    self.current = stored;
                    return Ok(true);
                }
                Written::Refused(Some(stored)) => self.current = stored,
                // The record is gone (deleted after its TTL): nothing to hold.
                Written::Refused(None) => return Ok(false),
            }
        }
        Err(contended())
    }
}

impl<S: ?Sized> fmt::Debug for Acquired<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Won(lease) => f.debug_tuple("Won").field(lease).finish(),
            Self::Lost(holder) => f.debug_tuple("Lost").field(holder).finish(),
        }
    }
}

impl<S: ?Sized> fmt::Debug for Lease<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("lease_id", &self.lease_id)
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

/// The outcome of one conditional write.
enum Written {
    /// Stored; the record and its new version.
    Done(Versioned),
    /// Somebody else wrote first; the record as it is now.
    Refused(Option<Versioned>),
}

/// Whether a refused write whose record reads back exactly as written was
/// this caller's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OwnWrite {
    /// Yes: the record names this caller (its lease id), so only its own
    /// earlier attempt — retried by a store client after a lost answer —
    /// can have stored it.
    Recognised,
    /// No proof: another caller could have written the same record (a look
    /// for news claimed in the same second).
    NotProof,
}

/// Writes `next` under `expected`; on a refusal takes the record as it is
/// now and, when `own` allows, recognises this caller's own earlier
/// (retried) write.
async fn write<S: LeadStore + ?Sized>(
    store: &S,
    thread_id: &ThreadId,
    next: LeadRecord,
    expected: Expected,
    own: OwnWrite,
) -> Result<Written, StoreError> {
    Ok(match store.put_or_load(&next, expected).await? {
        PutOutcome::Written(version) => Written::Done(Versioned {
            record: next,
            version,
        }),
        PutOutcome::Refused(Some(stored))
            if own == OwnWrite::Recognised && stored.record == next =>
        {
            tracing::debug!(%thread_id, "a refused write found its own earlier attempt stored");
            Written::Done(*stored)
        }
        PutOutcome::Refused(other) => Written::Refused(other.map(|stored| *stored)),
    })
}

fn contended() -> StoreError {
    StoreError::Unavailable(format!(
        "the record kept changing under {MAX_ROUNDS} compare-and-set attempts"
    ))
}
