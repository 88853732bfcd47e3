//! [`PostgresStore`]: the lease rules of `chatkit_leads_core::record::rules`
//! written as one SQL statement per transition.

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chatkit_leads_core::ids::{LeaseId, ThreadId};
use chatkit_leads_core::record::{
    AcquireRequest, Acquired, ErrorMark, LeadRecord, LeadStatus, LeaseToken, MAX_LAST_ERROR_CHARS,
    SentMark,
};
use chatkit_leads_core::text::truncate_chars;
use chatkit_leads_core::{LeadStore, StoreError};
use sqlx::Row;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};

use crate::error::{corrupt, unavailable};
use crate::migrations;
use crate::options::{PostgresStoreOptions, validate_schema};

/// The record's columns in `RETURNING` / `SELECT` order. A macro so the SQL
/// stays one `&'static str` built by `concat!`.
macro_rules! columns {
    () => {
        "thread_id, status, lease_id, lock_expires_at, created_at, updated_at, attempts, \
         sent_at, message_id, last_reason, last_error, ttl, delivery_started_at"
    };
}

const GET: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM lead_records WHERE thread_id = $1"
);

// SPEC §7 acquire in one statement. A new thread inserts a fresh `sending`
// record; an existing one is updated only when it is not `sent` and its lock
// has expired (`lock_expires_at <= now`), counting an attempt (saturating at
// u32::MAX like `rules::acquire`) and keeping `created_at`, `sent_at`,
// `message_id`, `last_error` and `delivery_started_at`. When the `WHERE` is
// false PostgreSQL neither writes nor returns a row: the caller lost.
//
// Concurrent acquires of one thread serialise on the row (or, for a new
// thread, on the primary key): under READ COMMITTED each waiter re-evaluates
// the `WHERE` on the winner's committed row, so exactly one wins.
//
// "Not sent" is spelled `IN ('sending', 'error')` rather than `<> 'sent'`:
// the same while the CHECK constraint holds, and a row with an unknown
// status (say, the constraint dropped by hand) is never taken over and
// resent; the loser's read then reports it as corrupt.
const ACQUIRE: &str = concat!(
    "INSERT INTO lead_records (thread_id, status, lease_id, lock_expires_at, created_at, \
     updated_at, attempts, ttl, last_reason) \
     VALUES ($1, 'sending', $2, $3, $4, $4, 1, $5, $6) \
     ON CONFLICT (thread_id) DO UPDATE SET \
         status = 'sending', \
         lease_id = EXCLUDED.lease_id, \
         lock_expires_at = EXCLUDED.lock_expires_at, \
         updated_at = EXCLUDED.updated_at, \
         attempts = LEAST(lead_records.attempts + 1, 4294967295), \
         ttl = EXCLUDED.ttl, \
         last_reason = EXCLUDED.last_reason \
     WHERE lead_records.status IN ('sending', 'error') AND lead_records.lock_expires_at <= $4 \
     RETURNING ",
    columns!()
);

// The four lease-holder updates share one condition: the caller's lease
// still holds a `sending` record.
const CHECKPOINT: &str = "UPDATE lead_records SET delivery_started_at = $3, updated_at = $3 \
     WHERE thread_id = $1 AND lease_id = $2 AND status = 'sending' \
     RETURNING thread_id";

const MARK_SENT: &str = "UPDATE lead_records SET status = 'sent', sent_at = $3, \
     message_id = $4, lock_expires_at = $3, updated_at = $3, last_error = NULL, ttl = $5 \
     WHERE thread_id = $1 AND lease_id = $2 AND status = 'sending' \
     RETURNING thread_id";

const MARK_ERROR: &str = "UPDATE lead_records SET status = 'error', lock_expires_at = $3, \
     updated_at = $4, last_error = $5, \
     delivery_started_at = CASE WHEN $6 THEN NULL ELSE delivery_started_at END \
     WHERE thread_id = $1 AND lease_id = $2 AND status = 'sending' \
     RETURNING thread_id";

const RELEASE: &str = "UPDATE lead_records SET lock_expires_at = $3, updated_at = $3, \
     last_reason = $4 \
     WHERE thread_id = $1 AND lease_id = $2 AND status = 'sending' \
     RETURNING thread_id";

// One bounded batch; `delete_expired` repeats it so no single statement
// locks many rows. The rows are locked first (skipping any an acquire holds
// right now) and `ttl < $1` is checked again on the locked version, so a
// record re-acquired meanwhile (which refreshes `ttl`) is never deleted.
const DELETE_EXPIRED: &str = "DELETE FROM lead_records WHERE thread_id IN \
     (SELECT thread_id FROM lead_records WHERE ttl < $1 LIMIT $2 FOR UPDATE SKIP LOCKED) \
     AND ttl < $1";

