//! What went wrong in an SMTP session, and what that means for the lead:
//! [`MailError::Rejected`] and [`MailError::Throttled`] promise the message
//! was certainly not sent, [`MailError::Transport`] means "unknown".
//!
//! The server's reply text is never copied into an error: servers echo
//! addresses ("550 <someone@example.com> unknown"), and errors end up in
//! logs and in the lead store. Only the reply code and our own wording do.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use chatkit_leads_core::MailError;
use lettre::transport::smtp::Error as SmtpError;

/// A step of the SMTP session, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// TCP connect, implicit TLS handshake, greeting and `EHLO`.
    Connect,
    /// `STARTTLS`, the handshake and the second `EHLO`.
    StartTls,
    /// `AUTH`.
    Auth,
    /// `MAIL FROM`.
    MailFrom,
    /// `RCPT TO`.
    RcptTo,
    /// The `DATA` command, up to the server's 354.
    Data,
    /// The message itself, up to the server's final reply.
    Message,
}

impl Step {
    /// True until the server has answered `DATA` with 354. A refusal before
    /// that point certainly left the message unsent.
    fn before_data_accepted(self) -> bool {
        self != Self::Message
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::StartTls => "STARTTLS",
            Self::Auth => "AUTH",
            Self::MailFrom => "MAIL FROM",
            Self::RcptTo => "RCPT TO",
            Self::Data => "DATA",
            Self::Message => "end of data",
        })
    }
}

/// Why a step failed.
#[derive(Debug)]
pub(crate) enum Cause {
    /// lettre reported an error: a negative reply, an I/O or TLS failure, an
    /// unparsable reply.
    Smtp(SmtpError),
    /// The step took longer than the configured timeout.
    TimedOut(Duration),
    /// We refused to go on because the server cannot take this message
    /// (no usable `AUTH` mechanism, no `8BITMIME`, …): certainly not sent.
    Unsupported(&'static str),
    /// We refused to go on because the connection would not be secure
    /// (`STARTTLS` required but not offered). Reported like a TLS failure.
    Insecure(&'static str),
}

/// A failed step.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) step: Step,
    pub(crate) cause: Cause,
}

impl Failure {
    pub(crate) fn new(step: Step, cause: Cause) -> Self {
        Self { step, cause }
    }

    /// The SMTP reply code, when the server answered negatively.
    pub(crate) fn code(&self) -> Option<u16> {
        match &self.cause {
            Cause::Smtp(error) => error.status().map(u16::from),
            _ => None,
        }
    }

    /// True when the server answered, so the session is still in step and
    /// may be closed politely with `QUIT`.
    pub(crate) fn server_answered(&self) -> bool {
        self.code().is_some()
    }

    /// True when this looks like a pooled session the server had already
    /// dropped: the very first command of the transaction failed on I/O, or
    /// got 421 ("closing channel"). Nothing was sent, so a fresh connection
    /// may be tried.
    pub(crate) fn stale_session(&self) -> bool {
        if self.step != Step::MailFrom {
            return false;
        }
        match &self.cause {
            Cause::Smtp(error) => match error.status() {
                Some(code) => u16::from(code) == 421,
                None => !error.is_timeout() && !error.is_client(),
            },
            _ => false,
        }
    }

    /// What the workflow gets to see.
    pub(crate) fn to_mail_error(&self) -> MailError {
        let step = self.step;
        match &self.cause {
            Cause::TimedOut(after) => {
                MailError::Transport(format!("timed out after {} during {step}", seconds(*after)))
            }
            Cause::Unsupported(why) => MailError::Rejected(format!("{why} (at {step})")),
            Cause::Insecure(why) => MailError::Transport(format!("{why} (at {step})")),
            Cause::Smtp(error) => match error.status().map(u16::from) {
                Some(code) if error.is_permanent() => {
                    MailError::Rejected(format!("{} ({code}) at {step}", permanent_reason(code)))
                }
                Some(_) if step.before_data_accepted() => MailError::Throttled,
                Some(code) => MailError::Transport(format!(
                    "temporary failure ({code}) at {step}, after the message was transferred"
                )),
                None => MailError::Transport(describe(error, step)),
            },
        }
    }
}

/// Our own words for a permanent (5xx) reply code.
fn permanent_reason(code: u16) -> &'static str {
    match code {
        530 => "authentication required",
        534 => "authentication mechanism too weak",
        535 => "authentication failed",
        538 => "encryption required for authentication",
        500..=504 => "command not accepted",
        521 | 556 => "domain does not accept mail",
        550 => "mailbox unavailable or not allowed",
        551 => "recipient not local",
        552 => "message too large or storage exceeded",
        553 => "mailbox name not allowed",
        554 => "transaction failed",
        555 => "MAIL or RCPT parameters not recognised",
        _ => "permanent failure",
    }
}

/// A failure without a reply code: connection, TLS, timeout, garbled reply.
/// I/O and TLS messages are kept (they name no person); parser messages are
/// not, since they quote the server's reply.
fn describe(error: &SmtpError, step: Step) -> String {
    if error.is_timeout() {
        format!("timed out during {step}")
    } else if error.is_tls() {
        match error.source() {
            Some(source) => format!("TLS failure during {step}: {source}"),
            None => format!("TLS failure during {step}"),
        }
    } else if error.is_response() {
        format!("unreadable or truncated SMTP reply during {step}")
    } else if error.is_client() {
        format!("SMTP client error during {step}")
    } else {
        match io_error(error) {
            Some(io) => format!("connection failed during {step}: {io}"),
            None => format!("connection failed during {step}"),
        }
    }
}

/// The first `std::io::Error` in the chain of `error`'s sources.
fn io_error(error: &SmtpError) -> Option<&std::io::Error> {
    let mut source = error.source();
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = current.source();
    }
    None
}

/// `20 s`, `0.3 s`.
fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanent_codes_have_short_reasons() {
        assert_eq!(permanent_reason(535), "authentication failed");
        assert_eq!(permanent_reason(530), "authentication required");
        assert_eq!(permanent_reason(550), "mailbox unavailable or not allowed");
        assert_eq!(permanent_reason(599), "permanent failure");
    }

    #[test]
    fn timeouts_are_transport_errors_naming_the_step() {
        let failure = Failure::new(Step::Connect, Cause::TimedOut(Duration::from_millis(300)));
        assert_eq!(
            failure.to_mail_error(),
            MailError::Transport("timed out after 0.3 s during connect".into())
        );
        assert!(!failure.server_answered());
        assert!(!failure.stale_session());
    }

    #[test]
    fn missing_starttls_is_a_transport_error() {
        let failure = Failure::new(Step::StartTls, Cause::Insecure("no STARTTLS"));
        assert!(matches!(failure.to_mail_error(), MailError::Transport(_)));
    }

    #[test]
    fn unsupported_servers_reject() {
        let failure = Failure::new(Step::Auth, Cause::Unsupported("no AUTH"));
        assert_eq!(
            failure.to_mail_error(),
            MailError::Rejected("no AUTH (at AUTH)".into())
        );
    }

    #[test]
    fn only_the_message_step_is_after_data_was_accepted() {
        for step in [
            Step::Connect,
            Step::StartTls,
            Step::Auth,
            Step::MailFrom,
            Step::RcptTo,
            Step::Data,
        ] {
            assert!(step.before_data_accepted(), "{step}");
        }
        assert!(!Step::Message.before_data_accepted());
    }
}
