//! The metrics the workflow records, through the [`metrics`] facade: a
//! no-op until the application installs a recorder (the server installs a
//! Prometheus one when `LEADS_ADMIN_BIND` is set). Labels are fixed sets
//! of reason and result codes — never a thread id, user or address, so
//! the number of series stays small and nothing personal leaves.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `chatkit_leads_leads_total` | counter | `outcome` (`sent`, a reason code, or `error_<kind>`), `trigger` |
//! | `chatkit_leads_lead_duration_seconds` | histogram | `outcome` |
//! | `chatkit_leads_model_calls_total` | counter | `result` (`ok` or the failure kind) |
//! | `chatkit_leads_chatkit_requests_total` | counter | `op` (`retrieve_thread`, `list_items`, `list_threads`, `create_session`), `result` |
//! | `chatkit_leads_mail_sends_total` | counter | `result` (`ok`, `rejected`, `throttled`, `transport`) |
//! | `chatkit_leads_lease_contention_total` | counter | — (an attempt found the lease taken) |
//! | `chatkit_leads_sweeps_total` | counter | `result` (`ok`, `error`) |
//! | `chatkit_leads_sweep_recovered_total` | counter | — (leads sent by a sweep) |

use std::time::Duration;

use metrics::{counter, histogram};

use crate::outcome::{LeadError, LeadOutcome};
use crate::ports::{ChatKitError, MailError, SummaryError};
use crate::request::TriggerReason;

/// One processed trigger: its outcome and how long it took.
pub(crate) fn lead(
    trigger: &TriggerReason,
    result: &Result<LeadOutcome, LeadError>,
    elapsed: Duration,
) {
    let outcome = match result {
        Ok(LeadOutcome::Sent { .. }) => "sent".to_owned(),
        Ok(other) => reason_code(other),
        Err(err) => format!("error_{}", error_kind(err)),
    };
    counter!("chatkit_leads_leads_total", "outcome" => outcome.clone(), "trigger" => trigger.as_str().to_owned())
        .increment(1);
    histogram!("chatkit_leads_lead_duration_seconds", "outcome" => outcome)
        .record(elapsed.as_secs_f64());
}

/// A `not_ready` answer carries the model's free-text handoff reason; the
/// label keeps only the code.
fn reason_code(outcome: &LeadOutcome) -> String {
    match outcome {
        LeadOutcome::NotReady { .. } => "not_ready".to_owned(),
        other => other.reason().to_owned(),
    }
}

fn error_kind(err: &LeadError) -> &'static str {
    match err {
        LeadError::BadRequest(_) => "bad_request",
        LeadError::ThreadNotFound(_) => "not_found",
        LeadError::ChatKit(_) => "chatkit",
        LeadError::Store(_) => "store",
        LeadError::Mail(_) => "mail",
    }
}

/// One model call (timeouts included).
pub(crate) fn model_call<T>(result: &Result<T, SummaryError>) {
    let kind = match result {
        Ok(_) => "ok",
        Err(SummaryError::Refused) => "refused",
        Err(SummaryError::Incomplete(_)) => "incomplete",
        Err(SummaryError::Malformed(_)) => "malformed",
        Err(SummaryError::RateLimited) => "rate_limited",
        Err(SummaryError::Status { .. }) => "status",
        Err(SummaryError::Transport(_)) => "transport",
        Err(SummaryError::Timeout) => "timeout",
        Err(SummaryError::NotConfigured) => "not_configured",
    };
    counter!("chatkit_leads_model_calls_total", "result" => kind).increment(1);
}

/// One ChatKit REST call.
pub(crate) fn chatkit_request<T>(op: &'static str, result: &Result<T, ChatKitError>) {
    let kind = match result {
        Ok(_) => "ok",
        Err(ChatKitError::NotFound) => "not_found",
        Err(ChatKitError::Unauthorized { .. }) => "unauthorized",
        Err(ChatKitError::RateLimited) => "rate_limited",
        Err(ChatKitError::Status { .. }) => "status",
        Err(ChatKitError::Transport(_)) => "transport",
        Err(ChatKitError::Decode(_)) => "decode",
    };
    counter!("chatkit_leads_chatkit_requests_total", "op" => op, "result" => kind).increment(1);
}

/// One hand-over to the mailer.
pub(crate) fn mail_send<T>(result: &Result<T, MailError>) {
    let kind = match result {
        Ok(_) => "ok",
        Err(MailError::Rejected(_)) => "rejected",
        Err(MailError::Throttled) => "throttled",
        Err(MailError::Transport(_)) => "transport",
    };
    counter!("chatkit_leads_mail_sends_total", "result" => kind).increment(1);
}

/// An attempt found the send lease held by another.
pub(crate) fn lease_contention() {
    counter!("chatkit_leads_lease_contention_total").increment(1);
}

/// One sweep: whether it ran through, and the leads it sent.
pub(crate) fn sweep(ok: bool, recovered: usize) {
    counter!("chatkit_leads_sweeps_total", "result" => if ok { "ok" } else { "error" })
        .increment(1);
    counter!("chatkit_leads_sweep_recovered_total")
        .increment(u64::try_from(recovered).unwrap_or(u64::MAX));
}
