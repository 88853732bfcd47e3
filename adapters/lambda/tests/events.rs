//! Recorded Lambda events (Function URL payload format 2.0) through
//! `chatkit_leads_lambda::handle` answer exactly what the axum router
//! answers for the same HTTP request: same status, same JSON.
//!
//! Each side gets a router of its own over its own in-memory ports (the
//! fixture threads, a recording mailer), so neither run sees the other's
//! records. The axum side's request is built from the event file by this
//! test, independently of `lambda_http`.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, Method, StatusCode};
use base64::Engine as _;
use chatkit_leads_axum::{CookieKey, LeadsRouter, RateLimits, UserIdentity};
use chatkit_leads_core::session::{SessionSettings, WorkflowId};
use chatkit_leads_core::testkit::{
    ChatKitCall, ManualClock, MemoryStore, RecordingMailer, ScriptedChatKit, ScriptedSummarizer,
    SummaryScript,
};
use chatkit_leads_core::{
    EmailAddress, Envelope, LeadConfig, LeadSummary, LeadWorkflow, Ports, ShopProfile,
};
use chatkit_leads_lambda::{Body, handle, lambda_http};
use serde_json::Value;
use tower::ServiceExt as _;

/// Friday 2026-01-02 16:26:40 in San Jose: the shop is open.
const NOW: i64 = 1_767_400_000;
/// The origin every recorded event comes from.
const SHOP: &str = "https://www.craigs.autos";

/// One router over fresh in-memory ports, and the ports to inspect.
struct Deployment {
    chatkit: Arc<ScriptedChatKit>,
    mailer: Arc<RecordingMailer>,
    router: Router,
}

impl Deployment {
    /// Sessions on, CORS for the shop, the browser's `user` trusted.
    fn new() -> Self {
        Self::with_identity(UserIdentity::TrustBrowser)
    }

    fn with_identity(identity: UserIdentity) -> Self {
        Self::with(identity, RateLimits::default())
    }

    fn with(identity: UserIdentity, rate_limits: RateLimits) -> Self {
        let fixtures =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/chatkit");
        let chatkit = Arc::new(ScriptedChatKit::from_fixture_dir(&fixtures).expect("fixtures"));
        let mailer = Arc::new(RecordingMailer::new());
        let summary = LeadSummary {
            handoff_ready: true,
            handoff_reason: "ready_for_follow_up".into(),
            summary: "Customer wants the seats redone.".into(),
            ..LeadSummary::default()
        };
        let ports = Ports {
            chatkit: Arc::clone(&chatkit),
            store: Arc::new(MemoryStore::new()),
            mailer: Arc::clone(&mailer),
            summarizer: Arc::new(ScriptedSummarizer::new(SummaryScript::Answer(Box::new(
                summary,
            )))),
            clock: Arc::new(ManualClock::at_unix(NOW)),
        };
        let envelope = Envelope {
            from: EmailAddress::parse("leads@craigs.autos").expect("from"),
            from_name: None,
            to: vec![EmailAddress::parse("shop@craigs.autos").expect("to")],
        };
        let workflow = LeadWorkflow::new(ports, LeadConfig::new(ShopProfile::seed(), envelope))
            .expect("workflow");
        let router = LeadsRouter::new(Arc::new(workflow))
            .sessions(SessionSettings::new(
                WorkflowId::parse("wf_test_workflow").expect("workflow id"),
            ))
            .cors_origins([SHOP])
            .identity(identity)
            .rate_limits(rate_limits)
            .build()
            .expect("router");
        Self {
            chatkit,
            mailer,
            router,
        }
    }

    /// The event through the Lambda adapter.
    async fn via_lambda(&self, event: &str) -> Answer {
        let request = lambda_http::request::from_str(event).expect("a Lambda HTTP event");
        let response = handle(&self.router, request).await;
        let (parts, body) = response.into_parts();
        let bytes = match body {
            Body::Empty => Vec::new(),
            Body::Text(text) => text.into_bytes(),
            Body::Binary(bytes) => bytes,
            other => panic!("unexpected body {other:?}"),
        };
        Answer::new(parts.status, parts.headers, &bytes)
    }

