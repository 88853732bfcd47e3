//! The lead workflow (SPEC §4) as pure orchestration over the ports.
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

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::{self, Either};
use tracing::{Instrument, info, info_span, warn};

use crate::chatkit::{Page, PageRequest, Thread, ThreadItem};
use crate::config::{ConfigError, DuplicatePolicy, LeadConfig, ReadinessPolicy};
use crate::contact::{Contact, EmailAddress, Phone};
use crate::email::{self, Diagnostics, LeadEmailInput, PossibleDuplicate};
use crate::ids::LeaseId;
use crate::lease::rules::{self, Blocker};
use crate::lease::{self, AcquireRequest, Acquired, ErrorMark, Lease, SentMark};
use crate::outcome::{LeadError, LeadOutcome, SummaryStatus};
use crate::ports::{
    ChatKitClient, ChatKitError, Clock, LeadStore, Mailer, Summarizer, SummaryError,
};
use crate::record::Versioned;
use crate::request::LeadRequest;
use crate::summary::{LeadSummary, SummaryInput, default_instructions};
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
}

/// A fetched and normalised thread.
struct FetchedThread {
    thread: Thread,
    transcript: Transcript,
    truncated_after_pages: Option<u32>,
}

/// What the summary step produced.
struct SummaryResult {
    summary: Option<LeadSummary>,
    failure: Option<String>,
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
            config: Arc::new(config),
            instructions,
        })
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
        let span = info_span!(
            "lead",
            thread_id = %request.thread_id,
            trigger = %request.reason,
        );
        async {
            let started = Instant::now();
            let result = self.run(request).await;
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            match &result {
                Ok(outcome) => info!(
                    outcome = outcome.reason(),
                    sent = outcome.sent(),
                    elapsed_ms,
                    "lead processed"
                ),
                Err(err) => warn!(error = %err, elapsed_ms, "lead failed"),
            }
            result
        }
        .instrument(span)
        .await
    }

    async fn run(&self, request: &LeadRequest) -> Result<LeadOutcome, LeadError> {
        let now = self.now();
        let seen = self.ports.store.load(&request.thread_id).await?;
        if let Some(blocker) = seen.as_ref().and_then(|s| rules::blocker(&s.record, now)) {
            return Ok(blocked_outcome(blocker));
        }

        let fetched = self.fetch(request).await?;
        let transcript = &fetched.transcript;
        if !transcript.has_customer_message() {
            return Ok(LeadOutcome::EmptyThread);
        }
        let scanned = Contact::extract(transcript, &self.config.shop.phone);
        if !scanned.is_reachable() {
            return Ok(LeadOutcome::MissingContact);
        }
        if let Some(retry_after) = self.quiet_period_left(transcript, now) {
            return Ok(LeadOutcome::NotIdle { retry_after });
        }

        let mut lease = match self.acquire(request, seen).await? {
            Acquired::Won(lease) => lease,
            Acquired::Lost(holder) => {
                let outcome = rules::blocker(&holder, self.now())
                    .map_or(LeadOutcome::InProgress, blocked_outcome);
                return Ok(outcome);
            }
        };
        let attempt = lease.record().attempts;
        let earlier_delivery = lease.record().delivery_started_at;

        let summarized = self.summarize(request, transcript).await;
        if let (ReadinessPolicy::RequireHandoffReady, Some(summary)) =
            (self.config.readiness, &summarized.summary)
        {
            if !summary.handoff_ready {
                lease.release(self.now(), "not_ready").await?;
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
        }

        let contact = model_contact(summarized.summary.as_ref()).or(scanned);
        let diagnostics = Diagnostics {
            attempt,
            summary_failure: summarized.failure.clone(),
            possible_duplicate: earlier_delivery.map(|at| PossibleDuplicate {
                earlier_delivery_started_at: at,
            }),
            truncated_after_pages: fetched.truncated_after_pages,
        };
        let input = LeadEmailInput {
            shop: &self.config.shop,
            copy: &self.config.copy,
            request,
            thread: &fetched.thread,
            transcript,
            contact: &contact,
            summary: summarized.summary.as_ref(),
            diagnostics: &diagnostics,
        };
        let rendered = match (&diagnostics.possible_duplicate, self.config.duplicates) {
            (Some(_), DuplicatePolicy::AlertOnly) => email::render_delivery_alert(&input),
            _ => email::render(&input),
        };
        let message = email::build(&rendered, &self.config.envelope, contact.email.as_ref());

        if !lease.checkpoint(self.now()).await? {
            // Our lease ran out during the summary and someone else took it:
            // they will deliver; sending too would duplicate.
            warn!("lease lost before delivery; leaving the send to its holder");
            return Ok(LeadOutcome::InProgress);
        }
        match self.ports.mailer.send(&message).await {
            Ok(message_id) => {
                self.mark_sent(&mut lease, &message_id).await?;
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
    async fn mark_sent(&self, lease: &mut Lease<'_, S>, message_id: &str) -> Result<(), LeadError> {
        let now = self.now();
        let mark = SentMark {
            now,
            message_id: message_id.to_owned(),
            ttl: now + secs(self.config.lease.record_ttl),
        };
        if !lease.mark_sent(&mark).await? {
            warn!("lease lost before mark_sent; the email was sent");
        }
        Ok(())
    }

    fn now(&self) -> i64 {
        self.ports.clock.now().timestamp()
    }

    /// Fetches the thread and its first items page concurrently, then the
    /// remaining pages up to the cap.
    async fn fetch(&self, request: &LeadRequest) -> Result<FetchedThread, LeadError> {
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
            page = self
                .ports
                .chatkit
                .list_items(id, &cursor)
                .await
                .map_err(not_found)?;
            items.append(&mut page.data);
            pages += 1;
        }
        if let Some(pages) = truncated_after_pages {
            warn!(pages, "transcript cut at the page cap");
        }
        Ok(FetchedThread {
            thread,
            transcript: Transcript::from_items(&items),
            truncated_after_pages,
        })
    }

    fn quiet_period_left(&self, transcript: &Transcript, now: i64) -> Option<u64> {
        let quiet = secs(self.config.quiet_period?);
        let age = now - transcript.last_activity_at?;
        (age < quiet).then(|| u64::try_from(quiet - age).unwrap_or(0))
    }

    /// Takes the send lease, starting from the record the fast path read.
    async fn acquire(
        &self,
        request: &LeadRequest,
        seen: Option<Versioned>,
    ) -> Result<Acquired<'_, S>, LeadError> {
        let now = self.now();
        let acquire = AcquireRequest {
            thread_id: request.thread_id.clone(),
            lease_id: LeaseId::random(),
            now,
            lock_expires_at: now + secs(self.config.lease.lease),
            ttl: now + secs(self.config.lease.record_ttl),
            reason: request.reason.as_str().to_owned(),
        };
        Ok(lease::acquire(&self.ports.store, &acquire, seen).await?)
    }

    /// Runs the model with a timeout; failures become a Diagnostics note.
    async fn summarize(&self, request: &LeadRequest, transcript: &Transcript) -> SummaryResult {
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

/// The answer for a record that cannot be leased now.
fn blocked_outcome(blocker: Blocker) -> LeadOutcome {
    match blocker {
        Blocker::Sent { sent_at } => LeadOutcome::AlreadySent { sent_at },
        Blocker::Leased => LeadOutcome::InProgress,
        Blocker::Cooldown { retry_after } => LeadOutcome::Cooldown { retry_after },
    }
}

/// The model's contact values (already sanitised, so plausible or absent).
fn model_contact(summary: Option<&LeadSummary>) -> Contact {
    Contact {
        phone: summary
            .and_then(|s| s.customer_phone.as_deref())
            .and_then(Phone::parse),
        email: summary
            .and_then(|s| s.customer_email.as_deref())
            .and_then(EmailAddress::parse),
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4)
}
