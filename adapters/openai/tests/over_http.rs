//! The OpenAI adapter over real HTTP against the local fake, which serves
//! the official shapes from `tests/fixtures` and refuses what OpenAI would.

use std::path::PathBuf;
use std::time::Duration;

use chatkit_leads_core::chatkit::{PageRequest, Thread, ThreadItem};
use chatkit_leads_core::summary::{SummaryInput, TranscriptBudget};
use chatkit_leads_core::transcript::Speaker;
use chatkit_leads_core::{
    ChatKitClient, ChatKitError, Contact, LeadSummary, SessionRequest, ShopProfile, Summarizer,
    SummaryError, ThreadId, Transcript, UserId,
};
use chatkit_leads_openai::{ApiKey, OpenAiClient, OpenAiConfig, RetryPolicy};
use chatkit_leads_openai_fake::{FakeConfig, FakeOpenAi, Fault};

const KEY: &str = "sk-test-0123456789abcdef";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

async fn fake() -> FakeOpenAi {
    FakeOpenAi::start(FakeConfig::new(fixtures(), KEY))
        .await
        .expect("fake starts")
}

fn client_with(
    fake: &FakeOpenAi,
    key: &str,
    configure: impl FnOnce(&mut OpenAiConfig),
) -> OpenAiClient {
    let mut config = OpenAiConfig::new(ApiKey::new(key))
        .with_base_url(&fake.base_url())
        .expect("base url");
    config.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_elapsed: Duration::from_secs(5),
    };
    config.chatkit_timeout = Duration::from_secs(2);
    config.responses_timeout = Duration::from_secs(2);
    configure(&mut config);
    OpenAiClient::new(config).expect("client")
}

fn client(fake: &FakeOpenAi) -> OpenAiClient {
    client_with(fake, KEY, |_| {})
}

fn thread(id: &str) -> ThreadId {
    ThreadId::parse(id).expect("thread id")
}

async fn all_items(client: &OpenAiClient, id: &ThreadId) -> Vec<ThreadItem> {
    let mut page_req = PageRequest::first();
    let mut items = Vec::new();
    loop {
        let page = client.list_items(id, &page_req).await.expect("items page");
        items.extend(page.data);
        match (page.has_more, page.last_id) {
            (true, Some(last)) => page_req = page_req.next(last),
            _ => return items,
        }
    }
}

fn input() -> SummaryInput {
    SummaryInput {
        instructions: "Summarise.".into(),
        input: "Customer: hi".into(),
        max_output_tokens: 700,
    }
}

#[tokio::test]
async fn every_fixture_thread_round_trips_into_the_expected_transcript() {
    let fake = fake().await;
    let client = client(&fake);
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("chatkit/expected.json")).expect("expected"),
    )
    .expect("json");
    let shop = ShopProfile::seed();
    for (id, want) in expected.as_object().expect("object") {
        let tid = thread(id);
        let thread: Thread = client.retrieve_thread(&tid).await.expect("thread");
        assert_eq!(thread.id, tid);
        let items = all_items(&client, &tid).await;
        assert_eq!(
            items.len() as u64,
            want["items_total"].as_u64().expect("n"),
            "{id}: items"
        );
        let t = Transcript::from_items(&items);
        let count = |s: Speaker| t.messages.iter().filter(|m| m.speaker == s).count() as u64;
        assert_eq!(
            count(Speaker::Customer),
            want["customer_messages"].as_u64().expect("n"),
            "{id}"
        );
        assert_eq!(
            count(Speaker::Assistant),
            want["assistant_messages"].as_u64().expect("n"),
            "{id}"
        );
        let contact = Contact::extract(&t, &shop.phone);
        assert_eq!(
            contact.email.as_ref().map(|e| e.as_str()),
            want["email"].as_str(),
            "{id}: email"
        );
        assert_eq!(
            contact.phone.as_ref().map(|p| p.display.as_str()),
            want["phone"].as_str(),
            "{id}: phone"
        );
    }
    fake.shutdown().await;
}

