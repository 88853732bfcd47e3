//! The sinks against real receivers (`scripts/webhook_receiver.py`): the
//! webhook's signature is verified by PyPI's `standardwebhooks` and its body
//! validated by PyPI's `jsonschema` against `schemas/lead-event.v1.json`;
//! the workflow runs on the fixture threads with the in-memory store.

use std::sync::Arc;
use std::time::Duration;

use chatkit_leads_core::chatkit::{ItemKind, ThreadItem, UserContent};
use chatkit_leads_core::delivery::DeliveryState;
use chatkit_leads_core::testkit::{ManualClock, MemoryStore, RecordingMailer, ScriptedChatKit};
use chatkit_leads_core::{
    EmailAddress, Envelope, LeadConfig, LeadOutcome, LeadRequest, LeadStore, LeadWorkflow,
    NoSummarizer, Ports, ShopProfile, Sink, ThreadId, TriggerReason,
};
use chatkit_leads_test_support::{ReceivedHook, WebhookReceiver, free_port, repo_root};
use chatkit_leads_webhook::{SlackSink, TargetPolicy, WebhookSink};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER: &str = "whsec_AfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const TRUCK: &str = "cthr_fx_en_truck_seats";
const HOSTILE: &str = "cthr_fx_hostile";
const NOW: i64 = 1_767_400_000;
const WAIT: Duration = Duration::from_secs(10);

type Workflow = LeadWorkflow<
    Arc<ScriptedChatKit>,
    Arc<MemoryStore>,
    Arc<RecordingMailer>,
    NoSummarizer,
    Arc<ManualClock>,
>;

struct Setup {
    chatkit: Arc<ScriptedChatKit>,
    store: Arc<MemoryStore>,
    mailer: Arc<RecordingMailer>,
    clock: Arc<ManualClock>,
    workflow: Workflow,
}

fn policy() -> TargetPolicy {
    TargetPolicy {
        allow_private: true,
        timeout: Duration::from_secs(2),
    }
}

fn webhook(url: &str) -> Arc<dyn Sink> {
    Arc::new(WebhookSink::new("crm", url, SECRET, policy()).expect("webhook"))
}

fn slack(url: &str) -> Arc<dyn Sink> {
    Arc::new(SlackSink::new(url, policy()).expect("slack"))
}

fn setup(sinks: Vec<Arc<dyn Sink>>) -> Setup {
    let fixtures = repo_root().join("tests/fixtures/chatkit");
    let chatkit = Arc::new(ScriptedChatKit::from_fixture_dir(&fixtures).expect("fixtures"));
    let store = Arc::new(MemoryStore::new());
    let mailer = Arc::new(RecordingMailer::new());
    let clock = Arc::new(ManualClock::at_unix(NOW));
    let envelope = Envelope {
        from: EmailAddress::parse("leads@craigs.autos").expect("from"),
        from_name: None,
        to: vec![EmailAddress::parse("shop@craigs.autos").expect("to")],
    };
    let ports = Ports {
        chatkit: Arc::clone(&chatkit),
        store: Arc::clone(&store),
        mailer: Arc::clone(&mailer),
        summarizer: NoSummarizer,
        clock: Arc::clone(&clock),
    };
    let workflow = LeadWorkflow::new(ports, LeadConfig::new(ShopProfile::seed(), envelope))
        .expect("config")
        .with_sinks(sinks)
        .with_transcript_for_sinks(true);
    Setup {
        chatkit,
        store,
        mailer,
        clock,
        workflow,
    }
}

fn thread(id: &str) -> ThreadId {
    ThreadId::parse(id).expect("thread id")
}

impl Setup {
    async fn send(&self, id: &str) {
        let outcome = self
            .workflow
            .process(&LeadRequest::new(thread(id), TriggerReason::Idle))
            .await
            .expect("outcome");
        assert!(matches!(outcome, LeadOutcome::Sent { .. }), "{outcome:?}");
        assert_eq!(self.mailer.sent_count(), 1, "the email went out first");
    }

    async fn deliver(&self, id: &str) {
        self.workflow.deliver_due(&thread(id)).await.expect("store");
    }

    async fn state(&self, id: &str, sink: &str) -> DeliveryState {
        let stored = self
            .store
            .load(&thread(id))
            .await
            .expect("load")
            .expect("record");
        stored
            .record
            .outbox
            .deliveries
            .iter()
            .find(|d| d.sink == sink)
            .map(|d| d.state)
            .expect("delivery")
    }
}

