//! Events delivered to the sinks from the lead record's outbox: once per
//! event and sink, retried on the schedule with the same id, a 410
//! disables, simultaneous callers deliver once.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chatkit_leads_core::delivery::{DeliveryState, EventKind};
use chatkit_leads_core::email::LeadDocument;
use chatkit_leads_core::testkit::RecordingSink;
use chatkit_leads_core::{
    LeadConfig, LeadOutcome, LeadRequest, LeadWorkflow, Ports, ShopProfile, Sink, SinkError,
    TriggerReason,
};
use common::{Harness, NOW, Workflow, envelope, thread};

const TRUCK: &str = "cthr_fx_en_truck_seats";

/// A workflow that delivers to `sinks`, over a harness's ports.
fn with_sinks(h: &Harness, sinks: &[&Arc<RecordingSink>]) -> Workflow {
    let ports = Ports {
        chatkit: Arc::clone(&h.chatkit),
        store: Arc::clone(&h.store),
        mailer: Arc::clone(&h.mailer),
        summarizer: Arc::clone(&h.summarizer),
        clock: Arc::clone(&h.clock),
    };
    LeadWorkflow::new(ports, LeadConfig::new(ShopProfile::seed(), envelope()))
        .expect("config")
        .with_sinks(
            sinks
                .iter()
                .map(|s| Arc::clone(s) as Arc<dyn Sink>)
                .collect(),
        )
}

/// The truck thread sent by a workflow with `sinks`: its `lead.created`
/// event queued for each, in the same write as the email's mark.
async fn sent_with_sinks(sinks: &[&Arc<RecordingSink>]) -> (Harness, Workflow) {
    let h = Harness::new(Harness::ok_script());
    let workflow = with_sinks(&h, sinks);
    let request = LeadRequest::new(thread(TRUCK), TriggerReason::Idle);
    let outcome = workflow.process(&request).await.expect("outcome");
    assert!(matches!(outcome, LeadOutcome::Sent { .. }), "{outcome:?}");
    let record = h.store.record(&thread(TRUCK)).expect("record");
    assert_eq!(record.outbox.events.len(), usize::from(!sinks.is_empty()));
    assert_eq!(record.outbox.deliveries.len(), sinks.len());
    (h, workflow)
}

fn state(h: &Harness, sink: &str) -> DeliveryState {
    h.store
        .record(&thread(TRUCK))
        .expect("record")
        .outbox
        .deliveries
        .into_iter()
        .find(|d| d.sink == sink)
        .expect("delivery")
        .state
}

#[tokio::test]
async fn each_sink_gets_the_event_once() {
    let crm = Arc::new(RecordingSink::new("webhook:crm"));
    let slack = Arc::new(RecordingSink::new("slack"));
    let (h, workflow) = sent_with_sinks(&[&crm, &slack]).await;
    let report = workflow
        .deliver_due(&thread(TRUCK))
        .await
        .expect("delivered");
    assert_eq!(report.attempts.len(), 2);
    assert_eq!(crm.received().len(), 1);
    assert_eq!(slack.received().len(), 1);
    assert_ne!(crm.received()[0].0, slack.received()[0].0, "an id per sink");
    assert!(matches!(
        state(&h, "slack"),
        DeliveryState::Delivered { .. }
    ));
    workflow
        .deliver_due(&thread(TRUCK))
        .await
        .expect("nothing due");
    assert_eq!(crm.received().len(), 1, "never again");
}

#[tokio::test]
async fn a_receiver_that_fails_three_times_gets_it_once_with_one_id() {
    let crm = Arc::new(RecordingSink::new("webhook:crm"));
    crm.answer([
        Err(SinkError::Status(503)),
        Err(SinkError::Transport("connection reset".into())),
        Err(SinkError::Status(429)),
    ]);
    let (h, workflow) = sent_with_sinks(&[&crm]).await;
    for _ in 0..4 {
        workflow.deliver_due(&thread(TRUCK)).await.expect("attempt");
        // Not due again before its backoff.
        workflow
            .deliver_due(&thread(TRUCK))
            .await
            .expect("nothing due");
        h.clock.advance(Duration::from_secs(3600));
    }
    let received = crm.received();
    assert_eq!(received.len(), 4, "three failures and the delivery");
    assert!(
        received.iter().all(|(id, ..)| *id == received[0].0),
        "one id"
    );
    assert!(matches!(
        state(&h, "webhook:crm"),
        DeliveryState::Delivered { .. }
    ));
}

