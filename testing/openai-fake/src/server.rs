//! The HTTP/1.1 server: accept loop, fault injection at the connection level,
//! authentication, routing and the `/__fake/` admin endpoints.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::api_error::ApiError;
use crate::fault::Fault;
use crate::files::{self, ServedFile};
use crate::fixtures::{Fixtures, OpenAiFixture, Threads};
use crate::record::{RecordedRequest, is_valid_bearer};
use crate::{chatkit, responses};

/// The response body type: whole JSON documents, or a deliberately broken stream.
pub(crate) type Body = BoxBody<Bytes, io::Error>;

/// The summary fixture `POST /v1/responses` answers until told otherwise.
pub(crate) const DEFAULT_SUMMARY_FIXTURE: &str = "summary_ok.json";
/// Beta header value the ChatKit endpoints require.
const CHATKIT_BETA: &str = "chatkit_beta=v1";
/// How long a truncated answer waits after its partial body before closing,
/// so the partial bytes reach the client first.
const TRUNCATE_PAUSE: Duration = Duration::from_millis(50);

/// Shared by every connection.
#[derive(Debug)]
pub(crate) struct State {
    /// ChatKit threads: the fixtures, and those tests added since.
    pub(crate) threads: RwLock<Threads>,
    /// `openai/*.json` by file name.
    pub(crate) openai: BTreeMap<String, OpenAiFixture>,
    pub(crate) api_key: String,
    pub(crate) requests: Mutex<Vec<RecordedRequest>>,
    pub(crate) faults: Mutex<VecDeque<Fault>>,
    pub(crate) summary_fixture: Mutex<String>,
    /// `GET /files/{name}` answers, by name.
    pub(crate) files: Mutex<BTreeMap<String, ServedFile>>,
    sessions: AtomicU64,
    request_ids: AtomicU64,
}

impl State {
    pub(crate) fn new(fixtures: Fixtures, api_key: String) -> Self {
        let Fixtures { threads, openai } = fixtures;
        Self {
            threads: RwLock::new(threads),
            openai,
            api_key,
            requests: Mutex::new(Vec::new()),
            faults: Mutex::new(VecDeque::new()),
            summary_fixture: Mutex::new(DEFAULT_SUMMARY_FIXTURE.to_owned()),
            files: Mutex::new(BTreeMap::new()),
            sessions: AtomicU64::new(1),
            request_ids: AtomicU64::new(1),
        }
    }

    /// Serves a copy of thread `fixture` as thread `id` of `user` whose
    /// newest item was written at `newest_at`, replacing any thread `id`.
    /// False when there is no such fixture thread.
    pub(crate) fn add_thread(&self, fixture: &str, id: &str, user: &str, newest_at: i64) -> bool {
        let mut threads = write(&self.threads);
        let Some(copy) = threads.get(fixture).map(|t| t.copy_as(id, user, newest_at)) else {
            return false;
        };
        threads.insert(id.to_owned(), copy);
        true
    }

    pub(crate) fn append_items(&self, id: &str, items: Vec<serde_json::Value>) -> bool {
        let mut threads = write(&self.threads);
        let Some(thread) = threads.get_mut(id) else {
            return false;
        };
        thread.items.extend(items.into_iter().map(|mut item| {
            item["thread_id"] = serde_json::json!(id);
            item
        }));
        true
    }

    /// Removes and returns the first queued fault whose prefix matches `path`.
    fn take_fault(&self, path: &str) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let index = faults
            .iter()
            .position(|f| path.starts_with(f.path_prefix()))?;
        faults.remove(index)
    }
}

/// Locks a mutex, ignoring poisoning: the data stays usable for a test fake.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// Accepts connections until `stop` fires (or its sender is dropped), then
/// aborts the connections still open.
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&state)));
                }
                // Out of file descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, state: Arc<State>) {
    let _ = stream.set_nodelay(true);
    let reset = Arc::new(AtomicBool::new(false));
    let io = TokioIo::new(FaultIo {
        stream,
        reset: Arc::clone(&reset),
    });
    let service = service_fn(move |req| handle(Arc::clone(&state), Arc::clone(&reset), req));
    // Errors here are the client going away or an injected fault: nothing to report.
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

