//! Serving the router on a public address with the limits `axum::serve`
//! lacks: a deadline for each request's header (which also closes idle
//! keep-alive connections: hyper starts the same timer while a connection
//! waits for its next request), the peer address for per-client limits, and
//! a graceful shutdown that lets requests in flight finish.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt as _;
use tracing::{debug, warn};

/// How connections are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// A connection that has not sent a whole request header this long
    /// after it opened, or after its previous response, is closed (slow
    /// clients; idle keep-alive). Default 10 s.
    pub header_timeout: Duration,
    /// After shutdown is asked for, requests in flight get this long to
    /// finish before their connections are dropped. Default 30 s.
    pub drain_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `router` on `listener` (HTTP/1.1) until `shutdown` completes,
/// then stops accepting and waits for requests in flight (up to
/// [`ServeOptions::drain_timeout`]). Every request carries the peer's
/// address as [`ConnectInfo`] (a `SocketAddr`).
///
/// # Errors
/// Never for a client's misbehaviour (that closes its connection); only
/// when the drain timeout passes with requests still running, which is
/// reported as `Err` so the caller can log it.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DrainTimedOut> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: back off briefly
                    // instead of spinning.
                    warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let service = TowerToHyperService::new(tower::service_fn(
            move |mut request: axum::http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(request.map(axum::body::Body::new))
            },
        ));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                debug!(error = %err, %peer, "connection closed");
            }
        });
    }
    drop(listener);
    tokio::time::timeout(options.drain_timeout, graceful.shutdown())
        .await
        .map_err(|_| DrainTimedOut)
}

/// Requests were still running when the drain timeout passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("requests were still running when the drain timeout passed")]
pub struct DrainTimedOut;
