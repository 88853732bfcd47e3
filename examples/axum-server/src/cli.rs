//! The operator's commands: each answers one question about the
//! deployment on the server's own settings, as text or (`--json`) as one
//! JSON document on stdout, and ends with an [`Exit`] code a script can
//! branch on.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chatkit_leads_core::delivery::DeliveryState;
use chatkit_leads_core::inspect::{Explanation, Resend, Verdict};
use chatkit_leads_core::sweep::SweepReport;
use chatkit_leads_core::{
    ChatKitClient, LeadError, LeadOutcome, LeadRecord, LeadStatus, LeadStore, Mailer, ThreadId,
};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde::Serialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::settings::{Mode, Settings};

/// What the binary does.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP, with the background sweep (the default).
    Serve,
    /// What the store and ChatKit say about a thread, and what a trigger
    /// would do now and why. Writes nothing.
    Inspect {
        /// The ChatKit thread id (`cthr_…`).
        thread: String,
    },
    /// The lead email of a thread as the next attempt would send it, also
    /// when a trigger would not send now. Sends and writes nothing but FILE.
    Preview {
        /// The ChatKit thread id (`cthr_…`).
        thread: String,
        /// Write it to FILE: the HTML part when FILE ends in `.html`, else
        /// the whole message (`.eml`). Default: the message on stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Ask the model for the summary too (costs one model call).
        #[arg(long)]
        with_summary: bool,
    },
    /// Send a thread's lead now. A lead already sent goes out again only
    /// with --force, marked `[Resend]`. With --sink, deliver the lead's
    /// failed or disabled events to that sink again instead (same event
    /// ids), e.g. after fixing the receiver.
    Resend {
        /// The ChatKit thread id (`cthr_…`).
        thread: String,
        /// Send again although the lead was sent.
        #[arg(long, conflicts_with = "sink")]
        force: bool,
        /// A sink id as `inspect` shows it (`webhook:default`, `slack`).
        #[arg(long, value_name = "SINK")]
        sink: Option<String>,
    },
    /// Run one sweep now: recover chats no trigger reached.
    Sweep {
        /// Only say what the sweep would do; send and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check that the store, the mailer and OpenAI answer with these
    /// settings (sends nothing).
    Check,
}

/// How a command ended; the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It did what was asked.
    Done = 0,
    /// A dependency (store, ChatKit, mailer) failed, or `check` found one
    /// that does not answer.
    Dependency = 1,
    /// Invalid settings or arguments.
    Settings = 2,
    /// Nothing was sent: `resend` was refused or the thread is not ready.
    NotSent = 3,
    /// ChatKit has no such thread.
    NotFound = 4,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// Runs `command` (anything but `serve`) and prints its answer.
pub async fn run(command: Command, app: &App, settings: &Settings, json: bool) -> Exit {
    let out = Output { json };
    match command {
        Command::Serve => Exit::Settings,
        Command::Inspect { thread } => match parse(&thread, &out) {
            Ok(thread) => inspect(app, &thread, &out).await,
            Err(exit) => exit,
        },
        Command::Preview {
            thread,
            out: file,
            with_summary,
        } => match parse(&thread, &out) {
            Ok(thread) => preview(app, &thread, file.as_deref(), with_summary, &out).await,
            Err(exit) => exit,
        },
        Command::Resend {
            thread,
            force,
            sink,
        } => match (parse(&thread, &out), sink) {
            (Ok(thread), Some(sink)) => redeliver(app, &thread, &sink, &out).await,
            (Ok(thread), None) => resend(app, &thread, force, &out).await,
            (Err(exit), _) => exit,
        },
        Command::Sweep { dry_run } => sweep(app, settings, dry_run, &out).await,
        Command::Check => check(app, settings, &out).await,
    }
}

/// Prints answers as text or JSON, and errors to stderr (text) or as
/// `{"error": …}` on stdout (JSON).
struct Output {
    json: bool,
}

impl Output {
    fn answer(&self, value: &Value, text: impl FnOnce() -> String) {
        if self.json {
            println!("{value:#}");
        } else {
            print!("{}", text());
        }
    }

    fn fail(&self, exit: Exit, error: &dyn std::fmt::Display) -> Exit {
        if self.json {
            println!(
                "{:#}",
                json!({ "error": error.to_string(), "exit": exit as u8 })
            );
        } else {
            eprintln!("error: {error}");
        }
        exit
    }

    fn lead_error(&self, err: &LeadError) -> Exit {
        self.fail(exit_of(err), err)
    }
}

fn exit_of(err: &LeadError) -> Exit {
    match err {
        LeadError::ThreadNotFound(_) => Exit::NotFound,
        LeadError::BadRequest(_) => Exit::Settings,
        _ => Exit::Dependency,
    }
}

