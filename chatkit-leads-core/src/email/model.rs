//! The section model: every fact of the lead email, decided once.
//!
//! [`LeadEmail::from_input`] reads the inputs, cleans untrusted text and
//! chooses every label, value and link target. The text and HTML renderers
//! only lay the model out, so both parts always carry the same facts.

use std::fmt;

use chrono::{DateTime, Datelike, Timelike};

use crate::summary::CALL_SCRIPT_PROMPTS;
use crate::text::{is_hidden, single_line, truncate_chars};
use crate::transcript::Speaker;

use super::input::{EmailCopy, LeadEmailInput, UpdateEmailInput};
use super::links;

/// Longest subject, in characters (mail clients show far less).
pub(crate) const MAX_SUBJECT_CHARS: usize = 200;

/// Shown for a fact nobody gave.
pub(crate) const NOT_GIVEN: &str = "—";

/// One labelled fact, optionally with a link target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fact {
    /// What the fact is.
    pub label: &'static str,
    /// Its value, ready to show (cleaned, may span lines only where noted).
    pub value: String,
    /// A link target for the value (checked again by `links::href` when rendered).
    pub link: Option<String>,
}

impl Fact {
    fn new(label: &'static str, value: impl Into<String>) -> Self {
        Self {
            label,
            value: value.into(),
            link: None,
        }
    }

    fn linked(label: &'static str, value: impl Into<String>, link: Option<String>) -> Self {
        Self {
            label,
            value: value.into(),
            link,
        }
    }

    fn optional(label: &'static str, value: Option<&str>) -> Self {
        Self::new(
            label,
            value.map_or_else(|| NOT_GIVEN.to_owned(), single_line),
        )
    }
}

/// A quick-action button of the HTML part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Action {
    /// Button text.
    pub label: &'static str,
    /// Link target.
    pub target: String,
}

/// A file the customer shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileLink {
    /// File name.
    pub name: String,
    /// MIME type.
    pub mime_type: String,
    /// http(s) URL.
    pub url: String,
    /// Set when the file is attached inline: its `Content-ID` and, when
    /// known, its width and height.
    pub inline: Option<(String, Option<(u32, u32)>)>,
    /// Why a photo is not attached, when it was left out.
    pub not_attached: Option<String>,
}

/// The outreach drafts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Drafts {
    /// SMS text, signed.
    pub sms: String,
    /// Email subject.
    pub email_subject: String,
    /// Email body, signed, with the shop address.
    pub email_body: String,
    /// In a right-to-left language: the HTML lays them out so.
    pub right_to_left: bool,
}

/// One transcript message, its text borrowed from the transcript: a
/// [`crate::transcript::Message`]'s text is normalised when it is made and
/// is what the email shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    /// Unix seconds.
    pub created_at: i64,
    /// Who said it.
    pub speaker: Speaker,
    /// The message (cleaned; may contain newlines).
    pub text: &'a str,
}

impl Line<'_> {
    /// When it was said, as `YYYY-MM-DD HH:MM:SSZ`.
    pub(crate) fn timestamp(&self) -> Timestamp {
        Timestamp(self.created_at)
    }
}

/// The whole email, section by section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeadEmail<'a> {
    /// The subject (one line, capped).
    pub subject: String,
    /// 1. Header title: "New chat lead from <page host or shop name>".
    pub title: String,
    /// 1. Header: the shop name.
    pub shop_name: String,
    /// 2. At a glance.
    pub glance: Vec<Fact>,
    /// 3. Quick actions (HTML only), only those with a known target.
    pub actions: Vec<Action>,
    /// 4. Attribution, empty when the page sent none.
    pub attribution: Vec<Fact>,
    /// 5. Photos and attachments.
    pub files: Vec<FileLink>,
    /// 6. Summary, or a note why there is none.
    pub summary: String,
    /// 7. Suggested next steps.
    pub next_steps: Vec<String>,
    /// 8. Follow-up questions.
    pub follow_up_questions: Vec<String>,
    /// 9. Call script: exactly three prompts.
    pub call_script: Vec<String>,
    /// 10. Drafts.
    pub drafts: Drafts,
    /// 11. Transcript.
    pub transcript: Vec<Line<'a>>,
    /// The assistant's display name (one line), for its transcript lines.
    pub assistant_name: String,
    /// 12. Diagnostics.
    pub diagnostics: Vec<Fact>,
    /// Accent colour (`#RRGGBB`, validated by `BrandColor`).
    pub brand_color: String,
    /// The operator's note at the end ([`super::EmailCopy::footer`]).
    pub footer: Option<String>,
    /// Which sections the email has.
    pub layout: Layout,
}

