//! Turning ChatKit thread items into a clean transcript.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Serialize;

use crate::chatkit::{AssistantContent, Attachment, ItemKind, ThreadItem, UserContent};
use crate::text::is_hidden;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Speaker {
    /// The website visitor.
    Customer,
    /// The chat agent.
    Assistant,
}

/// One message of the transcript.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// Who said it.
    pub speaker: Speaker,
    /// Unix seconds (the item's `created_at`).
    pub created_at: i64,
    /// See [`Message::text`]; private so that every message's text is
    /// normalised, however the transcript was made.
    text: String,
}

impl Message {
    /// A message whose text is `text` normalised (see [`Message::text`]).
    ///
    /// ```
    /// use chatkit_leads_core::transcript::{Message, Speaker};
    /// let m = Message::new(Speaker::Customer, 0, " Hi\u{200b}\r\n\r\n\r\nthere ");
    /// assert_eq!(m.text(), "Hi\n\nthere");
    /// ```
    pub fn new(speaker: Speaker, created_at: i64, text: &str) -> Self {
        Self {
            speaker,
            created_at,
            text: normalize(text),
        }
    }

    /// The text, normalised once when the message was made: LF line ends,
    /// no invisible or control characters other than newline and tab, at
    /// most one blank line in a row, trimmed. The email shows it as it is.
    pub fn text(&self) -> &str {
        &self.text
    }
}

// Transcripts are customer data: keep them out of logs even by accident.
impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("speaker", &self.speaker)
            .field("created_at", &self.created_at)
            .field(
                "text",
                &format_args!("[{} chars]", self.text.chars().count()),
            )
            .finish()
    }
}

/// A file the customer shared, with a link that is known to be http(s).
#[derive(Clone, PartialEq, Eq)]
pub struct SharedFile {
    /// File name (untrusted, single line).
    pub name: String,
    /// MIME type (untrusted, single line).
    pub mime_type: String,
    /// http or https URL.
    pub url: String,
}

impl std::fmt::Debug for SharedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedFile")
            .field("mime_type", &self.mime_type)
            .finish_non_exhaustive()
    }
}

/// The normalised conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    /// Messages in item order, empty ones dropped.
    pub messages: Vec<Message>,
    /// Customer attachments with http(s) links, deduplicated by URL.
    pub attachments: Vec<SharedFile>,
    /// `created_at` of the newest item of any type (for the quiet period).
    pub last_activity_at: Option<i64>,
}

impl Transcript {
    /// A SHA-256 (hex) of everything the summary is made from: every
    /// message's speaker, time and normalised text, and the attachments.
    /// Equal for an unchanged transcript, whatever else changed (the
    /// trigger, the page), so a retry can reuse the summary.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        // Length-prefixed fields: no two transcripts hash the same bytes.
        let mut field = |bytes: &[u8]| {
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(bytes);
        };
        for message in &self.messages {
            let speaker: &[u8] = match message.speaker {
                Speaker::Customer => b"c",
                Speaker::Assistant => b"a",
            };
            field(speaker);
            field(&message.created_at.to_le_bytes());
            field(message.text.as_bytes());
        }
        for file in &self.attachments {
            field(file.name.as_bytes());
            field(file.mime_type.as_bytes());
            field(file.url.as_bytes());
        }
        hash.finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// Normalises items in the order given (ChatKit `order=asc`).
    ///
    /// ```
    /// use chatkit_leads_core::{chatkit::ThreadItem, Transcript};
    /// let items: Vec<ThreadItem> = serde_json::from_str(r#"[
    ///   {"id":"1","type":"chatkit.user_message","created_at":1,
    ///    "content":[{"type":"input_text","text":"Hi\r\n\r\n\r\nthere "}]},
    ///   {"id":"2","type":"chatkit.widget","created_at":2}
    /// ]"#).unwrap();
    /// let t = Transcript::from_items(&items);
    /// assert_eq!(t.messages[0].text(), "Hi\n\nthere");
    /// assert_eq!(t.last_activity_at, Some(2));
    /// ```
    pub fn from_items(items: &[ThreadItem]) -> Self {
        let mut transcript = Self::default();
        for item in items {
            transcript.last_activity_at = transcript.last_activity_at.max(Some(item.created_at));
            let (speaker, text) = match &item.kind {
                ItemKind::UserMessage {
                    content,
                    attachments,
                } => (
                    Speaker::Customer,
                    transcript.user_text(content, attachments),
                ),
                ItemKind::AssistantMessage { content } => {
                    let parts = content.iter().filter_map(|part| match part {
                        AssistantContent::OutputText { text } => Some(text.as_str()),
                        AssistantContent::Other => None,
                    });
                    (Speaker::Assistant, normalize(&join_lines(parts)))
                }
                ItemKind::Other => continue,
            };
            if !text.is_empty() {
                transcript.messages.push(Message {
                    speaker,
                    created_at: item.created_at,
                    text,
                });
            }
        }
        transcript
    }

