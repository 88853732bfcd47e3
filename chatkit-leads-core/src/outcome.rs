//! What a `/lead` call answered (the `reason` codes) and how errors map to
//! HTTP statuses. The table lives here once; HTTP adapters only serialise it.

use serde::Serialize;
use thiserror::Error;

use crate::ids::ThreadId;
use crate::ports::{ChatKitError, MailError, StoreError};
use crate::request::{RequestError, TriggerReason};

/// How the summary step went for a sent lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SummaryStatus {
    /// The model's summary is in the email.
    Included,
    /// The email went out without it; the reason is in Diagnostics.
    Failed(String),
}

/// The typed result of processing a lead request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadOutcome {
    /// This call sent the email.
    Sent {
        /// The trigger, echoed as the `reason`.
        trigger: TriggerReason,
        /// Mail provider's id.
        message_id: String,
        /// Whether the summary made it in.
        summary: SummaryStatus,
        /// True when an earlier attempt may have delivered too (flagged in
        /// the subject and Diagnostics).
        possible_duplicate: bool,
    },
    /// The lead went out earlier and this call sent an update email with
    /// the customer's new messages, threaded under it.
    UpdateSent {
        /// The trigger.
        trigger: TriggerReason,
        /// Mail provider's id.
        message_id: String,
        /// Which update this was (1 for the first).
        update: u32,
        /// True when an earlier attempt may have delivered this update too.
        possible_duplicate: bool,
    },
    /// Sent earlier, and nothing new for the shop (or updates are off, or
    /// ChatKit was asked for news less than the check interval ago).
    AlreadySent {
        /// When (Unix seconds).
        sent_at: Option<i64>,
    },
    /// Another call holds the send lease.
    InProgress,
    /// The last attempt failed; retry after the cooldown.
    Cooldown {
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// The customer has not written anything yet.
    EmptyThread,
    /// The customer has not given a phone number or email yet.
    MissingContact,
    /// The readiness policy said wait.
    NotReady {
        /// The model's `handoff_reason`, or `not_ready`.
        reason: String,
        /// What the model says is missing.
        missing_info: Vec<String>,
    },
    /// The chat is still active (quiet-period policy).
    NotIdle {
        /// Seconds until the chat counts as quiet.
        retry_after: u64,
    },
}

impl LeadOutcome {
    /// The `reason` field of the response.
    pub fn reason(&self) -> &str {
        match self {
            Self::Sent { trigger, .. } => trigger.as_str(),
            Self::UpdateSent { .. } => "update_sent",
            Self::AlreadySent { .. } => "already_sent",
            Self::InProgress => "in_progress",
            Self::Cooldown { .. } => "cooldown",
            Self::EmptyThread => "empty_thread",
            Self::MissingContact => "missing_contact",
            Self::NotReady { reason, .. } => reason,
            Self::NotIdle { .. } => "not_idle",
        }
    }

    /// The `sent` field: whether the lead has been emailed (now or before).
    pub fn sent(&self) -> bool {
        matches!(
            self,
            Self::Sent { .. } | Self::UpdateSent { .. } | Self::AlreadySent { .. }
        )
    }

    /// The JSON body of the 200 response.
    pub fn to_response(&self) -> LeadResponse {
        let mut response = LeadResponse {
            ok: true,
            sent: self.sent(),
            reason: self.reason().to_owned(),
            message_id: None,
            sent_at: None,
            retry_after: None,
            missing_info: None,
            possible_duplicate: None,
        };
        match self {
            Self::Sent {
                message_id,
                possible_duplicate,
                ..
            }
            | Self::UpdateSent {
                message_id,
                possible_duplicate,
                ..
            } => {
                response.message_id = Some(message_id.clone());
                response.possible_duplicate = possible_duplicate.then_some(true);
            }
            Self::AlreadySent { sent_at } => response.sent_at = *sent_at,
            Self::Cooldown { retry_after } | Self::NotIdle { retry_after } => {
                response.retry_after = Some(*retry_after);
            }
            Self::NotReady { missing_info, .. } => {
                response.missing_info = Some(missing_info.clone())
            }
            Self::InProgress | Self::EmptyThread | Self::MissingContact => {}
        }
        response
    }
}

/// The JSON body of a 200 `/lead` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeadResponse {
    /// Always true.
    pub ok: bool,
    /// Whether the lead has been emailed.
    pub sent: bool,
    /// The reason code.
    pub reason: String,
    /// With the trigger reason: the provider's message id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// With `already_sent`: Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<i64>,
    /// With `cooldown` and `not_idle`: seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// With `not_ready`: what is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_info: Option<Vec<String>>,
    /// Present (true) when this send may duplicate an earlier one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub possible_duplicate: Option<bool>,
}

/// Why a lead could not be processed. The record is left so that a later
/// trigger retries.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum LeadError {
    /// The request was refused before any I/O.
    #[error(transparent)]
    BadRequest(#[from] RequestError),
    /// ChatKit has no such thread.
    #[error("thread {0} not found")]
    ThreadNotFound(ThreadId),
    /// A ChatKit call failed.
    #[error("ChatKit call failed: {0}")]
    ChatKit(ChatKitError),
    /// The lead store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The mailer failed; the record is in `error` with a cooldown.
    #[error(transparent)]
    Mail(#[from] MailError),
}

impl LeadError {
    /// The HTTP status an adapter answers with.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::ThreadNotFound(_) => 404,
            Self::ChatKit(_) | Self::Mail(_) => 502,
            Self::Store(_) => 503,
        }
    }
}

/// The JSON body of an error response: `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorResponse {
    /// What went wrong, without secrets or message content.
    pub error: String,
}

impl From<&LeadError> for ErrorResponse {
    fn from(err: &LeadError) -> Self {
        Self {
            error: err.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_code_and_sent_flag_matches_the_spec_table() {
        let cases = [
            (
                LeadOutcome::Sent {
                    trigger: TriggerReason::Idle,
                    message_id: "m".into(),
                    summary: SummaryStatus::Included,
                    possible_duplicate: false,
                },
                "idle",
                true,
            ),
            (
                LeadOutcome::AlreadySent { sent_at: Some(1) },
                "already_sent",
                true,
            ),
            (LeadOutcome::InProgress, "in_progress", false),
            (LeadOutcome::Cooldown { retry_after: 5 }, "cooldown", false),
            (LeadOutcome::EmptyThread, "empty_thread", false),
            (LeadOutcome::MissingContact, "missing_contact", false),
            (
                LeadOutcome::NotReady {
                    reason: "not_ready".into(),
                    missing_info: vec![],
                },
                "not_ready",
                false,
            ),
            (LeadOutcome::NotIdle { retry_after: 3 }, "not_idle", false),
        ];
        for (outcome, reason, sent) in cases {
            let r = outcome.to_response();
            assert_eq!(
                (r.reason.as_str(), r.sent, r.ok),
                (reason, sent, true),
                "{outcome:?}"
            );
        }
    }

    #[test]
    fn response_carries_the_extra_field_of_each_outcome() {
        let json = |o: LeadOutcome| serde_json::to_value(o.to_response()).expect("json");
        assert_eq!(
            json(LeadOutcome::AlreadySent { sent_at: Some(7) })["sent_at"],
            7
        );
        assert_eq!(
            json(LeadOutcome::NotIdle { retry_after: 9 })["retry_after"],
            9
        );
        assert!(json(LeadOutcome::InProgress).get("message_id").is_none());
    }
}
