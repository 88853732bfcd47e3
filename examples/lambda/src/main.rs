//! `chatkit-leads-lambda`: the Lambda function (packaged as `bootstrap` by
//! `cargo lambda build`). Cold start reads the settings, resolves secrets
//! from SSM and builds the router; then every invocation is one HTTP
//! request to it. See `docs/deploy-lambda.md`.
#![forbid(unsafe_code)]

use chatkit_leads_lambda_example::{Settings, build_router};
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

    let router = match cold_start().await {
        Ok(router) => router,
        Err(err) => {
            // Logged as well as returned: the runtime reports the exit,
            // the log group keeps the reason.
            error!("cold start failed: {err:#}");
            return Err(err);
        }
    };
    info!("ready");
    chatkit_leads_lambda::run(router)
        .await
        .map_err(anyhow::Error::from_boxed)
}

async fn cold_start() -> anyhow::Result<axum::Router> {
    let settings = Settings::from_env()?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    build_router(&settings, &aws).await
}
