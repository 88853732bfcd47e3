//! The schema, embedded from `migrations/*.sql` and applied with sqlx's
//! migrator (without its `migrate!` macro, so building needs no database and
//! no proc-macro driver build).

use std::borrow::Cow;
use std::time::Instant;

use chatkit_leads_core::StoreError;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::PgPool;

use crate::error::describe_migrate;

/// `(version, description, SQL)`, in order. Versions never change once
/// released; a schema change is a new file.
const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "lead records",
    include_str!("../migrations/0001_lead_records.sql"),
)];

fn migrator(schema: Option<&str>) -> Migrator {
    let mut migrator = Migrator::with_migrations(
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
    );
    if let Some(schema) = schema {
        // Created under the migrator's lock, before `_sqlx_migrations`; both
        // tables then land in it through the connections' `search_path`.
        // The name was validated (lowercase identifier), so it needs no
        // quoting.
        migrator.create_schema(schema.to_owned());
    }
    migrator
}

/// Applies the pending migrations, creating `schema` first when given.
///
/// sqlx holds a session-level advisory lock on the database while it
/// migrates, so processes starting at once apply each migration exactly
/// once; the lease statements themselves take no advisory locks.
pub(crate) async fn run(pool: &PgPool, schema: Option<&str>) -> Result<(), StoreError> {
    let started = Instant::now();
    migrator(schema)
        .run(pool)
        .await
        .map_err(|e| StoreError::Unavailable(describe_migrate(&e)))?;
    tracing::debug!(
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "lead store migrations up to date"
    );
    Ok(())
}
