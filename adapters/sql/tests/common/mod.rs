//! One test database per dialect behind one trait, so every SQL behaviour
//! is written once and runs on both (see `on_both!`).
#![allow(dead_code)]

use std::borrow::Cow;

use chatkit_leads_sql::postgres::{PostgresStore, PostgresStoreOptions};
use chatkit_leads_sql::sqlite::{SqliteStore, SqliteStoreOptions};
use chatkit_leads_sql::{Dialect, Driver, SqlStore};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{
    AssertSqlSafe, ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, Postgres, Row,
    SqlSafeStr, Sqlite, Type,
};
use tempfile::TempDir;

/// A bound value of a raw test statement.
#[derive(Debug, Clone)]
pub enum Arg {
    Int(i64),
    Text(String),
    NullInt,
    NullText,
}

/// A database of one dialect, fresh for one test.
pub trait TestDb: Sized + Send + Sync + 'static {
    type D: Driver;

    async fn create() -> Self;

    /// A migrated store (16 connections).
    async fn store(&self) -> SqlStore<Self::D>;

    /// A store whose schema is left alone.
    async fn unmigrated(&self) -> SqlStore<Self::D>;

    /// The table as release 0.1 created it (migration 1 only).
    async fn at_first_migration(&self) -> SqlStore<Self::D> {
        let store = self.unmigrated().await;
        let migration = Migration::new(
            1,
            Cow::Borrowed("lead records"),
            MigrationType::Simple,
            Self::first_migration().into_sql_str(),
            false,
        );
        let mut migrator = Migrator::with_migrations(vec![migration]);
        if let Some(schema) = self.schema() {
            migrator.create_schema(schema.to_owned());
        }
        Self::D::run_migrations(store.pool(), &migrator)
            .await
            .expect("first migration");
        store
    }

    fn first_migration() -> &'static str;

    /// The PostgreSQL schema the test works in.
    fn schema(&self) -> Option<&str> {
        None
    }

    /// The words the database uses for a missing table.
    const NO_TABLE: &'static str;

    /// Runs one raw statement on `pool`; returns the first column of every
    /// row as text.
    async fn raw(pool: &Pool<Self::D>, sql: &str, args: &[Arg]) -> Vec<String>;
}

/// [`TestDb::raw`] for any driver.
async fn raw<D>(pool: &Pool<D>, sql: &str, args: &[Arg]) -> Vec<String>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Arguments: IntoArguments<D>,
    i64: for<'q> Encode<'q, D> + Type<D>,
    String: for<'q> Encode<'q, D> + for<'r> Decode<'r, D> + Type<D>,
    Option<String>: for<'q> Encode<'q, D>,
    Option<i64>: for<'q> Encode<'q, D>,
    usize: ColumnIndex<D::Row>,
{
    let query = args.iter().fold(
        sqlx::query::<D>(AssertSqlSafe(sql.to_owned())),
        |q, arg| match arg {
            Arg::Int(v) => q.bind(*v),
            Arg::Text(v) => q.bind(v.clone()),
            Arg::NullInt => q.bind(None::<i64>),
            Arg::NullText => q.bind(None::<String>),
        },
    );
    query
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|row| row.try_get::<String, _>(0).unwrap_or_default())
        .collect()
}

// ------------------------------------------------------------------ SQLite

pub struct SqliteDb {
    pub dir: TempDir,
    pub path: String,
}

impl TestDb for SqliteDb {
    type D = Sqlite;
    const NO_TABLE: &'static str = "no such table";

    async fn create() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("leads.db");
        let path = path.to_str().expect("utf-8 temp path").to_owned();
        Self { dir, path }
    }

    async fn store(&self) -> SqliteStore {
        SqliteStore::connect_with(
            &self.path,
            SqliteStoreOptions::default().max_connections(16),
        )
        .await
        .expect("connect")
    }

    async fn unmigrated(&self) -> SqliteStore {
        SqliteStore::connect_with(&self.path, SqliteStoreOptions::default().migrate(false))
            .await
            .expect("connect")
    }

    fn first_migration() -> &'static str {
        include_str!("../../migrations/sqlite/0001_lead_records.sql")
    }

    async fn raw(pool: &Pool<Sqlite>, sql: &str, args: &[Arg]) -> Vec<String> {
        raw(pool, sql, args).await
    }
}

// -------------------------------------------------------------- PostgreSQL

/// A fresh schema on the server at `TEST_DATABASE_URL`, dropped when this
/// goes out of scope, even when the test panics.
pub struct PostgresDb {
    pub url: String,
    pub name: String,
}

pub fn database_url() -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "TEST_DATABASE_URL is not set: the PostgreSQL store tests need a server. \
             Run `bash scripts/test.sh` (it starts a throwaway cluster), or \
             `export TEST_DATABASE_URL=$(scripts/pg-test-cluster.sh start)`, or point it at \
             a server you own: postgres://USER[:PASSWORD]@HOST:PORT/DB"
        ),
    }
}

impl PostgresDb {
    /// Options working in this test's schema.
    pub fn options(&self) -> PostgresStoreOptions {
        PostgresStoreOptions::default().schema(&self.name)
    }

    pub async fn store_with(&self, options: PostgresStoreOptions) -> PostgresStore {
        PostgresStore::connect_with(&self.url, options)
            .await
            .unwrap_or_else(|e| panic!("connect to TEST_DATABASE_URL: {e}"))
    }
}

impl TestDb for PostgresDb {
    type D = Postgres;
    const NO_TABLE: &'static str = "42P01";

    async fn create() -> Self {
        Self {
            url: database_url(),
            name: format!("chatkit_test_{}", uuid::Uuid::new_v4().simple()),
        }
    }

    async fn store(&self) -> PostgresStore {
        self.store_with(self.options().max_connections(16)).await
    }

    async fn unmigrated(&self) -> PostgresStore {
        self.store_with(self.options().migrate(false)).await
    }

    fn first_migration() -> &'static str {
        include_str!("../../migrations/postgres/0001_lead_records.sql")
    }

    async fn raw(pool: &Pool<Postgres>, sql: &str, args: &[Arg]) -> Vec<String> {
        raw(pool, sql, args).await
    }

    fn schema(&self) -> Option<&str> {
        Some(&self.name)
    }
}

impl Drop for PostgresDb {
    fn drop(&mut self) {
        let url = self.url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        // Drop cannot await: use a runtime of its own on another thread, so
        // this works inside any test runtime and while unwinding.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&url)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::raw_sql(AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                conn.close().await.map_err(|e| e.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test schema {}: {e}", self.name),
            Err(_) => eprintln!("could not drop test schema {}: thread panicked", self.name),
        }
    }
}

/// Defines each named generic test `async fn name<T: TestDb>()` once per
/// dialect, as `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name::<super::common::SqliteDb>().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name::<super::common::PostgresDb>().await;
                }
            )*
        }
    };
}
