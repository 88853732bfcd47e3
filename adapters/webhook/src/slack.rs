//! The Slack sink: the lead as a Block Kit message to an incoming webhook,
//! made for a shop owner's phone — who and how to reach them in the
//! header, the summary, the call script, links to call, text and reply.
//!
//! Everything the customer wrote is untrusted: `&`, `<` and `>` are
//! escaped, so `<!channel>` cannot ping anyone and `<https://evil|click>`
//! cannot dress a link up, and customer text goes in `verbatim` sections,
//! which Slack does not scan for links or mentions. Every text is cut to
//! Slack's limits on a character boundary, after escaping.

use async_trait::async_trait;
use chatkit_leads_core::email::LeadDocument;
use chatkit_leads_core::{Sink, SinkError, SinkEvent};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::error::SinkSettingsError;
use crate::target::{Target, TargetPolicy};

/// Slack's limits (Block Kit reference): header text, section text, a
/// section field, the fallback text we choose to keep short.
const HEADER_CHARS: usize = 150;
const SECTION_CHARS: usize = 3000;
const FIELD_CHARS: usize = 2000;
const FALLBACK_CHARS: usize = 300;
/// At most this many blocks in one message (Slack allows 50).
pub const MAX_BLOCKS: usize = 50;

/// A Slack incoming webhook.
#[derive(Debug)]
pub struct SlackSink {
    target: Target,
}

impl SlackSink {
    /// The sink `slack`, posting to the incoming-webhook `url`.
    ///
    /// # Errors
    /// An invalid URL, or a private target the policy refuses; the error
    /// never shows the URL (it is the webhook's credential).
    pub fn new(url: &str, policy: TargetPolicy) -> Result<Self, SinkSettingsError> {
        Ok(Self {
            target: Target::new("LEADS_SLACK_WEBHOOK_URL", url, policy)?,
        })
    }
}

#[async_trait]
impl Sink for SlackSink {
    fn id(&self) -> &str {
        "slack"
    }

    async fn deliver(&self, event: &SinkEvent<'_>) -> Result<u16, SinkError> {
        let document: LeadDocument = serde_json::from_str(event.document)
            .map_err(|_| SinkError::Refused("the event is not a lead document".to_owned()))?;
        self.target
            .post(HeaderMap::new(), message(&document).to_string())
            .await
    }
}

/// The Block Kit message for `lead`.
pub fn message(lead: &LeadDocument) -> Value {
    let contact = &lead.contact;
    let who = contact.name.as_deref().unwrap_or("Name not given");
    let reach = contact
        .phone
        .as_deref()
        .or(contact.email.as_deref())
        .unwrap_or("no phone or email");
    let headline = if lead.update == 0 {
        format!("New lead: {who} · {reach}")
    } else {
        format!("Lead update {}: {who} · {reach}", lead.update)
    };
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": escaped(&headline, HEADER_CHARS), "emoji": false},
    })];
    let summary = lead
        .summary
        .text
        .as_deref()
        .unwrap_or("No summary: the model was off or failed; the email has the whole chat.");
    blocks.push(section(&escaped(summary, SECTION_CHARS)));
    let fields: Vec<Value> = [
        ("Vehicle", &lead.summary.vehicle),
        ("Project", &lead.summary.project),
        ("Timeline", &lead.summary.timeline),
        ("Location", &contact.location),
        ("Phone", &contact.phone),
        ("Email", &contact.email),
    ]
    .into_iter()
    .filter_map(|(label, value)| Some((label, value.as_deref()?)))
    .map(|(label, value)| {
        let budget = FIELD_CHARS - label.len() - 3;
        json!({"type": "mrkdwn", "text": format!("*{label}*\n{}", escaped(value, budget)), "verbatim": true})
    })
    .collect();
    if !fields.is_empty() {
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    blocks.push(section(&list("*Call script*", &lead.call_script, true)));
    if !lead.summary.next_steps.is_empty() {
        blocks.push(section(&list(
            "*Next steps*",
            &lead.summary.next_steps,
            false,
        )));
    }
    if let Some(links) = reach_links(lead) {
        blocks.push(section(&links));
    }
    if !lead.files.is_empty() {
        let attached = lead.files.iter().filter(|f| f.attached).count();
        let note = format!(
            "📷 {} file(s) shared in the chat, {attached} attached to the lead email.",
            lead.files.len()
        );
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}));
    }
    if let Some(transcript) = &lead.transcript {
        let mut text = String::from("*Chat*\n");
        for line in transcript {
            text.push_str(&format!("*{}*: {}\n", line.speaker, line.text));
        }
        blocks.push(section(&escaped(&text, SECTION_CHARS)));
    }
    blocks.truncate(MAX_BLOCKS);
    json!({
        "text": escaped(&headline, FALLBACK_CHARS),
        "blocks": blocks,
    })
}

/// A verbatim mrkdwn section: Slack leaves links and mentions in it alone.
fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": true}})
}

/// A titled list of customer-derived items, escaped, within a section.
fn list(title: &str, items: &[String], numbered: bool) -> String {
    let mut text = format!("{title}\n");
    for (i, item) in items.iter().enumerate() {
        let mark = if numbered {
            format!("{}. ", i + 1)
        } else {
            "• ".to_owned()
        };
        let left = SECTION_CHARS.saturating_sub(text.chars().count() + mark.len() + 1);
        if left < 2 {
            break;
        }
        text.push_str(&mark);
        text.push_str(&escaped(item, left));
        text.push('\n');
    }
    text
}

