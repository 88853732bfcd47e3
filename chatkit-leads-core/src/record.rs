//! The idempotency record kept per thread, its stored form and the
//! version that makes every change a compare-and-set.
//!
//! A store keeps each [`LeadRecord`] whole, next to a [`Version`] it bumps on
//! every write; it never interprets a record. What a record *means* — who
//! may lease it, what a mark changes — lives once, in [`crate::lease`].
//!
//! The stored form is the record's serde representation ([`codec`]): the
//! seed's DynamoDB attribute names, epoch seconds as numbers, an unset
//! optional field left out. SQL stores keep it as a JSON document, the
//! DynamoDB store as the item's attributes, so a new field is added here
//! once (with `#[serde(default)]`) and every store carries it.

pub mod codec;
pub mod outbox;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use outbox::Outbox;

use crate::ids::{LeaseId, ThreadId};
use crate::summary::LeadSummary;

/// Longest `last_error` kept, in characters.
pub const MAX_LAST_ERROR_CHARS: usize = 500;

/// Where a thread's send stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeadStatus {
    /// Seen but never leased: a trigger or the sweeper found the thread not
    /// ready to send yet (no customer message, no contact, still active),
    /// and the sweeper looks again at `due_at`.
    Pending,
    /// A caller holds (or held) the send lease.
    Sending,
    /// The email went out; final.
    Sent,
    /// The last attempt failed; retry after `lock_expires_at` (the cooldown).
    Error,
}

impl LeadStatus {
    /// `pending`, `sending`, `sent` or `error`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Error => "error",
        }
    }

    /// Parses a stored status.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "sending" => Some(Self::Sending),
            "sent" => Some(Self::Sent),
            "error" => Some(Self::Error),
            _ => None,
        }
    }
}

/// One thread's idempotency record. Field names and meanings match the seed's
/// DynamoDB table; times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadRecord {
    /// The thread.
    pub thread_id: ThreadId,
    /// Where the send stands.
    pub status: LeadStatus,
    /// Holder of the current or last lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_id: Option<LeaseId>,
    /// While `status` is `sending`: lease expiry; while `error`: cooldown end.
    #[serde(with = "codec::seconds")]
    pub lock_expires_at: i64,
    /// First acquire.
    #[serde(with = "codec::seconds")]
    pub created_at: i64,
    /// Last change.
    #[serde(with = "codec::seconds")]
    pub updated_at: i64,
    /// Number of acquires so far (a missing count reads as 0).
    #[serde(default, with = "codec::count")]
    pub attempts: u32,
    /// When the email went out.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "codec::optional_seconds"
    )]
    pub sent_at: Option<i64>,
    /// Mail provider's message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Trigger of the last attempt (or the release reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reason: Option<String>,
    /// Last failure, at most [`MAX_LAST_ERROR_CHARS`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the store may delete the record.
    #[serde(with = "codec::seconds")]
    pub ttl: i64,
    /// Set just before handing the email to the mailer: an attempt that finds
    /// it set without `sent` knows the outcome of an earlier delivery is unknown.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "codec::optional_seconds"
    )]
    pub delivery_started_at: Option<i64>,
    /// When the sweeper should look at the thread again; unset when nothing
    /// is left to do (sent, or past the sweep horizon). Every transition
    /// keeps it: a lease is due at its expiry (its holder may die), a failed
    /// attempt at the end of its cooldown.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "codec::optional_seconds"
    )]
    pub due_at: Option<i64>,
    /// The model's summary of the transcript the last attempt sent, kept
    /// from the delivery checkpoint until the lead is sent, so that a retry
    /// of an unchanged transcript does not pay for the model again.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "codec::forgiving"
    )]
    pub summary_cache: Option<CachedSummary>,
    /// How far the shop has been told: what the lead email and the update
    /// emails since covered, and how to thread the next update under them.
    /// Records written before updates existed read as "nothing recorded,
    /// no update sent yet".
    #[serde(default, skip_serializing_if = "Told::is_empty")]
    pub told: Told,
    /// The lead's events for the sinks (webhooks, Slack) and where each
    /// delivery stands. Empty for records written before sinks existed.
    #[serde(default, skip_serializing_if = "Outbox::is_empty")]
    pub outbox: Outbox,
    /// Fields this version does not know, kept as read and written back
    /// unchanged, so an instance that is one release behind never erases
    /// what a newer one recorded (rolling upgrades).
    #[serde(flatten)]
    pub extra: ExtraFields,
}

/// A summary and the transcript it was made from.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedSummary {
    /// [`crate::Transcript::fingerprint`] of that transcript.
    pub transcript: String,
    /// The sanitised summary.
    pub summary: LeadSummary,
}

// The summary holds customer details: only the fingerprint is printable.
impl fmt::Debug for CachedSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedSummary")
            .field("transcript", &self.transcript)
            .finish_non_exhaustive()
    }
}