#[tokio::test]
async fn a_410_disables_the_delivery() {
    let crm = Arc::new(RecordingSink::new("webhook:crm"));
    crm.answer([Err(SinkError::Status(410))]);
    let (h, workflow) = sent_with_sinks(&[&crm]).await;
    workflow.deliver_due(&thread(TRUCK)).await.expect("attempt");
    h.clock.advance(Duration::from_secs(86_400));
    workflow
        .deliver_due(&thread(TRUCK))
        .await
        .expect("nothing due");
    assert_eq!(crm.received().len(), 1);
    assert_eq!(state(&h, "webhook:crm"), DeliveryState::Disabled);
}

#[tokio::test]
async fn simultaneous_callers_deliver_each_event_once() {
    let crm = Arc::new(RecordingSink::new("webhook:crm"));
    let (h, workflow) = sent_with_sinks(&[&crm]).await;
    let id = thread(TRUCK);
    futures::future::join_all((0..20).map(|_| workflow.deliver_due(&id))).await;
    assert_eq!(crm.received().len(), 1);
    assert!(matches!(
        state(&h, "webhook:crm"),
        DeliveryState::Delivered { .. }
    ));
}

#[tokio::test]
async fn a_sink_no_longer_configured_is_retried_then_fails_instead_of_staying_due() {
    let crm = Arc::new(RecordingSink::new("webhook:crm"));
    let (h, _) = sent_with_sinks(&[&crm]).await;
    let other = with_sinks(&h, &[&Arc::new(RecordingSink::new("slack"))]);
    let report = other.deliver_due(&thread(TRUCK)).await.expect("attempted");
    assert_eq!(report.attempts.len(), 1);
    let DeliveryState::Due { at } = state(&h, "webhook:crm") else {
        panic!("{:?}", state(&h, "webhook:crm"));
    };
    assert!(
        at > NOW,
        "not due at once again: the sweep's batch stays free"
    );
    assert!(crm.received().is_empty());
    // The instance that has the sink delivers it when it is due.
    h.clock.advance(Duration::from_secs(60));
    let workflow = with_sinks(&h, &[&crm]);
    workflow
        .deliver_due(&thread(TRUCK))
        .await
        .expect("delivered");
    assert_eq!(crm.received().len(), 1);
}

#[tokio::test]
async fn the_event_carries_the_lead_document() {
    let crm = Arc::new(RecordingSink::new("webhook:crm"));
    let (h, workflow) = sent_with_sinks(&[&crm]).await;
    assert_eq!(h.mailer.sent_count(), 1, "the email went out first");
    workflow
        .deliver_due(&thread(TRUCK))
        .await
        .expect("delivered");
    let (_, kind, document) = &crm.received()[0];
    assert_eq!(*kind, EventKind::Created);
    let document: LeadDocument = serde_json::from_str(document).expect("a LeadDocument");
    assert_eq!(document.thread_id, TRUCK);
    assert_eq!(document.call_script.len(), 3);
    assert!(document.contact.phone.is_some());
    let record = h.store.record(&thread(TRUCK)).expect("record");
    assert_eq!(
        Some(document.email.message_id),
        record.message_id,
        "the CRM can link the event to the email"
    );
    assert!(document.transcript.is_none(), "off unless asked");
}

#[tokio::test]
async fn the_transcript_goes_to_sinks_only_when_asked() {
    let crm = Arc::new(RecordingSink::new("webhook:crm"));
    let h = Harness::new(Harness::ok_script());
    let workflow = with_sinks(&h, &[&crm]).with_transcript_for_sinks(true);
    let request = LeadRequest::new(thread(TRUCK), TriggerReason::Idle);
    workflow.process(&request).await.expect("sent");
    workflow
        .deliver_due(&thread(TRUCK))
        .await
        .expect("delivered");
    let document: LeadDocument =
        serde_json::from_str(&crm.received()[0].2).expect("a LeadDocument");
    let transcript = document.transcript.expect("asked for");
    assert!(transcript.iter().any(|line| line.speaker == "customer"));
}

