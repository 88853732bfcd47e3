//! The Lambda function end to end, in process: the router `build`
//! makes at cold start, invoked through `chatkit_leads_lambda::handle` with
//! a recorded Function URL event, wired to the real adapters — the OpenAI
//! client against the in-process OpenAI fake, the DynamoDB store and the
//! SES mailer against a local AWS stand-in, secrets read from its SSM.
//!
//! Needs `TEST_AWS_ENDPOINT_URL` (e.g. `http://127.0.0.1:5000`): the
//! project's `scripts/test.sh` starts `scripts/moto_server.py` and sets it.
//! Every run uses its own table, sender domain, recipient and parameters,
//! so runs can share one stand-in.

use std::collections::HashMap;
use std::path::PathBuf;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_ssm::types::ParameterType;
use chatkit_leads_core::{LeadStore, ThreadId};
use chatkit_leads_dynamodb::{DynamoStore, create_table};
use chatkit_leads_lambda::{Body, dispatch, handle, lambda_http};
use chatkit_leads_lambda_example::{Function, Settings, build};
use chatkit_leads_openai_fake::{FakeConfig, FakeOpenAi};
use serde_json::Value;

const ENDPOINT_VAR: &str = "TEST_AWS_ENDPOINT_URL";
const OPENAI_KEY: &str = "sk-lambda-e2e-key";
const COOKIE_KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
/// The thread `tests/events/lead.json` asks about: it has a phone number.
const THREAD: &str = "cthr_fx_en_truck_seats";
const INVOCATIONS: usize = 50;

/// The stand-in's URL; a missing variable fails the test with directions.
fn endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VAR} is not set. Run `scripts/test.sh`, or start \
             `python3 scripts/moto_server.py --port 0` and export \
             {ENDPOINT_VAR}=http://127.0.0.1:<port>"
        )
    })
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What `aws_config::load_defaults` gives in Lambda, pointed at the stand-in.
async fn aws_config_for(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .load()
        .await
}

/// Names no other test or run uses.
struct Run {
    id: String,
}

impl Run {
    fn new() -> Self {
        Self {
            id: uuid::Uuid::new_v4().simple().to_string(),
        }
    }
    fn table(&self) -> String {
        format!("chatkit-leads-lambda-e2e-{}", self.id)
    }
    fn sender(&self) -> String {
        format!("leads@{}.shop.example", self.id)
    }
    fn recipient(&self) -> String {
        format!("shop-{}@craigs.example", self.id)
    }
    fn parameter(&self, name: &str) -> String {
        format!("/chatkit-leads-e2e/{}/{name}", self.id)
    }
}

/// Stores `value` as a `SecureString` parameter.
async fn put_secret(aws: &SdkConfig, name: &str, value: &str) {
    aws_sdk_ssm::Client::new(aws)
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::SecureString)
        .send()
        .await
        .expect("put SSM parameter");
}

