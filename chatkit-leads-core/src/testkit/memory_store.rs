use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::ids::{LeaseId, ThreadId};
use crate::ports::{LeadStore, StoreError};
use crate::record::{AcquireRequest, Acquired, ErrorMark, LeadRecord, LeaseToken, SentMark, rules};

/// A store operation, for failure injection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreOp {
    /// `get`.
    Get,
    /// `try_acquire`.
    Acquire,
    /// `checkpoint_delivery`.
    Checkpoint,
    /// `mark_sent`.
    MarkSent,
    /// `mark_error`.
    MarkError,
    /// `release`.
    Release,
}

#[derive(Default)]
struct State {
    records: HashMap<ThreadId, LeadRecord>,
    fail_on: Option<StoreOp>,
    steal_lease_on: Option<StoreOp>,
}

/// An in-memory [`LeadStore`] applying [`crate::record::rules`] under a mutex.
///
/// It can fail an operation or have its lease stolen just before one, to
/// exercise the workflow's error paths.
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

    /// Just before the next call of `op`, hands the lease to another holder,
    /// as if this caller's lease had expired and a second trigger took it.
    pub fn steal_lease_before(&self, op: StoreOp) {
        self.lock().steal_lease_on = Some(op);
    }

    /// Puts a record in place (test setup).
    pub fn insert(&self, record: LeadRecord) {
        self.lock().records.insert(record.thread_id.clone(), record);
    }

    /// A copy of a thread's record.
    pub fn record(&self, thread_id: &ThreadId) -> Option<LeadRecord> {
        self.lock().records.get(thread_id).cloned()
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

    /// Applies `change` to the held record under the lock.
    fn update(
        &self,
        op: StoreOp,
        lease: &LeaseToken,
        change: impl FnOnce(&LeadRecord) -> Option<LeadRecord>,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        state.check(op)?;
        let Some(current) = state.records.get(&lease.thread_id) else {
            return Ok(false);
        };
        match change(current) {
            Some(next) => {
                state.records.insert(lease.thread_id.clone(), next);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

impl State {
    fn check(&mut self, op: StoreOp) -> Result<(), StoreError> {
        if self.fail_on == Some(op) {
            return Err(StoreError::Unavailable(format!(
                "injected failure on {op:?}"
            )));
        }
        if self.steal_lease_on == Some(op) {
            self.steal_lease_on = None;
            for record in self.records.values_mut() {
                record.lease_id = Some(LeaseId::random());
            }
        }
        Ok(())
    }
}

#[async_trait]
impl LeadStore for MemoryStore {
    async fn get(&self, thread_id: &ThreadId) -> Result<Option<LeadRecord>, StoreError> {
        let mut state = self.lock();
        state.check(StoreOp::Get)?;
        Ok(state.records.get(thread_id).cloned())
    }

    async fn try_acquire(&self, request: &AcquireRequest) -> Result<Acquired, StoreError> {
        let mut state = self.lock();
        state.check(StoreOp::Acquire)?;
        let existing = state.records.get(&request.thread_id);
        Ok(match rules::acquire(existing, request) {
            Some(next) => {
                state
                    .records
                    .insert(request.thread_id.clone(), next.clone());
                Acquired::Won(next)
            }
            None => Acquired::Lost(existing.cloned()),
        })
    }

    async fn checkpoint_delivery(&self, lease: &LeaseToken, now: i64) -> Result<bool, StoreError> {
        self.update(StoreOp::Checkpoint, lease, |r| {
            rules::checkpoint(r, &lease.lease_id, now)
        })
    }

    async fn mark_sent(&self, lease: &LeaseToken, mark: &SentMark) -> Result<bool, StoreError> {
        self.update(StoreOp::MarkSent, lease, |r| {
            rules::mark_sent(r, &lease.lease_id, mark)
        })
    }

    async fn mark_error(&self, lease: &LeaseToken, mark: &ErrorMark) -> Result<bool, StoreError> {
        self.update(StoreOp::MarkError, lease, |r| {
            rules::mark_error(r, &lease.lease_id, mark)
        })
    }

    async fn release(
        &self,
        lease: &LeaseToken,
        now: i64,
        reason: &str,
    ) -> Result<bool, StoreError> {
        self.update(StoreOp::Release, lease, |r| {
            rules::release(r, &lease.lease_id, now, reason)
        })
    }
}
