//! Shared helpers for the fake's HTTP tests.
#![allow(dead_code)]

use std::path::PathBuf;

use chatkit_leads_openai_fake::{FakeConfig, FakeOpenAi};
use serde_json::Value;

/// The key the fake accepts in these tests.
pub const KEY: &str = "sk-test-fake-key";

/// The repository's `tests/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// A fixture file as JSON.
pub fn fixture(relative: &str) -> Value {
    let bytes = std::fs::read(fixtures_dir().join(relative)).expect("fixture file");
    serde_json::from_slice(&bytes).expect("fixture json")
}

pub async fn start() -> FakeOpenAi {
    FakeOpenAi::start(FakeConfig::new(fixtures_dir(), KEY))
        .await
        .expect("fake starts")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("client")
}

/// A request with the valid key.
pub fn authed(fake: &FakeOpenAi, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    client()
        .request(method, format!("http://{}{path}", fake.addr()))
        .bearer_auth(KEY)
}

/// A ChatKit request: valid key and the beta header.
pub fn chatkit(fake: &FakeOpenAi, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    authed(fake, method, path).header("OpenAI-Beta", "chatkit_beta=v1")
}

/// Sends, returning the status and the JSON body.
pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.expect("answer");
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.expect("json body");
    (status, body)
}

/// The `ids` of a list page's `data`.
pub fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data array")
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_owned())
        .collect()
}
