//! The internal AI summary: its schema, the model input built from
//! a transcript, the default instructions, and the sanitising every answer
//! goes through before it reaches an email.

use serde::{Deserialize, Serialize};

use crate::contact::{EmailAddress, Phone};
use crate::request::{Locale, PageUrl};
use crate::shop::ShopProfile;
use crate::text::truncate_chars;
use crate::transcript::{Speaker, Transcript};

/// Most `next_steps` kept.
pub const MAX_NEXT_STEPS: usize = 6;
/// Most `follow_up_questions` kept.
pub const MAX_FOLLOW_UP_QUESTIONS: usize = 6;
/// Most `call_script_prompts` kept (the email pads to exactly this many).
pub const CALL_SCRIPT_PROMPTS: usize = 3;
/// Most `missing_info` entries kept.
pub const MAX_MISSING_INFO: usize = 8;
/// Longest kept string field, in characters.
const MAX_FIELD_CHARS: usize = 2000;

/// The model's structured answer. Field names are the schema's.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadSummary {
    /// Customer's name.
    pub customer_name: Option<String>,
    /// Customer's phone as they gave it.
    pub customer_phone: Option<String>,
    /// Customer's email.
    pub customer_email: Option<String>,
    /// Where the customer is.
    pub customer_location: Option<String>,
    /// Language the customer wrote in (e.g. `Spanish`).
    pub customer_language: Option<String>,
    /// Vehicle, boat or item.
    pub vehicle: Option<String>,
    /// The work wanted.
    pub project: Option<String>,
    /// When they want it.
    pub timeline: Option<String>,
    /// Whether the shop can follow up now.
    pub handoff_ready: bool,
    /// Short code explaining `handoff_ready`.
    pub handoff_reason: String,
    /// Internal summary in English.
    pub summary: String,
    /// Suggested next steps (≤ 6).
    pub next_steps: Vec<String>,
    /// Unanswered questions to ask (≤ 6).
    pub follow_up_questions: Vec<String>,
    /// Call script prompts (≤ 3).
    pub call_script_prompts: Vec<String>,
    /// What is still missing (≤ 8).
    pub missing_info: Vec<String>,
    /// One-paragraph outreach draft in the customer's language.
    pub outreach_message: Option<String>,
}

// The summary quotes the customer: never print it in logs.
impl std::fmt::Debug for LeadSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeadSummary")
            .field("handoff_ready", &self.handoff_ready)
            .field("handoff_reason", &self.handoff_reason)
            .finish_non_exhaustive()
    }
}

impl LeadSummary {
    /// Trims strings, drops empties, caps list lengths and drops an
    /// implausible phone (wrong digit count or the shop's own) or email.
    pub fn sanitize(self, shop: &ShopProfile) -> Self {
        let phone = self
            .customer_phone
            .as_deref()
            .and_then(Phone::parse)
            .filter(|p| !shop.phone.matches_digits(&p.digits))
            .map(|p| p.display);
        let email = self
            .customer_email
            .as_deref()
            .and_then(EmailAddress::parse)
            .map(|e| e.as_str().to_owned());
        Self {
            customer_name: clean_opt(self.customer_name),
            customer_phone: phone,
            customer_email: email,
            customer_location: clean_opt(self.customer_location),
            customer_language: clean_opt(self.customer_language),
            vehicle: clean_opt(self.vehicle),
            project: clean_opt(self.project),
            timeline: clean_opt(self.timeline),
            handoff_ready: self.handoff_ready,
            handoff_reason: clean(&self.handoff_reason).unwrap_or_default(),
            summary: clean(&self.summary).unwrap_or_default(),
            next_steps: clean_list(self.next_steps, MAX_NEXT_STEPS),
            follow_up_questions: clean_list(self.follow_up_questions, MAX_FOLLOW_UP_QUESTIONS),
            call_script_prompts: clean_list(self.call_script_prompts, CALL_SCRIPT_PROMPTS),
            missing_info: clean_list(self.missing_info, MAX_MISSING_INFO),
            outreach_message: clean_opt(self.outreach_message),
        }
    }
}

fn clean(s: &str) -> Option<String> {
    crate::text::bounded(s, MAX_FIELD_CHARS)
}

fn clean_opt(s: Option<String>) -> Option<String> {
    s.as_deref().and_then(clean)
}

fn clean_list(items: Vec<String>, max: usize) -> Vec<String> {
    items.iter().filter_map(|s| clean(s)).take(max).collect()
}

