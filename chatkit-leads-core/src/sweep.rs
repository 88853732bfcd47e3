//! The sweep: leads no trigger asked for.
//!
//! A lead is sent when the page's script reaches `/lead`. When the tab is
//! killed, the phone sleeps or the visitor leaves before giving contact
//! details and comes back later, no trigger comes. The sweep finds those
//! chats from the server's side and runs the normal workflow on them with
//! the trigger `sweep` — the same lease, the same one-email rule:
//!
//! 1. **Discover.** Users that had a session minted (remembered by
//!    [`LeadWorkflow::note_session`]) and have been quiet since are listed
//!    once per session (`GET /v1/chatkit/threads?user=…`, newest first,
//!    back to the horizon); a thread without a record gets a `pending` one,
//!    due now.
//! 2. **Process.** Records due by now (`LeadStore::due`: after a trigger
//!    that found nothing to send, a lease that expired, a failure's
//!    cooldown) go through the workflow with the sweep's quiet period:
//!    still-active chats come back later (`not_idle`), chats without
//!    contact details are looked at less and less often, and threads older
//!    than the horizon stop being due.
//!
//! 3. **Deliver.** A due record with events due for the sinks (a retry
//!    after a failed attempt, a delivery whose sender died) has them
//!    delivered first; a record due for its deliveries alone goes no
//!    further.
//!
//! A listed thread whose lead went out is made due too (when update emails
//! are on), so a customer who came back and wrote again without a trigger
//! reaching the server still gets the shop an update email.
//!
//! Several instances may sweep at once: they may list a user or look at a
//! thread twice, but the lease lets exactly one of them send.

use std::time::Duration;

use serde::Serialize;

use tracing::{info, warn};

use crate::chatkit::{Order, PageRequest};
use crate::config::secs;
use crate::delivery;
use crate::ids::ThreadId;
use crate::inspect::Verdict;
use crate::lease;
use crate::outcome::LeadError;
use crate::ports::{ChatKitClient, Clock, LeadStore, Mailer, SeenUser, Summarizer};
use crate::record::LeadStatus;
use crate::request::{LeadRequest, TriggerReason};
use crate::telemetry;
use crate::workflow::LeadWorkflow;

/// How a sweep looks for leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepSettings {
    /// A chat whose newest item is younger than this is left for a later
    /// sweep, and a user is listed only this long after its last session
    /// (default 600 s).
    pub quiet: Duration,
    /// Threads older than this (counted from when they were created or
    /// first seen) stop being due, and users last seen before it are not
    /// listed (default 7 days).
    pub horizon: Duration,
    /// Most due threads one sweep runs through the workflow (default 50).
    pub batch: usize,
    /// Most users one sweep lists (default 50).
    pub users: usize,
    /// Once this much time has passed since the sweep started, it starts
    /// no further thread (default: none). For hosts that stop a run at a
    /// deadline, such as Lambda: leave room for one send after it. The
    /// threads left are still due and go to the next sweep.
    pub budget: Option<Duration>,
}

impl Default for SweepSettings {
    fn default() -> Self {
        Self {
            quiet: Duration::from_secs(600),
            horizon: Duration::from_secs(7 * 24 * 3600),
            batch: 50,
            users: 50,
            budget: None,
        }
    }
}

/// What one sweep did (or, in a dry run, would do).
#[derive(Debug, Default)]
pub struct SweepReport {
    /// Users whose threads were listed.
    pub users_listed: usize,
    /// Threads the listings found without a record (now due).
    pub threads_found: usize,
    /// ChatKit list calls made while discovering.
    pub list_calls: usize,
    /// Due threads that passed the horizon and stopped being due.
    pub expired: usize,
    /// Due threads left for the next sweep because the budget ran out.
    pub deferred: usize,
    /// Attempts to deliver events to the sinks (in a dry run: threads with
    /// a delivery due).
    pub deliveries: usize,
    /// Every due thread the sweep ran (or, in a dry run, looked at).
    pub leads: Vec<SweptLead>,
}

