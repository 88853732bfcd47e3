//! The background sweep of `serve`: one sweep every
//! `LEADS_SWEEP_INTERVAL_SECONDS`, finishing the one in progress before the
//! server exits.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::app::App;
use crate::settings::Settings;

/// The running loop (or none, when turned off).
pub struct Sweeper {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// Starts the loop unless the interval is 0. The first sweep runs one
/// interval after start-up.
pub fn start(app: &App, settings: &Settings) -> Sweeper {
    let (stop, mut stopped) = watch::channel(false);
    if settings.leads_sweep_interval_seconds == 0 {
        info!("background sweep off (LEADS_SWEEP_INTERVAL_SECONDS=0)");
        return Sweeper { stop, task: None };
    }
    let interval = Duration::from_secs(settings.leads_sweep_interval_seconds);
    let workflow = Arc::clone(&app.workflow);
    let sweep = settings.sweep();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                _ = stopped.changed() => return,
            }
            if let Err(err) = workflow.sweep(&sweep).await {
                warn!(error = %err, "sweep failed; next one in {} s", interval.as_secs());
            }
        }
    });
    info!(every_seconds = interval.as_secs(), "background sweep on");
    Sweeper {
        stop,
        task: Some(task),
    }
}

impl Sweeper {
    /// Stops the loop after the sweep in progress, if any.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task {
            let _ = task.await;
        }
    }
}
