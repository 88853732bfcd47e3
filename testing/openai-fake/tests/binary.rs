//! The `chatkit-leads-openai-fake` binary and its `/__fake/` admin endpoints.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{KEY, client, fixture, fixtures_dir};
use serde_json::{Value, json};

/// The running binary; killed (by its own handle) if a test fails early.
struct FakeProcess {
    child: Child,
    base_url: String,
}

impl FakeProcess {
    fn spawn(extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chatkit-leads-openai-fake"))
            .arg("--fixtures")
            .arg(fixtures_dir())
            .args(["--api-key", KEY, "--bind", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("listening line within 30 s");
        let base_url = line
            .strip_prefix("listening on ")
            .and_then(|rest| rest.strip_suffix('\n'))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, base_url }
    }

    fn root(&self) -> String {
        self.base_url.trim_end_matches("/v1").to_owned()
    }
}

impl Drop for FakeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_binary_prints_its_listening_line_and_serves_fixtures() {
    let fake = FakeProcess::spawn(&[]);
    let url = url::Url::parse(&fake.base_url).expect("url");
    assert_eq!(url.scheme(), "http");
    assert_eq!(url.host_str(), Some("127.0.0.1"));
    assert_ne!(url.port(), Some(0));
    assert_eq!(url.path(), "/v1");

    let resp = client()
        .get(format!("{}/chatkit/threads/cthr_fx_empty", fake.base_url))
        .bearer_auth(KEY)
        .header("OpenAI-Beta", "chatkit_beta=v1")
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body, fixture("chatkit/cthr_fx_empty/thread.json"));
}

#[tokio::test]
async fn admin_endpoints_queue_faults_pick_the_summary_and_list_requests() {
    let fake = FakeProcess::spawn(&[]);
    let http = client();

    let resp = http
        .post(format!("{}/__fake/faults", fake.root()))
        .json(&json!({"kind": "status", "path_prefix": "/v1/chatkit/threads", "status": 429, "retry_after_secs": 2}))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status().as_u16(), 204);
    let resp = http
        .get(format!("{}/chatkit/threads/cthr_fx_empty", fake.base_url))
        .bearer_auth(KEY)
        .header("OpenAI-Beta", "chatkit_beta=v1")
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("2")
    );

    let resp = http
        .post(format!("{}/__fake/summary-fixture", fake.root()))
        .json(&json!({"file": "summary_incomplete.json"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status().as_u16(), 204);
    let request = json!({
        "model": "m", "input": "x",
        "text": {"format": {"type": "json_schema", "name": "s", "strict": true,
            "schema": {"type": "object", "additionalProperties": false, "properties": {"a": {"type": "string"}}, "required": ["a"]}}}
    });
    let body: Value = http
        .post(format!("{}/responses", fake.base_url))
        .bearer_auth(KEY)
        .json(&request)
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(body, fixture("openai/summary_incomplete.json"));

    let recorded: Value = http
        .get(format!("{}/__fake/requests", fake.root()))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    let recorded = recorded.as_array().expect("array");
    assert_eq!(recorded.len(), 2, "admin calls are not recorded");
    assert_eq!(recorded[0]["path"], "/v1/chatkit/threads/cthr_fx_empty");
    assert_eq!(recorded[0]["headers"]["authorization"], "Bearer [valid]");
    assert_eq!(recorded[1]["method"], "POST");
    assert_eq!(recorded[1]["body"], request);
    assert!(!Value::Array(recorded.clone()).to_string().contains(KEY));
}

#[tokio::test]
async fn admin_endpoints_refuse_what_they_cannot_use() {
    let fake = FakeProcess::spawn(&[]);
    let http = client();
    for (path, body) in [
        ("faults", json!({"kind": "explode", "path_prefix": "/"})),
        ("summary-fixture", json!({"file": "nope.json"})),
        ("summary-fixture", json!({"name": "summary_ok.json"})),
    ] {
        let resp = http
            .post(format!("{}/__fake/{path}", fake.root()))
            .json(&body)
            .send()
            .await
            .expect("answer");
        assert_eq!(resp.status().as_u16(), 400, "{path} {body}");
    }
    for body in [
        json!({"fixture": "cthr_nope", "user": "u", "newest_at": 1}),
        json!({"fixture": "cthr_fx_empty", "user": "u"}),
    ] {
        let resp = http
            .put(format!("{}/__fake/threads/cthr_added", fake.root()))
            .json(&body)
            .send()
            .await
            .expect("answer");
        assert_eq!(resp.status().as_u16(), 400, "{body}");
    }
}

#[tokio::test]
async fn a_thread_added_over_http_is_served() {
    let fake = FakeProcess::spawn(&[]);
    let http = client();
    let resp = http
        .put(format!("{}/__fake/threads/cthr_added", fake.root()))
        .json(
            &json!({"fixture": "cthr_fx_no_contact", "user": "anon_9", "newest_at": 1_900_000_000}),
        )
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status().as_u16(), 204);
    let listed: Value = http
        .get(format!("{}/chatkit/threads?user=anon_9", fake.base_url))
        .bearer_auth(KEY)
        .header("OpenAI-Beta", "chatkit_beta=v1")
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(listed["data"][0]["id"], "cthr_added");
    assert_eq!(listed["data"][0]["user"], "anon_9");
}

#[tokio::test]
async fn the_summary_fixture_flag_selects_the_answer() {
    let fake = FakeProcess::spawn(&["--summary-fixture", "summary_malformed.json"]);
    let request = json!({
        "model": "m", "input": "x",
        "text": {"format": {"type": "json_schema", "name": "s", "strict": true,
            "schema": {"type": "object", "additionalProperties": false, "properties": {}}}}
    });
    let body: Value = client()
        .post(format!("{}/responses", fake.base_url))
        .bearer_auth(KEY)
        .json(&request)
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(body, fixture("openai/summary_malformed.json"));
}

#[test]
fn a_missing_fixtures_dir_fails_at_start_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_chatkit-leads-openai-fake"))
        .args(["--fixtures", "/nonexistent/fixtures", "--api-key", KEY])
        .output()
        .expect("binary runs");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/fixtures"));
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_binary_cleanly() {
    let mut fake = FakeProcess::spawn(&[]);
    let status = Command::new("kill")
        .args(["-TERM", &fake.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = fake.child.try_wait().expect("wait") {
            break exit;
        }
        assert!(std::time::Instant::now() < deadline, "still running");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "{exit:?}");
}