/// What the shop's emails about a thread have covered (the lead email
/// and any update emails). Written when the lead email goes out and with every update;
/// `checked_at` and `seen_item` also by a look for news that found nothing
/// for the shop.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Told {
    /// How many thread items the emails covered.
    #[serde(default, with = "codec::count")]
    pub items: u32,
    /// The newest item they covered; new messages are the items after it.
    /// Unknown for a lead sent before updates existed: then items created
    /// after `sent_at` are new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_item: Option<String>,
    /// The newest item the last look for news saw. Newer than `last_item`
    /// when the items since held nothing for the shop (the agent's replies
    /// only), so the next look does not fetch the thread again for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_item: Option<String>,
    /// When ChatKit was last asked for news: at most one look per
    /// thread per check interval, whatever the number of triggers.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "codec::optional_seconds"
    )]
    pub checked_at: Option<i64>,
    /// The `Message-ID` of the lead email (no angle brackets): updates
    /// reply to it, so mail clients thread them under the lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The lead email's subject; an update's is `Re: ` and this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Update emails sent.
    #[serde(default, with = "codec::count")]
    pub updates: u32,
    /// When the last update went out.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "codec::optional_seconds"
    )]
    pub updated_at: Option<i64>,
}

impl Told {
    /// Whether nothing is recorded (a record of a thread not sent yet, or
    /// sent before updates existed).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether `newest` (the id of the thread's newest item) is an item the
    /// shop was told about or the last look already saw.
    pub fn has_seen(&self, newest: &str) -> bool {
        [&self.last_item, &self.seen_item]
            .into_iter()
            .any(|id| id.as_deref() == Some(newest))
    }
}

// The subject is built from what the customer wrote: never printed.
impl fmt::Debug for Told {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Told")
            .field("items", &self.items)
            .field("last_item", &self.last_item)
            .field("seen_item", &self.seen_item)
            .field("checked_at", &self.checked_at)
            .field("message_id", &self.message_id)
            .field("updates", &self.updates)
            .field("updated_at", &self.updated_at)
            .finish_non_exhaustive()
    }
}

impl LeadRecord {
    /// Whether a lease (or cooldown) is still running at `now`.
    pub fn is_locked(&self, now: i64) -> bool {
        self.lock_expires_at > now
    }

    /// Whether the record may be leased at `now`: not sent and not locked.
    pub fn is_acquirable(&self, now: i64) -> bool {
        self.status != LeadStatus::Sent && !self.is_locked(now)
    }

    /// Whether `lease_id` is the current holder.
    pub fn is_held_by(&self, lease_id: &LeaseId) -> bool {
        self.lease_id.as_ref() == Some(lease_id)
    }
}

/// Stored fields of a record that this version of the crate does not know.
///
/// `Debug` lists only their names: a newer version may keep customer data
/// there, and a record is logged in tests and diagnostics.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExtraFields(BTreeMap<String, serde_json::Value>);

impl ExtraFields {
    /// Whether no unknown field was read.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The unknown fields' names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Sets an unknown field (tests of forward compatibility).
    pub fn insert(&mut self, name: impl Into<String>, value: serde_json::Value) {
        self.0.insert(name.into(), value);
    }

    /// An unknown field's value.
    pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.0.get(name)
    }
}

impl fmt::Debug for ExtraFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

/// How many times a stored record has been written. A store sets it to 1
/// when it inserts a record and adds 1 on every replace, so "replace if the
/// version is unchanged" is a compare-and-set. Records written before
/// versions existed (a table the seed wrote) read as version 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(u64);

impl Version {
    /// The version of a record no store has versioned yet.
    pub const UNVERSIONED: Self = Self(0);

    /// A stored version number.
    pub const fn new(number: u64) -> Self {
        Self(number)
    }

    /// The number, as stored.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The version a replace of this one writes.
    pub const fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A record as a store read it, with its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The record.
    pub record: LeadRecord,
    /// Its version, the precondition of the next replace.
    pub version: Version,
}

/// The precondition of a [`LeadStore::put`](crate::LeadStore::put).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Insert: write only if the thread has no record.
    Absent,
    /// Compare-and-set: replace only if the stored version is still this one.
    Version(Version),
}

impl Expected {
    /// The version the write stores when it succeeds: 1 for an insert, the
    /// next one for a replace.
    pub const fn next_version(self) -> Version {
        match self {
            Self::Absent => Version(1),
            Self::Version(version) => version.next(),
        }
    }

    /// The precondition for writing over `current` (`None`: there was no record).
    pub fn of(current: Option<&Versioned>) -> Self {
        current.map_or(Self::Absent, |stored| Self::Version(stored.version))
    }
}

/// What a [`LeadStore::put_or_load`](crate::LeadStore::put_or_load) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// The record was stored as this version.
    Written(Version),
    /// The precondition failed; the record as it is now (`None`: there is
    /// none). Boxed: refusals are the rare case.
    Refused(Option<Box<Versioned>>),
}
