//! SQLite: the embedded default. How to open a file (WAL, `busy_timeout`,
//! the file created on first use) and SQLite's dialect.

use std::str::FromStr;
use std::time::{Duration, Instant};

use chatkit_leads_core::StoreError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Sqlite};

use crate::dialect::{Connect, Dialect};
use crate::error::unavailable;
use crate::migrations::dialect_migrations;
use crate::options::StoreOptions;
use crate::store::SqlStore;

/// A [`LeadStore`](chatkit_leads_core::LeadStore) in a SQLite database file.
///
/// File databases run in WAL mode with `synchronous = NORMAL` and a
/// `busy_timeout`, so readers never block the writer and concurrent writers
/// (tasks, pools or processes sharing the file) wait instead of failing.
pub type SqliteStore = SqlStore<Sqlite>;

/// [`StoreOptions`] for SQLite.
pub type SqliteStoreOptions = StoreOptions<SqliteSettings>;

/// SQLite's own connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteSettings {
    /// How long one statement waits for a lock held by another connection
    /// (this or another process) before failing with "database is locked"
    /// (default 5 s).
    pub busy_timeout: Duration,
    /// Create the database file when it does not exist (default true).
    pub create_if_missing: bool,
}

impl Default for SqliteSettings {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            create_if_missing: true,
        }
    }
}

impl StoreOptions<SqliteSettings> {
    /// Sets [`SqliteSettings::busy_timeout`].
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.backend.busy_timeout = timeout;
        self
    }

    /// Sets [`SqliteSettings::create_if_missing`].
    #[must_use]
    pub fn create_if_missing(mut self, create: bool) -> Self {
        self.backend.create_if_missing = create;
        self
    }
}

impl Dialect for Sqlite {
    const MIGRATIONS: &'static [(i64, &'static str, &'static str)] = dialect_migrations!("sqlite");
    const RECORD_TYPE: &'static str = "TEXT";
    // One writer at a time: there is nothing to skip.
    const SKIP_LOCKED: &'static str = "";
}

impl Connect for Sqlite {
    type Settings = SqliteSettings;

    async fn prepare(
        url_or_path: &str,
        settings: &SqliteSettings,
    ) -> Result<SqliteConnectOptions, StoreError> {
        let connect = if url_or_path.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url_or_path)
                .map_err(|e| unavailable::<Sqlite>("parse the database URL", &e))?
        } else {
            SqliteConnectOptions::new().filename(url_or_path)
        };
        let connect = connect
            .create_if_missing(settings.create_if_missing)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(settings.busy_timeout)
            .foreign_keys(true);
        // WAL is a property of the file; pooled connections inherit it and
        // never take the exclusive lock the switch needs.
        enable_wal(&connect, settings.busy_timeout).await?;
        Ok(connect)
    }
}

impl SqlStore<Sqlite> {
    /// A migrated store in a private in-memory database, for tests and
    /// examples. It lives as long as the store (one connection, never
    /// recycled) and is not shared with any other store.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if SQLite cannot open it.
    pub async fn in_memory() -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| unavailable::<Sqlite>("parse the database URL", &e))?;
        // Every in-memory connection is its own database, so the pool keeps
        // exactly one connection alive for the store's whole life.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect)
            .await
            .map_err(|e| unavailable::<Sqlite>("open the database", &e))?;
        let store = Self::from_pool(pool);
        store.migrate().await?;
        Ok(store)
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
                    .map_err(|e| unavailable::<Sqlite>("enable WAL mode", &e));
            }
            Err(e) if is_busy(&e) && started.elapsed() < patience => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(e) => return Err(unavailable::<Sqlite>("open the database", &e)),
        }
    }
}

/// SQLite answered `SQLITE_BUSY` or `SQLITE_LOCKED` (any extended code).
fn is_busy(err: &sqlx::Error) -> bool {
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