    /// The same HTTP request straight into the axum router.
    async fn via_axum(&self, event: &str) -> Answer {
        let response = self
            .router
            .clone()
            .oneshot(axum_request(event))
            .await
            .expect("infallible");
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("body");
        Answer::new(parts.status, parts.headers, &bytes)
    }
}

/// Status, headers and JSON body (`Null` when empty) of one answer.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

impl Answer {
    fn new(status: StatusCode, headers: HeaderMap, body: &[u8]) -> Self {
        let json = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(body)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
        };
        Self {
            status,
            headers,
            json,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The JSON with the per-send message id (random in each run) masked.
    fn comparable_json(&self) -> Value {
        let mut json = self.json.clone();
        if let Some(id) = json.get_mut("message_id") {
            assert!(id.as_str().is_some_and(|s| !s.is_empty()), "{id}");
            *id = Value::from("<message id>");
        }
        json
    }
}

/// `tests/events/<name>.json`.
fn event(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/events/{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The HTTP request a Function URL event describes, built from the JSON by
/// hand: method, `rawPath`, headers, cookies and the (decoded) body.
fn axum_request(event: &str) -> axum::extract::Request {
    let event: Value = serde_json::from_str(event).expect("event JSON");
    let method = event["requestContext"]["http"]["method"]
        .as_str()
        .expect("method");
    let mut builder = axum::http::Request::builder()
        .method(Method::from_bytes(method.as_bytes()).expect("method"))
        .uri(event["rawPath"].as_str().expect("rawPath"));
    for (name, value) in event["headers"].as_object().expect("headers") {
        builder = builder.header(name.as_str(), value.as_str().expect("header value"));
    }
    if let Some(cookies) = event["cookies"].as_array() {
        let joined: Vec<&str> = cookies.iter().filter_map(Value::as_str).collect();
        builder = builder.header("cookie", joined.join("; "));
    }
    let body = match event["body"].as_str() {
        None => Vec::new(),
        Some(b64) if event["isBase64Encoded"] == true => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64 body"),
        Some(text) => text.as_bytes().to_vec(),
    };
    builder.body(axum::body::Body::from(body)).expect("request")
}

/// Runs `name` through a fresh deployment on each side, checks both gave
/// the same status and JSON, and returns both answers and deployments.
async fn same_answer(name: &str) -> (Answer, Deployment, Answer) {
    let text = event(name);
    let lambda = Deployment::new();
    let axum = Deployment::new();
    let via_lambda = lambda.via_lambda(&text).await;
    let via_axum = axum.via_axum(&text).await;
    assert_eq!(via_lambda.status, via_axum.status, "{name}: status");
    assert_eq!(
        via_lambda.comparable_json(),
        via_axum.comparable_json(),
        "{name}: body"
    );
    (via_lambda, lambda, via_axum)
}

#[tokio::test]
async fn plain_body_lead_sends_the_email_like_the_axum_router() {
    let (answer, lambda, _) = same_answer("lead_plain").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json["sent"], true, "{}", answer.json);
    assert_eq!(answer.json["reason"], "idle");
    assert_eq!(lambda.mailer.sent_count(), 1);
    assert_eq!(answer.header("access-control-allow-origin"), Some(SHOP));
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "JSON, so lambda_http returns it as text"
    );
}

#[tokio::test]
async fn base64_body_lead_is_decoded_like_the_axum_router() {
    let (answer, lambda, _) = same_answer("lead_base64").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json["sent"], true, "{}", answer.json);
    assert_eq!(answer.json["reason"], "pagehide");
    assert_eq!(lambda.mailer.sent_count(), 1);
}

