//! The admin listener (`LEADS_ADMIN_BIND`, off by default): Prometheus
//! metrics at `/metrics`, on an address of its own so that the public
//! listener — the one a shop's website talks to — never serves them.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// Seconds a lead takes, from "already sent" (milliseconds) to a slow
/// model (the 45 s summary timeout).
const LEAD_SECONDS: &[f64] = &[
    0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// How often histograms are folded (the handle needs it when no exporter
/// task of the crate's own runs).
const UPKEEP: Duration = Duration::from_secs(5);

/// The running admin listener.
pub struct Admin {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Installs the Prometheus recorder and serves `/metrics` on `bind`.
///
/// # Errors
/// When a recorder is already installed or `bind` cannot be listened on.
pub async fn start(bind: SocketAddr) -> anyhow::Result<Admin> {
    let handle = PrometheusBuilder::new()
        .set_buckets(LEAD_SECONDS)
        .context("metric buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("LEADS_ADMIN_BIND: cannot listen on {bind}"))?;
    info!(addr = %listener.local_addr()?, "admin listener: GET /metrics");
    let (stop, stopped) = watch::channel(false);
    let serve = tokio::spawn(serve(listener, handle.clone(), stopped.clone()));
    let upkeep = tokio::spawn(upkeep(handle, stopped));
    Ok(Admin {
        stop,
        tasks: vec![serve, upkeep],
    })
}

async fn serve(
    listener: TcpListener,
    handle: PrometheusHandle,
    mut stopped: watch::Receiver<bool>,
) {
    let router = Router::new().route("/metrics", get(move || async move { handle.render() }));
    let shutdown = async move {
        let _ = stopped.changed().await;
    };
    if let Err(err) = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
    {
        warn!(error = %err, "admin listener failed");
    }
}

async fn upkeep(handle: PrometheusHandle, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(UPKEEP) => handle.run_upkeep(),
            _ = stopped.changed() => return,
        }
    }
}

impl Admin {
    /// Stops serving (after the public listener has stopped).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
