//! Connection settings for [`SqliteStore`](crate::SqliteStore).

use std::time::Duration;

/// How [`SqliteStore::connect_with`](crate::SqliteStore::connect_with) opens
/// the database.
///
/// The defaults suit one server process on a small machine: 5 pooled
/// connections, a 5 s `busy_timeout` (how long a statement waits for
/// another connection's write lock before failing), 30 s to wait for a free
/// pooled connection, the file created if missing, and migrations applied.
///
/// ```
/// use std::time::Duration;
/// use chatkit_leads_sqlite::SqliteStoreOptions;
///
/// let options = SqliteStoreOptions::default()
///     .max_connections(2)
///     .busy_timeout(Duration::from_secs(10));
/// assert_eq!(options.max_connections, 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteStoreOptions {
    /// Largest number of open connections in the pool (at least 1).
    pub max_connections: u32,
    /// How long one statement waits for a lock held by another connection
    /// (this or another process) before failing with "database is locked".
    pub busy_timeout: Duration,
    /// How long a call waits for a free pooled connection.
    pub acquire_timeout: Duration,
    /// Create the database file when it does not exist.
    pub create_if_missing: bool,
    /// Apply the crate's migrations while connecting.
    pub migrate: bool,
}

impl Default for SqliteStoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 5,
            busy_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(30),
            create_if_missing: true,
            migrate: true,
        }
    }
}

impl SqliteStoreOptions {
    /// Sets [`SqliteStoreOptions::max_connections`] (0 counts as 1).
    #[must_use]
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Sets [`SqliteStoreOptions::busy_timeout`].
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Sets [`SqliteStoreOptions::acquire_timeout`].
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Sets [`SqliteStoreOptions::create_if_missing`].
    #[must_use]
    pub fn create_if_missing(mut self, create: bool) -> Self {
        self.create_if_missing = create;
        self
    }

    /// Sets [`SqliteStoreOptions::migrate`]; with `false`, call
    /// [`SqliteStore::migrate`](crate::SqliteStore::migrate) yourself (or
    /// run the files in `migrations/` with your own tooling).
    #[must_use]
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }
}
