//! Connection settings for [`PostgresStore`](crate::PostgresStore).

use std::time::Duration;

use chatkit_leads_core::StoreError;

use crate::error::misconfigured;

/// How [`PostgresStore::connect_with`](crate::PostgresStore::connect_with)
/// connects.
///
/// The defaults suit one server process: 5 pooled connections, 30 s to wait
/// for a free (or new) connection, a 10 s `statement_timeout` on every
/// connection, the server's `search_path` (normally `public`), and
/// migrations applied while connecting.
///
/// ```
/// use std::time::Duration;
/// use chatkit_leads_postgres::PostgresStoreOptions;
///
/// let options = PostgresStoreOptions::default()
///     .max_connections(10)
///     .acquire_timeout(Duration::from_secs(5))
///     .statement_timeout(Duration::from_secs(2))
///     .schema("chatkit");
/// assert_eq!(options.schema.as_deref(), Some("chatkit"));
/// assert_eq!(options.statement_timeout, Some(Duration::from_secs(2)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PostgresStoreOptions {
    /// Largest number of open connections in the pool (at least 1).
    pub max_connections: u32,
    /// How long a call waits for a pooled connection, including opening a
    /// new one (a refused connection is retried until this runs out).
    pub acquire_timeout: Duration,
    /// `statement_timeout` set on every connection: the server cancels any
    /// statement (including one waiting for a row lock) that runs longer.
    /// `None` keeps the server's setting.
    pub statement_timeout: Option<Duration>,
    /// Schema holding `lead_records` and `_sqlx_migrations`, set as every
    /// connection's `search_path` and created by the migrations. `None`
    /// keeps the server's `search_path`. Lowercase ASCII letters, digits and
    /// `_`, at most 63 bytes, not starting with a digit or `pg_`.
    pub schema: Option<String>,
    /// Apply the crate's migrations while connecting.
    pub migrate: bool,
}

impl Default for PostgresStoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 5,
            acquire_timeout: Duration::from_secs(30),
            statement_timeout: Some(Duration::from_secs(10)),
            schema: None,
            migrate: true,
        }
    }
}

impl PostgresStoreOptions {
    /// Sets [`PostgresStoreOptions::max_connections`] (0 counts as 1).
    #[must_use]
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Sets [`PostgresStoreOptions::acquire_timeout`].
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Sets [`PostgresStoreOptions::statement_timeout`]; `None` keeps the
    /// server's setting.
    #[must_use]
    pub fn statement_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.statement_timeout = timeout.into();
        self
    }

    /// Sets [`PostgresStoreOptions::schema`]. The name is checked when
    /// connecting.
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Sets [`PostgresStoreOptions::migrate`]; with `false`, call
    /// [`PostgresStore::migrate`](crate::PostgresStore::migrate) yourself
    /// (or run the files in `migrations/` with your own tooling).
    #[must_use]
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }
}

/// Checks a schema name. Only plain lowercase identifiers are accepted, so
/// the name means the same quoted or not and needs no escaping in
/// `search_path` or `CREATE SCHEMA`.
pub(crate) fn validate_schema(schema: &str) -> Result<(), StoreError> {
    let mut chars = schema.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if starts_well && rest_ok && schema.len() <= 63 && !schema.starts_with("pg_") {
        Ok(())
    } else {
        Err(misconfigured(
            "the schema name must be 1 to 63 lowercase ASCII letters, digits or underscores, \
             not starting with a digit or pg_",
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
