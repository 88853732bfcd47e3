//! `POST /lead`: validation at the edge, the reason table, error statuses.

use axum::http::StatusCode;
use chatkit_leads_core::LeadStatus;
use chatkit_leads_core::ThreadId;
use chatkit_leads_core::ports::ChatKitError;
use chatkit_leads_core::testkit::StoreOp;

use crate::{Harness, lead_body};

#[tokio::test]
async fn invalid_json_is_400_with_no_record_and_no_chatkit_call() {
    let h = Harness::new();
    let answer = h.post("/lead", r#"{"threadId": "cthr_fx_empty", "#).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.json["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON body")
    );
    assert!(h.store.is_empty());
    assert!(h.chatkit.calls().is_empty());
}

#[tokio::test]
async fn bad_thread_id_is_400_before_any_chatkit_call() {
    let h = Harness::new();
    for body in [
        lead_body("thr_nope", "idle"),
        lead_body("cthr_../etc/passwd", "idle"),
        r#"{"reason":"idle"}"#.to_owned(),
        r#"{"threadId": 42}"#.to_owned(),
    ] {
        let answer = h.post("/lead", body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(answer.json["error"].is_string(), "{body}");
    }
    assert!(h.chatkit.calls().is_empty());
    assert!(h.store.is_empty());
}

#[tokio::test]
async fn error_messages_do_not_echo_the_body() {
    let h = Harness::new();
    let answer = h
        .post("/lead", r#"{"threadId": "cthr_a", "x": secret-value}"#)
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(!answer.json.to_string().contains("secret"));
}

#[tokio::test]
async fn a_one_mebibyte_body_is_413_with_json() {
    let h = Harness::new();
    let body = format!(
        r#"{{"threadId":"cthr_fx_empty","pad":"{}"}}"#,
        "x".repeat(1 << 20)
    );
    let answer = h.post("/lead", body).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(answer.json["error"].is_string());
    assert!(h.chatkit.calls().is_empty());
}

#[tokio::test]
async fn the_body_limit_is_configurable() {
    let h = Harness::with(|b| b.body_limit(64));
    let small = h.post("/lead", lead_body("cthr_fx_empty", "idle")).await;
    assert_eq!(small.status, StatusCode::OK);
    let padded = format!(
        r#"{{"threadId":"cthr_fx_empty","pad":"{}"}}"#,
        "x".repeat(64)
    );
    let large = h.post("/lead", padded).await;
    assert_eq!(large.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn unknown_thread_is_404_with_json() {
    let h = Harness::new();
    let answer = h
        .post("/lead", lead_body("cthr_does_not_exist", "idle"))
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(answer.json["error"].as_str().unwrap().contains("not found"));
    assert!(h.store.is_empty());
}

#[tokio::test]
async fn truck_thread_is_sent_with_the_trigger_echoed_then_already_sent() {
    let h = Harness::new();
    let first = h
        .post("/lead", lead_body("cthr_fx_en_truck_seats", "pagehide"))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.json["ok"], true);
    assert_eq!(first.json["sent"], true);
    assert_eq!(first.json["reason"], "pagehide");
    assert!(first.json["message_id"].is_string());
    assert_eq!(h.mailer.sent_count(), 1);

    let calls_before = h.chatkit.calls().len();
    let again = h
        .post("/lead", lead_body("cthr_fx_en_truck_seats", "idle"))
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json["sent"], true);
    assert_eq!(again.json["reason"], "already_sent");
    assert!(again.json["sent_at"].is_number());
    assert_eq!(h.mailer.sent_count(), 1);
    assert_eq!(h.chatkit.calls().len(), calls_before, "nothing re-fetched");
    assert_eq!(h.summarizer.calls(), 1);
}

#[tokio::test]
async fn thread_without_contact_is_missing_contact() {
    let h = Harness::new();
    let answer = h
        .post("/lead", lead_body("cthr_fx_no_contact", "idle"))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        (answer.json["sent"].clone(), answer.json["reason"].clone()),
        (false.into(), "missing_contact".into())
    );
    assert_eq!(h.mailer.sent_count(), 0);
}

#[tokio::test]
async fn thread_without_customer_message_is_empty_thread() {
    let h = Harness::new();
    let answer = h
        .post("/lead", lead_body("cthr_fx_empty", "chat_closed"))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json["sent"], false);
    assert_eq!(answer.json["reason"], "empty_thread");
}

#[tokio::test]
async fn a_body_without_content_type_is_still_read_as_json() {
    // `navigator.sendBeacon` and some keepalive fetches send text/plain.
    let h = Harness::new();
    let request = axum::http::Request::post("/lead")
        .header("content-type", "text/plain;charset=UTF-8")
        .body(axum::body::Body::from(lead_body(
            "cthr_fx_empty",
            "pagehide",
        )))
        .unwrap();
    let answer = h.send(request).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json["reason"], "empty_thread");
}

#[tokio::test]
async fn chatkit_failure_is_502_and_leaves_no_blocking_record() {
    let h = Harness::new();
    h.chatkit
        .fail_with(Some(ChatKitError::Status { status: 500 }));
    let answer = h
        .post("/lead", lead_body("cthr_fx_en_truck_seats", "idle"))
        .await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    assert!(answer.json["error"].is_string());
    let record = h
        .store
        .record(&ThreadId::parse("cthr_fx_en_truck_seats").unwrap())
        .expect("the thread is left due for the sweeper");
    assert_eq!(
        record.status,
        LeadStatus::Pending,
        "no lease, nothing blocking"
    );
    h.chatkit.fail_with(None);
    let again = h
        .post("/lead", lead_body("cthr_fx_en_truck_seats", "idle"))
        .await;
    assert_eq!(again.json["sent"], true, "the next trigger sends");
}

#[tokio::test]
async fn store_failure_is_503_with_json() {
    let h = Harness::new();
    h.store.fail_on(Some(StoreOp::Load));
    let answer = h
        .post("/lead", lead_body("cthr_fx_en_truck_seats", "idle"))
        .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(answer.json["error"].is_string());
}