/// Which sections an email has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Layout {
    /// The full lead: sections 1–12.
    Lead,
    /// A delivery alert: the notice, at a glance, quick actions and
    /// Diagnostics.
    Alert(String),
    /// An update: the notice, at a glance, quick actions, the new files,
    /// the updated summary, the new messages and Diagnostics.
    Update(String),
}

impl Layout {
    /// The notice shown under the header, if any.
    pub(crate) fn notice(&self) -> Option<&str> {
        match self {
            Self::Lead => None,
            Self::Alert(notice) | Self::Update(notice) => Some(notice),
        }
    }
}

impl<'a> LeadEmail<'a> {
    /// Who said `line`, as the transcript shows it.
    pub(crate) fn speaker(&self, line: &Line<'_>) -> &str {
        match line.speaker {
            Speaker::Customer => "Customer",
            Speaker::Assistant => &self.assistant_name,
        }
    }

    /// The length of the free text the renderers copy (transcript, summary,
    /// drafts), to size their buffers once.
    pub(crate) fn text_len(&self) -> usize {
        let drafts = &self.drafts;
        self.transcript
            .iter()
            .map(|line| line.text.len())
            .sum::<usize>()
            + self.summary.len()
            + drafts.sms.len()
            + drafts.email_subject.len()
            + drafts.email_body.len()
    }

