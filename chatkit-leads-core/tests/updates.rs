//! Update emails on the testkit's in-memory ports: a customer who writes
//! again after the lead went out gets the shop one update, threaded under
//! the lead, and a sent thread stays cheap to trigger.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chatkit_leads_core::chatkit::ThreadItem;
use chatkit_leads_core::record::Told;
use chatkit_leads_core::testkit::{ChatKitCall, SummaryScript};
use chatkit_leads_core::{
    LeadOutcome, LeadRequest, LeadStatus, MailError, OutgoingEmail, SummaryError, TriggerReason,
};
use common::{Harness, NOW, thread};

const TRUCK: &str = "cthr_fx_en_truck_seats";

fn trigger() -> LeadRequest {
    LeadRequest::new(thread(TRUCK), TriggerReason::Idle)
}

async fn process(h: &Harness) -> LeadOutcome {
    h.workflow.process(&trigger()).await.expect("outcome")
}

/// A harness whose truck lead has gone out; the clock then moves past the
/// check interval.
async fn sent_lead(h: &Harness) -> OutgoingEmail {
    assert!(matches!(process(h).await, LeadOutcome::Sent { .. }));
    h.clock.advance(Duration::from_secs(61));
    h.mailer.sent().remove(0)
}

fn item(id: &str, at: i64, kind: serde_json::Value) -> ThreadItem {
    let mut item = serde_json::json!({
        "id": id,
        "object": "chatkit.thread_item",
        "thread_id": TRUCK,
        "created_at": at,
    });
    item.as_object_mut()
        .expect("object")
        .extend(kind.as_object().expect("object").clone());
    serde_json::from_value(item).expect("item")
}

fn customer(id: &str, text: &str) -> ThreadItem {
    item(
        id,
        NOW + 30,
        serde_json::json!({
            "type": "chatkit.user_message",
            "content": [{"type": "input_text", "text": text}],
            "attachments": [],
        }),
    )
}

fn agent(id: &str, text: &str) -> ThreadItem {
    item(
        id,
        NOW + 31,
        serde_json::json!({
            "type": "chatkit.assistant_message",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }),
    )
}

fn writes_again(h: &Harness, items: Vec<ThreadItem>) {
    assert!(h.chatkit.push_items(&thread(TRUCK), items));
}

fn header<'a>(mime: &'a str, name: &str) -> Option<&'a str> {
    mime.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
}

fn told(h: &Harness) -> Told {
    h.store.record(&thread(TRUCK)).expect("record").told
}

#[tokio::test]
async fn new_messages_go_out_once_as_a_reply_to_the_lead() {
    let h = Harness::new(Harness::ok_script());
    let lead = sent_lead(&h).await;
    writes_again(
        &h,
        vec![
            customer(
                "cthi_new_1",
                "Also the back seat, please. New number: 408-555-0199",
            ),
            agent("cthi_new_2", "Noted, I'll pass it on."),
        ],
    );

    let outcome = process(&h).await;
    let LeadOutcome::UpdateSent {
        update,
        possible_duplicate,
        message_id,
        ..
    } = &outcome
    else {
        panic!("expected update_sent, got {outcome:?}");
    };
    assert_eq!((*update, *possible_duplicate), (1, false));
    assert_eq!(outcome.reason(), "update_sent");
    assert!(outcome.sent());

    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 2, "the lead and one update");
    let update_email = &sent[1];
    assert_eq!(&update_email.message_id, message_id);
    assert_eq!(update_email.subject, format!("Re: {}", lead.subject));
    let mime = String::from_utf8_lossy(&update_email.mime);
    let original = format!("<{}>", lead.message_id);
    assert_eq!(header(&mime, "In-Reply-To"), Some(original.as_str()));
    assert_eq!(header(&mime, "References"), Some(original.as_str()));

    let html = &update_email.html;
    assert!(html.contains("Also the back seat"), "the new message");
    assert!(html.contains("pass it on"), "the agent's reply since");
    assert!(
        !html.contains("Maria Lopez. You can reach"),
        "only the new messages"
    );
    assert!(html.contains("Phone (new)"), "the new number is marked");
    assert!(html.contains("Updated summary"));

    let told = told(&h);
    assert_eq!(told.updates, 1);
    assert_eq!(told.last_item.as_deref(), Some("cthi_new_2"));
    assert_eq!(told.message_id.as_deref(), Some(lead.message_id.as_str()));
    let record = h.store.record(&thread(TRUCK)).expect("record");
    assert_eq!(record.sent_at, Some(NOW), "sent_at stays the lead's");

    // Nothing newer: the next look sends nothing.
    h.clock.advance(Duration::from_secs(61));
    assert!(matches!(process(&h).await, LeadOutcome::AlreadySent { .. }));
    assert_eq!(h.mailer.sent_count(), 2);
}

