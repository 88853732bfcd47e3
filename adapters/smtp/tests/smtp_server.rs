//! The SMTP mailer against a real SMTP server: `scripts/smtp_server.py`
//! (aiosmtpd 1.4.6), started by each test on a free port with a
//! certificate generated for the test.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chatkit_leads_core::email::{Envelope, OutgoingEmail, RenderedEmail, build};
use chatkit_leads_core::{EmailAddress, MailError, Mailer};
use chatkit_leads_smtp::{Credentials, Security, SmtpConfig, SmtpMailer};
use mail_parser::{MessageParser, MimeHeaders, PartType};

const USER: &str = "leads@shop.example";
const PASSWORD: &str = "s3cret-Pa55:word";

// ---------------------------------------------------------------- helpers

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "chatkit-leads-smtp-{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, written to
/// a temp dir for the server; `pem` is what the mailer is told to trust.
struct TestCert {
    dir: TempDir,
    pem: String,
}

impl TestCert {
    fn new() -> Self {
        let certified =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                .expect("generate certificate");
        let dir = TempDir::new("cert");
        let pem = certified.cert.pem();
        std::fs::write(dir.path().join("cert.pem"), &pem).expect("write cert");
        std::fs::write(
            dir.path().join("key.pem"),
            certified.signing_key.serialize_pem(),
        )
        .expect("write key");
        Self { dir, pem }
    }

    fn cert_path(&self) -> String {
        self.dir.path().join("cert.pem").display().to_string()
    }

    fn key_path(&self) -> String {
        self.dir.path().join("key.pem").display().to_string()
    }
}

/// Fails (never skips) when the test server cannot run here.
fn require_aiosmtpd() {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let checked = CHECKED.get_or_init(|| {
        match Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            Ok(status) if status.success() => Ok(()),
            Ok(_) => Err("python3 cannot import aiosmtpd".to_owned()),
            Err(e) => Err(format!("python3 could not be run ({e})")),
        }
    });
    if let Err(why) = checked {
        panic!(
            "the SMTP tests need a real SMTP server: {why}. \
             Install it with: python3 -m pip install aiosmtpd==1.4.6"
        );
    }
}

/// `scripts/smtp_server.py`, killed on drop.
struct SmtpServer {
    child: Child,
    port: u16,
    maildir: TempDir,
}

