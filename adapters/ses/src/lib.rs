#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;

use std::fmt;

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::config::retry::RetryConfig;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage, VerificationStatus};
use chatkit_leads_core::{EmailAddress, MailError, Mailer, OutgoingEmail};

/// A [`Mailer`] over SES v2 `SendEmail` with raw MIME content (see the
/// [crate documentation](crate)).
///
/// Cloning is cheap and shares the SDK client.
#[derive(Clone)]
pub struct SesMailer {
    client: Client,
    configuration_set: Option<String>,
    max_message_bytes: usize,
}

/// SES v2's message size limit (40 MB, attachments and encoding included).
pub const SES_MAX_MESSAGE_BYTES: usize = 40_000_000;

impl fmt::Debug for SesMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SesMailer")
            .field("configuration_set", &self.configuration_set)
            .finish_non_exhaustive()
    }
}

impl SesMailer {
    /// A mailer sending through `client`, one attempt per send (see
    /// [`SesMailer::max_attempts`]); endpoint, region, credentials and
    /// timeouts are the client's.
    pub fn new(client: Client) -> Self {
        Self {
            client: with_attempts(&client, 1),
            configuration_set: None,
            max_message_bytes: SES_MAX_MESSAGE_BYTES,
        }
    }

    /// The largest message sent, when the account's limit is lower than
    /// SES v2's default [`SES_MAX_MESSAGE_BYTES`] (the workflow leaves
    /// photos out to fit; a larger message is refused without calling SES).
    #[must_use]
    pub fn with_max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// Sends through the SES configuration set `name` (event publishing,
    /// dedicated IPs, suppression settings).
    #[must_use]
    pub fn with_configuration_set(mut self, name: impl Into<String>) -> Self {
        self.configuration_set = Some(name.into());
        self
    }

    /// Lets the SDK make up to `attempts` attempts per send (standard retry
    /// mode; 0 counts as 1). Throttling is then retried quickly — but so are
    /// timeouts and 5xx answers, after which SES may already have accepted
    /// the message: a retry can deliver it twice.
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.client = with_attempts(&self.client, attempts.max(1));
        self
    }

    /// The configuration set, if any.
    pub fn configuration_set(&self) -> Option<&str> {
        self.configuration_set.as_deref()
    }

    /// The SDK client, with the mailer's retry setting.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// `client` with the standard retry mode capped at `attempts`.
fn with_attempts(client: &Client, attempts: u32) -> Client {
    let config = client
        .config()
        .to_builder()
        .retry_config(RetryConfig::standard().with_max_attempts(attempts))
        .build();
    Client::from_conf(config)
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        if email.mime.len() > self.max_message_bytes {
            return Err(MailError::Rejected(format!(
                "the message is {} bytes; SES takes at most {}",
                email.mime.len(),
                self.max_message_bytes
            )));
        }
        let raw = RawMessage::builder()
            .data(Blob::new(email.mime.clone()))
            .build()
            .map_err(|_| MailError::Rejected("the raw message could not be built".to_owned()))?;
        let to = email.to.iter().map(|a| a.as_str().to_owned()).collect();
        let output = self
            .client
            .send_email()
            .from_email_address(email.from.as_str())
            .destination(Destination::builder().set_to_addresses(Some(to)).build())
            .content(EmailContent::builder().raw(raw).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(|e| error::mail_error(&e))?;
        match output.message_id() {
            Some(id) if !id.is_empty() => {
                tracing::debug!(ses_message_id = id, "ses: lead email accepted");
                Ok(id.to_owned())
            }
            // Accepted without an id: delivery is likely but unconfirmed.
            _ => Err(MailError::Transport(
                "SES answered without a MessageId".to_owned(),
            )),
        }
    }

    /// Reads the identity of `from`, then of its domain: the endpoint,
    /// region and credentials work and SES will take mail from `from`
    /// (the role needs `ses:GetEmailIdentity`).
    async fn check(&self, from: &EmailAddress) -> Result<(), MailError> {
        let address = from.as_str();
        let domain = address.rsplit_once('@').map(|(_, domain)| domain);
        for identity in std::iter::once(address).chain(domain) {
            let found = self
                .client
                .get_email_identity()
                .email_identity(identity)
                .send()
                .await;
            match found {
                // Either flag says it is verified (the emulators set only
                // the status).
                Ok(found)
                    if found.verified_for_sending_status()
                        || found.verification_status() == Some(&VerificationStatus::Success) =>
                {
                    return Ok(());
                }
                Ok(_) => {
                    return Err(MailError::Rejected(
                        "the sender's SES identity is not verified for sending yet".to_owned(),
                    ));
                }
                Err(err) if error::not_found(&err) => continue,
                Err(err) => return Err(error::check_error(&err)),
            }
        }
        Err(MailError::Rejected(
            "neither the sender address nor its domain is an SES identity".to_owned(),
        ))
    }

    fn max_message_bytes(&self) -> Option<usize> {
        Some(self.max_message_bytes)
    }
}
