//! Helpers for end-to-end tests that start real processes: the project's
//! SMTP test server (`scripts/smtp_server.py`, aiosmtpd) as a mail sink, and
//! the server binary. Every process is killed when its guard drops.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root: the nearest folder holding `Cargo.lock` above the
/// running test's package (cargo sets `CARGO_MANIFEST_DIR` when it runs a
/// test). Found at run time, not compiled in: a shared build cache may hand
/// this crate over from a checkout at another path.
pub fn repo_root() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."));
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("no Cargo.lock above {}", start.display()))
}

/// A free TCP port on 127.0.0.1 (closed again before returning).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A real SMTP server without TLS or AUTH that stores every message it
/// accepts, for tests of whole deployments.
pub struct SmtpSink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

/// One message the sink accepted.
#[derive(Debug, Clone)]
pub struct StoredMail {
    /// The raw message as received.
    pub raw: String,
    /// The envelope recipients.
    pub rcpt_tos: Vec<String>,
}

impl SmtpSink {
    /// Starts `scripts/smtp_server.py`; panics with the install hint when
    /// aiosmtpd is missing.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Like [`SmtpSink::start`], with more of the script's options (e.g.
    /// `["--chaos", path]`).
    pub fn start_with(options: &[&str]) -> Self {
        let installed = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            installed,
            "aiosmtpd is missing: python3 -m pip install aiosmtpd==1.4.6"
        );
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let mut args: Vec<&OsStr> = vec!["--port".as_ref(), "0".as_ref(), "--maildir".as_ref()];
        args.push(dir.path().as_os_str());
        args.extend(options.iter().map(OsStr::new));
        let (child, port) = spawn_listening("scripts/smtp_server.py", &args);
        Self { child, port, dir }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `LEADS_MAILER` value that delivers to this sink.
    pub fn mailer_url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// Every message accepted so far, oldest first.
    pub fn messages(&self) -> Vec<StoredMail> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        names.sort();
        names.iter().map(|eml| stored(eml)).collect()
    }
}

fn stored(eml: &Path) -> StoredMail {
    let raw = std::fs::read_to_string(eml).unwrap_or_else(|e| panic!("{}: {e}", eml.display()));
    let envelope: serde_json::Value = std::fs::read(eml.with_extension("json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let rcpt_tos = envelope["rcpt_tos"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    StoredMail { raw, rcpt_tos }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the repository's Python `script` with `args` and waits for its
/// `listening on PORT` line: the child and the port.
fn spawn_listening(script: &str, args: &[&OsStr]) -> (Child, u16) {
    let script = repo_root().join(script);
    let mut child = Command::new("python3")
        .arg(&script)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));
    let stdout = child
        .stdout
        .take()
        .unwrap_or_else(|| panic!("{} stdout", script.display()));
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("{} output: {e}", script.display()));
    let port = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected line from {}: {line:?}", script.display()));
    (child, port)
}

/// A webhook receiver (`scripts/webhook_receiver.py`) that verifies
/// Standard Webhooks signatures with PyPI's `standardwebhooks`, validates
/// bodies against the lead event's JSON Schema with PyPI's `jsonschema`,
/// records every request and answers with the statuses a test asks for.
pub struct WebhookReceiver {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct ReceivedHook {
    /// Request headers, lower-case names.
    pub headers: BTreeMap<String, String>,
    /// The body as text.
    pub body: String,
    /// What the receiver answered.
    pub status: u16,
    /// The signature check (`None` without a secret).
    pub verified: Option<bool>,
    /// JSON Schema violations (`None` without a schema).
    pub schema_errors: Option<Vec<String>>,
}

impl ReceivedHook {
    /// The `webhook-id` header.
    pub fn id(&self) -> &str {
        self.headers.get("webhook-id").map_or("", String::as_str)
    }

    /// Panics unless PyPI's `standardwebhooks` verified the signature and
    /// PyPI's `jsonschema` found the body valid (a receiver started with
    /// `--secret` and `--schema`).
    pub fn assert_signed_and_valid(&self) {
        assert_eq!(self.verified, Some(true), "signature: {:?}", self.headers);
        assert_eq!(
            self.schema_errors.as_deref(),
            Some(&[][..]),
            "schema: {}",
            self.body
        );
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("body is not JSON: {e}"))
    }
}