const PING: &str = "SELECT 1 FROM lead_records LIMIT 1";

/// A [`LeadStore`] in a PostgreSQL table, for several server processes
/// sharing one database.
///
/// Every transition is one SQL statement (an `INSERT … ON CONFLICT … DO
/// UPDATE … WHERE … RETURNING` for the acquire, a conditional `UPDATE … WHERE
/// lease_id = $2 AND status = 'sending'` for the marks), so any number of
/// tasks, pools and processes agree on exactly one lease holder; there is no
/// read-then-write and no advisory lock.
///
/// Cloning is cheap and shares the pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// The schema `migrate` creates, when the store was given one.
    schema: Option<Arc<str>>,
}

impl PostgresStore {
    /// Connects to `url` with [`PostgresStoreOptions::default`] and applies
    /// the migrations.
    ///
    /// `url` is a libpq-style URL, e.g.
    /// `postgres://user:password@host:5432/db?sslmode=require`; TLS is
    /// rustls, trusting the system's CA store (add `sslrootcert=PATH` for
    /// another CA).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL is invalid, the server cannot
    /// be reached within the acquire timeout, or a migration fails.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PostgresStoreOptions::default()).await
    }

    /// Like [`PostgresStore::connect`] with explicit options; applies the
    /// migrations unless [`PostgresStoreOptions::migrate`] is `false`.
    ///
    /// Opens one connection right away, so a wrong URL or an unreachable
    /// server fails here rather than on the first request.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the URL or the schema name is
    /// invalid, the server cannot be reached within
    /// [`PostgresStoreOptions::acquire_timeout`], or a migration fails.
    pub async fn connect_with(
        url: &str,
        options: PostgresStoreOptions,
    ) -> Result<Self, StoreError> {
        let connect = connect_options(url, &options)?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| unavailable("connect to the database", &e))?;
        let store = Self {
            pool,
            schema: options.schema.map(Arc::from),
        };
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// Wraps a pool the application already has; the table is looked up
    /// through the pool's `search_path`. Does not migrate: call
    /// [`PostgresStore::migrate`].
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool, schema: None }
    }

    /// The underlying pool (to share it, inspect the database or close it).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the crate's migrations (`migrations/*.sql`, embedded at build
    /// time) that the database has not seen yet, creating the store's schema
    /// first if it has one; a no-op when it is up to date.
    /// [`PostgresStore::connect`] already calls it.
    ///
    /// Migrations are recorded in sqlx's `_sqlx_migrations` table (in the
    /// same schema), so the files also work with `sqlx migrate run --source
    /// <crate>/migrations`. sqlx serialises concurrent migrators with an
    /// advisory lock, so servers starting together are safe.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when a migration fails, or when an applied
    /// migration differs from the embedded one.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrations::run(&self.pool, self.schema.as_deref()).await
    }

    /// Readiness check: the server answers and the `lead_records` table
    /// exists.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] otherwise, within the pool's acquire
    /// timeout when the server is gone.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query(PING)
            .fetch_optional(&self.pool)
            .await
            .map(drop)
            .map_err(|e| unavailable("ping", &e))
    }

    /// Deletes records whose `ttl` has passed (`ttl < now`), at most `batch`
    /// rows per statement (0 counts as 1) until a batch comes back short,
    /// and returns how many were deleted. Run it from a periodic task; rows
    /// an acquire is writing at that moment are skipped, not waited for, and
    /// a record re-acquired meanwhile is kept.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if a batch fails; batches already done
    /// stay deleted.
    pub async fn delete_expired(&self, now: i64, batch: u32) -> Result<u64, StoreError> {
        let batch = batch.max(1);
        let mut deleted = 0_u64;
        loop {
            let done = sqlx::query(DELETE_EXPIRED)
                .bind(now)
                .bind(i64::from(batch))
                .execute(&self.pool)
                .await
                .map_err(|e| unavailable("delete expired records", &e))?
                .rows_affected();
            deleted += done;
            if done < u64::from(batch) {
                return Ok(deleted);
            }
        }
    }

    /// Closes the pool, waiting for connections in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Runs one lease-holder `UPDATE … RETURNING`; true iff it changed the
    /// record.
    async fn update(
        &self,
        op: &'static str,
        query: sqlx::query::Query<'_, sqlx::Postgres, PgArguments>,
    ) -> Result<bool, StoreError> {
        let changed = query
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| unavailable(op, &e))?;
        Ok(changed.is_some())
    }
}

