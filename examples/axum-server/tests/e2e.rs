//! The server binary end to end, as a process, over real HTTP: the local
//! OpenAI fake (in this test process), a real SMTP server, a SQLite file.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chatkit_leads_openai_fake::{FakeOpenAi, Fault};
use chatkit_leads_test_support::{ServerProcess, SmtpSink, repo_root};
use common::{KEY, Live, ORIGIN, binary, sqlite_record};
use serde_json::{Value, json};

struct Deployment {
    fake: FakeOpenAi,
    smtp: SmtpSink,
    server: ServerProcess,
    db: PathBuf,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Deployment {
    async fn start() -> Self {
        Self::with(&[]).await
    }

    /// With these settings on top of the live ones.
    async fn with(settings: &[(&str, &str)]) -> Self {
        let live = Live::start().await;
        let mut env = live.env.clone();
        env.extend(
            settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let server = ServerProcess::start(&binary(), &env).await;
        let db = live.db();
        let Live {
            fake, smtp, dir, ..
        } = live;
        Self {
            fake,
            smtp,
            server,
            db,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.server.url()))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn lead(&self, thread: &str) -> (u16, Value) {
        self.post(
            "/lead",
            json!({"threadId": thread, "reason": "chat_closed"}).to_string(),
        )
        .await
    }

    async fn record_exists(&self, thread: &str) -> bool {
        sqlite_record(&self.db, thread).await.is_some()
    }

    fn chatkit_calls(&self) -> usize {
        self.fake.count("GET", "/v1/chatkit/threads") + self.fake.count("POST", "/v1/responses")
    }
}

/// POSTs over a plain socket and returns the answer's status. The server
/// answers 413 and closes while a large body is still being written, which
/// an HTTP client reports as a broken pipe; the answer already received is
/// still in the socket, so read it regardless of how the write ended.
fn post_raw(port: u16, path: &str, body: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = socket
        .write_all(head.as_bytes())
        .and_then(|()| socket.write_all(body));
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    let status_line = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer, got {status_line:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_returns_the_fakes_secret_and_sends_the_state_variables() {
    let d = Deployment::start().await;
    let response = d
        .http
        .post(format!("{}/session", d.server.url()))
        .body(
            json!({"locale": "es", "pageUrl": "https://shop.example/es/", "user": "anon_forged"})
                .to_string(),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "signed user cookie issued, same-site by default: {cookie}"
    );
    let body: Value = response.json().await.expect("json");
    assert!(
        body["client_secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("ek_fake_")),
        "{body}"
    );
    assert!(body["expires_at"].is_number());
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(2),
        "only client_secret and expires_at"
    );

    let requests = d.fake.requests();
    let sent = requests
        .iter()
        .find(|r| r.path == "/v1/chatkit/sessions")
        .and_then(|r| r.body.clone())
        .expect("session request reached OpenAI");
    assert_eq!(sent["workflow"]["id"], "wf_e2e_workflow");
    assert_ne!(
        sent["user"], "anon_forged",
        "the cookie user, not the body's"
    );
    let vars = sent["workflow"]["state_variables"]
        .as_object()
        .expect("state variables");
    let mut keys: Vec<&str> = vars.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "locale",
            "page_url",
            "shop_is_open_now",
            "shop_local_time_24h",
            "shop_local_weekday",
            "shop_next_open_day",
            "shop_next_open_time",
            "shop_timezone"
        ]
    );
    assert_eq!(vars["locale"], "es");
    assert_eq!(vars["shop_timezone"], "America/Los_Angeles");
    assert!(vars["shop_is_open_now"].is_boolean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_thread_gets_its_spec_reason_and_sent_ones_one_email() {
    let d = Deployment::start().await;
    let expected: Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("tests/fixtures/chatkit/expected.json"))
            .expect("expected.json"),
    )
    .expect("json");
    let mut sent = 0;
    for (thread, want) in expected.as_object().expect("object") {
        let (status, body) = d.lead(thread).await;
        assert_eq!(status, 200, "{thread}: {body}");
        let want_reason = match want["outcome"].as_str() {
            Some("sent") => {
                sent += 1;
                "chat_closed"
            }
            Some(other) => other,
            None => panic!("{thread}: outcome missing"),
        };
        assert_eq!(body["reason"], want_reason, "{thread}");
        assert_eq!(body["sent"], want_reason == "chat_closed", "{thread}");
        let (_, again) = d.lead(thread).await;
        if want_reason == "chat_closed" {
            assert_eq!(again["reason"], "already_sent", "{thread}: repeat");
        }
    }
    let mails = d.smtp.messages();
    assert_eq!(mails.len(), sent, "one email per sent thread");
    assert!(mails.iter().all(|m| m.rcpt_tos == ["shop@example.com"]));
    let parser = mail_parser::MessageParser::default();
    let truck = mails
        .iter()
        .filter_map(|m| parser.parse(m.raw.as_bytes()))
        .find(|m| {
            m.body_text(0)
                .is_some_and(|t| t.contains("cthr_fx_en_truck_seats"))
        })
        .expect("the truck thread's email");
    assert_eq!(
        truck.subject(),
        Some(
            "New chat lead: 2016 Ford F-150 - Reupholster both front bucket seats (cracked leather)"
        ),
        "the model's vehicle and project make the subject"
    );
    assert_eq!(
        (truck.text_body_count(), truck.html_body_count()),
        (1, 1),
        "both parts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_leads_on_one_thread_send_exactly_one_email() {
    // One test client sends all 200: its address's rate limit would answer
    // most of them 429 (tests/limits.rs), and this is about duplicates.
    let d = Deployment::with(&[("LEADS_RATE_PER_ADDRESS", "0")]).await;
    let calls = (0..200).map(|_| d.lead("cthr_fx_en_truck_seats"));
    let results = futures::future::join_all(calls).await;
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for (status, body) in &results {
        assert_eq!(*status, 200, "{body}");
        *reasons
            .entry(body["reason"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
    }
    assert_eq!(
        reasons.get("chat_closed"),
        Some(&1),
        "exactly one call sent: {reasons:?}"
    );
    assert_eq!(
        reasons
            .keys()
            .filter(|r| !["chat_closed", "in_progress", "already_sent"].contains(&r.as_str()))
            .count(),
        0,
        "{reasons:?}"
    );
    assert_eq!(d.smtp.messages().len(), 1, "exactly one email");
    assert_eq!(
        d.fake.count("POST", "/v1/responses"),
        1,
        "exactly one summary"
    );
    assert_eq!(
        d.fake.count("GET", "/v1/chatkit/threads"),
        2,
        "one thread read and one page of items, shared by the simultaneous triggers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_the_right_status_and_leaves_no_record() {
    let d = Deployment::start().await;
    let (status, body) = d.post("/lead", "{not json").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].is_string());

    let (status, _) = d
        .post("/lead", json!({"threadId": "cthr_../../etc"}).to_string())
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        d.chatkit_calls(),
        0,
        "bad ids are refused before any upstream call"
    );

    let big = format!(
        "{{\"threadId\":\"cthr_fx_en_truck_seats\",\"pad\":\"{}\"}}",
        "x".repeat(1 << 20)
    );
    let status = post_raw(d.server.port(), "/lead", big.as_bytes());
    assert_eq!(status, 413);
    assert_eq!(
        d.smtp.messages().len(),
        0,
        "the oversized body was not processed"
    );

    let (status, body) = d.lead("cthr_missing").await;
    assert_eq!(status, 404, "{body}");

    let preflight = d
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/lead", d.server.url()))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "no CORS grant"
    );
    let allowed = d
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/lead", d.server.url()))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("preflight");
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.as_bytes()),
        Some(ORIGIN.as_bytes())
    );

