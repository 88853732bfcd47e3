//! The signed webhook: the lead event as JSON, signed per the Standard
//! Webhooks specification with the `standardwebhooks` crate, so any of the
//! specification's verifiers (Python, Node, Go, Rust, …) accepts it.
//!
//! Headers: `webhook-id` (the event id, the same on every retry and every
//! instance), `webhook-timestamp` (this attempt, Unix seconds: receivers
//! refuse stale ones) and `webhook-signature` (`v1,` + base64 HMAC-SHA256
//! over `id.timestamp.body`).

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use chatkit_leads_core::{Sink, SinkError, SinkEvent};
use reqwest::header::{HeaderMap, HeaderValue};
use standardwebhooks::Webhook;

use crate::error::SinkSettingsError;
use crate::target::{Target, TargetPolicy};

/// Shortest secret the specification allows, in bytes.
const MIN_SECRET_BYTES: usize = 24;

/// A signed webhook endpoint.
pub struct WebhookSink {
    id: String,
    target: Target,
    signer: Webhook,
}

// The signer holds the secret.
impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("id", &self.id)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl WebhookSink {
    /// The endpoint `name` (sink id `webhook:<name>`) posting to `url`,
    /// signing with `secret` (`whsec_` + base64 of 24 to 64 bytes).
    ///
    /// # Errors
    /// An invalid name, URL or secret, or a private target the policy
    /// refuses; the error names the endpoint, never the secret.
    pub fn new(
        name: &str,
        url: &str,
        secret: &str,
        policy: TargetPolicy,
    ) -> Result<Self, SinkSettingsError> {
        let setting = format!("webhook {name:?}");
        let valid_name = !name.is_empty()
            && name.len() <= 40
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid_name {
            return Err(SinkSettingsError::new(
                &setting,
                "needs a name of 1 to 40 letters, digits, - or _",
            ));
        }
        let Some(encoded) = secret.trim().strip_prefix("whsec_") else {
            return Err(SinkSettingsError::new(
                &setting,
                "needs a secret starting whsec_",
            ));
        };
        let signer = Webhook::new(encoded)
            .map_err(|_| SinkSettingsError::new(&setting, "has a secret that is not base64"))?;
        if decoded_len(encoded) < MIN_SECRET_BYTES {
            return Err(SinkSettingsError::new(
                &setting,
                "needs a secret of at least 24 bytes",
            ));
        }
        Ok(Self {
            id: format!("webhook:{name}"),
            target: Target::new(&setting, url, policy)?,
            signer,
        })
    }
}

/// Bytes of a base64 text (padding aside), without decoding it.
fn decoded_len(encoded: &str) -> usize {
    encoded.trim_end_matches('=').len() * 3 / 4
}

#[async_trait]
impl Sink for WebhookSink {
    fn id(&self) -> &str {
        &self.id
    }

    async fn deliver(&self, event: &SinkEvent<'_>) -> Result<u16, SinkError> {
        let body = event.payload();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let signature = self
            .signer
            .sign(event.id, now, body.as_bytes())
            .map_err(|_| SinkError::Refused("the body cannot be signed".to_owned()))?;
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("webhook-id", event.id.to_owned()),
            ("webhook-timestamp", now.to_string()),
            ("webhook-signature", signature),
        ] {
            let value = HeaderValue::from_str(&value)
                .map_err(|_| SinkError::Refused(format!("{name} is not a header value")))?;
            headers.insert(name, value);
        }
        self.target.post(headers, body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_secrets_are_checked_at_start() {
        let policy = TargetPolicy::default();
        let url = "https://crm.example.com/in";
        let good = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        assert_eq!(
            WebhookSink::new("crm", url, good, policy).expect("ok").id(),
            "webhook:crm"
        );
        for (name, secret) in [
            ("crm", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            ("crm", "whsec_c2hvcnQ="),
            ("crm", "whsec_***"),
            ("", good),
            ("has space", good),
        ] {
            let err = WebhookSink::new(name, url, secret, policy).expect_err(secret);
            assert!(!err.to_string().contains("MfKQ9"), "{err}");
        }
    }
}
