//! A visitor the store could not take while it was down is remembered for
//! the sweeper once it is back: a lost note would hide their chats from it.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use chatkit_leads_core::LeadStore;
use chatkit_leads_core::testkit::StoreOp;

use crate::Harness;

/// The users the sweeper would list, whatever their quiet period.
async fn remembered(h: &Harness) -> Vec<String> {
    h.store
        .users_to_list(0, i64::MAX, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|seen| seen.user.as_str().to_owned())
        .collect()
}

/// Waits (real time: the retries sleep) until `user` is remembered.
async fn wait_until_remembered(h: &Harness, user: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !remembered(h).await.iter().any(|u| u == user) {
        assert!(
            Instant::now() < deadline,
            "{user} was not remembered once the store was back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_session_minted_while_the_store_is_down_is_remembered_when_it_is_back() {
    let h = Harness::new();
    h.store.fail_on(Some(StoreOp::Put));
    let answer = h.post("/session", r#"{"user":"anon_during_outage"}"#).await;
    assert_eq!(answer.status, StatusCode::OK, "the chat still starts");
    assert!(remembered(&h).await.is_empty());
    h.store.fail_on(None);
    wait_until_remembered(&h, "anon_during_outage").await;
}

#[tokio::test]
async fn a_store_blip_during_a_session_is_ridden_out_before_the_answer() {
    let h = Harness::new();
    h.store.fail_on(Some(StoreOp::Put));
    let store = std::sync::Arc::clone(&h.store);
    let back = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(600)).await;
        store.fail_on(None);
    });
    let answer = h.post("/session", r#"{"user":"anon_during_blip"}"#).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        remembered(&h).await.iter().any(|u| u == "anon_during_blip"),
        "stored before the page got its session: a crash now loses nothing"
    );
    back.await.expect("task");
}

#[tokio::test]
async fn a_trigger_that_failed_on_the_store_has_its_user_remembered() {
    let h = Harness::new();
    h.store.fail_on(Some(StoreOp::Load));
    let body = serde_json::json!({
        "threadId": "cthr_fx_en_truck_seats",
        "reason": "idle",
        "user": "anon_trigger_in_outage",
    });
    let answer = h.post("/lead", body.to_string()).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    h.store.fail_on(None);
    wait_until_remembered(&h, "anon_trigger_in_outage").await;
}
