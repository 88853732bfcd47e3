//! # chatkit-leads on AWS Lambda
//!
//! One function behind one Function URL serves the whole browser contract
//! (`POST /session`, `POST /lead`, `GET /healthz`, `GET /readyz`): the axum
//! router of `chatkit-leads-axum`, run by `chatkit-leads-lambda`, over
//!
//! - the OpenAI adapter (ChatKit REST and the Responses API summary),
//! - a DynamoDB table for the send-once lease (`LEAD_DEDUPE_TABLE_NAME`, the
//!   seed's table works as it is),
//! - SES v2 for the email.
//!
//! EventBridge invokes the same function on a schedule to sweep: recover
//! chats whose page never sent a trigger ([`Function::sweep`]).
//!
//! Everything is set up at cold start by [`build`] from [`Settings`]
//! (the server's environment names); secrets may be SSM parameter names,
//! read once per cold start. A missing or invalid setting fails the cold
//! start with an error naming it, so a misconfigured deploy never answers
//! a visitor with a 500. `template.yaml` deploys it; `docs/deploy-lambda.md`
//! walks through it.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::sync::Arc;
//!
//! use chatkit_leads_lambda_example::{Settings, build};
//!
//! let settings = Settings::from_env()?;
//! let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let function = Arc::new(build(&settings, &aws).await?);
//! let router = function.router.clone();
//! chatkit_leads_lambda::run_with_schedule(router, move || {
//!     let function = Arc::clone(&function);
//!     async move { Ok(function.sweep().await?) }
//! })
//! .await
//! .map_err(anyhow::Error::from_boxed)?;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod secrets;
mod settings;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use aws_config::SdkConfig;
use chatkit_leads_axum::{CookieKey, Deliveries, LeadsRouter, UserIdentity};
use chatkit_leads_core::session::{SessionSettings, WorkflowId};
use chatkit_leads_core::settings_file::SettingsFile;
use chatkit_leads_core::sweep::{SweepSettings, SweepSummary};
use chatkit_leads_core::{
    Envelope, LeadConfig, LeadError, LeadWorkflow, Ports, ShopProfile, SystemClock, UpdatePolicy,
};
use chatkit_leads_dynamodb::DynamoStore;
use chatkit_leads_openai::{ApiKey, OpenAiClient, OpenAiConfig};
use chatkit_leads_photos::HttpPhotoFetcher;
use chatkit_leads_ses::SesMailer;

pub use crate::settings::{
    DEFAULT_OPENAI_BASE_URL, DEFAULT_SUMMARY_MODEL, Identity, Secret, Settings,
};

/// The workflow on the function's adapters.
pub type Workflow =
    LeadWorkflow<Arc<OpenAiClient>, DynamoStore, SesMailer, Arc<OpenAiClient>, SystemClock>;

/// What a cold start builds: the router for HTTP events, and the sweep for
/// scheduled ones, over one workflow.
pub struct Function {
    /// The axum router serving `/session`, `/lead`, `/healthz`, `/readyz`.
    pub router: axum::Router,
    workflow: Arc<Workflow>,
    sweep: SweepSettings,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("sweep", &self.sweep)
            .finish_non_exhaustive()
    }
}

impl Function {
    /// One sweep (a scheduled invocation): its counts, also logged.
    ///
    /// # Errors
    /// When the store cannot list users or due threads.
    pub async fn sweep(&self) -> Result<SweepSummary, LeadError> {
        Ok(self.workflow.sweep(&self.sweep).await?.summary())
    }
}

