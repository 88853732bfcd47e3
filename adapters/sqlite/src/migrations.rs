//! The schema, embedded from `migrations/*.sql` and applied with sqlx's
//! migrator (without its `migrate!` macro, so building needs no database and
//! no proc-macro driver build).

use std::borrow::Cow;

use chatkit_leads_core::StoreError;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::SqlitePool;

use crate::error::describe_migrate;

/// `(version, description, SQL)`, in order. Versions never change once
/// released; a schema change is a new file.
const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "lead records",
    include_str!("../migrations/0001_lead_records.sql"),
)];

fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Applies the pending migrations.
pub(crate) async fn run(pool: &SqlitePool) -> Result<(), StoreError> {
    let migrator = migrator();
    // Two processes migrating a fresh file at once can both decide version 1
    // is pending; the second then fails on the `_sqlx_migrations` key after
    // the first committed. Trying again sees the migration applied.
    let mut attempt = 0;
    loop {
        attempt += 1;
        match migrator.run(pool).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt >= 3 => {
                return Err(StoreError::Unavailable(describe_migrate(&e)));
            }
            Err(e) => {
                tracing::debug!(attempt, error = %describe_migrate(&e), "retrying migrations");
            }
        }
    }
}