#[tokio::test]
async fn without_sinks_nothing_is_queued() {
    sent_with_sinks(&[]).await;
}

#[tokio::test]
async fn an_update_email_is_a_lead_updated_event_for_every_sink() {
    let crm = Arc::new(RecordingSink::new("webhook:crm"));
    let (h, workflow) = sent_with_sinks(&[&crm]).await;
    workflow
        .deliver_due(&thread(TRUCK))
        .await
        .expect("delivered");
    h.clock.advance(Duration::from_secs(61));
    let item = serde_json::from_value(serde_json::json!({
        "id": "cthi_new_1", "object": "chatkit.thread_item", "thread_id": TRUCK,
        "created_at": NOW + 30, "type": "chatkit.user_message",
        "content": [{"type": "input_text", "text": "Also the back seat, please."}],
        "attachments": [],
    }))
    .expect("item");
    assert!(h.chatkit.push_items(&thread(TRUCK), vec![item]));
    let request = LeadRequest::new(thread(TRUCK), TriggerReason::Idle);
    let outcome = workflow.process(&request).await.expect("outcome");
    assert!(
        matches!(outcome, LeadOutcome::UpdateSent { .. }),
        "{outcome:?}"
    );

    workflow
        .deliver_due(&thread(TRUCK))
        .await
        .expect("delivered");
    let received = crm.received();
    assert_eq!(received.len(), 2);
    let (update_id, kind, document) = &received[1];
    assert_eq!(*kind, EventKind::Updated(1));
    assert_ne!(*update_id, received[0].0, "an event of its own");
    let document: LeadDocument = serde_json::from_str(document).expect("a LeadDocument");
    assert_eq!(document.update, 1);
}

#[tokio::test]
async fn the_sweep_retries_a_failed_delivery_once_due_and_does_nothing_else() {
    let crm = Arc::new(RecordingSink::new("webhook:crm"));
    crm.answer([Err(SinkError::Status(503))]);
    let (h, workflow) = sent_with_sinks(&[&crm]).await;
    workflow.deliver_due(&thread(TRUCK)).await.expect("attempt");
    let settings = chatkit_leads_core::sweep::SweepSettings::default();
    let early = workflow.sweep(&settings).await.expect("sweep");
    assert_eq!(early.deliveries, 0, "not due before its backoff");
    h.clock.advance(Duration::from_secs(60));
    let gets = h.chatkit.calls().len();
    let report = workflow.sweep(&settings).await.expect("sweep");
    assert_eq!(report.deliveries, 1);
    assert!(
        report.leads.is_empty(),
        "a sent lead due for its deliveries is not run again"
    );
    assert_eq!(h.chatkit.calls().len(), gets, "no ChatKit call");
    assert_eq!(crm.received().len(), 2);
    assert!(matches!(
        state(&h, "webhook:crm"),
        DeliveryState::Delivered { .. }
    ));
    let record = h.store.record(&thread(TRUCK)).expect("record");
    assert_eq!(record.due_at, None, "nothing left for the sweeper");
}

#[tokio::test]
async fn an_operator_redelivers_a_disabled_sink_with_the_same_id() {
    let crm = Arc::new(RecordingSink::new("webhook:crm"));
    crm.answer([Err(SinkError::Status(410))]);
    let (h, workflow) = sent_with_sinks(&[&crm]).await;
    workflow.deliver_due(&thread(TRUCK)).await.expect("attempt");
    assert_eq!(state(&h, "webhook:crm"), DeliveryState::Disabled);
    let report = workflow
        .redeliver(&thread(TRUCK), "webhook:crm")
        .await
        .expect("redelivered")
        .expect("there was one to rearm");
    assert_eq!(report.attempts.len(), 1);
    let received = crm.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].0, received[1].0, "the receiver can dedupe");
    assert!(matches!(
        state(&h, "webhook:crm"),
        DeliveryState::Delivered { .. }
    ));
    let nothing = workflow.redeliver(&thread(TRUCK), "webhook:crm").await;
    assert!(
        nothing.expect("read").is_none(),
        "delivered: nothing to rearm"
    );
}
