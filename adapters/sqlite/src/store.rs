//! [`SqliteStore`]: the lease rules of `chatkit_leads_core::record::rules`
//! written as one SQL statement per transition.

use std::str::FromStr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chatkit_leads_core::ids::{LeaseId, ThreadId};
use chatkit_leads_core::record::{
    AcquireRequest, Acquired, ErrorMark, LeadRecord, LeadStatus, LeaseToken, MAX_LAST_ERROR_CHARS,
    SentMark,
};
use chatkit_leads_core::text::truncate_chars;
use chatkit_leads_core::{LeadStore, StoreError};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Row};

use crate::error::{corrupt, is_busy, unavailable};
use crate::migrations;
use crate::options::SqliteStoreOptions;

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
    " FROM lead_records WHERE thread_id = ?1"
);

// SPEC §7 acquire in one statement. A new thread inserts a fresh `sending`
// record; an existing one is updated only when it is not `sent` and its lock
// has expired (`lock_expires_at <= now`), counting an attempt (saturating
// like `rules::acquire`) and keeping `created_at`, `sent_at`, `message_id`,
// `last_error` and `delivery_started_at`. When the `WHERE` is false SQLite
// neither writes nor returns a row: the caller lost.
//
// "Not sent" is spelled `IN ('sending', 'error')` rather than `<> 'sent'`:
// the same on readable rows, but a row with an unknown status (say, written
// by a newer version) is never taken over and resent; the loser's read then
// reports it as corrupt.
const ACQUIRE: &str = concat!(
    "INSERT INTO lead_records (thread_id, status, lease_id, lock_expires_at, created_at, \
     updated_at, attempts, ttl, last_reason) \
     VALUES (?1, 'sending', ?2, ?3, ?4, ?4, 1, ?5, ?6) \
     ON CONFLICT (thread_id) DO UPDATE SET \
         status = 'sending', \
         lease_id = excluded.lease_id, \
         lock_expires_at = excluded.lock_expires_at, \
         updated_at = excluded.updated_at, \
         attempts = MIN(lead_records.attempts + 1, 4294967295), \
         ttl = excluded.ttl, \
         last_reason = excluded.last_reason \
     WHERE lead_records.status IN ('sending', 'error') AND lead_records.lock_expires_at <= ?4 \
     RETURNING ",
    columns!()
);

// The four lease-holder updates share one condition: the caller's lease
// still holds a `sending` record.
const CHECKPOINT: &str = "UPDATE lead_records SET delivery_started_at = ?3, updated_at = ?3 \
     WHERE thread_id = ?1 AND lease_id = ?2 AND status = 'sending'";

const MARK_SENT: &str = "UPDATE lead_records SET status = 'sent', sent_at = ?3, \
     message_id = ?4, lock_expires_at = ?3, updated_at = ?3, last_error = NULL, ttl = ?5 \
     WHERE thread_id = ?1 AND lease_id = ?2 AND status = 'sending'";

const MARK_ERROR: &str = "UPDATE lead_records SET status = 'error', lock_expires_at = ?3, \
     updated_at = ?4, last_error = ?5, \
     delivery_started_at = CASE WHEN ?6 THEN NULL ELSE delivery_started_at END \
     WHERE thread_id = ?1 AND lease_id = ?2 AND status = 'sending'";

const RELEASE: &str = "UPDATE lead_records SET lock_expires_at = ?3, updated_at = ?3, \
     last_reason = ?4 \
     WHERE thread_id = ?1 AND lease_id = ?2 AND status = 'sending'";

// One bounded batch; `delete_expired` repeats it so no single statement
// holds the write lock for long.
const DELETE_EXPIRED: &str = "DELETE FROM lead_records WHERE thread_id IN \
     (SELECT thread_id FROM lead_records WHERE ttl < ?1 LIMIT ?2)";

const PING: &str = "SELECT 1 FROM lead_records LIMIT 1";

