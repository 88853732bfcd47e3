//! The operator's commands of the server binary, as an operator runs them:
//! on the server's settings, against the local OpenAI fake, a real SMTP
//! server and SQLite (PostgreSQL for one), judged by exit code and output.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use chatkit_leads_openai_fake::Fault;
use chatkit_leads_test_support::free_port;
use common::{Database, KEY, Live, binary, sqlite_record};
use serde_json::Value;

const TRUCK: &str = "cthr_fx_en_truck_seats";
/// The customer's phone number in the truck chat: a transcript detail no
/// command but `preview` may print.
const TRUCK_PHONE: &str = "555-0142";

/// What a command printed and how it ended.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

async fn run(env: &BTreeMap<String, String>, args: &[&str]) -> Ran {
    let output = tokio::process::Command::new(binary())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env)
        .args(args)
        .output()
        .await
        .expect("run the binary");
    let ran = Ran {
        code: output.status.code().expect("exited"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(
        !ran.stdout.contains(KEY) && !ran.stderr.contains(KEY),
        "the API key is never printed"
    );
    ran
}

/// The subjects of the emails `live`'s SMTP server received, decoded.
fn subjects(live: &Live) -> Vec<String> {
    live.smtp
        .messages()
        .iter()
        .filter_map(|m| {
            let message = mail_parser::MessageParser::default().parse(m.raw.as_bytes())?;
            message.subject().map(str::to_owned)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_the_dependency_that_does_not_answer() {
    let s = Live::start().await;
    let ran = run(&s.env, &["check"]).await;
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    for line in [
        "store    ok (sqlite)",
        "mailer   ok (smtp)",
        "chatkit  ok (",
    ] {
        assert!(ran.stdout.contains(line), "{line}: {}", ran.stdout);
    }
    assert!(s.smtp.messages().is_empty(), "a check sends nothing");

    let closed = format!("smtp://127.0.0.1:{}", free_port());
    let ran = run(&s.with("LEADS_MAILER", &closed), &["--json", "check"]).await;
    assert_eq!(ran.code, 1);
    let report = ran.json();
    assert_eq!(report["ok"], false);
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["ok"] == false)
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(failed, ["mailer"], "{report}");

    let ran = run(&s.with("OPENAI_API_KEY", "sk-wrong"), &["check"]).await;
    assert_eq!(ran.code, 1);
    assert!(ran.stdout.contains("chatkit  FAILED"), "{}", ran.stdout);
    assert!(ran.stdout.contains("401"), "says why: {}", ran.stdout);
    assert!(!ran.stdout.contains("sk-wrong"));

    let ran = run(&s.with("LEADS_STORE", "mysql://nope"), &["check"]).await;
    assert_eq!(ran.code, 2, "a setting that cannot work: {}", ran.stderr);
    assert!(
        ran.stderr.contains("LEADS_STORE") || ran.stderr.contains("mysql"),
        "{}",
        ran.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_preview_and_resend_answer_about_one_thread() {
    let s = Live::start().await;

    let ran = run(&s.env, &["--json", "inspect", TRUCK]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let answer = ran.json();
    assert_eq!(answer["record"], Value::Null);
    assert_eq!(answer["thread"]["phone_found"], true);
    assert_eq!(answer["verdict"]["kind"], "send", "{answer}");
    assert!(
        !ran.stdout.contains(TRUCK_PHONE),
        "facts, not the transcript"
    );

    let ran = run(&s.env, &["inspect", "cthr_not_in_chatkit"]).await;
    assert_eq!(ran.code, 4, "{}", ran.stdout);
    assert!(ran.stdout.contains("not found"), "{}", ran.stdout);
    let ran = run(&s.env, &["inspect", "not a thread\r\nid"]).await;
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("thread id"), "{}", ran.stderr);

    let html = s.dir.path().join("preview.html");
    let ran = run(&s.env, &["preview", TRUCK, "--out", path(&html)]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let page = std::fs::read_to_string(&html).expect("preview written");
    assert!(
        page.contains("<html") && page.contains(TRUCK_PHONE),
        "the lead as it would go out"
    );
    let ran = run(&s.env, &["preview", TRUCK]).await;
    assert!(
        ran.stdout.starts_with("From: "),
        "the whole message on stdout"
    );
    assert!(s.smtp.messages().is_empty(), "a preview sends nothing");
    assert!(
        sqlite_record(&s.db(), TRUCK).await.is_none(),
        "and writes nothing"
    );
    assert_eq!(
        s.fake.count("POST", "/v1/responses"),
        0,
        "nor asks the model"
    );

    let ran = run(&s.env, &["resend", TRUCK]).await;
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.starts_with("sent as "), "{}", ran.stdout);
    let ran = run(&s.env, &["resend", TRUCK]).await;
    assert_eq!(ran.code, 3, "already sent: refused without --force");
    assert!(ran.stdout.contains("--force"), "{}", ran.stdout);
    assert_eq!(s.smtp.messages().len(), 1);
    let ran = run(&s.env, &["resend", "--force", TRUCK]).await;
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    let subjects = subjects(&s);
    assert_eq!(subjects.len(), 2);
    assert!(!subjects[0].starts_with("[Resend]"), "{subjects:?}");
    assert!(subjects[1].starts_with("[Resend]"), "{subjects:?}");

    let ran = run(&s.env, &["--json", "inspect", TRUCK]).await;
    let answer = ran.json();
    assert_eq!(answer["record"]["status"], "sent");
    assert_eq!(answer["record"]["attempts"], 2);
    assert_eq!(answer["record"]["summary_kept"], false);
    assert!(answer["record"].get("summary_cache").is_none());
    assert_eq!(
        answer["record"]["told"]["items"], 11,
        "what the shop was told"
    );
    assert!(
        answer["record"]["told"].get("subject").is_none(),
        "the subject carries customer details"
    );
    assert_eq!(answer["verdict"]["response"]["reason"], "already_sent");
    let ran = run(&s.env, &["inspect", TRUCK]).await;
    assert!(
        ran.stdout
            .contains("told     11 items through cthi_fx_en_truck_seats_0011"),
        "{}",
        ran.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_runs_once_by_hand_and_a_dry_run_changes_nothing() {
    let s = Live::start().await;
    let mut env = s.with("LEADS_ERROR_COOLDOWN_SECONDS", "0");
    // The fixture chats are old: keep them inside the horizon.
    env.insert("LEADS_SWEEP_HORIZON_HOURS".to_owned(), "1000000".to_owned());
    // ChatKit fails the first attempt: the thread is due again at once.
    s.fake.push_fault(Fault::Status {
        path_prefix: format!("/v1/chatkit/threads/{TRUCK}"),
        status: 400,
        retry_after_secs: None,
    });
    let ran = run(&env, &["resend", TRUCK]).await;
    assert_eq!(
        ran.code, 1,
        "a dependency failed: {}{}",
        ran.stdout, ran.stderr
    );
    let waiting = sqlite_record(&s.db(), TRUCK)
        .await
        .expect("the thread waits");
    assert!(waiting.due_at.is_some());

    let ran = run(&env, &["--json", "sweep", "--dry-run"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let report = ran.json();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["leads"][0]["thread_id"], TRUCK, "{report}");
    assert_eq!(report["leads"][0]["verdict"]["kind"], "send", "{report}");
    assert_eq!(report["sent"], 0);
    assert_eq!(
        sqlite_record(&s.db(), TRUCK).await,
        Some(waiting),
        "a dry run writes nothing"
    );
    assert!(s.smtp.messages().is_empty(), "and sends nothing");

    let ran = run(&env, &["sweep"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("1 sent"), "{}", ran.stdout);
    assert!(
        ran.stdout.contains(&format!("{TRUCK}  sweep")),
        "{}",
        ran.stdout
    );
    assert_eq!(s.smtp.messages().len(), 1);
    let record = sqlite_record(&s.db(), TRUCK).await.expect("record");
    assert_eq!(record.last_reason.as_deref(), Some("sweep"));
    assert_eq!(record.due_at, None);
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_and_resend_work_on_postgres() {
    let db = Database::create().await;
    let s = Live::start().await;
    let env = s.with("LEADS_STORE", &db.url);
    let ran = run(&env, &["resend", TRUCK]).await;
    assert_eq!(ran.code, 0, "{}{}", ran.stdout, ran.stderr);
    let ran = run(&env, &["--json", "inspect", TRUCK]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let answer = ran.json();
    assert_eq!(answer["record"]["status"], "sent");
    assert_eq!(answer["record"]["last_reason"], "manual");
    assert_eq!(answer["verdict"]["response"]["reason"], "already_sent");
    assert_eq!(run(&env, &["resend", TRUCK]).await.code, 3);
    assert_eq!(s.smtp.messages().len(), 1);
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_json_lines_or_plain_text_without_colour_escapes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let preview: BTreeMap<String, String> = [
        (
            "LEADS_STORE",
            format!("sqlite://{}", dir.path().join("p.db").display()),
        ),
        (
            "LEADS_MAILER",
            format!("outbox:{}", dir.path().join("outbox").display()),
        ),
        ("RUST_LOG", "info".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut json_logs = preview.clone();
    json_logs.insert("LOG_FORMAT".to_owned(), "json".to_owned());
    let ran = run(&json_logs, &["resend", TRUCK]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let lines: Vec<&str> = ran.stderr.lines().filter(|l| !l.is_empty()).collect();
    assert!(!lines.is_empty(), "the preview's missing model is logged");
    for line in lines {
        let entry: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(entry["level"].is_string(), "{line}");
    }
    assert!(
        ran.stdout.starts_with("sent as "),
        "logs stay off stdout: {}",
        ran.stdout
    );

    let ran = run(&preview, &["resend", "--force", TRUCK]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.contains("WARN"), "{}", ran.stderr);
    assert!(
        !ran.stderr.contains('\u{1b}'),
        "no colour escapes off a terminal"
    );
}