impl SmtpServer {
    fn start(args: &[&str]) -> Self {
        require_aiosmtpd();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp_server.py");
        let maildir = TempDir::new("maildir");
        let mut child = Command::new("python3")
            .arg(&script)
            .args(["--port", "0", "--maildir"])
            .arg(maildir.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn python3 scripts/smtp_server.py");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut server = Self {
            child,
            port: 0,
            maildir,
        };
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the SMTP server did not report its port within 20 s");
        server.port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("the SMTP server did not start: {line:?}"));
        server
    }

    /// Messages received so far, oldest first.
    fn messages(&self) -> Vec<Stored> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.maildir.path())
            .expect("read maildir")
            .map(|entry| entry.expect("dir entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|eml| Stored {
                raw: std::fs::read(&eml).expect("read .eml"),
                envelope: serde_json::from_slice(
                    &std::fs::read(eml.with_extension("json")).expect("read .json"),
                )
                .expect("parse .json"),
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One received message: the bytes and the server's view of the envelope.
struct Stored {
    raw: Vec<u8>,
    envelope: serde_json::Value,
}

fn address(raw: &str) -> EmailAddress {
    EmailAddress::parse(raw).expect("valid address")
}

/// A realistic lead email, built the way the workflow builds it.
fn lead_email() -> OutgoingEmail {
    let rendered = RenderedEmail {
        subject: "New chat lead: 2019 Toyota Tacoma - Seat repair".to_owned(),
        text: "New chat lead from craigs.autos\n\nCustomer: Carlos Méndez\nPhone: (408) 555-0134\n\
               .\nA line that starts with a dot.\n"
            .to_owned(),
        html: "<p>New chat lead from <b>craigs.autos</b></p><p>Customer: Carlos Méndez</p>"
            .to_owned(),
    };
    let envelope = Envelope {
        from: address("leads@craigs.autos"),
        from_name: Some("Craig's Auto Upholstery".to_owned()),
        to: vec![address("shop@craigs.autos"), address("owner@craigs.autos")],
    };
    build(
        &rendered,
        &envelope,
        Some(&address("carlos@example.com")),
        &Default::default(),
    )
}

fn config(server: &SmtpServer, security: Security) -> SmtpConfig {
    SmtpConfig::new("127.0.0.1", security)
        .with_port(server.port)
        .with_timeout(Duration::from_secs(10))
}

fn with_auth(config: SmtpConfig, cert: &TestCert) -> SmtpConfig {
    config
        .with_tls_root(cert.pem.clone())
        .with_credentials(Credentials::new(USER, PASSWORD))
}

fn auth_arg() -> String {
    format!("{USER}:{PASSWORD}")
}

fn mailer(config: SmtpConfig) -> SmtpMailer {
    SmtpMailer::new(config).expect("valid config")
}

/// An error text must not leak secrets, addresses or content.
fn assert_clean(error: &MailError) {
    let text = format!("{error} {error:?}");
    for secret in [
        PASSWORD,
        "craigs.autos",
        "example.com",
        "Carlos",
        "shop.example",
    ] {
        assert!(!text.contains(secret), "error leaks {secret:?}: {text}");
    }
}

// ------------------------------------------------------------------ tests

#[tokio::test]
async fn starttls_with_auth_plain_delivers_the_message_as_built() {
    let cert = TestCert::new();
    let server = SmtpServer::start(&[
        "--starttls",
        &cert.cert_path(),
        &cert.key_path(),
        "--auth",
        &auth_arg(),
    ]);
    let email = lead_email();

    let id = mailer(with_auth(config(&server, Security::StartTls), &cert))
        .send(&email)
        .await
        .expect("delivered");

    assert_eq!(id, email.message_id);
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let stored = &messages[0];
    assert_eq!(stored.envelope["mail_from"], "leads@craigs.autos");
    assert_eq!(
        stored.envelope["rcpt_tos"],
        serde_json::json!(["shop@craigs.autos", "owner@craigs.autos"])
    );
    assert_eq!(stored.envelope["auth_login"], USER);
    assert_eq!(stored.envelope["tls"], true);
    // Byte for byte what the core built (dot-stuffing undone by the server).
    assert_eq!(
        String::from_utf8_lossy(&stored.raw).trim_end(),
        String::from_utf8_lossy(&email.mime).trim_end()
    );

    let message = MessageParser::default()
        .parse(&stored.raw)
        .expect("parsable message");
    let from = message.from().and_then(|a| a.first()).expect("From");
    assert_eq!(from.address(), Some("leads@craigs.autos"));
    assert_eq!(from.name(), Some("Craig's Auto Upholstery"));
    let to: Vec<_> = message
        .to()
        .expect("To")
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(to, ["shop@craigs.autos", "owner@craigs.autos"]);
    assert_eq!(
        message
            .reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some("carlos@example.com")
    );
    assert_eq!(
        message.subject(),
        Some("New chat lead: 2019 Toyota Tacoma - Seat repair")
    );
    assert_eq!(message.message_id(), Some(email.message_id.as_str()));

    let root = message.content_type().expect("Content-Type");
    assert_eq!(
        (root.ctype(), root.subtype()),
        ("multipart", Some("alternative"))
    );
    let leaves: Vec<(String, String)> = message
        .parts
        .iter()
        .filter(|part| !matches!(part.body, PartType::Multipart(_)))
        .map(|part| {
            let ct = part.content_type().expect("part Content-Type");
            (
                format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("")),
                ct.attribute("charset").unwrap_or("").to_ascii_lowercase(),
            )
        })
        .collect();
    assert_eq!(
        leaves,
        [
            ("text/plain".to_owned(), "utf-8".to_owned()),
            ("text/html".to_owned(), "utf-8".to_owned())
        ]
    );
    let text = message
        .body_text(0)
        .expect("text part")
        .replace("\r\n", "\n");
    assert!(text.contains("Customer: Carlos Méndez"), "{text}");
    assert!(
        text.contains("\n.\nA line that starts with a dot."),
        "{text}"
    );
    let html = message.body_html(0).expect("html part");
    assert!(html.contains("<b>craigs.autos</b>"), "{html}");
}

#[tokio::test]
async fn implicit_tls_delivers() {
    let cert = TestCert::new();
    let server = SmtpServer::start(&[
        "--implicit-tls",
        &cert.cert_path(),
        &cert.key_path(),
        "--auth",
        &auth_arg(),
    ]);
    let email = lead_email();

    let id = mailer(with_auth(config(&server, Security::ImplicitTls), &cert))
        .send(&email)
        .await
        .expect("delivered");

    assert_eq!(id, email.message_id);
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].envelope["tls"], true);
    assert_eq!(messages[0].envelope["auth_login"], USER);
}

