#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod client_address;
mod deliveries;
mod error_body;
mod handlers;
mod identity;
mod rate_limit;
pub mod script;
pub mod serve;
mod user_notes;

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, HeaderValue, Method};
use axum::routing::{get, post};
use chatkit_leads_core::session::SessionSettings;
use chatkit_leads_core::{ChatKitClient, Clock, LeadStore, LeadWorkflow, Mailer, Summarizer};
use thiserror::Error;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, MakeSpan, TraceLayer};
use tracing::{Level, Span, info_span};

pub use crate::client_address::{ClientAddress, InvalidProxy};
pub use crate::deliveries::Deliveries;
use crate::handlers::{AppState, Shared};
pub use crate::identity::{
    CookieKey, DEFAULT_COOKIE_MAX_AGE, DEFAULT_COOKIE_NAME, IdentityError, KeyError, SameSite,
    UnknownSameSite, UserIdentity,
};
pub use crate::rate_limit::RateLimits;
use crate::rate_limit::{AddressGate, Endpoint, Limiter};

/// The body limit of both endpoints unless configured: 16 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// Default most `/session` and `/lead` requests in flight at once: far above
/// what a shop's site sends, low enough that a burst cannot queue without
/// bound behind a slow model.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// The request id header, read, generated when absent and echoed.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest accepted incoming request id; longer ones are replaced.
const MAX_REQUEST_ID_LEN: usize = 128;

/// How long browsers may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The router's settings could not work.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A CORS origin is not `http(s)://host[:port]` (no path, no wildcard).
    #[error("CORS origin `{0}` must be http(s)://host[:port], exactly as the browser sends it")]
    InvalidOrigin(String),
    /// The body limit is zero.
    #[error("the body limit must be at least 1 byte")]
    ZeroBodyLimit,
    /// The in-flight limit is zero.
    #[error("the in-flight limit must be at least 1 request")]
    ZeroInFlight,
    /// The identity settings are invalid.
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

/// Builds the [`Router`]: the workflow is required, everything else has a
/// default (no session minting, no CORS headers, 16 KiB, trust the browser).
pub struct LeadsRouter<C, S, M, Z, K> {
    workflow: Arc<LeadWorkflow<C, S, M, Z, K>>,
    sessions: Option<SessionSettings>,
    cors_origins: Vec<String>,
    body_limit: usize,
    max_in_flight: usize,
    rate_limits: RateLimits,
    client_address: ClientAddress,
    identity: UserIdentity,
    browser_script: bool,
    deliveries: Deliveries,
}

