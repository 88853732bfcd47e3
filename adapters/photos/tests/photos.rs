//! Photos end to end through the workflow: the real fetcher against files
//! the local OpenAI fake serves over HTTP, the email as the mailer gets it.
//! Every case ends with a lead email that says what happened to each photo.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chatkit_leads_core::chatkit::{Thread, ThreadItem};
use chatkit_leads_core::photos::PhotoPolicy;
use chatkit_leads_core::testkit::{MemoryStore, RecordingMailer, ScriptedChatKit};
use chatkit_leads_core::{
    EmailAddress, Envelope, LeadConfig, LeadOutcome, LeadRequest, LeadWorkflow, NoSummarizer,
    OutgoingEmail, Ports, ShopProfile, SystemClock, ThreadId, TriggerReason,
};
use chatkit_leads_openai_fake::{FakeConfig, FakeOpenAi, Fault, ServedFile};
use chatkit_leads_photos::{FetchPolicy, HttpPhotoFetcher};
use mail_parser::MimeHeaders;

const THREAD: &str = "cthr_photos";
/// The name the tests' file host goes by (pinned to the fake's address).
const FILES: &str = "files.chatkit.test";

/// A PNG header (signature and `IHDR` of a `width` × `height` image) and
/// `padding` bytes: what the type and size checks read.
fn png(width: u32, height: u32, padding: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(b"\x08\x02\0\0\0\0\0\0\0");
    bytes.resize(bytes.len() + padding, 0);
    bytes
}

fn jpeg(padding: usize) -> Vec<u8> {
    let mut bytes = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0".to_vec();
    bytes.resize(bytes.len() + padding, 0);
    bytes
}

struct Setup {
    fake: FakeOpenAi,
    chatkit: Arc<ScriptedChatKit>,
    mailer: Arc<RecordingMailer>,
    workflow: LeadWorkflow<
        Arc<ScriptedChatKit>,
        Arc<MemoryStore>,
        Arc<RecordingMailer>,
        NoSummarizer,
        SystemClock,
    >,
}

impl Setup {
    async fn start(photos: PhotoPolicy) -> Self {
        let fixtures =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
        let fake = FakeOpenAi::start(FakeConfig::new(fixtures, "sk-photos"))
            .await
            .expect("fake");
        let fetcher = HttpPhotoFetcher::new(Self::fetch_policy(&fake)).expect("fetcher");
        let chatkit = Arc::new(ScriptedChatKit::new());
        let mailer = Arc::new(RecordingMailer::new());
        let envelope = Envelope {
            from: EmailAddress::parse("leads@craigs.autos").expect("from"),
            from_name: None,
            to: vec![EmailAddress::parse("shop@craigs.autos").expect("to")],
        };
        let mut config = LeadConfig::new(ShopProfile::seed(), envelope);
        config.photos = photos;
        let ports = Ports {
            chatkit: Arc::clone(&chatkit),
            store: Arc::new(MemoryStore::new()),
            mailer: Arc::clone(&mailer),
            summarizer: NoSummarizer,
            clock: SystemClock,
        };
        let workflow = LeadWorkflow::new(ports, config)
            .expect("config")
            .with_photos(Arc::new(fetcher));
        Self {
            fake,
            chatkit,
            mailer,
            workflow,
        }
    }

    /// The tests' file host is the fake (loopback, plain HTTP), allowed by
    /// name; `private.chatkit.test` resolves to a private address.
    fn fetch_policy(fake: &FakeOpenAi) -> FetchPolicy {
        let fake_ip = fake.addr().ip();
        let private: IpAddr = "10.0.0.7".parse().expect("ip");
        FetchPolicy {
            hosts: vec!["chatkit.test".to_owned()],
            allowed_networks: vec![ipnet::IpNet::from(fake_ip)],
            require_https: false,
            pinned: vec![
                (FILES.to_owned(), fake_ip),
                ("private.chatkit.test".to_owned(), private),
            ],
            timeout: Duration::from_secs(10),
        }
    }

    /// A link to `name` on the tests' file host.
    fn link(&self, host: &str, name: &str) -> String {
        format!("http://{host}:{}/files/{name}", self.fake.addr().port())
    }

