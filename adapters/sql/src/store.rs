//! [`SqlStore`]: the lead store on any SQL [`Driver`], a thin translation of
//! the core's two primitives into one statement each.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chatkit_leads_core::ids::{ThreadId, UserId};
use chatkit_leads_core::ports::SeenUser;
use chatkit_leads_core::record::{Expected, LeadRecord, Version, Versioned, codec};
use chatkit_leads_core::{LeadStore, StoreError};
use sqlx::Pool;
use sqlx::migrate::Migrator;
use sqlx::pool::PoolOptions;

use crate::dialect::{Connect, Driver, Param};
use crate::error::unavailable;
use crate::migrations;
use crate::options::StoreOptions;
use crate::statements::Statements;

/// A [`LeadStore`] in one SQL table, `lead_records`: a row per thread with
/// the record as a JSON document and its version beside it. `load` is one
/// `SELECT`; `put` is one `INSERT … ON CONFLICT DO NOTHING` or one
/// `UPDATE … WHERE version = $expected` — atomic in the database, so any
/// number of tasks, pools and processes agree on every change, and the lease
/// rules (in `chatkit_leads_core::lease`) hold on top of it.
///
/// Use it as [`SqliteStore`](crate::sqlite::SqliteStore) or
/// [`PostgresStore`](crate::postgres::PostgresStore), which add how to
/// connect. Cloning is cheap and shares the pool.
pub struct SqlStore<D: Driver> {
    pub(crate) pool: Pool<D>,
    statements: Arc<Statements>,
    migrator: Arc<Migrator>,
}

impl<D: Driver> Clone for SqlStore<D> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            statements: Arc::clone(&self.statements),
            migrator: Arc::clone(&self.migrator),
        }
    }
}

impl<D: Driver> fmt::Debug for SqlStore<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStore")
            .field("database", &D::NAME)
            .finish_non_exhaustive()
    }
}

impl<D: Driver> SqlStore<D> {
    /// A store on `pool`, migrating (when asked to) into `schema` if given.
    pub(crate) fn with_schema(pool: Pool<D>, schema: Option<&str>) -> Self {
        Self {
            pool,
            statements: Arc::new(Statements::new::<D>()),
            migrator: Arc::new(migrations::migrator::<D>(schema)),
        }
    }

    /// Wraps a pool the application already has; the table is looked up as
    /// the pool's connections see it. Does not migrate: call
    /// [`SqlStore::migrate`].
    pub fn from_pool(pool: Pool<D>) -> Self {
        Self::with_schema(pool, None)
    }

    /// The underlying pool (to share it, inspect the database or close it).
    pub fn pool(&self) -> &Pool<D> {
        &self.pool
    }

    /// Applies the crate's migrations (`migrations/<dialect>/*.sql`,
    /// embedded at build time) that the database has not seen yet; a no-op
    /// when it is up to date. Connecting already does it unless told not to.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when a migration fails, or when an applied
    /// migration differs from the embedded one.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrations::run(&self.pool, &self.migrator).await
    }

    /// Readiness check: the database answers and the `lead_records` table
    /// exists.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] otherwise.
    pub async fn ping(&self) -> Result<(), StoreError> {
        D::count_returned(&self.pool, &self.statements.ping, &[])
            .await
            .map(drop)
            .map_err(|e| unavailable::<D>("ping", &e))
    }

    /// Deletes records whose `ttl` has passed (`ttl < now`), at most `batch`
    /// rows per statement (0 counts as 1) until a batch comes back short,
    /// and returns how many were deleted. Run it from a periodic task; each
    /// batch is short, rows a writer holds are skipped rather than waited
    /// for (PostgreSQL), and a record re-leased meanwhile is kept.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if a batch fails; batches already done
    /// stay deleted.
    pub async fn delete_expired(&self, now: i64, batch: u32) -> Result<u64, StoreError> {
        let batch = batch.max(1);
        let params = [Param::Int(now), Param::Int(i64::from(batch))];
        let mut deleted = 0_u64;
        for sql in [
            &self.statements.delete_expired,
            &self.statements.delete_expired_users,
        ] {
            loop {
                let done = D::count_returned(&self.pool, sql, &params)
                    .await
                    .map_err(|e| unavailable::<D>("delete expired records", &e))?;
                let done = u64::try_from(done).unwrap_or(u64::MAX);
                deleted += done;
                if done < u64::from(batch) {
                    break;
                }
            }
        }
        Ok(deleted)
    }

    /// Closes the pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl<D: Driver + Connect> SqlStore<D> {
    /// Connects to `target` with the default [`StoreOptions`] and applies
    /// the migrations.
    ///
    /// `target` is a database URL — `sqlite://leads.db`,
    /// `sqlite:data/leads.db?mode=rwc`, or for SQLite simply a file path
    /// (`leads.db`); `postgres://user:password@host:5432/db?sslmode=require`
    /// (TLS through rustls, trusting the Mozilla root certificates; add
    /// `sslrootcert=PATH` for a provider's or a private CA).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the target is invalid, the database
    /// cannot be opened or reached within the acquire timeout, or a
    /// migration fails.
    pub async fn connect(target: &str) -> Result<Self, StoreError> {
        Self::connect_with(target, StoreOptions::default()).await
    }

    /// Like [`SqlStore::connect`] with explicit options; applies the
    /// migrations unless [`StoreOptions::migrate`] is `false`.
    ///
    /// Opens one connection right away, so a wrong URL or an unreachable
    /// server fails here rather than on the first request. SQLite files are
    /// created when missing (unless told not to) and switched to WAL mode.
    ///
    /// # Errors
    /// As [`SqlStore::connect`], and when the dialect's settings are invalid
    /// (a PostgreSQL schema name that is not a plain lowercase identifier).
    pub async fn connect_with(
        target: &str,
        options: StoreOptions<D::Settings>,
    ) -> Result<Self, StoreError> {
        let connect = D::prepare(target, &options.backend).await?;
        let pool = PoolOptions::<D>::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| unavailable::<D>("connect to the database", &e))?;
        let store = Self::with_schema(pool, D::schema(&options.backend));
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }
}

