//! The lead as a document (issue 16, work in progress): the facts of the
//! lead email in a typed, versioned, serialisable form, for the sinks
//! (webhooks, Slack). Built from the same section model as the email, so
//! the email and every sink say the same thing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::input::LeadEmailInput;
use super::model::{Fact, LeadEmail, NOT_GIVEN, Timestamp};
use crate::transcript::Speaker;

/// The version of [`LeadDocument`]'s shape; a change that removes or
/// renames a field is a new version.
pub const DOCUMENT_VERSION: u32 = 1;

/// Everything a sink needs to act on a lead.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadDocument {
    /// [`DOCUMENT_VERSION`].
    pub version: u32,
    /// The ChatKit thread.
    pub thread_id: String,
    /// 0 for the lead, n for the n-th update.
    pub update: u32,
    /// How to reach the customer.
    pub contact: DocumentContact,
    /// What the model made of the chat (fields absent without a model).
    pub summary: DocumentSummary,
    /// Exactly three prompts for the call.
    pub call_script: Vec<String>,
    /// Outreach drafts in the customer's language.
    pub drafts: DocumentDrafts,
    /// Where the visitor came from (`utm_source`, `gclid`, …).
    pub attribution: BTreeMap<String, String>,
    /// Link targets, only those that passed the email's link gate.
    pub links: BTreeMap<String, String>,
    /// Files the customer shared (http(s) links).
    pub files: Vec<DocumentFile>,
    /// The lead email this event went out with.
    pub email: DocumentEmail,
    /// The messages, when the operator enables them for sinks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<Vec<DocumentLine>>,
}

/// The email an event went out with: a CRM can link the two, and an update
/// names the lead it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentEmail {
    /// Its `Message-ID`, without angle brackets.
    pub message_id: String,
    /// Its subject.
    pub subject: String,
}

// Customer data: Debug shows only the thread.
impl std::fmt::Debug for LeadDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeadDocument")
            .field("thread_id", &self.thread_id)
            .field("update", &self.update)
            .finish_non_exhaustive()
    }
}

/// How to reach the customer; absent what nobody gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentContact {
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Phone as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// The summary's fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentSummary {
    /// The summary text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Vehicle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vehicle: Option<String>,
    /// Project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<String>,
    /// Suggested next steps.
    pub next_steps: Vec<String>,
    /// Questions to ask.
    pub follow_up_questions: Vec<String>,
}

/// The outreach drafts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentDrafts {
    /// SMS text.
    pub sms: String,
    /// Email subject.
    pub email_subject: String,
    /// Email body.
    pub email_body: String,
}

/// A shared file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentFile {
    /// File name (one line).
    pub name: String,
    /// MIME type (one line).
    pub mime_type: String,
    /// http(s) URL.
    pub url: String,
    /// Whether the lead email carries it.
    pub attached: bool,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentLine {
    /// `customer` or `assistant`.
    pub speaker: String,
    /// `YYYY-MM-DD HH:MM:SSZ`.
    pub at: String,
    /// The normalised text.
    pub text: String,
}

/// The document of the lead (`update` 0) or of its `update`-th update,
/// with the transcript when `with_transcript`.
pub fn document(
    input: &LeadEmailInput<'_>,
    update: u32,
    sent: DocumentEmail,
    with_transcript: bool,
) -> LeadDocument {
    let email = LeadEmail::from_input(input);
    let fact = |label: &str| given(&email.glance, label);
    let summary = input.summary;
    LeadDocument {
        version: DOCUMENT_VERSION,
        thread_id: input.thread.id.as_str().to_owned(),
        update,
        contact: DocumentContact {
            name: fact("Customer"),
            phone: fact("Phone"),
            email: fact("Email"),
            location: fact("Location"),
        },
        summary: DocumentSummary {
            text: summary
                .map(|s| super::model::clean(&s.summary))
                .filter(|s| !s.is_empty()),
            vehicle: fact("Vehicle"),
            project: fact("Project"),
            timeline: fact("Timeline"),
            next_steps: email.next_steps.clone(),
            follow_up_questions: email.follow_up_questions.clone(),
        },
        call_script: email.call_script.clone(),
        drafts: DocumentDrafts {
            sms: email.drafts.sms.clone(),
            email_subject: email.drafts.email_subject.clone(),
            email_body: email.drafts.email_body.clone(),
        },
        attribution: email
            .attribution
            .iter()
            .map(|f| (f.label.to_owned(), f.value.clone()))
            .collect(),
        links: email
            .actions
            .iter()
            .filter(|a| super::links::href(&a.target).is_some())
            .map(|a| (link_name(a.label).to_owned(), a.target.clone()))
            .collect(),
        files: email
            .files
            .iter()
            .map(|f| DocumentFile {
                name: f.name.clone(),
                mime_type: f.mime_type.clone(),
                url: f.url.clone(),
                attached: f.inline.is_some(),
            })
            .collect(),
        email: sent,
        transcript: with_transcript.then(|| {
            email
                .transcript
                .iter()
                .map(|line| DocumentLine {
                    speaker: match line.speaker {
                        Speaker::Customer => "customer",
                        Speaker::Assistant => "assistant",
                    }
                    .to_owned(),
                    at: Timestamp(line.created_at).to_string(),
                    text: line.text.to_owned(),
                })
                .collect()
        }),
    }
}

/// A glance fact's value, or `None` when nobody gave it.
fn given(facts: &[Fact], label: &str) -> Option<String> {
    facts
        .iter()
        .find(|f| f.label == label)
        .map(|f| f.value.clone())
        .filter(|v| v != NOT_GIVEN)
}

/// The document's name for a quick action's link.
fn link_name(label: &str) -> &str {
    match label {
        "Call customer" => "call",
        "Text customer" => "text",
        "Email customer" => "email",
        "Email draft" => "email_draft",
        "Open page" => "page",
        "OpenAI logs" => "logs",
        other => other,
    }
}
