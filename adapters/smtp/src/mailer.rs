//! [`SmtpMailer`]: the core's [`Mailer`] over one SMTP server, keeping a few
//! authenticated sessions open between sends.
//!
//! The transaction is driven step by step on lettre's
//! [`AsyncSmtpConnection`] rather than through `AsyncSmtpTransport`, for two
//! reasons the workflow depends on:
//!
//! - a 4xx reply is only [`MailError::Throttled`] ("certainly not sent")
//!   when it came before the server accepted `DATA`; the transport reports
//!   the code but not the step;
//! - lettre's async client has no read timeout, so every step runs under
//!   [`SmtpConfig::timeout`]; a session abandoned mid-command must then be
//!   dropped, never handed back to a pool in an unknown state.

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chatkit_leads_core::email::OutgoingEmail;
use chatkit_leads_core::{EmailAddress, MailError, Mailer};
use lettre::Address;
use lettre::address::Envelope;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{self, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use tracing::{debug, warn};

use crate::config::{ConfigError, Security, SmtpConfig};
use crate::failure::{Cause, Failure, Step};

/// `AUTH` mechanisms we offer, in order of preference. Both send the
/// password as is, which is why [`Security::StartTls`] insists on TLS first.
const MECHANISMS: &[Mechanism] = &[Mechanism::Plain, Mechanism::Login];

/// Idle sessions kept open for the next send.
const MAX_IDLE: usize = 2;

/// Idle sessions older than this are closed rather than reused; servers
/// commonly drop idle clients after a few minutes.
const MAX_IDLE_AGE: Duration = Duration::from_secs(60);

/// Sends lead emails through an SMTP server.
///
/// The message goes out exactly as built ([`OutgoingEmail::mime`]), with the
/// envelope taken from [`OutgoingEmail::from`] and [`OutgoingEmail::to`];
/// [`Mailer::send`] returns the email's own [`OutgoingEmail::message_id`].
///
/// | What happened | [`MailError`] |
/// |---|---|
/// | a 5xx reply at any step (bad password 535, no `AUTH` 530, unknown mailbox 550, …) | `Rejected` |
/// | a 4xx reply before the server accepted `DATA` (421, 450, 451, 452, …) | `Throttled` |
/// | a 4xx reply to the transferred message | `Transport` |
/// | refused connection, TLS failure, `STARTTLS` required but not offered, timeout, dropped connection | `Transport` |
///
/// Error texts carry the step and reply code in our own words, never the
/// server's reply text, an address or the password.
///
/// Up to two authenticated sessions stay open for a minute after a send and
/// are checked with `NOOP` before reuse; if a reused session turns out to be
/// dead at `MAIL FROM`, the send moves to a fresh connection.
///
/// ```no_run
/// use chatkit_leads_core::Mailer;
/// use chatkit_leads_smtp::{SmtpConfig, SmtpMailer};
///
/// # async fn demo(email: chatkit_leads_core::email::OutgoingEmail) -> Result<(), Box<dyn std::error::Error>> {
/// let config = SmtpConfig::from_url("smtp://leads:app-password@smtp.example.com:587")?;
/// let mailer = SmtpMailer::new(config)?;
/// let message_id = mailer.send(&email).await?;
/// # Ok(()) }
/// ```
pub struct SmtpMailer {
    config: SmtpConfig,
    tls: Option<TlsParameters>,
    client_id: ClientId,
    credentials: Option<authentication::Credentials>,
    idle: Mutex<Vec<Idle>>,
}

/// A session parked between sends.
struct Idle {
    connection: AsyncSmtpConnection,
    since: Instant,
}

impl SmtpMailer {
    /// Checks `config` and prepares TLS; connects only when sending, so this
    /// needs neither the network nor a runtime.
    pub fn new(config: SmtpConfig) -> Result<Self, ConfigError> {
        if config.host.trim().is_empty() {
            return Err(ConfigError::MissingHost);
        }
        if config.timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout);
        }
        let client_id = match &config.helo_name {
            Some(name) => helo_client_id(name)?,
            None => ClientId::default(),
        };
        let tls = match config.security {
            Security::None => None,
            Security::StartTls | Security::ImplicitTls => Some(tls_parameters(&config)?),
        };
        if config.security == Security::None && config.credentials.is_some() {
            warn!(
                host = %config.host,
                "SMTP without TLS: the password will cross the network in clear text"
            );
        }
        let credentials = config.credentials.as_ref().map(|c| {
            authentication::Credentials::new(c.user().to_owned(), c.password().to_owned())
        });
        Ok(Self {
            config,
            tls,
            client_id,
            credentials,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// The configuration this mailer was built from.
    pub fn config(&self) -> &SmtpConfig {
        &self.config
    }

    /// Delivers `mime` to the envelope, on a pooled session when one is
    /// alive, else on a new one.
    async fn deliver(&self, envelope: &Envelope, mime: &[u8]) -> Result<(), Failure> {
        if let Some(mut connection) = self.checkout().await {
            match self.transaction(&mut connection, envelope, mime).await {
                Ok(()) => {
                    self.park(connection);
                    return Ok(());
                }
                Err(failure) if failure.stale_session() => {
                    debug!(step = %failure.step, "pooled SMTP session was dead; reconnecting");
                }
                Err(failure) => {
                    self.discard(connection, &failure).await;
                    return Err(failure);
                }
            }
        }
        let mut connection = self.connect().await?;
        match self.transaction(&mut connection, envelope, mime).await {
            Ok(()) => {
                self.park(connection);
                Ok(())
            }
            Err(failure) => {
                self.discard(connection, &failure).await;
                Err(failure)
            }
        }
    }

    /// Opens a session: connect (with implicit TLS if configured), greeting,
    /// `EHLO`, `STARTTLS` when required, `AUTH` when configured.
    async fn connect(&self) -> Result<AsyncSmtpConnection, Failure> {
        let implicit = match self.config.security {
            Security::ImplicitTls => self.tls.clone(),
            Security::StartTls | Security::None => None,
        };
        let host = self.config.host.as_str();
        let mut connection = self
            .step(
                Step::Connect,
                AsyncSmtpConnection::connect_tokio1(
                    (host, self.config.port),
                    Some(self.config.timeout),
                    &self.client_id,
                    implicit,
                    None,
                ),
            )
            .await?;
        if let (Security::StartTls, Some(tls)) = (self.config.security, &self.tls) {
            if !connection.can_starttls() {
                // Never fall back to plain text: that is what a downgrade
                // attack looks like.
                return Err(Failure::new(
                    Step::StartTls,
                    Cause::Insecure("STARTTLS is required but the server does not offer it"),
                ));
            }
            self.step(
                Step::StartTls,
                connection.starttls(tls.clone(), &self.client_id),
            )
            .await?;
        }
        if let Some(credentials) = &self.credentials {
            if connection
                .server_info()
                .get_auth_mechanism(MECHANISMS)
                .is_none()
            {
                return Err(Failure::new(
                    Step::Auth,
                    Cause::Unsupported("the server offers no AUTH PLAIN or LOGIN"),
                ));
            }
            self.step(Step::Auth, connection.auth(MECHANISMS, credentials))
                .await?;
        }
        Ok(connection)
    }

    /// `MAIL FROM`, `RCPT TO` for each recipient, `DATA`, the message.
    async fn transaction(
        &self,
        connection: &mut AsyncSmtpConnection,
        envelope: &Envelope,
        mime: &[u8],
    ) -> Result<(), Failure> {
        let server = connection.server_info();
        let mut parameters = Vec::new();
        if !mime.is_ascii() {
            if !server.supports_feature(Extension::EightBitMime) {
                return Err(Failure::new(
                    Step::MailFrom,
                    Cause::Unsupported("the message is 8-bit but the server lacks 8BITMIME"),
                ));
            }
            parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let non_ascii_address = envelope
            .from()
            .into_iter()
            .chain(envelope.to())
            .any(|address: &Address| !AsRef::<str>::as_ref(address).is_ascii());
        if non_ascii_address {
            if !server.supports_feature(Extension::SmtpUtfEight) {
                return Err(Failure::new(
                    Step::MailFrom,
                    Cause::Unsupported("an address is not ASCII but the server lacks SMTPUTF8"),
                ));
            }
            parameters.push(MailParameter::SmtpUtfEight);
        }

        let from = envelope.from().cloned();
        self.step(
            Step::MailFrom,
            connection.command(Mail::new(from, parameters)),
        )
        .await?;
        for recipient in envelope.to() {
            self.step(
                Step::RcptTo,
                connection.command(Rcpt::new(recipient.clone(), Vec::new())),
            )
            .await?;
        }
        self.step(Step::Data, connection.command(Data)).await?;
        self.step(Step::Message, connection.message(mime)).await?;
        Ok(())
    }

    /// Runs one step under the configured timeout.
    async fn step<T>(
        &self,
        step: Step,
        future: impl Future<Output = Result<T, SmtpError>>,
    ) -> Result<T, Failure> {
        match tokio::time::timeout(self.config.timeout, future).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(Failure::new(step, Cause::Smtp(error))),
            Err(_elapsed) => Err(Failure::new(step, Cause::TimedOut(self.config.timeout))),
        }
    }

    /// The most recently parked session that is young enough and answers
    /// `NOOP`; others are closed.
    async fn checkout(&self) -> Option<AsyncSmtpConnection> {
        loop {
            let idle = self.lock_idle().pop()?;
            if idle.since.elapsed() > MAX_IDLE_AGE {
                continue;
            }
            let mut connection = idle.connection;
            let alive = tokio::time::timeout(self.config.timeout, connection.test_connected())
                .await
                .unwrap_or(false);
            if alive {
                debug!("reusing an SMTP session");
                return Some(connection);
            }
        }
    }

    /// Keeps a healthy session for the next send.
    fn park(&self, connection: AsyncSmtpConnection) {
        if connection.has_broken() {
            return;
        }
        let mut idle = self.lock_idle();
        idle.retain(|parked| parked.since.elapsed() <= MAX_IDLE_AGE);
        if idle.len() < MAX_IDLE {
            idle.push(Idle {
                connection,
                since: Instant::now(),
            });
        }
    }

    /// Closes a session after a failure: politely (`QUIT`) when the server
    /// answered and the session is still in step, else by dropping it.
    async fn discard(&self, mut connection: AsyncSmtpConnection, failure: &Failure) {
        if failure.server_answered() {
            // Best effort within the timeout; the outcome is already decided.
            let _ = tokio::time::timeout(self.config.timeout, connection.abort()).await;
        }
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        // A panic elsewhere cannot leave the list half-changed; keep using it.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        let started = Instant::now();
        let envelope = envelope_of(email)?;
        let result = self.deliver(&envelope, &email.mime).await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok(()) => {
                debug!(
                    elapsed_ms,
                    recipients = envelope.to().len(),
                    "SMTP delivery accepted"
                );
                Ok(email.message_id.clone())
            }
            Err(failure) => {
                let error = failure.to_mail_error();
                warn!(
                    elapsed_ms,
                    step = %failure.step,
                    code = failure.code(),
                    error = %error,
                    "SMTP delivery failed"
                );
                Err(error)
            }
        }
    }

    /// Opens a session up to `AUTH` (TLS and credentials checked) and quits.
    async fn check(&self, _from: &EmailAddress) -> Result<(), MailError> {
        let mut connection = self.connect().await.map_err(|f| f.to_mail_error())?;
        // The check passed once AUTH did; a slow QUIT changes nothing.
        let _ = tokio::time::timeout(self.config.timeout, connection.quit()).await;
        Ok(())
    }
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let idle = self.idle.try_lock().map(|idle| idle.len()).ok();
        f.debug_struct("SmtpMailer")
            .field("config", &self.config)
            .field("client_id", &self.client_id)
            .field("idle_sessions", &idle)
            .finish_non_exhaustive()
    }
}

