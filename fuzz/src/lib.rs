//! What the fuzz targets share: the shop they render for, and lead inputs
//! built from fuzzed text through the same JSON shapes ChatKit and the
//! browser send, so every value passes the parsers a real one would.

use arbitrary::Arbitrary;
use chatkit_leads_core::chatkit::{Thread, ThreadItem};
use chatkit_leads_core::{LeadRequest, LeadSummary, ThreadId, Transcript, TriggerReason};
use serde_json::{Value, json};

/// A chat as a fuzzer makes it: free text wherever ChatKit, the page or the
/// model put text.
#[derive(Debug, Arbitrary)]
pub struct FuzzedLead {
    pub title: String,
    pub thread_user: String,
    pub messages: Vec<FuzzedMessage>,
    pub page_url: String,
    pub locale: String,
    pub reason: String,
    pub utm_source: String,
    pub landing_page: String,
    pub summary: Option<FuzzedSummary>,
}

/// One chat message with its attachments.
#[derive(Debug, Arbitrary)]
pub struct FuzzedMessage {
    pub from_customer: bool,
    pub text: String,
    pub attachments: Vec<(String, String, String)>,
}

/// The model's answer, field by field.
#[derive(Debug, Arbitrary)]
pub struct FuzzedSummary {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub vehicle: String,
    pub project: String,
    pub summary: String,
    pub lists: Vec<String>,
    pub outreach: String,
}

/// The built inputs of one lead.
pub struct Lead {
    pub thread: Thread,
    pub request: LeadRequest,
    pub transcript: Transcript,
    pub summary: Option<LeadSummary>,
}

impl FuzzedLead {
    /// Every fuzzed string with `suffix` appended, as the inputs of a lead.
    pub fn build(&self, suffix: &str) -> Lead {
        let s = |text: &str| format!("{text}{suffix}");
        let items: Vec<Value> = self
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let files: Vec<Value> = m
                    .attachments
                    .iter()
                    .map(|(name, mime, url)| {
                        json!({"id": format!("cfile_{i}"), "type": "image", "name": s(name),
                               "mime_type": s(mime), "preview_url": url})
                    })
                    .collect();
                if m.from_customer {
                    json!({"id": format!("cthi_{i}"), "object": "chatkit.thread_item",
                           "type": "chatkit.user_message", "thread_id": "cthr_fuzz",
                           "created_at": 1_767_304_800 + i64::try_from(i).unwrap_or(0),
                           "content": [{"type": "input_text", "text": s(&m.text)}],
                           "attachments": files})
                } else {
                    json!({"id": format!("cthi_{i}"), "object": "chatkit.thread_item",
                           "type": "chatkit.assistant_message", "thread_id": "cthr_fuzz",
                           "created_at": 1_767_304_800 + i64::try_from(i).unwrap_or(0),
                           "content": [{"type": "output_text", "text": s(&m.text), "annotations": []}]})
                }
            })
            .collect();
        let items: Vec<ThreadItem> =
            serde_json::from_value(Value::Array(items)).unwrap_or_default();
        let thread: Thread = serde_json::from_value(json!({
            "id": "cthr_fuzz", "created_at": 1_767_304_800,
            "title": s(&self.title), "user": s(&self.thread_user)
        }))
        .expect("a thread with a valid id");
        let body = json!({
            "threadId": "cthr_fuzz", "reason": self.reason, "locale": self.locale,
            "pageUrl": self.page_url,
            "attribution": {"utm_source": s(&self.utm_source), "landing_page": self.landing_page}
        });
        let request = LeadRequest::from_json(body.to_string().as_bytes()).unwrap_or_else(|_| {
            LeadRequest::new(
                ThreadId::parse("cthr_fuzz").expect("id"),
                TriggerReason::Idle,
            )
        });
        let summary = self.summary.as_ref().map(|z| LeadSummary {
            customer_name: Some(s(&z.name)),
            customer_phone: Some(z.phone.clone()),
            customer_email: Some(z.email.clone()),
            vehicle: Some(s(&z.vehicle)),
            project: Some(s(&z.project)),
            handoff_ready: true,
            handoff_reason: s("ready"),
            summary: s(&z.summary),
            next_steps: z.lists.iter().map(|l| s(l)).collect(),
            follow_up_questions: z.lists.iter().map(|l| s(l)).collect(),
            call_script_prompts: z.lists.iter().map(|l| s(l)).collect(),
            outreach_message: Some(s(&z.outreach)),
            ..LeadSummary::default()
        });
        Lead {
            transcript: Transcript::from_items(&items),
            thread,
            request,
            summary,
        }
    }
}
