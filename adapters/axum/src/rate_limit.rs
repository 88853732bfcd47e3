//! Per-client request rates on `/session` and `/lead` (governor's GCRA):
//! one budget per client address and one per server-bound user, each per
//! endpoint, so minting a session never eats the budget of the triggers.
//!
//! The counts live in this process: with several instances a client may
//! get up to that many times the rate, and on Lambda each warm execution
//! environment counts on its own. Put a shared limit in front (a reverse
//! proxy, API Gateway throttling, a WAF rule) when that matters.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use chatkit_leads_core::UserId;
use futures::future::Either;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::sync::Arc;
use tower::{Layer, Service};

use crate::client_address::{ClientAddress, limit_key};
use crate::error_body::error;

/// How many requests a minute one client may make to each of `/session`
/// and `/lead`; up to that many may come at once, then they refill evenly.
/// `None` turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Per client address (an IPv6 client by its /64). Several visitors
    /// behind one office or mobile-carrier NAT share it, hence generous.
    pub per_address: Option<NonZeroU32>,
    /// Per server-bound user (the signed cookie's user; in trust-the-browser
    /// mode the body's claim). A page mints a session per load and fires a
    /// few triggers per chat, far below this.
    pub per_user: Option<NonZeroU32>,
}

impl RateLimits {
    /// No rate limits (e.g. when a gateway in front already limits).
    pub const OFF: Self = Self {
        per_address: None,
        per_user: None,
    };
}

impl Default for RateLimits {
    /// 60 a minute per address, 20 a minute per user, on each endpoint.
    fn default() -> Self {
        Self {
            per_address: NonZeroU32::new(60),
            per_user: NonZeroU32::new(20),
        }
    }
}

/// The two rate-limited endpoints; each has its own budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Endpoint {
    Session,
    Lead,
}

impl Endpoint {
    fn label(self) -> &'static str {
        match self {
            Self::Session => "session",
            Self::Lead => "lead",
        }
    }
}

/// Checks between two sweeps of keys that have refilled completely.
const PRUNE_EVERY: u64 = 4096;

/// The limiters of one router.
pub(crate) struct Limiter {
    by_address: Option<DefaultKeyedRateLimiter<(Endpoint, IpAddr)>>,
    by_user: Option<DefaultKeyedRateLimiter<(Endpoint, UserId)>>,
    source: ClientAddress,
    checks: AtomicU64,
}

/// A request over its budget: how long until the next one may pass.
pub(crate) struct Limited(Duration);

impl Limiter {
    pub(crate) fn new(limits: RateLimits, source: ClientAddress) -> Self {
        Self {
            by_address: limits
                .per_address
                .map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_minute(n))),
            by_user: limits
                .per_user
                .map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_minute(n))),
            source,
            checks: AtomicU64::new(0),
        }
    }

    /// Counts a request from `user` against its budget on `endpoint`.
    pub(crate) fn check_user(&self, endpoint: Endpoint, user: &UserId) -> Result<(), Limited> {
        let Some(limiter) = &self.by_user else {
            return Ok(());
        };
        self.prune_now_and_then();
        limiter
            .check_key(&(endpoint, user.clone()))
            .map_err(|not_until| {
                metrics::counter!("chatkit_leads_rate_limited_total",
                    "endpoint" => endpoint.label(), "by" => "user")
                .increment(1);
                Limited(not_until.wait_time_from(DefaultClock::default().now()))
            })
    }

    fn check_address(&self, endpoint: Endpoint, request: &Request) -> Result<(), Limited> {
        let Some(limiter) = &self.by_address else {
            return Ok(());
        };
        let Some(ip) = self.source.resolve(request.extensions(), request.headers()) else {
            return Ok(());
        };
        self.prune_now_and_then();
        limiter
            .check_key(&(endpoint, limit_key(ip)))
            .map_err(|not_until| {
                metrics::counter!("chatkit_leads_rate_limited_total",
                    "endpoint" => endpoint.label(), "by" => "address")
                .increment(1);
                Limited(not_until.wait_time_from(DefaultClock::default().now()))
            })
    }

    /// Keys whose budget has refilled are dropped now and then, so a stream
    /// of one-time clients does not grow memory without bound.
    fn prune_now_and_then(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            for limiter in self.by_address.iter() {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
            for limiter in self.by_user.iter() {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
    }
}

impl Limited {
    /// `429` with `Retry-After` in whole seconds (at least 1).
    pub(crate) fn into_response(self) -> Response {
        let seconds = self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0);
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests from this client; retry later",
        );
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        response
    }
}

