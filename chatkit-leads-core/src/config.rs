//! Workflow settings: lease timing, policies, limits. Defaults follow the
//! seed.

use std::time::Duration;

use crate::email::{EmailCopy, Envelope};
use crate::photos::PhotoPolicy;
use crate::shop::ShopProfile;
use crate::summary::TranscriptBudget;

/// Lease, cooldown and record lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeasePolicy {
    /// How long one send attempt may hold the thread (default 120 s).
    pub lease: Duration,
    /// How long a failed attempt blocks retries (default 60 s).
    pub error_cooldown: Duration,
    /// How long records are kept (default 30 days).
    pub record_ttl: Duration,
}

impl Default for LeasePolicy {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(120),
            error_cooldown: Duration::from_secs(60),
            record_ttl: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// When a lead with contact details is sent. In the
/// settings file: `always`, `require_handoff_ready`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadinessPolicy {
    /// Send as soon as the customer left a phone number or email.
    #[default]
    Always,
    /// Send only when the summary says `handoff_ready`; otherwise release the
    /// lease and answer `not_ready`. A failed summary still sends.
    RequireHandoffReady,
}

/// What to do when an earlier attempt started delivery and never recorded
/// the outcome. In the settings file: `resend_flagged`,
/// `alert_only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicatePolicy {
    /// Send the lead again, flagged as a possible duplicate.
    #[default]
    ResendFlagged,
    /// Send the shop a short alert instead of the full lead.
    AlertOnly,
}

/// The sent memo ([`LeadWorkflow`](crate::LeadWorkflow) remembers threads it
/// has read as sent and answers their triggers `already_sent` without a
/// store read, for as long as that answer cannot change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoPolicy {
    /// Most threads remembered (default 10 000, about a megabyte); 0 turns
    /// the memo off and every trigger reads the store.
    pub capacity: usize,
    /// Longest a thread is remembered (default 300 s): a record changed by
    /// hand in the store is honoured within this time.
    pub max_age: Duration,
}

impl Default for MemoPolicy {
    fn default() -> Self {
        Self {
            capacity: 10_000,
            max_age: Duration::from_secs(300),
        }
    }
}

/// Update emails: what the shop hears when a customer keeps writing after
/// the lead went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpdatePolicy {
    /// Send an update email (threaded under the lead) when a trigger or the
    /// sweeper finds new customer messages in a sent thread (default on).
    /// Off: a sent thread always answers `already_sent` from the store.
    pub enabled: bool,
    /// At most one look at ChatKit for news per thread this often, across
    /// all instances (default 60 s); triggers in between are answered from
    /// the store alone.
    pub check_interval: Duration,
}

impl UpdatePolicy {
    /// The policy an operator's `LEADS_UPDATE_CHECK_SECONDS` sets: a look
    /// for news at most every `seconds` per thread, and 0 for no updates.
    pub fn checking_every(seconds: u64) -> Self {
        Self {
            enabled: seconds > 0,
            check_interval: Duration::from_secs(seconds),
        }
    }
}

impl Default for UpdatePolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            check_interval: Duration::from_secs(60),
        }
    }
}

/// Everything the workflow needs besides its ports.
#[derive(Debug, Clone)]
pub struct LeadConfig {
    /// The shop.
    pub shop: ShopProfile,
    /// Sender and recipients.
    pub envelope: Envelope,
    /// Email wording.
    pub copy: EmailCopy,
    /// Lease timing.
    pub lease: LeasePolicy,
    /// Readiness policy.
    pub readiness: ReadinessPolicy,
    /// Duplicate policy.
    pub duplicates: DuplicatePolicy,
    /// Update emails.
    pub updates: UpdatePolicy,
    /// The sent memo.
    pub memo: MemoPolicy,
    /// Customer photos in the email (used when the workflow has a
    /// [`crate::PhotoFetcher`]).
    pub photos: PhotoPolicy,
    /// Answer `not_idle` while the newest item is younger than this (off by default).
    pub quiet_period: Option<Duration>,
    /// After a trigger that found nothing to send (no customer message, no
    /// contact, not ready), when the sweeper looks at the thread again
    /// (default 600 s).
    pub recheck_after: Duration,
    /// Summary timeout; must be shorter than the lease (default 45 s).
    pub summary_timeout: Duration,
    /// Most item pages fetched per thread (default 20, as the seed).
    pub max_item_pages: u32,
    /// Transcript size sent to the model.
    pub transcript_budget: TranscriptBudget,
    /// Model output budget (default 700 tokens).
    pub max_output_tokens: u32,
    /// Instructions for the model; `None` uses [`crate::summary::default_instructions`].
    pub instructions: Option<String>,
}

impl LeadConfig {
    /// Defaults for `shop`, sending to `envelope`.
    pub fn new(shop: ShopProfile, envelope: Envelope) -> Self {
        Self {
            shop,
            envelope,
            copy: EmailCopy::default(),
            lease: LeasePolicy::default(),
            readiness: ReadinessPolicy::default(),
            duplicates: DuplicatePolicy::default(),
            updates: UpdatePolicy::default(),
            memo: MemoPolicy::default(),
            photos: PhotoPolicy::default(),
            quiet_period: None,
            recheck_after: Duration::from_secs(600),
            summary_timeout: Duration::from_secs(45),
            max_item_pages: 20,
            transcript_budget: TranscriptBudget::default(),
            max_output_tokens: 700,
            instructions: None,
        }
    }
}

/// A setting combination the workflow refuses at start-up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The summary could outlive the lease, letting a second sender in.
    #[error("summary timeout ({timeout:?}) must be shorter than the lease ({lease:?})")]
    SummaryOutlivesLease {
        /// Configured summary timeout.
        timeout: Duration,
        /// Configured lease.
        lease: Duration,
    },
    /// At least one page of items must be read.
    #[error("max_item_pages must be at least 1")]
    NoItemPages,
    /// Nobody would receive the leads.
    #[error("the envelope has no recipients")]
    NoRecipients,
    /// The shop profile is incomplete.
    #[error(transparent)]
    Shop(#[from] crate::shop::ShopError),
}

impl LeadConfig {
    /// Checks the settings against each other.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.summary_timeout >= self.lease.lease {
            return Err(ConfigError::SummaryOutlivesLease {
                timeout: self.summary_timeout,
                lease: self.lease.lease,
            });
        }
        if self.max_item_pages == 0 {
            return Err(ConfigError::NoItemPages);
        }
        if self.envelope.to.is_empty() {
            return Err(ConfigError::NoRecipients);
        }
        self.shop.validate()?;
        Ok(())
    }
}

/// A setting's duration as the whole seconds records hold, capped far
/// below where adding it to a time could overflow.
pub(crate) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4)
}
