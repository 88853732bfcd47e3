//! sqlx errors mapped onto the core's [`StoreError`].
//!
//! Messages name the operation, the kind of failure and PostgreSQL's
//! SQLSTATE. They never carry a bound value (thread ids, lease ids, reasons,
//! error texts), so they are safe to log and to return from a health check.

use chatkit_leads_core::StoreError;

/// A failed operation: the store is unavailable for now.
pub(crate) fn unavailable(op: &str, err: &sqlx::Error) -> StoreError {
    StoreError::Unavailable(format!("{op}: {}", describe(err)))
}

/// A configuration the store cannot use.
pub(crate) fn misconfigured(what: &str) -> StoreError {
    StoreError::Unavailable(format!("invalid configuration: {what}"))
}

/// A row that does not fit a `LeadRecord`.
pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

/// A description of `err` built only from parts that cannot contain bound
/// values.
///
/// PostgreSQL's primary messages name relations, columns, constraints and
/// types; the values of a failing row are only in the `DETAIL` field, which
/// is never shown. The exception is the data-exception class (SQLSTATE
/// `22…`, e.g. `invalid input syntax for type bigint: "…"`), which may quote
/// the input, so for it only the code is shown.
fn describe(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) if code.starts_with("22") => {
                format!("PostgreSQL error {code} (data exception)")
            }
            Some(code) => format!("PostgreSQL error {code}: {}", db.message()),
            None => format!("PostgreSQL error: {}", db.message()),
        },
        sqlx::Error::Io(io) => format!("I/O error ({})", io.kind()),
        sqlx::Error::Tls(e) => format!("TLS error: {e}"),
        sqlx::Error::Configuration(e) => format!("invalid configuration: {e}"),
        sqlx::Error::Protocol(_) => "unexpected message from the server".to_owned(),
        sqlx::Error::PoolTimedOut => {
            "timed out waiting for a connection (is the server reachable?)".to_owned()
        }
        sqlx::Error::PoolClosed => "the connection pool is closed".to_owned(),
        sqlx::Error::Migrate(e) => describe_migrate(e),
        sqlx::Error::ColumnDecode { index, .. } => format!("could not decode column {index}"),
        sqlx::Error::ColumnNotFound(name) => format!("no column {name}"),
        sqlx::Error::RowNotFound => "no row returned".to_owned(),
        _ => "unexpected database driver error".to_owned(),
    }
}

/// A migration failure; the version numbers are the crate's own.
pub(crate) fn describe_migrate(err: &sqlx::migrate::MigrateError) -> String {
    use sqlx::migrate::MigrateError;
    match err {
        MigrateError::Execute(e) => format!("migrations failed: {}", describe(e)),
        MigrateError::ExecuteMigration(e, version) => {
            format!("migration {version} failed: {}", describe(e))
        }
        // Versions, never data: safe to show as sqlx words them.
        other => other.to_string(),
    }
}
