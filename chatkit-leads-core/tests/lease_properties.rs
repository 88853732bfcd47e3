//! Property tests of the lease state machine.
//!
//! 1. The pure rules, over arbitrary sequences of acquire / checkpoint /
//!    sent / error / release by several callers and the clock moving on.
//! 2. The compare-and-set driver (`lease::acquire`, `Lease`) on a store
//!    whose every `load` and `put` waits for a deterministic scheduler, so
//!    proptest explores real interleavings of several callers' reads and
//!    writes — the races a database sees, replayable from a seed.
//!
//! The invariants, in both: no acquire wins while another caller's lease
//! is live; a thread's first email is marked sent at most once. In the
//! rules, with update emails as well: a `sent` record changes only by a
//! look for news (at most one per interval) or an update lease, which is
//! held like any other; `sent_at` never changes once set.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chatkit_leads_core::lease::{self, AcquireRequest, Acquired, ErrorMark, SentMark, rules};
use chatkit_leads_core::ports::SeenUser;
use chatkit_leads_core::record::{Expected, Told, Versioned};
use chatkit_leads_core::testkit::MemoryStore;
use chatkit_leads_core::{
    LeadRecord, LeadStatus, LeadStore, LeaseId, StoreError, ThreadId, UserId,
};
use proptest::prelude::*;
use tokio::sync::oneshot;

const T0: i64 = 1_800_000_000;
const LEASE: i64 = 120;
const COOLDOWN: i64 = 60;

fn thread() -> ThreadId {
    ThreadId::parse("cthr_lease_props").expect("thread id")
}

fn acquire_request(lease_id: &LeaseId, now: i64) -> AcquireRequest {
    AcquireRequest {
        thread_id: thread(),
        lease_id: lease_id.clone(),
        now,
        lock_expires_at: now + LEASE,
        ttl: now + 86_400,
        reason: "idle".to_owned(),
    }
}

fn sent_mark(now: i64, by: usize) -> SentMark {
    SentMark {
        now,
        message_id: format!("msg-{by}-{now}"),
        ttl: now + 86_400,
        told: Told {
            message_id: Some(format!("lead-{by}-{now}@leads.example")),
            ..Told::default()
        },
        event: None,
    }
}

fn error_mark(now: i64, certain: bool) -> ErrorMark {
    ErrorMark {
        now,
        retry_at: now + COOLDOWN,
        error: "mail failed".to_owned(),
        clear_delivery: certain,
    }
}

/// What the callers have been told so far, checked as it happens.
#[derive(Default)]
struct Ledger {
    /// Per caller: the lease it won and until when it is live, while it
    /// has not given it back.
    live: Vec<Option<(LeaseId, i64)>>,
    /// The message id of the one successful `mark_sent`.
    sent: Option<String>,
}

impl Ledger {
    fn new(callers: usize) -> Self {
        Self {
            live: vec![None; callers],
            sent: None,
        }
    }

    fn won(&mut self, caller: usize, record: &LeadRecord, now: i64) {
        for (other, live) in self.live.iter().enumerate() {
            if let Some((_, until)) = live {
                assert!(
                    other == caller || *until <= now,
                    "caller {caller} won at {now} while caller {other}'s lease was live until {until}"
                );
            }
        }
        assert!(
            self.sent.is_none(),
            "caller {caller} won a lease on a sent thread"
        );
        let lease_id = record
            .lease_id
            .clone()
            .expect("a won record names its holder");
        self.live[caller] = Some((lease_id, record.lock_expires_at));
    }

    /// An update lease: the thread must be sent, and no other lease live.
    fn won_update(&mut self, caller: usize, record: &LeadRecord, now: i64) {
        assert!(
            self.sent.is_some(),
            "caller {caller} took an update lease before any send"
        );
        let first = self.sent.take();
        self.won(caller, record, now);
        self.sent = first;
    }

    fn ended(&mut self, caller: usize) {
        self.live[caller] = None;
    }

    fn marked_sent(&mut self, caller: usize, message_id: &str) {
        assert!(
            self.sent.is_none(),
            "caller {caller} marked sent a second time ({message_id})"
        );
        self.sent = Some(message_id.to_owned());
        self.ended(caller);
    }

