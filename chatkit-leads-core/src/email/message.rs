//! The email as rendered parts, and as the MIME message a mailer sends.

use crate::contact::EmailAddress;

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
    /// The photos the HTML shows inline (`cid:`), also inside `mime`: for
    /// previews that cannot resolve `cid:` links.
    pub inline: Vec<InlineImage>,
}

/// An image carried inline in a message.
#[derive(Clone, PartialEq, Eq)]
pub struct InlineImage {
    /// Its `Content-ID`, without angle brackets (`cid:` + this in the HTML).
    pub cid: String,
    /// Its MIME type.
    pub content_type: &'static str,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for InlineImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineImage")
            .field("cid", &self.cid)
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl std::fmt::Debug for OutgoingEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingEmail")
            .field("message_id", &self.message_id)
            .field("to", &self.to.len())
            .field("mime_bytes", &self.mime.len())
            .field("inline", &self.inline.len())
            .finish_non_exhaustive()
    }
}