/// The JSON schema of [`LeadSummary`] for a strict `json_schema` text format:
/// every property required, no additional properties.
pub fn json_schema() -> serde_json::Value {
    let nullable = || serde_json::json!({"type": ["string", "null"]});
    let list = |max: usize| serde_json::json!({"type": "array", "items": {"type": "string"}, "maxItems": max});
    serde_json::json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "customer_name": nullable(),
            "customer_phone": nullable(),
            "customer_email": nullable(),
            "customer_location": nullable(),
            "customer_language": nullable(),
            "vehicle": nullable(),
            "project": nullable(),
            "timeline": nullable(),
            "handoff_ready": {"type": "boolean"},
            "handoff_reason": {"type": "string"},
            "summary": {"type": "string"},
            "next_steps": list(MAX_NEXT_STEPS),
            "follow_up_questions": list(MAX_FOLLOW_UP_QUESTIONS),
            "call_script_prompts": list(CALL_SCRIPT_PROMPTS),
            "missing_info": list(MAX_MISSING_INFO),
            "outreach_message": nullable()
        },
        "required": [
            "customer_name", "customer_phone", "customer_email", "customer_location",
            "customer_language", "vehicle", "project", "timeline", "handoff_ready",
            "handoff_reason", "summary", "next_steps", "follow_up_questions",
            "call_script_prompts", "missing_info", "outreach_message"
        ]
    })
}

/// The schema's name in the `text.format` of a Responses request.
pub const SCHEMA_NAME: &str = "lead_summary";

/// The default instructions, with the shop's name and phone filled in.
/// Shops with their own wording pass it as [`SummaryInput::instructions`].
pub fn default_instructions(shop: &ShopProfile) -> String {
    format!(
        "You write internal lead summaries for {name}, reading a website chat between a \
customer and the shop's assistant.\n\
Rules:\n\
- Use only facts the customer stated explicitly. Use null when something is missing. Never guess.\n\
- handoff_ready is true only when the customer gave a phone number or email AND described what they need.\n\
- handoff_reason is a short snake_case code (e.g. ready_for_follow_up, missing_contact, missing_project).\n\
- Write summary and next_steps in English.\n\
- customer_language is the language of the customer's messages; if unclear, the page locale.\n\
- call_script_prompts: exactly 3 questions for a phone call, prioritising missing information and never re-asking what the customer already answered.\n\
- follow_up_questions: only questions the chat left unanswered.\n\
- outreach_message: one short paragraph in the customer's language, naming {name} and its phone {phone}; ask for photos when they would help.\n\
- Never mention prices, quotes or estimates. Never invent hours, policies or availability.",
        name = shop.name,
        phone = shop.phone.display(),
    )
}

/// What the summarizer is asked to summarise.
#[derive(Clone, PartialEq, Eq)]
pub struct SummaryInput {
    /// System instructions.
    pub instructions: String,
    /// The user input: locale, page, then the (trimmed) transcript.
    pub input: String,
    /// Output token budget.
    pub max_output_tokens: u32,
}

impl std::fmt::Debug for SummaryInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SummaryInput")
            .field("input_chars", &self.input.chars().count())
            .field("max_output_tokens", &self.max_output_tokens)
            .finish_non_exhaustive()
    }
}

/// Limits of the transcript sent to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TranscriptBudget {
    /// Total characters of transcript kept.
    pub max_chars: usize,
    /// Characters kept from the start of the chat when trimming.
    pub head_chars: usize,
}

impl Default for TranscriptBudget {
    fn default() -> Self {
        Self {
            max_chars: 16_000,
            head_chars: 4_000,
        }
    }
}

/// The marker that replaces omitted messages.
pub const OMITTED_MARKER: &str = "[… earlier messages omitted …]";

impl SummaryInput {
    /// Builds the model input: locale, page, then `Speaker: text` paragraphs
    /// trimmed to the budget (the start and the newest messages are kept).
    pub fn new(
        instructions: String,
        transcript: &Transcript,
        assistant_name: &str,
        locale: Option<&Locale>,
        page: Option<&PageUrl>,
        budget: TranscriptBudget,
        max_output_tokens: u32,
    ) -> Self {
        let paragraphs: Vec<String> = transcript
            .messages
            .iter()
            .map(|m| {
                let speaker = match m.speaker {
                    Speaker::Customer => "Customer",
                    Speaker::Assistant => assistant_name,
                };
                format!("{speaker}: {}", m.text())
            })
            .collect();
        let input = format!(
            "Locale: {}\nPage: {}\n\nTranscript:\n{}",
            locale.map(Locale::as_str).unwrap_or("unknown"),
            page.map(PageUrl::as_str).unwrap_or("unknown"),
            trim_transcript(&paragraphs, budget),
        );
        Self {
            instructions,
            input,
            max_output_tokens,
        }
    }
}