    /// The stored record agrees with what callers were told.
    fn check_final(&self, record: Option<&LeadRecord>) {
        if self.sent.is_some() {
            let record = record.expect("a sent thread keeps its record");
            assert!(
                record.sent_at.is_some(),
                "a sent record stays known as sent, updates or not"
            );
        }
    }
}

// --------------------------------------------------------------- pure rules

#[derive(Debug, Clone)]
enum Step {
    Acquire(usize),
    Checkpoint(usize),
    Sent(usize),
    Error(usize, bool),
    Release(usize),
    /// A trigger that found nothing to send: due again after this long.
    Watch(i64),
    Wait(i64),
    /// A trigger on a sent thread claims the look for news.
    Look,
    /// A caller takes the lease of a sent thread for an update email.
    Update(usize),
}

fn step(callers: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..callers).prop_map(Step::Acquire),
        1 => (0..callers).prop_map(Step::Checkpoint),
        1 => (0..callers).prop_map(Step::Sent),
        1 => (0..callers, any::<bool>()).prop_map(|(c, certain)| Step::Error(c, certain)),
        1 => (0..callers).prop_map(Step::Release),
        1 => (0i64..900).prop_map(Step::Watch),
        2 => (0i64..200).prop_map(Step::Wait),
        1 => Just(Step::Look),
        2 => (0..callers).prop_map(Step::Update),
    ]
}

proptest! {
    #[test]
    fn the_rules_never_give_two_live_holders_or_lose_a_send(
        steps in prop::collection::vec(step(3), 1..80)
    ) {
        let mut ledger = Ledger::new(3);
        let mut record: Option<LeadRecord> = None;
        let mut now = T0;
        let mut leases: Vec<LeaseId> = (0..3).map(|_| LeaseId::random()).collect();
        for step in steps {
            let before = record.clone();
            let next = match step {
                Step::Wait(seconds) => {
                    now += seconds;
                    continue;
                }
                Step::Acquire(c) => {
                    leases[c] = LeaseId::random();
                    let next = rules::acquire(record.as_ref(), &acquire_request(&leases[c], now));
                    match (&next, before.as_ref().is_some_and(|b| b.sent_at.is_some())) {
                        // An update whose attempt failed or whose holder died.
                        (Some(won), true) => ledger.won_update(c, won, now),
                        (Some(won), false) => ledger.won(c, won, now),
                        (None, _) => {}
                    }
                    next
                }
                Step::Checkpoint(c) => record.as_ref().and_then(|r| rules::checkpoint(r, &leases[c], now, None)),
                Step::Sent(c) => {
                    let mark = sent_mark(now, c);
                    let next = record.as_ref().and_then(|r| rules::mark_sent(r, &leases[c], &mark));
                    match (&next, before.as_ref().and_then(|b| b.sent_at)) {
                        (Some(_), None) => ledger.marked_sent(c, &mark.message_id),
                        (Some(next), Some(first)) => {
                            prop_assert_eq!(next.sent_at, Some(first), "an update keeps the first sent_at");
                            ledger.ended(c);
                        }
                        (None, _) => {}
                    }
                    next
                }
                Step::Look => {
                    let next = record.as_ref().and_then(|r| rules::claim_look(r, &lease::Look { now, interval: 60 }));
                    if let (Some(next), Some(before)) = (&next, &before) {
                        prop_assert_eq!(before.status, LeadStatus::Sent, "only a sent thread is looked at");
                        prop_assert_eq!(next.told.checked_at, Some(now));
                        prop_assert!(before.told.checked_at.is_none_or(|at| now - at >= 60), "one look per interval");
                    }
                    next
                }
                Step::Update(c) => {
                    leases[c] = LeaseId::random();
                    let next = record.as_ref().and_then(|r| rules::acquire_sent(r, &acquire_request(&leases[c], now)));
                    if let Some(won) = &next {
                        ledger.won_update(c, won, now);
                    }
                    next
                }
                Step::Error(c, certain) => {
                    let next = record.as_ref().and_then(|r| rules::mark_error(r, &leases[c], &error_mark(now, certain)));
                    if next.is_some() {
                        ledger.ended(c);
                    }
                    next
                }
                Step::Watch(after) => {
                    let watch = lease::Watch {
                        thread_id: thread(),
                        now,
                        due_at: now + after,
                        created_at: now,
                        ttl: now + 86_400,
                        reason: "missing_contact".to_owned(),
                    };
                    let next = rules::watch(record.as_ref(), &watch);
                    if let (Some(next), Some(before)) = (&next, &before) {
                        prop_assert_eq!(next.status, before.status, "watching never changes the status");
                        prop_assert_eq!(&next.lease_id, &before.lease_id, "nor the lease");
                        prop_assert_eq!(next.lock_expires_at, before.lock_expires_at, "nor the lock");
                    }
                    if let (None, Some(next)) = (&before, &next) {
                        prop_assert_eq!(next.status, LeadStatus::Pending);
                    }
                    next
                }
                Step::Release(c) => {
                    let next = record.as_ref().and_then(|r| rules::release(r, &leases[c], now, "not_ready", now + 600));
                    if next.is_some() {
                        ledger.ended(c);
                    }
                    next
                }
            };
            if let Some(next) = next {
                if let Some(before) = &before {
                    if before.status == LeadStatus::Sent {
                        prop_assert!(
                            matches!(step, Step::Look | Step::Update(_)),
                            "a sent record changed by {:?}", step
                        );
                    }
                    if before.sent_at.is_some() {
                        prop_assert_eq!(next.sent_at, before.sent_at, "sent_at never changes once set");
                    }
                    prop_assert_eq!(next.created_at, before.created_at);
                    prop_assert!(next.attempts >= before.attempts);
                }
                record = Some(next);
            }
            ledger.check_final(record.as_ref());
        }
    }
}

