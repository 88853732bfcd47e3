//! What the server chooses at start and says in one line: the seed's
//! environment gets DynamoDB and SES, live leads never silently land in
//! the outbox of a public server, the offline preview stays on loopback.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use chatkit_leads_test_support::{ServerProcess, free_port};
use common::{DynamoTable, Live, binary};
use serde_json::Value;

/// Runs the server with `env` on `bind` until it exits (at most 20 s):
/// its exit code and stderr.
async fn refused(env: &BTreeMap<String, String>, bind: &str) -> (Option<i32>, String) {
    let run = tokio::process::Command::new(binary())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env)
        .env("BIND", bind)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the server refuses at once instead of serving")
        .expect("ran");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `starting` line of a JSON log.
fn starting_line(log: &Path) -> Value {
    let text = std::fs::read_to_string(log).expect("log");
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["fields"]["message"] == "starting")
        .unwrap_or_else(|| panic!("no starting line in {text}"))
}

fn with_logs(mut env: BTreeMap<String, String>) -> BTreeMap<String, String> {
    env.insert("RUST_LOG".into(), "info".into());
    env.insert("LOG_FORMAT".into(), "json".into());
    env
}

#[tokio::test]
async fn live_leads_without_a_mailer_are_refused_on_a_public_address_and_warned_about() {
    let live = Live::start().await;
    let mut env = live.env.clone();
    env.remove("LEADS_MAILER");
    let (code, stderr) = refused(&env, &format!("0.0.0.0:{}", free_port())).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("LEADS_MAILER") && stderr.contains("LEADS_ALLOW_OUTBOX"),
        "{stderr}"
    );

    let log = live.dir.path().join("server.log");
    let server = ServerProcess::start_logging(&binary(), &with_logs(env), Some(&log)).await;
    let line = starting_line(&log);
    assert_eq!(line["fields"]["mode"], "live");
    assert_eq!(line["fields"]["mailer"], "outbox");
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        text.contains("LIVE LEADS ARE NOT SENT"),
        "a loud warning: {text}"
    );
    drop(server);
}

#[tokio::test]
async fn the_offline_preview_serves_loopback_only_unless_asked() {
    let env = BTreeMap::new();
    let (code, stderr) = refused(&env, &format!("0.0.0.0:{}", free_port())).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("LEADS_PREVIEW_PUBLIC"), "{stderr}");
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("server.log");
    let env = with_logs(BTreeMap::from([(
        "LEADS_STORE".to_owned(),
        format!("sqlite://{}", dir.path().join("leads.db").display()),
    )]));
    let _server = ServerProcess::start_logging(&binary(), &env, Some(&log)).await;
    let line = starting_line(&log);
    assert_eq!(line["fields"]["mode"], "offline preview");
    assert_eq!(line["fields"]["store"], "sqlite");
    assert_eq!(line["fields"]["store_why"], "LEADS_STORE");
}

#[tokio::test]
async fn the_seeds_environment_uses_its_dynamodb_table_and_ses() {
    let live = Live::start().await;
    let table = DynamoTable::create("chatkit-seed").await;
    let mut env = live.env.clone();
    env.remove("LEADS_MAILER");
    env.remove("LEADS_STORE");
    for (name, value) in table.env() {
        if name != "LEADS_STORE" {
            env.insert(name.to_owned(), value);
        }
    }
    let name = table.env()[0]
        .1
        .trim_start_matches("dynamodb://")
        .to_owned();
    env.insert("LEAD_DEDUPE_TABLE_NAME".into(), name);
    let log = live.dir.path().join("seed.log");
    let server = ServerProcess::start_logging(&binary(), &with_logs(env.clone()), Some(&log)).await;
    let line = starting_line(&log);
    assert_eq!(line["fields"]["store"], "dynamodb", "{line}");
    assert_eq!(line["fields"]["mailer"], "ses", "{line}");
    assert!(
        line["fields"]["store_why"]
            .as_str()
            .is_some_and(|why| why.contains("LEAD_DEDUPE_TABLE_NAME")),
        "{line}"
    );
    let ready = reqwest::get(format!("{}/readyz", server.url()))
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200, "the seed's table answers");
    drop(server);

    // LEADS_MAILER still wins.
    env.insert("LEADS_MAILER".into(), live.smtp.mailer_url());
    let log = live.dir.path().join("seed-smtp.log");
    let _server = ServerProcess::start_logging(&binary(), &with_logs(env), Some(&log)).await;
    let line = starting_line(&log);
    assert_eq!(
        (
            line["fields"]["store"].as_str(),
            line["fields"]["mailer"].as_str()
        ),
        (Some("dynamodb"), Some("smtp"))
    );
    assert_eq!(line["fields"]["mailer_why"], "LEADS_MAILER");
}

