//! The few things SQLite and PostgreSQL spell differently, and the one
//! generic bridge from the store to sqlx.

use std::fmt;
use std::future::Future;

use chatkit_leads_core::StoreError;

use sqlx::migrate::{Migrate, MigrateError, Migrator};
use sqlx::{
    ColumnIndex, Connection, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, SqlStr,
    Type,
};

/// A database the SQL store runs on: implemented for [`sqlx::Sqlite`] and
/// [`sqlx::Postgres`] (features `sqlite`, `postgres`). The statements
/// themselves are written once, with `$n` placeholders; a dialect only
/// supplies what differs below.
pub trait Dialect: Database {
    /// The schema's migrations, `(version, description, SQL)` in order.
    const MIGRATIONS: &'static [(i64, &'static str, &'static str)];

    /// The SQL type of the `record` column, which a bound JSON text is cast
    /// to when written.
    const RECORD_TYPE: &'static str;

    /// Appended to the subquery choosing expired rows, so a cleanup never
    /// waits for a row a writer holds.
    const SKIP_LOCKED: &'static str;
}

/// How a dialect connects: what [`SqlStore::connect_with`] needs beyond the
/// pool settings every dialect shares.
///
/// [`SqlStore::connect_with`]: crate::SqlStore::connect_with
pub trait Connect: Dialect {
    /// The dialect's own settings, [`StoreOptions::backend`](crate::StoreOptions::backend).
    type Settings: Default + Clone + fmt::Debug + Send + Sync;

    /// The schema to create and migrate into, if the settings name one.
    fn schema(_settings: &Self::Settings) -> Option<&str> {
        None
    }

    /// The connection options for `target` (a URL, or for SQLite also a
    /// file path), after any one-time preparation the database needs.
    fn prepare(
        target: &str,
        settings: &Self::Settings,
    ) -> impl Future<Output = Result<<Self::Connection as Connection>::Options, StoreError>> + Send;
}

/// One bound parameter. Public only so [`Driver`]'s methods can name it;
/// this module is private, so nothing outside the crate can.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    /// A `BIGINT`.
    Int(i64),
    /// A `BIGINT` or `NULL`.
    OptInt(Option<i64>),
    /// A `TEXT`.
    Text(&'a str),
}

/// What the store needs from sqlx, written once for every [`Dialect`] whose
/// driver has the usual types: the blanket impl carries all the trait
/// bounds, so the store itself only says `D: Driver`.
pub trait Driver: Dialect {
    /// Runs `sql` and returns every row's first two columns, `(BIGINT, TEXT)`.
    #[doc(hidden)]
    fn fetch_int_text<'a>(
        pool: &'a Pool<Self>,
        sql: &'a SqlStr,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<Vec<(i64, String)>, sqlx::Error>> + Send + 'a;

    /// Runs `sql` (a statement with `RETURNING`) and counts the rows back.
    #[doc(hidden)]
    fn count_returned<'a>(
        pool: &'a Pool<Self>,
        sql: &'a SqlStr,
        params: &'a [Param<'a>],
    ) -> impl Future<Output = Result<usize, sqlx::Error>> + Send + 'a;

    /// Applies `migrator`'s pending migrations.
    #[doc(hidden)]
    fn run_migrations<'a>(
        pool: &'a Pool<Self>,
        migrator: &'a Migrator,
    ) -> impl Future<Output = Result<(), MigrateError>> + Send + 'a;
}

impl<D> Driver for D
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    D::Connection: Migrate,
    D::Arguments: IntoArguments<D>,
    i64: for<'q> Encode<'q, D> + for<'r> Decode<'r, D> + Type<D>,
    Option<i64>: for<'q> Encode<'q, D>,
    String: for<'q> Encode<'q, D> + for<'r> Decode<'r, D> + Type<D>,
    usize: ColumnIndex<D::Row>,
{
    async fn fetch_int_text<'a>(
        pool: &'a Pool<Self>,
        sql: &'a SqlStr,
        params: &'a [Param<'a>],
    ) -> Result<Vec<(i64, String)>, sqlx::Error> {
        let rows = query::<D>(sql, params).fetch_all(pool).await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }

    async fn count_returned<'a>(
        pool: &'a Pool<Self>,
        sql: &'a SqlStr,
        params: &'a [Param<'a>],
    ) -> Result<usize, sqlx::Error> {
        Ok(query::<D>(sql, params).fetch_all(pool).await?.len())
    }

    fn run_migrations<'a>(
        pool: &'a Pool<Self>,
        migrator: &'a Migrator,
    ) -> impl Future<Output = Result<(), MigrateError>> + Send + 'a {
        migrator.run(pool)
    }
}

/// `sql` with `params` bound in order.
fn query<'a, D>(sql: &SqlStr, params: &[Param<'_>]) -> sqlx::query::Query<'a, D, D::Arguments>
where
    D: Database,
    i64: for<'q> Encode<'q, D> + Type<D>,
    Option<i64>: for<'q> Encode<'q, D>,
    String: for<'q> Encode<'q, D> + Type<D>,
{
    params
        .iter()
        .fold(sqlx::query(sql.clone()), |query, param| match *param {
            Param::Int(value) => query.bind(value),
            Param::OptInt(value) => query.bind(value),
            Param::Text(value) => query.bind(value.to_owned()),
        })
}