// ------------------------------------------- the driver under interleavings

/// Hands out turns: every store call of every caller waits here until the
/// scheduler picks it.
#[derive(Default)]
struct Gate {
    waiting: Mutex<Vec<oneshot::Sender<()>>>,
}

impl Gate {
    async fn turn(&self) {
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().expect("gate").push(tx);
        // A dropped sender (the run is over) simply lets the call proceed.
        let _ = rx.await;
    }

    fn waiting(&self) -> usize {
        self.waiting.lock().expect("gate").len()
    }

    fn release(&self, pick: usize) {
        let mut waiting = self.waiting.lock().expect("gate");
        let index = pick % waiting.len();
        let _ = waiting.remove(index).send(());
    }
}

/// The reference store behind the gate.
struct SteppedStore {
    inner: MemoryStore,
    gate: Gate,
}

#[async_trait]
impl LeadStore for SteppedStore {
    async fn load(&self, thread_id: &ThreadId) -> Result<Option<Versioned>, StoreError> {
        self.gate.turn().await;
        self.inner.load(thread_id).await
    }

    async fn put(&self, record: &LeadRecord, expected: Expected) -> Result<bool, StoreError> {
        self.gate.turn().await;
        self.inner.put(record, expected).await
    }

    // Not used by the lease: no gate.
    async fn due(&self, now: i64, limit: usize) -> Result<Vec<LeadRecord>, StoreError> {
        self.inner.due(now, limit).await
    }

    async fn touch_user(&self, user: &UserId, now: i64, until: i64) -> Result<(), StoreError> {
        self.inner.touch_user(user, now, until).await
    }

    async fn users_to_list(
        &self,
        since: i64,
        quiet_before: i64,
        limit: usize,
    ) -> Result<Vec<SeenUser>, StoreError> {
        self.inner.users_to_list(since, quiet_before, limit).await
    }

    async fn mark_listed(&self, user: &UserId, seen_at: i64) -> Result<(), StoreError> {
        self.inner.mark_listed(user, seen_at).await
    }
}

/// What a caller does with a lease it wins.
#[derive(Debug, Clone, Copy)]
enum Plan {
    Send,
    SendFailsCertainly,
    SendFailsUncertainly,
    Release,
    /// Checkpoint, then stop without a mark (a crash after the checkpoint).
    Crash,
}

fn plan() -> impl Strategy<Value = Plan> {
    prop_oneof![
        Just(Plan::Send),
        Just(Plan::SendFailsCertainly),
        Just(Plan::SendFailsUncertainly),
        Just(Plan::Release),
        Just(Plan::Crash),
    ]
}

