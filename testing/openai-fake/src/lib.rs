//! # chatkit-leads-openai-fake
//!
//! A faithful local HTTP fake of the OpenAI API for tests: the ChatKit REST
//! endpoints and the Responses API, over a real TCP connection on
//! `127.0.0.1`, answering with the official JSON shapes stored in the
//! repository's `tests/fixtures`.
//!
//! It refuses what the real server refuses — a missing or wrong key (401),
//! a ChatKit call without `OpenAI-Beta: chatkit_beta=v1` (400), an invalid
//! session body, a list `limit` outside 1..=100, a structured-output request
//! whose schema is not strict — with OpenAI-style `{"error": {…}}` bodies, and
//! pages thread items with real cursor semantics.
//!
//! Tests can inspect every request ([`FakeOpenAi::requests`],
//! [`FakeOpenAi::count`]; the key itself is never stored) and inject
//! failures ([`Fault`]): error statuses with `retry-after`, slow answers,
//! truncated bodies and reset connections.
//!
//! | endpoint | answer |
//! |---|---|
//! | `POST /v1/chatkit/sessions` | `openai/session_ok.json` with the request's `user` and `workflow`, a fresh `client_secret` (`ek_fake_<n>`), `expires_at` = now + 600 s (or `expires_after.seconds`) |
//! | `GET /v1/chatkit/threads/{id}` | `chatkit/<id>/thread.json`, else 404 |
//! | `GET /v1/chatkit/threads/{id}/items` | a page of `chatkit/<id>/items.json` (`order` default `desc`, `limit` default 20, `after`, `before`) |
//! | `GET /v1/chatkit/threads?user=…` | a page of the user's threads |
//! | `POST /v1/responses` | the selected summary fixture, verbatim (default `openai/summary_ok.json`) |
//! | `GET /files/{name}` | what [`FakeOpenAi::serve_file`] registered (no key; 404 otherwise): attachment files |
//!
//! For tests that run the fake out of process (the binary
//! `chatkit-leads-openai-fake`), the same controls exist over HTTP, without
//! a key and never recorded: `GET /__fake/requests`, `POST /__fake/faults`
//! (the serde form of [`Fault`]) and `POST /__fake/summary-fixture` with
//! `{"file": "summary_refusal.json"}`, and `PUT /__fake/threads/{id}` with
//! `{"fixture": "cthr_…", "user": "…", "newest_at": <unix seconds>}`
//! ([`FakeOpenAi::add_thread`]).
//!
//! ```no_run
//! use chatkit_leads_openai_fake::{FakeConfig, FakeOpenAi, Fault};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let fake = FakeOpenAi::start(FakeConfig::new("tests/fixtures", "sk-test")).await?;
//! // Point the client under test at `fake.base_url()` ("http://127.0.0.1:PORT/v1").
//! fake.push_fault(Fault::Status {
//!     path_prefix: "/v1/responses".into(),
//!     status: 429,
//!     retry_after_secs: Some(1),
//! });
//! // … run the code under test …
//! assert_eq!(fake.count("POST", "/v1/responses"), 2);
//! fake.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod api_error;
mod chatkit;
mod fault;
mod files;
mod fixtures;
mod record;
mod responses;
mod server;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use fault::Fault;
pub use files::ServedFile;
pub use record::RecordedRequest;

use server::{State, lock};

/// What the fake serves and which key it accepts.
#[derive(Clone)]
pub struct FakeConfig {
    /// The repository's `tests/fixtures` directory: `chatkit/<thread>/` and `openai/`.
    pub fixtures_dir: PathBuf,
    /// The only key accepted as `Authorization: Bearer <api_key>`.
    pub api_key: String,
}

impl FakeConfig {
    /// A configuration serving `fixtures_dir` and accepting `api_key`.
    pub fn new(fixtures_dir: impl Into<PathBuf>, api_key: impl Into<String>) -> Self {
        Self {
            fixtures_dir: fixtures_dir.into(),
            api_key: api_key.into(),
        }
    }
}

