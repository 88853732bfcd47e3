//! Events delivered to the sinks from the lead record's outbox: once per
//! event and sink, retried on the schedule with the same id, a 410
//! disables, simultaneous callers deliver once.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chatkit_leads_core::delivery::{DeliveryState, EventKind, enqueue};
use chatkit_leads_core::testkit::RecordingSink;
use chatkit_leads_core::{
    LeadConfig, LeadOutcome, LeadRequest, LeadWorkflow, Ports, ShopProfile, Sink, SinkError,
    TriggerReason,
};
use common::{Harness, NOW, Workflow, envelope, thread};

const TRUCK: &str = "cthr_fx_en_truck_seats";

/// The truck thread sent, with one `lead.created` event queued for each
/// of `sinks`, and a workflow that delivers to them.
async fn sent_with_sinks(sinks: &[&Arc<RecordingSink>]) -> (Harness, Workflow) {
    let h = Harness::new(Harness::ok_script());
    let request = LeadRequest::new(thread(TRUCK), TriggerReason::Idle);
    let outcome = h.workflow.process(&request).await.expect("outcome");
    assert!(matches!(outcome, LeadOutcome::Sent { .. }), "{outcome:?}");
    let ids: Vec<String> = sinks.iter().map(|s| s.id().to_owned()).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let record = h.store.record(&thread(TRUCK)).expect("record");
    h.store.insert(
        enqueue(&record, EventKind::Created, r#"{"version":1}"#, &ids, NOW).expect("queued"),
    );
    let ports = Ports {
        chatkit: Arc::clone(&h.chatkit),
        store: Arc::clone(&h.store),
        mailer: Arc::clone(&h.mailer),
        summarizer: Arc::clone(&h.summarizer),
        clock: Arc::clone(&h.clock),
    };
    let workflow = LeadWorkflow::new(ports, LeadConfig::new(ShopProfile::seed(), envelope()))
        .expect("config")
        .with_sinks(
            sinks
                .iter()
                .map(|s| Arc::clone(s) as Arc<dyn Sink>)
                .collect(),
        );
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
async fn a_sink_this_process_does_not_have_is_left_for_one_that_does() {
    let crm = Arc::new(RecordingSink::new("webhook:crm"));
    let (h, _) = sent_with_sinks(&[&crm]).await;
    let ports = Ports {
        chatkit: Arc::clone(&h.chatkit),
        store: Arc::clone(&h.store),
        mailer: Arc::clone(&h.mailer),
        summarizer: Arc::clone(&h.summarizer),
        clock: Arc::clone(&h.clock),
    };
    let other = LeadWorkflow::new(ports, LeadConfig::new(ShopProfile::seed(), envelope()))
        .expect("config")
        .with_sinks(vec![Arc::new(RecordingSink::new("slack")) as Arc<dyn Sink>]);
    let report = other
        .deliver_due(&thread(TRUCK))
        .await
        .expect("nothing to do");
    assert!(report.attempts.is_empty());
    assert_eq!(state(&h, "webhook:crm"), DeliveryState::Due { at: NOW });
}
