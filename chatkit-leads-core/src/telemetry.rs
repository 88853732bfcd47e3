//! The metrics the workflow records, through the [`metrics`] facade: a
//! no-op until the application installs a recorder (the server installs a
//! Prometheus one when `LEADS_ADMIN_BIND` is set). Labels are fixed sets
//! of reason and result codes — never a thread id, user or address, so
//! the number of series stays small and nothing personal leaves.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `chatkit_leads_leads_total` | counter | `outcome` (`sent`, a reason code, or `error_<kind>`), `trigger` (a custom one as `other`) |
//! | `chatkit_leads_lead_duration_seconds` | histogram | `outcome` |
//! | `chatkit_leads_model_calls_total` | counter | `result` (`ok` or the failure kind) |
//! | `chatkit_leads_chatkit_requests_total` | counter | `op` (`retrieve_thread`, `list_items`, `list_threads`, `create_session`), `result` |
//! | `chatkit_leads_mail_sends_total` | counter | `result` (`ok`, `rejected`, `throttled`, `transport`) |
//! | `chatkit_leads_lease_contention_total` | counter | — (an attempt found the lease taken) |
//! | `chatkit_leads_triggers_joined_total` | counter | — (a trigger shared a run already in flight for its thread) |
//! | `chatkit_leads_deliveries_total` | counter | `sink` (the operator's sink id), `result` (`delivered`, `retry`, `failed`, `disabled`) |
//! | `chatkit_leads_sweeps_total` | counter | `result` (`ok`, `error`) |
//! | `chatkit_leads_sweep_recovered_total` | counter | — (leads sent by a sweep) |

use std::time::Duration;

use metrics::{counter, histogram};

use crate::outcome::{LeadError, LeadOutcome};
use crate::ports::{ChatKitError, MailError, SummaryError};
use crate::request::TriggerReason;

/// One attempt to deliver an event to a sink, by where it left the
/// delivery. Sink ids come from the settings: a small, fixed set.
pub(crate) fn delivery(sink: &str, state: &crate::delivery::DeliveryState) {
    use crate::delivery::DeliveryState;
    let result = match state {
        DeliveryState::Delivered { .. } => "delivered",
        DeliveryState::Due { .. } | DeliveryState::Sending { .. } => "retry",
        DeliveryState::Failed => "failed",
        DeliveryState::Disabled => "disabled",
    };
    counter!("chatkit_leads_deliveries_total", "sink" => sink.to_owned(), "result" => result)
        .increment(1);
}

/// A trigger that shared the run in flight for its thread.
pub(crate) fn trigger_joined() {
    counter!("chatkit_leads_triggers_joined_total").increment(1);
}

/// One processed trigger: its outcome and how long it took.
pub(crate) fn lead(
    trigger: &TriggerReason,
    result: &Result<LeadOutcome, LeadError>,
    elapsed: Duration,
) {
    let outcome = outcome_label(result);
    counter!("chatkit_leads_leads_total", "outcome" => outcome, "trigger" => trigger_label(trigger))
        .increment(1);
    histogram!("chatkit_leads_lead_duration_seconds", "outcome" => outcome)
        .record(elapsed.as_secs_f64());
}

/// The trigger as a label: a custom trigger is whatever the page sent, so
/// it counts as `other` (one series, however many strings a client makes up).
fn trigger_label(trigger: &TriggerReason) -> &'static str {
    match trigger {
        TriggerReason::Idle => "idle",
        TriggerReason::Pagehide => "pagehide",
        TriggerReason::ChatClosed => "chat_closed",
        TriggerReason::Manual => "manual",
        TriggerReason::Sweep => "sweep",
        TriggerReason::Other(_) => "other",
    }
}

/// The outcome as a label: `sent`, the reason code, or `error_<kind>`. A
/// `not_ready` answer carries the model's free-text reason; the label keeps
/// only the code.
fn outcome_label(result: &Result<LeadOutcome, LeadError>) -> &'static str {
    match result {
        Ok(LeadOutcome::Sent { .. }) => "sent",
        Ok(LeadOutcome::UpdateSent { .. }) => "update_sent",
        Ok(LeadOutcome::AlreadySent { .. }) => "already_sent",
        Ok(LeadOutcome::InProgress) => "in_progress",
        Ok(LeadOutcome::Cooldown { .. }) => "cooldown",
        Ok(LeadOutcome::EmptyThread) => "empty_thread",
        Ok(LeadOutcome::MissingContact) => "missing_contact",
        Ok(LeadOutcome::NotReady { .. }) => "not_ready",
        Ok(LeadOutcome::NotIdle { .. }) => "not_idle",
        Err(LeadError::BadRequest(_)) => "error_bad_request",
        Err(LeadError::ThreadNotFound(_)) => "error_not_found",
        Err(LeadError::ChatKit(_)) => "error_chatkit",
        Err(LeadError::Store(_)) => "error_store",
        Err(LeadError::Mail(_)) => "error_mail",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_fixed_codes_whatever_the_client_or_the_model_wrote() {
        let custom = TriggerReason::Other("made-up-by-a-client-1234".to_owned());
        assert_eq!(trigger_label(&custom), "other");
        assert_eq!(trigger_label(&TriggerReason::ChatClosed), "chat_closed");
        let not_ready = Ok(LeadOutcome::NotReady {
            reason: "customer still deciding about the seats".to_owned(),
            missing_info: Vec::new(),
        });
        assert_eq!(outcome_label(&not_ready), "not_ready");
        let sent = Ok(LeadOutcome::Sent {
            trigger: custom,
            message_id: "m".to_owned(),
            summary: crate::outcome::SummaryStatus::Included,
            possible_duplicate: false,
        });
        assert_eq!(outcome_label(&sent), "sent");
        assert_eq!(
            outcome_label(&Err(LeadError::Mail(MailError::Throttled))),
            "error_mail"
        );
    }
}