impl std::fmt::Debug for FakeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeConfig")
            .field("fixtures_dir", &self.fixtures_dir)
            .field("api_key", &"[redacted]")
            .finish()
    }
}

/// A running fake. Dropping it stops the server; [`FakeOpenAi::shutdown`]
/// also waits until it has stopped.
pub struct FakeOpenAi {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeOpenAi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeOpenAi")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl FakeOpenAi {
    /// Loads the fixtures and serves them on `127.0.0.1` at a random port.
    ///
    /// Fails when the fixtures directory cannot be read or a fixture is not
    /// valid JSON. Must be called inside a tokio runtime.
    pub async fn start(config: FakeConfig) -> std::io::Result<Self> {
        Self::start_on(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Like [`FakeOpenAi::start`], on a chosen address (port 0 picks one).
    pub async fn start_on(config: FakeConfig, bind: SocketAddr) -> std::io::Result<Self> {
        let fixtures = fixtures::Fixtures::load(&config.fixtures_dir)?;
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::new(fixtures, config.api_key));
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(server::serve(listener, Arc::clone(&state), stopped));
        Ok(Self {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL to configure in a client: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request received so far (refused ones included), in order.
    /// The `/__fake/` admin requests are not recorded.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    /// How many recorded requests had this method (any case) and a path
    /// starting with `path_prefix`, e.g.
    /// `count("GET", "/v1/chatkit/threads/cthr_x/items")`.
    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        lock(&self.state.requests)
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.starts_with(path_prefix))
            .count()
    }

    /// Queues a fault; the next request whose path starts with its prefix
    /// consumes it (the first matching fault in queue order).
    pub fn push_fault(&self, fault: Fault) {
        lock(&self.state.faults).push_back(fault);
    }

    /// Selects which `openai/<file_name>` `POST /v1/responses` answers with
    /// (default `summary_ok.json`). An unknown name makes that endpoint
    /// answer 500 naming the missing fixture.
    pub fn set_summary_fixture(&self, file_name: &str) {
        *lock(&self.state.summary_fixture) = file_name.to_owned();
    }

    /// Whether `openai/<file_name>` was loaded at start.
    pub fn has_openai_fixture(&self, file_name: &str) -> bool {
        self.state.openai.contains_key(file_name)
    }

    /// Serves a copy of the fixture thread `fixture` as thread `id` of
    /// `user` (replacing any thread `id`), every time shifted so that its
    /// newest item was written at `newest_at` (Unix seconds): a chat that
    /// happened just now, or a while ago, or that grows — replace it with a
    /// longer fixture. False when there is no such fixture thread.
    pub fn add_thread(&self, fixture: &str, id: &str, user: &str, newest_at: i64) -> bool {
        self.state.add_thread(fixture, id, user, newest_at)
    }

    /// Appends `items` (thread items in the official JSON shape; their
    /// `thread_id` is set to `id`) to thread `id`: the chat goes on after a
    /// lead was sent. False when there is no such thread.
    pub fn append_items(&self, id: &str, items: Vec<serde_json::Value>) -> bool {
        self.state.append_items(id, items)
    }

    /// Answers `GET /files/{name}` with `file` from now on (no key needed:
    /// ChatKit's attachment links are signed URLs). Names nobody
    /// registered answer 404, like an expired link. Faults apply as to any
    /// path (`/files/…`), so a slow file is a [`Fault::Slow`].
    pub fn serve_file(&self, name: &str, file: ServedFile) {
        server::lock(&self.state.files).insert(name.to_owned(), file);
    }

    /// The URL of `GET /files/{name}` on this fake.
    pub fn file_url(&self, name: &str) -> String {
        format!("http://{}/files/{name}", self.addr)
    }

    /// Stops accepting, closes open connections and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