/// One caller: tries its plans in turn, each with a fresh acquire at the
/// clock's current time.
async fn caller(
    id: usize,
    plans: Vec<Plan>,
    store: Arc<SteppedStore>,
    clock: Arc<AtomicI64>,
    ledger: Arc<Mutex<Ledger>>,
) {
    for plan in plans {
        let now = clock.load(Ordering::SeqCst);
        let request = acquire_request(&LeaseId::random(), now);
        let mut lease = match lease::acquire(store.as_ref(), &request, None).await {
            Ok(Acquired::Won(lease)) => lease,
            Ok(Acquired::Lost(holder)) => {
                assert!(
                    rules::blocker(&holder, now).is_some(),
                    "lost to a leasable record"
                );
                continue;
            }
            Err(e) => panic!("caller {id}: acquire failed: {e}"),
        };
        ledger.lock().expect("ledger").won(id, lease.record(), now);
        let now = clock.load(Ordering::SeqCst);
        if !lease.checkpoint(now, None).await.expect("checkpoint") {
            continue;
        }
        let now = clock.load(Ordering::SeqCst);
        let done = match plan {
            Plan::Send => {
                let mark = sent_mark(now, id);
                let done = lease.mark_sent(&mark).await.expect("mark_sent");
                if done {
                    ledger
                        .lock()
                        .expect("ledger")
                        .marked_sent(id, &mark.message_id);
                }
                done
            }
            Plan::SendFailsCertainly | Plan::SendFailsUncertainly => {
                let certain = matches!(plan, Plan::SendFailsCertainly);
                lease
                    .mark_error(&error_mark(now, certain))
                    .await
                    .expect("mark_error")
            }
            Plan::Release => lease
                .release(now, "not_ready", now + 600)
                .await
                .expect("release"),
            Plan::Crash => false,
        };
        if done {
            ledger.lock().expect("ledger").ended(id);
        }
    }
}

/// Runs the callers, granting store calls in the order `schedule` picks and
/// moving the clock on where it says so.
fn run_interleaved(plans: Vec<Vec<Plan>>, schedule: Vec<(u8, u8)>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let store = Arc::new(SteppedStore {
            inner: MemoryStore::new(),
            gate: Gate::default(),
        });
        let clock = Arc::new(AtomicI64::new(T0));
        let ledger = Arc::new(Mutex::new(Ledger::new(plans.len())));
        let tasks: Vec<_> = plans
            .into_iter()
            .enumerate()
            .map(|(id, plans)| {
                tokio::spawn(caller(
                    id,
                    plans,
                    Arc::clone(&store),
                    Arc::clone(&clock),
                    Arc::clone(&ledger),
                ))
            })
            .collect();
        let mut picks = schedule.into_iter();
        loop {
            // Let every caller run until it waits at the gate or is done.
            for _ in 0..64 {
                tokio::task::yield_now().await;
            }
            let running = tasks.iter().filter(|t| !t.is_finished()).count();
            if running == 0 {
                break;
            }
            assert_eq!(
                store.gate.waiting(),
                running,
                "every running caller waits at the gate"
            );
            let (pick, wait) = picks.next().unwrap_or((0, 0));
            if wait % 4 == 0 {
                clock.fetch_add(i64::from(wait), Ordering::SeqCst);
            }
            store.gate.release(usize::from(pick));
        }
        for task in tasks {
            task.await.expect("caller panicked");
        }
        let final_record = store.inner.record(&thread());
        ledger
            .lock()
            .expect("ledger")
            .check_final(final_record.as_ref());
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn interleaved_callers_never_share_a_lease_or_lose_a_send(
        plans in prop::collection::vec(prop::collection::vec(plan(), 1..4), 2..5),
        schedule in prop::collection::vec((any::<u8>(), any::<u8>()), 0..120),
    ) {
        run_interleaved(plans, schedule);
    }
}

#[test]
fn two_simultaneous_first_acquires_have_one_winner() {
    // Both read "no record", then both write: the second insert is refused
    // and its caller reads the winner's record.
    run_interleaved(
        vec![vec![Plan::Send], vec![Plan::Send]],
        vec![(0, 1), (0, 1), (0, 1), (0, 1)],
    );
}