/// A [`LeadStore`] in a SQLite database file, the embedded default store.
///
/// Every transition is one SQL statement (an upsert with a conditional
/// `DO UPDATE … WHERE` for the acquire, a conditional `UPDATE` for the
/// marks), so any number of tasks, pools or processes sharing the file see
/// exactly one lease holder at a time. File databases run in WAL mode with
/// `synchronous = NORMAL` and a `busy_timeout`, so readers never block the
/// writer and concurrent writers wait instead of failing.
///
/// Cloning is cheap and shares the pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database at `url_or_path` with
    /// [`SqliteStoreOptions::default`] and applies the migrations.
    ///
    /// `url_or_path` is either a `sqlite:` URL (`sqlite://leads.db`,
    /// `sqlite:data/leads.db?mode=rwc`) or a plain file path (`leads.db`).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the file cannot be opened or created,
    /// or a migration fails.
    pub async fn connect(url_or_path: &str) -> Result<Self, StoreError> {
        Self::connect_with(url_or_path, SqliteStoreOptions::default()).await
    }

    /// Like [`SqliteStore::connect`] with explicit options; applies the
    /// migrations unless [`SqliteStoreOptions::migrate`] is `false`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the file cannot be opened or created,
    /// or a migration fails.
    pub async fn connect_with(
        url_or_path: &str,
        options: SqliteStoreOptions,
    ) -> Result<Self, StoreError> {
        let connect = if url_or_path.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url_or_path)
                .map_err(|e| unavailable("parse the database URL", &e))?
        } else {
            SqliteConnectOptions::new().filename(url_or_path)
        };
        let connect = connect
            .create_if_missing(options.create_if_missing)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true);
        enable_wal(&connect, options.busy_timeout).await?;
        // WAL is a property of the file now; pooled connections inherit it
        // and never take the exclusive lock the switch needs.
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| unavailable("open the database", &e))?;
        let store = Self { pool };
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// A migrated store in a private in-memory database, for tests and
    /// examples. It lives as long as the store (one connection, never
    /// recycled) and is not shared with any other store.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if SQLite cannot open it.
    pub async fn in_memory() -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| unavailable("parse the database URL", &e))?;
        // Every in-memory connection is its own database, so the pool keeps
        // exactly one connection alive for the store's whole life.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect)
            .await
            .map_err(|e| unavailable("open the database", &e))?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Wraps a pool the application already has. Does not migrate: call
    /// [`SqliteStore::migrate`]. For correct concurrent behaviour give its
    /// connections a `busy_timeout`; WAL mode is recommended.
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// The underlying pool (to share it, inspect the database or close it).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Applies the crate's migrations (`migrations/*.sql`, embedded at build
    /// time) that the database has not seen yet; a no-op when it is up to
    /// date. [`SqliteStore::connect`] already calls it.
    ///
    /// Migrations are recorded in sqlx's `_sqlx_migrations` table, so the
    /// files also work with `sqlx migrate run --source <crate>/migrations`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when a migration fails, or when an applied
    /// migration differs from the embedded one.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrations::run(&self.pool).await
    }

    /// Readiness check: the database answers and the `lead_records` table
    /// exists.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] otherwise.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query(PING)
            .fetch_optional(&self.pool)
            .await
            .map(drop)
            .map_err(|e| unavailable("ping", &e))
    }

    /// Deletes records whose `ttl` has passed (`ttl < now`), `batch` rows
    /// per statement (0 counts as 1) until none is left, and returns how
    /// many were deleted. Run it from a periodic task; each batch holds the
    /// write lock only briefly, so leases keep flowing meanwhile.
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

    /// Closes the pool, waiting for connections in use to come back; WAL
    /// files are checkpointed as the last connection closes.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Runs one lease-holder `UPDATE`; true iff it changed the record.
    async fn update(
        &self,
        op: &'static str,
        query: sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    ) -> Result<bool, StoreError> {
        let result = query
            .execute(&self.pool)
            .await
            .map_err(|e| unavailable(op, &e))?;
        Ok(result.rows_affected() == 1)
    }
}

#[async_trait]
impl LeadStore for SqliteStore {
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

/// Switches the file to WAL mode on a connection of its own.
///
/// The switch needs an exclusive lock that SQLite's busy handler does not
/// wait for, so processes opening a fresh file at the same moment can get
/// "database is locked"; retry with a short pause until `patience` is used up.
async fn enable_wal(connect: &SqliteConnectOptions, patience: Duration) -> Result<(), StoreError> {
    let connect = connect.clone().journal_mode(SqliteJournalMode::Wal);
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match connect.connect().await {
            Ok(conn) => {
                return conn
                    .close()
                    .await
                    .map_err(|e| unavailable("enable WAL mode", &e));
            }
            Err(e) if is_busy(&e) && started.elapsed() < patience => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(e) => return Err(unavailable("open the database", &e)),
        }
    }
}

/// Reads one `lead_records` row; anything that does not fit a
/// [`LeadRecord`] is [`StoreError::Corrupt`].
fn decode(row: &SqliteRow) -> Result<LeadRecord, StoreError> {
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

fn column<'r, T>(row: &'r SqliteRow, name: &'static str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(name)
        .map_err(|_| corrupt(&format!("column {name} has an unexpected type")))
}
