//! The lead workflow as pure orchestration over the ports.
//!
//! ```text
//! get record ──sent/locked──▶ already_sent | in_progress | cooldown
//!     │
//! thread ∥ first items page, then the rest (capped)
//!     │
//! normalise ─▶ empty_thread | missing_contact | not_idle      (no lease, no model)
//!     │
//! try_acquire ──lost──▶ already_sent | in_progress | cooldown
//!     │
//! summarise (timeout; failure is not fatal) ─▶ not_ready (lease released)
//!     │
//! render ─▶ checkpoint ─▶ mailer ─▶ mark_sent | mark_error (cooldown, 5xx)
//! ```
//!
//! Simultaneous triggers for one thread in one process share one run
//! (the `flight` module): one fetch, one lease attempt. A thread this process
//! has read as sent is answered from memory while that answer cannot
//! change (the `memo` module, [`crate::MemoPolicy`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::{self, Either};
use tracing::{Instrument, Span, info, info_span, warn};

use crate::chatkit::{Page, PageRequest, Thread, ThreadItem};
use crate::config::{ConfigError, DuplicatePolicy, LeadConfig, ReadinessPolicy, secs};
use crate::contact::{Contact, EmailAddress, Phone};
use crate::delivery::EventKind;
use crate::email::{self, Diagnostics, LeadEmailInput, OutgoingEmail, PossibleDuplicate, Resend};
use crate::flight::{Flights, Joined};
use crate::ids::{LeaseId, ThreadId};
use crate::lease::rules::{self, Blocker};
use crate::lease::{self, AcquireRequest, Acquired, ErrorMark, Lease, NewEvent, SentMark};
use crate::memo::SentMemo;
use crate::outcome::{LeadError, LeadOutcome, SummaryStatus};
use crate::photos::Photos;
use crate::ports::{
    ChatKitClient, ChatKitError, Clock, LeadStore, Mailer, PhotoFetcher, Sink, Summarizer,
    SummaryError,
};
use crate::record::{CachedSummary, Told, Versioned};
use crate::request::LeadRequest;
use crate::summary::{LeadSummary, SummaryInput, default_instructions};
use crate::telemetry;
use crate::transcript::Transcript;

/// The adapters a workflow runs on.
#[derive(Debug, Clone)]
pub struct Ports<C, S, M, Z, K> {
    /// ChatKit REST client.
    pub chatkit: C,
    /// Idempotency store.
    pub store: S,
    /// Mail provider.
    pub mailer: M,
    /// Model client.
    pub summarizer: Z,
    /// Time source.
    pub clock: K,
}

/// Processes lead requests: at most one email per thread, however many
/// triggers arrive. Cheap to share: wrap it in an `Arc`.
pub struct LeadWorkflow<C, S, M, Z, K> {
    ports: Ports<C, S, M, Z, K>,
    config: Arc<LeadConfig>,
    instructions: String,
    photos: Option<Arc<dyn PhotoFetcher>>,
    /// Runs in flight, by thread and quiet period (a sweep asks for its own,
    /// so it never shares a trigger's answer).
    flights: Flights<(ThreadId, Option<Duration>), Result<LeadOutcome, LeadError>>,
    /// Threads read as sent, answered without the store while that holds.
    memo: SentMemo,
    /// Where leads go besides the inbox (`crate::deliver`).
    sinks: Vec<Arc<dyn Sink>>,
    sink_transcript: bool,
}

/// A fetched and normalised thread.
pub(crate) struct FetchedThread {
    pub(crate) thread: Thread,
    /// The thread's items, oldest first (up to the page cap).
    pub(crate) items: Vec<ThreadItem>,
    pub(crate) transcript: Transcript,
    pub(crate) truncated_after_pages: Option<u32>,
}

/// What an email of one attempt is made from, besides the shop's settings
/// and the photos.
pub(crate) struct EmailFacts<'a> {
    pub(crate) request: &'a LeadRequest,
    pub(crate) thread: &'a Thread,
    /// The whole chat, or for an update the new messages.
    pub(crate) transcript: &'a Transcript,
    pub(crate) contact: &'a Contact,
    pub(crate) summary: Option<&'a LeadSummary>,
    pub(crate) diagnostics: &'a Diagnostics,
}