    /// The customer sends `files` (name, link, declared type) with a
    /// message that has a phone number; the lead is triggered.
    async fn lead_with(&self, files: &[(&str, String, &str)]) -> OutgoingEmail {
        let attachments: Vec<serde_json::Value> = files
            .iter()
            .enumerate()
            .map(|(n, (name, url, mime))| {
                serde_json::json!({
                    "id": format!("cfile_{n}"), "name": name, "mime_type": mime,
                    "preview_url": url, "type": "image",
                })
            })
            .collect();
        let item: ThreadItem = serde_json::from_value(serde_json::json!({
            "id": "cthi_1", "object": "chatkit.thread_item", "thread_id": THREAD,
            "type": "chatkit.user_message", "created_at": 1_767_300_000,
            "content": [{"type": "input_text", "text": "Torn seat, photos attached. Call me at 408-555-0142."}],
            "attachments": attachments,
        }))
        .expect("item");
        let thread: Thread =
            serde_json::from_value(serde_json::json!({"id": THREAD, "created_at": 1_767_300_000}))
                .expect("thread");
        self.chatkit.add_thread(thread, vec![item]);
        let request = LeadRequest::new(ThreadId::parse(THREAD).expect("id"), TriggerReason::Idle);
        let outcome = self.workflow.process(&request).await.expect("outcome");
        assert!(matches!(outcome, LeadOutcome::Sent { .. }), "{outcome:?}");
        let sent = self.mailer.sent();
        assert_eq!(sent.len(), 1, "one lead email");
        sent.into_iter().next().expect("email")
    }
}

fn parsed(email: &OutgoingEmail) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(&email.mime)
        .expect("parseable email")
}