/// Every signed event verifies with the reference package and matches
/// the schema.
fn assert_valid(hooks: &[ReceivedHook]) {
    hooks.iter().for_each(ReceivedHook::assert_signed_and_valid);
}

#[tokio::test]
async fn a_lead_reaches_the_webhook_signed_and_valid_and_slack_once() {
    let hooks = WebhookReceiver::signed(0, SECRET, &[]);
    let room = WebhookReceiver::start(0, &["--then", "200"]);
    let s = setup(vec![webhook(&hooks.url()), slack(&room.url())]);
    s.send(TRUCK).await;
    s.deliver(TRUCK).await;
    s.deliver(TRUCK).await; // nothing more is due
    let got = hooks.received();
    assert_eq!(got.len(), 1);
    assert_valid(&got);
    let body = got[0].json();
    assert_eq!(body["type"], "lead.created");
    assert_eq!(body["data"]["thread_id"], TRUCK);
    assert!(got[0].id().starts_with("msg_"));
    let record = s
        .store
        .load(&thread(TRUCK))
        .await
        .expect("load")
        .expect("record")
        .record;
    assert_eq!(
        Some(body["data"]["email"]["message_id"].as_str().unwrap_or("")),
        record.message_id.as_deref()
    );
    let posted = room.received();
    assert_eq!(posted.len(), 1);
    let message = posted[0].json();
    let header = message["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(header.starts_with("New lead: "), "{header}");
    assert!(
        !posted[0].headers.contains_key("webhook-signature"),
        "Slack is not signed"
    );
    assert!(matches!(
        s.state(TRUCK, "slack").await,
        DeliveryState::Delivered { .. }
    ));
}

#[tokio::test]
async fn a_receiver_holding_another_secret_rejects_the_signature() {
    // The verifier really checks: the same event fails under another key.
    let hooks = WebhookReceiver::start(0, &["--secret", OTHER]);
    let s = setup(vec![webhook(&hooks.url())]);
    s.send(TRUCK).await;
    s.deliver(TRUCK).await;
    let got = hooks.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].verified, Some(false));
}

#[tokio::test]
async fn a_receiver_failing_three_times_gets_one_id_until_it_answers() {
    let hooks = WebhookReceiver::signed(0, SECRET, &["--answers", "503,500,429"]);
    let s = setup(vec![webhook(&hooks.url())]);
    s.send(TRUCK).await;
    for _ in 0..4 {
        s.deliver(TRUCK).await;
        s.clock.advance(Duration::from_secs(3600));
    }
    let got = hooks.received();
    let statuses: Vec<u16> = got.iter().map(|h| h.status).collect();
    assert_eq!(statuses, [503, 500, 429, 204]);
    assert!(got.iter().all(|h| h.id() == got[0].id()), "one webhook-id");
    assert_valid(&got);
    assert!(matches!(
        s.state(TRUCK, "webhook:crm").await,
        DeliveryState::Delivered { .. }
    ));
}

#[tokio::test]
async fn a_410_disables_the_delivery_and_nothing_is_sent_again() {
    let hooks = WebhookReceiver::start(0, &["--then", "410"]);
    let s = setup(vec![webhook(&hooks.url())]);
    s.send(TRUCK).await;
    s.deliver(TRUCK).await;
    s.clock.advance(Duration::from_secs(86_400));
    s.deliver(TRUCK).await;
    assert_eq!(hooks.received().len(), 1);
    assert_eq!(s.state(TRUCK, "webhook:crm").await, DeliveryState::Disabled);
}

#[tokio::test]
async fn a_receiver_down_gets_the_event_once_it_is_back() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let s = setup(vec![webhook(&url)]);
    s.send(TRUCK).await;
    s.deliver(TRUCK).await;
    let DeliveryState::Due { at } = s.state(TRUCK, "webhook:crm").await else {
        panic!("a refused connection is retried");
    };
    assert!(at > NOW);
    let hooks = WebhookReceiver::signed(port, SECRET, &[]);
    s.clock.advance(Duration::from_secs(60));
    s.deliver(TRUCK).await;
    let got = hooks.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    assert_valid(&got);
    assert!(matches!(
        s.state(TRUCK, "webhook:crm").await,
        DeliveryState::Delivered { .. }
    ));
}