/// Largest event kept in the lead record with its transcript; past it the
/// transcript is left out of the sinks' document.
const MAX_EVENT_BYTES: usize = 100_000;

/// What the summary step produced.
pub(crate) struct SummaryResult {
    pub(crate) summary: Option<LeadSummary>,
    pub(crate) failure: Option<String>,
}

impl<C, S, M, Z, K> LeadWorkflow<C, S, M, Z, K>
where
    C: ChatKitClient,
    S: LeadStore,
    M: Mailer,
    Z: Summarizer,
    K: Clock,
{
    /// Checks `config` and builds the workflow.
    pub fn new(ports: Ports<C, S, M, Z, K>, config: LeadConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let instructions = config
            .instructions
            .clone()
            .unwrap_or_else(|| default_instructions(&config.shop));
        Ok(Self {
            ports,
            memo: SentMemo::new(config.memo),
            config: Arc::new(config),
            instructions,
            photos: None,
            sinks: Vec::new(),
            sink_transcript: false,
            flights: Flights::default(),
        })
    }

    /// Fetches the customer's photos with `fetcher` at send time and
    /// carries them in the email ([`LeadConfig::photos`] says how many, how
    /// large, how long to wait). Without it emails link the files only.
    #[must_use]
    pub fn with_photos(mut self, fetcher: Arc<dyn PhotoFetcher>) -> Self {
        self.photos = Some(fetcher);
        self
    }

    /// Delivers every lead to `sinks` too (webhooks, Slack), after the
    /// email and never delaying it ([`LeadWorkflow::deliver_due`]).
    #[must_use]
    pub fn with_sinks(mut self, sinks: Vec<Arc<dyn Sink>>) -> Self {
        self.sinks = sinks;
        self
    }

    /// Puts the transcript into the sinks' lead document too (default:
    /// off; the email always has it). A transcript that would make the
    /// event larger than 100 KB is left out.
    pub fn with_transcript_for_sinks(mut self, on: bool) -> Self {
        self.sink_transcript = on;
        self
    }

    /// Whether any sink gets the leads ([`LeadWorkflow::with_sinks`]).
    pub fn has_sinks(&self) -> bool {
        !self.sinks.is_empty()
    }

    /// The sinks, in the order given.
    pub(crate) fn sinks(&self) -> &[Arc<dyn Sink>] {
        &self.sinks
    }

    /// The photo fetcher, when photos are on.
    pub(crate) fn photo_fetcher(&self) -> Option<&dyn PhotoFetcher> {
        self.photos.as_deref()
    }

    /// The settings in force.
    pub fn config(&self) -> &LeadConfig {
        &self.config
    }

    /// The ports, e.g. to mint sessions with the same ChatKit client or to
    /// check the store in a readiness probe.
    pub fn ports(&self) -> &Ports<C, S, M, Z, K> {
        &self.ports
    }

    /// Runs the workflow for one trigger. Every non-error answer is a typed
    /// [`LeadOutcome`]; errors leave the record so that a later trigger retries.
    pub async fn process(&self, request: &LeadRequest) -> Result<LeadOutcome, LeadError> {
        // The most common trigger — a finished chat's page firing again —
        // is answered here, before the future of a whole run (kilobytes,
        // moved on every poll's way in) is made; that one is boxed.
        if let Some(known) = self.known_answer(request) {
            return Ok(known);
        }
        Box::pin(self.process_with(request, self.config.quiet_period)).await
    }

    /// The answer to `request` when it is known without any I/O — the
    /// thread was read as sent and nothing can have changed that (the sent
    /// memo) — counted and logged as [`LeadWorkflow::process`] would.
    ///
    /// For a server that bounds the work in flight: what this answers
    /// needs no slot.
    pub fn known_answer(&self, request: &LeadRequest) -> Option<LeadOutcome> {
        let started = Instant::now();
        let sent_at = self.memo.sent_at(&request.thread_id, self.now())?;
        let result = Ok(LeadOutcome::AlreadySent { sent_at });
        lead_span(request).in_scope(|| finished(request, &result, started));
        result.ok()
    }

    /// [`LeadWorkflow::process`] with `quiet` as the quiet period (the
    /// sweeper asks for its own).
    pub(crate) async fn process_with(
        &self,
        request: &LeadRequest,
        quiet: Option<Duration>,
    ) -> Result<LeadOutcome, LeadError> {
        async {
            let started = Instant::now();
            let result = self.run_shared(request, quiet).await;
            finished(request, &result, started);
            result
        }
        .instrument(lead_span(request))
        .await
    }

    /// [`Self::run_with`], shared with the simultaneous triggers for the same
    /// thread: the first runs, the others wait for its result.
    ///
    /// A follower answers what the leader answered, except when the leader
    /// sent an email: that was the leader's `sent`, and a follower then
    /// reads the record like any later trigger (`already_sent`, one store
    /// read, no ChatKit call).
    async fn run_shared(
        &self,
        request: &LeadRequest,
        quiet: Option<Duration>,
    ) -> Result<LeadOutcome, LeadError> {
        let key = (request.thread_id.clone(), quiet);
        loop {
            match self.flights.join(&key) {
                Joined::Leader(leading) => {
                    let result = self.run_with(request, quiet).await;
                    leading.finish(&result);
                    return result;
                }
                Joined::Follower(waiting) => {
                    let Ok(shared) = waiting.await else {
                        // The leader was dropped unfinished: lead or follow anew.
                        continue;
                    };
                    telemetry::trigger_joined();
                    return match shared {
                        Ok(LeadOutcome::Sent { .. } | LeadOutcome::UpdateSent { .. }) => {
                            self.run_with(request, quiet).await
                        }
                        shared => shared,
                    };
                }
            }
        }
    }

    /// The workflow with `quiet` as the quiet period.
    async fn run_with(
        &self,
        request: &LeadRequest,
        quiet: Option<Duration>,
    ) -> Result<LeadOutcome, LeadError> {
        let now = self.now();
        let seen = self.ports.store.load(&request.thread_id).await?;
        if let Some(seen) = &seen {
            self.memo.remember(&seen.record, now, &self.config.updates);
        }
        let seen = match seen {
            Some(sent) if self.config.updates.enabled && sent.record.sent_at.is_some() => {
                return self.after_sent(request, sent, now, quiet).await;
            }
            seen => seen,
        };
        if let Some(blocker) = seen.as_ref().and_then(|s| rules::blocker(&s.record, now)) {
            return Ok(blocked_outcome(blocker));
        }

        let fetched = match self.fetch(request).await {
            Ok(fetched) => fetched,
            Err(err @ LeadError::ChatKit(_)) => {
                // ChatKit failing is no reason to lose the lead: look again
                // after the error cooldown.
                let due_at = now + secs(self.config.lease.error_cooldown);
                self.watch(request, now, due_at, None, "chatkit_error", seen)
                    .await?;
                return Err(err);
            }
            Err(err) => return Err(err),
        };
        let transcript = &fetched.transcript;
        let scanned = match self.assess(transcript, now, quiet) {
            Ok(contact) => contact,
            Err(outcome) => {
                let created = seen
                    .as_ref()
                    .map(|s| s.record.created_at)
                    .or(Some(fetched.thread.created_at).filter(|&at| at > 0));
                let due_at = match outcome {
                    LeadOutcome::NotIdle { retry_after } => {
                        now + i64::try_from(retry_after).unwrap_or(i64::MAX / 4)
                    }
                    _ => self.recheck_at(now, created),
                };
                self.watch(request, now, due_at, created, outcome.reason(), seen)
                    .await?;
                return Ok(outcome);
            }
        };

        let lease = match self.acquire(request, seen).await? {
            Acquired::Won(lease) => lease,
            Acquired::Lost(holder) => {
                telemetry::lease_contention();
                let outcome = rules::blocker(&holder, self.now())
                    .map_or(LeadOutcome::InProgress, blocked_outcome);
                return Ok(outcome);
            }
        };
        self.send_leased(request, lease, &fetched, scanned, None)
            .await
    }

    /// Everything after a won lease: summary, readiness, the email, the
    /// delivery checkpoint, the mailer, the mark. `resend` is set for an
    /// operator's resend of a sent lead (no readiness policy then).
    pub(crate) async fn send_leased(
        &self,
        request: &LeadRequest,
        mut lease: Lease<'_, S>,
        fetched: &FetchedThread,
        scanned: Contact,
        resend: Option<Resend>,
    ) -> Result<LeadOutcome, LeadError> {
        let transcript = &fetched.transcript;
        let attempt = lease.record().attempts;
        let earlier_delivery = lease.record().delivery_started_at;

        let fingerprint = transcript.fingerprint();
        let kept = lease
            .record()
            .summary_cache
            .as_ref()
            .filter(|kept| kept.transcript == fingerprint);
        let kept = kept.map(|kept| kept.summary.clone());
        let (summarized, mut photos) = future::join(
            self.summary_or_kept(request, transcript, kept),
            self.fetch_photos(transcript),
        )
        .await;
        if let (ReadinessPolicy::RequireHandoffReady, Some(summary), None) =
            (self.config.readiness, &summarized.summary, resend)
            && !summary.handoff_ready
        {
            let now = self.now();
            let recheck = now + secs(self.config.recheck_after);
            lease.release(now, "not_ready", recheck).await?;
            let reason = if summary.handoff_reason.is_empty() {
                "not_ready".to_owned()
            } else {
                summary.handoff_reason.clone()
            };
            return Ok(LeadOutcome::NotReady {
                reason,
                missing_info: summary.missing_info.clone(),
            });
        }

        let diagnostics = Diagnostics {
            attempt,
            summary_failure: summarized.failure.clone(),
            possible_duplicate: earlier_delivery.map(|at| PossibleDuplicate {
                earlier_delivery_started_at: at,
            }),
            truncated_after_pages: fetched.truncated_after_pages,
            resend,
        };
        let contact = model_contact(summarized.summary.as_ref()).or(scanned);
        let facts = EmailFacts {
            request,
            thread: &fetched.thread,
            transcript: &fetched.transcript,
            contact: &contact,
            summary: summarized.summary.as_ref(),
            diagnostics: &diagnostics,
        };
        let message = self.compose(&facts, &mut photos);
        // Built once the email is out: the sinks' document never delays it.
        let event = |sent: &OutgoingEmail| {
            self.new_event(EventKind::Created, &self.input(&facts, &photos), sent)
        };

        let keep = summarized.summary.as_ref().map(|summary| CachedSummary {
            transcript: fingerprint,
            summary: summary.clone(),
        });
        let told = Told {
            message_id: Some(message.message_id.clone()),
            subject: Some(message.subject.clone()),
            ..told_through(&lease.record().told, fetched, self.now())
        };
        let Some(message_id) = self
            .deliver(&mut lease, &message, keep, told, event)
            .await?
        else {
            return Ok(LeadOutcome::InProgress);
        };
        Ok(LeadOutcome::Sent {
            trigger: request.reason.clone(),
            message_id,
            summary: match summarized.failure {
                None => SummaryStatus::Included,
                Some(reason) => SummaryStatus::Failed(reason),
            },
            possible_duplicate: diagnostics.possible_duplicate.is_some(),
        })
    }

    /// The delivery of a composed email under a held lease: the checkpoint
    /// (with the summary to keep for a retry), the mailer, then the mark —
    /// `sent` with `told` and the sinks' `event` (made only once the email
    /// is out), or the error cooldown. `Ok(None)` when the lease
    /// was lost before delivery (its new holder delivers; sending too would
    /// duplicate); otherwise the provider's message id.
    pub(crate) async fn deliver(
        &self,
        lease: &mut Lease<'_, S>,
        message: &OutgoingEmail,
        keep: Option<CachedSummary>,
        told: Told,
        event: impl FnOnce(&OutgoingEmail) -> Option<NewEvent>,
    ) -> Result<Option<String>, LeadError> {
        if !lease.checkpoint(self.now(), keep.as_ref()).await? {
            // Our lease ran out during the summary and someone else took it.
            warn!("lease lost before delivery; leaving the send to its holder");
            return Ok(None);
        }
        let delivered = self.ports.mailer.send(message).await;
        telemetry::mail_send(&delivered);
        match delivered {
            Ok(message_id) => {
                self.mark_sent(lease, &message_id, told, event(message))
                    .await?;
                Ok(Some(message_id))
            }
            Err(mail_error) => {
                let now = self.now();
                let mark = ErrorMark {
                    now,
                    retry_at: now + secs(self.config.lease.error_cooldown),
                    error: mail_error.to_string(),
                    clear_delivery: mail_error.certainly_not_sent(),
                };
                if !lease.mark_error(&mark).await? {
                    warn!("lease lost before mark_error");
                }
                Err(LeadError::Mail(mail_error))
            }
        }
    }

    /// Records the delivery; losing the lease by now is logged, not an
    /// error: the email did go out.
    pub(crate) async fn mark_sent(
        &self,
        lease: &mut Lease<'_, S>,
        message_id: &str,
        told: Told,
        event: Option<NewEvent>,
    ) -> Result<(), LeadError> {
        let now = self.now();
        let mark = SentMark {
            now,
            message_id: message_id.to_owned(),
            ttl: now + secs(self.config.lease.record_ttl),
            told,
            event,
        };
        if lease.mark_sent(&mark).await? {
            // What was just written is what the next trigger would read.
            self.memo
                .remember(lease.record(), now, &self.config.updates);
        } else {
            warn!("lease lost before mark_sent; the email was sent");
        }
        Ok(())
    }

    /// The email this attempt sends from `facts`: the full lead, or the
    /// short alert when an earlier delivery may have happened and the
    /// duplicate policy says so.
    pub(crate) fn compose(&self, facts: &EmailFacts<'_>, photos: &mut Photos) -> OutgoingEmail {
        self.fit(photos, |photos| {
            let input = self.input(facts, photos);
            let duplicate = &facts.diagnostics.possible_duplicate;
            let rendered = match (duplicate, self.config.duplicates) {
                (Some(_), DuplicatePolicy::AlertOnly) => email::render_delivery_alert(&input),
                _ => email::render(&input),
            };
            email::build(
                &rendered,
                &self.config.envelope,
                facts.contact.email.as_ref(),
                photos,
            )
        })
    }

    /// What an email of this attempt is made from, with `photos`.
    pub(crate) fn input<'a>(
        &'a self,
        facts: &EmailFacts<'a>,
        photos: &'a Photos,
    ) -> LeadEmailInput<'a> {
        LeadEmailInput {
            shop: &self.config.shop,
            copy: &self.config.copy,
            request: facts.request,
            thread: facts.thread,
            transcript: facts.transcript,
            contact: facts.contact,
            summary: facts.summary,
            diagnostics: facts.diagnostics,
            photos,
        }
    }

    /// The event for the sinks of `message`, made from `input` (`None`
    /// without sinks): the lead document, for every sink.
    pub(crate) fn new_event(
        &self,
        kind: EventKind,
        input: &LeadEmailInput<'_>,
        message: &OutgoingEmail,
    ) -> Option<NewEvent> {
        if self.sinks.is_empty() {
            return None;
        }
        let update = match kind {
            EventKind::Created => 0,
            EventKind::Updated(n) => n,
        };
        let sent = email::DocumentEmail {
            message_id: message.message_id.clone(),
            subject: message.subject.clone(),
        };
        let with_transcript = email::document(input, update, sent.clone(), self.sink_transcript);
        let mut document = serde_json::to_string(&with_transcript);
        // The event lives in the lead record: a long chat's transcript
        // would crowd the store's item limit (DynamoDB: 400 KB).
        if document.as_ref().is_ok_and(|d| d.len() > MAX_EVENT_BYTES) {
            document = serde_json::to_string(&email::document(input, update, sent, false));
        }
        Some(NewEvent {
            kind,
            document: document.expect("a LeadDocument always serialises"),
            sinks: self.sinks.iter().map(|sink| sink.id().to_owned()).collect(),
        })
    }

    /// The summary kept for this transcript (`kept`), else the model's.
    pub(crate) async fn summary_or_kept(
        &self,
        request: &LeadRequest,
        transcript: &Transcript,
        kept: Option<LeadSummary>,
    ) -> SummaryResult {
        match kept {
            Some(summary) => {
                info!("reusing the summary of the unchanged transcript");
                SummaryResult {
                    summary: Some(summary),
                    failure: None,
                }
            }
            None => self.summarize(request, transcript).await,
        }
    }

    pub(crate) fn now(&self) -> i64 {
        self.ports.clock.now().timestamp()
    }

    /// Fetches the thread and its first items page concurrently, then the
    /// remaining pages up to the cap.
    pub(crate) async fn fetch(&self, request: &LeadRequest) -> Result<FetchedThread, LeadError> {
        let id = &request.thread_id;
        let not_found = |e: ChatKitError| match e {
            ChatKitError::NotFound => LeadError::ThreadNotFound(id.clone()),
            other => LeadError::ChatKit(other),
        };
        let first = PageRequest::first();
        let (thread, page) = future::join(
            self.ports.chatkit.retrieve_thread(id),
            self.ports.chatkit.list_items(id, &first),
        )
        .await;
        telemetry::chatkit_request("retrieve_thread", &thread);
        telemetry::chatkit_request("list_items", &page);
        let thread = thread.map_err(not_found)?;
        let mut page: Page<ThreadItem> = page.map_err(not_found)?;
        let mut items = std::mem::take(&mut page.data);
        let mut pages = 1;
        let mut cursor = first;
        let mut truncated_after_pages = None;
        while page.has_more {
            let Some(last_id) = page.last_id.take() else {
                break;
            };
            if pages >= self.config.max_item_pages {
                truncated_after_pages = Some(pages);
                break;
            }
            cursor = cursor.next(last_id);
            let next = self.ports.chatkit.list_items(id, &cursor).await;
            telemetry::chatkit_request("list_items", &next);
            page = next.map_err(not_found)?;
            items.append(&mut page.data);
            pages += 1;
        }
        if let Some(pages) = truncated_after_pages {
            warn!(pages, "transcript cut at the page cap");
        }
        Ok(FetchedThread {
            thread,
            transcript: Transcript::from_items(&items),
            items,
            truncated_after_pages,
        })
    }

    /// What a transcript allows at `now`: the contact found, or the answer
    /// for a thread not worth a lead yet (no customer message, no contact,
    /// newer activity than the `quiet` period).
    pub(crate) fn assess(
        &self,
        transcript: &Transcript,
        now: i64,
        quiet: Option<Duration>,
    ) -> Result<Contact, LeadOutcome> {
        if !transcript.has_customer_message() {
            return Err(LeadOutcome::EmptyThread);
        }
        let scanned = Contact::extract(transcript, &self.config.shop.phone);
        if !scanned.is_reachable() {
            return Err(LeadOutcome::MissingContact);
        }
        if let Some(retry_after) = self.still_active(transcript, now, quiet) {
            return Err(LeadOutcome::NotIdle { retry_after });
        }
        Ok(scanned)
    }

    /// Seconds until the chat has been quiet for `quiet`, when its newest
    /// item is younger than that.
    pub(crate) fn still_active(
        &self,
        transcript: &Transcript,
        now: i64,
        quiet: Option<Duration>,
    ) -> Option<u64> {
        let (quiet, last) = (quiet?, transcript.last_activity_at?);
        let (quiet, age) = (secs(quiet), now - last);
        (age < quiet).then(|| u64::try_from(quiet - age).unwrap_or(0))
    }

    /// When to look again at a thread with nothing to send yet: after
    /// [`LeadConfig::recheck_after`], and less often the older the chat
    /// (a quarter of its age), so a chat abandoned without contact details
    /// costs a few ChatKit reads a day, not one per sweep.
    fn recheck_at(&self, now: i64, created_at: Option<i64>) -> i64 {
        let age = created_at.map_or(0, |at| (now - at).max(0));
        now + secs(self.config.recheck_after).max(age / 4)
    }

    /// Marks the thread due at `due_at` for the sweeper (`seen`: the
    /// record the fast path read). A thread without a record gets a
    /// `pending` one, created at `created_at` (ChatKit's time) or now.
    async fn watch(
        &self,
        request: &LeadRequest,
        now: i64,
        due_at: i64,
        created_at: Option<i64>,
        reason: &str,
        seen: Option<Versioned>,
    ) -> Result<(), LeadError> {
        let watch = lease::Watch {
            thread_id: request.thread_id.clone(),
            now,
            due_at,
            created_at: created_at.unwrap_or(now),
            ttl: now + secs(self.config.lease.record_ttl),
            reason: reason.to_owned(),
        };
        lease::watch(&self.ports.store, &watch, seen).await?;
        Ok(())
    }

    /// Remembers that `user` had a session minted now, so the sweeper can
    /// list its threads (and find chats whose page never sent a trigger).
    ///
    /// # Errors
    /// [`crate::StoreError`] when the store fails.
    pub async fn note_session(&self, user: &crate::ids::UserId) -> Result<(), crate::StoreError> {
        let now = self.now();
        let keep_until = now + secs(self.config.lease.record_ttl);
        self.ports.store.touch_user(user, now, keep_until).await
    }

    /// Takes the send lease, starting from the record the fast path read.
    pub(crate) async fn acquire(
        &self,
        request: &LeadRequest,
        seen: Option<Versioned>,
    ) -> Result<Acquired<'_, S>, LeadError> {
        let acquire = self.acquire_request(&request.thread_id, request.reason.as_str());
        Ok(lease::acquire(&self.ports.store, &acquire, seen).await?)
    }

    /// An acquire of `thread_id` now under a fresh lease id, with the
    /// configured lease and record lifetime; `reason` becomes `last_reason`.
    pub(crate) fn acquire_request(&self, thread_id: &ThreadId, reason: &str) -> AcquireRequest {
        let now = self.now();
        AcquireRequest {
            thread_id: thread_id.clone(),
            lease_id: LeaseId::random(),
            now,
            lock_expires_at: now + secs(self.config.lease.lease),
            ttl: now + secs(self.config.lease.record_ttl),
            reason: reason.to_owned(),
        }
    }

    /// Runs the model with a timeout; failures become a Diagnostics note.
    pub(crate) async fn summarize(
        &self,
        request: &LeadRequest,
        transcript: &Transcript,
    ) -> SummaryResult {
        let input = SummaryInput::new(
            self.instructions.clone(),
            transcript,
            &self.config.shop.assistant_name,
            request.locale.as_ref(),
            request.page_url.as_ref(),
            self.config.transcript_budget,
            self.config.max_output_tokens,
        );
        let call = self.ports.summarizer.summarize(&input);
        let timeout = self.ports.clock.sleep(self.config.summary_timeout);
        let result = match future::select(Box::pin(call), Box::pin(timeout)).await {
            Either::Left((result, _)) => result,
            Either::Right(((), _)) => Err(SummaryError::Timeout),
        };
        telemetry::model_call(&result);
        match result {
            Ok(summary) => SummaryResult {
                summary: Some(summary.sanitize(&self.config.shop)),
                failure: None,
            },
            Err(err) => {
                warn!(error = %err, "summary failed; sending without it");
                SummaryResult {
                    summary: None,
                    failure: Some(err.to_string()),
                }
            }
        }
    }
}

