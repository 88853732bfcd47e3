//! Connection settings shared by both dialects, with each dialect's own
//! settings in [`StoreOptions::backend`].

use std::time::Duration;

/// How a store connects: the pool settings every dialect has, and the
/// dialect's own ([`SqliteSettings`](crate::sqlite::SqliteSettings),
/// [`PostgresSettings`](crate::postgres::PostgresSettings)).
///
/// The defaults suit one server process on a small machine: 5 pooled
/// connections, 30 s to wait for a free (or new) connection, and the
/// migrations applied while connecting.
///
/// ```
/// # #[cfg(feature = "sqlite")] {
/// use std::time::Duration;
/// use chatkit_leads_sql::sqlite::SqliteStoreOptions;
///
/// let options = SqliteStoreOptions::default()
///     .max_connections(2)
///     .busy_timeout(Duration::from_secs(10));
/// assert_eq!(options.max_connections, 2);
/// assert_eq!(options.backend.busy_timeout, Duration::from_secs(10));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreOptions<B> {
    /// Largest number of open connections in the pool (at least 1).
    pub max_connections: u32,
    /// How long a call waits for a pooled connection, including opening a
    /// new one.
    pub acquire_timeout: Duration,
    /// Apply the crate's migrations while connecting.
    pub migrate: bool,
    /// The dialect's own settings.
    pub backend: B,
}

impl<B: Default> Default for StoreOptions<B> {
    fn default() -> Self {
        Self {
            max_connections: 5,
            acquire_timeout: Duration::from_secs(30),
            migrate: true,
            backend: B::default(),
        }
    }
}

impl<B> StoreOptions<B> {
    /// Sets [`StoreOptions::max_connections`] (0 counts as 1).
    #[must_use]
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Sets [`StoreOptions::acquire_timeout`].
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Sets [`StoreOptions::migrate`]; with `false`, call
    /// [`SqlStore::migrate`](crate::SqlStore::migrate) yourself (or run the
    /// files in `migrations/<dialect>/` with your own tooling).
    #[must_use]
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }
}
