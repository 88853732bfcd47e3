//! Update emails: the customer keeps writing after the lead went
//! out ("also the back seat", a new phone number), and the shop hears about
//! it in one email threaded under the lead.
//!
//! ```text
//! sent record ── look claimed less than the interval ago ──▶ already_sent   (the store alone)
//!     │ claim the look (one conditional write: one look per interval, all instances)
//! newest item (one small ChatKit call) ── seen before ──▶ already_sent
//!     │
//! whole thread ── no new customer message ──▶ already_sent (the newest item remembered)
//!     │        ── still active (quiet period) ──▶ not_idle (the sweeper comes back)
//! acquire_sent ──lost──▶ in_progress | already_sent
//!     │
//! updated summary (optional) ─▶ render ─▶ checkpoint ─▶ mailer ─▶ mark_sent (told advanced)
//! ```
//!
//! The record's [`Told`] says how far the shop has been told; the update
//! holds the same lease as a first send, so its delivery is exactly once
//! under the same guarantees, and a holder that dies leaves a record the
//! next trigger (or the sweeper) finishes as an update, flagged when its
//! delivery may have started.

use futures::future;
use tracing::warn;

use crate::chatkit::{Order, PageRequest, ThreadItem};
use crate::config::secs;
use crate::contact::Contact;
use crate::delivery::EventKind;
use crate::email::{self, Diagnostics, NewContact, OutgoingEmail, PossibleDuplicate};
use crate::lease::rules::{self, Blocker};
use crate::lease::{self, Acquired, Lease, Look};
use crate::outcome::{LeadError, LeadOutcome};
use crate::ports::{ChatKitClient, Clock, LeadStore, Mailer, Summarizer};
use crate::record::{CachedSummary, LeadRecord, LeadStatus, Told, Versioned};
use crate::request::LeadRequest;
use crate::telemetry;
use crate::transcript::Transcript;
use crate::workflow::{
    EmailFacts, FetchedThread, LeadWorkflow, blocked_outcome, model_contact, told_through,
};

