//! The one behaviour suite every [`LeadStore`] must pass (SPEC §7).
//!
//! Call [`run_all`] from the adapter's integration test, against the real
//! backend. Each case uses fresh thread ids, so the suite can run against a
//! shared database and repeatedly. Failures panic with the case name.
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use chatkit_leads_core::testkit::{conformance, MemoryStore};
//! conformance::run_all(Arc::new(MemoryStore::new())).await;
//! # }
//! ```

use std::sync::Arc;

use crate::ids::{LeaseId, ThreadId};
use crate::ports::LeadStore;
use crate::record::{
    AcquireRequest, Acquired, ErrorMark, LeadRecord, LeadStatus, LeaseToken, MAX_LAST_ERROR_CHARS,
    SentMark,
};

/// A fixed start time (Unix seconds) for deterministic cases.
const T0: i64 = 1_800_000_000;
/// Lease length used by the cases.
const LEASE: i64 = 120;
/// Record lifetime used by the cases.
const TTL: i64 = 30 * 24 * 3600;

/// Runs every case, including [`concurrent_acquires`] with 64 contenders for
/// 20 rounds. Use a multi-threaded tokio runtime so contenders run in parallel.
pub async fn run_all<S: LeadStore + 'static>(store: Arc<S>) {
    let s = store.as_ref();
    missing_record_reads_as_none(s).await;
    first_acquire_creates_a_sending_record(s).await;
    acquire_while_leased_loses_and_reports_the_holder(s).await;
    acquire_after_expiry_wins_counts_attempts_and_keeps_created_at(s).await;
    lease_expires_exactly_at_lock_expires_at(s).await;
    mark_sent_records_delivery_and_is_final(s).await;
    stale_lease_cannot_mark_or_checkpoint(s).await;
    mark_error_sets_a_cooldown_and_a_bounded_error(s).await;
    checkpoint_survives_reacquire_unless_cleared(s).await;
    release_makes_the_thread_acquirable_at_once(s).await;
    every_field_round_trips_like_the_reference(s).await;
    marks_on_a_missing_record_are_refused(s).await;
    concurrent_acquires(store, 64, 20).await;
}

/// A thread id no other case or run uses.
pub fn fresh_thread(case: &str) -> ThreadId {
    let id = format!("cthr_conf_{}_{}", uuid::Uuid::new_v4().simple(), case);
    ThreadId::parse(&id).unwrap_or_else(|e| panic!("test thread id {id}: {e}"))
}

/// An acquire of `thread` at `now` with the suite's lease (120 s) and TTL
/// (30 days), trigger `idle`, and a fresh lease id.
pub fn acquire_request(thread: &ThreadId, now: i64) -> AcquireRequest {
    AcquireRequest {
        thread_id: thread.clone(),
        lease_id: LeaseId::random(),
        now,
        lock_expires_at: now + LEASE,
        ttl: now + TTL,
        reason: "idle".to_owned(),
    }
}

async fn acquire<S: LeadStore + ?Sized>(
    store: &S,
    thread: &ThreadId,
    now: i64,
    case: &str,
) -> (LeaseToken, Acquired) {
    let req = acquire_request(thread, now);
    let result = store
        .try_acquire(&req)
        .await
        .unwrap_or_else(|e| panic!("{case}: try_acquire failed: {e}"));
    (req.lease(), result)
}

async fn must_win<S: LeadStore + ?Sized>(
    store: &S,
    thread: &ThreadId,
    now: i64,
    case: &str,
) -> (LeaseToken, LeadRecord) {
    match acquire(store, thread, now, case).await {
        (token, Acquired::Won(record)) => (token, record),
        (_, Acquired::Lost(holder)) => {
            panic!("{case}: acquire at {now} should win, lost to {holder:?}")
        }
    }
}

async fn must_lose<S: LeadStore + ?Sized>(
    store: &S,
    thread: &ThreadId,
    now: i64,
    case: &str,
) -> Option<LeadRecord> {
    match acquire(store, thread, now, case).await {
        (_, Acquired::Lost(holder)) => holder,
        (_, Acquired::Won(record)) => {
            panic!("{case}: acquire at {now} should lose, won {record:?}")
        }
    }
}

/// Acquires with `req` and panics unless it wins; returns the written record.
pub async fn expect_won<S: LeadStore + ?Sized>(store: &S, req: &AcquireRequest) -> LeadRecord {
    match store.try_acquire(req).await {
        Ok(Acquired::Won(record)) => record,
        Ok(Acquired::Lost(holder)) => panic!("acquire should win, lost to {holder:?}"),
        Err(e) => panic!("try_acquire failed: {e}"),
    }
}