/// The `Content-ID`s of the message's image parts.
fn image_cids(email: &OutgoingEmail) -> Vec<String> {
    parsed(email)
        .parts
        .iter()
        .filter(|part| part.content_type().is_some_and(|ct| ct.ctype() == "image"))
        .filter_map(|part| part.content_id().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_ride_inline_with_their_links_kept() {
    let s = Setup::start(PhotoPolicy::default()).await;
    s.fake
        .serve_file("driver.jpg", ServedFile::ok("image/jpeg", jpeg(20_000)));
    s.fake.serve_file(
        "back.png",
        ServedFile::ok("image/png", png(1280, 960, 10_000)),
    );
    let email = s
        .lead_with(&[
            ("driver.jpg", s.link(FILES, "driver.jpg"), "image/jpeg"),
            ("back.png", s.link(FILES, "back.png"), "image/png"),
            ("quote.pdf", s.link(FILES, "quote.pdf"), "application/pdf"),
        ])
        .await;

    assert_eq!(
        image_cids(&email),
        ["photo1@chatkit-leads", "photo2@chatkit-leads"]
    );
    let message = parsed(&email);
    let related = message.parts.iter().any(|p| {
        p.content_type()
            .is_some_and(|ct| ct.subtype() == Some("related"))
    });
    assert!(related, "the HTML and its images form a multipart/related");
    let html = &email.html;
    assert!(html.contains("src=\"cid:photo1@chatkit-leads\""));
    assert!(
        html.contains("width=\"640\" height=\"480\""),
        "scaled to the email's width"
    );
    assert!(
        html.contains(&s.link(FILES, "driver.jpg")),
        "the link stays"
    );
    assert!(!html.contains("Not attached"), "{html}");
    let text = message.body_text(0).expect("text");
    assert!(text.contains("(attached)"));
    assert_eq!(email.inline.len(), 2);
    assert_eq!(
        s.fake.count("GET", "/files/quote.pdf"),
        0,
        "a PDF is a link, never fetched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cap_leaves_photos_out_and_says_which_and_why() {
    let policy = PhotoPolicy {
        max_photos: 3,
        max_photo_bytes: 1_000_000,
        max_total_bytes: 2_000_000,
        ..PhotoPolicy::default()
    };
    let s = Setup::start(policy).await;
    for name in ["a.jpg", "b.jpg"] {
        s.fake
            .serve_file(name, ServedFile::ok("image/jpeg", jpeg(900_000)));
    }
    s.fake
        .serve_file("c.jpg", ServedFile::ok("image/jpeg", jpeg(900_000)));
    s.fake
        .serve_file("huge.jpg", ServedFile::ok("image/jpeg", jpeg(3_000_000)));
    let files: Vec<_> = ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "seat.heic"]
        .into_iter()
        .map(|name| {
            let mime = if name.ends_with("heic") {
                "image/heic"
            } else {
                "image/jpeg"
            };
            (name, s.link(FILES, name), mime)
        })
        .collect();
    let email = s.lead_with(&files).await;

    assert_eq!(image_cids(&email).len(), 2, "two fit the 2 MB total");
    let html = &email.html;
    assert!(html.contains("over the 2 MB of photos per email"), "{html}");
    assert!(
        html.contains("over the limit of 3 photos per email"),
        "{html}"
    );
    assert!(
        html.contains("image/heic images are not embedded"),
        "{html}"
    );
    assert_eq!(
        s.fake.count("GET", "/files/d.jpg"),
        0,
        "the fourth is not fetched"
    );

    // Too large on its own.
    let s = Setup::start(policy).await;
    s.fake
        .serve_file("huge.jpg", ServedFile::ok("image/jpeg", jpeg(3_000_000)));
    let email = s
        .lead_with(&[("huge.jpg", s.link(FILES, "huge.jpg"), "image/jpeg")])
        .await;
    assert!(image_cids(&email).is_empty());
    assert!(
        email.html.contains("Not attached: larger than 1 MB"),
        "{}",
        email.html
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_files_and_links_are_refused_and_the_lead_still_goes_out() {
    let s = Setup::start(PhotoPolicy::default()).await;
    s.fake.serve_file(
        "page.jpg",
        ServedFile::ok("image/jpeg", "<html><script>alert(1)</script></html>"),
    );
    let loopback = format!("http://127.0.0.1:{}/files/ok.jpg", s.fake.addr().port());
    s.fake
        .serve_file("hop.jpg", ServedFile::redirect(&loopback));
    s.fake
        .serve_file("ok.jpg", ServedFile::ok("image/jpeg", jpeg(1000)));
    let email = s
        .lead_with(&[
            ("page.jpg", s.link(FILES, "page.jpg"), "image/jpeg"),
            ("hop.jpg", s.link(FILES, "hop.jpg"), "image/jpeg"),
            (
                "inside.jpg",
                s.link("private.chatkit.test", "ok.jpg"),
                "image/jpeg",
            ),
            ("gone.jpg", s.link(FILES, "gone.jpg"), "image/jpeg"),
        ])
        .await;

    assert!(image_cids(&email).is_empty(), "nothing attached");
    let html = &email.html;
    for why in [
        "the file is not a JPEG, PNG, WebP or GIF image (it was labelled image/jpeg)",
        "redirected to another host",
        "the file host resolves to a private address",
        "the file is gone (the link expired or was removed)",
    ] {
        assert!(html.contains(why), "missing {why:?} in {html}");
    }
    assert!(
        !html.contains("<script>alert(1)"),
        "the page never reaches the email"
    );
    assert_eq!(
        s.fake.count("GET", "/files/ok.jpg"),
        0,
        "the redirect was not followed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_photo_costs_its_time_budget_and_no_more() {
    let policy = PhotoPolicy {
        photo_timeout: Duration::from_millis(500),
        ..PhotoPolicy::default()
    };
    let s = Setup::start(policy).await;
    s.fake
        .serve_file("slow.jpg", ServedFile::ok("image/jpeg", jpeg(1000)));
    s.fake
        .serve_file("fast.jpg", ServedFile::ok("image/jpeg", jpeg(1000)));
    s.fake.push_fault(Fault::Slow {
        path_prefix: "/files/slow.jpg".to_owned(),
        delay: Duration::from_secs(30),
    });
    let email = s
        .lead_with(&[
            ("slow.jpg", s.link(FILES, "slow.jpg"), "image/jpeg"),
            ("fast.jpg", s.link(FILES, "fast.jpg"), "image/jpeg"),
        ])
        .await;
    assert_eq!(image_cids(&email), ["photo1@chatkit-leads"], "the fast one");
    assert!(
        email
            .html
            .contains("Not attached: no answer within 500 ms; the link may still work"),
        "{}",
        email.html
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_allowance_the_local_file_host_is_refused() {
    let s = Setup::start(PhotoPolicy::default()).await;
    s.fake
        .serve_file("ok.jpg", ServedFile::ok("image/jpeg", jpeg(1000)));
    let strict = FetchPolicy {
        allowed_networks: Vec::new(),
        ..Setup::fetch_policy(&s.fake)
    };
    let fetcher = HttpPhotoFetcher::new(strict).expect("fetcher");
    let err = chatkit_leads_core::PhotoFetcher::fetch(&fetcher, &s.link(FILES, "ok.jpg"), 1000)
        .await
        .expect_err("loopback is refused");
    assert_eq!(
        err.to_string(),
        "not fetched: the file host resolves to a loopback address"
    );
    assert_eq!(s.fake.count("GET", "/files/ok.jpg"), 0);
}