fn parse(raw: &str, out: &Output) -> Result<ThreadId, Exit> {
    ThreadId::parse(raw).map_err(|err| out.fail(Exit::Settings, &format!("thread id: {err}")))
}

async fn inspect(app: &App, thread: &ThreadId, out: &Output) -> Exit {
    let quiet = app.workflow.config().quiet_period;
    let explanation = match app.workflow.explain(thread, quiet).await {
        Ok(explanation) => explanation,
        Err(err) => return out.lead_error(&err),
    };
    let Explanation {
        record,
        thread: facts,
        verdict,
    } = &explanation;
    let value = json!({
        "thread_id": thread.as_str(),
        "record": record.as_ref().map(record_json),
        "thread": facts,
        "verdict": verdict_json(verdict),
    });
    out.answer(&value, || {
        let mut text = format!("thread   {}\n", thread.as_str());
        match record {
            Some(record) => text.push_str(&record_text(record)),
            None => text.push_str("record   none: no trigger or sweep has looked at it\n"),
        }
        if let Some(facts) = facts {
            text.push_str(&format!(
                "chatkit  {} items, {} from the customer, {} from the assistant; created {}; \
                 last activity {}\n",
                facts.items,
                facts.customer_messages,
                facts.assistant_messages,
                time(facts.created_at),
                facts.last_activity_at.map_or("never".to_owned(), time),
            ));
            text.push_str(&format!(
                "contact  phone {}, email {}\n",
                found(facts.phone_found),
                found(facts.email_found)
            ));
            if let Some(pages) = facts.truncated_after_pages {
                text.push_str(&format!("         transcript cut after {pages} pages\n"));
            }
        }
        text.push_str(&format!("verdict  {verdict}\n"));
        text
    });
    match verdict {
        Verdict::Fails(err) => exit_of(err),
        _ => Exit::Done,
    }
}

/// The record as stored, but the kept summary only as `summary_kept` and
/// without the lead email's subject (both carry customer details).
fn record_json(record: &LeadRecord) -> Value {
    let mut value = json!(record);
    if let Some(fields) = value.as_object_mut() {
        fields.remove("summary_cache");
        fields.insert(
            "summary_kept".to_owned(),
            json!(record.summary_cache.is_some()),
        );
        if let Some(told) = fields.get_mut("told").and_then(Value::as_object_mut) {
            told.remove("subject");
        }
        // The events carry the lead document: show what they are, not it.
        if let Some(events) = fields
            .get_mut("outbox")
            .and_then(|o| o.get_mut("events"))
            .and_then(Value::as_array_mut)
        {
            for event in events.iter_mut().filter_map(Value::as_object_mut) {
                event.remove("document");
            }
        }
    }
    value
}

fn record_text(record: &LeadRecord) -> String {
    let mut text = format!(
        "record   {} after {} attempt(s); created {}, updated {}\n",
        record.status.as_str(),
        record.attempts,
        time(record.created_at),
        time(record.updated_at),
    );
    match record.status {
        LeadStatus::Sending => text.push_str(&format!(
            "lease    held until {}\n",
            time(record.lock_expires_at)
        )),
        LeadStatus::Error => text.push_str(&format!(
            "cooldown until {}\n",
            time(record.lock_expires_at)
        )),
        _ => {}
    }
    if let (Some(sent_at), Some(id)) = (record.sent_at, &record.message_id) {
        text.push_str(&format!("sent     {} as {id}\n", time(sent_at)));
    }
    let told = &record.told;
    if !told.is_empty() {
        text.push_str(&format!(
            "told     {} items{}, {} update(s){}; last look for news {}\n",
            told.items,
            told.last_item
                .as_deref()
                .map_or(String::new(), |id| format!(" through {id}")),
            told.updates,
            told.updated_at
                .map_or(String::new(), |at| format!(" (last {})", time(at))),
            told.checked_at.map_or("never".to_owned(), time),
        ));
    }
    if let Some(reason) = &record.last_reason {
        text.push_str(&format!("last     {reason}\n"));
    }
    if let Some(error) = &record.last_error {
        text.push_str(&format!("error    {error}\n"));
    }
    if let Some(started) = record
        .delivery_started_at
        .filter(|_| record.sent_at.is_none())
    {
        text.push_str(&format!(
            "unknown  a delivery started {} and its outcome was never recorded\n",
            time(started)
        ));
    }
    if record.summary_cache.is_some() {
        text.push_str(
            "summary  kept: a retry of the same transcript sends it without a model call\n",
        );
    }
    for delivery in &record.outbox.deliveries {
        let event = usize::try_from(delivery.event)
            .ok()
            .and_then(|i| record.outbox.events.get(i))
            .map_or("event", |e| e.kind.name());
        text.push_str(&format!(
            "sink     {} {event} {}: {} after {} attempt(s){}\n",
            delivery.sink,
            delivery.id,
            delivery_state(&delivery.state),
            delivery.attempts,
            delivery
                .last_status
                .map_or(String::new(), |s| format!(", last answer HTTP {s}")),
        ));
    }
    match record.due_at {
        Some(due) => text.push_str(&format!("sweep    looks again {}\n", time(due))),
        None => text.push_str("sweep    nothing left to look at\n"),
    }
    text
}

