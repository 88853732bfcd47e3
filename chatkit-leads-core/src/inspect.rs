//! What an operator asks about one thread: what the record and
//! ChatKit say and what a trigger would do now ([`LeadWorkflow::explain`]),
//! the email as it would go out ([`LeadWorkflow::preview`]), and sending it
//! again on purpose ([`LeadWorkflow::resend`]).

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::contact::Contact;
use crate::email::{self, Diagnostics, OutgoingEmail, PossibleDuplicate};
use crate::ids::ThreadId;
use crate::lease::{self, Acquired};
use crate::outcome::{LeadError, LeadOutcome};
use crate::ports::{ChatKitClient, Clock, LeadStore, Mailer, Summarizer};
use crate::record::{LeadRecord, LeadStatus};
use crate::request::{LeadRequest, TriggerReason};
use crate::telemetry;
use crate::transcript::Transcript;
use crate::updates::first_new_item;
use crate::workflow::{EmailFacts, LeadWorkflow, SummaryResult, blocked_outcome, model_contact};

/// What ChatKit holds for a thread, without its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreadFacts {
    /// Items in the thread (messages, widgets, tasks …).
    pub items: usize,
    /// Messages from the customer.
    pub customer_messages: usize,
    /// Messages from the assistant.
    pub assistant_messages: usize,
    /// Whether a phone number from the customer was found.
    pub phone_found: bool,
    /// Whether an email address from the customer was found.
    pub email_found: bool,
    /// Unix seconds of the newest item.
    pub last_activity_at: Option<i64>,
    /// When ChatKit created the thread (Unix seconds).
    pub created_at: i64,
    /// Set when the transcript was cut at the page cap.
    pub truncated_after_pages: Option<u32>,
}

/// What a trigger would do now.
#[derive(Debug)]
pub enum Verdict {
    /// It would get this answer and send nothing.
    Answer(LeadOutcome),
    /// It would take the lease and send the lead.
    WouldSend {
        /// The attempt it would be (1 for the first).
        attempt: u32,
        /// An earlier attempt may have delivered: the email would be flagged.
        possible_duplicate: bool,
    },
    /// The lead went out and the customer wrote again since: the next look
    /// for news sends an update email.
    WouldUpdate {
        /// Customer messages the shop has not been told about.
        new_messages: usize,
        /// An earlier attempt at this update may have delivered it.
        possible_duplicate: bool,
    },
    /// It would fail with this error.
    Fails(LeadError),
}

impl fmt::Display for Verdict {
    /// One line for an operator: what happens, and why.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Answer(LeadOutcome::AlreadySent { .. }) => {
                f.write_str("already_sent: the lead email went out; a trigger sends nothing")
            }
            Self::Answer(LeadOutcome::InProgress) => {
                f.write_str("in_progress: another attempt holds the send lease")
            }
            Self::Answer(LeadOutcome::Cooldown { retry_after }) => write!(
                f,
                "cooldown: the last attempt failed; a trigger can send in {retry_after} s"
            ),
            Self::Answer(LeadOutcome::EmptyThread) => {
                f.write_str("empty_thread: no customer message yet")
            }
            Self::Answer(LeadOutcome::MissingContact) => {
                f.write_str("missing_contact: no phone number or email from the customer yet")
            }
            Self::Answer(LeadOutcome::NotIdle { retry_after }) => write!(
                f,
                "not_idle: the chat is still active; it is quiet enough in {retry_after} s"
            ),
            Self::Answer(other) => write!(f, "{}", other.reason()),
            Self::WouldSend {
                attempt,
                possible_duplicate: false,
            } => write!(f, "send: a trigger now sends the lead (attempt {attempt})"),
            Self::WouldSend { attempt, .. } => write!(
                f,
                "send: a trigger now sends the lead (attempt {attempt}), flagged as a possible \
                 duplicate: an earlier attempt started delivery and never recorded the outcome"
            ),
            Self::WouldUpdate {
                new_messages,
                possible_duplicate,
            } => write!(
                f,
                "update: {new_messages} new customer message(s) since the shop was last told; \
                 the next look for news sends them as an update email{}",
                if *possible_duplicate {
                    ", flagged as a possible duplicate"
                } else {
                    ""
                }
            ),
            Self::Fails(err) => write!(f, "a trigger fails: {err}"),
        }
    }
}