    /// Decides every fact of the email.
    pub(crate) fn from_input(input: &LeadEmailInput<'a>) -> Self {
        let shop = input.shop;
        let summary = input.summary;
        let contact = input.contact;
        let request = input.request;
        let field = |get: fn(&crate::summary::LeadSummary) -> &Option<String>| {
            summary
                .and_then(|s| get(s).as_deref())
                .map(single_line)
                .filter(|v| !v.is_empty())
        };
        let name = field(|s| &s.customer_name);
        let vehicle = field(|s| &s.vehicle);
        let project = field(|s| &s.project);

        let drafts = drafts(input, name.as_deref(), project.as_deref());
        let page = request.page_url.as_ref();
        let logs_url = input.thread.id.logs_url();

        let glance = vec![
            Fact::optional("Customer", name.as_deref()),
            match &contact.phone {
                Some(p) => Fact::linked("Phone", single_line(&p.display), Some(links::tel(p))),
                None => Fact::new("Phone", NOT_GIVEN),
            },
            match &contact.email {
                Some(e) => Fact::linked("Email", e.as_str(), Some(links::mailto(e, None))),
                None => Fact::new("Email", NOT_GIVEN),
            },
            Fact::optional(
                "Location",
                summary.and_then(|s| s.customer_location.as_deref()),
            ),
            Fact::optional("Vehicle", vehicle.as_deref()),
            Fact::optional("Project", project.as_deref()),
            Fact::optional("Timeline", summary.and_then(|s| s.timeline.as_deref())),
            Fact::new("Photos", photo_count(input)),
        ];

        let mut actions = Vec::new();
        if let Some(phone) = &contact.phone {
            actions.push(Action {
                label: "Call customer",
                target: links::tel(phone),
            });
            actions.push(Action {
                label: "Text customer",
                target: links::sms(phone),
            });
        }
        if let Some(email) = &contact.email {
            actions.push(Action {
                label: "Email customer",
                target: links::mailto(email, None),
            });
            actions.push(Action {
                label: "Email draft",
                target: links::mailto(email, Some((&drafts.email_subject, &drafts.email_body))),
            });
        }
        if let Some(page) = page {
            actions.push(Action {
                label: "Open page",
                target: page.as_str().to_owned(),
            });
        }
        actions.push(Action {
            label: "OpenAI logs",
            target: logs_url.clone(),
        });

        let attribution = request
            .attribution
            .fields()
            .into_iter()
            .map(|(label, value)| {
                let value = single_line(value);
                let link = matches!(label, "landing_page" | "referrer")
                    .then(|| value.clone())
                    .filter(|v| crate::transcript::is_http_url(v));
                Fact::linked(label, value, link)
            })
            .collect();

        let files = input
            .transcript
            .attachments
            .iter()
            .map(|f| FileLink {
                name: single_line(&f.name),
                mime_type: single_line(&f.mime_type),
                url: f.url.clone(),
                inline: input
                    .photos
                    .attached_from(&f.url)
                    .map(|photo| (photo.cid.clone(), photo.size)),
                not_attached: input.photos.skipped_reason(&f.url).map(single_line),
            })
            .collect();

        let summary_text = match summary {
            Some(s) if !s.summary.trim().is_empty() => clean(&s.summary),
            Some(_) => "The AI summary is empty.".to_owned(),
            None => "No AI summary for this lead (see Diagnostics).".to_owned(),
        };
        let list = |get: fn(&crate::summary::LeadSummary) -> &Vec<String>| -> Vec<String> {
            summary
                .map(|s| {
                    get(s)
                        .iter()
                        .map(|v| clean(v))
                        .filter(|v| !v.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };

        let transcript = input
            .transcript
            .messages
            .iter()
            .map(|m| Line {
                created_at: m.created_at,
                speaker: m.speaker,
                text: m.text(),
            })
            .collect();

        Self {
            subject: subject(input),
            title: format!(
                "{} from {}",
                single_line(&input.copy.subject),
                page.map(|p| single_line(p.host()))
                    .filter(|h| !h.is_empty())
                    .unwrap_or_else(|| single_line(&shop.name))
            ),
            shop_name: single_line(&shop.name),
            glance,
            actions,
            attribution,
            files,
            summary: summary_text,
            next_steps: list(|s| &s.next_steps),
            follow_up_questions: list(|s| &s.follow_up_questions),
            call_script: call_script(
                summary
                    .map(|s| s.call_script_prompts.as_slice())
                    .unwrap_or_default(),
                input.copy,
            ),
            drafts,
            transcript,
            assistant_name: single_line(&shop.assistant_name),
            diagnostics: diagnostics(input, &logs_url),
            brand_color: shop.brand_color.as_str().to_owned(),
            footer: input
                .copy
                .footer
                .as_deref()
                .map(clean)
                .filter(|f| !f.is_empty()),
            layout: Layout::Lead,
        }
    }

    /// The short alert sent instead of a resend under
    /// `DuplicatePolicy::AlertOnly`: who the customer is, how to reach
    /// them, and why the lead is not repeated.
    pub(crate) fn delivery_alert(input: &LeadEmailInput<'a>) -> Self {
        let mut email = Self::from_input(input);
        let thread = input.thread.id.as_str();
        email.subject = single_line(&format!(
            "{} Check that the lead for {thread} arrived",
            input.copy.possible_duplicate_prefix
        ));
        email.title = format!("Lead delivery unconfirmed: {thread}");
        email.layout = Layout::Alert(
            "An earlier attempt started sending this lead and never confirmed the outcome. \
             It was not sent again. Search your inbox for the thread id; if the lead is \
             missing, contact the customer with the details below or resend it."
                .to_owned(),
        );
        email
    }

    /// An update email: the customer wrote again after the lead went out.
    /// Only the new messages and files, contact details first given in them
    /// marked new, the updated summary when the model made one.
    pub(crate) fn update(input: &UpdateEmailInput<'a>) -> Self {
        let lead = &input.lead;
        let mut email = Self::from_input(lead);
        email.subject = reply_subject(input);
        email.title = format!("Update {}: the customer wrote again", input.number);
        let count = lead.transcript.messages.len();
        email.layout = Layout::Update(format!(
            "The customer wrote again after the lead went out. Below {} only the {count} new \
             message{}; the lead email has the rest of the chat.",
            if count == 1 { "is" } else { "are" },
            if count == 1 { "" } else { "s" },
        ));
        for fact in &mut email.glance {
            fact.label = match fact.label {
                "Phone" if input.new_contact.phone => "Phone (new)",
                "Email" if input.new_contact.email => "Email (new)",
                label => label,
            };
        }
        if lead.summary.is_none() {
            email.summary = "No updated AI summary (see Diagnostics).".to_owned();
        }
        email.diagnostics.push(Fact::new(
            "Update",
            format!("{} to this lead", ordinal(input.number)),
        ));
        email
    }
}

/// How many files the customer shared, and how many ride in the email.
fn photo_count(input: &LeadEmailInput<'_>) -> String {
    let shared = input.transcript.attachments.len();
    match input.photos.attached.len() {
        0 => shared.to_string(),
        attached => format!("{shared} ({attached} attached)"),
    }
}

/// `Re: <the lead email's subject>` (the subject as the shop received it,
/// else the one this update's facts give), flagged like a lead when the
/// update may be a duplicate; one line of at most [`MAX_SUBJECT_CHARS`].
fn reply_subject(input: &UpdateEmailInput<'_>) -> String {
    let original = input
        .lead_subject
        .map(single_line)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            let plain = super::input::Diagnostics::default();
            subject(&LeadEmailInput {
                diagnostics: &plain,
                ..input.lead
            })
        });
    let original = original
        .strip_prefix("Re: ")
        .map_or(original.as_str(), str::trim_start);
    let reply = match &input.lead.diagnostics.possible_duplicate {
        Some(_) => format!(
            "{} Re: {original}",
            input.lead.copy.possible_duplicate_prefix
        ),
        None => format!("Re: {original}"),
    };
    truncate_chars(&single_line(&reply), MAX_SUBJECT_CHARS)
        .trim_end()
        .to_owned()
}

/// `1st`, `2nd`, `3rd`, `4th`, … `11th`, `12th`, `13th`, `21st`.
fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// `New chat lead: <vehicle> - <project>` (whichever exist), else
/// `New chat lead: <thread title>`, else `New chat lead`; prefixed when the
/// lead may be a duplicate; one line of at most [`MAX_SUBJECT_CHARS`].
pub(crate) fn subject(input: &LeadEmailInput<'_>) -> String {
    let present = |v: Option<&String>| v.map(|v| single_line(v)).filter(|v| !v.is_empty());
    let topic: Vec<String> = input
        .summary
        .map(|s| [present(s.vehicle.as_ref()), present(s.project.as_ref())])
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    let topic = if topic.is_empty() {
        present(input.thread.title.as_ref())
    } else {
        Some(topic.join(" - "))
    };
    let start = single_line(&input.copy.subject);
    let base = match topic {
        Some(topic) => format!("{start}: {topic}"),
        None => start,
    };
    let full = match (
        &input.diagnostics.resend,
        &input.diagnostics.possible_duplicate,
    ) {
        (Some(_), _) => format!("{} {base}", input.copy.resend_prefix),
        (None, Some(_)) => format!("{} {base}", input.copy.possible_duplicate_prefix),
        (None, None) => base,
    };
    let line = single_line(&full);
    truncate_chars(&line, MAX_SUBJECT_CHARS)
        .trim_end()
        .to_owned()
}

/// The model's prompts, then the configured defaults that are not already
/// there, cut or padded to exactly [`CALL_SCRIPT_PROMPTS`].
pub(crate) fn call_script(model: &[String], copy: &EmailCopy) -> Vec<String> {
    let key = |s: &str| single_line(s).to_lowercase();
    let mut out: Vec<String> = Vec::with_capacity(CALL_SCRIPT_PROMPTS);
    let candidates = model.iter().chain(copy.default_call_script.iter());
    for prompt in candidates {
        let prompt = clean(prompt);
        if out.len() == CALL_SCRIPT_PROMPTS {
            break;
        }
        if !prompt.is_empty() && !out.iter().any(|p| key(p) == key(&prompt)) {
            out.push(prompt);
        }
    }
    // Only reachable when the configured defaults repeat each other.
    for default in copy
        .default_call_script
        .iter()
        .cycle()
        .take(CALL_SCRIPT_PROMPTS)
    {
        if out.len() == CALL_SCRIPT_PROMPTS {
            break;
        }
        out.push(clean(default));
    }
    out
}

/// The SMS and email drafts: the model's outreach message or the configured
/// fallback, always signed with the shop's name and phone.
fn drafts(input: &LeadEmailInput<'_>, name: Option<&str>, project: Option<&str>) -> Drafts {
    let shop = input.shop;
    // The customer's language: as the model heard it, else the page's.
    let languages: Vec<&str> = input
        .summary
        .and_then(|s| s.customer_language.as_deref())
        .into_iter()
        .chain(input.request.locale.as_ref().map(|l| l.as_str()))
        .collect();
    let chosen = input.copy.drafts.choose(&languages);
    let copy = chosen.copy;
    let shop_name = single_line(&shop.name);
    let project_phrase = project.map(lowercase_first);
    let vars = [
        ("name", name.unwrap_or(&copy.fallback_name)),
        ("shop", shop_name.as_str()),
        (
            "project",
            project_phrase.as_deref().unwrap_or(&copy.fallback_project),
        ),
    ];
    let message = input
        .summary
        .and_then(|s| s.outreach_message.as_deref())
        .map(clean)
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| clean(&fill(&copy.outreach, &vars)));
    let phone = single_line(shop.phone.display());
    Drafts {
        sms: format!("{message}\n— {shop_name}, {phone}"),
        email_subject: single_line(&fill(&copy.email_subject, &vars)),
        email_body: format!(
            "{message}\n\n{shop_name}\n{phone}\n{}",
            single_line(&shop.address)
        ),
        right_to_left: chosen.right_to_left,
    }
}

