use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::ids::{LeaseId, ThreadId, UserId};
use crate::ports::{LeadStore, SeenUser, StoreError};
use crate::record::{Expected, LeadRecord, Version, Versioned};

/// A store primitive, for failure injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreOp {
    /// `load` (and so `get`).
    Load,
    /// `put`.
    Put,
}

/// Which writes a hook applies to: those whose new record matches.
type WriteFilter = Arc<dyn Fn(&LeadRecord) -> bool + Send + Sync>;

/// A remembered user: last session, and the session it was listed for.
#[derive(Default, Clone, Copy)]
struct UserEntry {
    last_seen_at: i64,
    listed_at: Option<i64>,
}

#[derive(Default)]
struct State {
    records: HashMap<ThreadId, Versioned>,
    users: HashMap<UserId, UserEntry>,
    fail_on: Option<StoreOp>,
    steal_before: Option<WriteFilter>,
}

/// An in-memory [`LeadStore`]: a map under a mutex, so every `put` is
/// trivially atomic. The reference store of the conformance suite.
///
/// It can fail a primitive, or hand the lease to someone else just before a
/// chosen write, to exercise the workflow's error paths.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every call of `op` fail with [`StoreError::Unavailable`]
    /// (`None` to stop).
    pub fn fail_on(&self, op: Option<StoreOp>) {
        self.lock().fail_on = op;
    }

    /// Just before the next write whose new record matches `filter`, hands
    /// the lease to another holder, as if this caller's lease had expired and
    /// a second trigger took it. For example `|next| next.status ==
    /// LeadStatus::Sent` steals the lease from under `mark_sent`.
    pub fn steal_lease_before_write(
        &self,
        filter: impl Fn(&LeadRecord) -> bool + Send + Sync + 'static,
    ) {
        self.lock().steal_before = Some(Arc::new(filter));
    }

    /// Puts a record in place (test setup), as a new version.
    pub fn insert(&self, record: LeadRecord) {
        let mut state = self.lock();
        let version = state
            .records
            .get(&record.thread_id)
            .map_or(Version::new(1), |stored| stored.version.next());
        state
            .records
            .insert(record.thread_id.clone(), Versioned { record, version });
    }

    /// A copy of a thread's record.
    pub fn record(&self, thread_id: &ThreadId) -> Option<LeadRecord> {
        self.lock()
            .records
            .get(thread_id)
            .map(|stored| stored.record.clone())
    }

    /// Every record, in no particular order.
    pub fn records(&self) -> Vec<LeadRecord> {
        self.lock()
            .records
            .values()
            .map(|stored| stored.record.clone())
            .collect()
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic in another test thread must not hide this test's result.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl State {
    fn check(&self, op: StoreOp) -> Result<(), StoreError> {
        if self.fail_on == Some(op) {
            return Err(StoreError::Unavailable(format!(
                "injected failure on {op:?}"
            )));
        }
        Ok(())
    }

    /// Runs the steal hook if `next` is the write it waits for.
    fn maybe_steal(&mut self, next: &LeadRecord) {
        if self
            .steal_before
            .as_ref()
            .is_some_and(|filter| filter(next))
        {
            self.steal_before = None;
            if let Some(stored) = self.records.get_mut(&next.thread_id) {
                stored.record.lease_id = Some(LeaseId::random());
                stored.version = stored.version.next();
            }
        }
    }
}

#[async_trait]
impl LeadStore for MemoryStore {
    async fn load(&self, thread_id: &ThreadId) -> Result<Option<Versioned>, StoreError> {
        let state = self.lock();
        state.check(StoreOp::Load)?;
        Ok(state.records.get(thread_id).cloned())
    }

    async fn put(&self, record: &LeadRecord, expected: Expected) -> Result<bool, StoreError> {
        let mut state = self.lock();
        state.check(StoreOp::Put)?;
        state.maybe_steal(record);
        let current = state.records.get(&record.thread_id).map(|s| s.version);
        let matches = match expected {
            Expected::Absent => current.is_none(),
            Expected::Version(version) => current == Some(version),
        };
        if matches {
            let stored = Versioned {
                record: record.clone(),
                version: expected.next_version(),
            };
            state.records.insert(record.thread_id.clone(), stored);
        }
        Ok(matches)
    }

    async fn due(&self, now: i64, limit: usize) -> Result<Vec<LeadRecord>, StoreError> {
        let state = self.lock();
        state.check(StoreOp::Load)?;
        let mut due: Vec<LeadRecord> = state
            .records
            .values()
            .filter(|stored| stored.record.due_at.is_some_and(|at| at <= now))
            .map(|stored| stored.record.clone())
            .collect();
        due.sort_by_key(|record| record.due_at);
        due.truncate(limit);
        Ok(due)
    }

    async fn touch_user(
        &self,
        user: &UserId,
        now: i64,
        _expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.check(StoreOp::Put)?;
        let entry = state.users.entry(user.clone()).or_default();
        entry.last_seen_at = entry.last_seen_at.max(now);
        Ok(())
    }

    async fn users_to_list(
        &self,
        since: i64,
        quiet_before: i64,
        limit: usize,
    ) -> Result<Vec<SeenUser>, StoreError> {
        let state = self.lock();
        state.check(StoreOp::Load)?;
        let mut users: Vec<SeenUser> = state
            .users
            .iter()
            .filter(|(_, e)| (since..=quiet_before).contains(&e.last_seen_at))
            .filter(|(_, e)| e.listed_at.is_none_or(|listed| listed < e.last_seen_at))
            .map(|(user, e)| SeenUser {
                user: user.clone(),
                last_seen_at: e.last_seen_at,
            })
            .collect();
        users.sort_by_key(|seen| seen.last_seen_at);
        users.truncate(limit);
        Ok(users)
    }

    async fn mark_listed(&self, user: &UserId, seen_at: i64) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.check(StoreOp::Put)?;
        if let Some(entry) = state.users.get_mut(user) {
            entry.listed_at = Some(seen_at);
        }
        Ok(())
    }
}
