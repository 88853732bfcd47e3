//! The MIME message: multipart/alternative (text/plain + text/html), UTF-8,
//! with our own `Message-ID` so the id is known before the provider sees it.

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::mime::MimePart;

use crate::contact::EmailAddress;
use crate::text::single_line;

use super::message::{Envelope, InlineImage, OutgoingEmail, RenderedEmail};
use crate::photos::Photos;

/// Encodes `rendered` for `envelope`, with `Reply-To` when given,
/// `In-Reply-To` / `References` naming `replies_to` (a `Message-ID` without
/// angle brackets) when given and well formed, and the attached `photos`
/// inline.
///
/// Without photos the body is multipart/alternative (text, HTML); with
/// them the HTML and its images form a multipart/related inside it, so a
/// client showing the text part shows no stray attachments.
pub(crate) fn build(
    rendered: &RenderedEmail,
    envelope: &Envelope,
    reply_to: Option<&EmailAddress>,
    replies_to: Option<&str>,
    photos: &Photos,
) -> OutgoingEmail {
    let message_id = new_message_id(&envelope.from);
    // Header values are single-line whatever the caller passed; the builder
    // then encodes non-ASCII text (RFC 2047) and folds long lines.
    let subject = single_line(&rendered.subject);
    let from_name = envelope
        .from_name
        .as_deref()
        .map(single_line)
        .filter(|name| !name.is_empty());

    let mut builder = MessageBuilder::new()
        .from(Address::new_address(from_name, envelope.from.as_str()))
        .subject(subject.clone())
        .message_id(message_id.clone());
    builder = if photos.attached.is_empty() {
        builder
            .text_body(rendered.text.as_str())
            .html_body(rendered.html.as_str())
    } else {
        let mut related = vec![MimePart::new("text/html", rendered.html.as_str())];
        related.extend(photos.attached.iter().map(|photo| {
            MimePart::new(photo.kind.mime(), photo.bytes.as_slice())
                .inline()
                .cid(photo.cid.as_str())
        }));
        builder.body(MimePart::new(
            "multipart/alternative",
            vec![
                MimePart::new("text/plain", rendered.text.as_str()),
                MimePart::new("multipart/related", related),
            ],
        ))
    };
    if !envelope.to.is_empty() {
        let to: Vec<Address<'_>> = envelope
            .to
            .iter()
            .map(|a| Address::new_address(None::<&str>, a.as_str()))
            .collect();
        builder = builder.to(to);
    }
    if let Some(original) = replies_to.filter(|id| is_message_id(id)) {
        builder = builder.in_reply_to(original).references(original);
    }
    if let Some(reply_to) = reply_to {
        builder = builder.reply_to(Address::new_address(None::<&str>, reply_to.as_str()));
    }
    let mut mime = Vec::with_capacity(
        rendered.text.len() + rendered.html.len() * 2 + photos.total_bytes() * 4 / 3 + 1024,
    );
    builder.serialize(&mut mime);

    OutgoingEmail {
        from: envelope.from.clone(),
        to: envelope.to.clone(),
        reply_to: reply_to.cloned(),
        subject,
        message_id,
        mime,
        html: rendered.html.clone(),
        inline: photos
            .attached
            .iter()
            .map(|photo| InlineImage {
                cid: photo.cid.clone(),
                content_type: photo.kind.mime(),
                bytes: photo.bytes.clone(),
            })
            .collect(),
    }
}

/// Whether `id` can stand in a `Message-ID`-type header as it is: `left@right`,
/// printable ASCII without spaces or angle brackets (the stored id comes from
/// a record; it never gets to add a header).
fn is_message_id(id: &str) -> bool {
    let printable = id
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
    let parts = id.split_once('@');
    printable && parts.is_some_and(|(left, right)| !left.is_empty() && !right.is_empty())
}

/// `<uuid>@<domain of the From address>`, without angle brackets.
fn new_message_id(from: &EmailAddress) -> String {
    let domain = from
        .as_str()
        .rsplit_once('@')
        .map_or("localhost", |(_, domain)| domain);
    format!("{}@{}", uuid::Uuid::new_v4(), domain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_id_uses_the_from_domain() {
        let from = EmailAddress::parse("leads@craigs.autos").expect("address");
        let id = new_message_id(&from);
        assert!(id.ends_with("@craigs.autos"));
        assert!(!id.contains('<') && !id.contains('>'));
        assert_ne!(id, new_message_id(&from), "ids are unique");
    }

    #[test]
    fn only_a_well_formed_id_is_replied_to() {
        assert!(is_message_id("3f2a@craigs.autos"));
        for bad in [
            "",
            "no-at",
            "@x",
            "a@",
            "a b@x",
            "a@x>\r\nBcc: e@x",
            "<a@x>",
        ] {
            assert!(!is_message_id(bad), "{bad:?}");
        }
    }
}
