//! What the server's process tests share: the binary, the live settings
//! around the local OpenAI fake and SMTP server, and a look into a SQLite
//! store. (Each test file uses part of it.)
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chatkit_leads_core::{LeadRecord, LeadStore, ThreadId};
use chatkit_leads_openai_fake::{FakeConfig, FakeOpenAi};
use chatkit_leads_postgres::{PostgresStore, PostgresStoreOptions};
use chatkit_leads_sqlite::SqliteStore;
use chatkit_leads_test_support::{SmtpSink, repo_root};

/// The only key the fake accepts.
pub const KEY: &str = "sk-e2e-test-key";
/// The page origin allowed to call the server.
pub const ORIGIN: &str = "https://shop.example";
/// Signs the user cookie (32 bytes, base64).
pub const COOKIE_KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

/// The server binary cargo built for these tests.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chatkit-leads-server"))
}

/// Live mode around local services: the OpenAI fake (serving the
/// repository's fixtures), a real SMTP server, a SQLite file in a temporary
/// folder, and the settings that point the server at them.
pub struct Live {
    /// The OpenAI fake.
    pub fake: FakeOpenAi,
    /// The SMTP server the lead emails reach.
    pub smtp: SmtpSink,
    /// The server's settings.
    pub env: BTreeMap<String, String>,
    /// Holds the SQLite file (and whatever else a test writes).
    pub dir: tempfile::TempDir,
}

impl Live {
    /// Starts the fake and the SMTP server.
    pub async fn start() -> Self {
        let fake = FakeOpenAi::start(FakeConfig::new(repo_root().join("tests/fixtures"), KEY))
            .await
            .expect("fake");
        let smtp = SmtpSink::start();
        let dir = tempfile::tempdir().expect("temp dir");
        let env = live_env(&fake, &smtp, &dir.path().join("leads.db"));
        Self {
            fake,
            smtp,
            env,
            dir,
        }
    }

    /// The SQLite store's file.
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("leads.db")
    }

    /// The settings with `name` set to `value`.
    pub fn with(&self, name: &str, value: &str) -> BTreeMap<String, String> {
        let mut env = self.env.clone();
        env.insert(name.to_owned(), value.to_owned());
        env
    }
}

/// Live-mode settings: the fake as OpenAI, `smtp` as the mailer, a SQLite
/// store at `db`.
fn live_env(fake: &FakeOpenAi, smtp: &SmtpSink, db: &Path) -> BTreeMap<String, String> {
    [
        ("OPENAI_API_KEY", KEY.to_owned()),
        ("CHATKIT_WORKFLOW_ID", "wf_e2e_workflow".to_owned()),
        ("OPENAI_BASE_URL", fake.base_url()),
        ("LEAD_TO_EMAIL", "shop@example.com".to_owned()),
        ("LEAD_FROM_EMAIL", "leads@example.com".to_owned()),
        ("LEADS_STORE", format!("sqlite://{}", db.display())),
        ("LEADS_MAILER", smtp.mailer_url()),
        ("ALLOWED_ORIGINS", ORIGIN.to_owned()),
        ("LEADS_COOKIE_KEY", COOKIE_KEY.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The record of `thread` in the SQLite store at `db`.
pub async fn sqlite_record(db: &Path, thread: &str) -> Option<LeadRecord> {
    let store = SqliteStore::connect(db.to_str().expect("utf-8 path"))
        .await
        .expect("db");
    let id = ThreadId::parse(thread).expect("thread id");
    store.get(&id).await.expect("get")
}

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!("TEST_DATABASE_URL is not set: run `bash scripts/test.sh`, which starts PostgreSQL")
    })
}

/// A database created for one test and dropped afterwards.
pub struct Database {
    admin: PostgresStore,
    name: String,
    /// Its URL, for `LEADS_STORE`.
    pub url: String,
}

impl Database {
    /// Creates it on the server of `TEST_DATABASE_URL`.
    pub async fn create() -> Self {
        let admin_url = admin_url();
        let options = PostgresStoreOptions::default().migrate(false);
        let admin = PostgresStore::connect_with(&admin_url, options)
            .await
            .expect("admin connection");
        let name = format!("chatkit_xi_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(admin.pool())
            .await
            .expect("create database");
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        Self { admin, name, url }
    }

    /// Drops it, closing the server's connections to it.
    pub async fn drop_now(self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(self.admin.pool())
            .await
            .expect("drop database");
    }
}

/// A table created for one test on the local AWS emulator
/// (`TEST_AWS_ENDPOINT_URL`, which scripts/test.sh sets).
pub struct DynamoTable {
    endpoint: String,
    table: String,
}

impl DynamoTable {
    /// Creates `<prefix>-<uuid>`.
    pub async fn create(prefix: &str) -> Self {
        let endpoint = std::env::var("TEST_AWS_ENDPOINT_URL").unwrap_or_else(|_| {
            panic!(
                "TEST_AWS_ENDPOINT_URL is not set: run `bash scripts/test.sh`, which starts moto"
            )
        });
        let table = format!("{prefix}-{}", uuid::Uuid::new_v4().simple());
        chatkit_leads_dynamodb::create_table(&dynamo_client(&endpoint), &table)
            .await
            .expect("create table");
        Self { endpoint, table }
    }

    /// `LEADS_STORE` and what the server needs to reach the emulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("LEADS_STORE", format!("dynamodb://{}", self.table)),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ]
    }

    /// The store the servers write, for the test to read.
    pub fn store(&self) -> chatkit_leads_dynamodb::DynamoStore {
        chatkit_leads_dynamodb::DynamoStore::new(dynamo_client(&self.endpoint), self.table.clone())
    }
}

/// A DynamoDB client for the local AWS emulator at `endpoint`.
fn dynamo_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// The emails `smtp` holds for each of `threads`, oldest first, each as
/// whether it is flagged as a possible duplicate. Threads without email are
/// absent; an email naming none of them fails the test.
pub fn emails_by_thread(
    smtp: &SmtpSink,
    threads: &[String],
) -> std::collections::BTreeMap<String, Vec<bool>> {
    let parser = mail_parser::MessageParser::default();
    let mut by_thread: std::collections::BTreeMap<String, Vec<bool>> = Default::default();
    for mail in smtp.messages() {
        let message = parser.parse(mail.raw.as_bytes()).expect("parseable email");
        let text = message.body_text(0).unwrap_or_default().into_owned();
        let thread = threads
            .iter()
            .find(|t| text.contains(t.as_str()))
            .expect("email names a thread");
        let flagged = message
            .subject()
            .is_some_and(|s| s.starts_with("[Possible duplicate]"));
        by_thread.entry(thread.clone()).or_default().push(flagged);
    }
    by_thread
}