#[tokio::test]
async fn a_sent_thread_without_news_costs_one_small_call_per_interval() {
    let h = Harness::new(Harness::ok_script());
    sent_lead(&h).await;
    let before = h.chatkit.calls().len();
    assert_eq!(
        process(&h).await,
        LeadOutcome::AlreadySent { sent_at: Some(NOW) }
    );
    let calls = h.chatkit.calls()[before..].to_vec();
    assert_eq!(
        calls,
        vec![ChatKitCall::ListItems(thread(TRUCK), None)],
        "one look at the newest item, no thread fetch"
    );
    for _ in 0..20 {
        assert!(matches!(process(&h).await, LeadOutcome::AlreadySent { .. }));
    }
    assert_eq!(
        h.chatkit.calls().len(),
        before + 1,
        "a burst within the interval is answered from the store"
    );
    assert_eq!(h.mailer.sent_count(), 1);
    assert_eq!(h.summarizer.calls(), 1);
}

#[tokio::test]
async fn replies_of_the_agent_alone_are_no_news_and_are_not_fetched_twice() {
    let h = Harness::new(Harness::ok_script());
    sent_lead(&h).await;
    writes_again(&h, vec![agent("cthi_new_1", "Anything else?")]);
    assert!(matches!(process(&h).await, LeadOutcome::AlreadySent { .. }));
    assert_eq!(told(&h).seen_item.as_deref(), Some("cthi_new_1"));
    assert_eq!(h.mailer.sent_count(), 1);

    h.clock.advance(Duration::from_secs(61));
    let before = h.chatkit.calls().len();
    assert!(matches!(process(&h).await, LeadOutcome::AlreadySent { .. }));
    assert_eq!(
        h.chatkit.calls().len(),
        before + 1,
        "only the newest-item look"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_simultaneous_triggers_after_new_messages_send_one_update() {
    let h = Harness::new(Harness::ok_script());
    sent_lead(&h).await;
    writes_again(&h, vec![customer("cthi_new_1", "And the headliner too.")]);
    let workflow = Arc::clone(&h.workflow);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let workflow = Arc::clone(&workflow);
            tokio::spawn(async move { workflow.process(&trigger()).await })
        })
        .collect();
    let mut updates = 0;
    for task in tasks {
        let outcome = task.await.expect("task").expect("outcome");
        updates += usize::from(matches!(outcome, LeadOutcome::UpdateSent { .. }));
        assert!(
            matches!(
                outcome,
                LeadOutcome::UpdateSent { .. }
                    | LeadOutcome::AlreadySent { .. }
                    | LeadOutcome::InProgress
            ),
            "{outcome:?}"
        );
    }
    assert_eq!(updates, 1);
    assert_eq!(h.mailer.sent_count(), 2, "the lead and one update");
}

#[tokio::test]
async fn updates_off_answers_from_the_store_even_with_news() {
    let h = Harness::with_config(Harness::ok_script(), |config| {
        config.updates.enabled = false;
    });
    sent_lead(&h).await;
    writes_again(&h, vec![customer("cthi_new_1", "Also the back seat.")]);
    let before = h.chatkit.calls().len();
    assert!(matches!(process(&h).await, LeadOutcome::AlreadySent { .. }));
    assert_eq!(h.chatkit.calls().len(), before, "no ChatKit call");
    assert_eq!(h.mailer.sent_count(), 1);
}