    let wrong = d
        .http
        .get(format!("{}/lead", d.server.url()))
        .send()
        .await
        .expect("get");
    assert_eq!(wrong.status(), 405);

    for thread in ["cthr_fx_en_truck_seats", "cthr_missing"] {
        assert!(
            !d.record_exists(thread).await,
            "{thread}: no record left behind"
        );
    }
    assert_eq!(d.smtp.messages().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_lead_finish_then_exits_cleanly() {
    let mut d = Deployment::start().await;
    d.fake.push_fault(Fault::Slow {
        path_prefix: "/v1/responses".into(),
        delay: std::time::Duration::from_millis(1500),
    });
    let lead = d.lead("cthr_fx_es_boat_email");
    let shutdown = async {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        d.server.request_shutdown();
    };
    let ((status, body), ()) = futures::join!(lead, shutdown);
    assert_eq!(
        (status, body["reason"].as_str()),
        (200, Some("chat_closed")),
        "{body}"
    );
    assert_eq!(
        d.smtp.messages().len(),
        1,
        "the in-flight lead was delivered"
    );
    let exit = d.server.terminate().expect("exit status");
    assert!(exit.success(), "graceful exit: {exit}");
    assert!(
        reqwest::get(format!("{}/healthz", d.server.url()))
            .await
            .is_err(),
        "no longer listening"
    );
}

#[test]
fn missing_live_settings_fail_at_start_naming_the_variable() {
    let output = std::process::Command::new(binary())
        .env_clear()
        .env("OPENAI_API_KEY", KEY)
        .env("CHATKIT_WORKFLOW_ID", "wf_x")
        .env("BIND", "127.0.0.1:0")
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("LEAD_FROM_EMAIL"), "{stderr}");
    assert!(!stderr.contains(KEY), "the key is never printed");

    let output = std::process::Command::new(binary())
        .env_clear()
        .env("OPENAI_API_KEY", KEY)
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&output.stderr).contains("CHATKIT_WORKFLOW_ID"));

    let output = std::process::Command::new(binary())
        .env_clear()
        .env("LEADS_COOKIE_SAMESITE", "sometimes")
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("SAMESITE") || stderr.contains("samesite"),
        "{stderr}"
    );
    assert!(stderr.contains("lax, strict or none"), "{stderr}");
}

