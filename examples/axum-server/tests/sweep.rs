//! The background sweep of the server binary, end to end: a chat whose
//! trigger never came is found through the user's session and emailed once
//! it is quiet; a chat without contact details waits until the customer
//! gives them; a chat past the horizon is left alone.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chatkit_leads_core::LeadStatus;
use chatkit_leads_openai_fake::FakeOpenAi;
use chatkit_leads_test_support::{ServerProcess, SmtpSink};
use common::{Live, binary, sqlite_record};

const QUIET: i64 = 4;

struct Deployment {
    fake: FakeOpenAi,
    smtp: SmtpSink,
    server: ServerProcess,
    db: PathBuf,
    _dir: tempfile::TempDir,
}

impl Deployment {
    async fn start() -> Self {
        let live = Live::start().await;
        let db = live.db();
        let mut env = live.env.clone();
        for (name, value) in [
            ("LEADS_SWEEP_INTERVAL_SECONDS", "1"),
            ("LEADS_SWEEP_QUIET_SECONDS", &QUIET.to_string()),
            ("LEADS_SWEEP_RECHECK_SECONDS", "1"),
        ] {
            env.insert(name.to_owned(), value.to_owned());
        }
        let server = ServerProcess::start(&binary(), &env).await;
        let Live {
            fake, smtp, dir, ..
        } = live;
        Self {
            fake,
            smtp,
            server,
            db,
            _dir: dir,
        }
    }

    /// Mints a session as a browser would and returns the user the server
    /// bound it to (as OpenAI saw it).
    async fn session(&self) -> String {
        let response = reqwest::Client::new()
            .post(format!("{}/session", self.server.url()))
            .body("{}")
            .send()
            .await
            .expect("session");
        assert_eq!(response.status(), 200);
        self.fake
            .requests()
            .iter()
            .rev()
            .find(|r| r.path == "/v1/chatkit/sessions")
            .and_then(|r| r.body.as_ref()?["user"].as_str().map(str::to_owned))
            .expect("the session reached OpenAI with a user")
    }

    /// Thread ids named by the emails received so far, in order.
    fn emailed(&self, threads: &[&str]) -> Vec<String> {
        self.smtp
            .messages()
            .iter()
            .map(|mail| {
                threads
                    .iter()
                    .find(|t| mail.raw.contains(**t))
                    .map_or_else(|| "?".to_owned(), |t| (*t).to_owned())
            })
            .collect()
    }

    async fn wait_for_emails(&self, count: usize, threads: &[&str]) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let emailed = self.emailed(threads);
            if emailed.len() >= count || Instant::now() > deadline {
                return emailed;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_recovers_chats_no_trigger_reached_and_only_when_there_is_a_lead() {
    let d = Deployment::start().await;
    let user = d.session().await;
    let (recovered, later, old) = ("cthr_sw_recovered", "cthr_sw_later", "cthr_sw_old");
    let threads = [recovered, later, old];
    let written_at = now();
    assert!(
        d.fake
            .add_thread("cthr_fx_en_truck_seats", recovered, &user, written_at)
    );
    assert!(
        d.fake
            .add_thread("cthr_fx_no_contact", later, &user, written_at)
    );
    // A week and a day ago: past the 7-day horizon.
    assert!(
        d.fake
            .add_thread("cthr_fx_es_boat_email", old, &user, written_at - 8 * 86_400)
    );

    // The visitor is still writing two seconds later; the user becomes
    // quiet (and is listed) at session + QUIET, the chat only at
    // last message + QUIET.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let written_at = now();
    assert!(
        d.fake
            .add_thread("cthr_fx_en_truck_seats", recovered, &user, written_at)
    );

    let emailed = d.wait_for_emails(1, &threads).await;
    assert_eq!(
        emailed,
        [recovered],
        "the chat with a phone number, and only it"
    );
    let record = sqlite_record(&d.db, recovered).await.expect("record");
    assert_eq!(record.status, LeadStatus::Sent);
    assert_eq!(record.last_reason.as_deref(), Some("sweep"));
    let sent_at = record.sent_at.expect("sent_at");
    assert!(
        sent_at >= written_at + QUIET,
        "not before the chat was quiet: written {written_at}, sent {sent_at}"
    );
    // The same sweep looks at the other chat just after.
    let deadline = Instant::now() + Duration::from_secs(10);
    let waiting = loop {
        let record = sqlite_record(&d.db, later).await.expect("record");
        if record.last_reason.as_deref() != Some("discovered") || Instant::now() > deadline {
            break record;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(waiting.status, LeadStatus::Pending);
    assert_eq!(waiting.last_reason.as_deref(), Some("missing_contact"));
    assert!(waiting.due_at.is_some(), "looked at again later");
    assert!(
        sqlite_record(&d.db, old).await.is_none(),
        "a chat past the horizon is not taken up"
    );

    // The customer comes back and leaves an email address.
    assert!(
        d.fake
            .add_thread("cthr_fx_es_boat_email", later, &user, now())
    );
    let emailed = d.wait_for_emails(2, &threads).await;
    assert_eq!(emailed, [recovered, later]);
    let record = sqlite_record(&d.db, later).await.expect("record");
    assert_eq!((record.status, record.due_at), (LeadStatus::Sent, None));

    // More sweeps change nothing: one email and one summary per lead.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(d.emailed(&threads), [recovered, later]);
    assert_eq!(d.fake.count("POST", "/v1/responses"), 2);
    let requests = d.fake.requests();
    let lists = requests
        .iter()
        .filter(|r| r.path == "/v1/chatkit/threads")
        .count();
    eprintln!(
        "sweep e2e: 2 leads recovered, 1 chat past the horizon left alone; {lists} list calls, {} ChatKit reads in all",
        d.fake.count("GET", "/v1/chatkit/threads")
    );
}
