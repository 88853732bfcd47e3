//! The one behaviour suite every [`LeadStore`] must pass.
//!
//! Call [`run_all`] from the adapter's integration test, against the real
//! backend, on a multi-threaded tokio runtime. It checks two layers:
//!
//! 1. **The port's contract**, which is all a backend implements: `load`
//!    returns what `put` stored, every field and unknown field included;
//!    `put` inserts only when absent and replaces only on the expected
//!    version, atomically — 64 simultaneous writes on one version, exactly
//!    one lands.
//! 2. **The lease behaviour** through [`crate::lease`] on that
//!    backend: acquire, expiry, marks, stale holders, the delivery
//!    checkpoint, release, and 64 simultaneous acquires with exactly one
//!    winner, 20 rounds.
//!
//! Each case uses fresh thread ids, so the suite can run against a shared
//! database and repeatedly. Failures panic with the case name.
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use chatkit_leads_core::testkit::{conformance, MemoryStore};
//! conformance::run_all(Arc::new(MemoryStore::new())).await;
//! # }
//! ```

use std::sync::Arc;

use serde_json::json;

use crate::delivery::Attempt;
use crate::delivery::{Delivery, DeliveryState, Event, EventKind, Outbox};
use crate::ids::{LeaseId, ThreadId, UserId};
use crate::lease::{self, AcquireRequest, Acquired, ErrorMark, Lease, Look, NewEvent, SentMark};
use crate::ports::{LeadStore, SeenUser};
use crate::record::{
    CachedSummary, Expected, ExtraFields, LeadRecord, LeadStatus, MAX_LAST_ERROR_CHARS, PutOutcome,
    Told, Version, Versioned,
};
use crate::summary::LeadSummary;

/// A fixed start time (Unix seconds) for deterministic cases.
const T0: i64 = 1_800_000_000;
/// Lease length used by the cases.
const LEASE: i64 = 120;
/// Record lifetime used by the cases.
const TTL: i64 = 30 * 24 * 3600;

/// Runs every case, including 64 contenders in [`concurrent_puts`] (10
/// rounds) and [`concurrent_acquires`] (20 rounds). Use a multi-threaded
/// tokio runtime so contenders run in parallel.
pub async fn run_all<S: LeadStore + 'static>(store: Arc<S>) {
    let s = store.as_ref();
    // The port.
    missing_record_loads_as_none(s).await;
    insert_stores_version_one_and_refuses_a_second_insert(s).await;
    replace_needs_the_current_version(s).await;
    replace_never_creates_a_record(s).await;
    a_refused_write_reports_the_record_as_it_is(s).await;
    every_field_and_unknown_field_round_trips(s).await;
    due_lists_records_due_by_now_earliest_first(s).await;
    users_are_listed_once_per_session(s).await;
    concurrent_puts(Arc::clone(&store), 64, 10).await;
    // The lease on top of it.
    first_acquire_creates_a_sending_record(s).await;
    acquire_while_leased_loses_and_reports_the_holder(s).await;
    acquire_after_expiry_wins_counts_attempts_and_keeps_created_at(s).await;
    lease_expires_exactly_at_lock_expires_at(s).await;
    mark_sent_records_delivery_and_is_final(s).await;
    stale_lease_cannot_mark_or_checkpoint(s).await;
    mark_error_sets_a_cooldown_and_a_bounded_error(s).await;
    checkpoint_survives_reacquire_unless_cleared(s).await;
    release_makes_the_thread_acquirable_at_once(s).await;
    every_transition_keeps_the_thread_due_when_work_is_left(s).await;
    unknown_fields_survive_every_transition(s).await;
    a_write_that_already_landed_counts_as_done(s).await;
    every_field_round_trips_like_the_reference(s).await;
    an_update_takes_the_lease_of_a_sent_thread(s).await;
    one_look_per_interval_and_one_update_holder(Arc::clone(&store), 64, 5).await;
    // The sinks' deliveries.
    a_sent_lead_is_due_for_its_deliveries_until_they_settle(s).await;
    concurrent_delivery_claims(Arc::clone(&store), 64, 5).await;
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

/// A `sending` record of `thread` as a first acquire at `now` writes it.
pub fn sample_record(thread: &ThreadId, now: i64) -> LeadRecord {
    lease::rules::acquire(None, &acquire_request(thread, now))
        .unwrap_or_else(|| panic!("a first acquire always succeeds"))
}

/// Acquires with `req` through [`lease::acquire`] and panics unless it
/// wins; returns the lease.
pub async fn expect_lease<'s, S: LeadStore + ?Sized>(
    store: &'s S,
    req: &AcquireRequest,
) -> Lease<'s, S> {
    match lease::acquire(store, req, None).await {
        Ok(Acquired::Won(lease)) => lease,
        Ok(Acquired::Lost(holder)) => panic!("acquire should win, lost to {holder:?}"),
        Err(e) => panic!("acquire failed: {e}"),
    }
}

/// [`expect_lease`], returning the record as written.
pub async fn expect_won<S: LeadStore + ?Sized>(store: &S, req: &AcquireRequest) -> LeadRecord {
    expect_lease(store, req).await.record().clone()
}

async fn must_win<'s, S: LeadStore + ?Sized>(
    store: &'s S,
    thread: &ThreadId,
    now: i64,
) -> Lease<'s, S> {
    expect_lease(store, &acquire_request(thread, now)).await
}

async fn must_lose<S: LeadStore + ?Sized>(
    store: &S,
    thread: &ThreadId,
    now: i64,
    case: &str,
) -> LeadRecord {
    match lease::acquire(store, &acquire_request(thread, now), None).await {
        Ok(Acquired::Lost(holder)) => holder,
        Ok(Acquired::Won(lease)) => {
            panic!("{case}: acquire at {now} should lose, won {lease:?}")
        }
        Err(e) => panic!("{case}: acquire failed: {e}"),
    }
}

