//! # chatkit-leads-dynamodb
//!
//! A [`LeadStore`](chatkit_leads_core::LeadStore) in an Amazon DynamoDB
//! table, over the official `aws-sdk-dynamodb`: one idempotency record per
//! ChatKit thread (SPEC §7), so any number of servers or Lambda instances
//! send exactly one lead email per thread.
//!
//! - The table is keyed by `thread_id` (S) and expires items through its TTL
//!   attribute `ttl`. The item is the seed's, plus a `version`, so a table
//!   the seed's Lambda wrote keeps working:
//!
//!   | attribute | type | |
//!   |---|---|---|
//!   | `thread_id` | S | partition key |
//!   | `status` | S | `sending`, `sent` or `error` |
//!   | `lease_id` | S | current or last holder |
//!   | `lock_expires_at`, `created_at`, `updated_at` | N | epoch seconds |
//!   | `attempts` | N | acquires so far |
//!   | `sent_at`, `delivery_started_at` | N | epoch seconds; missing when unset |
//!   | `message_id`, `last_reason`, `last_error` | S | missing when unset |
//!   | `ttl` | N | epoch seconds; the table's TTL attribute |
//!   | `version` | N | writes so far; missing on items the seed wrote (read as 0) |
//!
//!   An unset optional field is a missing attribute, never `NULL`; a `NULL`
//!   written by other code reads as unset. Attributes a newer release added
//!   are kept as they are. The mapping is the record's serde form through
//!   `serde_dynamo`, so a field added to the record needs nothing here.
//! - The store does two things ([`LeadStore`](chatkit_leads_core::LeadStore)):
//!   a strongly consistent `GetItem`, and a `PutItem` conditioned on the
//!   version it read (`attribute_not_exists(thread_id)` for a new thread) —
//!   never read-then-write. The lease rules on top live once, in
//!   `chatkit_leads_core::lease`.
//! - Throttling and transient errors are retried by the SDK's standard retry
//!   mode ([`DynamoStoreOptions`]). A failed condition is an answer, never
//!   retried; a retried write whose first answer was lost comes back as a
//!   failed condition, and the core recognises the stored item as its own.
//! - Error messages name the operation and the SDK's error chain, never an
//!   attribute value (thread ids, lease ids, reasons, error texts).
//! - [`create_table`] creates the table (on-demand billing) and enables TTL;
//!   [`DynamoStore::ping`] is a readiness check.
//!
//! The store passes the core's conformance suite
//! (`chatkit_leads_core::testkit::conformance`) against a local DynamoDB
//! stand-in (`scripts/moto_server.py`).
//!
//! ```no_run
//! use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
//! use chatkit_leads_core::ids::{LeaseId, ThreadId};
//! use chatkit_leads_core::lease::{self, AcquireRequest, Acquired};
//! use chatkit_leads_dynamodb::{create_table, DynamoStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In production: `aws_sdk_dynamodb::Client::new(&aws_config::load_from_env().await)`.
//! let config = aws_sdk_dynamodb::Config::builder()
//!     .behavior_version(BehaviorVersion::latest())
//!     .endpoint_url("http://127.0.0.1:8000")
//!     .region(Region::new("us-east-1"))
//!     .credentials_provider(Credentials::new("test", "test", None, None, "static"))
//!     .build();
//! let client = aws_sdk_dynamodb::Client::from_conf(config);
//! create_table(&client, "chatkit-leads").await?; // once; a no-op later
//! let store = DynamoStore::new(client, "chatkit-leads");
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
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod error;
mod item;
mod options;
mod store;
mod table;

pub use options::DynamoStoreOptions;
pub use store::DynamoStore;
pub use table::create_table;