/// The connection settings for `url` and `options`: the schema as
/// `search_path` and the `statement_timeout`, both sent as startup
/// parameters so every pooled connection has them from its first statement.
fn connect_options(
    url: &str,
    options: &PostgresStoreOptions,
) -> Result<PgConnectOptions, StoreError> {
    let mut connect =
        PgConnectOptions::from_str(url).map_err(|e| unavailable("parse the database URL", &e))?;
    if connect.get_application_name().is_none() {
        connect = connect.application_name("chatkit-leads");
    }
    let mut settings = Vec::new();
    if let Some(schema) = &options.schema {
        validate_schema(schema)?;
        settings.push(("search_path", schema.clone()));
    }
    if let Some(timeout) = options.statement_timeout {
        // Milliseconds; PostgreSQL reads 0 as "no timeout", so round up.
        let ms = timeout.as_millis().max(1);
        settings.push(("statement_timeout", ms.to_string()));
    }
    if !settings.is_empty() {
        connect = connect.options(settings);
    }
    Ok(connect)
}

#[async_trait]
impl LeadStore for PostgresStore {
    async fn get(&self, thread_id: &ThreadId) -> Result<Option<LeadRecord>, StoreError> {
        sqlx::query(GET)
            .bind(thread_id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| unavailable("read a record", &e))?
            .as_ref()
            .map(decode)
            .transpose()
    }

    async fn try_acquire(&self, request: &AcquireRequest) -> Result<Acquired, StoreError> {
        let written = sqlx::query(ACQUIRE)
            .bind(request.thread_id.as_str())
            .bind(request.lease_id.as_str())
            .bind(request.lock_expires_at)
            .bind(request.now)
            .bind(request.ttl)
            .bind(request.reason.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| unavailable("acquire a lease", &e))?;
        match written {
            Some(row) => decode(&row).map(Acquired::Won),
            // Lost: read the holder's record after the (refused) write.
            None => self.get(&request.thread_id).await.map(Acquired::Lost),
        }
    }

    async fn checkpoint_delivery(&self, lease: &LeaseToken, now: i64) -> Result<bool, StoreError> {
        let query = sqlx::query(CHECKPOINT)
            .bind(lease.thread_id.as_str())
            .bind(lease.lease_id.as_str())
            .bind(now);
        self.update("checkpoint a delivery", query).await
    }

    async fn mark_sent(&self, lease: &LeaseToken, mark: &SentMark) -> Result<bool, StoreError> {
        let query = sqlx::query(MARK_SENT)
            .bind(lease.thread_id.as_str())
            .bind(lease.lease_id.as_str())
            .bind(mark.now)
            .bind(mark.message_id.as_str())
            .bind(mark.ttl);
        self.update("mark a record sent", query).await
    }

    async fn mark_error(&self, lease: &LeaseToken, mark: &ErrorMark) -> Result<bool, StoreError> {
        let query = sqlx::query(MARK_ERROR)
            .bind(lease.thread_id.as_str())
            .bind(lease.lease_id.as_str())
            .bind(mark.retry_at)
            .bind(mark.now)
            .bind(truncate_chars(&mark.error, MAX_LAST_ERROR_CHARS))
            .bind(mark.clear_delivery);
        self.update("mark a record failed", query).await
    }

    async fn release(
        &self,
        lease: &LeaseToken,
        now: i64,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let query = sqlx::query(RELEASE)
            .bind(lease.thread_id.as_str())
            .bind(lease.lease_id.as_str())
            .bind(now)
            .bind(reason);
        self.update("release a lease", query).await
    }
}

/// Reads one `lead_records` row; anything that does not fit a
/// [`LeadRecord`] is [`StoreError::Corrupt`].
fn decode(row: &PgRow) -> Result<LeadRecord, StoreError> {
    let raw_status: String = column(row, "status")?;
    let status = LeadStatus::parse(&raw_status).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "unknown status {:?}",
            truncate_chars(&raw_status, 16)
        ))
    })?;
    let raw_thread: String = column(row, "thread_id")?;
    let thread_id =
        ThreadId::parse(&raw_thread).map_err(|_| corrupt("thread_id is not a thread id"))?;
    let attempts: i64 = column(row, "attempts")?;
    let attempts = u32::try_from(attempts).map_err(|_| corrupt("attempts is out of range"))?;
    Ok(LeadRecord {
        thread_id,
        status,
        lease_id: column::<Option<String>>(row, "lease_id")?.map(LeaseId::from_stored),
        lock_expires_at: column(row, "lock_expires_at")?,
        created_at: column(row, "created_at")?,
        updated_at: column(row, "updated_at")?,
        attempts,
        sent_at: column(row, "sent_at")?,
        message_id: column(row, "message_id")?,
        last_reason: column(row, "last_reason")?,
        last_error: column(row, "last_error")?,
        ttl: column(row, "ttl")?,
        delivery_started_at: column(row, "delivery_started_at")?,
    })
}

fn column<'r, T>(row: &'r PgRow, name: &'static str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(name)
        .map_err(|_| corrupt(&format!("column {name} has an unexpected type")))
}
