//! # chatkit-leads-postgres
//!
//! A PostgreSQL [`LeadStore`](chatkit_leads_core::LeadStore) for
//! chatkit-leads: one `lead_records` row per ChatKit thread (SPEC §7), so
//! any number of server processes sharing a database send exactly one lead
//! email per thread.
//!
//! This crate is the PostgreSQL face of `chatkit-leads-sql`, with only the
//! PostgreSQL driver (and rustls) compiled in:
//!
//! - [`PostgresStore::connect`] builds a connection pool
//!   ([`PostgresStoreOptions`]: pool size, acquire timeout,
//!   `statement_timeout`, schema) and **applies the migrations** (unless
//!   told not to; `PostgresStore::migrate` does it on request).
//! - The schema is one `lead_records` table — `thread_id`, `version`, `ttl`
//!   (indexed) and the record as `JSONB` with the seed's field names —
//!   shipped in `chatkit-leads-sql`'s `migrations/postgres/` and tracked in
//!   `_sqlx_migrations`. With [`PostgresSettings::schema`] both live in a
//!   schema of their own, set as the connections' `search_path`. To look at
//!   a thread by hand: `SELECT version, record FROM lead_records WHERE
//!   thread_id = 'cthr_…'` (or `record->>'status'`, …).
//! - `put` is one SQL statement (`INSERT … ON CONFLICT DO NOTHING`, or
//!   `UPDATE … WHERE version = $2`) — never read-then-write and no
//!   advisory locks.
//! - `PostgresStore::delete_expired` removes records past their `ttl` in
//!   bounded batches; `PostgresStore::ping` is a readiness check.
//! - Errors are [`StoreError::Unavailable`](chatkit_leads_core::StoreError)
//!   naming the operation and PostgreSQL's SQLSTATE, never a stored value.
//!
//! The store passes the core's conformance suite
//! (`chatkit_leads_core::testkit::conformance`) against a real server.
//!
//! ```no_run
//! use chatkit_leads_core::ids::{LeaseId, ThreadId};
//! use chatkit_leads_core::lease::{self, AcquireRequest, Acquired};
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
//! match lease::acquire(&store, &request, None).await? {
//!     Acquired::Won(lease) => println!("sending, attempt {}", lease.record().attempts),
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

pub use chatkit_leads_sql::StoreOptions;
pub use chatkit_leads_sql::postgres::{PostgresSettings, PostgresStore, PostgresStoreOptions};