    fn user_text(&mut self, content: &[UserContent], attachments: &[Attachment]) -> String {
        let parts = content.iter().filter_map(|part| match part {
            UserContent::InputText { text } | UserContent::QuotedText { text } => {
                Some(text.as_str())
            }
            UserContent::Other => None,
        });
        let text = join_lines(parts);
        if attachments.is_empty() {
            return normalize(&text);
        }
        let mut text = text.into_owned();
        for attachment in attachments {
            let name = crate::text::single_line(attachment.name.as_deref().unwrap_or("file"));
            let mime =
                crate::text::single_line(attachment.mime_type.as_deref().unwrap_or("unknown"));
            let url = attachment
                .preview_url
                .as_deref()
                .map(str::trim)
                .unwrap_or("");
            // Writing to a String cannot fail.
            let _ = write!(text, "\nAttachment: {name} ({mime}) {url}");
            if is_http_url(url) && !self.attachments.iter().any(|a| a.url == url) {
                self.attachments.push(SharedFile {
                    name,
                    mime_type: mime,
                    url: url.to_owned(),
                });
            }
        }
        normalize(&text)
    }

    /// Customer messages only.
    pub fn customer_messages(&self) -> impl Iterator<Item = &Message> {
        self.messages
            .iter()
            .filter(|m| m.speaker == Speaker::Customer)
    }

    /// Whether the customer has said anything.
    pub fn has_customer_message(&self) -> bool {
        self.customer_messages().next().is_some()
    }
}

/// Whether `url` is an absolute http or https URL with a host.
pub fn is_http_url(url: &str) -> bool {
    url::Url::parse(url)
        .map(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .unwrap_or(false)
}

/// The parts joined by newlines; one part is borrowed as it is.
fn join_lines<'a>(mut parts: impl Iterator<Item = &'a str>) -> Cow<'a, str> {
    let Some(first) = parts.next() else {
        return Cow::Borrowed("");
    };
    match parts.next() {
        None => Cow::Borrowed(first),
        Some(second) => {
            let mut joined = [first, second].join("\n");
            for part in parts {
                joined.push('\n');
                joined.push_str(part);
            }
            Cow::Owned(joined)
        }
    }
}