/// The socket, plus a flag that turns its close into a TCP reset.
struct FaultIo {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for FaultIo {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst) {
            // SO_LINGER 0: closing the socket sends RST instead of FIN.
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for FaultIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for FaultIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Why a connection ends without an answer.
#[derive(Debug)]
struct Abort(&'static str);

impl std::fmt::Display for Abort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Abort {}

async fn handle(
    state: Arc<State>,
    reset: Arc<AtomicBool>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Abort> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|_| Abort("request body unreadable"))?
        .to_bytes();
    let method = parts.method.as_str();
    let path = parts.uri.path();
    let query = parts.uri.query();

    if let Some(admin_path) = path.strip_prefix("/__fake/") {
        return Ok(admin(&state, method, admin_path, &body).into_response(&state, false));
    }

    lock(&state.requests).push(RecordedRequest::new(
        method,
        path,
        query,
        &parts.headers,
        &body,
        &state.api_key,
    ));

    let fault = state.take_fault(path);
    match &fault {
        Some(Fault::Status {
            status,
            retry_after_secs,
            ..
        }) => {
            return Ok(
                status_fault(&state, *status, *retry_after_secs).into_response(&state, false)
            );
        }
        Some(Fault::ResetConnection { .. }) => {
            reset.store(true, Ordering::SeqCst);
            return Err(Abort("connection reset by fault"));
        }
        Some(Fault::Slow { delay, .. }) => tokio::time::sleep(*delay).await,
        Some(Fault::TruncatedBody { .. }) | None => {}
    }

    if let Some(name) = path.strip_prefix("/files/") {
        let file = lock(&state.files).get(name).cloned();
        return Ok(file.unwrap_or_else(files::not_found).into_response());
    }
    let truncate = matches!(fault, Some(Fault::TruncatedBody { .. }));
    let reply =
        route(&state, method, path, query, &parts.headers, &body).unwrap_or_else(Reply::from);
    Ok(reply.into_response(&state, truncate))
}

/// A JSON answer before it becomes an HTTP response.
struct Reply {
    status: StatusCode,
    body: ReplyBody,
    retry_after: Option<u64>,
}

/// A document built by the fake, or a fixture file's bytes served verbatim.
enum ReplyBody {
    Json(Value),
    Raw(Bytes),
    Empty,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body: ReplyBody::Json(body),
            retry_after: None,
        }
    }

    fn verbatim(raw: Bytes) -> Self {
        Self {
            status: StatusCode::OK,
            body: ReplyBody::Raw(raw),
            retry_after: None,
        }
    }

    fn into_response(self, state: &State, truncate: bool) -> Response<Body> {
        let bytes = match self.body {
            ReplyBody::Json(value) => Bytes::from(serde_json::to_vec(&value).unwrap_or_default()),
            ReplyBody::Raw(raw) => raw,
            ReplyBody::Empty => Bytes::new(),
        };
        let len = bytes.len();
        let body: Body = if truncate {
            truncated(bytes)
        } else {
            Full::new(bytes).map_err(|never| match never {}).boxed()
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if len > 0 {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let request_id = state.request_ids.fetch_add(1, Ordering::Relaxed);
        if let Ok(v) = HeaderValue::from_str(&format!("req_fake_{request_id}")) {
            headers.insert("x-request-id", v);
        }
        if let Some(secs) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        if truncate {
            // The full length is promised; only part of it will come.
            headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
        response
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Self {
        Self {
            status: e.status,
            body: ReplyBody::Json(e.body()),
            retry_after: None,
        }
    }
}

/// The first half of `bytes`, then (after a pause, so it is flushed) a body
/// error that makes hyper drop the connection short of `Content-Length`.
fn truncated(bytes: Bytes) -> Body {
    let head = bytes.slice(..bytes.len() / 2);
    let frames = futures::stream::unfold(Some(head), |head| async move {
        match head {
            Some(head) => Some((Ok(Frame::data(head)), None)),
            None => {
                tokio::time::sleep(TRUNCATE_PAUSE).await;
                Some((
                    Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "body truncated by fault",
                    )),
                    None,
                ))
            }
        }
    });
    StreamBody::new(frames).boxed()
}

fn status_fault(state: &State, status: u16, retry_after: Option<u64>) -> Reply {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let fixture = match status.as_u16() {
        429 => state.openai.get("error_429.json"),
        500 => state.openai.get("error_500.json"),
        _ => None,
    };
    let body = match fixture {
        Some(f) => ReplyBody::Raw(f.raw.clone()),
        None => ReplyBody::Json(json!({
            "error": {
                "message": format!("The fake was told to answer {status}."),
                "type": if status.is_server_error() { "server_error" } else { "invalid_request_error" },
                "param": null,
                "code": null,
            }
        })),
    };
    Reply {
        status,
        body,
        retry_after,
    }
}

fn route(
    state: &State,
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Reply, ApiError> {
    if !(path == "/v1" || path.starts_with("/v1/")) {
        return Err(ApiError::invalid_url(method, path));
    }
    authenticate(headers, &state.api_key)?;
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    if segments.get(1) == Some(&"chatkit") {
        require_chatkit_beta(headers)?;
    }
    let answer = match (method, segments.as_slice()) {
        ("POST", ["v1", "chatkit", "sessions"]) => {
            let body = json_body(body)?;
            let template = &fixture(state, "session_ok.json")?.json;
            let n = state.sessions.fetch_add(1, Ordering::Relaxed);
            chatkit::create_session(template, &body, n, unix_now())?
        }
        ("GET", ["v1", "chatkit", "threads"]) => {
            chatkit::list_threads(&read(&state.threads), query)?
        }
        ("GET", ["v1", "chatkit", "threads", id]) => {
            chatkit::get_thread(&read(&state.threads), id)?
        }
        ("GET", ["v1", "chatkit", "threads", id, "items"]) => {
            chatkit::list_items(&read(&state.threads), id, query)?
        }
        ("POST", ["v1", "responses"]) => {
            responses::validate(&json_body(body)?)?;
            let name = lock(&state.summary_fixture).clone();
            return Ok(Reply::verbatim(fixture(state, &name)?.raw.clone()));
        }
        _ => return Err(ApiError::invalid_url(method, path)),
    };
    Ok(Reply::ok(answer))
}

fn authenticate(headers: &HeaderMap, api_key: &str) -> Result<(), ApiError> {
    let unauthorized = |message: &str, code| ApiError {
        status: StatusCode::UNAUTHORIZED,
        message: message.to_owned(),
        kind: "invalid_request_error",
        param: None,
        code,
    };
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(unauthorized(
            "You didn't provide an API key. You need to provide your API key in an Authorization \
             header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            None,
        ));
    };
    if is_valid_bearer(&String::from_utf8_lossy(value.as_bytes()), api_key) {
        Ok(())
    } else {
        Err(unauthorized(
            "Incorrect API key provided. You can find your API key at \
             https://platform.openai.com/account/api-keys.",
            Some("invalid_api_key"),
        ))
    }
}

fn require_chatkit_beta(headers: &HeaderMap) -> Result<(), ApiError> {
    let present = headers.get_all("openai-beta").iter().any(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .split(',')
            .any(|part| part.trim() == CHATKIT_BETA)
    });
    if present {
        Ok(())
    } else {
        Err(ApiError {
            status: StatusCode::BAD_REQUEST,
            message: format!(
                "You must provide the 'OpenAI-Beta: {CHATKIT_BETA}' header to access the ChatKit \
                 API."
            ),
            kind: "invalid_request_error",
            param: None,
            code: Some("missing_beta_header"),
        })
    }
}

fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::unparsable_body())
}

