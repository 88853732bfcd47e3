//! PostgreSQL: for several server processes sharing one database. How to
//! connect (schema, `statement_timeout`, TLS) and PostgreSQL's dialect.

use std::str::FromStr;
use std::time::Duration;

use chatkit_leads_core::StoreError;
use sqlx::Postgres;
use sqlx::postgres::PgConnectOptions;

use crate::dialect::{Connect, Dialect};
use crate::error::unavailable;
use crate::migrations::dialect_migrations;
use crate::options::StoreOptions;
use crate::store::SqlStore;

/// A [`LeadStore`](chatkit_leads_core::LeadStore) in a PostgreSQL table,
/// for several server processes sharing one database. No advisory locks:
/// row-level conflicts on the one `INSERT` or `UPDATE` per change decide.
pub type PostgresStore = SqlStore<Postgres>;

/// [`StoreOptions`] for PostgreSQL.
pub type PostgresStoreOptions = StoreOptions<PostgresSettings>;

/// PostgreSQL's own connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PostgresSettings {
    /// `statement_timeout` set on every connection: the server cancels any
    /// statement (including one waiting for a row lock) that runs longer.
    /// `None` keeps the server's setting (default 10 s).
    pub statement_timeout: Option<Duration>,
    /// Schema holding `lead_records` and `_sqlx_migrations`, set as every
    /// connection's `search_path` and created by the migrations. `None`
    /// keeps the server's `search_path` (normally `public`). Lowercase ASCII
    /// letters, digits and `_`, at most 63 bytes, not starting with a digit
    /// or `pg_`.
    pub schema: Option<String>,
}

impl Default for PostgresSettings {
    fn default() -> Self {
        Self {
            statement_timeout: Some(Duration::from_secs(10)),
            schema: None,
        }
    }
}

impl StoreOptions<PostgresSettings> {
    /// Sets [`PostgresSettings::statement_timeout`]; `None` keeps the
    /// server's setting.
    #[must_use]
    pub fn statement_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.backend.statement_timeout = timeout.into();
        self
    }

    /// Sets [`PostgresSettings::schema`]. The name is checked when connecting.
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.backend.schema = Some(schema.into());
        self
    }
}

impl Dialect for Postgres {
    const MIGRATIONS: &'static [(i64, &'static str, &'static str)] =
        dialect_migrations!("postgres");
    // Operators can query it (`record->>'status'`); it is checked as JSON.
    const RECORD_TYPE: &'static str = "JSONB";
    // A cleanup batch skips rows an acquire is writing instead of waiting.
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
}

impl Connect for Postgres {
    type Settings = PostgresSettings;

    fn schema(settings: &PostgresSettings) -> Option<&str> {
        settings.schema.as_deref()
    }

    async fn prepare(
        url: &str,
        settings: &PostgresSettings,
    ) -> Result<PgConnectOptions, StoreError> {
        connect_options(url, settings)
    }
}

/// The connection settings for `url`: the schema as `search_path` and the
/// `statement_timeout`, both sent as startup parameters so every pooled
/// connection has them from its first statement.
fn connect_options(url: &str, settings: &PostgresSettings) -> Result<PgConnectOptions, StoreError> {
    let mut connect = PgConnectOptions::from_str(url)
        .map_err(|e| unavailable::<Postgres>("parse the database URL", &e))?;
    if connect.get_application_name().is_none() {
        connect = connect.application_name("chatkit-leads");
    }
    let mut startup = Vec::new();
    if let Some(schema) = &settings.schema {
        validate_schema(schema)?;
        startup.push(("search_path", schema.clone()));
    }
    if let Some(timeout) = settings.statement_timeout {
        // Milliseconds; PostgreSQL reads 0 as "no timeout", so round up.
        let ms = timeout.as_millis().max(1);
        startup.push(("statement_timeout", ms.to_string()));
    }
    if !startup.is_empty() {
        connect = connect.options(startup);
    }
    Ok(connect)
}

/// Checks a schema name. Only plain lowercase identifiers are accepted, so
/// the name means the same quoted or not and needs no escaping in
/// `search_path` or `CREATE SCHEMA`.
fn validate_schema(schema: &str) -> Result<(), StoreError> {
    let mut chars = schema.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if starts_well && rest_ok && schema.len() <= 63 && !schema.starts_with("pg_") {
        Ok(())
    } else {
        Err(StoreError::Unavailable(
            "invalid configuration: the schema name must be 1 to 63 lowercase ASCII letters, \
             digits or underscores, not starting with a digit or pg_"
                .to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::validate_schema;

    #[test]
    fn plain_lowercase_identifiers_are_valid_schema_names() {
        for name in ["chatkit", "_leads", "chatkit_test_0f9e", &"a".repeat(63)] {
            assert!(validate_schema(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn other_schema_names_are_refused() {
        for name in [
            "",
            "Chatkit",
            "1leads",
            "pg_leads",
            "leads;drop",
            "lead-records",
            "\"x\"",
            "é",
            &"a".repeat(64),
        ] {
            assert!(validate_schema(name).is_err(), "{name}");
        }
    }
}
