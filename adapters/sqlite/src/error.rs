//! sqlx errors mapped onto the core's [`StoreError`].
//!
//! Messages name the operation and the kind of failure. They never carry a
//! bound value (thread ids, lease ids, reasons, error texts), so they are
//! safe to log and to return from a health check.

use chatkit_leads_core::StoreError;

/// A failed operation: the store is unavailable for now.
pub(crate) fn unavailable(op: &str, err: &sqlx::Error) -> StoreError {
    StoreError::Unavailable(format!("{op}: {}", describe(err)))
}

/// SQLite answered `SQLITE_BUSY` or `SQLITE_LOCKED` (any extended code).
pub(crate) fn is_busy(err: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i64 = 5;
    const SQLITE_LOCKED: i64 = 6;
    match err {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|code| code.parse::<i64>().ok())
            .is_some_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED)),
        _ => false,
    }
}

/// A row that does not fit a `LeadRecord`.
pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

/// A description of `err` built only from parts that cannot contain bound
/// values: SQLite's own messages name tables, columns and constraints, never
/// parameter values.
fn describe(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("SQLite error {code}: {}", db.message()),
            None => format!("SQLite error: {}", db.message()),
        },
        sqlx::Error::Io(io) => format!("I/O error ({})", io.kind()),
        sqlx::Error::Configuration(e) => format!("invalid configuration: {e}"),
        sqlx::Error::PoolTimedOut => "timed out waiting for a pooled connection".to_owned(),
        sqlx::Error::PoolClosed => "the connection pool is closed".to_owned(),
        sqlx::Error::WorkerCrashed => "the SQLite worker thread crashed".to_owned(),
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