/// Text as the transcript keeps it, and as the email shows it, in one pass:
/// CRLF and CR become LF; invisible characters and control characters other
/// than newline and tab are dropped; three or more line breaks in a row
/// become two; leading and trailing whitespace is trimmed.
///
/// Runs of ordinary characters are copied whole; only line breaks and
/// hidden characters are looked at one by one.
fn normalize(text: &str) -> String {
    let text = text.trim_matches(|c: char| c.is_whitespace() || is_hidden(c));
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let (mut run_start, mut i) = (0, 0);
    let mut newlines = 0;
    let mut after_cr = false;
    while i < bytes.len() {
        let byte = bytes[i];
        if (0x20..0x7F).contains(&byte) || byte == b'\t' {
            i += 1;
            continue;
        }
        let c = text[i..].chars().next().unwrap_or_default();
        let special = matches!(c, '\n' | '\r') || is_hidden(c);
        if !special {
            i += c.len_utf8();
            continue;
        }
        if run_start < i {
            out.extend(std::iter::repeat_n('\n', newlines.min(2)));
            out.push_str(&text[run_start..i]);
            newlines = 0;
            after_cr = false;
        }
        match c {
            '\n' if after_cr => after_cr = false,
            '\n' => newlines += 1,
            '\r' => {
                newlines += 1;
                after_cr = true;
            }
            _ => {} // hidden: neither text nor a line break
        }
        i += c.len_utf8();
        run_start = i;
    }
    out.extend(std::iter::repeat_n('\n', newlines.min(2)));
    out.push_str(&text[run_start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(json: serde_json::Value) -> Vec<ThreadItem> {
        serde_json::from_value(json).expect("items")
    }

    #[test]
    fn quoted_and_input_text_are_joined_by_newlines() {
        let t = Transcript::from_items(&items(serde_json::json!([
            {"id":"1","type":"chatkit.user_message","created_at":1,"content":[
                {"type":"quoted_text","text":"What's your timeline?"},
                {"type":"input_text","text":"Two weeks"}]}
        ])));
        assert_eq!(t.messages[0].text(), "What's your timeline?\nTwo weeks");
    }

    #[test]
    fn only_http_attachments_are_collected_once() {
        let t = Transcript::from_items(&items(serde_json::json!([
            {"id":"1","type":"chatkit.user_message","created_at":1,"content":[],"attachments":[
                {"name":"a.jpg","mime_type":"image/jpeg","preview_url":"https://x.test/a.jpg"},
                {"name":"a.jpg","mime_type":"image/jpeg","preview_url":"https://x.test/a.jpg"},
                {"name":"b","mime_type":"text/html","preview_url":"data:text/html,hi"},
                {"name":"c","mime_type":"image/png","preview_url":"javascript:alert(1)"}]}
        ])));
        assert_eq!(t.attachments.len(), 1);
        assert_eq!(t.messages.len(), 1, "attachment lines keep the message");
    }

    #[test]
    fn empty_messages_are_dropped_and_whitespace_collapsed() {
        let t = Transcript::from_items(&items(serde_json::json!([
            {"id":"1","type":"chatkit.assistant_message","created_at":1,"content":[{"type":"output_text","text":"  \r\n "}]},
            {"id":"2","type":"chatkit.assistant_message","created_at":2,"content":[{"type":"output_text","text":"a\r\n\r\n\r\n\r\nb"}]}
        ])));
        assert_eq!(t.messages.len(), 1);
        assert_eq!(t.messages[0].text(), "a\n\nb");
    }

    #[test]
    fn hidden_and_control_characters_never_reach_the_text() {
        let t = Transcript::from_items(&items(serde_json::json!([
            {"id":"1","type":"chatkit.user_message","created_at":1,"content":[
                {"type":"input_text","text":"\u{200b} Seats\u{202e} gnp.exe\u{7}\r\r\u{2066}\n\n\nbye\t\u{ad}"}]}
        ])));
        assert_eq!(t.messages[0].text(), "Seats gnp.exe\n\nbye");
    }

    proptest::proptest! {
        /// One pass does what the two steps it replaced did one after the
        /// other: drop hidden characters, then unify line ends, collapse
        /// blank lines and trim.
        #[test]
        fn normalize_is_hygiene_then_whitespace(s in "[a \\t\\r\\n\u{200b}\u{202e}\u{7}\u{85}\u{3000}é]{0,24}") {
            let visible: String = s
                .chars()
                .filter(|&c| !is_hidden(c))
                .collect();
            let unified = visible.replace("\r\n", "\n").replace('\r', "\n");
            let mut expected = String::new();
            let mut newlines = 0;
            for c in unified.trim().chars() {
                newlines = if c == '\n' { newlines + 1 } else { 0 };
                if newlines <= 2 {
                    expected.push(c);
                }
            }
            proptest::prop_assert_eq!(normalize(&s), expected);
        }
    }

    #[test]
    fn message_debug_hides_text() {
        let m = Message::new(Speaker::Customer, 0, "call me at 408 555 0142");
        assert!(!format!("{m:?}").contains("408"));
    }
}
