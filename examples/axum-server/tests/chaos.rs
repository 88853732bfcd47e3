//! The chaos run: three server processes share one store (a PostgreSQL
//! server of this test's own, or DynamoDB on the local AWS emulator), the
//! local OpenAI fake and one real SMTP server, while the test
//!
//! - kills an instance with SIGKILL every few seconds and starts a new one,
//! - makes the model answer 429 or 500, or too slowly (a summary timeout),
//!   and ChatKit reads fail or crawl,
//! - makes the SMTP server defer (451), drop the connection after keeping a
//!   message, or stall after DATA past the mailer's timeout,
//! - stops the PostgreSQL server for two seconds, twice (more in a long run).
//!
//! Leads arrive over the run from visitors who each had a session; each
//! chat gets zero, one or two triggers, sent to any instance. Afterwards the
//! chaos stops and the sweeper (and nothing else) recovers the rest. The
//! run passes when every chat with contact details was emailed, none
//! without, every record is `sent`, and every email after a thread's first
//! carries the possible-duplicate flag — no silent duplicate.
//!
//! Before the chaos, one lead is crashed on purpose between the delivery
//! checkpoint and `mark_sent`: the SMTP server keeps the message and
//! stalls, the instance is killed while it waits, and another instance
//! sends the lead again, flagged.
//!
//! Short form (the test command): `CHAOS_LEADS` unset, 60 leads per store.
//! Long form: `CHAOS_LEADS=1000 cargo test -p chatkit-leads-server --test
//! chaos -- --nocapture` (docs/reliability.md has the figures).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chatkit_leads_core::{LeadStatus, LeadStore, ThreadId};
use chatkit_leads_openai_fake::{FakeConfig, FakeOpenAi, Fault};
use chatkit_leads_postgres::PostgresStore;
use chatkit_leads_test_support::{ServerProcess, SmtpSink, repo_root};
use common::{DynamoTable, binary, emails_by_thread};
use serde_json::json;

const KEY: &str = "sk-chaos";
const INSTANCES: usize = 3;
/// Chats per visitor (each visitor has one session).
const CHATS_PER_VISITOR: usize = 10;
/// Every tenth chat has no contact details and must not be emailed.
const NO_CONTACT_EVERY: usize = 10;
const CONTACT_FIXTURE: &str = "cthr_fx_en_truck_seats";
const NO_CONTACT_FIXTURE: &str = "cthr_fx_no_contact";

/// The chaos runs one at a time: together they would starve two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_on_postgres_delivers_every_lead_and_flags_every_duplicate() {
    let _turn = ONE_AT_A_TIME.lock().await;
    chaos_run(Store::postgres(), "PostgreSQL").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_on_dynamodb_delivers_every_lead_and_flags_every_duplicate() {
    let _turn = ONE_AT_A_TIME.lock().await;
    chaos_run(Store::dynamodb().await, "DynamoDB").await;
}

/// The store the instances share.
enum Store {
    /// A PostgreSQL server of this test's own, so it can be stopped.
    Postgres {
        cluster: PgCluster,
        url: String,
    },
    Dynamo(DynamoTable),
}

impl Store {
    fn postgres() -> Self {
        let cluster = PgCluster {
            dir: PathBuf::from(format!(
                "/tmp/chatkit-leads-chaos-{}",
                uuid::Uuid::new_v4().simple()
            )),
        };
        let url = cluster.run("start");
        Self::Postgres { cluster, url }
    }

    async fn dynamodb() -> Self {
        Self::Dynamo(DynamoTable::create("chatkit-chaos").await)
    }

    /// `LEADS_STORE` and what the server needs to reach it.
    fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Postgres { url, .. } => vec![("LEADS_STORE", url.clone())],
            Self::Dynamo(table) => table.env(),
        }
    }

    async fn open(&self) -> Box<dyn LeadStore> {
        match self {
            Self::Postgres { url, .. } => {
                Box::new(PostgresStore::connect(url).await.expect("store"))
            }
            Self::Dynamo(table) => Box::new(table.store()),
        }
    }
}

/// A throwaway cluster of scripts/pg-test-cluster.sh in `dir` (directly
/// under /tmp: the `postgres` user must reach it), removed on drop.
struct PgCluster {
    dir: PathBuf,
}

impl PgCluster {
    fn run(&self, command: &str) -> String {
        pg_cluster(&self.dir, command)
    }
}

