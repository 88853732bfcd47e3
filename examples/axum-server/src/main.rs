//! `chatkit-leads-server`: the lead-intake server on embedded defaults
//! (SQLite file store, outbox mailer, 127.0.0.1:8787). See `--help`.
#![forbid(unsafe_code)]

mod backends;
mod preview;
mod settings;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chatkit_leads_axum::{CookieKey, LeadsRouter, UserIdentity};
use chatkit_leads_core::session::{SessionSettings, WorkflowId};
use chatkit_leads_core::{
    ChatKitClient, EmailAddress, Envelope, LeadConfig, LeadWorkflow, NoSummarizer, Ports,
    ShopProfile, Summarizer, SystemClock,
};
use chatkit_leads_openai::{ApiKey, OpenAiClient, OpenAiConfig};
use clap::Parser;
use tracing::{info, warn};

use crate::settings::{Mode, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let settings = Settings::parse();
    let app = build(&settings).await?;
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .with_context(|| format!("BIND: cannot listen on {}", settings.bind))?;
    info!(addr = %listener.local_addr()?, "listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server error")?;
    info!("stopped");
    Ok(())
}

/// Builds the router from the settings; every invalid setting is an error
/// naming it, before the server accepts a request.
async fn build(settings: &Settings) -> anyhow::Result<axum::Router> {
    let mode = settings.mode()?;
    let shop = match settings.leads_shop_config.as_deref() {
        Some(path) => ShopProfile::from_toml_file(path).context("LEADS_SHOP_CONFIG")?,
        None => ShopProfile::seed(),
    };
    let store = backends::store(&settings.leads_store).await?;
    let mailer = backends::mailer(&settings.leads_mailer).await?;

    let (chatkit, summarizer, sessions): (Arc<dyn ChatKitClient>, Arc<dyn Summarizer>, _) =
        match &mode {
            Mode::Live {
                api_key,
                workflow_id,
            } => {
                let mut config = OpenAiConfig::new(ApiKey::new(api_key.as_str()))
                    .with_base_url(&settings.openai_base_url)
                    .context("OPENAI_BASE_URL")?;
                config.summary_model = settings.lead_summary_model.clone();
                let client = Arc::new(OpenAiClient::new(config).context("OPENAI_API_KEY")?);
                let workflow = WorkflowId::parse(workflow_id).context("CHATKIT_WORKFLOW_ID")?;
                (client.clone(), client, Some(SessionSettings::new(workflow)))
            }
            Mode::Preview => (
                Arc::new(preview::sample_chatkit()?),
                Arc::new(NoSummarizer),
                None,
            ),
        };

    let envelope = envelope(settings, &mode, &shop.name)?;
    let mut config = LeadConfig::new(shop, envelope);
    config.lease.lease = Duration::from_secs(settings.leads_lease_seconds);
    config.lease.error_cooldown = Duration::from_secs(settings.leads_error_cooldown_seconds);
    config.summary_timeout = Duration::from_secs(settings.leads_summary_timeout_seconds);
    let ports = Ports {
        chatkit,
        store,
        mailer,
        summarizer,
        clock: SystemClock,
    };
    let workflow = LeadWorkflow::new(ports, config)
        .context("LEADS_LEASE_SECONDS / LEADS_SUMMARY_TIMEOUT_SECONDS / shop profile")?;

    let mut router = LeadsRouter::new(Arc::new(workflow))
        .cors_origins(settings.origins())
        .identity(identity(settings)?);
    match (&mode, sessions) {
        (Mode::Live { .. }, Some(sessions)) => {
            router = router.sessions(sessions);
            info!(store = %scheme(&settings.leads_store), mailer = %scheme(&settings.leads_mailer), "live mode");
        }
        _ => {
            warn!(
                "OFFLINE PREVIEW: OPENAI_API_KEY and CHATKIT_WORKFLOW_ID are not set; /session answers 503"
            );
            info!(threads = ?preview::sample_ids(), "bundled sample threads (POST /lead {{\"threadId\": …}})");
        }
    }
    let app = router
        .build()
        .context("ALLOWED_ORIGINS / LEADS_COOKIE_KEY")?;
    Ok(match mode {
        Mode::Live { .. } => app,
        Mode::Preview => {
            info!("demo page: GET /demo");
            app.merge(preview::demo_routes())
        }
    })
}

fn envelope(settings: &Settings, mode: &Mode, shop_name: &str) -> anyhow::Result<Envelope> {
    let preview = matches!(mode, Mode::Preview);
    let required =
        |value: &Option<String>, name: &str, preview_default: &str| -> anyhow::Result<String> {
            match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                Some(v) => Ok(v.to_owned()),
                None if preview => Ok(preview_default.to_owned()),
                None => anyhow::bail!("{name} is required in live mode"),
            }
        };
    let from_raw = required(
        &settings.lead_from_email,
        "LEAD_FROM_EMAIL",
        "leads@example.com",
    )?;
    let from = EmailAddress::parse(&from_raw).context("LEAD_FROM_EMAIL is not an email address")?;
    let to_raw = required(&settings.lead_to_email, "LEAD_TO_EMAIL", "shop@example.com")?;
    let to = to_raw
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            EmailAddress::parse(a)
                .with_context(|| "LEAD_TO_EMAIL has an entry that is not an email address")
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Envelope {
        from,
        from_name: Some(shop_name.to_owned()),
        to,
    })
}

fn identity(settings: &Settings) -> anyhow::Result<UserIdentity> {
    if settings.leads_trust_browser_user {
        warn!("LEADS_TRUST_BROWSER_USER: the browser's `user` is trusted");
        return Ok(UserIdentity::TrustBrowser);
    }
    let key = match settings.leads_cookie_key.as_deref() {
        Some(b64) => CookieKey::from_base64(b64.trim())
            .context("LEADS_COOKIE_KEY must be base64 of at least 32 bytes")?,
        None => {
            warn!("LEADS_COOKIE_KEY is not set: using a random key; user cookies reset on restart");
            CookieKey::new(random_key()).context("random cookie key")?
        }
    };
    Ok(UserIdentity::signed_cookie(key).with_same_site(settings.leads_cookie_samesite))
}

/// 32 random bytes from two v4 UUIDs (the OS random source).
fn random_key() -> Vec<u8> {
    [uuid_bytes(), uuid_bytes()].concat()
}

fn uuid_bytes() -> [u8; 16] {
    *uuid::Uuid::new_v4().as_bytes()
}

fn scheme(spec: &str) -> &str {
    spec.split([':', '/']).next().unwrap_or_default()
}

/// Completes on SIGTERM or ctrl-c; axum then stops accepting and lets
/// in-flight requests (and their leases) finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    info!("shutting down: finishing in-flight requests");
}
