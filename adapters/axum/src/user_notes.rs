//! Remembering a visitor for the sweeper, even while the store is down.
//!
//! The sweeper finds chats whose page never sent a trigger by listing the
//! threads of users who had a session ([`LeadWorkflow::note_session`]). A
//! user the store did not take is invisible to it: if that chat's triggers
//! also fail, the lead is lost. So a note the store refused is retried in
//! the background on a bounded schedule — and a `/lead` trigger that failed
//! on the store notes its user the same way, since its chat now depends on
//! the sweeper. A short store outage (a failover, a restart) then loses
//! nothing; the chaos run in the server's tests stops PostgreSQL to prove it.

use std::sync::Arc;
use std::time::Duration;

use chatkit_leads_core::ids::UserId;
use chatkit_leads_core::{ChatKitClient, Clock, LeadStore, LeadWorkflow, Mailer, Summarizer};
use tokio::sync::Semaphore;
use tracing::warn;

/// Waits between attempts: about four minutes in all, enough for a store
/// failover or restart.
const RETRY_DELAYS: [Duration; 8] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(15),
    Duration::from_secs(30),
    Duration::from_secs(60),
    Duration::from_secs(120),
];

/// Waits between the attempts made while the `/session` answer waits: a
/// store blip (a restart, a failover's first seconds) is ridden out inside
/// the request, so the note is stored before the page gets its session and
/// a crash of this instance afterwards cannot lose it. About 4 s in all;
/// only a request that meets a failing store waits.
const IN_REQUEST_DELAYS: [Duration; 4] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// Notes retried at once at most; beyond it (a long outage under load) a
/// note is dropped with a warning rather than held in memory.
const MAX_RETRYING: usize = 1024;

/// The background retries of one router.
pub(crate) struct UserNotes<C, S, M, Z, K> {
    workflow: Arc<LeadWorkflow<C, S, M, Z, K>>,
    retrying: Arc<Semaphore>,
}

impl<C, S, M, Z, K> UserNotes<C, S, M, Z, K>
where
    C: ChatKitClient + 'static,
    S: LeadStore + 'static,
    M: Mailer + 'static,
    Z: Summarizer + 'static,
    K: Clock + 'static,
{
    pub(crate) fn new(workflow: Arc<LeadWorkflow<C, S, M, Z, K>>) -> Self {
        Self {
            workflow,
            retrying: Arc::new(Semaphore::new(MAX_RETRYING)),
        }
    }

    /// Notes `user` now, trying a few more times over about 4 s when the
    /// store refuses; after that the session is answered anyway and the
    /// note is retried in the background (lost only if this instance dies
    /// before the store is back).
    pub(crate) async fn note(&self, user: &UserId) {
        let mut result = self.workflow.note_session(user).await;
        for delay in IN_REQUEST_DELAYS {
            if result.is_ok() {
                return;
            }
            tokio::time::sleep(delay).await;
            result = self.workflow.note_session(user).await;
        }
        if let Err(err) = result {
            warn!(error = %err, "could not remember a visitor for the sweeper; retrying");
            self.retry(user);
        }
    }

    /// Keeps trying to note `user` in the background.
    pub(crate) fn retry(&self, user: &UserId) {
        let Ok(permit) = Arc::clone(&self.retrying).try_acquire_owned() else {
            warn!(
                "too many visitors waiting to be remembered; this one is recovered only by its triggers"
            );
            return;
        };
        let workflow = Arc::clone(&self.workflow);
        let user = user.clone();
        tokio::spawn(async move {
            let _permit = permit;
            for delay in RETRY_DELAYS {
                tokio::time::sleep(delay).await;
                if workflow.note_session(&user).await.is_ok() {
                    return;
                }
            }
            warn!(
                "gave up remembering a visitor for the sweeper; their chats are recovered only by their triggers"
            );
        });
    }
}