fn diagnostics(input: &LeadEmailInput<'_>, logs_url: &str) -> Vec<Fact> {
    let request = input.request;
    let summary = input.summary;
    let diag = input.diagnostics;
    let mut facts = vec![
        Fact::linked(
            "Thread",
            input.thread.id.as_str(),
            Some(logs_url.to_owned()),
        ),
        Fact::linked("OpenAI logs", logs_url, Some(logs_url.to_owned())),
        Fact::new("Trigger", single_line(request.reason.as_str())),
        Fact::optional(
            "Chat user",
            request
                .user
                .as_ref()
                .map(|u| u.as_str())
                .or(input.thread.user.as_deref()),
        ),
        Fact::optional("Chat title", input.thread.title.as_deref()),
        Fact::new(
            "Missing info",
            match summary {
                Some(s) if !s.missing_info.is_empty() => s
                    .missing_info
                    .iter()
                    .map(|m| single_line(m))
                    .collect::<Vec<_>>()
                    .join("; "),
                Some(_) => "none listed".to_owned(),
                None => "unknown (no AI summary)".to_owned(),
            },
        ),
        Fact::optional("Locale", request.locale.as_ref().map(|l| l.as_str())),
        Fact::optional(
            "Customer language",
            summary.and_then(|s| s.customer_language.as_deref()),
        ),
        match &request.page_url {
            Some(p) => Fact::linked("Page", p.as_str(), Some(p.as_str().to_owned())),
            None => Fact::new("Page", NOT_GIVEN),
        },
        Fact::new(
            "Handoff ready",
            match summary {
                Some(s) => {
                    let answer = if s.handoff_ready { "yes" } else { "no" };
                    match single_line(&s.handoff_reason) {
                        reason if reason.is_empty() => answer.to_owned(),
                        reason => format!("{answer} ({reason})"),
                    }
                }
                None => "unknown (no AI summary)".to_owned(),
            },
        ),
        Fact::new("Attempt", diag.attempt.to_string()),
        Fact::new(
            "AI summary",
            match (summary, &diag.summary_failure) {
                (Some(_), _) => "ok".to_owned(),
                (None, Some(why)) => format!("failed: {}", single_line(why)),
                (None, None) => "not available".to_owned(),
            },
        ),
    ];
    if let Some(dup) = &diag.possible_duplicate {
        facts.push(Fact::new(
            "Possible duplicate",
            format!(
                "an earlier attempt started delivering this lead at {} and its outcome is unknown; \
                 it may already be in your inbox",
                Timestamp(dup.earlier_delivery_started_at)
            ),
        ));
    }
    if let Some(resend) = &diag.resend {
        facts.push(Fact::new(
            "Resend",
            match resend.earlier_sent_at {
                Some(at) => format!(
                    "sent again by an operator; this lead first went out at {}",
                    Timestamp(at)
                ),
                None => "sent again by an operator".to_owned(),
            },
        ));
    }
    if let Some(pages) = diag.truncated_after_pages {
        facts.push(Fact::new(
            "Transcript",
            format!("transcript truncated after {pages} pages"),
        ));
    }
    facts
}