#[async_trait]
impl<D: Driver> LeadStore for SqlStore<D> {
    async fn load(&self, thread_id: &ThreadId) -> Result<Option<Versioned>, StoreError> {
        let params = [Param::Text(thread_id.as_str())];
        let rows = D::fetch_int_text(&self.pool, &self.statements.load, &params)
            .await
            .map_err(|e| unavailable::<D>("read a record", &e))?;
        let Some((version, json)) = rows.into_iter().next() else {
            return Ok(None);
        };
        let version = u64::try_from(version)
            .map_err(|_| StoreError::Corrupt("stored record: version is negative".to_owned()))?;
        Ok(Some(Versioned {
            record: codec::decode_json(thread_id, &json)?,
            version: Version::new(version),
        }))
    }

    async fn put(&self, record: &LeadRecord, expected: Expected) -> Result<bool, StoreError> {
        let json = codec::to_json(record)?;
        let thread = Param::Text(record.thread_id.as_str());
        let (op, sql, params) = match expected {
            Expected::Absent => (
                "insert a record",
                &self.statements.insert,
                vec![
                    thread,
                    Param::Int(record.ttl),
                    Param::OptInt(record.due_at),
                    Param::Text(&json),
                ],
            ),
            Expected::Version(version) => (
                "replace a record",
                &self.statements.replace,
                vec![
                    thread,
                    Param::Int(stored_version(version)?),
                    Param::Int(stored_version(expected.next_version())?),
                    Param::Int(record.ttl),
                    Param::OptInt(record.due_at),
                    Param::Text(&json),
                ],
            ),
        };
        let written = D::count_returned(&self.pool, sql, &params)
            .await
            .map_err(|e| unavailable::<D>(op, &e))?;
        Ok(written == 1)
    }

    async fn due(&self, now: i64, limit: usize) -> Result<Vec<LeadRecord>, StoreError> {
        let params = [Param::Int(now), Param::Int(row_limit(limit))];
        let rows = D::fetch_int_text(&self.pool, &self.statements.due, &params)
            .await
            .map_err(|e| unavailable::<D>("list due records", &e))?;
        rows.iter()
            .map(|(_, json)| Ok(codec::decode_json_as_stored(json)?))
            .collect()
    }

    async fn touch_user(&self, user: &UserId, now: i64, expires_at: i64) -> Result<(), StoreError> {
        let params = [
            Param::Text(user.as_str()),
            Param::Int(now),
            Param::Int(expires_at),
        ];
        D::count_returned(&self.pool, &self.statements.touch_user, &params)
            .await
            .map(drop)
            .map_err(|e| unavailable::<D>("remember a user", &e))
    }

    async fn users_to_list(
        &self,
        since: i64,
        quiet_before: i64,
        limit: usize,
    ) -> Result<Vec<SeenUser>, StoreError> {
        let params = [
            Param::Int(since),
            Param::Int(quiet_before),
            Param::Int(row_limit(limit)),
        ];
        let rows = D::fetch_int_text(&self.pool, &self.statements.users_to_list, &params)
            .await
            .map_err(|e| unavailable::<D>("list users", &e))?;
        rows.into_iter()
            .map(|(last_seen_at, user)| {
                let user = UserId::parse(&user)
                    .map_err(|_| StoreError::Corrupt("stored user id is invalid".to_owned()))?;
                Ok(SeenUser { user, last_seen_at })
            })
            .collect()
    }

    async fn mark_listed(&self, user: &UserId, seen_at: i64) -> Result<(), StoreError> {
        let params = [Param::Text(user.as_str()), Param::Int(seen_at)];
        D::count_returned(&self.pool, &self.statements.mark_listed, &params)
            .await
            .map(drop)
            .map_err(|e| unavailable::<D>("mark a user listed", &e))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        SqlStore::ping(self).await
    }
}

/// A row count as a `LIMIT` parameter.
fn row_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A version as the `BIGINT` column holds it.
fn stored_version(version: Version) -> Result<i64, StoreError> {
    i64::try_from(version.get())
        .map_err(|_| StoreError::Corrupt("stored record: version out of range".to_owned()))
}
