//! Identifiers that cross the boundary: thread ids, user ids, lease ids.
//!
//! Each type is parsed once at the edge; a value that exists is valid, so code
//! inside the crate never re-validates it.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    /// A thread id must be `cthr_` followed by 1–128 of `[A-Za-z0-9_-]`.
    #[error("thread id must be `cthr_` followed by 1-128 letters, digits, `_` or `-`")]
    InvalidThreadId,
    /// A user id must be 1–256 printable characters.
    #[error("user id must be 1-256 printable characters")]
    InvalidUserId,
}

/// Whether `raw` is `prefix` followed by 1–`max_suffix` of `[A-Za-z0-9_-]`,
/// the form of OpenAI's thread and workflow ids.
pub(crate) fn is_prefixed_token(raw: &str, prefix: &str, max_suffix: usize) -> bool {
    raw.strip_prefix(prefix).is_some_and(|suffix| {
        !suffix.is_empty()
            && suffix.len() <= max_suffix
            && suffix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

/// A ChatKit thread id (`cthr_…`): the key for idempotency, emails and debugging.
///
/// ```
/// use chatkit_leads_core::ThreadId;
/// assert!(ThreadId::parse("cthr_abc-123").is_ok());
/// assert!(ThreadId::parse("cthr_").is_err());
/// assert!(ThreadId::parse("cthr_../etc").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ThreadId(String);

impl ThreadId {
    /// The fixed prefix ChatKit gives every thread id.
    pub const PREFIX: &'static str = "cthr_";
    /// Longest accepted suffix after the prefix.
    pub const MAX_SUFFIX_LEN: usize = 128;

    /// Validates `raw` as a thread id.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        if is_prefixed_token(raw, Self::PREFIX, Self::MAX_SUFFIX_LEN) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(IdError::InvalidThreadId)
        }
    }

    /// The id as ChatKit spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The OpenAI platform logs page for this thread.
    pub fn logs_url(&self) -> String {
        format!("https://platform.openai.com/logs/{}", self.0)
    }
}

impl<'de> Deserialize<'de> for ThreadId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ThreadId({})", self.0)
    }
}

/// The ChatKit `user`: a stable per-browser id (`anon_<uuid>` in the seed) that
/// scopes which threads a session may read.
///
/// Free-form but bounded: 1–256 characters, no control or invisible characters.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    /// Longest accepted user id, in characters.
    pub const MAX_LEN: usize = 256;

    /// Validates `raw` (surrounding whitespace is trimmed).
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let trimmed = raw.trim();
        let valid = !trimmed.is_empty()
            && trimmed.chars().count() <= Self::MAX_LEN
            && !trimmed
                .chars()
                .any(|c| c.is_control() || crate::text::is_invisible(c));
        if valid {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(IdError::InvalidUserId)
        }
    }

    /// The id as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for UserId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({})", self.0)
    }
}

/// Identifies one holder of a thread's send lease; a store only accepts
/// `mark_*` calls that present the lease id it handed out last.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeaseId(String);

impl LeaseId {
    /// A fresh random lease id (UUID v4).
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// Wraps a lease id read back from a store.
    pub fn from_stored(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The id as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LeaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LeaseId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_id_accepts_the_documented_alphabet_and_length() {
        assert!(ThreadId::parse("cthr_a").is_ok());
        assert!(ThreadId::parse(&format!("cthr_{}", "a".repeat(128))).is_ok());
        assert!(ThreadId::parse(&format!("cthr_{}", "a".repeat(129))).is_err());
        assert!(ThreadId::parse("cthr_a b").is_err());
        assert!(ThreadId::parse("CTHR_abc").is_err());
        assert!(ThreadId::parse("cthr_ab\u{200b}c").is_err());
        assert!(ThreadId::parse("thr_abc").is_err());
    }

    #[test]
    fn user_id_rejects_control_and_invisible_characters() {
        assert_eq!(UserId::parse("  anon_1 ").map(|u| u.0), Ok("anon_1".into()));
        assert!(UserId::parse("anon\r\nx").is_err());
        assert!(UserId::parse("anon\u{202e}x").is_err());
        assert!(UserId::parse("   ").is_err());
        assert!(UserId::parse(&"u".repeat(257)).is_err());
    }
}
