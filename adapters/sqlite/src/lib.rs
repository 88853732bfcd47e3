//! # chatkit-leads-sqlite
//!
//! The embedded default [`LeadStore`](chatkit_leads_core::LeadStore) of
//! chatkit-leads: one SQLite file holds one idempotency record per ChatKit
//! thread (SPEC §7), so a single server sends exactly one lead email per
//! thread without any database server.
//!
//! This crate is the SQLite face of `chatkit-leads-sql`, with only the
//! SQLite driver compiled in:
//!
//! - [`SqliteStore::connect`] opens or creates the file, turns on WAL mode,
//!   `synchronous = NORMAL` and a 5 s `busy_timeout`, builds a connection
//!   pool ([`SqliteStoreOptions`]) and **applies the migrations**.
//! - The schema is one `lead_records` table — `thread_id`, `version`, `ttl`
//!   and the record as a JSON document with the seed's field names — shipped
//!   in `chatkit-leads-sql`'s `migrations/sqlite/` and tracked in
//!   `_sqlx_migrations`. To look at a thread by hand:
//!   `SELECT version, record FROM lead_records WHERE thread_id = 'cthr_…'`.
//! - `put` is one SQL statement (`INSERT … ON CONFLICT DO NOTHING`, or
//!   `UPDATE … WHERE version = ?`), never read-then-write, so tasks, pools
//!   and processes sharing the file agree on every change.
//! - [`SqliteStore::delete_expired`](chatkit_leads_sql::SqlStore::delete_expired)
//!   removes records past their `ttl` in bounded batches;
//!   [`SqliteStore::ping`](chatkit_leads_sql::SqlStore::ping) is a readiness
//!   check.
//!
//! The store passes the core's conformance suite
//! (`chatkit_leads_core::testkit::conformance`) on a real file.
//!
//! ```
//! use chatkit_leads_core::ids::{LeaseId, ThreadId};
//! use chatkit_leads_core::lease::{self, AcquireRequest, Acquired};
//! use chatkit_leads_sqlite::SqliteStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("leads.db");
//! # let path = path.to_str().ok_or("path")?;
//! // Creates the file if needed, enables WAL and applies the migrations.
//! let store = SqliteStore::connect(path).await?;
//! store.ping().await?;
//!
//! let now = 1_800_000_000;
//! let request = AcquireRequest {
//!     thread_id: ThreadId::parse("cthr_demo")?,
//!     lease_id: LeaseId::random(),
//!     now,
//!     lock_expires_at: now + 120,
//!     ttl: now + 30 * 24 * 3600,
//!     reason: "idle".to_owned(),
//! };
//! assert!(matches!(lease::acquire(&store, &request, None).await?, Acquired::Won(_)));
//!
//! // Housekeeping, e.g. once an hour: drop records whose TTL has passed.
//! let removed = store.delete_expired(now, 500).await?;
//! assert_eq!(removed, 0);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub use chatkit_leads_sql::StoreOptions;
pub use chatkit_leads_sql::sqlite::{SqliteSettings, SqliteStore, SqliteStoreOptions};