/// The function's environment, as `template.yaml` sets it.
fn environment(run: &Run, fake: &FakeOpenAi) -> HashMap<String, String> {
    [
        ("OPENAI_API_KEY_PARAM", run.parameter("openai-api-key")),
        ("CHATKIT_WORKFLOW_ID", "wf_lambda_e2e".to_owned()),
        ("LEADS_COOKIE_KEY_PARAM", run.parameter("cookie-key")),
        ("OPENAI_BASE_URL", fake.base_url()),
        ("LEAD_TO_EMAIL", run.recipient()),
        ("LEAD_FROM_EMAIL", run.sender()),
        ("LEAD_DEDUPE_TABLE_NAME", run.table()),
        ("ALLOWED_ORIGINS", "https://www.craigs.autos".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// `GET {endpoint}/moto-api/data.json`: everything the stand-in holds.
async fn moto_state(endpoint: &str) -> Value {
    reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .expect("stand-in state")
        .json()
        .await
        .expect("JSON state")
}

/// What the operator does once before deploying (docs/deploy-lambda.md):
/// the table, the verified sender, the secrets; then the cold start.
async fn deploy(
    aws: &SdkConfig,
    run: &Run,
    env: &HashMap<String, String>,
) -> (aws_sdk_dynamodb::Client, Function) {
    let dynamodb = aws_sdk_dynamodb::Client::new(aws);
    create_table(&dynamodb, &run.table())
        .await
        .expect("create table");
    aws_sdk_sesv2::Client::new(aws)
        .create_email_identity()
        .email_identity(run.sender())
        .send()
        .await
        .expect("verify the sender");
    put_secret(aws, &run.parameter("openai-api-key"), OPENAI_KEY).await;
    put_secret(aws, &run.parameter("cookie-key"), COOKIE_KEY).await;
    let settings = Settings::from_lookup(|name| env.get(name).cloned()).expect("settings");
    let function = build(&settings, aws).await.expect("cold start");
    (dynamodb, function)
}

/// `tests/events/<name>.json`.
fn event(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/events/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("event JSON")
}

/// SES messages of this run (to its recipient), as moto keeps them.
async fn ses_messages(endpoint: &str, run: &Run) -> Vec<Value> {
    let state = moto_state(endpoint).await;
    state["ses"]["RawMessage"]
        .as_array()
        .expect("ses.RawMessage")
        .iter()
        .filter(|m| {
            m["destinations"]
                .as_array()
                .is_some_and(|d| d.iter().any(|to| to == run.recipient().as_str()))
        })
        .cloned()
        .collect()
}

/// The OpenAI fake serving the repository's fixtures.
async fn openai_fake() -> FakeOpenAi {
    FakeOpenAi::start(FakeConfig::new(
        repo_root().join("tests/fixtures"),
        OPENAI_KEY,
    ))
    .await
    .expect("OpenAI fake")
}

/// One invocation: the recorded event through the function's handler.
async fn invoke(router: axum::Router, event: String) -> (u16, Value) {
    let request = lambda_http::request::from_str(&event).expect("Function URL event");
    let response = handle(&router, request).await;
    let status = response.status().as_u16();
    let json = match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("JSON answer"),
        other => panic!("expected a text body, got {other:?}"),
    };
    (status, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_lead_invocations_send_exactly_one_email_through_ses() {
    let endpoint = endpoint();
    let aws = aws_config_for(&endpoint).await;
    let run = Run::new();
    let fake = openai_fake().await;

    let (dynamodb, function) = deploy(&aws, &run, &environment(&run, &fake)).await;
    let router = function.router.clone();

    // A burst: idle timers and pagehide in several tabs, all at once.
    let event = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/events/lead.json"),
    )
    .expect("event file");
    let invocations = (0..INVOCATIONS)
        .map(|_| tokio::spawn(invoke(router.clone(), event.clone())))
        .collect::<Vec<_>>();
    let answers: Vec<(u16, Value)> = futures::future::join_all(invocations)
        .await
        .into_iter()
        .map(|joined| joined.expect("invocation task"))
        .collect();

    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    let sent: Vec<&Value> = answers
        .iter()
        .map(|(_, body)| body)
        .filter(|body| body["reason"] == "idle")
        .collect();
    assert_eq!(sent.len(), 1, "exactly one invocation sends: {answers:?}");
    assert_eq!(sent[0]["sent"], true);
    let message_id = sent[0]["message_id"]
        .as_str()
        .expect("the sender gets SES's message id")
        .to_owned();
    let others: Vec<&str> = answers
        .iter()
        .filter_map(|(_, body)| body["reason"].as_str())
        .filter(|reason| *reason != "idle")
        .collect();
    assert_eq!(others.len(), INVOCATIONS - 1);
    assert!(
        others
            .iter()
            .all(|r| *r == "in_progress" || *r == "already_sent"),
        "{others:?}"
    );

    // SES got exactly one message for this run's recipient: the sent one.
    let ours = ses_messages(&endpoint, &run).await;
    assert_eq!(ours.len(), 1, "one email in SES for this run");
    assert_eq!(ours[0]["id"], message_id.as_str());
    let raw = ours[0]["raw_data"].as_str().expect("raw_data");
    // `From: "Craig's Auto Upholstery"\r\n <leads@….shop.example>` (folded).
    let head = raw.split("\r\n\r\n").next().unwrap_or_default();
    let unfolded = head.replace("\r\n ", " ");
    assert!(
        unfolded.contains(&format!(
            "From: \"Craig's Auto Upholstery\" <{}>",
            run.sender()
        )),
        "sent from LEAD_FROM_EMAIL in the shop's name: {unfolded}"
    );

    // The record says so too, with SES's message id.
    let store = DynamoStore::new(dynamodb, run.table());
    let record = store
        .get(&ThreadId::parse(THREAD).expect("thread id"))
        .await
        .expect("get")
        .expect("a record");
    assert_eq!(record.message_id.as_deref(), Some(message_id.as_str()));
    assert_eq!(fake.count("POST", "/v1/responses"), 1, "one summary");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_invocation_sweeps_up_a_chat_no_trigger_reached() {
    let endpoint = endpoint();
    let aws = aws_config_for(&endpoint).await;
    let run = Run::new();
    let fake = openai_fake().await;
    let mut env = environment(&run, &fake);
    env.insert("LEADS_SWEEP_QUIET_SECONDS".to_owned(), "0".to_owned());
    let (_, function) = deploy(&aws, &run, &env).await;
    let sweep = || async { Ok::<_, lambda_http::Error>(function.sweep().await?) };

    // The page minted a session, the visitor left a phone number, and the
    // tab was closed before any trigger.
    let answer = dispatch(&function.router, event("session"), &sweep)
        .await
        .expect("session");
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let user = fake
        .requests()
        .iter()
        .find(|r| r.path == "/v1/chatkit/sessions")
        .and_then(|r| r.body.as_ref()?["user"].as_str().map(str::to_owned))
        .expect("a session for a server-bound user");
    let thread = format!("cthr_lambda_sweep_{}", uuid::Uuid::new_v4().simple());
    let written_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0);
    assert!(fake.add_thread("cthr_fx_en_truck_seats", &thread, &user, written_at - 5));

    let summary = dispatch(&function.router, event("scheduled"), &sweep)
        .await
        .expect("the sweep's result");
    assert_eq!(summary["threads_found"], 1, "{summary}");
    assert_eq!(summary["sent"], 1, "{summary}");
    let ours = ses_messages(&endpoint, &run).await;
    assert_eq!(ours.len(), 1, "one email in SES");
    assert!(
        ours[0]["raw_data"]
            .as_str()
            .is_some_and(|raw| raw.contains(&thread))
    );

    let again = dispatch(&function.router, event("scheduled"), &sweep)
        .await
        .expect("the sweep's result");
    assert_eq!(
        (again["sent"].as_u64(), again["due"].as_u64()),
        (Some(0), Some(0)),
        "{again}"
    );
    assert_eq!(ses_messages(&endpoint, &run).await.len(), 1);
}

#[tokio::test]
async fn cold_start_fails_naming_a_missing_ssm_parameter() {
    let endpoint = endpoint();
    let aws = aws_config_for(&endpoint).await;
    let run = Run::new();
    let fake = openai_fake().await;
    put_secret(&aws, &run.parameter("cookie-key"), COOKIE_KEY).await;
    // The OpenAI key's parameter was never created.
    let env = environment(&run, &fake);
    let settings = Settings::from_lookup(|name| env.get(name).cloned()).expect("settings");
    let err = build(&settings, &aws)
        .await
        .expect_err("cold start must fail");
    let message = format!("{err:#}");
    assert!(
        message.contains(&run.parameter("openai-api-key")),
        "{message}"
    );
    assert!(
        !message.contains(COOKIE_KEY),
        "no secret in errors: {message}"
    );
}