async fn read<S: LeadStore + ?Sized>(store: &S, thread: &ThreadId, case: &str) -> LeadRecord {
    store
        .get(thread)
        .await
        .unwrap_or_else(|e| panic!("{case}: get failed: {e}"))
        .unwrap_or_else(|| panic!("{case}: record missing"))
}

fn ok<E: std::fmt::Display>(case: &str, op: &str, r: Result<bool, E>) -> bool {
    r.unwrap_or_else(|e| panic!("{case}: {op} failed: {e}"))
}

fn sent_mark(now: i64) -> SentMark {
    SentMark {
        now,
        message_id: format!("msg-{now}"),
        ttl: now + TTL,
    }
}

/// `get` on an unknown thread is `Ok(None)`.
pub async fn missing_record_reads_as_none<S: LeadStore + ?Sized>(store: &S) {
    let thread = fresh_thread("missing");
    let got = store
        .get(&thread)
        .await
        .unwrap_or_else(|e| panic!("missing: get failed: {e}"));
    assert_eq!(got, None, "missing: unknown thread must read as None");
}

/// The first acquire writes every field of a fresh `sending` record.
pub async fn first_acquire_creates_a_sending_record<S: LeadStore + ?Sized>(store: &S) {
    let case = "first_acquire";
    let thread = fresh_thread(case);
    let (token, won) = must_win(store, &thread, T0, case).await;
    let stored = read(store, &thread, case).await;
    assert_eq!(won, stored, "{case}: Won must carry the record as stored");
    assert_eq!(stored.thread_id, thread, "{case}: thread_id");
    assert_eq!(stored.status, LeadStatus::Sending, "{case}: status");
    assert_eq!(stored.lease_id, Some(token.lease_id), "{case}: lease_id");
    assert_eq!(
        stored.lock_expires_at,
        T0 + LEASE,
        "{case}: lock_expires_at"
    );
    assert_eq!(
        (stored.created_at, stored.updated_at),
        (T0, T0),
        "{case}: created/updated"
    );
    assert_eq!(stored.attempts, 1, "{case}: attempts");
    assert_eq!(stored.ttl, T0 + TTL, "{case}: ttl");
    assert_eq!(
        stored.last_reason.as_deref(),
        Some("idle"),
        "{case}: last_reason"
    );
    assert_eq!(
        (
            stored.sent_at,
            stored.message_id.as_deref(),
            stored.last_error.as_deref(),
            stored.delivery_started_at
        ),
        (None, None, None, None),
        "{case}: empty fields"
    );
}

/// A second acquire inside the lease loses and sees the holder's record.
pub async fn acquire_while_leased_loses_and_reports_the_holder<S: LeadStore + ?Sized>(store: &S) {
    let case = "acquire_while_leased";
    let thread = fresh_thread(case);
    let (token, _) = must_win(store, &thread, T0, case).await;
    let holder = must_lose(store, &thread, T0 + LEASE - 1, case).await;
    let holder = holder.unwrap_or_else(|| panic!("{case}: holder record expected"));
    assert_eq!(
        holder.lease_id,
        Some(token.lease_id),
        "{case}: holder lease id"
    );
    assert_eq!(
        holder.attempts, 1,
        "{case}: a lost acquire must not count an attempt"
    );
}

/// After the lease expires a new acquire wins, counts an attempt and keeps
/// `created_at`.
pub async fn acquire_after_expiry_wins_counts_attempts_and_keeps_created_at<
    S: LeadStore + ?Sized,
>(
    store: &S,
) {
    let case = "acquire_after_expiry";
    let thread = fresh_thread(case);
    let (first, _) = must_win(store, &thread, T0, case).await;
    let later = T0 + LEASE + 5;
    let (second, record) = must_win(store, &thread, later, case).await;
    assert_ne!(first.lease_id, second.lease_id, "{case}: fresh lease id");
    assert_eq!(record.attempts, 2, "{case}: attempts");
    assert_eq!(record.created_at, T0, "{case}: created_at kept");
    assert_eq!(record.updated_at, later, "{case}: updated_at");
    assert_eq!(record.lock_expires_at, later + LEASE, "{case}: new expiry");
}

/// A lease is live while `lock_expires_at > now`.
pub async fn lease_expires_exactly_at_lock_expires_at<S: LeadStore + ?Sized>(store: &S) {
    let case = "lease_boundary";
    let thread = fresh_thread(case);
    must_win(store, &thread, T0, case).await;
    must_lose(store, &thread, T0 + LEASE - 1, case).await;
    must_win(store, &thread, T0 + LEASE, case).await;
}