async fn preview(
    app: &App,
    thread: &ThreadId,
    file: Option<&Path>,
    with_summary: bool,
    out: &Output,
) -> Exit {
    let email = match app.workflow.preview(thread, with_summary).await {
        Ok(email) => email,
        Err(err) => return out.lead_error(&err),
    };
    let html = file.is_some_and(|f| {
        f.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("html"))
    });
    let bytes = if html {
        email.html.as_bytes()
    } else {
        &email.mime
    };
    if let Some(file) = file
        && let Err(err) = std::fs::write(file, bytes)
    {
        let error = format!("cannot write {}: {}", file.display(), err.kind());
        return out.fail(Exit::Settings, &error);
    }
    let value = json!({
        "thread_id": thread.as_str(),
        "subject": email.subject,
        "message_id": email.message_id,
        "out": file.map(|f| f.display().to_string()),
        "eml": file.is_none().then(|| String::from_utf8_lossy(&email.mime)),
    });
    out.answer(&value, || match file {
        Some(file) => format!("wrote {} ({} bytes)\n", file.display(), bytes.len()),
        None => String::from_utf8_lossy(&email.mime).into_owned(),
    });
    Exit::Done
}

async fn resend(app: &App, thread: &ThreadId, force: bool, out: &Output) -> Exit {
    let (sent, outcome) = match app.workflow.resend(thread, force).await {
        Ok(Resend::Sent(outcome)) => (true, outcome),
        Ok(Resend::NotSent(outcome)) => (false, outcome),
        Err(err) => return out.lead_error(&err),
    };
    let value = json!({
        "thread_id": thread.as_str(),
        "sent": sent,
        "response": outcome.to_response(),
    });
    out.answer(&value, || match (&outcome, sent) {
        (LeadOutcome::Sent { message_id, .. }, true) => format!("sent as {message_id}\n"),
        (LeadOutcome::AlreadySent { sent_at }, false) => format!(
            "not sent: the lead went out {}; --force sends it again, marked [Resend]\n",
            sent_at.map_or("earlier".to_owned(), time)
        ),
        (other, _) => format!("not sent: {}\n", Verdict::Answer(other.clone())),
    });
    if sent { Exit::Done } else { Exit::NotSent }
}

async fn redeliver(app: &App, thread: &ThreadId, sink: &str, out: &Output) -> Exit {
    let report = match app.workflow.redeliver(thread, sink).await {
        Ok(report) => report,
        Err(err) => return out.lead_error(&LeadError::Store(err)),
    };
    let attempts: Vec<Value> = report
        .iter()
        .flat_map(|r| &r.attempts)
        .map(|(sink, id, state)| json!({"sink": sink, "event_id": id, "state": state}))
        .collect();
    let value = json!({
        "thread_id": thread.as_str(),
        "sink": sink,
        "rearmed": report.is_some(),
        "attempts": attempts,
    });
    out.answer(&value, || match &report {
        None => format!("nothing to resend: no failed or disabled delivery to {sink}\n"),
        Some(report) => report
            .attempts
            .iter()
            .map(|(sink, id, state)| format!("{sink} {id}: {}\n", delivery_state(state)))
            .collect(),
    });
    match report {
        Some(report)
            if report
                .attempts
                .iter()
                .any(|(_, _, state)| matches!(state, DeliveryState::Delivered { .. })) =>
        {
            Exit::Done
        }
        _ => Exit::NotSent,
    }
}

/// A delivery's state in words.
fn delivery_state(state: &DeliveryState) -> String {
    match state {
        DeliveryState::Due { at } => format!("due {}", time(*at)),
        DeliveryState::Sending { until } => format!("being sent (claim until {})", time(*until)),
        DeliveryState::Delivered { at } => format!("delivered {}", time(*at)),
        DeliveryState::Failed => "failed (resend --sink retries it)".to_owned(),
        DeliveryState::Disabled => {
            "disabled: the receiver answered 410 (resend --sink retries it)".to_owned()
        }
    }
}