#[tokio::test]
async fn a_hostile_chat_cannot_ping_the_channel_or_disguise_a_link_in_slack() {
    let room = WebhookReceiver::start(0, &["--then", "200"]);
    let hooks = WebhookReceiver::signed(0, SECRET, &[]);
    let s = setup(vec![slack(&room.url()), webhook(&hooks.url())]);
    let hostile = thread(HOSTILE);
    let item = ThreadItem {
        id: "cthi_fx_hostile_slack".to_owned(),
        created_at: 1_767_304_900,
        kind: ItemKind::UserMessage {
            content: vec![UserContent::InputText {
                text: "<!channel> <!here> call me <https://evil.example|click here> &amp; <@U0123>"
                    .to_owned(),
            }],
            attachments: Vec::new(),
        },
    };
    assert!(s.chatkit.push_items(&hostile, vec![item]));
    s.send(HOSTILE).await;
    s.deliver(HOSTILE).await;
    let posted = room.received();
    assert_eq!(posted.len(), 1);
    let body = &posted[0].body;
    for raw in [
        "<!channel>",
        "<!here>",
        "<https://evil.example",
        "<@U0123>",
        "<script",
    ] {
        assert!(!body.contains(raw), "{raw} reached Slack unescaped");
    }
    assert!(
        body.contains("&lt;!channel&gt;"),
        "the text is still there, escaped"
    );
    // Every `<` left opens a link the sink built from the email's gated links.
    let message = posted[0].json();
    for text in texts(&message) {
        for (i, _) in text.match_indices('<') {
            let rest = &text[i..];
            assert!(
                ["<tel:", "<sms:", "<mailto:", "<https://"]
                    .iter()
                    .any(|p| rest.starts_with(p)),
                "{rest}"
            );
        }
    }
    assert_valid(&hooks.received());
}

/// Every `text` string in a Block Kit message.
fn texts(value: &serde_json::Value) -> Vec<String> {
    let mut found = Vec::new();
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("text", serde_json::Value::String(s)) => found.push(s.clone()),
                    _ => found.extend(texts(v)),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| found.extend(texts(v))),
        _ => {}
    }
    found
}

#[tokio::test]
async fn the_documented_example_matches_the_schema() {
    let hooks = WebhookReceiver::start(0, &["--schema", &WebhookReceiver::schema()]);
    let example = std::fs::read_to_string(repo_root().join("schemas/lead-event.v1.example.json"))
        .expect("example");
    let guide = std::fs::read_to_string(repo_root().join("docs/webhooks.md")).expect("guide");
    assert!(
        guide.contains(example.trim()),
        "docs/webhooks.md shows the example as it is"
    );
    let status = reqwest::Client::new()
        .post(hooks.url())
        .body(example)
        .send()
        .await
        .expect("posted")
        .status();
    assert_eq!(status.as_u16(), 204);
    assert_eq!(hooks.received()[0].schema_errors.as_deref(), Some(&[][..]));
}

#[tokio::test]
async fn an_update_email_reaches_each_sink_once_as_lead_updated() {
    let hooks = WebhookReceiver::signed(0, SECRET, &[]);
    let room = WebhookReceiver::start(0, &["--then", "200"]);
    let s = setup(vec![webhook(&hooks.url()), slack(&room.url())]);
    s.send(TRUCK).await;
    s.deliver(TRUCK).await;
    s.clock.advance(Duration::from_secs(61));
    let item = ThreadItem {
        id: "cthi_fx_en_truck_seats_more".to_owned(),
        created_at: NOW + 30,
        kind: ItemKind::UserMessage {
            content: vec![UserContent::InputText {
                text: "Also the back seat, please.".to_owned(),
            }],
            attachments: Vec::new(),
        },
    };
    assert!(s.chatkit.push_items(&thread(TRUCK), vec![item]));
    for _ in 0..3 {
        let outcome = s
            .workflow
            .process(&LeadRequest::new(thread(TRUCK), TriggerReason::Idle))
            .await
            .expect("outcome");
        s.deliver(TRUCK).await;
        assert!(
            matches!(
                outcome,
                LeadOutcome::UpdateSent { .. } | LeadOutcome::AlreadySent { .. }
            ),
            "{outcome:?}"
        );
    }
    let got = hooks.received();
    let types: Vec<String> = got.iter().map(|h| h.json()["type"].to_string()).collect();
    assert_eq!(types, ["\"lead.created\"", "\"lead.updated\""]);
    assert_valid(&got);
    assert_eq!(got[1].json()["data"]["update"], 1);
    assert_ne!(got[0].id(), got[1].id(), "an id of its own");
    let posted = room.received();
    assert_eq!(
        posted.len(),
        2,
        "one Slack message for the lead, one for the update"
    );
    let header = posted[1].json()["blocks"][0]["text"]["text"].to_string();
    assert!(header.contains("Lead update 1"), "{header}");
}