async fn load<S: LeadStore + ?Sized>(store: &S, thread: &ThreadId, case: &str) -> Versioned {
    store
        .load(thread)
        .await
        .unwrap_or_else(|e| panic!("{case}: load failed: {e}"))
        .unwrap_or_else(|| panic!("{case}: record missing"))
}

async fn read<S: LeadStore + ?Sized>(store: &S, thread: &ThreadId, case: &str) -> LeadRecord {
    load(store, thread, case).await.record
}

async fn put<S: LeadStore + ?Sized>(
    store: &S,
    record: &LeadRecord,
    expected: Expected,
    case: &str,
) -> bool {
    store
        .put(record, expected)
        .await
        .unwrap_or_else(|e| panic!("{case}: put failed: {e}"))
}

fn ok<E: std::fmt::Display>(case: &str, op: &str, r: Result<bool, E>) -> bool {
    r.unwrap_or_else(|e| panic!("{case}: {op} failed: {e}"))
}

fn sent_mark(now: i64) -> SentMark {
    SentMark {
        now,
        message_id: format!("msg-{now}"),
        ttl: now + TTL,
        told: told(now),
        event: None,
    }
}

/// What a lead email sent at `now` told the shop, every field set, with
/// text that needs escaping in the subject.
fn told(now: i64) -> Told {
    Told {
        items: 7,
        last_item: Some("cthi_7".to_owned()),
        seen_item: Some("cthi_9".to_owned()),
        checked_at: Some(now),
        message_id: Some(format!("{now}.lead@leads.example")),
        subject: Some("New chat lead: «Ünïcode» 'seats' \"quoted\" %s $1".to_owned()),
        updates: 2,
        updated_at: Some(now - 1),
    }
}

/// Unknown fields of every JSON kind, as a newer release might store them.
fn future_fields() -> ExtraFields {
    let mut extra = ExtraFields::default();
    extra.insert("future_count", json!(3));
    extra.insert("future_flag", json!(true));
    extra.insert("future_text", json!("«ünïcode» 'quote' \\ %s $1"));
    extra.insert("future_list", json!(["a", 2, false]));
    extra.insert(
        "future_map",
        json!({"webhook": {"state": "pending", "attempts": 2}}),
    );
    extra
}

// ---------------------------------------------------------------- the port

/// `load` on an unknown thread is `Ok(None)`.
pub async fn missing_record_loads_as_none<S: LeadStore + ?Sized>(store: &S) {
    let thread = fresh_thread("missing");
    let got = store
        .load(&thread)
        .await
        .unwrap_or_else(|e| panic!("missing: load failed: {e}"));
    assert_eq!(got, None, "missing: unknown thread must load as None");
}

/// An insert stores the record as version 1; a second insert of the same
/// thread is refused and changes nothing.
pub async fn insert_stores_version_one_and_refuses_a_second_insert<S: LeadStore + ?Sized>(
    store: &S,
) {
    let case = "insert";
    let thread = fresh_thread(case);
    let first = sample_record(&thread, T0);
    assert!(
        put(store, &first, Expected::Absent, case).await,
        "{case}: first insert"
    );
    let stored = load(store, &thread, case).await;
    assert_eq!(stored.record, first, "{case}: stored as written");
    assert_eq!(stored.version, Version::new(1), "{case}: version 1");
    let second = sample_record(&thread, T0 + 1);
    assert!(
        !put(store, &second, Expected::Absent, case).await,
        "{case}: an insert over an existing record must be refused"
    );
    assert_eq!(
        load(store, &thread, case).await,
        stored,
        "{case}: unchanged"
    );
}

/// A replace lands only on the stored version and bumps it; a stale version
/// is refused and changes nothing.
pub async fn replace_needs_the_current_version<S: LeadStore + ?Sized>(store: &S) {
    let case = "replace";
    let thread = fresh_thread(case);
    let first = sample_record(&thread, T0);
    assert!(
        put(store, &first, Expected::Absent, case).await,
        "{case}: insert"
    );
    let second = LeadRecord {
        updated_at: T0 + 1,
        ..first.clone()
    };
    let v1 = Expected::Version(Version::new(1));
    assert!(put(store, &second, v1, case).await, "{case}: replace v1");
    let stored = load(store, &thread, case).await;
    assert_eq!(
        (stored.record, stored.version),
        (second.clone(), Version::new(2)),
        "{case}: v2"
    );
    let stale = LeadRecord {
        updated_at: T0 + 2,
        ..first
    };
    assert!(
        !put(store, &stale, v1, case).await,
        "{case}: a stale version is refused"
    );
    assert_eq!(
        read(store, &thread, case).await,
        second,
        "{case}: unchanged"
    );
    assert!(
        put(store, &stale, Expected::Version(Version::new(2)), case).await,
        "{case}: replace v2"
    );
}

/// A replace of a thread that has no record writes nothing.
pub async fn replace_never_creates_a_record<S: LeadStore + ?Sized>(store: &S) {
    let case = "replace_missing";
    let thread = fresh_thread(case);
    for version in [Version::UNVERSIONED, Version::new(1), Version::new(7)] {
        assert!(
            !put(
                store,
                &sample_record(&thread, T0),
                Expected::Version(version),
                case
            )
            .await,
            "{case}: replace of version {version} on a missing record"
        );
    }
    let got = store
        .load(&thread)
        .await
        .unwrap_or_else(|e| panic!("{case}: load failed: {e}"));
    assert_eq!(got, None, "{case}: no record may be created by a replace");
}

