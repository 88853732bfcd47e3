//! # chatkit-leads-sql
//!
//! The SQL [`LeadStore`](chatkit_leads_core::LeadStore) of chatkit-leads,
//! once for SQLite and PostgreSQL: one `lead_records` table holding each
//! ChatKit thread's idempotency record as a JSON document with a version
//! beside it, so exactly one lead email goes out per thread however many
//! tasks, pools or processes share the database.
//!
//! Most applications depend on the facade crate for their database —
//! `chatkit-leads-sqlite` (the embedded default) or `chatkit-leads-postgres`
//! — which re-export [`sqlite`] or [`postgres`] from here with just that
//! driver compiled in. Features: `sqlite`, `postgres`.
//!
//! - [`SqlStore`] is the whole store: `load` is one `SELECT`, `put` one
//!   `INSERT … ON CONFLICT DO NOTHING` or `UPDATE … WHERE version =
//!   $expected` — never read-then-write. The lease rules on top live once,
//!   in `chatkit_leads_core::lease`.
//! - A [`Dialect`] supplies the few spellings that differ (placeholders are
//!   `$n` in both; PostgreSQL stores `JSONB`, SQLite `TEXT`; cleanup skips
//!   locked rows on PostgreSQL) and its migrations
//!   (`migrations/<dialect>/*.sql`, tracked in `_sqlx_migrations`).
//! - Errors are [`StoreError::Unavailable`](chatkit_leads_core::StoreError)
//!   naming the operation and the database's code, never a stored value.
//!
//! Every dialect passes the core's conformance suite
//! (`chatkit_leads_core::testkit::conformance`) against a real database.
//!
//! ```
//! # #[cfg(feature = "sqlite")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use chatkit_leads_core::ids::{LeaseId, ThreadId};
//! use chatkit_leads_core::lease::{self, AcquireRequest, Acquired};
//! use chatkit_leads_sql::sqlite::SqliteStore;
//!
//! let store = SqliteStore::in_memory().await?;
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
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "sqlite"))]
//! # fn main() {}
//! ```
#![forbid(unsafe_code)]

mod dialect;
mod error;
mod migrations;
mod options;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod statements;
mod store;

pub use dialect::{Connect, Dialect, Driver};
pub use options::StoreOptions;
pub use store::SqlStore;