/// `mark_sent` by the holder records the delivery; a sent thread is never
/// leased again, even long after.
pub async fn mark_sent_records_delivery_and_is_final<S: LeadStore + ?Sized>(store: &S) {
    let case = "mark_sent";
    let thread = fresh_thread(case);
    let (token, _) = must_win(store, &thread, T0, case).await;
    assert!(
        ok(
            case,
            "mark_sent",
            store.mark_sent(&token, &sent_mark(T0 + 3)).await
        ),
        "{case}: holder may mark sent"
    );
    let rec = read(store, &thread, case).await;
    assert_eq!(rec.status, LeadStatus::Sent, "{case}: status");
    assert_eq!(rec.sent_at, Some(T0 + 3), "{case}: sent_at");
    assert_eq!(
        rec.message_id.as_deref(),
        Some(format!("msg-{}", T0 + 3).as_str()),
        "{case}: message_id"
    );
    assert_eq!(rec.ttl, T0 + 3 + TTL, "{case}: ttl refreshed");
    let holder = must_lose(store, &thread, T0 + 10 * LEASE, case).await;
    assert_eq!(
        holder.map(|r| r.status),
        Some(LeadStatus::Sent),
        "{case}: holder is the sent record"
    );
    assert!(
        !ok(
            case,
            "mark_sent again",
            store.mark_sent(&token, &sent_mark(T0 + 20)).await
        ),
        "{case}: a sent record is final"
    );
}

/// Once another caller holds the lease, the old holder can neither mark nor
/// checkpoint.
pub async fn stale_lease_cannot_mark_or_checkpoint<S: LeadStore + ?Sized>(store: &S) {
    let case = "stale_lease";
    let thread = fresh_thread(case);
    let (stale, _) = must_win(store, &thread, T0, case).await;
    let (fresh, _) = must_win(store, &thread, T0 + LEASE, case).await;
    let later = T0 + LEASE + 1;
    assert!(
        !ok(
            case,
            "checkpoint",
            store.checkpoint_delivery(&stale, later).await
        ),
        "{case}: checkpoint"
    );
    assert!(
        !ok(
            case,
            "mark_sent",
            store.mark_sent(&stale, &sent_mark(later)).await
        ),
        "{case}: mark_sent"
    );
    let error = ErrorMark {
        now: later,
        retry_at: later + 60,
        error: "x".into(),
        clear_delivery: true,
    };
    assert!(
        !ok(case, "mark_error", store.mark_error(&stale, &error).await),
        "{case}: mark_error"
    );
    assert!(
        !ok(case, "release", store.release(&stale, later, "x").await),
        "{case}: release"
    );
    let rec = read(store, &thread, case).await;
    assert_eq!(
        rec.lease_id,
        Some(fresh.lease_id),
        "{case}: fresh holder untouched"
    );
    assert_eq!(rec.status, LeadStatus::Sending, "{case}: status untouched");
}

/// `mark_error` puts the thread in `error` until the cooldown ends, keeps at
/// most 500 characters of error, and a retry after the cooldown wins.
pub async fn mark_error_sets_a_cooldown_and_a_bounded_error<S: LeadStore + ?Sized>(store: &S) {
    let case = "mark_error";
    let thread = fresh_thread(case);
    let (token, _) = must_win(store, &thread, T0, case).await;
    let mark = ErrorMark {
        now: T0 + 2,
        retry_at: T0 + 62,
        error: "é".repeat(800),
        clear_delivery: true,
    };
    assert!(
        ok(case, "mark_error", store.mark_error(&token, &mark).await),
        "{case}: holder may mark error"
    );
    let rec = read(store, &thread, case).await;
    assert_eq!(rec.status, LeadStatus::Error, "{case}: status");
    assert_eq!(rec.lock_expires_at, T0 + 62, "{case}: cooldown end");
    assert_eq!(
        rec.last_error.as_deref().map(|e| e.chars().count()),
        Some(MAX_LAST_ERROR_CHARS),
        "{case}: last_error capped"
    );
    must_lose(store, &thread, T0 + 61, case).await;
    let (_, retried) = must_win(store, &thread, T0 + 62, case).await;
    assert_eq!(
        (retried.status, retried.attempts),
        (LeadStatus::Sending, 2),
        "{case}: retry"
    );
}

