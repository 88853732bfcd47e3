//! The workflow's delivery step: sends a thread's due events to the sinks,
//! one claimed delivery at a time.
//!
//! ```text
//! load ─▶ next due delivery ──none──▶ done
//!   │ claim (one conditional write; a lost claim moves on)
//! sink.deliver(id, event) ─▶ settle: delivered | due later | failed | disabled
//! ```
//!
//! A holder that dies leaves a claim that runs out; the next caller sends
//! the same event id again, and receivers dedupe by it. The email never
//! waits for this step: it runs after the lead is marked sent (the server
//! spawns it, the sweep repeats it for retries).

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use crate::config::secs;
use crate::delivery::{self, Attempt, Delivery, DeliveryState};
use crate::ids::ThreadId;
use crate::lease;
use crate::ports::{
    ChatKitClient, Clock, LeadStore, Mailer, Sink, SinkEvent, StoreError, Summarizer,
};
use crate::telemetry;
use crate::workflow::LeadWorkflow;

/// How long a claim on a delivery lasts: longer than any sink waits for
/// an answer.
pub const DELIVERY_CLAIM: Duration = Duration::from_secs(60);

/// Most attempts one call makes: each settles one delivery, and a bound
/// keeps a misbehaving store from looping for ever.
const MAX_ATTEMPTS: usize = 64;

/// What [`LeadWorkflow::deliver_due`] did, one entry per attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// (sink, event id, where the delivery stands after the attempt).
    pub attempts: Vec<(String, String, DeliveryState)>,
}

impl<C, S, M, Z, K> LeadWorkflow<C, S, M, Z, K>
where
    C: ChatKitClient,
    S: LeadStore,
    M: Mailer,
    Z: Summarizer,
    K: Clock,
{
    /// Delivers every event of `thread` due now. A delivery to a sink this
    /// workflow lacks ([`LeadWorkflow::with_sinks`]; removed from the
    /// settings, or not yet configured on this instance) counts as an
    /// attempt without an answer: it is retried on the schedule and ends
    /// `failed`, visible to `inspect`, rather than staying due for ever.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails; what was settled stays settled.
    pub async fn deliver_due(&self, thread: &ThreadId) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        for _ in 0..MAX_ATTEMPTS {
            let Some(stored) = self.ports().store.load(thread).await? else {
                break;
            };
            let now = self.now();
            let Some(due) = delivery::next_due(&stored.record, now).cloned() else {
                break;
            };
            let until = now + secs(DELIVERY_CLAIM);
            if !lease::claim_delivery(&self.ports().store, thread, &due.id, now, until).await? {
                continue; // another instance took it: look again
            }
            let attempt = self.attempt(&stored.record, &due).await;
            let now = self.now();
            let jitter = delivery::jitter(&due.id, due.attempts.saturating_add(1));
            let store = &self.ports().store;
            lease::settle_delivery(store, thread, &due.id, attempt, now, jitter).await?;
            let state = store
                .load(thread)
                .await?
                .and_then(|s| {
                    s.record
                        .outbox
                        .deliveries
                        .into_iter()
                        .find(|d| d.id == due.id)
                })
                .map_or(DeliveryState::Failed, |d| d.state);
            telemetry::delivery(&due.sink, &state);
            info!(sink = %due.sink, event_id = %due.id, state = ?state, "delivery attempted");
            report.attempts.push((due.sink, due.id, state));
        }
        Ok(report)
    }

    /// An operator's `resend --sink`: the thread's failed or disabled
    /// deliveries to `sink` are due again (same event ids, attempts from
    /// zero) and delivered now. `None` when there were none.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn redeliver(
        &self,
        thread: &ThreadId,
        sink: &str,
    ) -> Result<Option<DeliveryReport>, StoreError> {
        let now = self.now();
        if !lease::rearm_deliveries(&self.ports().store, thread, sink, now).await? {
            return Ok(None);
        }
        self.deliver_due(thread).await.map(Some)
    }

    /// One attempt on a claimed delivery.
    async fn attempt(&self, record: &crate::record::LeadRecord, due: &Delivery) -> Attempt {
        let event = usize::try_from(due.event)
            .ok()
            .and_then(|i| record.outbox.events.get(i));
        let (Some(sink), Some(event)) = (self.sink(&due.sink), event) else {
            warn!(sink = %due.sink, event_id = %due.id, "no such sink configured here; retried later");
            return Attempt::answered(None);
        };
        let outgoing = SinkEvent {
            id: &due.id,
            kind: event.kind,
            timestamp: event.created_at,
            document: &event.document,
        };
        match sink.deliver(&outgoing).await {
            Ok(status) => Attempt::answered(Some(status)),
            Err(err) => {
                warn!(sink = %due.sink, event_id = %due.id, error = %err, "delivery failed");
                err.attempt()
            }
        }
    }

    fn sink(&self, id: &str) -> Option<&Arc<dyn Sink>> {
        self.sinks().iter().find(|sink| sink.id() == id)
    }
}