/// `put_or_load` writes like `put`, and when refused returns exactly what
/// `load` does — the record that won, or none.
pub async fn a_refused_write_reports_the_record_as_it_is<S: LeadStore + ?Sized>(store: &S) {
    let case = "put_or_load";
    let thread = fresh_thread(case);
    let first = sample_record(&thread, T0);
    let written = store.put_or_load(&first, Expected::Absent).await;
    assert_eq!(
        written.unwrap_or_else(|e| panic!("{case}: {e}")),
        PutOutcome::Written(Version::new(1)),
        "{case}: insert"
    );
    let second = sample_record(&thread, T0 + 1);
    let refused = store.put_or_load(&second, Expected::Absent).await;
    assert_eq!(
        refused.unwrap_or_else(|e| panic!("{case}: {e}")),
        PutOutcome::Refused(Some(Box::new(load(store, &thread, case).await))),
        "{case}: a refused insert reports the record that is there"
    );
    let stale = store
        .put_or_load(&second, Expected::Version(Version::new(9)))
        .await;
    assert_eq!(
        stale.unwrap_or_else(|e| panic!("{case}: {e}")),
        PutOutcome::Refused(Some(Box::new(load(store, &thread, case).await))),
        "{case}: a refused replace reports the record that is there"
    );
    let missing = sample_record(&fresh_thread(case), T0);
    let none = store
        .put_or_load(&missing, Expected::Version(Version::new(1)))
        .await;
    assert_eq!(
        none.unwrap_or_else(|e| panic!("{case}: {e}")),
        PutOutcome::Refused(None),
        "{case}: a refused replace of a missing record reports none"
    );
    assert_eq!(read(store, &thread, case).await, first, "{case}: unchanged");
}

/// A record with every field set — text that needs escaping, the largest
/// TTL, unknown fields of every kind — and one with every optional field
/// unset both read back exactly as written.
pub async fn every_field_and_unknown_field_round_trips<S: LeadStore + ?Sized>(store: &S) {
    let case = "port_round_trip";
    let thread = fresh_thread(case);
    let full = LeadRecord {
        thread_id: thread.clone(),
        status: LeadStatus::Sent,
        lease_id: Some(LeaseId::random()),
        lock_expires_at: -5,
        created_at: T0,
        updated_at: T0 + 7,
        attempts: u32::MAX,
        sent_at: Some(T0 + 6),
        message_id: Some("<0f9e@leads.example> 'quoted' \"id\"".to_owned()),
        last_reason: Some("pagehide ✓ — «ünïcode» 'quote' \\ %s $1".to_owned()),
        last_error: Some("timeout; DROP TABLE lead_records; --".to_owned()),
        ttl: i64::MAX,
        delivery_started_at: Some(T0 + 5),
        due_at: Some(T0 + 9),
        summary_cache: Some(CachedSummary {
            transcript: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                .to_owned(),
            summary: LeadSummary {
                customer_name: Some("María «Ünïcode» O'Brien".to_owned()),
                customer_phone: Some("(408) 555-0142".to_owned()),
                handoff_ready: true,
                handoff_reason: "ready_for_follow_up".to_owned(),
                summary: "Seats\nsplit; \"quoted\" <b>".to_owned(),
                next_steps: vec!["Call".to_owned(), String::new()],
                ..LeadSummary::default()
            },
        }),
        told: Told {
            items: u32::MAX,
            ..told(T0 + 6)
        },
        outbox: Outbox {
            events: vec![Event {
                kind: EventKind::Updated(u32::MAX),
                document: r#"{"summary":"Seats \"quoted\" <b>\n«ü»"}"#.to_owned(),
                created_at: T0 + 6,
            }],
            deliveries: vec![
                Delivery {
                    sink: "webhook:crm 'quoted'".to_owned(),
                    event: 0,
                    id: "msg_0123456789abcdef0123456789abcdef".to_owned(),
                    state: DeliveryState::Due { at: i64::MAX },
                    attempts: u32::MAX,
                    last_status: Some(503),
                },
                Delivery {
                    sink: "slack".to_owned(),
                    event: u32::MAX,
                    id: "msg_fedcba".to_owned(),
                    state: DeliveryState::Disabled,
                    attempts: 1,
                    last_status: None,
                },
            ],
            record_due: Some(T0 + 600),
        },
        extra: future_fields(),
    };
    assert!(
        put(store, &full, Expected::Absent, case).await,
        "{case}: insert"
    );
    assert_eq!(
        read(store, &thread, case).await,
        full,
        "{case}: every field"
    );

    let bare = LeadRecord {
        lease_id: None,
        sent_at: None,
        message_id: None,
        last_reason: None,
        last_error: None,
        delivery_started_at: None,
        due_at: None,
        summary_cache: None,
        told: Told::default(),
        outbox: Default::default(),
        extra: ExtraFields::default(),
        attempts: 0,
        ..full
    };
    assert!(
        put(store, &bare, Expected::Version(Version::new(1)), case).await,
        "{case}: replace"
    );
    assert_eq!(
        read(store, &thread, case).await,
        bare,
        "{case}: unset fields stay unset"
    );
}

