//! Golden tests: every fixture thread produces the facts in `expected.json`.

mod common;

use chatkit_leads_core::chatkit::ThreadItem;
use chatkit_leads_core::testkit::SummaryScript;
use chatkit_leads_core::transcript::Speaker;
use chatkit_leads_core::{
    Contact, LeadOutcome, LeadRequest, Locale, ShopProfile, Transcript, TriggerReason,
};
use common::{Harness, fixtures, ready_summary, thread};
use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    locale: String,
    customer_messages: usize,
    assistant_messages: usize,
    phone: Option<String>,
    phone_digits: Option<String>,
    email: Option<String>,
    attachments: usize,
    outcome: String,
    items_total: usize,
}

fn expectations() -> Vec<(String, Expected)> {
    let raw = std::fs::read(fixtures().join("chatkit/expected.json")).expect("expected.json");
    let map: std::collections::BTreeMap<String, Expected> =
        serde_json::from_slice(&raw).expect("expected.json shape");
    assert_eq!(map.len(), 7, "every fixture thread has expectations");
    map.into_iter().collect()
}

fn items(id: &str) -> Vec<ThreadItem> {
    let raw =
        std::fs::read(fixtures().join("chatkit").join(id).join("items.json")).expect("items.json");
    serde_json::from_slice(&raw).expect("items parse")
}

#[test]
fn transcripts_have_the_expected_messages_attachments_and_contact() {
    let shop = ShopProfile::seed();
    for (id, want) in expectations() {
        let items = items(&id);
        assert_eq!(items.len(), want.items_total, "{id}: items");
        let transcript = Transcript::from_items(&items);
        let count = |s: Speaker| {
            transcript
                .messages
                .iter()
                .filter(|m| m.speaker == s)
                .count()
        };
        assert_eq!(
            count(Speaker::Customer),
            want.customer_messages,
            "{id}: customer messages"
        );
        assert_eq!(
            count(Speaker::Assistant),
            want.assistant_messages,
            "{id}: assistant messages"
        );
        assert_eq!(
            transcript.attachments.len(),
            want.attachments,
            "{id}: attachments"
        );
        assert!(
            transcript
                .attachments
                .iter()
                .all(|a| a.url.starts_with("https://")),
            "{id}: only https kept"
        );
        let contact = Contact::extract(&transcript, &shop.phone);
        assert_eq!(
            contact.phone.as_ref().map(|p| p.display.as_str()),
            want.phone.as_deref(),
            "{id}: phone"
        );
        assert_eq!(
            contact.phone.as_ref().map(|p| p.digits.as_str()),
            want.phone_digits.as_deref(),
            "{id}: digits"
        );
        assert_eq!(
            contact.email.as_ref().map(|e| e.as_str()),
            want.email.as_deref(),
            "{id}: email"
        );
    }
}

#[tokio::test]
async fn every_fixture_reaches_its_expected_outcome_with_an_ideal_summarizer() {
    for (id, want) in expectations() {
        let summary = ready_summary(want.phone.as_deref(), want.email.as_deref());
        let h = Harness::new(SummaryScript::Answer(Box::new(summary)));
        let mut request = LeadRequest::new(thread(&id), TriggerReason::ChatClosed);
        request.locale = Locale::parse(&want.locale);
        let outcome = h.workflow.process(&request).await.expect("outcome");
        let got = match &outcome {
            LeadOutcome::Sent { .. } => "sent",
            other => other.reason(),
        };
        assert_eq!(got, want.outcome, "{id}: outcome");
        let emails = h.mailer.sent();
        assert_eq!(
            emails.len(),
            usize::from(want.outcome == "sent"),
            "{id}: emails"
        );
        for email in emails {
            assert_eq!(
                email.reply_to.as_ref().map(|e| e.as_str()),
                want.email.as_deref(),
                "{id}: Reply-To is the customer's email"
            );
            let html = email.html.to_ascii_lowercase();
            for banned in ["<script", "<img", "href=\"javascript:", "href=\"data:"] {
                assert!(!html.contains(banned), "{id}: {banned} in html");
            }
            assert!(
                !email.subject.contains(['\r', '\n']),
                "{id}: subject is one line"
            );
        }
    }
}