fn fixture<'a>(state: &'a State, name: &str) -> Result<&'a OpenAiFixture, ApiError> {
    state
        .openai
        .get(name)
        .ok_or_else(|| ApiError::fake_internal(format!("fake: no fixture openai/{name}")))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The body of `PUT /__fake/threads/{id}`.
#[derive(serde::Deserialize)]
struct AddThread {
    fixture: String,
    user: String,
    newest_at: i64,
}

/// `/__fake/…`: control endpoints for tests that run the fake out of process.
/// Not recorded, not subject to faults, no key needed.
fn admin(state: &State, method: &str, path: &str, body: &[u8]) -> Reply {
    let no_content = Reply {
        status: StatusCode::NO_CONTENT,
        body: ReplyBody::Empty,
        retry_after: None,
    };
    let bad = |message: String| {
        Reply::from(ApiError {
            status: StatusCode::BAD_REQUEST,
            message,
            kind: "invalid_request_error",
            param: None,
            code: None,
        })
    };
    match (method, path) {
        ("GET", "requests") => {
            Reply::ok(serde_json::to_value(&*lock(&state.requests)).unwrap_or_default())
        }
        ("POST", "faults") => match serde_json::from_slice::<Fault>(body) {
            Ok(fault) => {
                lock(&state.faults).push_back(fault);
                no_content
            }
            Err(e) => bad(format!("invalid fault: {e}")),
        },
        ("POST", "summary-fixture") => {
            let file = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v["file"].as_str().map(str::to_owned));
            match file {
                Some(file) if state.openai.contains_key(&file) => {
                    *lock(&state.summary_fixture) = file;
                    no_content
                }
                Some(file) => bad(format!("no fixture openai/{file}")),
                None => bad("expected {\"file\": \"<name>.json\"}".to_owned()),
            }
        }
        ("PUT", path) if path.starts_with("threads/") => {
            let id = &path["threads/".len()..];
            match serde_json::from_slice::<AddThread>(body) {
                Ok(add) if state.add_thread(&add.fixture, id, &add.user, add.newest_at) => {
                    no_content
                }
                Ok(add) => bad(format!("no fixture thread chatkit/{}", add.fixture)),
                Err(e) => bad(format!(
                    "expected {{\"fixture\": \"cthr_…\", \"user\": \"…\", \"newest_at\": <unix seconds>}}: {e}"
                )),
            }
        }
        _ => Reply::from(ApiError::invalid_url(method, &format!("/__fake/{path}"))),
    }
}