impl WebhookReceiver {
    /// Starts a receiver on `port` (0: any free one) with more of the
    /// script's options (`--secret`, `--schema`, `--answers`, `--then`);
    /// panics with the install hint when the Python packages are missing.
    pub fn start(port: u16, options: &[&str]) -> Self {
        let installed = Command::new("python3")
            .args(["-c", "import standardwebhooks, jsonschema"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            installed,
            "python3 -m pip install standardwebhooks==1.1.0 jsonschema==4.26.0"
        );
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let port_text = port.to_string();
        let mut args: Vec<&OsStr> = vec!["--port".as_ref(), port_text.as_ref(), "--dir".as_ref()];
        args.push(dir.path().as_os_str());
        args.extend(options.iter().map(OsStr::new));
        let (child, port) = spawn_listening("scripts/webhook_receiver.py", &args);
        Self { child, port, dir }
    }

    /// A receiver that verifies every signature with `secret` and checks
    /// every payload against the committed schema, with more `options`
    /// (e.g. `["--then", "410"]`).
    pub fn signed(port: u16, secret: &str, options: &[&str]) -> Self {
        let schema = Self::schema();
        let mut all = vec!["--secret", secret, "--schema", &schema];
        all.extend_from_slice(options);
        Self::start(port, &all)
    }

    /// The schema file the receiver validates signed events against.
    pub fn schema() -> String {
        repo_root()
            .join("schemas/lead-event.v1.json")
            .display()
            .to_string()
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Every request so far, oldest first.
    pub fn received(&self) -> Vec<ReceivedHook> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "json"));
        names.sort();
        names
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let v: serde_json::Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                ReceivedHook {
                    headers: serde_json::from_value(v["headers"].clone()).unwrap_or_default(),
                    body: v["body"].as_str().unwrap_or_default().to_owned(),
                    status: v["status"]
                        .as_u64()
                        .and_then(|s| u16::try_from(s).ok())
                        .unwrap_or(0),
                    verified: v["verified"].as_bool(),
                    schema_errors: serde_json::from_value(v["schema_errors"].clone()).ok(),
                }
            })
            .collect()
    }

    /// Waits up to `timeout` for at least `n` requests; returns them all.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedHook> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server binary running as its own process.
pub struct ServerProcess {
    child: Child,
    port: u16,
}

impl ServerProcess {
    /// Starts `binary` listening on a free port with `env` (plus `BIND`) and
    /// waits until `/healthz` answers; panics with the server's exit status
    /// if it stops first.
    pub async fn start(binary: &Path, env: &BTreeMap<String, String>) -> Self {
        Self::start_logging(binary, env, None).await
    }

    /// As [`ServerProcess::start`], with the server's log (its stdout)
    /// appended to `log` when given, for a test that reads it after a
    /// failure.
    pub async fn start_logging(
        binary: &Path,
        env: &BTreeMap<String, String>,
        log: Option<&Path>,
    ) -> Self {
        let port = free_port();
        let stdout = match log {
            Some(path) => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map(Stdio::from)
                .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display())),
            None => Stdio::null(),
        };
        let child = Command::new(binary)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .envs(env)
            .env("BIND", format!("127.0.0.1:{port}"))
            .stdout(stdout)
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut server = Self { child, port };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("server exited during start-up: {status}");
            }
            if let Ok(response) = client.get(format!("{}/healthz", self.url())).send().await
                && response.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "server did not answer /healthz within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sends SIGKILL: a crash, no graceful shutdown. Takes `&self` so a
    /// test can crash an instance while requests to it are in flight.
    pub fn crash(&self) {
        self.signal("-KILL");
    }

    /// Sends SIGTERM without waiting: the server starts its graceful
    /// shutdown while the test keeps talking to it.
    pub fn request_shutdown(&self) {
        self.signal("-TERM");
    }

    /// Sends SIGTERM and waits for the exit status (graceful shutdown).
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        self.request_shutdown();
        self.child.wait().ok()
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args([signal, pid.as_str()]).status();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