/// Builds the function: secrets from SSM when given as parameter names,
/// the shop profile, the OpenAI client, the DynamoDB store and the SES
/// mailer (both on `aws`, the SDK configuration), the workflow, and the
/// axum router with session minting, CORS and the user identity.
///
/// Nothing here talks to DynamoDB or SES yet (`GET /readyz` checks the
/// table); only SSM is called, and only when a secret is a parameter.
///
/// # Errors
/// When a secret cannot be read from SSM, the shop profile is unreadable,
/// or a setting is invalid (base URL, workflow id, cookie key, origins,
/// timings); each message names the setting.
pub async fn build(settings: &Settings, aws: &SdkConfig) -> anyhow::Result<Function> {
    let secrets = secrets::resolve(settings, aws).await?;
    // The settings file, read once: shop, policies, drafts' languages, webhooks.
    let file = match settings.leads_shop_config.as_deref() {
        Some(path) => Some(std::fs::read_to_string(path).context("LEADS_SHOP_CONFIG")?),
        None => None,
    };
    let parsed = match &file {
        Some(text) => Some(SettingsFile::parse(text).context("LEADS_SHOP_CONFIG")?),
        None => None,
    };
    let shop = parsed
        .as_ref()
        .map_or_else(ShopProfile::seed, |parsed| parsed.shop.clone());

    let mut openai = OpenAiConfig::new(ApiKey::new(secrets.openai_api_key.as_str()))
        .with_base_url(&settings.openai_base_url)
        .context("OPENAI_BASE_URL")?;
    openai.summary_model = settings.lead_summary_model.clone();
    let openai = Arc::new(OpenAiClient::new(openai).context("OPENAI_API_KEY")?);
    let workflow_id = WorkflowId::parse(&secrets.chatkit_workflow_id)
        .context("CHATKIT_WORKFLOW_ID must look like wf_…")?;

    let envelope = Envelope {
        from: settings.lead_from_email.clone(),
        from_name: Some(shop.name.clone()),
        to: settings.lead_to_email.clone(),
    };
    let mut config = LeadConfig::new(shop, envelope);
    config.lease.lease = Duration::from_secs(settings.leads_lease_seconds);
    config.lease.error_cooldown = Duration::from_secs(settings.leads_error_cooldown_seconds);
    config.summary_timeout = Duration::from_secs(settings.leads_summary_timeout_seconds);
    config.quiet_period =
        Some(Duration::from_secs(settings.leads_quiet_period_seconds)).filter(|q| !q.is_zero());
    config.recheck_after = Duration::from_secs(settings.leads_sweep_recheck_seconds);
    config.updates = UpdatePolicy::checking_every(settings.leads_update_check_seconds);
    if let Some((photos, _)) = &settings.photos {
        config.photos = *photos;
    }
    if let Some(parsed) = &parsed {
        parsed.apply(&mut config);
    }
    settings.policy.apply(&mut config);

    let ports = Ports {
        chatkit: Arc::clone(&openai),
        store: DynamoStore::new(
            aws_sdk_dynamodb::Client::new(aws),
            settings.lead_dedupe_table_name.as_str(),
        ),
        mailer: SesMailer::new(aws_sdk_sesv2::Client::new(aws)),
        summarizer: openai,
        clock: SystemClock,
    };
    let mut workflow = LeadWorkflow::new(ports, config)
        .context("LEADS_LEASE_SECONDS / LEADS_SUMMARY_TIMEOUT_SECONDS / shop profile")?;
    if let Some((_, fetch)) = &settings.photos {
        let fetcher = HttpPhotoFetcher::new(fetch.clone()).context("the photo fetcher")?;
        workflow = workflow.with_photos(Arc::new(fetcher));
    }
    let mut sinks = settings.sinks.clone();
    if let Some(text) = &file {
        sinks = sinks.with_file(text)?;
    }
    let workflow = Arc::new(
        workflow
            .with_sinks(sinks.sinks()?)
            .with_transcript_for_sinks(sinks.transcript),
    );

    let identity = match (&settings.identity, secrets.cookie_key.as_deref()) {
        (Identity::SignedCookie { same_site, .. }, Some(key)) => {
            let key = CookieKey::from_base64(key)
                .context("LEADS_COOKIE_KEY must be base64 of at least 32 bytes")?;
            UserIdentity::signed_cookie(key).with_same_site(*same_site)
        }
        _ => UserIdentity::TrustBrowser,
    };
    let router = LeadsRouter::new(Arc::clone(&workflow))
        .sessions(
            SessionSettings::configured(workflow_id, settings.sessions.clone())
                .context("LEADS_FILE_UPLOAD… / LEADS_SESSION…")?,
        )
        .cors_origins(settings.allowed_origins.iter().map(String::as_str))
        .rate_limits(settings.rate_limits)
        .identity(identity)
        // The runtime freezes the process after the answer: deliver first
        // (the email is out already; what fails is the schedule's to retry).
        .deliveries(Deliveries::BeforeAnswer)
        .build()
        .context("ALLOWED_ORIGINS / LEADS_COOKIE_KEY")?;
    Ok(Function {
        router,
        workflow,
        sweep: settings.sweep,
    })
}