async fn sweep(app: &App, settings: &Settings, dry_run: bool, out: &Output) -> Exit {
    let sweep = settings.sweep();
    let report = if dry_run {
        app.workflow.sweep_dry_run(&sweep).await
    } else {
        app.workflow.sweep(&sweep).await
    };
    let report = match report {
        Ok(report) => report,
        Err(err) => return out.lead_error(&err),
    };
    let failed = report
        .leads
        .iter()
        .any(|lead| matches!(lead.verdict, Verdict::Fails(_)));
    out.answer(&report_json(&report, dry_run), || {
        report_text(&report, dry_run)
    });
    if failed { Exit::Dependency } else { Exit::Done }
}

fn report_json(report: &SweepReport, dry_run: bool) -> Value {
    let leads: Vec<Value> = report
        .leads
        .iter()
        .map(|lead| json!({ "thread_id": lead.thread_id.as_str(), "verdict": verdict_json(&lead.verdict) }))
        .collect();
    let mut value = json!(report.summary());
    value["dry_run"] = json!(dry_run);
    value["leads"] = json!(leads);
    value
}

fn report_text(report: &SweepReport, dry_run: bool) -> String {
    let counts = report.summary();
    let mut text = format!(
        "{}{} user(s) listed in {} call(s), {} new thread(s) found, {} due thread(s) {}, \
         {} sent, {} past the horizon, {} left for later\n",
        if dry_run { "dry run: " } else { "" },
        counts.users_listed,
        counts.list_calls,
        counts.threads_found,
        counts.due,
        if dry_run { "looked at" } else { "run" },
        counts.sent,
        counts.expired,
        counts.deferred,
    );
    for lead in &report.leads {
        text.push_str(&format!("{}  {}\n", lead.thread_id.as_str(), lead.verdict));
    }
    text
}

/// One dependency's check.
#[derive(Serialize)]
struct Check {
    name: &'static str,
    target: String,
    ok: bool,
    error: Option<String>,
}

async fn check(app: &App, settings: &Settings, out: &Output) -> Exit {
    let ports = app.workflow.ports();
    let openai = match app.mode {
        Mode::Live { .. } => settings.openai_base_url.clone(),
        Mode::Preview => "offline preview: bundled sample threads".to_owned(),
    };
    let checks = [
        Check::new(
            "store",
            crate::app::scheme(&app.backends.store),
            ports.store.ping().await.err(),
        ),
        Check::new(
            "mailer",
            crate::app::scheme(&app.backends.mailer),
            ports
                .mailer
                .check(&app.workflow.config().envelope.from)
                .await
                .err(),
        ),
        Check::new("chatkit", &openai, ports.chatkit.check().await.err()),
    ];
    let ok = checks.iter().all(|c| c.ok);
    let mode = match app.mode {
        Mode::Live { .. } => "live",
        Mode::Preview => "preview",
    };
    out.answer(&json!({ "ok": ok, "mode": mode, "checks": checks }), || {
        let mut text = format!("settings ok ({mode} mode)\n");
        for check in &checks {
            match &check.error {
                None => text.push_str(&format!("{:8} ok ({})\n", check.name, check.target)),
                Some(error) => text.push_str(&format!(
                    "{:8} FAILED ({}): {error}\n",
                    check.name, check.target
                )),
            }
        }
        text
    });
    if ok { Exit::Done } else { Exit::Dependency }
}

impl Check {
    fn new(name: &'static str, target: &str, error: Option<impl std::fmt::Display>) -> Self {
        Self {
            name,
            target: target.to_owned(),
            ok: error.is_none(),
            error: error.map(|e| e.to_string()),
        }
    }
}

/// The verdict as JSON: its kind, the `/lead` answer or the error, and the
/// one-line explanation.
fn verdict_json(verdict: &Verdict) -> Value {
    let mut value = match verdict {
        Verdict::Answer(outcome) => json!({ "kind": "answer", "response": outcome.to_response() }),
        Verdict::WouldSend {
            attempt,
            possible_duplicate,
        } => {
            json!({ "kind": "send", "attempt": attempt, "possible_duplicate": possible_duplicate })
        }
        Verdict::WouldUpdate {
            new_messages,
            possible_duplicate,
        } => {
            json!({ "kind": "update", "new_messages": new_messages, "possible_duplicate": possible_duplicate })
        }
        Verdict::Fails(err) => {
            json!({ "kind": "error", "status": err.status_code(), "error": err.to_string() })
        }
    };
    value["text"] = Value::String(verdict.to_string());
    value
}

fn time(unix: i64) -> String {
    DateTime::<Utc>::from_timestamp(unix, 0).map_or_else(|| unix.to_string(), |t| t.to_rfc3339())
}

fn found(yes: bool) -> &'static str {
    if yes { "found" } else { "not found" }
}
