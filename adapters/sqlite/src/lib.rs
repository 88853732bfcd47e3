//! # chatkit-leads-sqlite
//!
//! The embedded default [`LeadStore`](chatkit_leads_core::LeadStore) of
//! chatkit-leads: one SQLite file holds one idempotency record per ChatKit
//! thread (SPEC §7), so a single server sends exactly one lead email per
//! thread without any database server.
//!
//! - [`SqliteStore::connect`] opens or creates the file, turns on WAL mode,
//!   `synchronous = NORMAL` and a 5 s `busy_timeout`, builds a connection
//!   pool ([`SqliteStoreOptions`]) and **applies the migrations**.
//! - The schema is one `lead_records` table (columns named like the seed's
//!   DynamoDB attributes, epoch seconds as integers), shipped in the crate's
//!   `migrations/` folder and tracked in `_sqlx_migrations`.
//! - Every lease transition is a single SQL statement — an upsert whose
//!   `DO UPDATE … WHERE status IN ('sending', 'error') AND lock_expires_at
//!   <= now` decides the acquire (a row with an unknown status is never
//!   taken over), and `UPDATE … WHERE lease_id = ? AND status = 'sending'`
//!   for the marks — never read-then-write, so tasks, pools and processes
//!   sharing the file agree on exactly one holder.
//! - [`SqliteStore::delete_expired`] removes records past their `ttl` in
//!   bounded batches; [`SqliteStore::ping`] is a readiness check.
//!
//! The store passes the core's conformance suite
//! (`chatkit_leads_core::testkit::conformance`) on a real file.
//!
//! ```
//! use chatkit_leads_core::ids::{LeaseId, ThreadId};
//! use chatkit_leads_core::record::{AcquireRequest, Acquired};
//! use chatkit_leads_core::LeadStore;
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
//! assert!(matches!(store.try_acquire(&request).await?, Acquired::Won(_)));
//!
//! // Housekeeping, e.g. once an hour: drop records whose TTL has passed.
//! let removed = store.delete_expired(now, 500).await?;
//! assert_eq!(removed, 0);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod error;
mod migrations;
mod options;
mod store;

pub use options::SqliteStoreOptions;
pub use store::SqliteStore;