/// A time as the email shows it: `YYYY-MM-DD HH:MM:SSZ` in UTC
/// (`@<unix seconds>` when out of range). Every transcript line has one, so
/// it is written from a fixed buffer rather than through six padded
/// integer formats.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timestamp(pub i64);

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(t) =
            DateTime::from_timestamp(self.0, 0).filter(|t| (0..=9999).contains(&t.year()))
        else {
            return write!(f, "@{}", self.0);
        };
        let mut text = *b"0000-00-00 00:00:00Z";
        let year = t.year().unsigned_abs();
        let fields = [
            (0, year / 100),
            (2, year % 100),
            (5, t.month()),
            (8, t.day()),
            (11, t.hour()),
            (14, t.minute()),
            (17, t.second()),
        ];
        for (at, value) in fields {
            // Each value is below 100: two ASCII digits.
            text[at] = b'0' + (value / 10) as u8;
            text[at + 1] = b'0' + (value % 10) as u8;
        }
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

/// Untrusted multi-line text for display: line ends unified, invisible and
/// control characters (other than newline and tab) removed, trimmed.
pub(crate) fn clean(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|&c| !is_hidden(c))
        .collect::<String>()
        .trim()
        .to_owned()
}

/// `Reupholster the seats` → `reupholster the seats`, but `F-150 seats` and
/// `ABS trim` stay as they are.
fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => {
            first.to_lowercase().chain(s.chars().skip(1)).collect()
        }
        _ => s.to_owned(),
    }
}