#[tokio::test]
async fn plain_connection_delivers_for_local_development() {
    let server = SmtpServer::start(&[]);
    let url = format!("smtp://127.0.0.1:{}?tls=none", server.port);

    mailer(SmtpConfig::from_url(&url).expect("url"))
        .send(&lead_email())
        .await
        .expect("delivered");

    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].envelope["tls"], false);
}

#[tokio::test]
async fn wrong_password_is_rejected() {
    let cert = TestCert::new();
    let server = SmtpServer::start(&[
        "--starttls",
        &cert.cert_path(),
        &cert.key_path(),
        "--auth",
        &auth_arg(),
    ]);
    let config = config(&server, Security::StartTls)
        .with_tls_root(cert.pem.clone())
        .with_credentials(Credentials::new(USER, "not-the-password"));

    let error = mailer(config)
        .send(&lead_email())
        .await
        .expect_err("wrong password");

    assert!(
        matches!(&error, MailError::Rejected(why) if why.contains("535")),
        "{error:?}"
    );
    assert!(!error.to_string().contains("not-the-password"));
    assert_clean(&error);
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn server_requiring_auth_rejects_a_mailer_without_credentials() {
    let cert = TestCert::new();
    let server = SmtpServer::start(&[
        "--starttls",
        &cert.cert_path(),
        &cert.key_path(),
        "--auth",
        &auth_arg(),
    ]);
    let config = config(&server, Security::StartTls).with_tls_root(cert.pem.clone());

    let error = mailer(config)
        .send(&lead_email())
        .await
        .expect_err("no credentials");

    assert!(
        matches!(&error, MailError::Rejected(why) if why.contains("530")),
        "{error:?}"
    );
    assert!(error.certainly_not_sent());
    assert_clean(&error);
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn required_starttls_that_the_server_does_not_offer_is_a_transport_error() {
    let server = SmtpServer::start(&[]);
    let config =
        config(&server, Security::StartTls).with_credentials(Credentials::new(USER, PASSWORD));

    let error = mailer(config)
        .send(&lead_email())
        .await
        .expect_err("no STARTTLS");

    assert!(
        matches!(&error, MailError::Transport(why) if why.contains("STARTTLS")),
        "{error:?}"
    );
    assert_clean(&error);
    assert!(
        server.messages().is_empty(),
        "nothing may be sent in clear text"
    );
}

#[tokio::test]
async fn untrusted_certificate_is_a_transport_error() {
    let cert = TestCert::new();
    let server = SmtpServer::start(&["--starttls", &cert.cert_path(), &cert.key_path()]);
    // No tls_root: the self-signed certificate is not trusted.
    let config = config(&server, Security::StartTls);

    let error = mailer(config)
        .send(&lead_email())
        .await
        .expect_err("untrusted certificate");

    assert!(
        matches!(&error, MailError::Transport(why) if why.contains("TLS")),
        "{error:?}"
    );
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    }; // closed again: nothing listens there now
    let config = SmtpConfig::new("127.0.0.1", Security::StartTls).with_port(port);

    let error = mailer(config)
        .send(&lead_email())
        .await
        .expect_err("refused");

    assert!(
        matches!(&error, MailError::Transport(why) if why.contains("connect")),
        "{error:?}"
    );
}

#[tokio::test]
async fn server_that_never_greets_times_out_as_a_transport_error() {
    // The kernel completes the TCP handshake; nobody ever says 220.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let timeout = Duration::from_millis(300);
    let config = SmtpConfig::new("127.0.0.1", Security::StartTls)
        .with_port(port)
        .with_timeout(timeout);

    let started = Instant::now();
    let error = mailer(config)
        .send(&lead_email())
        .await
        .expect_err("timeout");
    let elapsed = started.elapsed();

    assert!(
        matches!(&error, MailError::Transport(why) if why.contains("timed out")),
        "{error:?}"
    );
    assert!(
        elapsed >= timeout && elapsed < Duration::from_secs(3),
        "took {elapsed:?}"
    );
    drop(listener);
}

#[tokio::test]
async fn temporary_refusal_before_data_is_throttled() {
    let server = SmtpServer::start(&["--fail-rcpt", "452 4.5.3 Too many recipients"]);

    let error = mailer(config(&server, Security::None))
        .send(&lead_email())
        .await
        .expect_err("452");

    assert_eq!(error, MailError::Throttled);
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn temporary_failure_after_the_message_was_transferred_is_a_transport_error() {
    let server = SmtpServer::start(&["--fail-data", "451 4.3.0 Try again later"]);

    let error = mailer(config(&server, Security::None))
        .send(&lead_email())
        .await
        .expect_err("451 after data");

    assert!(
        matches!(&error, MailError::Transport(why) if why.contains("451")),
        "{error:?}"
    );
    assert!(!error.certainly_not_sent());
}

#[tokio::test]
async fn permanent_refusal_names_the_code_but_not_the_servers_text() {
    let server = SmtpServer::start(&[
        "--fail-rcpt",
        "550 5.1.1 <shop@craigs.autos>: Recipient address rejected for Carlos",
    ]);

    let error = mailer(config(&server, Security::None))
        .send(&lead_email())
        .await
        .expect_err("550");

    assert!(
        matches!(&error, MailError::Rejected(why) if why.contains("550") && why.contains("RCPT TO")),
        "{error:?}"
    );
    assert_clean(&error);
}

#[tokio::test]
async fn consecutive_sends_reuse_one_authenticated_session() {
    let cert = TestCert::new();
    let server = SmtpServer::start(&[
        "--starttls",
        &cert.cert_path(),
        &cert.key_path(),
        "--auth",
        &auth_arg(),
    ]);
    let mailer = mailer(with_auth(config(&server, Security::StartTls), &cert));

    let first = mailer.send(&lead_email()).await.expect("first");
    let second = mailer.send(&lead_email()).await.expect("second");

    assert_ne!(first, second);
    let messages = server.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(
        messages[0].envelope["peer_port"], messages[1].envelope["peer_port"],
        "the second message should travel on the first one's session"
    );
}

#[tokio::test]
async fn a_dead_pooled_session_is_replaced_transparently() {
    let server = SmtpServer::start(&[]);
    let mailer = mailer(config(&server, Security::None));
    mailer.send(&lead_email()).await.expect("first");

    // The server goes away and comes back on the same port: the parked
    // session is dead, the mailer must reconnect rather than fail.
    let port = server.port;
    drop(server);
    let restarted = SmtpServer::start(&["--port", &port.to_string()]);
    assert_eq!(restarted.port, port);

    mailer
        .send(&lead_email())
        .await
        .expect("second, on a new session");
    assert_eq!(restarted.messages().len(), 1);
}

#[test]
fn debug_output_never_shows_the_password() {
    let config = SmtpConfig::from_url(&format!(
        "smtps://{}:{}@mail.example.com",
        "leads%40shop.example", "s3cret-Pa55%3Aword"
    ))
    .expect("url");
    assert_eq!(
        config.credentials.as_ref().map(Credentials::user),
        Some(USER)
    );
    let mailer = mailer(config.clone());

    for debug in [
        format!("{config:?}"),
        format!("{config:#?}"),
        format!("{mailer:?}"),
    ] {
        assert!(!debug.contains(PASSWORD), "{debug}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }
}

#[tokio::test]
async fn photos_go_out_inline_in_a_large_message() {
    use chatkit_leads_core::photos::{ImageKind, Photo, Photos};
    let photo = |n: usize| {
        let mut bytes = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0".to_vec();
        bytes.resize(3_000_000, n as u8);
        Photo {
            name: format!("seat-{n}.jpg"),
            url: format!("https://files.example/seat-{n}.jpg"),
            kind: ImageKind::Jpeg,
            size: None,
            bytes,
            cid: format!("photo{n}@chatkit-leads"),
        }
    };
    let photos = Photos {
        attached: vec![photo(1), photo(2)],
        skipped: Vec::new(),
    };
    let plain = lead_email();
    let rendered = RenderedEmail {
        subject: plain.subject.clone(),
        text: "Two photos.".to_owned(),
        html: "<img src=\"cid:photo1@chatkit-leads\"><img src=\"cid:photo2@chatkit-leads\">"
            .to_owned(),
    };
    let envelope = Envelope {
        from: address("leads@craigs.autos"),
        from_name: None,
        to: vec![address("shop@craigs.autos")],
    };
    let email = build(&rendered, &envelope, None, &photos);
    assert!(email.mime.len() > 8_000_000, "base64 grows the photos");

    let server = SmtpServer::start(&[]);
    let url = format!("smtp://127.0.0.1:{}?tls=none", server.port);
    mailer(SmtpConfig::from_url(&url).expect("url"))
        .send(&email)
        .await
        .expect("delivered");

    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let raw = String::from_utf8_lossy(&messages[0].raw);
    for cid in ["<photo1@chatkit-leads>", "<photo2@chatkit-leads>"] {
        assert!(raw.contains(&format!("Content-ID: {cid}")), "{cid}");
    }
    assert!(
        messages[0].raw.len() >= email.mime.len(),
        "the whole message arrived"
    );
}
