//! sqlx errors mapped onto the core's [`StoreError`], for both dialects.
//!
//! Messages name the operation, the kind of failure and the database's own
//! code. They never carry a bound value (thread ids, records, reasons, error
//! texts), so they are safe to log and to return from a health check: the
//! servers' primary messages name tables, columns and constraints (values of
//! a failing row are only in PostgreSQL's `DETAIL` field, never shown). The
//! exception is PostgreSQL's data-exception class, SQLSTATE `22…` (e.g.
//! `invalid input syntax for type bigint: "…"`), which may quote the input:
//! for it only the code is shown. No SQLite result code starts with `22`
//! but `SQLITE_NOLFS`, whose message hiding costs nothing.

use chatkit_leads_core::StoreError;
use sqlx::migrate::MigrateError;

use sqlx::Database;

/// A failed operation: the store is unavailable for now.
pub(crate) fn unavailable<D: Database>(op: &str, err: &sqlx::Error) -> StoreError {
    StoreError::Unavailable(format!("{op}: {}", describe::<D>(err)))
}

/// A failed migration.
pub(crate) fn migration_failed<D: Database>(err: &MigrateError) -> StoreError {
    StoreError::Unavailable(describe_migrate::<D>(err))
}

fn describe<D: Database>(err: &sqlx::Error) -> String {
    let label = D::NAME;
    match err {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) if code.starts_with("22") => format!("{label} error {code}"),
            Some(code) => format!("{label} error {code}: {}", db.message()),
            None => format!("{label} error: {}", db.message()),
        },
        sqlx::Error::Io(io) => format!("I/O error ({})", io.kind()),
        sqlx::Error::Tls(e) => format!("TLS error: {e}"),
        sqlx::Error::Configuration(e) => format!("invalid configuration: {e}"),
        sqlx::Error::Protocol(_) => "unexpected message from the server".to_owned(),
        sqlx::Error::PoolTimedOut => {
            "timed out waiting for a connection (is the database reachable?)".to_owned()
        }
        sqlx::Error::PoolClosed => "the connection pool is closed".to_owned(),
        sqlx::Error::WorkerCrashed => "the database worker thread crashed".to_owned(),
        sqlx::Error::Migrate(e) => describe_migrate::<D>(e),
        sqlx::Error::ColumnDecode { index, .. } => format!("could not decode column {index}"),
        sqlx::Error::ColumnNotFound(name) => format!("no column {name}"),
        sqlx::Error::RowNotFound => "no row returned".to_owned(),
        _ => "unexpected database driver error".to_owned(),
    }
}

/// A migration failure; the version numbers are the crate's own.
fn describe_migrate<D: Database>(err: &MigrateError) -> String {
    match err {
        MigrateError::Execute(e) => format!("migrations failed: {}", describe::<D>(e)),
        MigrateError::ExecuteMigration(e, version) => {
            format!("migration {version} failed: {}", describe::<D>(e))
        }
        // Versions, never data: safe to show as sqlx words them.
        other => other.to_string(),
    }
}