/// The delivery checkpoint is kept across a re-acquire (so the next attempt
/// knows delivery may have happened) unless `mark_error` cleared it.
pub async fn checkpoint_survives_reacquire_unless_cleared<S: LeadStore + ?Sized>(store: &S) {
    let case = "checkpoint";
    let thread = fresh_thread(case);
    let (token, _) = must_win(store, &thread, T0, case).await;
    assert!(
        ok(
            case,
            "checkpoint",
            store.checkpoint_delivery(&token, T0 + 1).await
        ),
        "{case}: holder may checkpoint"
    );
    assert_eq!(
        read(store, &thread, case).await.delivery_started_at,
        Some(T0 + 1),
        "{case}: stored"
    );
    // Crash: the lease runs out with the checkpoint set.
    let (token, record) = must_win(store, &thread, T0 + LEASE + 1, case).await;
    assert_eq!(
        record.delivery_started_at,
        Some(T0 + 1),
        "{case}: carried into the next attempt"
    );
    // An uncertain failure keeps it, a certain one clears it.
    let keep = ErrorMark {
        now: T0 + LEASE + 2,
        retry_at: T0 + LEASE + 3,
        error: "timeout".into(),
        clear_delivery: false,
    };
    assert!(
        ok(case, "mark_error", store.mark_error(&token, &keep).await),
        "{case}: mark_error"
    );
    assert_eq!(
        read(store, &thread, case).await.delivery_started_at,
        Some(T0 + 1),
        "{case}: kept"
    );
    let (token, _) = must_win(store, &thread, T0 + LEASE + 3, case).await;
    let clear = ErrorMark {
        clear_delivery: true,
        ..keep
    };
    assert!(
        ok(case, "mark_error", store.mark_error(&token, &clear).await),
        "{case}: mark_error"
    );
    assert_eq!(
        read(store, &thread, case).await.delivery_started_at,
        None,
        "{case}: cleared"
    );
}

/// `release` lets the next trigger acquire immediately.
pub async fn release_makes_the_thread_acquirable_at_once<S: LeadStore + ?Sized>(store: &S) {
    let case = "release";
    let thread = fresh_thread(case);
    let (token, _) = must_win(store, &thread, T0, case).await;
    assert!(
        ok(
            case,
            "release",
            store.release(&token, T0 + 5, "not_ready").await
        ),
        "{case}: holder may release"
    );
    let rec = read(store, &thread, case).await;
    assert_eq!(
        rec.last_reason.as_deref(),
        Some("not_ready"),
        "{case}: reason"
    );
    assert_eq!(rec.status, LeadStatus::Sending, "{case}: status");
    let (_, again) = must_win(store, &thread, T0 + 5, case).await;
    assert_eq!(again.attempts, 2, "{case}: attempts");
}

/// A history that sets every field (checkpoint, error, re-acquire, sent)
/// reads back exactly as the reference rules (`MemoryStore`) produce it,
/// including text that needs escaping and the largest TTL. Returns the
/// thread so an adapter can also inspect how it stored the record.
pub async fn every_field_round_trips_like_the_reference<S: LeadStore + ?Sized>(
    store: &S,
) -> ThreadId {
    let case = "round_trip";
    let reference = super::MemoryStore::new();
    let thread = fresh_thread(case);
    let first = acquire_request(&thread, T0);
    let second = AcquireRequest {
        reason: "pagehide ✓ — «ünïcode» 'quote' \\ %s $1".to_owned(),
        ..acquire_request(&thread, T0 + 200)
    };
    let error = ErrorMark {
        now: T0 + 3,
        retry_at: T0 + 63,
        error: "timeout; DROP TABLE lead_records; --".to_owned(),
        clear_delivery: false,
    };
    let sent = SentMark {
        now: T0 + 205,
        message_id: "<0f9e@leads.example> 'quoted' \"id\"".to_owned(),
        ttl: i64::MAX,
    };
    replay(&reference, &first, &second, &error, &sent).await;
    replay(store, &first, &second, &error, &sent).await;
    let stored = read(store, &thread, case).await;
    assert_eq!(
        Some(&stored),
        reference.record(&thread).as_ref(),
        "{case}: differs from the reference"
    );
    assert_eq!(
        (
            stored.status,
            stored.attempts,
            stored.created_at,
            stored.delivery_started_at,
            stored.ttl
        ),
        (LeadStatus::Sent, 2, T0, Some(T0 + 2), i64::MAX),
        "{case}: fields"
    );
    assert_eq!(
        stored.last_reason.as_deref(),
        Some(second.reason.as_str()),
        "{case}: last_reason"
    );
    assert_eq!(
        stored.message_id.as_deref(),
        Some(sent.message_id.as_str()),
        "{case}: message_id"
    );
    assert_eq!(
        stored.last_error, None,
        "{case}: mark_sent clears last_error"
    );
    thread
}