#[tokio::test]
async fn the_long_thread_takes_exactly_three_pages_at_limit_100() {
    let fake = fake().await;
    let items = all_items(&client(&fake), &thread("cthr_fx_long_pages")).await;
    assert_eq!(items.len(), 255);
    assert_eq!(
        fake.count("GET", "/v1/chatkit/threads/cthr_fx_long_pages/items"),
        3
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn chatkit_calls_carry_the_beta_header_and_optional_org_and_project() {
    let fake = fake().await;
    let client = client_with(&fake, KEY, |c| {
        c.organization = Some("org_123".into());
        c.project = Some("proj_456".into());
    });
    client
        .retrieve_thread(&thread("cthr_fx_empty"))
        .await
        .expect("thread");
    client.summarize(&input()).await.expect("summary");
    let requests = fake.requests();
    let chatkit = requests
        .iter()
        .find(|r| r.path.starts_with("/v1/chatkit/"))
        .expect("chatkit request");
    assert_eq!(
        chatkit.headers.get("openai-beta").map(String::as_str),
        Some("chatkit_beta=v1")
    );
    assert_eq!(
        chatkit
            .headers
            .get("openai-organization")
            .map(String::as_str),
        Some("org_123")
    );
    assert_eq!(
        chatkit.headers.get("openai-project").map(String::as_str),
        Some("proj_456")
    );
    assert_eq!(
        chatkit.headers.get("authorization").map(String::as_str),
        Some("Bearer [valid]")
    );
    let responses = requests
        .iter()
        .find(|r| r.path == "/v1/responses")
        .expect("responses request");
    assert_eq!(
        responses.headers.get("openai-beta"),
        None,
        "beta header is for ChatKit only"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn unknown_thread_is_a_typed_not_found() {
    let fake = fake().await;
    let err = client(&fake)
        .retrieve_thread(&thread("cthr_missing"))
        .await
        .expect_err("404");
    assert_eq!(err, ChatKitError::NotFound);
    assert_eq!(
        fake.count("GET", "/v1/chatkit/threads/cthr_missing"),
        1,
        "404 is not retried"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn list_threads_finds_a_users_threads() {
    let fake = fake().await;
    let user = UserId::parse("anon_1b6f0c2e-9d1f-4a51-8f0e-6a1d2c3b4a50").expect("user");
    let page = client(&fake)
        .list_threads(&user, &PageRequest::first())
        .await
        .expect("threads");
    let ids: Vec<&str> = page.data.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["cthr_fx_en_truck_seats"]);
    fake.shutdown().await;
}

#[tokio::test]
async fn every_openai_fixture_gives_its_summary_or_typed_error() {
    let fake = fake().await;
    let client = client(&fake);
    let cases: [(&str, Result<(), SummaryError>); 4] = [
        ("summary_ok.json", Ok(())),
        ("summary_refusal.json", Err(SummaryError::Refused)),
        (
            "summary_incomplete.json",
            Err(SummaryError::Incomplete("max_output_tokens".into())),
        ),
        ("summary_overlong_lists.json", Ok(())),
    ];
    for (file, want) in cases {
        fake.set_summary_fixture(file);
        let got = client.summarize(&input()).await.map(|_| ());
        assert_eq!(got, want, "{file}");
    }
    fake.set_summary_fixture("summary_malformed.json");
    assert!(matches!(
        client.summarize(&input()).await,
        Err(SummaryError::Malformed(_))
    ));
    fake.shutdown().await;
}

#[tokio::test]
async fn overlong_lists_are_sanitised_per_the_spec() {
    let fake = fake().await;
    fake.set_summary_fixture("summary_overlong_lists.json");
    let raw: LeadSummary = client(&fake).summarize(&input()).await.expect("summary");
    let s = raw.sanitize(&ShopProfile::seed());
    assert_eq!(s.next_steps.len(), 6);
    assert_eq!(s.call_script_prompts, ["q0?", "q1?", "q2?"]);
    assert_eq!(s.customer_phone, None, "12 is not a phone number");
    assert_eq!(s.customer_email, None, "not-an-email is not an email");
    assert_eq!(s.summary, "padded");
    fake.shutdown().await;
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_then_succeeds() {
    let fake = fake().await;
    fake.push_fault(Fault::Status {
        path_prefix: "/v1/responses".into(),
        status: 429,
        retry_after_secs: Some(0),
    });
    client(&fake)
        .summarize(&input())
        .await
        .expect("summary after retry");
    assert_eq!(fake.count("POST", "/v1/responses"), 2);
    fake.shutdown().await;
}

#[tokio::test]
async fn repeated_500s_beyond_the_budget_are_a_typed_error() {
    let fake = fake().await;
    for _ in 0..5 {
        fake.push_fault(Fault::Status {
            path_prefix: "/v1/chatkit/threads".into(),
            status: 500,
            retry_after_secs: None,
        });
    }
    let err = client(&fake)
        .retrieve_thread(&thread("cthr_fx_empty"))
        .await
        .expect_err("500s");
    assert_eq!(err, ChatKitError::Status { status: 500 });
    assert_eq!(
        fake.count("GET", "/v1/chatkit/threads/cthr_fx_empty"),
        3,
        "max_attempts"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn a_400_is_never_retried() {
    let fake = fake().await;
    fake.push_fault(Fault::Status {
        path_prefix: "/v1/responses".into(),
        status: 400,
        retry_after_secs: None,
    });
    let err = client(&fake).summarize(&input()).await.expect_err("400");
    assert_eq!(err, SummaryError::Status { status: 400 });
    assert_eq!(fake.count("POST", "/v1/responses"), 1);
    fake.shutdown().await;
}

#[tokio::test]
async fn reset_connections_and_truncated_bodies_are_retried() {
    let fake = fake().await;
    fake.push_fault(Fault::ResetConnection {
        path_prefix: "/v1/chatkit/threads/cthr_fx_empty".into(),
    });
    fake.push_fault(Fault::TruncatedBody {
        path_prefix: "/v1/chatkit/threads/cthr_fx_empty".into(),
    });
    let thread = client(&fake)
        .retrieve_thread(&thread("cthr_fx_empty"))
        .await
        .expect("third attempt");
    assert_eq!(thread.id.as_str(), "cthr_fx_empty");
    fake.shutdown().await;
}

#[tokio::test]
async fn a_slow_answer_times_out_as_a_transport_error() {
    let fake = fake().await;
    for _ in 0..3 {
        fake.push_fault(Fault::Slow {
            path_prefix: "/v1/responses".into(),
            delay: Duration::from_secs(3),
        });
    }
    let client = client_with(&fake, KEY, |c| {
        c.responses_timeout = Duration::from_millis(200)
    });
    let err = client.summarize(&input()).await.expect_err("timeout");
    assert_eq!(err, SummaryError::Transport("timed out".into()));
    fake.shutdown().await;
}

#[tokio::test]
async fn the_key_never_appears_in_debug_output_or_errors() {
    let fake = fake().await;
    let wrong = "sk-wrong-key-do-not-print";
    let client = client_with(&fake, wrong, |_| {});
    let err = client
        .retrieve_thread(&thread("cthr_fx_empty"))
        .await
        .expect_err("401");
    assert_eq!(err, ChatKitError::Unauthorized { status: 401 });
    let summary_err = client.summarize(&input()).await.expect_err("401");
    for text in [
        format!("{client:?}"),
        format!("{:?}", client.config()),
        format!("{err} {err:?}"),
        format!("{summary_err} {summary_err:?}"),
    ] {
        assert!(!text.contains(wrong), "key leaked in {text}");
        assert!(!text.contains("sk-wrong"), "key prefix leaked in {text}");
    }
    fake.shutdown().await;
}

#[tokio::test]
async fn session_and_responses_requests_match_the_official_shapes() {
    let fake = fake().await;
    let client = client(&fake);
    let settings = chatkit_leads_core::session::SessionSettings::new(
        chatkit_leads_core::session::WorkflowId::parse("wf_fixture").expect("workflow"),
    );
    let clock = chatkit_leads_core::testkit::ManualClock::at_unix(1_767_304_800);
    let user = UserId::parse("anon_1b6f0c2e-9d1f-4a51-8f0e-6a1d2c3b4a50").expect("user");
    let session = settings
        .mint(
            &client,
            &clock,
            &ShopProfile::seed(),
            user,
            &SessionRequest::default(),
        )
        .await
        .expect("session accepted by the fake's validation");
    assert!(session.client_secret.starts_with("ek_"));

    let official_session: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("openai/session_ok.json")).expect("fixture"),
    )
    .expect("json");
    let official_response: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("openai/summary_ok.json")).expect("fixture"),
    )
    .expect("json");
    let budget = TranscriptBudget::default();
    let transcript = Transcript::default();
    let summary_input = SummaryInput::new(
        "Summarise.".into(),
        &transcript,
        "Roxana",
        None,
        None,
        budget,
        700,
    );
    client
        .summarize(&summary_input)
        .await
        .expect("summary accepted by the fake's validation");

    let requests = fake.requests();
    let body = |path: &str| {
        requests
            .iter()
            .find(|r| r.path == path)
            .and_then(|r| r.body.clone())
            .unwrap_or_else(|| panic!("no body for {path}"))
    };
    let session_body = body("/v1/chatkit/sessions");
    assert_same_type(&session_body["user"], &official_session["user"], "user");
    assert_same_type(
        &session_body["workflow"]["id"],
        &official_session["workflow"]["id"],
        "workflow.id",
    );
    assert!(
        session_body["workflow"]["state_variables"].is_object(),
        "state_variables object"
    );

    let responses_body = body("/v1/responses");
    for field in ["model", "instructions", "max_output_tokens"] {
        assert_same_type(&responses_body[field], &official_response[field], field);
    }
    assert!(responses_body["input"].is_string());
    let format = &responses_body["text"]["format"];
    for field in ["type", "name", "strict"] {
        assert_eq!(
            format[field], official_response["text"]["format"][field],
            "text.format.{field}"
        );
    }
    assert!(format["schema"]["properties"].is_object());
    fake.shutdown().await;
}

fn assert_same_type(ours: &serde_json::Value, official: &serde_json::Value, field: &str) {
    let kind = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    };
    assert_eq!(
        kind(ours),
        kind(official),
        "{field}: type differs from the official shape"
    );
}

#[tokio::test]
async fn the_workflow_runs_end_to_end_on_the_openai_client() {
    use chatkit_leads_core::SystemClock;
    use chatkit_leads_core::testkit::{MemoryStore, RecordingMailer};
    use chatkit_leads_core::{
        EmailAddress, Envelope, LeadConfig, LeadOutcome, LeadRequest, LeadWorkflow, Ports,
        TriggerReason,
    };
    let fake = fake().await;
    let client = client(&fake);
    let envelope = Envelope {
        from: EmailAddress::parse("leads@example.com").expect("from"),
        from_name: None,
        to: vec![EmailAddress::parse("shop@example.com").expect("to")],
    };
    let ports = Ports {
        chatkit: client.clone(),
        store: MemoryStore::new(),
        mailer: RecordingMailer::new(),
        summarizer: client,
        // Real time: the summary timeout must race real HTTP.
        clock: SystemClock,
    };
    let workflow =
        LeadWorkflow::new(ports, LeadConfig::new(ShopProfile::seed(), envelope)).expect("config");
    let outcome = workflow
        .process(&LeadRequest::new(
            thread("cthr_fx_en_truck_seats"),
            TriggerReason::Idle,
        ))
        .await
        .expect("outcome");
    assert!(
        matches!(
            outcome,
            LeadOutcome::Sent {
                summary: chatkit_leads_core::SummaryStatus::Included,
                ..
            }
        ),
        "{outcome:?}"
    );
    let sent = workflow.ports().mailer.sent();
    assert!(
        sent[0].subject.contains("2016 Ford F-150"),
        "the model's summary shaped the subject"
    );
    assert_eq!(fake.count("POST", "/v1/responses"), 1);
    fake.shutdown().await;
}