/// Replaces `{key}` placeholders in one pass, so a value that itself contains
/// `{shop}` is never expanded again. Unknown placeholders stay as written.
pub(crate) fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let replaced = after.find('}').and_then(|close| {
            let key = &after[..close];
            vars.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (close, *v))
        });
        match replaced {
            Some((close, value)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy() -> EmailCopy {
        EmailCopy::default()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn call_script_without_model_prompts_is_the_three_defaults() {
        assert_eq!(
            call_script(&[], &copy()),
            copy().default_call_script.to_vec()
        );
    }

    #[test]
    fn call_script_pads_one_model_prompt_with_the_first_two_defaults() {
        let d = copy().default_call_script;
        assert_eq!(
            call_script(&strings(&["Leather or vinyl?"]), &copy()),
            vec!["Leather or vinyl?".to_owned(), d[0].clone(), d[1].clone()]
        );
    }

    #[test]
    fn call_script_keeps_three_model_prompts_as_they_are() {
        let model = strings(&["A?", "B?", "C?"]);
        assert_eq!(call_script(&model, &copy()), model);
    }

    #[test]
    fn call_script_skips_defaults_the_model_already_asked() {
        let d = copy().default_call_script;
        let model = vec![d[0].to_uppercase(), "Leather or vinyl?".to_owned()];
        assert_eq!(
            call_script(&model, &copy()),
            vec![
                d[0].to_uppercase(),
                "Leather or vinyl?".to_owned(),
                d[1].clone()
            ]
        );
    }

    #[test]
    fn call_script_is_three_even_when_the_configured_defaults_repeat() {
        let copy = EmailCopy {
            default_call_script: ["Same?".into(), "Same?".into(), "Same?".into()],
            ..EmailCopy::default()
        };
        assert_eq!(call_script(&[], &copy).len(), CALL_SCRIPT_PROMPTS);
    }

    #[test]
    fn fill_expands_each_placeholder_once() {
        let out = fill(
            "Hi {name}, {shop} {unknown} {",
            &[("name", "{shop}"), ("shop", "Craig's")],
        );
        assert_eq!(out, "Hi {shop}, Craig's {unknown} {");
    }

    #[test]
    fn ordinals_read_as_words_do() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 111].map(ordinal).into();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "111th"
            ]
        );
    }

    #[test]
    fn timestamps_are_utc_with_a_z() {
        assert_eq!(Timestamp(1_767_304_840).to_string(), "2026-01-01 22:00:40Z");
        assert_eq!(Timestamp(i64::MAX).to_string(), format!("@{}", i64::MAX));
        assert_eq!(Timestamp(0).to_string(), "1970-01-01 00:00:00Z");
        assert_eq!(
            Timestamp(-62_135_596_800).to_string(),
            "0001-01-01 00:00:00Z"
        );
        assert_eq!(
            Timestamp(253_402_300_799).to_string(),
            "9999-12-31 23:59:59Z"
        );
        assert_eq!(Timestamp(253_402_300_800).to_string(), "@253402300800");
    }

    #[test]
    fn clean_removes_invisible_and_control_characters_but_keeps_lines() {
        assert_eq!(clean(" a\u{202e}b\r\nc\u{0007}\u{200b} "), "ab\nc");
    }

    #[test]
    fn lowercase_first_leaves_acronyms_and_models_alone() {
        assert_eq!(lowercase_first("Reupholster seats"), "reupholster seats");
        assert_eq!(lowercase_first("ABS trim"), "ABS trim");
        assert_eq!(lowercase_first("F-150 seats"), "F-150 seats");
    }
}