/// Links to call, text, email and reply — the targets the lead email's
/// link gate let through, each as `<url|label>` with the URL escaped.
fn reach_links(lead: &LeadDocument) -> Option<String> {
    let links: Vec<String> = [
        ("call", "Call"),
        ("text", "Text"),
        ("email", "Email"),
        ("email_draft", "Reply with the draft"),
        ("page", "Open page"),
    ]
    .into_iter()
    .filter_map(|(key, label)| {
        let url = lead.links.get(key)?;
        Some(format!("<{}|{label}>", link_target(url)))
    })
    .collect();
    (!links.is_empty()).then(|| links.join("   "))
}

/// A URL inside `<…|…>`: the characters that would end it escaped.
fn link_target(url: &str) -> String {
    url.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "%7C")
}

/// `text` with `&`, `<` and `>` escaped (Slack's control characters), cut to `max` characters (counted after escaping)
/// on a character boundary, with `…` when cut.
pub fn escaped(text: &str, max: usize) -> String {
    cut(text, max, |c| match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        _ => None,
    })
}

/// Writes `text` with `replace`'s substitutions, stopping before `max`
/// characters would be passed; a cut text ends in `…`.
fn cut(text: &str, max: usize, replace: impl Fn(char) -> Option<&'static str>) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
    let mut used = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let mut buf = [0u8; 4];
        let unit: &str = match replace(c) {
            Some(escape) => escape,
            None => c.encode_utf8(&mut buf),
        };
        let len = unit.chars().count();
        // Room for this unit, and for the ellipsis if more follows.
        let reserve = usize::from(chars.peek().is_some());
        if used + len + reserve > max {
            out.push('…');
            return out;
        }
        out.push_str(unit);
        used += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_disarms_mentions_and_disguised_links() {
        let hostile = "<!channel> <!here> <https://evil.example|click here> & <@U123>";
        let out = escaped(hostile, 3000);
        assert!(!out.contains('<') && !out.contains('>'), "{out}");
        assert!(out.contains("&lt;!channel&gt;"));
        assert!(out.contains("&amp; "));
    }

    fn document(transcript_lines: usize) -> LeadDocument {
        use chatkit_leads_core::email::{DocumentLine, DocumentSummary};
        LeadDocument {
            version: 1,
            thread_id: "cthr_slack".to_owned(),
            update: 0,
            contact: chatkit_leads_core::email::DocumentContact {
                name: Some("Ана-Мария 👩‍🔧 ".repeat(40)),
                phone: Some("+1 408 555 0142".to_owned()),
                ..Default::default()
            },
            summary: DocumentSummary {
                text: Some("Résumé ✂️ ".repeat(800)),
                next_steps: vec!["Call back".to_owned(); 400],
                ..Default::default()
            },
            call_script: vec!["¿Año, marca y modelo?".repeat(200); 3],
            drafts: Default::default(),
            attribution: Default::default(),
            links: [("call".to_owned(), "tel:+14085550142".to_owned())].into(),
            files: Vec::new(),
            email: Default::default(),
            transcript: Some(
                (0..transcript_lines)
                    .map(|i| DocumentLine {
                        speaker: "customer".to_owned(),
                        at: "2026-12-04 09:00:00Z".to_owned(),
                        text: format!("{i}: 座席の革が割れています 🚗 <b>&"),
                    })
                    .collect(),
            ),
        }
    }

    /// Every `text` of the message, with the limit that applies to it.
    fn texts(message: &Value) -> Vec<(String, usize)> {
        let mut found = Vec::new();
        for block in message["blocks"].as_array().expect("blocks") {
            let limit = match block["type"].as_str() {
                Some("header") => HEADER_CHARS,
                _ => SECTION_CHARS,
            };
            if let Some(text) = block["text"]["text"].as_str() {
                found.push((text.to_owned(), limit));
            }
            for field in block["fields"].as_array().into_iter().flatten() {
                found.push((field["text"].as_str().unwrap_or("").to_owned(), FIELD_CHARS));
            }
        }
        found
    }

    #[test]
    fn a_long_unicode_lead_stays_within_slacks_limits() {
        let message = message(&document(5_000));
        let blocks = message["blocks"].as_array().expect("blocks");
        assert!(blocks.len() <= MAX_BLOCKS);
        let texts = texts(&message);
        assert!(
            texts.len() >= 6,
            "header, summary, fields, script, steps, links, chat"
        );
        for (text, limit) in &texts {
            assert!(
                text.chars().count() <= *limit,
                "{} > {limit}",
                text.chars().count()
            );
        }
        let chat = &texts.last().expect("the chat").0;
        assert!(
            chat.starts_with("*Chat*") && chat.ends_with('…'),
            "cut, and says so"
        );
        assert!(!chat.contains("<b>"), "escaped before cutting");
        let header = &texts[0].0;
        assert!(header.ends_with('…') && header.chars().count() <= HEADER_CHARS);
    }

    #[test]
    fn cutting_counts_after_escaping_and_keeps_characters_whole() {
        let out = escaped("ééé<<<", 5);
        assert_eq!(out, "ééé…");
        assert_eq!(escaped("abc", 3), "abc");
        assert_eq!(escaped("abcd", 3), "ab…");
        let emoji = "🚗".repeat(10);
        let out = escaped(&emoji, 4);
        assert_eq!(out, "🚗🚗🚗…");
    }
}
