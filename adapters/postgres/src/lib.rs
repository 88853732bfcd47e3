//! # chatkit-leads-postgres
//!
//! A PostgreSQL [`LeadStore`](chatkit_leads_core::LeadStore) for
//! chatkit-leads: one `lead_records` row per ChatKit thread (SPEC §7), so
//! any number of server processes sharing a database send exactly one lead
//! email per thread.
//!
//! - [`PostgresStore::connect`] builds a connection pool
//!   ([`PostgresStoreOptions`]: pool size, acquire timeout,
//!   `statement_timeout`, schema) and **applies the migrations** (unless
//!   told not to; [`PostgresStore::migrate`] does it on request).
//! - The schema is one `lead_records` table (columns named like the seed's
//!   DynamoDB attributes, epoch seconds as `BIGINT`, a `CHECK` on `status`,
//!   an index on `ttl`), shipped in the crate's `migrations/` folder and
//!   tracked in `_sqlx_migrations`. With [`PostgresStoreOptions::schema`]
//!   both live in a schema of their own, set as the connections'
//!   `search_path`.
//! - Every lease transition is a single SQL statement — `INSERT … ON
//!   CONFLICT (thread_id) DO UPDATE … WHERE status IN ('sending', 'error')
//!   AND lock_expires_at <= now RETURNING …` for the acquire (no row back:
//!   the caller lost, and the holder's record is read), `UPDATE … WHERE
//!   lease_id = $2 AND status = 'sending' RETURNING …` for the marks —
//!   never read-then-write and no advisory locks.
//! - [`PostgresStore::delete_expired`] removes records past their `ttl` in
//!   bounded batches; [`PostgresStore::ping`] is a readiness check.
//! - Errors are [`StoreError::Unavailable`](chatkit_leads_core::StoreError)
//!   naming the operation and PostgreSQL's SQLSTATE, never a bound value.
//!
//! The store passes the core's conformance suite
//! (`chatkit_leads_core::testkit::conformance`) against a real server.
//!
//! ```no_run
//! use chatkit_leads_core::ids::{LeaseId, ThreadId};
//! use chatkit_leads_core::record::{AcquireRequest, Acquired};
//! use chatkit_leads_core::LeadStore;
//! use chatkit_leads_postgres::{PostgresStore, PostgresStoreOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // e.g. postgres://leads:secret@db.internal:5432/leads?sslmode=require
//! let url = std::env::var("DATABASE_URL")?;
//! // Connects, creates the `chatkit` schema if needed and migrates.
//! let store = PostgresStore::connect_with(
//!     &url,
//!     PostgresStoreOptions::default().max_connections(10).schema("chatkit"),
//! )
//! .await?;
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
//! match store.try_acquire(&request).await? {
//!     Acquired::Won(record) => println!("sending, attempt {}", record.attempts),
//!     Acquired::Lost(holder) => println!("someone else holds it: {holder:?}"),
//! }
//!
//! // Housekeeping, e.g. once an hour: drop records whose TTL has passed.
//! let removed = store.delete_expired(now, 500).await?;
//! println!("{removed} expired records deleted");
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod error;
mod migrations;
mod options;
mod store;

pub use options::PostgresStoreOptions;
pub use store::PostgresStore;