/// Runs `scripts/pg-test-cluster.sh command` on the cluster in `dir`; its
/// stdout.
fn pg_cluster(dir: &Path, command: &str) -> String {
    let output = Command::new("bash")
        .arg(repo_root().join("scripts/pg-test-cluster.sh"))
        .arg(command)
        .env("PG_TEST_CLUSTER_DIR", dir)
        // Acknowledged commits survive the outages, as on a production
        // server: the test cluster's fast mode could lose a `sent` mark.
        .env("PG_TEST_DURABLE", "1")
        .env_remove("TEST_DATABASE_URL")
        .output()
        .expect("pg-test-cluster.sh");
    assert!(
        output.status.success(),
        "pg-test-cluster.sh {command}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.run("stop");
    }
}

/// What the chaos did, for the report.
#[derive(Default)]
struct Tally {
    kills: AtomicUsize,
    faults: AtomicUsize,
    outages: AtomicUsize,
    triggers: AtomicUsize,
}

/// The instances, replaced as they are killed.
struct Fleet {
    env: BTreeMap<String, String>,
    /// Every instance's log, appended.
    log: PathBuf,
    servers: Mutex<Vec<Arc<ServerProcess>>>,
}

impl Fleet {
    async fn start(env: BTreeMap<String, String>, log: PathBuf) -> Self {
        let fleet = Self {
            env,
            log,
            servers: Mutex::new(Vec::new()),
        };
        for _ in 0..INSTANCES {
            let server = Arc::new(fleet.spawn().await);
            fleet.servers.lock().expect("fleet").push(server);
        }
        fleet
    }

    async fn spawn(&self) -> ServerProcess {
        ServerProcess::start_logging(&binary(), &self.env, Some(&self.log)).await
    }

    fn url(&self, i: usize) -> String {
        let servers = self.servers.lock().expect("fleet");
        servers[i % servers.len()].url()
    }

    /// SIGKILLs instance `i` and puts a fresh one in its place.
    async fn kill_and_replace(&self, i: usize) {
        let dead = {
            let servers = self.servers.lock().expect("fleet");
            Arc::clone(&servers[i % servers.len()])
        };
        dead.crash();
        let fresh = Arc::new(self.spawn().await);
        let mut servers = self.servers.lock().expect("fleet");
        let len = servers.len();
        servers[i % len] = fresh;
    }
}

/// The SMTP server's dice (scripts/smtp_server.py --chaos).
struct SmtpChaos {
    file: PathBuf,
}

impl SmtpChaos {
    fn set(&self, odds: serde_json::Value) {
        std::fs::write(&self.file, odds.to_string()).expect("chaos file");
    }

    /// How often each fate befell a message.
    fn fates(&self) -> BTreeMap<String, usize> {
        let log = std::fs::read_to_string(self.file.with_extension("json.log")).unwrap_or_default();
        let mut fates = BTreeMap::new();
        for fate in log.lines() {
            *fates.entry(fate.to_owned()).or_default() += 1;
        }
        fates
    }
}

/// One chat of the run.
struct Chat {
    id: String,
    has_contact: bool,
}

