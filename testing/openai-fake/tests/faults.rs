//! Injected faults, each observed by a real HTTP client.

mod common;

use std::time::{Duration, Instant};

use chatkit_leads_openai_fake::Fault;
use common::{chatkit, client, fixture, send, start};
use reqwest::Method;

const THREAD: &str = "/v1/chatkit/threads/cthr_fx_en_truck_seats";

#[tokio::test]
async fn a_429_fault_answers_the_fixture_with_retry_after_once() {
    let fake = start().await;
    fake.push_fault(Fault::Status {
        path_prefix: "/v1/chatkit/threads".into(),
        status: 429,
        retry_after_secs: Some(7),
    });
    let resp = chatkit(&fake, Method::GET, THREAD)
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body, fixture("openai/error_429.json"));

    // Consumed: the next request is answered normally.
    let (status, _) = send(chatkit(&fake, Method::GET, THREAD)).await;
    assert_eq!(status, 200);
    assert_eq!(fake.count("GET", THREAD), 2);
}

#[tokio::test]
async fn a_500_fault_answers_the_500_fixture_and_other_codes_a_generic_error() {
    let fake = start().await;
    fake.push_fault(Fault::Status {
        path_prefix: "/v1/".into(),
        status: 500,
        retry_after_secs: None,
    });
    fake.push_fault(Fault::Status {
        path_prefix: "/v1/".into(),
        status: 503,
        retry_after_secs: None,
    });
    let (status, body) = send(chatkit(&fake, Method::GET, THREAD)).await;
    assert_eq!(status, 500);
    assert_eq!(body, fixture("openai/error_500.json"));
    let (status, body) = send(chatkit(&fake, Method::GET, THREAD)).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"]["type"], "server_error");
}

#[tokio::test]
async fn a_fault_waits_for_a_request_matching_its_prefix() {
    let fake = start().await;
    fake.push_fault(Fault::Status {
        path_prefix: "/v1/chatkit/sessions".into(),
        status: 500,
        retry_after_secs: None,
    });
    let (status, _) = send(chatkit(&fake, Method::GET, THREAD)).await;
    assert_eq!(status, 200);
    let (status, _) = send(
        chatkit(&fake, Method::POST, "/v1/chatkit/sessions")
            .json(&serde_json::json!({"user": "u", "workflow": {"id": "wf_1"}})),
    )
    .await;
    assert_eq!(status, 500);
}

#[tokio::test]
async fn a_slow_fault_delays_then_answers_normally() {
    let fake = start().await;
    let delay = Duration::from_millis(300);
    fake.push_fault(Fault::Slow {
        path_prefix: THREAD.into(),
        delay,
    });
    let started = Instant::now();
    let (status, _) = send(chatkit(&fake, Method::GET, THREAD)).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= delay);

    // A client with a shorter timeout gives up.
    fake.push_fault(Fault::Slow {
        path_prefix: THREAD.into(),
        delay: Duration::from_secs(5),
    });
    let err = chatkit(&fake, Method::GET, THREAD)
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .expect_err("timeout");
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn a_truncated_body_fault_fails_the_body_read() {
    let fake = start().await;
    fake.push_fault(Fault::TruncatedBody {
        path_prefix: "/v1/chatkit/threads/".into(),
    });
    let resp = chatkit(&fake, Method::GET, THREAD)
        .send()
        .await
        .expect("headers arrive");
    assert_eq!(resp.status().as_u16(), 200);
    let promised = resp.content_length().expect("content-length");
    let full = serde_json::to_vec(&fixture("chatkit/cthr_fx_en_truck_seats/thread.json"))
        .expect("json")
        .len();
    assert_eq!(promised, full as u64);
    let err = resp.bytes().await.expect_err("body is cut short");
    assert!(err.is_body() || err.is_decode(), "{err:?}");

    let (status, _) = send(chatkit(&fake, Method::GET, THREAD)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_reset_fault_fails_the_request_without_an_answer() {
    let fake = start().await;
    fake.push_fault(Fault::ResetConnection {
        path_prefix: THREAD.into(),
    });
    let err = chatkit(&fake, Method::GET, THREAD)
        .send()
        .await
        .expect_err("connection reset");
    assert!(!err.is_timeout(), "{err:?}");
    assert!(err.status().is_none());
    // The request was received and recorded before the reset.
    assert_eq!(fake.count("GET", THREAD), 1);

    let (status, _) = send(chatkit(&fake, Method::GET, THREAD)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_fault_applies_before_authentication() {
    let fake = start().await;
    fake.push_fault(Fault::Status {
        path_prefix: "/v1/responses".into(),
        status: 429,
        retry_after_secs: None,
    });
    let (status, _) = send(
        client()
            .post(format!("{}/responses", fake.base_url()))
            .json(&serde_json::json!({})),
    )
    .await;
    assert_eq!(status, 429);
}