#[tokio::test]
async fn preflight_from_an_allowed_origin_gets_the_routers_cors_answer() {
    let (answer, lambda, axum) = same_answer("lead_preflight").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("access-control-allow-origin"), Some(SHOP));
    for header in [
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-max-age",
        "vary",
    ] {
        assert_eq!(answer.header(header), axum.header(header), "{header}");
    }
    assert!(
        answer
            .header("access-control-allow-methods")
            .is_some_and(|m| m.contains("POST")),
        "{:?}",
        answer.headers
    );
    assert!(lambda.chatkit.calls().is_empty(), "a preflight does no I/O");
}

#[tokio::test]
async fn wrong_method_is_405_naming_post_like_the_axum_router() {
    let (answer, _, _) = same_answer("lead_wrong_method").await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.header("allow"), Some("POST"));
    assert!(answer.json["error"].is_string(), "{}", answer.json);
}

#[tokio::test]
async fn bad_json_is_400_before_any_io_like_the_axum_router() {
    let (answer, lambda, _) = same_answer("lead_bad_json").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.json["error"].is_string(), "{}", answer.json);
    assert!(lambda.chatkit.calls().is_empty());
    assert_eq!(lambda.mailer.sent_count(), 0);
}

#[tokio::test]
async fn oversized_body_is_413_like_the_axum_router() {
    let (answer, lambda, _) = same_answer("lead_oversized").await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.json["error"], "request body is too large");
    assert!(lambda.chatkit.calls().is_empty());
}

#[tokio::test]
async fn session_mints_a_client_secret_like_the_axum_router() {
    let (answer, lambda, _) = same_answer("session").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.json["client_secret"].is_string(), "{}", answer.json);
    assert!(answer.json["expires_at"].is_number());
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let created = lambda
        .chatkit
        .calls()
        .into_iter()
        .find_map(|call| match call {
            ChatKitCall::CreateSession(body) => Some(body),
            _ => None,
        })
        .expect("a session was created");
    assert_eq!(
        created.user.as_str(),
        "anon_1b6f0c2e-9d1f-4a51-8f0e-6a1d2c3b4a50"
    );
}

#[tokio::test]
async fn api_gateway_stage_is_removed_before_routing() {
    let lambda = Deployment::new();
    let answer = lambda.via_lambda(&event("http_api_stage_lead")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    assert_eq!(answer.json["reason"], "idle");
    assert_eq!(lambda.mailer.sent_count(), 1);
    assert_eq!(
        answer.header("x-request-id"),
        Some("JKJaXmPLvHcESHA"),
        "the HTTP API's request id, without its padding"
    );
}

#[tokio::test]
async fn an_api_gateway_rest_event_is_served_like_an_http_api_one() {
    // The seed's stack: a REST API (v1 proxy integration) on stage `prod`.
    let lambda = Deployment::new();
    let answer = lambda.via_lambda(&event("rest_api_stage_lead")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    assert_eq!(answer.json["reason"], "pagehide");
    assert_eq!(lambda.mailer.sent_count(), 1);
    assert_eq!(
        answer.header("x-request-id"),
        Some("0f4c2a8e-3b7d-4e91-a6c5-2d8f1b9e7a30"),
        "the REST API's request id"
    );
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://www.craigs.autos"),
        "the router's CORS answers it too"
    );
}

#[tokio::test]
async fn the_events_request_id_becomes_the_responses_x_request_id() {
    let lambda = Deployment::new();
    let answer = lambda.via_lambda(&event("lead_plain")).await;
    assert_eq!(
        answer.header("x-request-id"),
        Some("c6af9ac6-7b61-11e6-9a41-93e8deadbeef")
    );

    let mut with_own_id: Value = serde_json::from_str(&event("lead_wrong_method")).expect("json");
    with_own_id["headers"]["x-request-id"] = Value::from("page-1234");
    let answer = lambda.via_lambda(&with_own_id.to_string()).await;
    assert_eq!(
        answer.header("x-request-id"),
        Some("page-1234"),
        "the client's id wins"
    );
}

#[tokio::test]
async fn the_events_cookies_reach_the_signed_cookie_identity() {
    let key = CookieKey::new([7u8; 32]).expect("key");
    let lambda = Deployment::with_identity(UserIdentity::signed_cookie(key));
    let first = lambda.via_lambda(&event("session")).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.json);
    let set_cookie = first.header("set-cookie").expect("a user cookie is issued");
    let cookie = set_cookie.split(';').next().expect("name=value").to_owned();

    // The browser sends it back; Function URLs put cookies in `cookies`.
    let mut again: Value = serde_json::from_str(&event("session")).expect("json");
    again["cookies"] = Value::from(vec![Value::from("theme=dark"), Value::from(cookie)]);
    let second = lambda.via_lambda(&again.to_string()).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.json);
    assert_eq!(second.header("set-cookie"), None, "the cookie was accepted");

    let users: Vec<String> = lambda
        .chatkit
        .calls()
        .into_iter()
        .filter_map(|call| match call {
            ChatKitCall::CreateSession(body) => Some(body.user.as_str().to_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0], users[1], "the same server-issued user");
    assert_ne!(
        users[0], "anon_1b6f0c2e-9d1f-4a51-8f0e-6a1d2c3b4a50",
        "not the body's claim"
    );
}

