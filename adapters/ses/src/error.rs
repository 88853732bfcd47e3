//! `SendEmail` failures mapped onto the core's [`MailError`] by what they
//! say about delivery: throttled and rejected certainly did not send,
//! anything else may have.

use std::error::Error;

use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::get_email_identity::GetEmailIdentityError;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use chatkit_leads_core::MailError;

/// Error codes SES and the AWS front ends use for throttling.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "TooManyRequestsException",
    "LimitExceededException",
];

/// Maps a failed `SendEmail`.
///
/// Texts name the SES error code with a fixed explanation. The service's
/// own message is left out: SES quotes addresses in it ("… identities failed
/// the check …: leads@…"), and no address or content may reach a log.
pub(crate) fn mail_error(err: &SdkError<SendEmailError, HttpResponse>) -> MailError {
    match err {
        SdkError::ServiceError(context) => {
            service_error(context.err(), context.raw().status().as_u16())
        }
        // Refused before anything was sent.
        SdkError::ConstructionFailure(_) => {
            MailError::Rejected("the SES request could not be built".to_owned())
        }
        SdkError::TimeoutError(_) => MailError::Transport("SES timed out".to_owned()),
        // The connection failed or the answer was unreadable: SES may or may
        // not have taken the message.
        _ => MailError::Transport(describe(err)),
    }
}

fn service_error(err: &SendEmailError, status: u16) -> MailError {
    let rejected = |why: &str| MailError::Rejected(format!("{} ({why})", code_of(err)));
    match err {
        SendEmailError::TooManyRequestsException(_) | SendEmailError::LimitExceededException(_) => {
            MailError::Throttled
        }
        SendEmailError::MessageRejected(_) => rejected("SES rejected the message"),
        SendEmailError::MailFromDomainNotVerifiedException(_) => {
            rejected("the MAIL FROM domain is not verified")
        }
        SendEmailError::AccountSuspendedException(_) => {
            rejected("the SES account is suspended from sending")
        }
        SendEmailError::SendingPausedException(_) => {
            rejected("sending is paused for the account or configuration set")
        }
        SendEmailError::BadRequestException(_) => rejected("SES refused the request as invalid"),
        SendEmailError::NotFoundException(_) => {
            rejected("a resource named in the request does not exist")
        }
        other => match other.code() {
            Some(code) if THROTTLING_CODES.contains(&code) => MailError::Throttled,
            _ if status == 429 => MailError::Throttled,
            // Any other client error (say, refused credentials) was refused
            // before sending; a server error leaves the outcome open.
            _ if (400..500).contains(&status) => rejected(&format!("SES answered HTTP {status}")),
            _ => MailError::Transport(format!("{} (SES answered HTTP {status})", code_of(other))),
        },
    }
}

/// Maps a failed read of [`crate::SesMailer`]'s check: the service's code
/// and status, or why it could not be reached.
pub(crate) fn check_error<E>(err: &SdkError<E, HttpResponse>) -> MailError
where
    E: ProvideErrorMetadata + Error + 'static,
{
    match err {
        SdkError::ServiceError(context) => MailError::Rejected(format!(
            "{} (SES answered HTTP {})",
            context.err().code().unwrap_or("unknown error"),
            context.raw().status().as_u16()
        )),
        SdkError::TimeoutError(_) => MailError::Transport("SES timed out".to_owned()),
        _ => MailError::Transport(describe(err)),
    }
}

/// Whether SES answered that the identity does not exist.
pub(crate) fn not_found(err: &SdkError<GetEmailIdentityError, HttpResponse>) -> bool {
    matches!(
        err.as_service_error(),
        Some(GetEmailIdentityError::NotFoundException(_))
    )
}

fn code_of(err: &SendEmailError) -> &str {
    err.code().unwrap_or("unknown error")
}

/// The error and its sources joined by `": "` (the first half of the SDK's
/// `DisplayErrorContext`; its `Debug` half would dump the raw response).
fn describe(err: &(dyn Error + 'static)) -> String {
    let mut text = format!("SES unreachable: {err}");
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use aws_sdk_sesv2::error::ErrorMetadata;
    use aws_sdk_sesv2::types::error::{MessageRejected, TooManyRequestsException};

    use super::*;

    fn meta(code: &str) -> ErrorMetadata {
        ErrorMetadata::builder()
            .code(code)
            .message("Email address is not verified: leads@shop.example")
            .build()
    }

    #[test]
    fn throttling_certainly_did_not_send() {
        let err = SendEmailError::TooManyRequestsException(
            TooManyRequestsException::builder()
                .meta(meta("TooManyRequestsException"))
                .build(),
        );
        assert_eq!(service_error(&err, 429), MailError::Throttled);
        let err = SendEmailError::generic(meta("Throttling"));
        assert_eq!(service_error(&err, 400), MailError::Throttled);
        let err = SendEmailError::generic(meta("SomethingNew"));
        assert_eq!(service_error(&err, 429), MailError::Throttled);
    }

    #[test]
    fn a_rejection_names_the_code_but_never_the_service_message() {
        let err = SendEmailError::MessageRejected(
            MessageRejected::builder()
                .meta(meta("MessageRejected"))
                .build(),
        );
        let mapped = service_error(&err, 400);
        assert!(mapped.certainly_not_sent());
        let MailError::Rejected(reason) = mapped else {
            panic!("expected a rejection, got {mapped:?}");
        };
        assert!(reason.contains("MessageRejected"), "{reason}");
        assert!(!reason.contains('@'), "{reason}");
    }

    #[test]
    fn unmodelled_client_errors_are_rejections_and_server_errors_are_unknown() {
        let denied = SendEmailError::generic(meta("AccessDeniedException"));
        assert!(
            matches!(service_error(&denied, 403), MailError::Rejected(r) if r.contains("AccessDenied"))
        );
        let internal = SendEmailError::generic(meta("InternalFailure"));
        let mapped = service_error(&internal, 500);
        assert!(
            matches!(&mapped, MailError::Transport(r) if r.contains("InternalFailure") && !r.contains('@')),
            "{mapped:?}"
        );
        assert!(!mapped.certainly_not_sent());
    }

    #[test]
    fn timeouts_and_connection_failures_leave_the_outcome_open() {
        let timeout: SdkError<SendEmailError, HttpResponse> =
            SdkError::timeout_error("operation timed out");
        assert!(matches!(mail_error(&timeout), MailError::Transport(_)));
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset");
        let dispatch: SdkError<SendEmailError, HttpResponse> =
            SdkError::dispatch_failure(aws_sdk_sesv2::error::ConnectorError::io(Box::new(io)));
        let mapped = mail_error(&dispatch);
        assert!(
            matches!(&mapped, MailError::Transport(r) if r.contains("connection reset")),
            "{mapped:?}"
        );
    }
}