impl<C, S, M, Z, K> LeadWorkflow<C, S, M, Z, K>
where
    C: ChatKitClient,
    S: LeadStore,
    M: Mailer,
    Z: Summarizer,
    K: Clock,
{
    /// The answer for a trigger on a thread whose lead went out (`stored`
    /// has `sent_at`): `already_sent` unless the customer wrote again, then
    /// one update email. Also finishes an update whose attempt failed or
    /// whose holder died.
    pub(crate) async fn after_sent(
        &self,
        request: &LeadRequest,
        stored: Versioned,
        now: i64,
        quiet: Option<std::time::Duration>,
    ) -> Result<LeadOutcome, LeadError> {
        let record = &stored.record;
        let already_sent = LeadOutcome::AlreadySent {
            sent_at: record.sent_at,
        };
        match rules::blocker(record, now) {
            Some(Blocker::Sent { .. }) if !self.look_for_news(request, &stored, now).await? => {
                return Ok(already_sent);
            }
            Some(Blocker::Sent { .. }) | None => {}
            Some(other) => return Ok(blocked_outcome(other)),
        }
        let is_sent = record.status == LeadStatus::Sent;
        let fetched = match self.fetch(request).await {
            Ok(fetched) => fetched,
            Err(LeadError::ChatKit(err)) if is_sent => {
                warn!(error = %err, "could not read the news of a sent thread; next look later");
                return Ok(already_sent);
            }
            Err(err) => return Err(err),
        };
        let start = first_new_item(&fetched.items, record);
        let news = Transcript::from_items(&fetched.items[start..]);
        let store = &self.ports().store;
        let id = &request.thread_id;
        if !news.has_customer_message() {
            if !is_sent {
                return self.settle(request, stored).await;
            }
            let newest = fetched.items.last().map(|item| item.id.as_str());
            lease::saw(store, id, now, newest, None).await?;
            return Ok(already_sent);
        }
        if let Some(retry_after) = self.still_active(&news, now, quiet) {
            if is_sent {
                let due_at = now + i64::try_from(retry_after).unwrap_or(i64::MAX / 4);
                lease::saw(store, id, now, None, Some(due_at)).await?;
            }
            return Ok(LeadOutcome::NotIdle { retry_after });
        }
        let acquire = self.acquire_request(id, request.reason.as_str());
        let won = if is_sent {
            // The look wrote the record since `stored` was read.
            let fresh = store.load(id).await?;
            lease::acquire_sent(store, &acquire, fresh).await?
        } else {
            lease::acquire(store, &acquire, Some(stored)).await?
        };
        match won {
            Acquired::Won(lease) => self.send_update(request, lease, &fetched, start).await,
            Acquired::Lost(holder) => {
                telemetry::lease_contention();
                Ok(rules::blocker(&holder, self.now())
                    .map_or(LeadOutcome::InProgress, blocked_outcome))
            }
        }
    }

    /// Claims this interval's look for news and asks ChatKit for the
    /// thread's newest item: whether it is one the shop has not been told
    /// about and no look has seen. A look claimed by someone else, or a
    /// ChatKit failure, is "no news" (the next look comes after the
    /// interval).
    async fn look_for_news(
        &self,
        request: &LeadRequest,
        stored: &Versioned,
        now: i64,
    ) -> Result<bool, LeadError> {
        let look = Look {
            now,
            interval: secs(self.config().updates.check_interval),
        };
        // Decided on the record just read: a burst costs no write.
        if !rules::look_due(&stored.record, &look) {
            return Ok(false);
        }
        let id = &request.thread_id;
        if !lease::claim_look(&self.ports().store, id, &look, Some(stored.clone())).await? {
            return Ok(false);
        }
        let newest = PageRequest {
            order: Order::Desc,
            limit: 1,
            after: None,
        };
        let page = self.ports().chatkit.list_items(id, &newest).await;
        telemetry::chatkit_request("list_items", &page);
        match page {
            Ok(page) => Ok(page
                .data
                .first()
                .is_some_and(|item| is_news(&stored.record, item))),
            Err(err) => {
                warn!(error = %err, "could not look for news; next look after the interval");
                Ok(false)
            }
        }
    }

    /// An interrupted update (or resend) with nothing left to tell: takes
    /// the lease and marks the thread sent again, unchanged.
    async fn settle(
        &self,
        request: &LeadRequest,
        stored: Versioned,
    ) -> Result<LeadOutcome, LeadError> {
        let sent_at = stored.record.sent_at;
        let told = stored.record.told.clone();
        let message_id = stored.record.message_id.clone().unwrap_or_default();
        match self.acquire(request, Some(stored)).await? {
            Acquired::Won(mut lease) => {
                self.mark_sent(&mut lease, &message_id, told, None).await?;
                Ok(LeadOutcome::AlreadySent { sent_at })
            }
            Acquired::Lost(holder) => Ok(rules::blocker(&holder, self.now())
                .map_or(LeadOutcome::InProgress, blocked_outcome)),
        }
    }

    /// Everything after a won update lease: the updated summary, the update
    /// email with the items from `start` on, the delivery and the mark.
    async fn send_update(
        &self,
        request: &LeadRequest,
        mut lease: Lease<'_, S>,
        fetched: &FetchedThread,
        start: usize,
    ) -> Result<LeadOutcome, LeadError> {
        let record: &LeadRecord = lease.record();
        let told = record.told.clone();
        let number = told.updates.saturating_add(1);
        let diagnostics = Diagnostics {
            attempt: record.attempts,
            possible_duplicate: record.delivery_started_at.map(|at| PossibleDuplicate {
                earlier_delivery_started_at: at,
            }),
            truncated_after_pages: fetched.truncated_after_pages,
            ..Diagnostics::default()
        };

        let fingerprint = fetched.transcript.fingerprint();
        let kept = record
            .summary_cache
            .as_ref()
            .filter(|kept| kept.transcript == fingerprint)
            .map(|kept| kept.summary.clone());
        let news = Transcript::from_items(&fetched.items[start..]);
        let (summarized, mut photos) = future::join(
            self.summary_or_kept(request, &fetched.transcript, kept),
            self.fetch_photos(&news),
        )
        .await;
        let diagnostics = Diagnostics {
            summary_failure: summarized.failure.clone(),
            ..diagnostics
        };

        let shop_phone = &self.config().shop.phone;
        let before = Contact::extract(&Transcript::from_items(&fetched.items[..start]), shop_phone);
        let after = Contact::extract(&news, shop_phone);
        let new_contact = NewContact {
            phone: after.phone.is_some() && after.phone != before.phone,
            email: after.email.is_some() && after.email != before.email,
        };
        let contact = model_contact(summarized.summary.as_ref()).or(after.or(before));
        let facts = EmailFacts {
            request,
            thread: &fetched.thread,
            transcript: &news,
            contact: &contact,
            summary: summarized.summary.as_ref(),
            diagnostics: &diagnostics,
        };
        let message = self.fit(&mut photos, |photos| {
            let rendered = email::render_update(&email::UpdateEmailInput {
                lead: self.input(&facts, photos),
                lead_subject: told.subject.as_deref(),
                number,
                new_contact,
            });
            email::build_reply(
                &rendered,
                &self.config().envelope,
                contact.email.as_ref(),
                told.message_id.as_deref(),
                photos,
            )
        });
        // Built once the email is out: the sinks' document never delays it.
        let event = |sent: &OutgoingEmail| {
            self.new_event(
                EventKind::Updated(number),
                &self.input(&facts, &photos),
                sent,
            )
        };

        let now = self.now();
        let told = Told {
            updates: number,
            updated_at: Some(now),
            // A lead sent before updates existed: later updates thread under this one.
            message_id: told.message_id.clone().or(Some(message.message_id.clone())),
            subject: told.subject.clone().or(Some(message.subject.clone())),
            ..told_through(&told, fetched, now)
        };
        let keep = summarized.summary.clone().map(|summary| CachedSummary {
            transcript: fingerprint,
            summary,
        });
        let Some(message_id) = self
            .deliver(&mut lease, &message, keep, told, event)
            .await?
        else {
            return Ok(LeadOutcome::InProgress);
        };
        Ok(LeadOutcome::UpdateSent {
            trigger: request.reason.clone(),
            message_id,
            update: number,
            possible_duplicate: diagnostics.possible_duplicate.is_some(),
        })
    }
}

/// Whether `newest` (the thread's newest item) is news for the shop: not
/// an item the emails covered or a look saw — or, for a lead sent before
/// the record kept its items, newer than the lead.
fn is_news(record: &LeadRecord, newest: &ThreadItem) -> bool {
    let told = &record.told;
    if told.has_seen(&newest.id) {
        return false;
    }
    told.last_item.is_some() || record.sent_at.is_none_or(|at| newest.created_at > at)
}

/// Where the items the shop has not been told about start: after the
/// newest item the emails covered, or — when the record does not name it,
/// or it is no longer in the thread — at the first item newer than the
/// last email.
pub(crate) fn first_new_item(items: &[ThreadItem], record: &LeadRecord) -> usize {
    let told = &record.told;
    let after_last = told
        .last_item
        .as_deref()
        .and_then(|last| items.iter().position(|item| item.id == last))
        .map(|at| at + 1);
    after_last.unwrap_or_else(|| {
        let since = told.updated_at.or(record.sent_at).unwrap_or(i64::MIN);
        items
            .iter()
            .position(|item| item.created_at > since)
            .unwrap_or(items.len())
    })
}
