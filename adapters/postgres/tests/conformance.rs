//! The PostgreSQL store against the core's conformance suite and its own
//! guarantees, always on a real server.
//!
//! The server comes from `TEST_DATABASE_URL` (`scripts/test.sh` starts a
//! throwaway cluster and sets it; by hand:
//! `export TEST_DATABASE_URL=$(scripts/pg-test-cluster.sh start)`). Without
//! it every test fails with that advice rather than silently passing. Each
//! test works in a fresh schema `chatkit_test_<uuid>`, dropped at its end.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatkit_leads_core::LeadStore;
use chatkit_leads_core::record::{AcquireRequest, LeadStatus};
use chatkit_leads_core::testkit::conformance;
use chatkit_leads_core::testkit::conformance::{acquire_request as acquire_req, expect_won as won};
use chatkit_leads_core::{StoreError, testkit::conformance::fresh_thread};
use chatkit_leads_postgres::{PostgresStore, PostgresStoreOptions};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

const T0: i64 = 1_800_000_000;

fn database_url() -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "TEST_DATABASE_URL is not set: the PostgreSQL store tests need a server. \
             Run `bash scripts/test.sh` (it starts a throwaway cluster), or \
             `export TEST_DATABASE_URL=$(scripts/pg-test-cluster.sh start)`, or point it at \
             a server you own: postgres://USER[:PASSWORD]@HOST:PORT/DB"
        ),
    }
}

/// A fresh schema name on the test server; the schema (created by the
/// store's migrations) is dropped when this goes out of scope, even when the
/// test panics. Declare it before the stores so it is dropped after them.
struct TestSchema {
    url: String,
    name: String,
}

impl TestSchema {
    fn new() -> Self {
        Self {
            url: database_url(),
            name: format!("chatkit_test_{}", uuid::Uuid::new_v4().simple()),
        }
    }

    fn options(&self) -> PostgresStoreOptions {
        PostgresStoreOptions::default().schema(&self.name)
    }

    async fn store(&self) -> PostgresStore {
        self.store_with(self.options()).await
    }

    async fn store_with(&self, options: PostgresStoreOptions) -> PostgresStore {
        PostgresStore::connect_with(&self.url, options)
            .await
            .unwrap_or_else(|e| panic!("connect to TEST_DATABASE_URL: {e}"))
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let url = self.url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        // Drop cannot await: use a runtime of its own on another thread, so
        // this works inside any test runtime and while unwinding.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&url)
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::raw_sql(AssertSqlSafe(sql))
                    .execute(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                conn.close().await.map_err(|e| e.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test schema {}: {e}", self.name),
            Err(_) => eprintln!("could not drop test schema {}: thread panicked", self.name),
        }
    }
}

async fn migrations_recorded(store: &PostgresStore) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(store.pool())
        .await
        .expect("count migrations")
}