#[tokio::test]
async fn a_scheduled_event_runs_the_job_and_http_events_still_reach_the_router() {
    let runs = std::sync::atomic::AtomicUsize::new(0);
    let job = || async {
        runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok::<_, lambda_http::Error>(serde_json::json!({"sent": 2}))
    };
    let d = Deployment::new();
    let scheduled: Value = serde_json::from_str(&event("scheduled")).expect("json");
    assert!(chatkit_leads_lambda::is_scheduled(&scheduled));
    let result = chatkit_leads_lambda::dispatch(&d.router, scheduled, &job)
        .await
        .expect("the job's result");
    assert_eq!(result, serde_json::json!({"sent": 2}));
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(d.mailer.sent().is_empty(), "the router was not called");

    let lead: Value = serde_json::from_str(&event("lead_plain")).expect("json");
    assert!(!chatkit_leads_lambda::is_scheduled(&lead));
    let answer = chatkit_leads_lambda::dispatch(&d.router, lead, &job)
        .await
        .expect("an HTTP answer");
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let body: Value =
        serde_json::from_str(answer["body"].as_str().expect("text body")).expect("json");
    assert_eq!(body["sent"], true, "{body}");
    assert_eq!(d.mailer.sent().len(), 1);
    assert_eq!(
        runs.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the job did not run"
    );

    let session: Value = serde_json::from_str(&event("session")).expect("json");
    let answer = chatkit_leads_lambda::dispatch(&d.router, session, &job)
        .await
        .expect("an HTTP answer");
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let has_cookie_header = answer["headers"]
        .as_object()
        .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("set-cookie")));
    assert!(!has_cookie_header, "Set-Cookie goes to `cookies`: {answer}");

    let other = serde_json::json!({"Records": [{"eventSource": "aws:sqs"}]});
    assert!(
        chatkit_leads_lambda::dispatch(&d.router, other, &job)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_events_source_ip_is_the_address_the_rate_limit_counts() {
    let one_a_minute = RateLimits {
        per_address: NonZeroU32::new(1),
        per_user: None,
    };
    let lambda = Deployment::with(UserIdentity::TrustBrowser, one_a_minute);
    let first = event("lead_bad_json");
    assert!(first.contains("\"sourceIp\": \"203.0.113.7\""));
    assert_eq!(
        lambda.via_lambda(&first).await.status,
        StatusCode::BAD_REQUEST
    );
    let again = lambda.via_lambda(&first).await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(again.header("retry-after").is_some());
    let elsewhere = first.replace("203.0.113.7", "198.51.100.9");
    assert_eq!(
        lambda.via_lambda(&elsewhere).await.status,
        StatusCode::BAD_REQUEST,
        "another client has its own budget"
    );
}