#[test]
fn help_lists_every_setting() {
    let output = std::process::Command::new(binary())
        .arg("--help")
        .output()
        .expect("run");
    let help = String::from_utf8_lossy(&output.stdout);
    for name in [
        "OPENAI_API_KEY",
        "CHATKIT_WORKFLOW_ID",
        "LEAD_TO_EMAIL",
        "LEAD_FROM_EMAIL",
        "LEAD_SUMMARY_MODEL",
        "OPENAI_BASE_URL",
        "BIND",
        "ALLOWED_ORIGINS",
        "LEADS_STORE",
        "LEADS_MAILER",
        "LEADS_SHOP_CONFIG",
        "LEADS_COOKIE_KEY",
        "LEADS_COOKIE_SAMESITE",
        "LEADS_QUIET_PERIOD_SECONDS",
        "LEADS_SWEEP_INTERVAL_SECONDS",
        "LEADS_SWEEP_QUIET_SECONDS",
        "LEADS_SWEEP_RECHECK_SECONDS",
        "LEADS_SWEEP_HORIZON_HOURS",
        "LOG_FORMAT",
        "LEADS_ADMIN_BIND",
        "LEADS_HEADER_TIMEOUT_SECONDS",
        "LEADS_MAX_IN_FLIGHT",
        "LEADS_UPDATE_CHECK_SECONDS",
        "LEADS_PHOTOS_MAX",
        "LEADS_PHOTO_MAX_BYTES",
        "LEADS_PHOTO_TOTAL_BYTES",
        "LEADS_PHOTO_TIMEOUT_SECONDS",
        "LEADS_PHOTO_HOSTS",
        "LEADS_PHOTO_ALLOW_NETWORKS",
        "LEADS_PHOTO_PIN",
        "LEADS_PHOTO_REQUIRE_HTTPS",
    ] {
        assert!(help.contains(name), "--help must list {name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_preview_writes_a_lead_email_to_the_outbox() {
    let dir = tempfile::tempdir().expect("temp dir");
    let outbox = dir.path().join("outbox");
    let env: BTreeMap<String, String> = [
        (
            "LEADS_STORE".to_owned(),
            format!("sqlite://{}", dir.path().join("preview.db").display()),
        ),
        (
            "LEADS_MAILER".to_owned(),
            format!("outbox:{}", outbox.display()),
        ),
    ]
    .into_iter()
    .collect();
    let server = ServerProcess::start(&binary(), &env).await;
    let http = reqwest::Client::new();
    let session = http
        .post(format!("{}/session", server.url()))
        .body("{}")
        .send()
        .await
        .expect("session");
    assert_eq!(session.status(), 503);
    let body: Value = http
        .post(format!("{}/lead", server.url()))
        .body(json!({"threadId": "cthr_fx_en_truck_seats", "reason": "manual"}).to_string())
        .send()
        .await
        .expect("lead")
        .json()
        .await
        .expect("json");
    assert_eq!(body["reason"], "manual", "{body}");
    let files: Vec<String> = std::fs::read_dir(&outbox)
        .expect("outbox exists")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert_eq!(
        files.iter().filter(|f| f.ends_with(".eml")).count(),
        1,
        "{files:?}"
    );
    assert_eq!(
        files.iter().filter(|f| f.ends_with(".html")).count(),
        1,
        "{files:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_on_the_admin_listener_and_the_public_one_has_none() {
    let live = Live::start().await;
    let admin = format!("127.0.0.1:{}", chatkit_leads_test_support::free_port());
    let server = ServerProcess::start(&binary(), &live.with("LEADS_ADMIN_BIND", &admin)).await;
    let http = reqwest::Client::new();
    let metrics = || async {
        http.get(format!("http://{admin}/metrics"))
            .send()
            .await
            .expect("admin answers")
            .text()
            .await
            .expect("text")
    };

    for _ in 0..2 {
        let status = http
            .post(format!("{}/lead", server.url()))
            .body(json!({"threadId": "cthr_fx_en_truck_seats", "reason": "idle"}).to_string())
            .send()
            .await
            .expect("lead")
            .status();
        assert_eq!(status, 200);
    }
    let status = http
        .post(format!("{}/lead", server.url()))
        .body(json!({"threadId": "cthr_fx_no_contact", "reason": "idle"}).to_string())
        .send()
        .await
        .expect("lead")
        .status();
    assert_eq!(status, 200);

    let text = metrics().await;
    let value = |series: &str| -> Option<f64> {
        text.lines()
            .find(|line| line.starts_with(series))
            .and_then(|line| line.rsplit(' ').next()?.parse().ok())
    };
    assert_eq!(
        value(r#"chatkit_leads_leads_total{outcome="sent",trigger="idle"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(r#"chatkit_leads_leads_total{outcome="already_sent",trigger="idle"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(r#"chatkit_leads_leads_total{outcome="missing_contact",trigger="idle"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(r#"chatkit_leads_mail_sends_total{result="ok"}"#),
        Some(1.0)
    );
    assert_eq!(
        value(r#"chatkit_leads_model_calls_total{result="ok"}"#),
        Some(1.0)
    );
    assert!(
        value(r#"chatkit_leads_chatkit_requests_total{op="retrieve_thread",result="ok"}"#)
            .is_some_and(|n| n >= 2.0),
        "{text}"
    );
    assert!(
        text.contains("chatkit_leads_lead_duration_seconds_bucket"),
        "{text}"
    );
    assert!(!text.contains("cthr_"), "no thread ids in labels");

    let public = http
        .get(format!("{}/metrics", server.url()))
        .send()
        .await
        .expect("public answers");
    assert_eq!(
        public.status(),
        404,
        "the public listener serves no metrics"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_failed_send_does_not_run_the_model_again() {
    let live = Live::start().await;
    let (fake, smtp) = (&live.fake, &live.smtp);
    let env = live.with("LEADS_ERROR_COOLDOWN_SECONDS", "1");
    let lead = json!({"threadId": "cthr_fx_en_truck_seats", "reason": "idle"}).to_string();
    let http = reqwest::Client::new();

    // The mail server is down: the attempt fails after the summary.
    let mut down = env.clone();
    let closed = format!(
        "smtp://127.0.0.1:{}",
        chatkit_leads_test_support::free_port()
    );
    down.insert("LEADS_MAILER".to_owned(), closed);
    let mut first = ServerProcess::start(&binary(), &down).await;
    let response = http
        .post(format!("{}/lead", first.url()))
        .body(lead.clone())
        .send()
        .await
        .expect("lead");
    assert_eq!(response.status(), 502);
    assert_eq!(fake.count("POST", "/v1/responses"), 1);
    first.terminate();

    // Back up: the retry sends, with the summary the model already gave.
    let second = ServerProcess::start(&binary(), &env).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let body: Value = http
        .post(format!("{}/lead", second.url()))
        .body(lead)
        .send()
        .await
        .expect("lead")
        .json()
        .await
        .expect("json");
    assert_eq!(body["sent"], true, "{body}");
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(
        fake.count("POST", "/v1/responses"),
        1,
        "one model call for one transcript"
    );
}