/// Everything [`LeadWorkflow::explain`] found out.
#[derive(Debug)]
pub struct Explanation {
    /// The idempotency record, when there is one.
    pub record: Option<LeadRecord>,
    /// What ChatKit holds, unless fetching the thread failed (see `verdict`).
    pub thread: Option<ThreadFacts>,
    /// What a trigger would do now.
    pub verdict: Verdict,
}

/// What a resend did.
#[derive(Debug)]
pub enum Resend {
    /// The lead was sent (again); the workflow's answer.
    Sent(LeadOutcome),
    /// Nothing was sent: the thread was already sent and `force` was not
    /// given, or another attempt holds the lease, or the thread is not
    /// ready (the answer says which).
    NotSent(LeadOutcome),
}

impl<C, S, M, Z, K> LeadWorkflow<C, S, M, Z, K>
where
    C: ChatKitClient,
    S: LeadStore,
    M: Mailer,
    Z: Summarizer,
    K: Clock,
{
    /// What the record and ChatKit say about `thread_id`, and what a
    /// trigger would do now with `quiet` as the quiet period — without
    /// taking a lease, calling the model or writing anything.
    ///
    /// # Errors
    /// [`LeadError::Store`] when the store fails; ChatKit failures are the
    /// verdict.
    pub async fn explain(
        &self,
        thread_id: &ThreadId,
        quiet: Option<Duration>,
    ) -> Result<Explanation, LeadError> {
        let now = self.now();
        let record = self.ports().store.get(thread_id).await?;
        let request = LeadRequest::new(thread_id.clone(), TriggerReason::Manual);
        let fetched = match self.fetch(&request).await {
            Ok(fetched) => fetched,
            Err(LeadError::Store(err)) => return Err(LeadError::Store(err)),
            Err(err) => {
                return Ok(Explanation {
                    record,
                    thread: None,
                    verdict: Verdict::Fails(err),
                });
            }
        };
        let transcript = &fetched.transcript;
        let contact = Contact::extract(transcript, &self.config().shop.phone);
        let facts = ThreadFacts {
            items: fetched.items.len(),
            customer_messages: transcript.customer_messages().count(),
            assistant_messages: transcript.messages.len() - transcript.customer_messages().count(),
            phone_found: contact.phone.is_some(),
            email_found: contact.email.is_some(),
            last_activity_at: transcript.last_activity_at,
            created_at: fetched.thread.created_at,
            truncated_after_pages: fetched.truncated_after_pages,
        };
        let blocked = record
            .as_ref()
            .and_then(|r| lease::rules::blocker(r, now))
            .map(blocked_outcome);
        let news = record
            .as_ref()
            .filter(|r| r.sent_at.is_some() && self.config().updates.enabled)
            .map(|r| {
                let start = first_new_item(&fetched.items, r);
                let news = Transcript::from_items(&fetched.items[start..]);
                (news.customer_messages().count(), r)
            });
        let verdict = match (blocked, news, self.assess(transcript, now, quiet)) {
            (Some(LeadOutcome::AlreadySent { .. }) | None, Some((new_messages, r)), _)
                if new_messages > 0 =>
            {
                Verdict::WouldUpdate {
                    new_messages,
                    possible_duplicate: r.status != LeadStatus::Sent
                        && r.delivery_started_at.is_some(),
                }
            }
            (None, Some((_, r)), _) => {
                Verdict::Answer(LeadOutcome::AlreadySent { sent_at: r.sent_at })
            }
            (blocked, _, assessed) => Self::first_send_verdict(blocked, assessed, record.as_ref()),
        };
        Ok(Explanation {
            record,
            thread: Some(facts),
            verdict,
        })
    }

    /// What a trigger would do with a thread not sent yet.
    fn first_send_verdict(
        blocked: Option<LeadOutcome>,
        assessed: Result<Contact, LeadOutcome>,
        record: Option<&LeadRecord>,
    ) -> Verdict {
        match (blocked, assessed) {
            (Some(outcome), _) | (None, Err(outcome)) => Verdict::Answer(outcome),
            (None, Ok(_)) => Verdict::WouldSend {
                attempt: record.map_or(0, |r| r.attempts).saturating_add(1),
                possible_duplicate: record.is_some_and(|r| r.delivery_started_at.is_some()),
            },
        }
    }

    /// The lead email for `thread_id` as the next attempt would send it,
    /// without a lease, the mailer or any write — also when a trigger would
    /// not send now (no contact yet, already sent). The model is asked only
    /// when `with_summary`.
    ///
    /// # Errors
    /// [`LeadError`] when the store or ChatKit fails, or the thread does not
    /// exist.
    pub async fn preview(
        &self,
        thread_id: &ThreadId,
        with_summary: bool,
    ) -> Result<OutgoingEmail, LeadError> {
        let record = self.ports().store.get(thread_id).await?;
        let request = LeadRequest::new(thread_id.clone(), TriggerReason::Manual);
        let fetched = self.fetch(&request).await?;
        let summarized = if with_summary {
            self.summarize(&request, &fetched.transcript).await
        } else {
            SummaryResult {
                summary: None,
                failure: Some("not requested (a preview without --with-summary)".to_owned()),
            }
        };
        let diagnostics = Diagnostics {
            attempt: record.as_ref().map_or(0, |r| r.attempts).saturating_add(1),
            summary_failure: summarized.failure.clone(),
            possible_duplicate: record
                .as_ref()
                .filter(|r| r.status != LeadStatus::Sent)
                .and_then(|r| r.delivery_started_at)
                .map(|at| PossibleDuplicate {
                    earlier_delivery_started_at: at,
                }),
            truncated_after_pages: fetched.truncated_after_pages,
            resend: None,
        };
        let scanned = Contact::extract(&fetched.transcript, &self.config().shop.phone);
        let mut photos = self.fetch_photos(&fetched.transcript).await;
        let contact = model_contact(summarized.summary.as_ref()).or(scanned);
        let facts = EmailFacts {
            request: &request,
            thread: &fetched.thread,
            transcript: &fetched.transcript,
            contact: &contact,
            summary: summarized.summary.as_ref(),
            diagnostics: &diagnostics,
        };
        Ok(self.compose(&facts, &mut photos))
    }

    /// Sends the lead of `thread_id` now, on an operator's word. A thread
    /// already sent is sent again only with `force`, through the lease (two
    /// operators cannot both resend) and marked as a resend in the subject
    /// and Diagnostics. A thread not sent yet goes through the workflow as a
    /// `manual` trigger without a quiet period.
    ///
    /// # Errors
    /// As [`LeadWorkflow::process`].
    pub async fn resend(&self, thread_id: &ThreadId, force: bool) -> Result<Resend, LeadError> {
        let stored = self.ports().store.load(thread_id).await?;
        let request = LeadRequest::new(thread_id.clone(), TriggerReason::Manual);
        let sent = stored
            .as_ref()
            .filter(|s| s.record.status == LeadStatus::Sent)
            .map(|s| s.record.sent_at);
        let Some(sent_at) = sent else {
            let outcome = self.process_with(&request, None).await?;
            return Ok(if outcome.sent() {
                Resend::Sent(outcome)
            } else {
                Resend::NotSent(outcome)
            });
        };
        if !force {
            return Ok(Resend::NotSent(LeadOutcome::AlreadySent { sent_at }));
        }
        let acquire = self.acquire_request(thread_id, "resend");
        let now = acquire.now;
        let fetched = self.fetch(&request).await?;
        let scanned = Contact::extract(&fetched.transcript, &self.config().shop.phone);
        let lease = match lease::acquire_sent(&self.ports().store, &acquire, stored).await? {
            Acquired::Won(lease) => lease,
            Acquired::Lost(holder) => {
                telemetry::lease_contention();
                let outcome = lease::rules::blocker(&holder, now)
                    .map_or(LeadOutcome::InProgress, blocked_outcome);
                return Ok(Resend::NotSent(outcome));
            }
        };
        let resend = email::Resend {
            earlier_sent_at: sent_at,
        };
        self.send_leased(&request, lease, &fetched, scanned, Some(resend))
            .await
            .map(Resend::Sent)
    }
}