/// The SMTP envelope of `email`; an address lettre cannot use means the
/// message certainly cannot be sent.
fn envelope_of(email: &OutgoingEmail) -> Result<Envelope, MailError> {
    let parse = |address: &str| {
        Address::from_str(address)
            .map_err(|_| MailError::Rejected("an envelope address is not usable for SMTP".into()))
    };
    let from = parse(email.from.as_str())?;
    let to = email
        .to
        .iter()
        .map(|address| parse(address.as_str()))
        .collect::<Result<Vec<_>, _>>()?;
    if to.is_empty() {
        return Err(MailError::Rejected("the email has no recipients".into()));
    }
    Envelope::new(Some(from), to)
        .map_err(|_| MailError::Rejected("the envelope is not usable for SMTP".into()))
}

/// The `EHLO` argument: an IP address literal or a plain domain name (so no
/// spaces or line breaks can reach the command line).
fn helo_client_id(name: &str) -> Result<ClientId, ConfigError> {
    match name.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => Ok(ClientId::Ipv4(ip)),
        Ok(IpAddr::V6(ip)) => Ok(ClientId::Ipv6(ip)),
        Err(_) => {
            let valid = !name.is_empty()
                && name.len() <= 255
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if valid {
                Ok(ClientId::Domain(name.to_owned()))
            } else {
                Err(ConfigError::HeloName)
            }
        }
    }
}