#[tokio::test]
async fn a_typo_in_the_settings_file_stops_the_server_naming_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    let shop =
        chatkit_leads_test_support::repo_root().join("examples/axum-server/shop.example.toml");
    let text = std::fs::read_to_string(shop).expect("example");
    let file = dir.path().join("shop.toml");
    std::fs::write(
        &file,
        format!("{text}\n[policy]\nduplicate = \"alert_only\"\n"),
    )
    .expect("write");
    let env = BTreeMap::from([("LEADS_SHOP_CONFIG".to_owned(), file.display().to_string())]);
    let (code, stderr) = refused(&env, &format!("127.0.0.1:{}", free_port())).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("duplicate") && stderr.contains("LEADS_SHOP_CONFIG"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_policy_in_the_environment_is_checked_at_start() {
    let env = BTreeMap::from([("LEADS_DUPLICATES".to_owned(), "sometimes".to_owned())]);
    let (code, stderr) = refused(&env, &format!("127.0.0.1:{}", free_port())).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("LEADS_DUPLICATES"), "{stderr}");
}

#[tokio::test]
async fn any_setting_may_come_from_the_settings_file_and_the_environment_wins() {
    let dir = tempfile::tempdir().expect("dir");
    let shop =
        chatkit_leads_test_support::repo_root().join("examples/axum-server/shop.example.toml");
    let text = std::fs::read_to_string(shop).expect("example");
    let file = dir.path().join("shop.toml");
    let write = |settings: &str| {
        std::fs::write(&file, format!("{text}\n[settings]\n{settings}")).expect("write");
    };
    let env = BTreeMap::from([
        ("LEADS_SHOP_CONFIG".to_owned(), file.display().to_string()),
        (
            "LEADS_STORE".to_owned(),
            format!("sqlite://{}", dir.path().join("leads.db").display()),
        ),
    ]);
    let public = format!("0.0.0.0:{}", free_port());
    // The file says the preview may be public: it starts on 0.0.0.0.
    write("LEADS_PREVIEW_PUBLIC = true\n");
    let mut server = tokio::process::Command::new(binary())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(&env)
        .env("BIND", &public)
        .kill_on_drop(true)
        .spawn()
        .expect("start");
    let health = format!(
        "http://127.0.0.1:{}/healthz",
        public.rsplit(':').next().unwrap_or_default()
    );
    let mut up = false;
    for _ in 0..100 {
        if reqwest::get(&health)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = server.kill().await;
    assert!(up, "the file's LEADS_PREVIEW_PUBLIC let it serve 0.0.0.0");
    // The environment wins over the file.
    let mut overridden = env.clone();
    overridden.insert("LEADS_PREVIEW_PUBLIC".into(), "false".into());
    let (code, stderr) = refused(&overridden, &public).await;
    assert_eq!(code, Some(2), "{stderr}");
    // A name no setting has is named.
    write("LEADS_PREVIEW_PUBLICK = true\n");
    let (code, stderr) = refused(&env, &public).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("LEADS_PREVIEW_PUBLICK"), "{stderr}");
}
