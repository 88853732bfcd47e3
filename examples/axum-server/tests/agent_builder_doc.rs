//! docs/agent-builder.md describes every state variable the server sends:
//! a session is minted through the server binary against the local OpenAI
//! fake, and each key of the `state_variables` it sent must have a row in
//! the guide's table.

mod common;

use chatkit_leads_test_support::{ServerProcess, repo_root};
use common::{Live, binary};
use serde_json::json;

/// Mints a session with `body` through `server`: the body the server sent
/// to ChatKit.
async fn minted(live: &Live, server: &ServerProcess, body: &str) -> serde_json::Value {
    let answer = reqwest::Client::new()
        .post(format!("{}/session", server.url()))
        .body(body.to_owned())
        .send()
        .await
        .expect("session");
    assert_eq!(answer.status(), 200);
    live.fake
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "POST" && r.path == "/v1/chatkit/sessions")
        .and_then(|r| r.body)
        .expect("the session request")
}

#[tokio::test]
async fn every_state_variable_the_server_sends_is_described_for_the_agent() {
    let live = Live::start().await;
    let server = ServerProcess::start(&binary(), &live.env).await;
    let body = json!({"locale": "es", "pageUrl": "https://shop.example/es/"});
    let sent = minted(&live, &server, &body.to_string()).await;
    let variables = sent["workflow"]["state_variables"]
        .as_object()
        .expect("state variables")
        .clone();
    assert!(variables.len() >= 8, "{variables:?}");
    let guide = std::fs::read_to_string(repo_root().join("docs/agent-builder.md")).expect("guide");
    let undocumented: Vec<&String> = variables
        .keys()
        .filter(|name| !guide.contains(&format!("| `{name}` |")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "docs/agent-builder.md lacks a row for {undocumented:?}"
    );
    assert_eq!(
        variables["locale"], "es",
        "the page's locale reaches the agent"
    );
}

#[tokio::test]
async fn sessions_let_customers_attach_photos_unless_the_operator_turns_it_off() {
    let live = Live::start().await;
    for (setting, uploads) in [(None, true), (Some("false"), false)] {
        let env = match setting {
            Some(value) => live.with("LEADS_FILE_UPLOAD", value),
            None => live.env.clone(),
        };
        let server = ServerProcess::start(&binary(), &env).await;
        let sent = minted(&live, &server, "{}").await;
        let upload = &sent["chatkit_configuration"]["file_upload"];
        assert_eq!(upload["enabled"], uploads, "{sent}");
        assert_eq!(upload["max_files"], 10);
        assert_eq!(sent["chatkit_configuration"]["history"]["enabled"], true);
    }
}