/// TLS for `config.host`, trusting the Mozilla roots plus `config.tls_root`.
fn tls_parameters(config: &SmtpConfig) -> Result<TlsParameters, ConfigError> {
    let mut builder = TlsParameters::builder(config.host.clone());
    if let Some(pem) = &config.tls_root {
        // lettre accepts a PEM without certificates and trusts nothing extra;
        // a misconfigured file should fail loudly instead.
        if !pem
            .windows(b"-----BEGIN CERTIFICATE-----".len())
            .any(|w| w == b"-----BEGIN CERTIFICATE-----")
        {
            return Err(ConfigError::TlsRoot("no CERTIFICATE block found".into()));
        }
        let certificate =
            Certificate::from_pem(pem).map_err(|e| ConfigError::TlsRoot(e.to_string()))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build().map_err(|e| ConfigError::Tls(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helo_names_must_be_domains_or_ips() {
        assert!(matches!(
            helo_client_id("mx.example.com"),
            Ok(ClientId::Domain(_))
        ));
        assert!(matches!(helo_client_id("192.0.2.1"), Ok(ClientId::Ipv4(_))));
        assert!(matches!(helo_client_id("::1"), Ok(ClientId::Ipv6(_))));
        for bad in ["", "bad name", "x\r\nRCPT TO:<a@b>", "ünïcode"] {
            assert_eq!(helo_client_id(bad), Err(ConfigError::HeloName), "{bad:?}");
        }
    }

    #[test]
    fn new_rejects_unusable_configs() {
        let base = SmtpConfig::new("mail.example.com", Security::StartTls);
        assert!(matches!(
            SmtpMailer::new(SmtpConfig {
                host: " ".into(),
                ..base.clone()
            }),
            Err(ConfigError::MissingHost)
        ));
        assert!(matches!(
            SmtpMailer::new(base.clone().with_timeout(Duration::ZERO)),
            Err(ConfigError::ZeroTimeout)
        ));
        assert!(matches!(
            SmtpMailer::new(base.clone().with_helo_name("two words")),
            Err(ConfigError::HeloName)
        ));
        assert!(matches!(
            SmtpMailer::new(base.clone().with_tls_root(b"not a certificate".to_vec())),
            Err(ConfigError::TlsRoot(_))
        ));
        assert!(SmtpMailer::new(base).is_ok());
    }
}