/// A 127.0.0.1 port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn passes_the_lead_store_conformance_suite() {
    let schema = TestSchema::new();
    let store = schema
        .store_with(schema.options().max_connections(16))
        .await;
    conformance::run_all(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_give_exactly_one_winner() {
    let schema = TestSchema::new();
    let first = Arc::new(
        schema
            .store_with(schema.options().max_connections(16))
            .await,
    );
    let second = Arc::new(
        schema
            .store_with(schema.options().max_connections(16))
            .await,
    );
    conformance::concurrent_acquires_across(&[first, second], 64, 10).await;
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let schema = TestSchema::new();
    let first = schema.store().await;
    let thread = fresh_thread("migrate");
    won(&first, &acquire_req(&thread, T0)).await;
    first
        .migrate()
        .await
        .expect("migrate again on the same pool");
    first.close().await;

    let second = schema.store().await;
    second.migrate().await.expect("explicit migrate");
    assert_eq!(
        migrations_recorded(&second).await,
        1,
        "each migration recorded once"
    );
    assert!(
        second.get(&thread).await.expect("get").is_some(),
        "data survives reconnecting"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_connects_migrate_a_fresh_schema_once() {
    let schema = Arc::new(TestSchema::new());
    let connects: Vec<_> = (0..8)
        .map(|_| {
            let schema = Arc::clone(&schema);
            tokio::spawn(async move {
                PostgresStore::connect_with(&schema.url, schema.options().max_connections(1)).await
            })
        })
        .collect();
    let mut stores = Vec::new();
    for connect in connects {
        let store = connect.await.expect("task").expect("connect");
        store.ping().await.expect("ping");
        stores.push(store);
    }
    assert_eq!(migrations_recorded(&stores[0]).await, 1);
    for store in &stores {
        store.close().await;
    }
}

#[tokio::test]
async fn connect_without_migrate_leaves_the_schema_to_the_caller() {
    let schema = TestSchema::new();
    let store = schema.store_with(schema.options().migrate(false)).await;
    assert!(
        matches!(store.ping().await, Err(StoreError::Unavailable(_))),
        "not ready before migrating"
    );
    store.migrate().await.expect("migrate");
    store.ping().await.expect("ready after migrating");
}

#[tokio::test]
async fn tables_live_in_the_configured_schema() {
    let schema = TestSchema::new();
    let store = schema.store().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = $1 ORDER BY table_name",
    )
    .bind(&schema.name)
    .fetch_all(store.pool())
    .await
    .expect("tables");
    assert_eq!(tables, ["_sqlx_migrations", "lead_records"]);
    let index: Option<String> = sqlx::query_scalar(
        "SELECT indexdef FROM pg_indexes \
         WHERE schemaname = $1 AND indexname = 'lead_records_ttl'",
    )
    .bind(&schema.name)
    .fetch_optional(store.pool())
    .await
    .expect("index");
    assert!(
        index.is_some_and(|def| def.contains("(ttl)")),
        "index on ttl"
    );
}

#[tokio::test]
async fn connections_carry_the_schema_and_statement_timeout() {
    let schema = TestSchema::new();
    let store = schema
        .store_with(
            schema
                .options()
                .statement_timeout(Duration::from_millis(250)),
        )
        .await;
    let (search_path, timeout): (String, String) = sqlx::query_as(
        "SELECT current_setting('search_path'), current_setting('statement_timeout')",
    )
    .fetch_one(store.pool())
    .await
    .expect("settings");
    assert_eq!(search_path, schema.name);
    assert_eq!(timeout, "250ms");
    let slow = sqlx::query("SELECT pg_sleep(2)")
        .execute(store.pool())
        .await
        .expect_err("cancelled by statement_timeout");
    let code = slow
        .as_database_error()
        .and_then(|db| db.code())
        .map(|code| code.into_owned());
    assert_eq!(code.as_deref(), Some("57014"), "query_canceled");

    let untimed = schema
        .store_with(schema.options().statement_timeout(None))
        .await;
    let timeout: String = sqlx::query_scalar("SELECT current_setting('statement_timeout')")
        .fetch_one(untimed.pool())
        .await
        .expect("setting");
    assert_eq!(timeout, "0", "the server's default is kept");
}

#[tokio::test]
async fn an_invalid_schema_name_is_refused_before_connecting() {
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", closed_port());
    let started = Instant::now();
    let err = PostgresStore::connect_with(
        &url,
        PostgresStoreOptions::default().schema("leads; DROP TABLE x"),
    )
    .await
    .expect_err("invalid schema");
    assert!(
        matches!(&err, StoreError::Unavailable(m) if m.contains("schema name")),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "no connect attempt"
    );
}

#[tokio::test]
async fn delete_expired_removes_only_expired_rows_in_batches() {
    let schema = TestSchema::new();
    let store = schema.store().await;
    let mut expired = Vec::new();
    let mut live = Vec::new();
    for i in 0..7 {
        let thread = fresh_thread("expired");
        let mut req = acquire_req(&thread, T0);
        req.ttl = T0 + i; // all before T0 + 10
        won(&store, &req).await;
        expired.push(thread);
    }
    for ttl in [T0 + 10, T0 + 11] {
        // `ttl == now` is not expired yet.
        let thread = fresh_thread("live");
        let mut req = acquire_req(&thread, T0);
        req.ttl = ttl;
        won(&store, &req).await;
        live.push(thread);
    }

    let deleted = store.delete_expired(T0 + 10, 3).await.expect("delete");
    assert_eq!(deleted, 7, "every expired record, across several batches");
    for thread in &expired {
        assert_eq!(store.get(thread).await.expect("get"), None);
    }
    for thread in &live {
        assert!(store.get(thread).await.expect("get").is_some());
    }
    assert_eq!(
        store.delete_expired(T0 + 10, 3).await.expect("delete"),
        0,
        "nothing left to delete"
    );
}

#[tokio::test]
async fn delete_expired_skips_rows_a_writer_holds() {
    let schema = TestSchema::new();
    let store = schema.store().await;
    let held = fresh_thread("held");
    let free = fresh_thread("free");
    for thread in [&held, &free] {
        let mut req = acquire_req(thread, T0);
        req.ttl = T0 + 1;
        won(&store, &req).await;
    }
    // Another session is in the middle of writing `held`.
    let mut writer = store.pool().begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM lead_records WHERE thread_id = $1 FOR UPDATE")
        .bind(held.as_str())
        .execute(&mut *writer)
        .await
        .expect("lock");

    let deleted = tokio::time::timeout(Duration::from_secs(5), store.delete_expired(T0 + 10, 10))
        .await
        .expect("delete_expired must not wait for the writer")
        .expect("delete");
    assert_eq!(deleted, 1, "only the free record");
    assert_eq!(store.get(&free).await.expect("get"), None);

    writer.rollback().await.expect("rollback");
    assert!(store.get(&held).await.expect("get").is_some());
    assert_eq!(
        store.delete_expired(T0 + 10, 10).await.expect("delete"),
        1,
        "deleted once the writer is done"
    );
}

#[tokio::test]
async fn a_record_round_trips_every_field_and_stores_integers() {
    let schema = TestSchema::new();
    let store = schema.store().await;
    conformance::every_field_round_trips_like_the_reference(&store).await;

    // Epoch seconds are stored as integers, as in the seed's table.
    let kinds: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_schema = $1 AND table_name = 'lead_records' \
           AND column_name IN ('lock_expires_at', 'created_at', 'updated_at', 'sent_at', \
                               'ttl', 'delivery_started_at', 'attempts') \
         ORDER BY column_name",
    )
    .bind(&schema.name)
    .fetch_all(store.pool())
    .await
    .expect("column types");
    assert_eq!(kinds.len(), 7);
    for (column, kind) in kinds {
        assert_eq!(kind, "bigint", "{column}");
    }
}

#[tokio::test]
async fn attempts_saturate_like_the_reference_rules() {
    let schema = TestSchema::new();
    let store = schema.store().await;
    let thread = fresh_thread("saturate");
    won(&store, &acquire_req(&thread, T0)).await;
    sqlx::query("UPDATE lead_records SET attempts = 4294967295 WHERE thread_id = $1")
        .bind(thread.as_str())
        .execute(store.pool())
        .await
        .expect("update");
    let record = won(&store, &acquire_req(&thread, T0 + 500)).await;
    assert_eq!(record.attempts, u32::MAX);
}

#[tokio::test]
async fn the_table_refuses_an_unknown_status() {
    let schema = TestSchema::new();
    let store = schema.store().await;
    let thread = fresh_thread("check");
    won(&store, &acquire_req(&thread, T0)).await;
    let err = sqlx::query("UPDATE lead_records SET status = 'queued' WHERE thread_id = $1")
        .bind(thread.as_str())
        .execute(store.pool())
        .await
        .expect_err("CHECK constraint");
    let db = err.as_database_error().expect("database error");
    assert_eq!(db.code().as_deref(), Some("23514"), "check_violation");
    assert_eq!(db.constraint(), Some("lead_records_status_known"));
    assert_eq!(
        store.get(&thread).await.expect("get").map(|r| r.status),
        Some(LeadStatus::Sending)
    );
}

#[tokio::test]
async fn an_unknown_status_reads_back_as_corrupt() {
    let schema = TestSchema::new();
    let store = schema.store().await;
    let thread = fresh_thread("corrupt");
    won(&store, &acquire_req(&thread, T0)).await;
    // Only possible with the CHECK constraint gone (this test's own schema).
    sqlx::query("ALTER TABLE lead_records DROP CONSTRAINT lead_records_status_known")
        .execute(store.pool())
        .await
        .expect("drop constraint");
    sqlx::query("UPDATE lead_records SET status = 'queued' WHERE thread_id = $1")
        .bind(thread.as_str())
        .execute(store.pool())
        .await
        .expect("update");
    assert!(matches!(
        store.get(&thread).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(
        matches!(
            store.try_acquire(&acquire_req(&thread, T0 + 500)).await,
            Err(StoreError::Corrupt(_))
        ),
        "an unknown status is never taken over, even after its lock expired"
    );
}

#[tokio::test]
async fn errors_never_echo_bound_values() {
    let schema = TestSchema::new();
    let thread = fresh_thread("secret");
    let mut req = acquire_req(&thread, T0);
    req.reason = "customer@example.com +14085550123".to_owned();
    let secrets = |req: &AcquireRequest| {
        [
            req.thread_id.as_str().to_owned(),
            req.lease_id.as_str().to_owned(),
            "customer@example.com".to_owned(),
            "14085550123".to_owned(),
        ]
    };

    // No table yet: the statement fails inside PostgreSQL.
    let bare = schema.store_with(schema.options().migrate(false)).await;
    let err = bare.try_acquire(&req).await.expect_err("no table");
    let message = err.to_string();
    assert!(matches!(err, StoreError::Unavailable(_)), "{message}");
    assert!(message.contains("42P01"), "{message}");
    assert!(message.contains("does not exist"), "{message}");
    for secret in secrets(&req) {
        assert!(!message.contains(&secret), "{message}");
    }

    // A value PostgreSQL rejects (TEXT cannot hold NUL): a data exception,
    // whose message could quote the input, is reported by code only.
    bare.migrate().await.expect("migrate");
    req.reason = "customer@example.com\0+14085550123".to_owned();
    let err = bare.try_acquire(&req).await.expect_err("NUL in text");
    let message = err.to_string();
    assert!(matches!(err, StoreError::Unavailable(_)), "{message}");
    for secret in secrets(&req) {
        assert!(!message.contains(&secret), "{message}");
    }
}

#[tokio::test]
async fn ping_fails_quickly_when_the_server_is_gone() {
    let connect = PgConnectOptions::new()
        .host("127.0.0.1")
        .port(closed_port())
        .username("postgres");
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .connect_lazy_with(connect);
    let store = PostgresStore::from_pool(pool);
    let started = Instant::now();
    let err = store.ping().await.expect_err("nothing listens there");
    assert!(
        matches!(&err, StoreError::Unavailable(m) if m.contains("ping")),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "failed after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn connect_fails_quickly_when_the_server_is_gone() {
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", closed_port());
    let started = Instant::now();
    let err = PostgresStore::connect_with(
        &url,
        PostgresStoreOptions::default().acquire_timeout(Duration::from_millis(500)),
    )
    .await
    .expect_err("nothing listens there");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "failed after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_invalid_url_is_refused() {
    let err = PostgresStore::connect("not a url")
        .await
        .expect_err("not a URL");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
}