/// The round-trip history on a store of any size.
async fn replay<S: LeadStore + ?Sized>(
    s: &S,
    first: &AcquireRequest,
    second: &AcquireRequest,
    error: &ErrorMark,
    sent: &SentMark,
) {
    let case = "round_trip";
    expect_won(s, first).await;
    assert!(
        ok(
            case,
            "checkpoint",
            s.checkpoint_delivery(&first.lease(), T0 + 2).await
        ),
        "{case}: checkpoint"
    );
    assert!(
        ok(
            case,
            "mark_error",
            s.mark_error(&first.lease(), error).await
        ),
        "{case}: mark_error"
    );
    expect_won(s, second).await;
    assert!(
        ok(case, "mark_sent", s.mark_sent(&second.lease(), sent).await),
        "{case}: mark_sent"
    );
}

/// Marks for a thread without a record change nothing.
pub async fn marks_on_a_missing_record_are_refused<S: LeadStore + ?Sized>(store: &S) {
    let case = "missing_marks";
    let token = LeaseToken {
        thread_id: fresh_thread(case),
        lease_id: LeaseId::random(),
    };
    assert!(
        !ok(
            case,
            "checkpoint",
            store.checkpoint_delivery(&token, T0).await
        ),
        "{case}: checkpoint"
    );
    assert!(
        !ok(
            case,
            "mark_sent",
            store.mark_sent(&token, &sent_mark(T0)).await
        ),
        "{case}: mark_sent"
    );
    assert!(
        !ok(case, "release", store.release(&token, T0, "x").await),
        "{case}: release"
    );
    let got = store
        .get(&token.thread_id)
        .await
        .unwrap_or_else(|e| panic!("{case}: get: {e}"));
    assert_eq!(got, None, "{case}: no record may be created by a mark");
}

/// `contenders` simultaneous acquires on one thread, `rounds` times (a new
/// thread each round): exactly one wins each round and every loser sees the
/// winner's lease.
pub async fn concurrent_acquires<S: LeadStore + 'static>(
    store: Arc<S>,
    contenders: usize,
    rounds: usize,
) {
    concurrent_acquires_across(&[store], contenders, rounds).await;
}

/// [`concurrent_acquires`] with the contenders spread round-robin over
/// several handles on one backend (two pools, two clients), as several
/// server instances would be.
pub async fn concurrent_acquires_across<S: LeadStore + 'static>(
    stores: &[Arc<S>],
    contenders: usize,
    rounds: usize,
) {
    assert!(!stores.is_empty(), "concurrent: at least one store handle");
    for round in 0..rounds {
        let thread = fresh_thread("concurrent");
        let barrier = Arc::new(tokio::sync::Barrier::new(contenders));
        let tasks: Vec<_> = (0..contenders)
            .map(|i| {
                let store = Arc::clone(&stores[i % stores.len()]);
                let thread = thread.clone();
                let barrier = Arc::clone(&barrier);
                tokio::spawn(async move {
                    let req = acquire_request(&thread, T0);
                    barrier.wait().await;
                    (req.lease_id.clone(), store.try_acquire(&req).await)
                })
            })
            .collect();
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        for task in tasks {
            let (lease_id, result) = task
                .await
                .unwrap_or_else(|e| panic!("concurrent: task panicked: {e}"));
            match result
                .unwrap_or_else(|e| panic!("concurrent round {round}: try_acquire failed: {e}"))
            {
                Acquired::Won(record) => winners.push((lease_id, record)),
                Acquired::Lost(holder) => losers.push(holder),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "concurrent round {round}: exactly one of {contenders} acquires must win"
        );
        let (lease_id, record) = &winners[0];
        assert_eq!(
            record.lease_id.as_ref(),
            Some(lease_id),
            "concurrent round {round}: winner's record"
        );
        assert_eq!(
            record.attempts, 1,
            "concurrent round {round}: one attempt counted"
        );
        for holder in losers.iter().flatten() {
            assert_eq!(
                holder.lease_id.as_ref(),
                Some(lease_id),
                "concurrent round {round}: losers see the winner"
            );
        }
        // Every handle reads the same winner.
        for store in stores {
            let stored = read(store.as_ref(), &thread, "concurrent").await;
            assert_eq!(
                stored.lease_id.as_ref(),
                Some(lease_id),
                "concurrent round {round}: stored holder"
            );
        }
    }
}