/// Joins paragraphs with blank lines; when they exceed the budget, keeps the
/// first `head_chars` and the newest rest around [`OMITTED_MARKER`].
pub fn trim_transcript(paragraphs: &[String], budget: TranscriptBudget) -> String {
    const SEP: &str = "\n\n";
    let full = paragraphs.join(SEP);
    if full.chars().count() <= budget.max_chars {
        return full;
    }
    let head = truncate_chars(&full, budget.head_chars);
    // Cut the head at the last paragraph break so no message is split, unless
    // the first message alone is longer than the head budget.
    let head = head.rfind(SEP).map_or(head, |i| &head[..i]);
    let tail_budget = budget
        .max_chars
        .saturating_sub(head.chars().count() + OMITTED_MARKER.chars().count() + 2 * SEP.len());
    let mut tail: Vec<&str> = Vec::new();
    let mut used = 0;
    for p in paragraphs.iter().rev() {
        let len = p.chars().count() + SEP.len();
        if used + len > tail_budget {
            if tail.is_empty() {
                // The newest message alone is too long: keep its end.
                let skip = p.chars().count().saturating_sub(tail_budget);
                let start = p.char_indices().nth(skip).map_or(p.len(), |(i, _)| i);
                tail.push(&p[start..]);
            }
            break;
        }
        used += len;
        tail.push(p);
    }
    tail.reverse();
    format!("{head}{SEP}{OMITTED_MARKER}{SEP}{}", tail.join(SEP))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_caps_lists_and_drops_implausible_contacts() {
        let shop = ShopProfile::seed();
        let raw = LeadSummary {
            customer_phone: Some("12".into()),
            customer_email: Some("not-an-email".into()),
            summary: "  padded  ".into(),
            next_steps: (0..12).map(|i| format!("step {i}")).collect(),
            call_script_prompts: vec![
                "q0?".into(),
                " ".into(),
                "q1?".into(),
                "q2?".into(),
                "q3?".into(),
            ],
            vehicle: Some("   ".into()),
            ..LeadSummary::default()
        };
        let s = raw.sanitize(&shop);
        assert_eq!(s.customer_phone, None);
        assert_eq!(s.customer_email, None);
        assert_eq!(s.summary, "padded");
        assert_eq!(s.next_steps.len(), MAX_NEXT_STEPS);
        assert_eq!(s.call_script_prompts, vec!["q0?", "q1?", "q2?"]);
        assert_eq!(s.vehicle, None);
    }

    #[test]
    fn sanitize_drops_the_shops_own_number() {
        let s = LeadSummary {
            customer_phone: Some("(408) 379-3820".into()),
            ..LeadSummary::default()
        }
        .sanitize(&ShopProfile::seed());
        assert_eq!(s.customer_phone, None);
    }

    #[test]
    fn schema_requires_every_property_and_allows_no_others() {
        let schema = json_schema();
        let props = schema["properties"].as_object().expect("properties");
        let required: Vec<&str> = schema["required"]
            .as_array()
            .expect("required")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(props.len(), required.len());
        assert!(props.keys().all(|k| required.contains(&k.as_str())));
        assert_eq!(schema["additionalProperties"], false);
        // Every schema property is a field of LeadSummary and back.
        let value = serde_json::to_value(LeadSummary::default()).expect("json");
        let fields = value.as_object().expect("object");
        assert_eq!(fields.len(), props.len());
        assert!(fields.keys().all(|k| props.contains_key(k)));
    }

    #[test]
    fn short_transcripts_are_kept_whole() {
        let p = vec!["Customer: hi".to_owned(), "Roxana: hello".to_owned()];
        assert_eq!(
            trim_transcript(&p, TranscriptBudget::default()),
            "Customer: hi\n\nRoxana: hello"
        );
    }

    #[test]
    fn long_transcripts_keep_the_start_and_the_newest_messages() {
        let p: Vec<String> = (0..400)
            .map(|i| format!("Customer: message {i:03} {}", "x".repeat(60)))
            .collect();
        let budget = TranscriptBudget::default();
        let out = trim_transcript(&p, budget);
        assert!(out.chars().count() <= budget.max_chars);
        assert!(out.starts_with("Customer: message 000"));
        assert!(out.ends_with(&p[399]));
        assert!(out.contains(OMITTED_MARKER));
        assert!(!out.contains("message 200"));
    }

    #[test]
    fn one_huge_message_is_cut_not_dropped() {
        let p = vec!["Customer: ".to_owned() + &"y".repeat(50_000)];
        let out = trim_transcript(&p, TranscriptBudget::default());
        assert!(out.chars().count() <= 16_000);
        assert!(out.ends_with('y'));
    }
}