/// The counts of a [`SweepReport`], for a log line or a scheduled job's
/// result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SweepSummary {
    /// Users whose threads were listed.
    pub users_listed: usize,
    /// Threads the listings found without a record.
    pub threads_found: usize,
    /// ChatKit list calls made while discovering.
    pub list_calls: usize,
    /// Due threads the sweep ran (or looked at).
    pub due: usize,
    /// Leads sent by this sweep.
    pub sent: usize,
    /// Due threads past the horizon, no longer due.
    pub expired: usize,
    /// Due threads left for the next sweep (budget).
    pub deferred: usize,
    /// Attempts to deliver events to the sinks.
    pub deliveries: usize,
}

impl SweepReport {
    /// The counts, without the threads.
    pub fn summary(&self) -> SweepSummary {
        SweepSummary {
            users_listed: self.users_listed,
            threads_found: self.threads_found,
            list_calls: self.list_calls,
            due: self.leads.len(),
            sent: self.sent(),
            expired: self.expired,
            deferred: self.deferred,
            deliveries: self.deliveries,
        }
    }

    /// How many leads this sweep sent.
    pub fn sent(&self) -> usize {
        self.leads
            .iter()
            .filter(|lead| {
                matches!(&lead.verdict, Verdict::Answer(outcome) if outcome.sent() && outcome.reason() == "sweep")
            })
            .count()
    }
}

/// One due thread and what the workflow did with it.
#[derive(Debug)]
pub struct SweptLead {
    /// The thread.
    pub thread_id: ThreadId,
    /// The workflow's answer or error (in a dry run: what a trigger would
    /// do, as [`LeadWorkflow::explain`] says).
    pub verdict: Verdict,
}

