//! The route handlers: HTTP onto the core's typed requests and outcomes.
//! Status codes come from the core (`LeadError::status_code`,
//! `MintError::status_code`); this module only serialises.

use std::sync::Arc;

use tokio::sync::Semaphore;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header::{ALLOW, CACHE_CONTROL, RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chatkit_leads_core::session::{MintError, SessionSettings};
use chatkit_leads_core::{
    ChatKitClient, Clock, ErrorResponse, LeadError, LeadOutcome, LeadRequest, LeadStore,
    LeadWorkflow, Mailer, SessionRequest, Summarizer, ThreadId,
};
use serde::Serialize;
use tracing::{Instrument, Span, warn};

use crate::deliveries::Deliveries;
use crate::error_body::error;
use crate::identity::UserIdentity;
use crate::rate_limit::{Endpoint, Limiter};
use crate::user_notes::UserNotes;

/// What every handler shares, behind one `Arc`: axum clones the state for
/// every request, and one reference count is cheaper than five (the
/// counters are shared by every core).
pub(crate) struct AppState<C, S, M, Z, K>(Arc<Shared<C, S, M, Z, K>>);

/// The contents of [`AppState`].
pub(crate) struct Shared<C, S, M, Z, K> {
    pub workflow: Arc<LeadWorkflow<C, S, M, Z, K>>,
    pub sessions: Option<SessionSettings>,
    pub identity: UserIdentity,
    pub limiter: Arc<Limiter>,
    pub user_notes: UserNotes<C, S, M, Z, K>,
    /// The in-flight slots `/session` and `/lead` share: beyond them, work is
    /// shed (503) rather than queued behind a slow model or mail server.
    /// Taken after the rate checks, so a client over its rate never takes
    /// one.
    pub slots: Semaphore,
    /// When the sinks get a lead `/lead` sent.
    pub deliveries: Deliveries,
}

impl<C, S, M, Z, K> AppState<C, S, M, Z, K> {
    pub(crate) fn new(shared: Shared<C, S, M, Z, K>) -> Self {
        Self(Arc::new(shared))
    }
}

// A derive would require the ports themselves to be `Clone`.
impl<C, S, M, Z, K> Clone for AppState<C, S, M, Z, K> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<C, S, M, Z, K> std::ops::Deref for AppState<C, S, M, Z, K> {
    type Target = Shared<C, S, M, Z, K>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// The message of a `POST /session` when minting is not configured.
pub(crate) const SESSIONS_NOT_CONFIGURED: &str = "session minting is not configured on this server: \
     set OPENAI_API_KEY and CHATKIT_WORKFLOW_ID";

/// The thread id `/readyz` reads: any valid id works, the record need not exist.
const PROBE_THREAD_ID: &str = "cthr_readyz_probe";

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A workflow error as the core's status table and message say.
fn lead_error(err: &LeadError) -> Response {
    error(status(err.status_code()), ErrorResponse::from(err).error)
}

/// A body that could not be read: 413 past the limit, else the extractor's
/// own status. Neither message echoes the body.
fn body_error(rejection: &BytesRejection) -> Response {
    let code = rejection.status();
    if code == StatusCode::PAYLOAD_TOO_LARGE {
        error(code, "request body is too large")
    } else {
        error(code, "request body could not be read")
    }
}

/// `{"ok": true}`.
#[derive(Serialize)]
struct Health {
    ok: bool,
}

/// The `POST /session` answer: the secret and its expiry, nothing else.
#[derive(Serialize)]
struct SessionResponse {
    client_secret: String,
    expires_at: i64,
}

/// `GET /healthz`: the process is up.
pub(crate) async fn healthz() -> Response {
    Json(Health { ok: true }).into_response()
}

/// `GET /readyz`: the lead store answers.
pub(crate) async fn readyz<C, S, M, Z, K>(State(state): State<AppState<C, S, M, Z, K>>) -> Response
where
    C: ChatKitClient + 'static,
    S: LeadStore + 'static,
    M: Mailer + 'static,
    Z: Summarizer + 'static,
    K: Clock + 'static,
{
    let Ok(probe) = ThreadId::parse(PROBE_THREAD_ID) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "invalid probe id");
    };
    match state.workflow.ports().store.get(&probe).await {
        Ok(_) => Json(Health { ok: true }).into_response(),
        Err(err) => {
            warn!(error = %err, "readiness probe: lead store unavailable");
            error(StatusCode::SERVICE_UNAVAILABLE, "lead store unavailable")
        }
    }
}

