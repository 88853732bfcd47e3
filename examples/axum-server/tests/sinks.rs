//! Leads beyond the inbox, as an operator runs them: the server binary in
//! live mode (the OpenAI fake, a real SMTP server, SQLite) with a signed
//! webhook and Slack pointed at real receivers (scripts/webhook_receiver.py:
//! PyPI's `standardwebhooks` verifies every signature, PyPI's `jsonschema`
//! validates every body). Timings go to docs/reliability.md.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chatkit_leads_core::delivery::DeliveryState;
use chatkit_leads_test_support::{ReceivedHook, ServerProcess, WebhookReceiver, free_port};
use common::{Live, binary, sqlite_record};
use serde_json::json;

const TRUCK: &str = "cthr_fx_en_truck_seats";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const TRIGGERS: usize = 200;

/// The live settings with the webhook at `webhook` (and Slack at `slack`).
fn with_sinks(live: &Live, webhook: &str, slack: Option<&str>) -> BTreeMap<String, String> {
    let mut env = live.with("LEADS_WEBHOOK_URL", webhook);
    env.insert("LEADS_WEBHOOK_SECRET".into(), SECRET.into());
    env.insert("LEADS_WEBHOOK_ALLOW_PRIVATE".into(), "1".into());
    env.insert("LEADS_WEBHOOK_TIMEOUT_SECONDS".into(), "2".into());
    env.insert("LEADS_RATE_PER_ADDRESS".into(), "0".into());
    env.insert("LEADS_RATE_PER_USER".into(), "0".into());
    if let Some(slack) = slack {
        env.insert("LEADS_SLACK_WEBHOOK_URL".into(), slack.into());
    }
    env
}

async fn trigger(server: &ServerProcess, n: usize) -> Vec<u16> {
    let http = reqwest::Client::new();
    let calls = (0..n).map(|_| {
        let http = http.clone();
        let url = format!("{}/lead", server.url());
        async move {
            let body = json!({"threadId": TRUCK, "reason": "idle", "user": "anon_sinks"});
            http.post(url)
                .body(body.to_string())
                .send()
                .await
                .map_or(0, |r| r.status().as_u16())
        }
    });
    futures::future::join_all(calls).await
}

fn assert_signed_and_valid(hooks: &[ReceivedHook]) {
    hooks.iter().for_each(ReceivedHook::assert_signed_and_valid);
}

async fn delivery_state(live: &Live, sink: &str) -> DeliveryState {
    let record = sqlite_record(&live.db(), TRUCK).await.expect("record");
    record
        .outbox
        .deliveries
        .iter()
        .find(|d| d.sink == sink)
        .map(|d| d.state)
        .expect("a delivery to the sink")
}

async fn inspect(env: &BTreeMap<String, String>) -> String {
    let out = tokio::process::Command::new(binary())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env)
        .args(["inspect", TRUCK])
        .output()
        .await
        .expect("inspect");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_triggers_make_one_email_and_one_event_per_sink() {
    let live = Live::start().await;
    let hooks = WebhookReceiver::signed(0, SECRET, &[]);
    let room = WebhookReceiver::start(0, &["--then", "200"]);
    let server = ServerProcess::start(
        &binary(),
        &with_sinks(&live, &hooks.url(), Some(&room.url())),
    )
    .await;
    let statuses = trigger(&server, TRIGGERS).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    hooks.wait_for(1, Duration::from_secs(10));
    room.wait_for(1, Duration::from_secs(10));
    // Time for any stray second delivery to show.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(live.smtp.messages().len(), 1, "one email");
    let got = hooks.received();
    assert_eq!(got.len(), 1, "one webhook event for {TRIGGERS} triggers");
    assert_signed_and_valid(&got);
    assert_eq!(got[0].json()["type"], "lead.created");
    assert_eq!(room.received().len(), 1, "one Slack message");
    let shown = inspect(&with_sinks(&live, &hooks.url(), Some(&room.url()))).await;
    assert!(
        shown.contains("sink     webhook:default lead.created"),
        "{shown}"
    );
    assert!(shown.contains("delivered"), "{shown}");
    assert!(
        !shown.contains("555-0142"),
        "inspect shows no customer detail: {shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_for_the_run_gets_the_event_after_it_comes_back() {
    let live = Live::start().await;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let mut env = with_sinks(&live, &url, None);
    env.insert("LEADS_SWEEP_INTERVAL_SECONDS".into(), "1".into());
    let server = ServerProcess::start(&binary(), &env).await;
    let sent_at = chrono::Utc::now().timestamp();
    let started = Instant::now();
    assert_eq!(trigger(&server, 1).await, [200]);
    let answered = started.elapsed();
    // The email does not wait for the webhook.
    assert_eq!(live.smtp.messages().len(), 1, "the email is out at once");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let DeliveryState::Due { at } = delivery_state(&live, "webhook:default").await else {
        panic!("a refused connection is retried later");
    };
    let shown = inspect(&env).await;
    assert!(shown.contains("webhook:default lead.created"), "{shown}");
    assert!(shown.contains("due"), "{shown}");

    let hooks = WebhookReceiver::signed(port, SECRET, &[]);
    let back = Instant::now();
    let got = hooks.wait_for(1, Duration::from_secs(90));
    assert_eq!(got.len(), 1, "delivered once the receiver is back");
    assert_signed_and_valid(&got);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(hooks.received().len(), 1, "and only once");
    assert!(matches!(
        delivery_state(&live, "webhook:default").await,
        DeliveryState::Delivered { .. }
    ));
    eprintln!(
        "outage: /lead answered in {} ms with the receiver down; email out at once; retry due at +{} s; delivered {} ms after the receiver came back",
        answered.as_millis(),
        at - sent_at,
        back.elapsed().as_millis()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_disables_the_sink_visibly_and_resend_sink_delivers_with_the_same_id() {
    let live = Live::start().await;
    let port = free_port();
    let gone = WebhookReceiver::signed(port, SECRET, &["--then", "410"]);
    let url = format!("http://127.0.0.1:{port}/hook");
    let env = with_sinks(&live, &url, None);
    let server = ServerProcess::start(&binary(), &env).await;
    assert_eq!(trigger(&server, 1).await, [200]);
    let first = gone.wait_for(1, Duration::from_secs(10));
    assert_eq!(first.len(), 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        delivery_state(&live, "webhook:default").await,
        DeliveryState::Disabled
    );
    let shown = inspect(&env).await;
    assert!(shown.contains("disabled"), "{shown}");
    drop(gone);

    let fixed = WebhookReceiver::signed(port, SECRET, &[]);
    let out = tokio::process::Command::new(binary())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(&env)
        .args(["resend", TRUCK, "--sink", "webhook:default"])
        .output()
        .await
        .expect("resend");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("delivered"), "{stdout}");
    let again = fixed.received();
    assert_eq!(again.len(), 1);
    assert_signed_and_valid(&again);
    let ids: BTreeSet<&str> = first.iter().chain(&again).map(ReceivedHook::id).collect();
    assert_eq!(ids.len(), 1, "the receiver can dedupe: {ids:?}");
    assert_eq!(
        live.smtp.messages().len(),
        1,
        "resend --sink sends no email"
    );
}