impl<C, S, M, Z, K> LeadsRouter<C, S, M, Z, K>
where
    C: ChatKitClient + 'static,
    S: LeadStore + 'static,
    M: Mailer + 'static,
    Z: Summarizer + 'static,
    K: Clock + 'static,
{
    /// A router for `workflow`. Without [`LeadsRouter::sessions`],
    /// `POST /session` answers 503 (an offline preview server).
    pub fn new(workflow: Arc<LeadWorkflow<C, S, M, Z, K>>) -> Self {
        Self {
            workflow,
            sessions: None,
            cors_origins: Vec::new(),
            body_limit: DEFAULT_BODY_LIMIT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            rate_limits: RateLimits::default(),
            client_address: ClientAddress::default(),
            identity: UserIdentity::default(),
            browser_script: true,
            deliveries: Deliveries::default(),
        }
    }

    /// When the sinks get a lead sent by `/lead` (default: after the
    /// answer). Without sinks on the workflow this changes nothing.
    pub fn deliveries(mut self, when: Deliveries) -> Self {
        self.deliveries = when;
        self
    }

    /// Enables `POST /session`: sessions of `settings`' workflow, minted
    /// with the workflow's ChatKit client and clock, and state variables for
    /// the workflow's shop (`LeadConfig::shop`).
    pub fn sessions(mut self, settings: SessionSettings) -> Self {
        self.sessions = Some(settings);
        self
    }

    /// The origins allowed to call the endpoints from a browser, exactly as
    /// browsers send them (`https://www.shop.example`, no path; a trailing
    /// `/` is dropped). Replaces earlier calls; empty (the default) sends no
    /// CORS headers at all, for same-origin deployments.
    pub fn cors_origins<I>(mut self, origins: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.cors_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// The largest accepted request body, in bytes ([`DEFAULT_BODY_LIMIT`]).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The most `/session` and `/lead` requests worked on at once
    /// ([`DEFAULT_MAX_IN_FLIGHT`]); more are answered at once with `503` and
    /// `Retry-After: 1` instead of queueing (load shedding). Health probes
    /// and the browser script are not counted, so they keep answering.
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.max_in_flight = requests;
        self
    }

    /// Requests a minute per client address and per user on each of
    /// `/session` and `/lead` ([`RateLimits::default`]: 60 and 20); past
    /// them a request is answered `429` with `Retry-After` before any work,
    /// so a limited `/lead` leaves nothing that blocks the next trigger.
    /// The counts are per process (see [`RateLimits`]).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Where the client's address comes from ([`ClientAddress::Peer`]
    /// unless set): behind a reverse proxy, name the proxies with
    /// [`ClientAddress::trusted_proxies`] so `X-Forwarded-For` is believed
    /// from them and only from them.
    pub fn client_address(mut self, source: ClientAddress) -> Self {
        self.client_address = source;
        self
    }

    /// How the ChatKit `user` is decided ([`UserIdentity::TrustBrowser`]
    /// unless set; the examples use [`UserIdentity::signed_cookie`]).
    pub fn identity(mut self, identity: UserIdentity) -> Self {
        self.identity = identity;
        self
    }

    /// Whether the router serves the browser script, `GET /chatkit-leads.js`
    /// and `GET /chatkit-leads.mjs` ([`script`]; on by default). Turn it off
    /// when the shop serves the file from its own site or a CDN.
    pub fn browser_script(mut self, serve: bool) -> Self {
        self.browser_script = serve;
        self
    }

    /// The router, ready to serve or nest. Its state is already applied.
    pub fn build(self) -> Result<Router, BuildError> {
        if self.body_limit == 0 {
            return Err(BuildError::ZeroBodyLimit);
        }
        if self.max_in_flight == 0 {
            return Err(BuildError::ZeroInFlight);
        }
        self.identity.validate()?;
        let cors = cors_layer(&self.cors_origins, self.identity.uses_cookie())?;
        let limiter = Arc::new(Limiter::new(self.rate_limits, self.client_address));
        let gate = |endpoint| AddressGate::new(Arc::clone(&limiter), endpoint);
        let state = AppState::new(Shared {
            user_notes: user_notes::UserNotes::new(Arc::clone(&self.workflow)),
            workflow: self.workflow,
            sessions: self.sessions,
            identity: self.identity,
            limiter: Arc::clone(&limiter),
            slots: Semaphore::new(self.max_in_flight),
            deliveries: self.deliveries,
        });
        let work = Router::new()
            .route(
                "/session",
                post(handlers::session::<C, S, M, Z, K>)
                    .fallback(|| async { handlers::method_not_allowed("POST") })
                    .layer(gate(Endpoint::Session)),
            )
            .route(
                "/lead",
                post(handlers::lead::<C, S, M, Z, K>)
                    .fallback(|| async { handlers::method_not_allowed("POST") })
                    .layer(gate(Endpoint::Lead)),
            );
        let router = Router::new()
            .merge(work)
            .route(
                "/healthz",
                get(handlers::healthz)
                    .fallback(|| async { handlers::method_not_allowed("GET, HEAD") }),
            )
            .route(
                "/readyz",
                get(handlers::readyz::<C, S, M, Z, K>)
                    .fallback(|| async { handlers::method_not_allowed("GET, HEAD") }),
            )
            .fallback(handlers::not_found)
            .with_state(state)
            .layer(DefaultBodyLimit::max(self.body_limit));
        let router = match cors {
            Some(cors) => router.layer(cors),
            None => router,
        };
        let router = if self.browser_script {
            router.merge(script::routes())
        } else {
            router
        };
        // `Router::layer` wraps what is already there, so the last layer is
        // the outermost: ids are fixed first, then the span opens, then the
        // id is copied to the response (preflight answers included).
        let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
        Ok(router
            .layer(PropagateRequestIdLayer::new(request_id.clone()))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(RequestSpan)
                    .on_response(DefaultOnResponse::new().level(Level::INFO)),
            )
            .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
            .layer(axum::middleware::map_request(drop_unusable_request_id)))
    }
}

/// The CORS layer for `origins`, or `None` when the list is empty.
fn cors_layer(origins: &[String], credentials: bool) -> Result<Option<CorsLayer>, BuildError> {
    if origins.is_empty() {
        return Ok(None);
    }
    let list = origins
        .iter()
        .map(|o| parse_origin(o).ok_or_else(|| BuildError::InvalidOrigin(o.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_methods([Method::POST, Method::GET, Method::OPTIONS])
            .allow_headers([CONTENT_TYPE])
            .expose_headers([HeaderName::from_static(REQUEST_ID_HEADER)])
            .allow_credentials(credentials)
            .max_age(PREFLIGHT_MAX_AGE),
    ))
}

/// `scheme://host[:port]` in lower case, as browsers send `Origin`. A
/// wildcard, a path or anything else is refused.
fn parse_origin(raw: &str) -> Option<HeaderValue> {
    let origin = raw.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))?;
    let valid = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if valid {
        HeaderValue::from_str(&origin).ok()
    } else {
        None
    }
}

/// Opens the `request` span. `thread_id` is filled in by `/lead` once the
/// body is parsed; nothing else from the request (headers, query, body)
/// is recorded.
#[derive(Debug, Clone, Copy)]
struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &axum::http::Request<B>) -> Span {
        let request_id = request
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        info_span!(
            "request",
            method = %request.method(),
            path = %request.uri().path(),
            request_id = %request_id,
            thread_id = tracing::field::Empty,
        )
    }
}

/// A client's `x-request-id` is logged and echoed, so only short ids of
/// `[A-Za-z0-9._:-]` are kept; anything else is replaced by a fresh one.
async fn drop_unusable_request_id(mut request: Request) -> Request {
    let usable = request.headers().get(REQUEST_ID_HEADER).is_none_or(|v| {
        let bytes = v.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
    });
    if !usable {
        request.headers_mut().remove(REQUEST_ID_HEADER);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_and_wildcards_refused() {
        assert_eq!(
            parse_origin("https://WWW.Shop.example/"),
            Some(HeaderValue::from_static("https://www.shop.example"))
        );
        assert_eq!(
            parse_origin("http://localhost:4321"),
            Some(HeaderValue::from_static("http://localhost:4321"))
        );
        for bad in [
            "*",
            "null",
            "https://",
            "shop.example",
            "https://a/b",
            "ftp://a",
        ] {
            assert_eq!(parse_origin(bad), None, "{bad}");
        }
    }
}
