//! `POST /session`: the answer's shape, the ChatKit call, configuration.

use axum::http::StatusCode;
use chatkit_leads_core::chatkit::StateValue;
use chatkit_leads_core::ports::ChatKitError;
use chatkit_leads_core::testkit::ChatKitCall;

use crate::Harness;

fn created_sessions(h: &Harness) -> Vec<chatkit_leads_core::chatkit::CreateSession> {
    h.chatkit
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            ChatKitCall::CreateSession(body) => Some(*body),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn session_answers_only_client_secret_and_expires_at() {
    let h = Harness::new();
    let answer = h
        .post(
            "/session",
            r#"{"locale":"es","pageUrl":"https://craigs.autos/es/","user":"anon_abc","current":{"x":1}}"#,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let object = answer.json.as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["client_secret", "expires_at"]);
    assert!(
        answer.json["client_secret"]
            .as_str()
            .unwrap()
            .starts_with("ek_test_secret_")
    );
    assert_eq!(answer.json["expires_at"], 1_767_305_400);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn session_sends_the_workflow_user_and_state_variables() {
    let h = Harness::new();
    let answer = h
        .post(
            "/session",
            r#"{"locale":"es","pageUrl":"https://craigs.autos/es/","user":"anon_abc"}"#,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let sessions = created_sessions(&h);
    assert_eq!(sessions.len(), 1);
    let body = &sessions[0];
    assert_eq!(body.user.as_str(), "anon_abc");
    assert_eq!(body.workflow.id, "wf_test_workflow");
    let vars = &body.workflow.state_variables;
    let text = |s: &str| StateValue::String(s.to_owned());
    assert_eq!(vars["locale"], text("es"));
    assert_eq!(vars["page_url"], text("https://craigs.autos/es/"));
    assert_eq!(vars["shop_timezone"], text("America/Los_Angeles"));
    assert_eq!(vars["shop_local_weekday"], text("Friday"));
    assert_eq!(vars["shop_local_time_24h"], text("16:26"));
    assert_eq!(vars["shop_is_open_now"], StateValue::Bool(true));
    assert!(vars.contains_key("shop_next_open_day"));
    assert!(vars.contains_key("shop_next_open_time"));
}

#[tokio::test]
async fn an_empty_session_body_gets_a_fresh_anonymous_user() {
    let h = Harness::new();
    let answer = h.post("/session", "").await;
    assert_eq!(answer.status, StatusCode::OK);
    let sessions = created_sessions(&h);
    assert!(sessions[0].user.as_str().starts_with("anon_"));
    assert_eq!(
        sessions[0].workflow.state_variables["locale"],
        StateValue::String("en".into())
    );
}

#[tokio::test]
async fn session_invalid_json_is_400_without_a_chatkit_call() {
    let h = Harness::new();
    let answer = h.post("/session", "{nope").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.json["error"].is_string());
    assert!(h.chatkit.calls().is_empty());
}

#[tokio::test]
async fn session_without_configuration_is_503_naming_the_variables() {
    let h = Harness::with(|b| b);
    let answer = h.post("/session", "{}").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    let error = answer.json["error"].as_str().unwrap();
    assert!(error.contains("OPENAI_API_KEY") && error.contains("CHATKIT_WORKFLOW_ID"));
    assert!(h.chatkit.calls().is_empty());
}

#[tokio::test]
async fn upstream_failure_is_502_with_a_generic_message() {
    let h = Harness::new();
    h.chatkit.fail_with(Some(ChatKitError::Transport(
        "upstream said sk-live-secret".into(),
    )));
    let answer = h.post("/session", "{}").await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    let error = answer.json["error"].as_str().unwrap();
    assert_eq!(error, "could not create a ChatKit session");
    assert!(answer.header("set-cookie").is_none());
}
