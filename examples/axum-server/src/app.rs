//! The server assembled from its settings: the workflow (store, mailer,
//! OpenAI or the offline preview) and the router around it. Every invalid
//! setting is an error naming it, before anything is served or run.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chatkit_leads_axum::{CookieKey, LeadsRouter, UserIdentity};
use chatkit_leads_core::session::{SessionSettings, WorkflowId};
use chatkit_leads_core::settings_file::{PolicySettings, SettingsFile};
use chatkit_leads_core::{
    ChatKitClient, EmailAddress, Envelope, LeadConfig, LeadStore, LeadWorkflow, Mailer,
    NoSummarizer, Ports, ShopProfile, Summarizer, SystemClock, UpdatePolicy,
};
use chatkit_leads_openai::{ApiKey, OpenAiClient, OpenAiConfig};
use chatkit_leads_webhook::SinkSettings;
use tracing::{info, warn};

use crate::choice::Backends;
use crate::settings::{Mode, Settings};
use crate::{backends, preview};

/// The workflow every command runs on: adapters chosen at start-up.
pub type Workflow = LeadWorkflow<
    Arc<dyn ChatKitClient>,
    Arc<dyn LeadStore>,
    Arc<dyn Mailer>,
    Arc<dyn Summarizer>,
    SystemClock,
>;

/// The workflow and what the router adds to it.
pub struct App {
    /// The lead workflow.
    pub workflow: Arc<Workflow>,
    /// Live or offline preview.
    pub mode: Mode,
    /// Session minting, in live mode.
    sessions: Option<SessionSettings>,
    /// The store and mailer in use, and why.
    pub backends: Backends,
}

impl App {
    /// Opens the store and the mailer and builds the workflow.
    pub async fn assemble(settings: &Settings) -> anyhow::Result<Self> {
        let mode = settings.mode()?;
        let text = settings_file(settings.leads_shop_config.as_deref())?;
        let file = match &text {
            Some(text) => Some(SettingsFile::parse(text).context("LEADS_SHOP_CONFIG")?),
            None => None,
        };
        let shop = file
            .as_ref()
            .map_or_else(ShopProfile::seed, |file| file.shop.clone());
        let chosen = Backends::choose(settings, &mode);
        let store = backends::store(&chosen.store).await?;
        let mailer = backends::mailer(&chosen.mailer).await?;

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
                    let sessions = settings
                        .sessions(workflow)
                        .context("LEADS_FILE_UPLOAD… / LEADS_SESSION…")?;
                    (client.clone(), client, Some(sessions))
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
        config.quiet_period = Some(Duration::from_secs(settings.leads_quiet_period_seconds))
            .filter(|quiet| !quiet.is_zero());
        config.recheck_after = Duration::from_secs(settings.leads_sweep_recheck_seconds);
        config.updates = UpdatePolicy::checking_every(settings.leads_update_check_seconds);
        config.photos = settings.photo_policy();
        if let Some(file) = &file {
            file.apply(&mut config);
        }
        // The environment's policies win over the file's.
        let lookup = |name: &str| match &file {
            Some(file) => file.lookup(name, |n| std::env::var(n).ok()),
            None => std::env::var(name).ok(),
        };
        PolicySettings::default()
            .overridden_by(lookup)?
            .apply(&mut config);
        let ports = Ports {
            chatkit,
            store,
            mailer,
            summarizer,
            clock: SystemClock,
        };
        let mut workflow = LeadWorkflow::new(ports, config)
            .context("LEADS_LEASE_SECONDS / LEADS_SUMMARY_TIMEOUT_SECONDS / shop profile")?;
        // The offline preview's sample links lead nowhere: photos are live only.
        if let (Mode::Live { .. }, Some(fetcher)) = (&mode, settings.photo_fetcher()?) {
            workflow = workflow.with_photos(Arc::new(fetcher));
        }
        let sinks = sink_settings(text.as_deref(), lookup)?;
        let built = sinks.sinks()?;
        if !built.is_empty() {
            let ids: Vec<&str> = built.iter().map(|sink| sink.id()).collect();
            info!(sinks = ?ids, "leads are delivered to these sinks too");
        }
        workflow = workflow
            .with_sinks(built)
            .with_transcript_for_sinks(sinks.transcript);
        Ok(Self {
            workflow: Arc::new(workflow),
            mode,
            sessions,
            backends: chosen,
        })
    }

    /// The HTTP router: the leads routes, and in the offline preview the
    /// demo page.
    pub fn router(&self, settings: &Settings) -> anyhow::Result<axum::Router> {
        let mut router = LeadsRouter::new(Arc::clone(&self.workflow))
            .max_in_flight(usize::try_from(settings.leads_max_in_flight).unwrap_or(usize::MAX))
            .rate_limits(settings.rate_limits())
            .client_address(settings.client_address().context("LEADS_TRUSTED_PROXIES")?)
            .cors_origins(settings.origins())
            .identity(identity(settings)?);
        match (&self.mode, &self.sessions) {
            (Mode::Live { .. }, Some(sessions)) => {
                router = router.sessions(sessions.clone());
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
        Ok(match self.mode {
            Mode::Live { .. } => app,
            Mode::Preview => {
                info!("demo page: GET /demo");
                app.merge(preview::demo_routes())
            }
        })
    }
}

/// The settings file (`LEADS_SHOP_CONFIG`), read once: the shop profile,
/// the policies, the drafts' languages and the webhooks all come from it.
fn settings_file(path: Option<&std::path::Path>) -> anyhow::Result<Option<String>> {
    path.map(|path| {
        std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("LEADS_SHOP_CONFIG: cannot read it: {}", e.kind()))
    })
    .transpose()
}

/// The sinks of the environment (`LEADS_WEBHOOK_…`, `LEADS_SLACK_…`, or
/// the settings file's `[settings]`) and of its `[[webhooks]]` tables.
fn sink_settings(
    file: Option<&str>,
    lookup: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<SinkSettings> {
    let sinks = SinkSettings::from_lookup(lookup)?;
    Ok(match file {
        Some(text) => sinks.with_file(text)?,
        None => sinks,
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

/// The kind of a store or mailer setting (`sqlite`, `smtp`, …), which is
/// safe to print: the rest may hold a password.
pub fn scheme(spec: &str) -> &str {
    spec.split([':', '/']).next().unwrap_or_default()
}
