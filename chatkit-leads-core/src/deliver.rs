//! The workflow's delivery step (issue 16, work in progress): sends a
//! thread's due events to the sinks, one claimed delivery at a time.
//!
//! ```text
//! load ─▶ next due delivery this process serves ──none──▶ done
//!   │ claim (one conditional write; a lost claim moves on)
//! sink.deliver(id, event) ─▶ settle: delivered | due later | failed | disabled
//! ```
//!
//! A holder that dies leaves a claim that runs out; the next caller sends
//! the same event id again, and receivers dedupe by it.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use crate::delivery::{self, Attempt, DeliveryState};
use crate::ids::ThreadId;
use crate::lease;
use crate::ports::{
    ChatKitClient, Clock, LeadStore, Mailer, Sink, SinkEvent, StoreError, Summarizer,
};
use crate::config::secs;
use crate::workflow::LeadWorkflow;

/// How long a claim on a delivery lasts: longer than any sink waits for
/// an answer.
pub const DELIVERY_CLAIM: Duration = Duration::from_secs(60);

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
    /// Delivers every event of `thread` due now to the sinks this
    /// workflow has ([`LeadWorkflow::with_sinks`]). Deliveries to other
    /// sinks (removed from the settings) are left as they are.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails; what was settled stays settled.
    pub async fn deliver_due(&self, thread: &ThreadId) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        // Each round settles one delivery or finds none; a bound keeps a
        // misbehaving store from looping for ever.
        for _ in 0..64 {
            let Some(stored) = self.ports().store.load(thread).await? else {
                break;
            };
            let now = self.now();
            let record = &stored.record;
            let Some(due) = delivery::next_due(record, now, |sink| self.sink(sink).is_some())
            else {
                break;
            };
            let (id, sink_id) = (due.id.clone(), due.sink.clone());
            let Some(event) = usize::try_from(due.event)
                .ok()
                .and_then(|i| record.outbox.events.get(i))
            else {
                break;
            };
            let until = now + secs(DELIVERY_CLAIM);
            if !lease::claim_delivery(&self.ports().store, thread, &id, now, until).await? {
                continue; // another instance took it: look again
            }
            let Some(sink) = self.sink(&sink_id) else {
                break;
            };
            let outgoing = SinkEvent {
                id: &id,
                kind: event.kind,
                timestamp: event.created_at,
                document: &event.document,
            };
            let attempt = match sink.deliver(&outgoing).await {
                Ok(status) => Attempt::answered(Some(status)),
                Err(err) => {
                    warn!(sink = %sink_id, event_id = %id, error = %err, "delivery failed");
                    err.attempt()
                }
            };
            let attempts = due.attempts.saturating_add(1);
            let now = self.now();
            let jitter = delivery::jitter(&id, attempts);
            lease::settle_delivery(&self.ports().store, thread, &id, attempt, now, jitter).await?;
            let state = self
                .ports()
                .store
                .load(thread)
                .await?
                .and_then(|s| {
                    s.record
                        .outbox
                        .deliveries
                        .into_iter()
                        .find(|d| d.id == id)
                        .map(|d| d.state)
                })
                .unwrap_or(DeliveryState::Failed);
            info!(sink = %sink_id, event_id = %id, state = ?state, "delivery attempted");
            report.attempts.push((sink_id, id, state));
        }
        Ok(report)
    }

    fn sink(&self, id: &str) -> Option<&Arc<dyn Sink>> {
        self.sinks().iter().find(|sink| sink.id() == id)
    }
}
