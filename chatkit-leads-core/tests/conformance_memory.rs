//! The in-memory store passes the conformance suite every store adapter
//! runs, and the suite catches a store whose compare-and-set is not atomic.

use std::sync::Arc;

use chatkit_leads_core::testkit::{MemoryStore, conformance};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_the_store_conformance_suite() {
    conformance::run_all(Arc::new(MemoryStore::new())).await;
}

mod racy {
    use async_trait::async_trait;
    use chatkit_leads_core::ports::SeenUser;
    use chatkit_leads_core::record::{Expected, Versioned};
    use chatkit_leads_core::testkit::MemoryStore;
    use chatkit_leads_core::{LeadRecord, LeadStore, StoreError, ThreadId, UserId};

    /// A store whose `put` checks the version, then writes: the
    /// read-then-write SPEC §7 forbids.
    pub struct ReadThenWriteStore(pub MemoryStore);

    #[async_trait]
    impl LeadStore for ReadThenWriteStore {
        async fn load(&self, thread_id: &ThreadId) -> Result<Option<Versioned>, StoreError> {
            self.0.load(thread_id).await
        }

        async fn put(&self, record: &LeadRecord, expected: Expected) -> Result<bool, StoreError> {
            let current = self.0.load(&record.thread_id).await?;
            if Expected::of(current.as_ref()) != expected {
                return Ok(false);
            }
            tokio::task::yield_now().await;
            self.0.insert(record.clone());
            Ok(true)
        }

        async fn due(&self, now: i64, limit: usize) -> Result<Vec<LeadRecord>, StoreError> {
            self.0.due(now, limit).await
        }

        async fn touch_user(&self, user: &UserId, now: i64, until: i64) -> Result<(), StoreError> {
            self.0.touch_user(user, now, until).await
        }

        async fn users_to_list(
            &self,
            since: i64,
            quiet_before: i64,
            limit: usize,
        ) -> Result<Vec<SeenUser>, StoreError> {
            self.0.users_to_list(since, quiet_before, limit).await
        }

        async fn mark_listed(&self, user: &UserId, seen_at: i64) -> Result<(), StoreError> {
            self.0.mark_listed(user, seen_at).await
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[should_panic(expected = "exactly one of 64 acquires must win")]
async fn conformance_suite_catches_a_read_then_write_acquire() {
    let store = Arc::new(racy::ReadThenWriteStore(MemoryStore::new()));
    conformance::concurrent_acquires(store, 64, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[should_panic(expected = "exactly one of 64 writes must land")]
async fn conformance_suite_catches_a_read_then_write_put() {
    let store = Arc::new(racy::ReadThenWriteStore(MemoryStore::new()));
    conformance::concurrent_puts(store, 64, 20).await;
}
