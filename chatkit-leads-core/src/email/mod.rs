//! The lead email (SPEC §10): subject, text and HTML parts with the same
//! facts, and the MIME message handed to a [`crate::Mailer`].
//!
//! [`render`] first decides every fact once, section by section (header, at
//! a glance, quick actions, attribution, photos, summary, next steps,
//! follow-up questions, call script, drafts, transcript, diagnostics), then
//! lays that one model out twice: as text/plain and as HTML. The HTML part
//! escapes every interpolated value, drops invisible and bidi characters,
//! uses inline styles only, and links only to http(s), `tel:`, `sms:` and
//! `mailto:` targets. [`build`] wraps both parts in a multipart/alternative
//! UTF-8 message with its own `Message-ID`.

mod html;
mod links;
mod mime;
mod model;
mod plain;

use crate::chatkit::Thread;
use crate::contact::{Contact, EmailAddress};
use crate::request::LeadRequest;
use crate::shop::ShopProfile;
use crate::summary::LeadSummary;
use crate::transcript::Transcript;

/// Facts about the attempt that go into the Diagnostics section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    /// Which send attempt this is (1 for the first).
    pub attempt: u32,
    /// Why there is no AI summary, when there is none.
    pub summary_failure: Option<String>,
    /// Set when an earlier attempt may already have delivered this lead.
    pub possible_duplicate: Option<PossibleDuplicate>,
    /// Set when the transcript was cut at the page cap.
    pub truncated_after_pages: Option<u32>,
}

/// An earlier attempt started delivery and never recorded the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PossibleDuplicate {
    /// Unix seconds when that earlier delivery started.
    pub earlier_delivery_started_at: i64,
}

/// Everything a lead email is built from.
#[derive(Debug, Clone, Copy)]
pub struct LeadEmailInput<'a> {
    /// The shop (name, phone, address, assistant name, colour).
    pub shop: &'a ShopProfile,
    /// Wording of the email.
    pub copy: &'a EmailCopy,
    /// The lead request (trigger, page, locale, user, attribution).
    pub request: &'a LeadRequest,
    /// The ChatKit thread (title, user).
    pub thread: &'a Thread,
    /// The normalised transcript.
    pub transcript: &'a Transcript,
    /// How to reach the customer.
    pub contact: &'a Contact,
    /// The sanitised summary, if the model produced one.
    pub summary: Option<&'a LeadSummary>,
    /// Facts about this attempt.
    pub diagnostics: &'a Diagnostics,
}

/// Configurable wording of the email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailCopy {
    /// Call script prompts used to pad the model's to exactly three.
    pub default_call_script: [String; 3],
    /// Subject prefix when an earlier delivery may have succeeded.
    pub possible_duplicate_prefix: String,
    /// Outreach draft used when the model wrote none. Placeholders:
    /// `{name}` (the customer's name or [`EmailCopy::fallback_name`]),
    /// `{shop}` (the shop name) and `{project}` (the project or
    /// [`EmailCopy::fallback_project`]). The shop's signature is added after it.
    pub fallback_outreach: String,
    /// Subject of the email draft; same placeholders as `fallback_outreach`.
    pub draft_email_subject: String,
    /// `{name}` when the customer's name is unknown.
    pub fallback_name: String,
    /// `{project}` when the project is unknown.
    pub fallback_project: String,
}

impl Default for EmailCopy {
    fn default() -> Self {
        Self {
            default_call_script: [
                "Can you confirm the year, make and model?".to_owned(),
                "Could you send 2-4 photos: one wide shot and one or two close-ups of the damage?"
                    .to_owned(),
                "What is the best way and time to reach you?".to_owned(),
            ],
            possible_duplicate_prefix: "[Possible duplicate]".to_owned(),
            fallback_outreach: "Hi {name}, thanks for contacting {shop} about {project}. \
We'd be glad to help. Could you send us 2-4 photos (one wide shot and one or two close-ups) \
and let us know the best time to reach you?"
                .to_owned(),
            draft_email_subject: "Your chat with {shop}".to_owned(),
            fallback_name: "there".to_owned(),
            fallback_project: "your project".to_owned(),
        }
    }
}

/// The rendered email before MIME encoding.
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    /// One line, no control characters.
    pub subject: String,
    /// The text/plain part.
    pub text: String,
    /// The text/html part.
    pub html: String,
}