async fn chaos_run(store: Store, name: &str) {
    let leads: usize = std::env::var("CHAOS_LEADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let seed = fastrand::u64(..);
    let mut dice = fastrand::Rng::with_seed(seed);
    eprintln!("chaos ({name}): {leads} leads, seed {seed}");

    let dir = tempfile::tempdir().expect("temp dir");
    let chaos = SmtpChaos {
        file: dir.path().join("smtp-chaos.json"),
    };
    chaos.set(json!({}));
    let chaos_arg = chaos.file.to_str().expect("utf-8 path").to_owned();
    let smtp = SmtpSink::start_with(&["--chaos", &chaos_arg]);
    let fake = Arc::new(
        FakeOpenAi::start(FakeConfig::new(repo_root().join("tests/fixtures"), KEY))
            .await
            .expect("fake"),
    );
    let env: BTreeMap<String, String> = [
        ("OPENAI_API_KEY", KEY.to_owned()),
        ("CHATKIT_WORKFLOW_ID", "wf_chaos".to_owned()),
        ("OPENAI_BASE_URL", fake.base_url()),
        ("LEAD_TO_EMAIL", "shop@example.com".to_owned()),
        ("LEAD_FROM_EMAIL", "leads@example.com".to_owned()),
        // A 2 s step timeout: a stalled DATA fails fast.
        ("LEADS_MAILER", format!("{}&timeout=2", smtp.mailer_url())),
        ("LEADS_TRUST_BROWSER_USER", "true".to_owned()),
        ("LEADS_LEASE_SECONDS", "6".to_owned()),
        ("LEADS_SUMMARY_TIMEOUT_SECONDS", "3".to_owned()),
        ("LEADS_ERROR_COOLDOWN_SECONDS", "1".to_owned()),
        ("LEADS_SWEEP_INTERVAL_SECONDS", "1".to_owned()),
        ("LEADS_SWEEP_QUIET_SECONDS", "1".to_owned()),
        ("LEADS_SWEEP_RECHECK_SECONDS", "1".to_owned()),
        ("LEADS_RATE_PER_ADDRESS", "0".to_owned()),
        ("LEADS_RATE_PER_USER", "0".to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ]
    .into_iter()
    .chain(store.env())
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let fleet = Arc::new(Fleet::start(env, dir.path().join("servers.log")).await);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client");
    let started = Instant::now();

    // 1. A crash between the delivery checkpoint and `mark_sent`.
    let crashed = crash_between_checkpoint_and_mark_sent(&fleet, &fake, &smtp, &chaos, &http).await;

    // 2. Leads arrive while everything fails now and then.
    chaos.set(json!({"defer": 0.08, "drop": 0.05, "stall": 0.05, "stall_seconds": 4}));
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let visitors = leads.div_ceil(CHATS_PER_VISITOR);
    let pace = Duration::from_millis(1500);
    let chaos_for = pace * u32::try_from(visitors).unwrap_or(u32::MAX);
    let mut background = vec![
        tokio::spawn(killer(
            Arc::clone(&fleet),
            Arc::clone(&tally),
            Arc::clone(&stop),
            dice.u64(..),
        )),
        tokio::spawn(faults(
            Arc::clone(&fake),
            Arc::clone(&tally),
            Arc::clone(&stop),
            dice.u64(..),
        )),
    ];
    if let Store::Postgres { cluster, .. } = &store {
        background.push(tokio::spawn(outages(
            cluster.dir.clone(),
            Arc::clone(&tally),
            chaos_for,
        )));
    }
    let mut chats = Vec::new();
    let mut triggers = Vec::new();
    for visitor in 0..visitors {
        let user = format!("anon_chaos_{visitor}_{}", uuid::Uuid::new_v4().simple());
        session(&fleet, &http, &user, visitor).await;
        let now = chrono::Utc::now().timestamp();
        for n in 0..CHATS_PER_VISITOR.min(leads - chats.len()) {
            let has_contact = chats.len() % NO_CONTACT_EVERY != NO_CONTACT_EVERY - 1;
            let fixture = if has_contact {
                CONTACT_FIXTURE
            } else {
                NO_CONTACT_FIXTURE
            };
            let id = format!("cthr_chaos_{visitor}_{n}_{}", uuid::Uuid::new_v4().simple());
            assert!(
                fake.add_thread(fixture, &id, &user, now - 2),
                "fixture {fixture}"
            );
            let count = dice.usize(0..=2);
            triggers.push(tokio::spawn(trigger(
                Arc::clone(&fleet),
                http.clone(),
                id.clone(),
                user.clone(),
                count,
                dice.u64(..),
                Arc::clone(&tally),
            )));
            chats.push(Chat { id, has_contact });
        }
        tokio::time::sleep(pace).await;
    }
    futures::future::join_all(triggers).await;
    stop.store(true, Ordering::SeqCst);
    futures::future::join_all(background).await;
    chaos.set(json!({}));
    let chaos_ended = started.elapsed();

    // 3. Recovery: the sweeper alone finishes the job.
    let ids: Vec<String> = chats
        .iter()
        .map(|c| c.id.clone())
        .chain([crashed.clone()])
        .collect();
    let expected: Vec<&Chat> = chats.iter().filter(|c| c.has_contact).collect();
    let patience = Duration::from_secs(120 + 3 * u64::try_from(leads).unwrap_or(0) / 10);
    let waiting = Instant::now();
    loop {
        let emails = emails_by_thread(&smtp, &ids);
        let done = expected.iter().all(|c| emails.contains_key(&c.id));
        if done || waiting.elapsed() > patience {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let recovered_after = waiting.elapsed();
    // Any late duplicate has time to show.
    tokio::time::sleep(Duration::from_secs(8)).await;

    let emails = emails_by_thread(&smtp, &ids);
    let missing: Vec<&str> = expected
        .iter()
        .filter(|c| !emails.contains_key(&c.id))
        .map(|c| c.id.as_str())
        .collect();
    let unwanted: Vec<&str> = chats
        .iter()
        .filter(|c| !c.has_contact && emails.contains_key(&c.id))
        .map(|c| c.id.as_str())
        .collect();
    let silent: Vec<(&String, &Vec<bool>)> = emails
        .iter()
        .filter(|(_, flags)| flags.iter().skip(1).any(|flagged| !flagged))
        .collect();
    let store_view = store.open().await;
    let mut not_sent = Vec::new();
    for chat in &expected {
        let record = store_view
            .get(&ThreadId::parse(&chat.id).expect("id"))
            .await
            .expect("get");
        if !matches!(record.map(|r| r.status), Some(LeadStatus::Sent)) {
            not_sent.push(chat.id.as_str());
        }
    }
    let troubled: Vec<&str> = missing
        .iter()
        .chain(&not_sent)
        .copied()
        .chain(silent.iter().map(|(id, _)| id.as_str()))
        .collect();
    diagnose(&troubled, &*store_view, &fleet.log).await;
    let total: usize = emails.values().map(Vec::len).sum();
    let flagged: usize = emails.values().flatten().filter(|f| **f).count();
    let duplicated = emails.values().filter(|flags| flags.len() > 1).count();
    eprintln!(
        "chaos ({name}): {} leads ({} with contact) + 1 crashed on purpose; {} kills, {} model/ChatKit faults, {} PostgreSQL outages, {} triggers, SMTP fates {:?}; chaos {} s, all recovered {} s later; {} emails, {} leads emailed more than once, {} flagged, {} silent duplicates; {} model calls; missing {}, unwanted {}, not sent {}",
        chats.len(),
        expected.len(),
        tally.kills.load(Ordering::SeqCst),
        tally.faults.load(Ordering::SeqCst),
        tally.outages.load(Ordering::SeqCst),
        tally.triggers.load(Ordering::SeqCst),
        chaos.fates(),
        chaos_ended.as_secs(),
        recovered_after.as_secs(),
        total,
        duplicated,
        flagged,
        silent.len(),
        fake.count("POST", "/v1/responses"),
        missing.len(),
        unwanted.len(),
        not_sent.len(),
    );
    assert!(missing.is_empty(), "leads never emailed: {missing:?}");
    assert!(
        unwanted.is_empty(),
        "no-contact chats emailed: {unwanted:?}"
    );
    assert!(silent.is_empty(), "unflagged repeat emails: {silent:?}");
    assert!(not_sent.is_empty(), "records not sent: {not_sent:?}");
    assert_eq!(
        emails.get(&crashed).map(Vec::as_slice),
        Some([false, true].as_slice()),
        "the lead crashed after its checkpoint went out again, flagged"
    );
    assert!(
        tally.kills.load(Ordering::SeqCst) > 0,
        "instances were killed"
    );
}

/// Sends a lead whose email the SMTP server keeps but does not confirm,
/// SIGKILLs the instance while it waits, and has another instance finish
/// the lead. Returns its thread id.
async fn crash_between_checkpoint_and_mark_sent(
    fleet: &Fleet,
    fake: &FakeOpenAi,
    smtp: &SmtpSink,
    chaos: &SmtpChaos,
    http: &reqwest::Client,
) -> String {
    let user = format!("anon_crash_{}", uuid::Uuid::new_v4().simple());
    let id = format!("cthr_crash_{}", uuid::Uuid::new_v4().simple());
    session(fleet, http, &user, 0).await;
    assert!(fake.add_thread(
        CONTACT_FIXTURE,
        &id,
        &user,
        chrono::Utc::now().timestamp() - 2
    ));
    chaos.set(json!({"stall": 1.0, "stall_seconds": 30}));
    let ids = [id.clone()];
    let request = http
        .post(format!("{}/lead", fleet.url(0)))
        .body(json!({"threadId": id, "reason": "idle", "user": user}).to_string());
    let in_flight = tokio::spawn(request.send());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !emails_by_thread(smtp, &ids).contains_key(&id) {
        assert!(
            Instant::now() < deadline,
            "the first email never reached SMTP"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The message is kept and its 250 is 30 s away: the instance dies
    // after its checkpoint and before `mark_sent`.
    fleet.kill_and_replace(0).await;
    let _ = in_flight.await;
    chaos.set(json!({}));
    // The sweeper (or this trigger, once the lease has expired) sends it again.
    let deadline = Instant::now() + Duration::from_secs(40);
    while emails_by_thread(smtp, &ids).get(&id).map_or(0, Vec::len) < 2 {
        assert!(
            Instant::now() < deadline,
            "the crashed lead was not sent again"
        );
        let _ = http
            .post(format!("{}/lead", fleet.url(1)))
            .body(json!({"threadId": id, "reason": "idle", "user": user}).to_string())
            .send()
            .await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    id
}

/// `/session` for `user`, retried until an instance answers (instances die
/// and the store goes away during the run).
async fn session(fleet: &Fleet, http: &reqwest::Client, user: &str, first: usize) {
    for attempt in 0..60 {
        let answer = http
            .post(format!("{}/session", fleet.url(first + attempt)))
            .body(json!({"user": user}).to_string())
            .send()
            .await;
        if answer.is_ok_and(|a| a.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("no instance minted a session for 15 s");
}

/// `count` triggers for one chat, at random moments, to random instances;
/// failures are left as they are (the page does not retry).
async fn trigger(
    fleet: Arc<Fleet>,
    http: reqwest::Client,
    id: String,
    user: String,
    count: usize,
    seed: u64,
    tally: Arc<Tally>,
) {
    let mut dice = fastrand::Rng::with_seed(seed);
    for _ in 0..count {
        tokio::time::sleep(Duration::from_millis(dice.u64(0..3000))).await;
        tally.triggers.fetch_add(1, Ordering::SeqCst);
        let reason = if dice.bool() { "idle" } else { "pagehide" };
        let _ = http
            .post(format!("{}/lead", fleet.url(dice.usize(..))))
            .body(json!({"threadId": id, "reason": reason, "user": user}).to_string())
            .send()
            .await;
    }
}

/// Kills a random instance every 2–4 s and starts a replacement.
async fn killer(fleet: Arc<Fleet>, tally: Arc<Tally>, stop: Arc<AtomicBool>, seed: u64) {
    let mut dice = fastrand::Rng::with_seed(seed);
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(dice.u64(2000..4000))).await;
        fleet.kill_and_replace(dice.usize(..INSTANCES)).await;
        tally.kills.fetch_add(1, Ordering::SeqCst);
    }
}

/// Queues a random model or ChatKit fault every 400 ms.
async fn faults(fake: Arc<FakeOpenAi>, tally: Arc<Tally>, stop: Arc<AtomicBool>, seed: u64) {
    let mut dice = fastrand::Rng::with_seed(seed);
    let model = || "/v1/responses".to_owned();
    let chatkit = || "/v1/chatkit/threads/".to_owned();
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let fault = match dice.u8(0..5) {
            0 => Fault::Status {
                path_prefix: model(),
                status: 429,
                retry_after_secs: Some(1),
            },
            1 => Fault::Status {
                path_prefix: model(),
                status: 500,
                retry_after_secs: None,
            },
            // Past the 3 s summary timeout.
            2 => Fault::Slow {
                path_prefix: model(),
                delay: Duration::from_millis(3500),
            },
            3 => Fault::ResetConnection {
                path_prefix: chatkit(),
            },
            _ => Fault::Slow {
                path_prefix: chatkit(),
                delay: Duration::from_millis(800),
            },
        };
        fake.push_fault(fault);
        tally.faults.fetch_add(1, Ordering::SeqCst);
    }
}

/// Stops the PostgreSQL server in `dir` for 2 s, evenly over `span`: twice,
/// or once every 40 s in a longer run.
async fn outages(dir: PathBuf, tally: Arc<Tally>, span: Duration) {
    let count = u32::try_from(span.as_secs() / 40)
        .unwrap_or(u32::MAX)
        .max(2);
    for _ in 0..count {
        tokio::time::sleep(span / (count + 1)).await;
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            pg_cluster(&dir, "pause");
            std::thread::sleep(Duration::from_secs(2));
            pg_cluster(&dir, "resume");
        })
        .await
        .expect("outage");
        tally.outages.fetch_add(1, Ordering::SeqCst);
    }
}

/// Prints, for each thread that failed the run, its record and what the
/// instances logged about it.
async fn diagnose(ids: &[&str], store: &dyn LeadStore, log: &Path) {
    if ids.is_empty() {
        return;
    }
    let log = std::fs::read_to_string(log).unwrap_or_default();
    eprintln!("now {}", chrono::Utc::now().timestamp());
    for id in ids {
        let record = store
            .get(&ThreadId::parse(id).expect("id"))
            .await
            .expect("get");
        match record {
            Some(r) => eprintln!(
                "{id}: {:?}, {} attempts, lock until {}, due {:?}, delivery started {:?}, last reason {:?}, last error {:?}",
                r.status,
                r.attempts,
                r.lock_expires_at,
                r.due_at,
                r.delivery_started_at,
                r.last_reason,
                r.last_error
            ),
            None => eprintln!("{id}: no record"),
        }
        for line in log.lines().filter(|line| line.contains(id)).take(40) {
            eprintln!("    {line}");
        }
    }
}
