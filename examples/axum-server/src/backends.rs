//! Choosing the store and the mailer from their URL-style settings.

use std::sync::Arc;

use anyhow::{Context, bail};
use chatkit_leads_core::{LeadStore, Mailer};
use chatkit_leads_dynamodb::DynamoStore;
use chatkit_leads_outbox::OutboxMailer;
use chatkit_leads_postgres::PostgresStore;
use chatkit_leads_ses::SesMailer;
use chatkit_leads_smtp::{SmtpConfig, SmtpMailer};
use chatkit_leads_sqlite::SqliteStore;

/// Opens the store named by `LEADS_STORE` and applies its migrations.
pub async fn store(spec: &str) -> anyhow::Result<Arc<dyn LeadStore>> {
    if spec.starts_with("sqlite:") {
        let store = SqliteStore::connect(spec)
            .await
            .with_context(|| format!("LEADS_STORE: cannot open {spec}"))?;
        return Ok(Arc::new(store));
    }
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        let store = PostgresStore::connect(spec)
            .await
            .context("LEADS_STORE: cannot connect to PostgreSQL")?;
        return Ok(Arc::new(store));
    }
    if let Some(table) = spec.strip_prefix("dynamodb://") {
        if table.trim().is_empty() {
            bail!("LEADS_STORE: dynamodb://<table> needs a table name");
        }
        let client = aws_sdk_dynamodb::Client::new(&aws().await);
        let store = DynamoStore::new(client, table.trim());
        store
            .ping()
            .await
            .context("LEADS_STORE: the DynamoDB table is not reachable (AWS credentials, region, table name)")?;
        return Ok(Arc::new(store));
    }
    bail!(
        "LEADS_STORE must be sqlite://<path>, postgres://… or dynamodb://<table> (got `{}`)",
        scheme_only(spec)
    )
}

/// AWS settings from the standard chain (environment, profile, instance
/// role); `AWS_ENDPOINT_URL` points the SDK at a local emulator.
async fn aws() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Builds the mailer named by `LEADS_MAILER`.
pub async fn mailer(spec: &str) -> anyhow::Result<Arc<dyn Mailer>> {
    if let Some(dir) = spec.strip_prefix("outbox:") {
        if dir.trim().is_empty() {
            bail!("LEADS_MAILER: outbox:<dir> needs a directory");
        }
        return Ok(Arc::new(OutboxMailer::new(dir.trim())));
    }
    if spec == "ses" {
        return Ok(Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(
            &aws().await,
        ))));
    }
    if spec.starts_with("smtp://") || spec.starts_with("smtps://") {
        let config = SmtpConfig::from_url(spec).context("LEADS_MAILER is not a valid SMTP URL")?;
        return Ok(Arc::new(SmtpMailer::new(config).context("LEADS_MAILER")?));
    }
    bail!(
        "LEADS_MAILER must be outbox:<dir>, smtp://[user:pass@]host:port, smtps://… or ses (got `{}`)",
        scheme_only(spec)
    )
}

/// The part of a URL before `://` or `:`, so errors never echo credentials.
fn scheme_only(spec: &str) -> &str {
    spec.split([':', '/']).next().unwrap_or_default()
}
