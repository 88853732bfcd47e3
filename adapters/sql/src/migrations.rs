//! The one migration runner: a dialect's embedded `migrations/<dialect>/*.sql`
//! applied with sqlx's migrator (without its `migrate!` macro, so building
//! needs no database and no proc-macro driver build) and recorded in
//! `_sqlx_migrations`, so the files also work with
//! `sqlx migrate run --source adapters/sql/migrations/<dialect>`.

use std::borrow::Cow;

use chatkit_leads_core::StoreError;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Pool, SqlSafeStr};

use crate::dialect::Driver;

/// A dialect's migrations, `(version, description, SQL)` in order, from
/// `migrations/<dialect>/`: the one list of versions both dialects share.
/// Versions never change once released; a schema change is a new file in
/// each dialect's folder and a new line here.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
macro_rules! dialect_migrations {
    ($dialect:literal) => {
        &[
            (
                1,
                "lead records",
                include_str!(concat!(
                    "../migrations/",
                    $dialect,
                    "/0001_lead_records.sql"
                )),
            ),
            (
                2,
                "versioned records",
                include_str!(concat!(
                    "../migrations/",
                    $dialect,
                    "/0002_versioned_records.sql"
                )),
            ),
            (
                3,
                "sweeper",
                include_str!(concat!("../migrations/", $dialect, "/0003_sweeper.sql")),
            ),
        ]
    };
}
use crate::error::migration_failed;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) use dialect_migrations;

/// The migrator for dialect `D`, creating `schema` first when given (under
/// the migrator's lock, so `_sqlx_migrations` lands in it too).
pub(crate) fn migrator<D: Driver>(schema: Option<&str>) -> Migrator {
    let mut migrator = Migrator::with_migrations(
        D::MIGRATIONS
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
        migrator.create_schema(schema.to_owned());
    }
    migrator
}

/// Applies the pending migrations.
///
/// Processes migrating a fresh SQLite file at once can both decide a version
/// is pending; the later one then fails (a duplicate `_sqlx_migrations` key,
/// a column that exists now) once the first committed, and trying again sees
/// the version applied. Each such failure means another process applied a
/// migration, so one try per migration, plus the first, always suffices.
/// (PostgreSQL serialises migrators with an advisory lock; retrying there is
/// harmless.)
pub(crate) async fn run<D: Driver>(pool: &Pool<D>, migrator: &Migrator) -> Result<(), StoreError> {
    let attempts = migrator.iter().count() + 2;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match D::run_migrations(pool, migrator).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt >= attempts => return Err(migration_failed::<D>(&e)),
            Err(e) => {
                tracing::debug!(attempt, error = %migration_failed::<D>(&e), "retrying migrations");
            }
        }
    }
}