/// Runs `contenders` attempts at once, the concurrency cases' one harness:
/// each attempt (`attempt(i)`, prepared outside the race) is spawned and
/// waits at a shared barrier, so the store sees them together. The results
/// come back in spawn order; a panicked task fails `case`.
async fn simultaneously<T, Fut>(
    case: &str,
    contenders: usize,
    attempt: impl Fn(usize) -> Fut,
) -> Vec<T>
where
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(contenders));
    let tasks: Vec<_> = (0..contenders)
        .map(|i| {
            let (barrier, attempt) = (Arc::clone(&barrier), attempt(i));
            tokio::spawn(async move {
                barrier.wait().await;
                attempt.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(contenders);
    for task in tasks {
        results.push(
            task.await
                .unwrap_or_else(|e| panic!("{case}: task panicked: {e}")),
        );
    }
    results
}

/// `contenders` simultaneous inserts of one thread, then as many
/// simultaneous replaces of the same version, `rounds` times: exactly one
/// write lands each time and the stored record is the winner's.
pub async fn concurrent_puts<S: LeadStore + 'static>(
    store: Arc<S>,
    contenders: usize,
    rounds: usize,
) {
    for round in 0..rounds {
        let thread = fresh_thread("concurrent_put");
        let inserted = race_puts(&store, &thread, Expected::Absent, contenders, round).await;
        race_puts(
            &store,
            &thread,
            Expected::Version(inserted),
            contenders,
            round,
        )
        .await;
    }
}

/// One race of `put(_, expected)`; returns the stored version.
async fn race_puts<S: LeadStore + 'static>(
    store: &Arc<S>,
    thread: &ThreadId,
    expected: Expected,
    contenders: usize,
    round: usize,
) -> Version {
    let case = format!("concurrent_put round {round} {expected:?}");
    let puts = simultaneously(&case, contenders, |i| {
        let store = Arc::clone(store);
        let record = LeadRecord {
            last_reason: Some(format!("contender {i}")),
            ..sample_record(thread, T0)
        };
        async move {
            let written = store.put(&record, expected).await;
            (record, written)
        }
    })
    .await;
    let mut winners = Vec::new();
    for (record, written) in puts {
        if written.unwrap_or_else(|e| panic!("{case}: put failed: {e}")) {
            winners.push(record);
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "{case}: exactly one of {contenders} writes must land"
    );
    let stored = load(store.as_ref(), thread, &case).await;
    assert_eq!(
        stored.record, winners[0],
        "{case}: the winner's record is stored"
    );
    assert_eq!(stored.version, expected.next_version(), "{case}: version");
    stored.version
}

/// Far from the other cases' times, so their records never show here.
const DUE_ERA: i64 = 1_000_000_000;

/// `due(now, limit)` lists the records whose `due_at` has come, earliest
/// first and at most `limit`; records not due, or due later, are left out.
pub async fn due_lists_records_due_by_now_earliest_first<S: LeadStore + ?Sized>(store: &S) {
    let case = "due";
    let now = DUE_ERA + 1_000;
    let mut mine = Vec::new();
    for (n, due_at) in [
        Some(now - 5),
        Some(now),
        None,
        Some(now + 1),
        Some(now - 50),
    ]
    .into_iter()
    .enumerate()
    {
        let thread = fresh_thread(&format!("due{n}"));
        let record = LeadRecord {
            due_at,
            ..sample_record(&thread, DUE_ERA)
        };
        assert!(
            put(store, &record, Expected::Absent, case).await,
            "{case}: insert"
        );
        mine.push(thread);
    }
    let due = store
        .due(now, 100)
        .await
        .unwrap_or_else(|e| panic!("{case}: due failed: {e}"));
    assert!(
        due.iter().all(|r| r.due_at.is_some_and(|at| at <= now)),
        "{case}: only records due by now"
    );
    assert!(
        due.windows(2).all(|w| w[0].due_at <= w[1].due_at),
        "{case}: earliest first"
    );
    let listed: Vec<&ThreadId> = due
        .iter()
        .map(|r| &r.thread_id)
        .filter(|t| mine.contains(t))
        .collect();
    assert_eq!(
        listed,
        [&mine[4], &mine[0], &mine[1]],
        "{case}: due by now, earliest first"
    );
    let first_two = store
        .due(now, 2)
        .await
        .unwrap_or_else(|e| panic!("{case}: due failed: {e}"));
    assert_eq!(first_two.len(), 2, "{case}: at most limit");
    assert!(
        first_two
            .iter()
            .all(|r| r.due_at.is_some_and(|at| at <= now - 5)),
        "{case}: the earliest"
    );

    // A record that stops being due leaves the list.
    assert!(
        ok(case, "unwatch", lease::unwatch(store, &mine[4], now).await),
        "{case}: unwatch writes"
    );
    let due = store
        .due(now, 100)
        .await
        .unwrap_or_else(|e| panic!("{case}: due failed: {e}"));
    assert!(
        !due.iter().any(|r| r.thread_id == mine[4]),
        "{case}: no longer due"
    );
}

/// A user is listed after a session, once; a later session lists it again;
/// an earlier time never replaces a later one.
pub async fn users_are_listed_once_per_session<S: LeadStore + ?Sized>(store: &S) {
    let case = "users";
    let era = DUE_ERA + 500_000;
    let mine = |users: Vec<SeenUser>, who: &[&UserId]| -> Vec<(UserId, i64)> {
        users
            .into_iter()
            .filter(|seen| who.contains(&&seen.user))
            .map(|seen| (seen.user, seen.last_seen_at))
            .collect()
    };
    let fresh = |n: u8| {
        UserId::parse(&format!("anon_{}_{n}", uuid::Uuid::new_v4().simple()))
            .unwrap_or_else(|e| panic!("{case}: user id: {e}"))
    };
    let (early, late) = (fresh(1), fresh(2));
    let touch = |user: &UserId, at: i64| {
        let user = user.clone();
        async move {
            store
                .touch_user(&user, at, at + TTL)
                .await
                .unwrap_or_else(|e| panic!("{case}: touch_user failed: {e}"));
        }
    };
    let list = |since: i64, quiet_before: i64| async move {
        store
            .users_to_list(since, quiet_before, 100)
            .await
            .unwrap_or_else(|e| panic!("{case}: users_to_list failed: {e}"))
    };
    touch(&early, era + 10).await;
    touch(&late, era + 20).await;
    touch(&late, era + 15).await; // an earlier time does not win
    assert_eq!(
        mine(list(era, era + 30).await, &[&early, &late]),
        [(early.clone(), era + 10), (late.clone(), era + 20)],
        "{case}: both, earliest first"
    );
    assert_eq!(
        mine(list(era, era + 19).await, &[&early, &late]),
        [(early.clone(), era + 10)],
        "{case}: only users quiet since quiet_before"
    );
    assert!(
        mine(list(era + 11, era + 30).await, &[&early]).is_empty(),
        "{case}: not users last seen before since"
    );
    store
        .mark_listed(&early, era + 10)
        .await
        .unwrap_or_else(|e| panic!("{case}: mark_listed failed: {e}"));
    assert_eq!(
        mine(list(era, era + 30).await, &[&early, &late]),
        [(late.clone(), era + 20)],
        "{case}: a listed user is not listed again"
    );
    touch(&early, era + 25).await;
    assert_eq!(
        mine(list(era, era + 30).await, &[&early, &late]),
        [(late.clone(), era + 20), (early.clone(), era + 25)],
        "{case}: until its next session"
    );
}

// --------------------------------------------------------------- the lease

/// The first acquire writes every field of a fresh `sending` record.
pub async fn first_acquire_creates_a_sending_record<S: LeadStore + ?Sized>(store: &S) {
    let case = "first_acquire";
    let thread = fresh_thread(case);
    let lease = must_win(store, &thread, T0).await;
    let stored = read(store, &thread, case).await;
    assert_eq!(
        lease.record(),
        &stored,
        "{case}: Won must carry the record as stored"
    );
    assert_eq!(stored.thread_id, thread, "{case}: thread_id");
    assert_eq!(stored.status, LeadStatus::Sending, "{case}: status");
    assert_eq!(
        stored.lease_id,
        Some(lease.token().lease_id),
        "{case}: lease_id"
    );
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
    let lease = must_win(store, &thread, T0).await;
    let holder = must_lose(store, &thread, T0 + LEASE - 1, case).await;
    assert_eq!(
        holder.lease_id,
        Some(lease.token().lease_id),
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
    let first = must_win(store, &thread, T0).await.token();
    let later = T0 + LEASE + 5;
    let second = must_win(store, &thread, later).await;
    assert_ne!(
        first.lease_id,
        second.token().lease_id,
        "{case}: fresh lease id"
    );
    let record = second.record();
    assert_eq!(record.attempts, 2, "{case}: attempts");
    assert_eq!(record.created_at, T0, "{case}: created_at kept");
    assert_eq!(record.updated_at, later, "{case}: updated_at");
    assert_eq!(record.lock_expires_at, later + LEASE, "{case}: new expiry");
}

/// A lease is live while `lock_expires_at > now`.
pub async fn lease_expires_exactly_at_lock_expires_at<S: LeadStore + ?Sized>(store: &S) {
    let case = "lease_boundary";
    let thread = fresh_thread(case);
    must_win(store, &thread, T0).await;
    must_lose(store, &thread, T0 + LEASE - 1, case).await;
    must_win(store, &thread, T0 + LEASE).await;
}

/// `mark_sent` by the holder records the delivery; a sent thread is never
/// leased again, even long after.
pub async fn mark_sent_records_delivery_and_is_final<S: LeadStore + ?Sized>(store: &S) {
    let case = "mark_sent";
    let thread = fresh_thread(case);
    let mut lease = must_win(store, &thread, T0).await;
    assert!(
        ok(case, "mark_sent", lease.mark_sent(&sent_mark(T0 + 3)).await),
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
        holder.status,
        LeadStatus::Sent,
        "{case}: holder is the sent record"
    );
    assert!(
        !ok(
            case,
            "mark_sent again",
            lease.mark_sent(&sent_mark(T0 + 20)).await
        ),
        "{case}: a sent record is final"
    );
    assert_eq!(read(store, &thread, case).await, rec, "{case}: unchanged");
}

/// Once another caller holds the lease, the old holder can neither mark nor
/// checkpoint.
pub async fn stale_lease_cannot_mark_or_checkpoint<S: LeadStore + ?Sized>(store: &S) {
    let case = "stale_lease";
    let thread = fresh_thread(case);
    let mut stale = must_win(store, &thread, T0).await;
    let fresh = must_win(store, &thread, T0 + LEASE).await.token();
    let later = T0 + LEASE + 1;
    assert!(
        !ok(case, "checkpoint", stale.checkpoint(later, None).await),
        "{case}: checkpoint"
    );
    assert!(
        !ok(case, "mark_sent", stale.mark_sent(&sent_mark(later)).await),
        "{case}: mark_sent"
    );
    let error = ErrorMark {
        now: later,
        retry_at: later + 60,
        error: "x".into(),
        clear_delivery: true,
    };
    assert!(
        !ok(case, "mark_error", stale.mark_error(&error).await),
        "{case}: mark_error"
    );
    assert!(
        !ok(case, "release", stale.release(later, "x", later).await),
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
    let mut lease = must_win(store, &thread, T0).await;
    let mark = ErrorMark {
        now: T0 + 2,
        retry_at: T0 + 62,
        error: "é".repeat(800),
        clear_delivery: true,
    };
    assert!(
        ok(case, "mark_error", lease.mark_error(&mark).await),
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
    let retried = must_win(store, &thread, T0 + 62).await;
    assert_eq!(
        (retried.record().status, retried.record().attempts),
        (LeadStatus::Sending, 2),
        "{case}: retry"
    );
}

/// The delivery checkpoint is kept across a re-acquire (so the next attempt
/// knows delivery may have happened) unless `mark_error` cleared it.
pub async fn checkpoint_survives_reacquire_unless_cleared<S: LeadStore + ?Sized>(store: &S) {
    let case = "checkpoint";
    let thread = fresh_thread(case);
    let mut lease = must_win(store, &thread, T0).await;
    assert!(
        ok(case, "checkpoint", lease.checkpoint(T0 + 1, None).await),
        "{case}: holder may checkpoint"
    );
    assert_eq!(
        read(store, &thread, case).await.delivery_started_at,
        Some(T0 + 1),
        "{case}: stored"
    );
    // Crash: the lease runs out with the checkpoint set.
    let mut lease = must_win(store, &thread, T0 + LEASE + 1).await;
    assert_eq!(
        lease.record().delivery_started_at,
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
        ok(case, "mark_error", lease.mark_error(&keep).await),
        "{case}: mark_error"
    );
    assert_eq!(
        read(store, &thread, case).await.delivery_started_at,
        Some(T0 + 1),
        "{case}: kept"
    );
    let mut lease = must_win(store, &thread, T0 + LEASE + 3).await;
    let clear = ErrorMark {
        clear_delivery: true,
        ..keep
    };
    assert!(
        ok(case, "mark_error", lease.mark_error(&clear).await),
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
    let mut lease = must_win(store, &thread, T0).await;
    assert!(
        ok(
            case,
            "release",
            lease.release(T0 + 5, "not_ready", T0 + 600).await
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
    let again = must_win(store, &thread, T0 + 5).await;
    assert_eq!(again.record().attempts, 2, "{case}: attempts");
}

/// The sweeper's bookkeeping rides on the lease: a lease is due when it
/// expires, a failure when its cooldown ends, a release when it said; a sent
/// thread is not due; a trigger that finds nothing to send makes a thread
/// due, creating a `pending` record for a thread it never saw.
pub async fn every_transition_keeps_the_thread_due_when_work_is_left<S: LeadStore + ?Sized>(
    store: &S,
) {
    let case = "due_transitions";
    let thread = fresh_thread(case);
    let watch = lease::Watch {
        thread_id: thread.clone(),
        now: T0,
        due_at: T0 + 600,
        created_at: T0 - 30,
        ttl: T0 + TTL,
        reason: "missing_contact".to_owned(),
    };
    assert!(
        ok(case, "watch", lease::watch(store, &watch, None).await),
        "{case}: watch writes"
    );
    let pending = read(store, &thread, case).await;
    assert_eq!(
        (
            pending.status,
            pending.due_at,
            pending.created_at,
            pending.attempts
        ),
        (LeadStatus::Pending, Some(T0 + 600), T0 - 30, 0),
        "{case}: a pending record"
    );
    let later = lease::Watch {
        due_at: T0 + 900,
        ..watch.clone()
    };
    assert!(
        !ok(case, "watch", lease::watch(store, &later, None).await),
        "{case}: already due as early: no write"
    );
    let mut held = must_win(store, &thread, T0 + 1).await;
    assert_eq!(
        held.record().due_at,
        Some(T0 + 1 + LEASE),
        "{case}: due at lease expiry"
    );
    assert_eq!(held.record().created_at, T0 - 30, "{case}: created_at kept");
    let error = ErrorMark {
        now: T0 + 2,
        retry_at: T0 + 62,
        error: "timeout".into(),
        clear_delivery: false,
    };
    assert!(
        ok(case, "mark_error", held.mark_error(&error).await),
        "{case}: mark_error"
    );
    assert_eq!(
        read(store, &thread, case).await.due_at,
        Some(T0 + 62),
        "{case}: due after cooldown"
    );
    let mut held = must_win(store, &thread, T0 + 62).await;
    assert!(
        ok(
            case,
            "release",
            held.release(T0 + 63, "not_ready", T0 + 663).await
        ),
        "{case}: release"
    );
    assert_eq!(
        read(store, &thread, case).await.due_at,
        Some(T0 + 663),
        "{case}: due as released"
    );
    let mut held = must_win(store, &thread, T0 + 64).await;
    assert!(
        ok(case, "mark_sent", held.mark_sent(&sent_mark(T0 + 65)).await),
        "{case}: mark_sent"
    );
    assert_eq!(
        read(store, &thread, case).await.due_at,
        None,
        "{case}: sent: nothing due"
    );
    assert!(
        !ok(case, "watch", lease::watch(store, &watch, None).await),
        "{case}: a sent thread is never watched"
    );
}

/// Fields a newer release stored survive an older release's acquire,
/// checkpoint, error, re-acquire and send.
pub async fn unknown_fields_survive_every_transition<S: LeadStore + ?Sized>(store: &S) {
    let case = "unknown_fields";
    let thread = fresh_thread(case);
    let written_by_newer = LeadRecord {
        status: LeadStatus::Error,
        lock_expires_at: T0,
        extra: future_fields(),
        ..sample_record(&thread, T0 - 100)
    };
    assert!(
        put(store, &written_by_newer, Expected::Absent, case).await,
        "{case}: insert"
    );
    let mut lease = must_win(store, &thread, T0).await;
    assert!(
        ok(case, "checkpoint", lease.checkpoint(T0 + 1, None).await),
        "{case}: checkpoint"
    );
    assert!(
        ok(case, "mark_sent", lease.mark_sent(&sent_mark(T0 + 2)).await),
        "{case}: mark_sent"
    );
    let rec = read(store, &thread, case).await;
    assert_eq!(rec.status, LeadStatus::Sent, "{case}: sent");
    assert_eq!(rec.extra, future_fields(), "{case}: unknown fields kept");
}

/// A store client that retried a write whose first answer was lost sees
/// its own write refused; reading back exactly what it meant to write, the
/// caller counts the write as done — for an acquire and for a mark.
pub async fn a_write_that_already_landed_counts_as_done<S: LeadStore + ?Sized>(store: &S) {
    let case = "landed_write";
    let thread = fresh_thread(case);
    let req = acquire_request(&thread, T0);
    let first_attempt = lease::rules::acquire(None, &req)
        .unwrap_or_else(|| panic!("{case}: a first acquire always succeeds"));
    assert!(
        put(store, &first_attempt, Expected::Absent, case).await,
        "{case}: landed"
    );
    let mut lease = expect_lease(store, &req).await;
    assert_eq!(
        lease.record(),
        &first_attempt,
        "{case}: the acquire counts as won"
    );

    let mark = sent_mark(T0 + 1);
    let stored = load(store, &thread, case).await;
    let landed = lease::rules::mark_sent(&stored.record, &req.lease_id, &mark)
        .unwrap_or_else(|| panic!("{case}: the holder may mark sent"));
    assert!(
        put(store, &landed, Expected::Version(stored.version), case).await,
        "{case}: landed"
    );
    assert!(
        ok(case, "mark_sent", lease.mark_sent(&mark).await),
        "{case}: the mark counts as done"
    );
    assert_eq!(
        read(store, &thread, case).await,
        landed,
        "{case}: written once"
    );
    must_lose(store, &thread, T0 + 2, case).await;
}

/// A history that sets every field (checkpoint, error, re-acquire, sent)
/// reads back exactly as the reference store (`MemoryStore`) holds it.
/// Returns the thread so an adapter can also inspect how it stored the record.
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
        told: told(T0 + 205),
        event: None,
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
        stored.last_error, None,
        "{case}: mark_sent clears last_error"
    );
    thread
}

/// The round-trip history on a store of any kind.
async fn replay<S: LeadStore + ?Sized>(
    s: &S,
    first: &AcquireRequest,
    second: &AcquireRequest,
    error: &ErrorMark,
    sent: &SentMark,
) {
    let case = "round_trip";
    let mut lease = expect_lease(s, first).await;
    assert!(
        ok(case, "checkpoint", lease.checkpoint(T0 + 2, None).await),
        "{case}: checkpoint"
    );
    assert!(
        ok(case, "mark_error", lease.mark_error(error).await),
        "{case}: mark_error"
    );
    let mut lease = expect_lease(s, second).await;
    assert!(
        ok(case, "mark_sent", lease.mark_sent(sent).await),
        "{case}: mark_sent"
    );
}

// ----------------------------------------------------------- update emails

/// A sent thread: one look for news per interval, then the update lease —
/// held by one caller, marked sent with what the shop has been told now,
/// the first email's `sent_at` kept — and sent again after it.
pub async fn an_update_takes_the_lease_of_a_sent_thread<S: LeadStore + ?Sized>(store: &S) {
    let case = "update_lease";
    let thread = fresh_thread(case);
    let mut first = must_win(store, &thread, T0).await;
    assert!(
        ok(case, "mark_sent", first.mark_sent(&sent_mark(T0 + 3)).await),
        "{case}: lead sent"
    );
    let thread_ref = &thread;
    let claim = |now| async move {
        let look = Look { now, interval: 60 };
        let stored = store.load(thread_ref).await.expect("load");
        ok(
            case,
            "claim_look",
            lease::claim_look(store, thread_ref, &look, stored).await,
        )
    };
    // The lead's own mark counts as a look at T0 + 3.
    assert!(!claim(T0 + 30).await, "{case}: a look within the interval");
    assert!(claim(T0 + 63).await, "{case}: a look after the interval");
    assert!(!claim(T0 + 64).await, "{case}: one look per interval");
    let rec = read(store, &thread, case).await;
    assert_eq!(
        rec.told.checked_at,
        Some(T0 + 63),
        "{case}: the look is kept"
    );

    let req = acquire_request(&thread, T0 + 70);
    let stored = store.load(&thread).await.expect("load");
    let mut update = match lease::acquire_sent(store, &req, stored).await {
        Ok(Acquired::Won(lease)) => lease,
        other => panic!("{case}: the update lease: {other:?}"),
    };
    assert_eq!(
        update.record().status,
        LeadStatus::Sending,
        "{case}: leased"
    );
    let stored = store.load(&thread).await.expect("load");
    assert!(
        matches!(
            lease::acquire_sent(store, &acquire_request(&thread, T0 + 71), stored).await,
            Ok(Acquired::Lost(_))
        ),
        "{case}: one update holder"
    );
    must_lose(store, &thread, T0 + 72, case).await;
    assert!(
        ok(case, "checkpoint", update.checkpoint(T0 + 74, None).await),
        "{case}: checkpoint"
    );
    let told = Told {
        items: 9,
        last_item: Some("cthi_9".to_owned()),
        updates: 1,
        updated_at: Some(T0 + 75),
        ..told(T0 + 3)
    };
    let mark = SentMark {
        told: told.clone(),
        ..sent_mark(T0 + 75)
    };
    assert!(
        ok(case, "mark_sent", update.mark_sent(&mark).await),
        "{case}: update sent"
    );
    let rec = read(store, &thread, case).await;
    assert_eq!(
        (rec.status, rec.sent_at, rec.told),
        (LeadStatus::Sent, Some(T0 + 3), told),
        "{case}: sent, first sent_at kept, told advanced"
    );
    assert_eq!(rec.attempts, 2, "{case}: the update counted an attempt");
    let stored = store.load(&thread).await.expect("load");
    assert!(
        matches!(
            lease::acquire_sent(store, &acquire_request(&thread, T0 + 80), stored).await,
            Ok(Acquired::Won(_))
        ),
        "{case}: the next update may take it again"
    );
}

/// `contenders` simultaneous looks at a sent thread, then as many
/// simultaneous update acquires, `rounds` times: exactly one look and one
/// acquire win each round.
pub async fn one_look_per_interval_and_one_update_holder<S: LeadStore + 'static>(
    store: Arc<S>,
    contenders: usize,
    rounds: usize,
) {
    let case = "concurrent_updates";
    for round in 0..rounds {
        let thread = fresh_thread(case);
        let mut lead = must_win(store.as_ref(), &thread, T0).await;
        assert!(
            ok(case, "mark_sent", lead.mark_sent(&sent_mark(T0 + 3)).await),
            "{case}: lead sent"
        );
        let looks = simultaneously(case, contenders, |_| {
            let (store, thread) = (Arc::clone(&store), thread.clone());
            let look = Look {
                now: T0 + 100,
                interval: 60,
            };
            async move { lease::claim_look(store.as_ref(), &thread, &look, None).await }
        })
        .await;
        let mut won = 0;
        for claimed in looks {
            won += usize::from(ok(case, "claim_look", claimed));
        }
        assert_eq!(
            won, 1,
            "{case} round {round}: exactly one look of {contenders}"
        );

        let acquires = simultaneously(case, contenders, |_| {
            let (store, thread) = (Arc::clone(&store), thread.clone());
            let req = acquire_request(&thread, T0 + 110);
            async move {
                let seen = store.load(&thread).await?;
                let won = lease::acquire_sent(store.as_ref(), &req, seen).await?;
                Ok::<_, crate::StoreError>(matches!(won, Acquired::Won(_)))
            }
        })
        .await;
        let mut won = 0;
        for result in acquires {
            won += usize::from(result.unwrap_or_else(|e| panic!("{case}: acquire_sent: {e}")));
        }
        assert_eq!(
            won, 1,
            "{case} round {round}: exactly one update holder of {contenders}"
        );
    }
}

/// For a store that cannot succeed (no table, unreachable, a value it
/// refuses): an acquire whose thread, lease id and `reason` carry customer
/// data fails with an error that quotes none of them. Returns the error for
/// the adapter's own checks (its code, its wording).
pub async fn failed_acquire_quotes_no_value<S: LeadStore + ?Sized>(
    store: &S,
    reason: &str,
) -> crate::ports::StoreError {
    let thread = fresh_thread("secret");
    let req = AcquireRequest {
        reason: reason.to_owned(),
        ..acquire_request(&thread, T0)
    };
    let err = match lease::acquire(store, &req, None).await {
        Err(err) => err,
        Ok(answer) => panic!("the acquire should fail, got {answer:?}"),
    };
    let message = err.to_string();
    let words = reason.split(|c: char| c.is_whitespace() || c == '\0');
    for secret in [thread.as_str(), req.lease_id.as_str()]
        .into_iter()
        .chain(words)
    {
        assert!(
            secret.is_empty() || !message.contains(secret),
            "the error quotes a stored value: {message}"
        );
    }
    err
}

/// Far from the other cases' times (and before [`DUE_ERA`]), so `due`
/// lists only this era's records.
const DELIVERY_ERA: i64 = 900_000_000;

/// A thread sent at `now` by its first holder, with `lead.created` queued
/// for a webhook and Slack in the same write: the delivery ids.
async fn sent_with_event<S: LeadStore + ?Sized>(
    store: &S,
    thread: &ThreadId,
    now: i64,
) -> Vec<String> {
    let case = "sent_with_event";
    let mut lease = must_win(store, thread, now - 3).await;
    let mark = SentMark {
        event: Some(NewEvent {
            kind: EventKind::Created,
            document: r#"{"version":1}"#.to_owned(),
            sinks: vec!["webhook:crm".to_owned(), "slack".to_owned()],
        }),
        ..sent_mark(now)
    };
    assert!(
        ok(case, "mark_sent", lease.mark_sent(&mark).await),
        "{case}: holder marks"
    );
    let rec = read(store, thread, case).await;
    assert_eq!(
        rec.outbox.events.len(),
        1,
        "{case}: the event is in the sent record"
    );
    rec.outbox.deliveries.iter().map(|d| d.id.clone()).collect()
}

/// A lead sent with sinks is due (the sweep finds it) until every delivery
/// is settled; claims are exclusive until they run out.
pub async fn a_sent_lead_is_due_for_its_deliveries_until_they_settle<S: LeadStore + ?Sized>(
    store: &S,
) {
    let case = "deliveries_due";
    let thread = fresh_thread(case);
    let now = DELIVERY_ERA;
    let ids = sent_with_event(store, &thread, now).await;
    let listed = |due: Vec<LeadRecord>| due.iter().any(|r| r.thread_id == thread);
    let due = store.due(now, 100).await;
    assert!(
        listed(due.unwrap_or_else(|e| panic!("{case}: due: {e}"))),
        "{case}: due for its sinks"
    );
    for id in &ids {
        let claimed = lease::claim_delivery(store, &thread, id, now + 1, now + 61).await;
        assert!(ok(case, "claim", claimed), "{case}: first claim");
        let again = lease::claim_delivery(store, &thread, id, now + 2, now + 62).await;
        assert!(
            !ok(case, "claim again", again),
            "{case}: a live claim excludes"
        );
        let settled = lease::settle_delivery(
            store,
            &thread,
            id,
            Attempt::answered(Some(204)),
            now + 3,
            0.5,
        );
        assert!(ok(case, "settle", settled.await), "{case}: settle");
    }
    let rec = read(store, &thread, case).await;
    assert!(
        rec.outbox
            .deliveries
            .iter()
            .all(|d| matches!(d.state, DeliveryState::Delivered { at } if at == now + 3)),
        "{case}: delivered"
    );
    assert_eq!(rec.due_at, None, "{case}: nothing left to do");
    let due = store.due(now + 1_000, 100).await;
    assert!(
        !listed(due.unwrap_or_else(|e| panic!("{case}: due: {e}"))),
        "{case}: no longer due"
    );
}

/// `contenders` simultaneous claims of one delivery, `rounds` times: exactly
/// one wins each round.
pub async fn concurrent_delivery_claims<S: LeadStore + 'static>(
    store: Arc<S>,
    contenders: usize,
    rounds: usize,
) {
    for round in 0..rounds {
        let thread = fresh_thread("claims");
        let ids = sent_with_event(store.as_ref(), &thread, DELIVERY_ERA + 100).await;
        let claims = simultaneously("claims", contenders, |_| {
            let (store, thread, id) = (Arc::clone(&store), thread.clone(), ids[0].clone());
            let now = DELIVERY_ERA + 101;
            async move { lease::claim_delivery(store.as_ref(), &thread, &id, now, now + 60).await }
        })
        .await;
        let mut won = 0;
        for claimed in claims {
            if claimed.unwrap_or_else(|e| panic!("claims round {round}: {e}")) {
                won += 1;
            }
        }
        assert_eq!(
            won, 1,
            "claims round {round}: exactly one of {contenders} claims wins"
        );
    }
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
        let acquires = simultaneously("concurrent", contenders, |i| {
            let store = Arc::clone(&stores[i % stores.len()]);
            let req = acquire_request(&thread, T0);
            async move {
                // The won record, or the holder's record for a loser.
                let result = match lease::acquire(store.as_ref(), &req, None).await {
                    Ok(Acquired::Won(lease)) => Ok((true, lease.record().clone())),
                    Ok(Acquired::Lost(holder)) => Ok((false, holder)),
                    Err(e) => Err(e),
                };
                (req.lease_id, result)
            }
        })
        .await;
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        for (lease_id, result) in acquires {
            match result.unwrap_or_else(|e| panic!("concurrent round {round}: acquire failed: {e}"))
            {
                (true, record) => winners.push((lease_id, record)),
                (false, holder) => losers.push(holder),
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
        for holder in &losers {
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
