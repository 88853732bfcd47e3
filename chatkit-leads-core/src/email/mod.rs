//! The lead email: subject, text and HTML parts with the same
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

mod document;
mod escape;
mod html;
mod input;
mod languages;
mod links;
mod message;
mod mime;
mod model;
mod plain;

pub use document::{
    DOCUMENT_VERSION, DocumentContact, DocumentDrafts, DocumentEmail, DocumentFile, DocumentLine,
    DocumentSummary, LeadDocument, document,
};
pub use input::{
    Diagnostics, EmailCopy, LeadEmailInput, NewContact, PossibleDuplicate, Resend, UpdateEmailInput,
};
pub use languages::{ChosenDrafts, DraftCopy, DraftLanguages};
pub use message::{Envelope, InlineImage, OutgoingEmail, RenderedEmail};

use crate::contact::EmailAddress;
use crate::photos::Photos;

/// Renders the lead email: the subject, and text and HTML parts built from
/// one section model so both carry the same facts.
///
/// The subject is `New chat lead: <vehicle> - <project>` (whichever the
/// summary has), else `New chat lead: <thread title>`, else `New chat lead`,
/// prefixed with [`EmailCopy::possible_duplicate_prefix`] when
/// [`Diagnostics::possible_duplicate`] is set, or [`EmailCopy::resend_prefix`]
/// when [`Diagnostics::resend`] is; it is always one line of at
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
///     photos: &Default::default(),
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
/// From display name can inject headers. The attached `photos` go inline,
/// in a multipart/related with the HTML part.
pub fn build(
    rendered: &RenderedEmail,
    envelope: &Envelope,
    reply_to: Option<&EmailAddress>,
    photos: &Photos,
) -> OutgoingEmail {
    mime::build(rendered, envelope, reply_to, None, photos)
}

/// [`build`] for an update email: `In-Reply-To` and `References` name the
/// lead email's `Message-ID` (`lead_message_id`, without angle brackets;
/// left out unless it is a well-formed id), so mail clients thread the
/// update under the lead.
pub fn build_reply(
    rendered: &RenderedEmail,
    envelope: &Envelope,
    reply_to: Option<&EmailAddress>,
    lead_message_id: Option<&str>,
    photos: &Photos,
) -> OutgoingEmail {
    mime::build(rendered, envelope, reply_to, lead_message_id, photos)
}

/// Renders an update email: `Re: <the lead's subject>`, a notice that the
/// customer wrote again, the contact facts (those first given in the new
/// messages marked new), quick actions, the new files, the updated summary,
/// the new messages and Diagnostics.
pub fn render_update(input: &UpdateEmailInput<'_>) -> RenderedEmail {
    let email = model::LeadEmail::update(input);
    RenderedEmail {
        text: plain::render(&email),
        html: html::render(&email),
        subject: email.subject,
    }
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