/// The span every log line of one trigger carries.
fn lead_span(request: &LeadRequest) -> Span {
    info_span!(
        "lead",
        thread_id = %request.thread_id,
        trigger = %request.reason,
    )
}

/// Counts and logs a trigger's answer (inside its [`lead_span`]).
fn finished(request: &LeadRequest, result: &Result<LeadOutcome, LeadError>, started: Instant) {
    let elapsed = started.elapsed();
    telemetry::lead(&request.reason, result, elapsed);
    let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(outcome) => info!(
            outcome = outcome.reason(),
            sent = outcome.sent(),
            elapsed_ms,
            "lead processed"
        ),
        Err(err) => warn!(error = %err, elapsed_ms, "lead failed"),
    }
}

/// The answer for a record that cannot be leased now.
pub(crate) fn blocked_outcome(blocker: Blocker) -> LeadOutcome {
    match blocker {
        Blocker::Sent { sent_at } => LeadOutcome::AlreadySent { sent_at },
        Blocker::Leased => LeadOutcome::InProgress,
        Blocker::Cooldown { retry_after } => LeadOutcome::Cooldown { retry_after },
    }
}

/// The model's contact values (already sanitised, so plausible or absent).
pub(crate) fn model_contact(summary: Option<&LeadSummary>) -> Contact {
    Contact {
        phone: summary
            .and_then(|s| s.customer_phone.as_deref())
            .and_then(Phone::parse),
        email: summary
            .and_then(|s| s.customer_email.as_deref())
            .and_then(EmailAddress::parse),
    }
}

/// What the shop knows once an email covering every item of `fetched`
/// is in (`told`: what it knew before): the items, the newest of them, a
/// look at `now` (the fetch was one).
pub(crate) fn told_through(told: &Told, fetched: &FetchedThread, now: i64) -> Told {
    Told {
        items: u32::try_from(fetched.items.len()).unwrap_or(u32::MAX),
        last_item: fetched.items.last().map(|item| item.id.clone()),
        seen_item: None,
        checked_at: Some(now),
        ..told.clone()
    }
}
