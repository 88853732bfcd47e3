//! The in-memory store passes the conformance suite every store adapter runs.

use std::sync::Arc;

use chatkit_leads_core::testkit::{MemoryStore, conformance};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_the_store_conformance_suite() {
    conformance::run_all(Arc::new(MemoryStore::new())).await;
}

mod racy {
    use async_trait::async_trait;
    use chatkit_leads_core::record::{
        AcquireRequest, Acquired, ErrorMark, LeaseToken, SentMark, rules,
    };
    use chatkit_leads_core::testkit::MemoryStore;
    use chatkit_leads_core::{LeadRecord, LeadStore, StoreError, ThreadId};

    /// A store that acquires by read-then-write, the bug SPEC §7 forbids.
    pub struct ReadThenWriteStore(pub MemoryStore);

    #[async_trait]
    impl LeadStore for ReadThenWriteStore {
        async fn get(&self, thread_id: &ThreadId) -> Result<Option<LeadRecord>, StoreError> {
            self.0.get(thread_id).await
        }
        async fn try_acquire(&self, request: &AcquireRequest) -> Result<Acquired, StoreError> {
            let existing = self.0.record(&request.thread_id);
            tokio::task::yield_now().await;
            Ok(match rules::acquire(existing.as_ref(), request) {
                Some(next) => {
                    self.0.insert(next.clone());
                    Acquired::Won(next)
                }
                None => Acquired::Lost(existing),
            })
        }
        async fn checkpoint_delivery(
            &self,
            lease: &LeaseToken,
            now: i64,
        ) -> Result<bool, StoreError> {
            self.0.checkpoint_delivery(lease, now).await
        }
        async fn mark_sent(&self, lease: &LeaseToken, mark: &SentMark) -> Result<bool, StoreError> {
            self.0.mark_sent(lease, mark).await
        }
        async fn mark_error(
            &self,
            lease: &LeaseToken,
            mark: &ErrorMark,
        ) -> Result<bool, StoreError> {
            self.0.mark_error(lease, mark).await
        }
        async fn release(
            &self,
            lease: &LeaseToken,
            now: i64,
            reason: &str,
        ) -> Result<bool, StoreError> {
            self.0.release(lease, now, reason).await
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[should_panic(expected = "exactly one of 64 acquires must win")]
async fn conformance_suite_catches_a_read_then_write_acquire() {
    let store = Arc::new(racy::ReadThenWriteStore(MemoryStore::new()));
    conformance::concurrent_acquires(store, 64, 20).await;
}