#[tokio::test]
async fn a_failed_update_is_retried_as_an_update_and_a_lost_answer_is_flagged() {
    let h = Harness::new(Harness::ok_script());
    let lead = sent_lead(&h).await;
    writes_again(&h, vec![customer("cthi_new_1", "Also the back seat.")]);
    h.mailer
        .fail_next(MailError::Transport("connection reset".into()));
    assert!(h.workflow.process(&trigger()).await.is_err());
    let record = h.store.record(&thread(TRUCK)).expect("record");
    assert_eq!(record.status, LeadStatus::Error);
    assert_eq!(record.sent_at, Some(NOW), "still known as sent");

    h.clock.advance(Duration::from_secs(61));
    let outcome = process(&h).await;
    assert!(
        matches!(
            outcome,
            LeadOutcome::UpdateSent {
                update: 1,
                possible_duplicate: true,
                ..
            }
        ),
        "{outcome:?}"
    );
    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 2, "the lead and the retried update");
    assert_eq!(
        sent[1].subject,
        format!("[Possible duplicate] Re: {}", lead.subject)
    );
}

#[tokio::test]
async fn an_update_goes_out_without_the_model_when_it_fails() {
    let h = Harness::new(Harness::ok_script());
    sent_lead(&h).await;
    h.summarizer.set(SummaryScript::Fail(SummaryError::Timeout));
    writes_again(&h, vec![customer("cthi_new_1", "Also the back seat.")]);
    assert!(matches!(process(&h).await, LeadOutcome::UpdateSent { .. }));
    let html = &h.mailer.sent()[1].html;
    assert!(html.contains("No updated AI summary"));
}

#[tokio::test]
async fn a_lead_sent_before_updates_existed_counts_items_after_its_send_time() {
    let h = Harness::new(Harness::ok_script());
    sent_lead(&h).await;
    // What a record written by an earlier release looks like.
    let mut legacy = h.store.record(&thread(TRUCK)).expect("record");
    legacy.told = Told::default();
    h.store.insert(legacy);
    writes_again(&h, vec![customer("cthi_new_1", "Also the back seat.")]);
    assert!(matches!(
        process(&h).await,
        LeadOutcome::UpdateSent { update: 1, .. }
    ));
    let update = &h.mailer.sent()[1];
    assert!(update.subject.starts_with("Re: New chat lead"));
    let mime = String::from_utf8_lossy(&update.mime);
    assert_eq!(header(&mime, "In-Reply-To"), None, "nothing to reply to");
    assert!(update.html.contains("Also the back seat"));
    assert!(!update.html.contains("Maria Lopez. You can reach"));
}

#[tokio::test]
async fn explain_tells_an_operator_that_an_update_is_waiting() {
    use chatkit_leads_core::inspect::Verdict;
    let h = Harness::new(Harness::ok_script());
    sent_lead(&h).await;
    let quiet = None;
    let before = h
        .workflow
        .explain(&thread(TRUCK), quiet)
        .await
        .expect("explain");
    assert!(
        matches!(
            before.verdict,
            Verdict::Answer(LeadOutcome::AlreadySent { .. })
        ),
        "{}",
        before.verdict
    );
    writes_again(&h, vec![customer("cthi_new_1", "Also the back seat.")]);
    let after = h
        .workflow
        .explain(&thread(TRUCK), quiet)
        .await
        .expect("explain");
    assert!(
        matches!(
            after.verdict,
            Verdict::WouldUpdate {
                new_messages: 1,
                possible_duplicate: false
            }
        ),
        "{}",
        after.verdict
    );
    assert!(
        after
            .verdict
            .to_string()
            .starts_with("update: 1 new customer message")
    );
    assert_eq!(h.mailer.sent_count(), 1, "explaining sends nothing");
}