impl std::fmt::Debug for RenderedEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderedEmail")
            .field("text_bytes", &self.text.len())
            .field("html_bytes", &self.html.len())
            .finish_non_exhaustive()
    }
}

/// Sender and recipients of lead emails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The `From` address (the seed: leads@ the shop's domain).
    pub from: EmailAddress,
    /// Display name for `From` (usually the shop name).
    pub from_name: Option<String>,
    /// The shop's inboxes.
    pub to: Vec<EmailAddress>,
}

/// A complete message ready for a mailer.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// Envelope sender.
    pub from: EmailAddress,
    /// Envelope recipients.
    pub to: Vec<EmailAddress>,
    /// `Reply-To`: the customer's address when known.
    pub reply_to: Option<EmailAddress>,
    /// The subject (one line).
    pub subject: String,
    /// The `Message-ID` header value, without angle brackets.
    pub message_id: String,
    /// The whole RFC 5322 message (multipart/alternative, UTF-8).
    pub mime: Vec<u8>,
    /// The HTML part, for previews (the outbox mailer writes it next to the .eml).
    pub html: String,
}

impl std::fmt::Debug for OutgoingEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingEmail")
            .field("message_id", &self.message_id)
            .field("to", &self.to.len())
            .field("mime_bytes", &self.mime.len())
            .finish_non_exhaustive()
    }
}

/// Renders the lead email: the subject, and text and HTML parts built from
/// one section model so both carry the same facts.
///
/// The subject is `New chat lead: <vehicle> - <project>` (whichever the
/// summary has), else `New chat lead: <thread title>`, else `New chat lead`,
/// prefixed with [`EmailCopy::possible_duplicate_prefix`] when
/// [`Diagnostics::possible_duplicate`] is set; it is always one line of at
/// most 200 characters.
///
/// ```
/// use chatkit_leads_core::chatkit::Thread;
/// use chatkit_leads_core::email::{render, Diagnostics, EmailCopy, LeadEmailInput};
/// use chatkit_leads_core::{Contact, LeadRequest, ShopProfile, ThreadId, Transcript, TriggerReason};
///
/// let thread: Thread = serde_json::from_str(r#"{"id":"cthr_demo","title":"Seats\r\nBcc: x@evil.test"}"#).unwrap();
/// let request = LeadRequest::new(ThreadId::parse("cthr_demo").unwrap(), TriggerReason::Idle);
/// let (shop, copy) = (ShopProfile::seed(), EmailCopy::default());
/// let email = render(&LeadEmailInput {
///     shop: &shop,
///     copy: &copy,
///     request: &request,
///     thread: &thread,
///     transcript: &Transcript::default(),
///     contact: &Contact::default(),
///     summary: None,
///     diagnostics: &Diagnostics { attempt: 1, ..Diagnostics::default() },
/// });
/// assert_eq!(email.subject, "New chat lead: Seats Bcc: x@evil.test");
/// assert!(email.text.contains("== Call script =="));
/// assert!(email.html.contains("https://platform.openai.com/logs/cthr_demo"));
/// ```
pub fn render(input: &LeadEmailInput<'_>) -> RenderedEmail {
    let email = model::LeadEmail::from_input(input);
    RenderedEmail {
        text: plain::render(&email),
        html: html::render(&email),
        subject: email.subject,
    }
}

/// Encodes a rendered email as a multipart/alternative UTF-8 MIME message
/// from `envelope.from` to `envelope.to`, with `Reply-To: reply_to` when
/// given and a fresh `Message-ID` (`<uuid>@<domain of the From address>`,
/// returned without angle brackets in [`OutgoingEmail::message_id`]).
///
/// Header values are forced onto one line, so neither the subject nor the
/// From display name can inject headers.
pub fn build(
    rendered: &RenderedEmail,
    envelope: &Envelope,
    reply_to: Option<&EmailAddress>,
) -> OutgoingEmail {
    mime::build(rendered, envelope, reply_to)
}

/// Renders the short alert sent instead of a full lead when an earlier
/// delivery may have succeeded and the duplicate policy is
/// [`DuplicatePolicy::AlertOnly`](crate::DuplicatePolicy::AlertOnly): the
/// contact facts, quick actions and Diagnostics, no transcript.
pub fn render_delivery_alert(input: &LeadEmailInput<'_>) -> RenderedEmail {
    let email = model::LeadEmail::delivery_alert(input);
    RenderedEmail {
        text: plain::render(&email),
        html: html::render(&email),
        subject: email.subject,
    }
}
