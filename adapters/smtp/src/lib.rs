//! # chatkit-leads-smtp
//!
//! Sends lead emails through an SMTP server: [`SmtpMailer`] implements the
//! core's [`Mailer`](chatkit_leads_core::Mailer) over STARTTLS (required,
//! never silently skipped), implicit TLS, or — for local development only —
//! plain TCP, with `AUTH PLAIN`/`LOGIN` and a timeout on every step.
//!
//! The message is sent exactly as the core built it
//! ([`OutgoingEmail::mime`](chatkit_leads_core::email::OutgoingEmail::mime));
//! errors follow the core's promise: [`MailError::Rejected`] and
//! [`MailError::Throttled`] mean the message was certainly not sent,
//! [`MailError::Transport`] means it is unknown. Neither errors nor logs
//! carry the password, addresses, the server's reply text or the message.
//!
//! [`MailError::Rejected`]: chatkit_leads_core::MailError::Rejected
//! [`MailError::Throttled`]: chatkit_leads_core::MailError::Throttled
//! [`MailError::Transport`]: chatkit_leads_core::MailError::Transport
//!
//! ```no_run
//! use chatkit_leads_smtp::{SmtpConfig, SmtpMailer};
//!
//! // The server's LEADS_MAILER setting.
//! let config = SmtpConfig::from_url("smtp://leads%40example.com:app-password@smtp.example.com")?;
//! let mailer = SmtpMailer::new(config)?;
//! # Ok::<(), chatkit_leads_smtp::ConfigError>(())
//! ```
//!
//! Tests run against a real server, `scripts/smtp_server.py` (aiosmtpd
//! 1.4.6), which the integration tests start themselves.
#![forbid(unsafe_code)]

mod config;
mod failure;
mod mailer;

pub use config::{ConfigError, Credentials, DEFAULT_TIMEOUT, Security, SmtpConfig};
pub use mailer::SmtpMailer;