/// The per-address gate in front of one endpoint: answers `429` before the
/// body is read (and so before an in-flight slot is taken).
///
/// A tower layer rather than `axum::middleware::from_fn`: that boxes a
/// future and clones the inner service for every request, which showed in
/// the profile of the `already_sent` fast path.
#[derive(Clone)]
pub(crate) struct AddressGate {
    limiter: Arc<Limiter>,
    endpoint: Endpoint,
}

impl AddressGate {
    pub(crate) fn new(limiter: Arc<Limiter>, endpoint: Endpoint) -> Self {
        Self { limiter, endpoint }
    }
}

impl<S> Layer<S> for AddressGate {
    type Service = Gated<S>;

    fn layer(&self, inner: S) -> Gated<S> {
        Gated {
            gate: self.clone(),
            inner,
        }
    }
}

/// A service behind an [`AddressGate`].
#[derive(Clone)]
pub(crate) struct Gated<S> {
    gate: AddressGate,
    inner: S,
}

impl<S> Service<Request> for Gated<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // A handler is always ready; the in-flight slots are taken inside
        // the handlers, after this gate.
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self
            .gate
            .limiter
            .check_address(self.gate.endpoint, &request)
        {
            Ok(()) => Either::Right(self.inner.call(request)),
            Err(limited) => Either::Left(ready(Ok(limited.into_response()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;

    fn from(ip: &str) -> Request {
        let mut request = Request::new(axum::body::Body::empty());
        let addr = SocketAddr::new(ip.parse().expect("ip"), 1234);
        request.extensions_mut().insert(ConnectInfo(addr));
        request
    }

    fn limits(per_address: u32, per_user: u32) -> RateLimits {
        RateLimits {
            per_address: NonZeroU32::new(per_address),
            per_user: NonZeroU32::new(per_user),
        }
    }

    #[test]
    fn each_address_and_endpoint_has_its_own_budget() {
        let limiter = Limiter::new(limits(2, 0), ClientAddress::Peer);
        let a = from("203.0.113.1");
        assert!(limiter.check_address(Endpoint::Lead, &a).is_ok());
        assert!(limiter.check_address(Endpoint::Lead, &a).is_ok());
        let Err(Limited(wait)) = limiter.check_address(Endpoint::Lead, &a) else {
            panic!("the third request in a minute is over the budget");
        };
        // Two a minute refill one every 30 s.
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30));
        assert!(limiter.check_address(Endpoint::Session, &a).is_ok());
        assert!(
            limiter
                .check_address(Endpoint::Lead, &from("203.0.113.2"))
                .is_ok()
        );
        // An IPv6 client cannot dodge the limit inside its /64.
        assert!(
            limiter
                .check_address(Endpoint::Lead, &from("2001:db8::1"))
                .is_ok()
        );
        assert!(
            limiter
                .check_address(Endpoint::Lead, &from("2001:db8::2"))
                .is_ok()
        );
        assert!(
            limiter
                .check_address(Endpoint::Lead, &from("2001:db8::3"))
                .is_err()
        );
    }

    #[test]
    fn users_are_limited_apart_from_addresses_and_off_means_off() {
        let limiter = Limiter::new(limits(0, 1), ClientAddress::Peer);
        let user = UserId::parse("anon_1").expect("user");
        assert!(limiter.check_user(Endpoint::Lead, &user).is_ok());
        assert!(limiter.check_user(Endpoint::Lead, &user).is_err());
        let other = UserId::parse("anon_2").expect("user");
        assert!(limiter.check_user(Endpoint::Lead, &other).is_ok());
        let a = from("203.0.113.1");
        for _ in 0..100 {
            assert!(limiter.check_address(Endpoint::Lead, &a).is_ok());
        }
        let off = Limiter::new(RateLimits::OFF, ClientAddress::Peer);
        for _ in 0..100 {
            assert!(off.check_user(Endpoint::Lead, &user).is_ok());
        }
    }

    #[test]
    fn the_answer_is_429_with_whole_seconds_to_wait() {
        let response = Limited(Duration::from_millis(2100)).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[RETRY_AFTER], "3");
        let response = Limited(Duration::ZERO).into_response();
        assert_eq!(response.headers()[RETRY_AFTER], "1");
    }
}