/// `POST /lead`.
pub(crate) async fn lead<C, S, M, Z, K>(
    State(state): State<AppState<C, S, M, Z, K>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response
where
    C: ChatKitClient + 'static,
    S: LeadStore + 'static,
    M: Mailer + 'static,
    Z: Summarizer + 'static,
    K: Clock + 'static,
{
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return body_error(&rejection),
    };
    // With cookies the body's `user` is never used: a malformed one is
    // ignored, not a 400.
    let parsed = if state.identity.uses_cookie() {
        LeadRequest::from_json_ignoring_user(&body)
    } else {
        LeadRequest::from_json(&body)
    };
    let mut request = match parsed {
        Ok(request) => request,
        Err(err) => return lead_error(&LeadError::BadRequest(err)),
    };
    Span::current().record("thread_id", tracing::field::display(&request.thread_id));
    request.user = state.identity.for_lead(&headers, request.user.take());
    if let Some(user) = &request.user
        && let Err(limited) = state.limiter.check_user(Endpoint::Lead, user)
    {
        return limited.into_response();
    }
    if let Some(known) = state.workflow.known_answer(&request) {
        return Json(known.to_response()).into_response();
    }
    // Work that may take seconds holds one of the in-flight slots (shared
    // with `/session`); answers known without I/O (above) need none.
    let Ok(_slot) = state.slots.try_acquire() else {
        return overloaded();
    };
    match state.workflow.process(&request).await {
        Ok(outcome) => {
            if matches!(
                outcome,
                LeadOutcome::Sent { .. } | LeadOutcome::UpdateSent { .. }
            ) {
                deliver(&state, request.thread_id).await;
            }
            Json(outcome.to_response()).into_response()
        }
        Err(err) => {
            // Without a record, this chat now depends on the sweeper, which
            // must know its user.
            if let (LeadError::Store(_), Some(user)) = (&err, &request.user) {
                state.user_notes.retry(user);
            }
            lead_error(&err)
        }
    }
}

/// Delivers `thread`'s events to the workflow's sinks, after the answer or
/// before it ([`Deliveries`]). Triggers that joined one run each get its
/// outcome; the claims in the record let one of them deliver.
async fn deliver<C, S, M, Z, K>(state: &AppState<C, S, M, Z, K>, thread: ThreadId)
where
    C: ChatKitClient + 'static,
    S: LeadStore + 'static,
    M: Mailer + 'static,
    Z: Summarizer + 'static,
    K: Clock + 'static,
{
    if !state.workflow.has_sinks() {
        return;
    }
    let workflow = Arc::clone(&state.workflow);
    let run = async move {
        if let Err(err) = workflow.deliver_due(&thread).await {
            warn!(error = %err, "deliveries failed; the sweep retries them");
        }
    };
    match state.deliveries {
        Deliveries::AfterAnswer => {
            tokio::spawn(run.instrument(Span::current()));
        }
        Deliveries::BeforeAnswer => run.await,
    }
}

/// `POST /session`.
pub(crate) async fn session<C, S, M, Z, K>(
    State(state): State<AppState<C, S, M, Z, K>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response
where
    C: ChatKitClient + 'static,
    S: LeadStore + 'static,
    M: Mailer + 'static,
    Z: Summarizer + 'static,
    K: Clock + 'static,
{
    let Some(settings) = &state.sessions else {
        return error(StatusCode::SERVICE_UNAVAILABLE, SESSIONS_NOT_CONFIGURED);
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return body_error(&rejection),
    };
    let mut request = match SessionRequest::from_json(&body) {
        Ok(request) => request,
        Err(err) => return error(StatusCode::BAD_REQUEST, err.to_string()),
    };
    let resolved = state.identity.for_session(&headers, request.user.take());
    let Some(user) = resolved.user else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not create a user id",
        );
    };
    // A user made up just now has no history to limit.
    if !resolved.fresh
        && let Err(limited) = state.limiter.check_user(Endpoint::Session, &user)
    {
        return limited.into_response();
    }
    let Ok(_slot) = state.slots.try_acquire() else {
        return overloaded();
    };
    let ports = state.workflow.ports();
    let shop = &state.workflow.config().shop;
    match settings
        .mint(&ports.chatkit, &ports.clock, shop, user.clone(), &request)
        .await
    {
        Ok(session) => {
            // The sweeper lists this user's threads later, to find chats
            // whose page never sent a trigger. A session is still a session
            // when that bookkeeping fails: it is retried in the background.
            state.user_notes.note(&user).await;
            let mut response = Json(SessionResponse {
                client_secret: session.client_secret,
                expires_at: session.expires_at,
            })
            .into_response();
            let headers = response.headers_mut();
            // The secret must not sit in a shared or browser cache.
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Some(cookie) = resolved
                .set_cookie
                .and_then(|c| HeaderValue::from_str(&c).ok())
            {
                headers.insert(SET_COOKIE, cookie);
            }
            response
        }
        Err(err) => {
            warn!(error = %err, "session minting failed");
            let message = match err {
                MintError::Request(_) => "session configuration is invalid",
                _ => "could not create a ChatKit session",
            };
            error(status(err.status_code()), message)
        }
    }
}

/// Any other method on a known path: 405 naming the allowed ones.
pub(crate) fn method_not_allowed(allowed: &'static str) -> Response {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method not allowed; use {allowed}"),
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allowed));
    response
}

/// More requests in flight than the router's limit: try again in a second.
fn overloaded() -> Response {
    let mut response = error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server is busy; retry shortly",
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// Unknown paths.
pub(crate) async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not found")
}
