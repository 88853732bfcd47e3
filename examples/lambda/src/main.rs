//! `chatkit-leads-lambda`: the Lambda function (packaged as `bootstrap` by
//! `cargo lambda build`). Cold start reads the settings, resolves secrets
//! from SSM and builds the router; then every invocation is one HTTP
//! request to it, or (EventBridge, on a schedule) one sweep. See
//! `docs/deploy-lambda.md`.
#![forbid(unsafe_code)]

use std::sync::Arc;

use chatkit_leads_lambda_example::{Function, Settings, build};
use tracing::{error, info};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // CloudWatch stamps every line itself; no colours in a log group.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(false)
        .without_time()
        .init();

    let function = match cold_start().await {
        Ok(function) => Arc::new(function),
        Err(err) => {
            // Logged as well as returned: the runtime reports the exit,
            // the log group keeps the reason.
            error!("cold start failed: {err:#}");
            return Err(err);
        }
    };
    info!("ready");
    let router = function.router.clone();
    chatkit_leads_lambda::run_with_schedule(router, move || {
        let function = Arc::clone(&function);
        async move { Ok(function.sweep().await?) }
    })
    .await
    .map_err(anyhow::Error::from_boxed)
}

async fn cold_start() -> anyhow::Result<Function> {
    let settings = Settings::from_env()?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    build(&settings, &aws).await
}