impl<C, S, M, Z, K> LeadWorkflow<C, S, M, Z, K>
where
    C: ChatKitClient,
    S: LeadStore,
    M: Mailer,
    Z: Summarizer,
    K: Clock,
{
    /// One sweep: discover the threads of quiet users, then run every due
    /// thread through the workflow with the trigger `sweep`.
    ///
    /// # Errors
    /// [`LeadError::Store`] when the store cannot list users or due threads.
    /// A failure of one user's listing or one thread's run is reported in
    /// the [`SweepReport`] (or logged) and the sweep goes on.
    pub async fn sweep(&self, settings: &SweepSettings) -> Result<SweepReport, LeadError> {
        let result = self.sweep_once(settings).await;
        telemetry::sweep(result.is_ok(), result.as_ref().map_or(0, SweepReport::sent));
        result
    }

    async fn sweep_once(&self, settings: &SweepSettings) -> Result<SweepReport, LeadError> {
        let started = self.now();
        let mut report = SweepReport::default();
        self.discover(settings, &mut report, false).await?;
        let now = self.now();
        for record in self.ports().store.due(now, settings.batch).await? {
            if settings
                .budget
                .is_some_and(|budget| self.now() - started >= secs(budget))
            {
                report.deferred += 1;
                continue;
            }
            if delivery::next_due(&record, now).is_some() {
                match self.deliver_due(&record.thread_id).await {
                    Ok(delivered) => report.deliveries += delivered.attempts.len(),
                    Err(err) => warn!(error = %err, "sweep: deliveries failed; next sweep"),
                }
            }
            if delivery::record_due(&record).is_none_or(|at| at > now) {
                continue; // due for its deliveries alone
            }
            if past(now, record.created_at, settings.horizon) {
                lease::unwatch(&self.ports().store, &record.thread_id, now).await?;
                report.expired += 1;
                continue;
            }
            let request = LeadRequest::new(record.thread_id.clone(), TriggerReason::Sweep);
            let result = self
                .process_with(&request, Some(self.sweep_quiet(settings)))
                .await;
            if let Err(LeadError::ThreadNotFound(_)) = &result {
                // Deleted in ChatKit: nothing left to recover.
                lease::unwatch(&self.ports().store, &record.thread_id, now).await?;
            }
            report.leads.push(SweptLead {
                thread_id: record.thread_id,
                verdict: result.map_or_else(Verdict::Fails, Verdict::Answer),
            });
        }
        info!(
            users_listed = report.users_listed,
            threads_found = report.threads_found,
            due = report.leads.len(),
            sent = report.sent(),
            expired = report.expired,
            deferred = report.deferred,
            deliveries = report.deliveries,
            "sweep done"
        );
        Ok(report)
    }

    /// What [`LeadWorkflow::sweep`] would do now, without writing anything
    /// or sending: the users it would list and the threads they have
    /// without a record, and for each due thread what a trigger would get.
    ///
    /// # Errors
    /// As [`LeadWorkflow::sweep`].
    pub async fn sweep_dry_run(&self, settings: &SweepSettings) -> Result<SweepReport, LeadError> {
        let mut report = SweepReport::default();
        self.discover(settings, &mut report, true).await?;
        let now = self.now();
        for record in self.ports().store.due(now, settings.batch).await? {
            if delivery::next_due(&record, now).is_some() {
                report.deliveries += 1;
            }
            if delivery::record_due(&record).is_none_or(|at| at > now) {
                continue;
            }
            if past(now, record.created_at, settings.horizon) {
                report.expired += 1;
                continue;
            }
            let explanation = self
                .explain(&record.thread_id, Some(self.sweep_quiet(settings)))
                .await?;
            report.leads.push(SweptLead {
                thread_id: record.thread_id,
                verdict: explanation.verdict,
            });
        }
        Ok(report)
    }

    /// The sweep's quiet period: its own, or the trigger's when longer.
    fn sweep_quiet(&self, settings: &SweepSettings) -> Duration {
        settings
            .quiet
            .max(self.config().quiet_period.unwrap_or_default())
    }

    /// Lists the threads of users quiet since their last session and makes
    /// the ones without a record due (unless `dry_run`).
    async fn discover(
        &self,
        settings: &SweepSettings,
        report: &mut SweepReport,
        dry_run: bool,
    ) -> Result<(), LeadError> {
        let now = self.now();
        let since = now - secs(settings.horizon);
        let quiet_before = now - secs(settings.quiet);
        let users = self
            .ports()
            .store
            .users_to_list(since, quiet_before, settings.users)
            .await?;
        for seen in users {
            match self.list_user(&seen, since, now, report, dry_run).await {
                Ok(()) if !dry_run => {
                    self.ports()
                        .store
                        .mark_listed(&seen.user, seen.last_seen_at)
                        .await?;
                }
                Ok(()) => {}
                Err(err) => {
                    warn!(error = %err, "sweep: could not list a user's threads; next sweep")
                }
            }
            report.users_listed += 1;
        }
        Ok(())
    }

    /// One user's threads, newest first, back to `since`.
    async fn list_user(
        &self,
        seen: &SeenUser,
        since: i64,
        now: i64,
        report: &mut SweepReport,
        dry_run: bool,
    ) -> Result<(), LeadError> {
        let mut page = PageRequest {
            order: Order::Desc,
            ..PageRequest::first()
        };
        loop {
            let listed = self.ports().chatkit.list_threads(&seen.user, &page).await;
            telemetry::chatkit_request("list_threads", &listed);
            report.list_calls += 1;
            let listed = listed.map_err(LeadError::ChatKit)?;
            let mut reached_horizon = false;
            for thread in &listed.data {
                if thread.created_at > 0 && thread.created_at < since {
                    reached_horizon = true;
                    break;
                }
                if let Some(stored) = self.ports().store.load(&thread.id).await? {
                    // A user back for another session may have written in
                    // a thread whose lead went out: make it due, and the
                    // run below looks for news (one small call).
                    let sent = stored.record.status == LeadStatus::Sent;
                    if sent && self.config().updates.enabled && !dry_run {
                        lease::saw(&self.ports().store, &thread.id, now, None, Some(now)).await?;
                    }
                    continue;
                }
                report.threads_found += 1;
                if !dry_run {
                    let watch = lease::Watch {
                        thread_id: thread.id.clone(),
                        now,
                        due_at: now,
                        created_at: if thread.created_at > 0 {
                            thread.created_at
                        } else {
                            now
                        },
                        ttl: now + secs(self.config().lease.record_ttl),
                        reason: "discovered".to_owned(),
                    };
                    lease::watch(&self.ports().store, &watch, None).await?;
                }
            }
            match (reached_horizon, listed.has_more, listed.last_id) {
                (false, true, Some(last_id)) => page = page.next(last_id),
                _ => return Ok(()),
            }
        }
    }
}

/// Whether something created at `created_at` is older than `horizon` at `now`.
fn past(now: i64, created_at: i64, horizon: Duration) -> bool {
    now - created_at > secs(horizon)
}
