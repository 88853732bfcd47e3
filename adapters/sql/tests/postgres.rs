//! What only the PostgreSQL store does — its schema option, connection
//! settings, skipping locked rows, data exceptions, an unreachable server —
//! on a real server (`TEST_DATABASE_URL`). The behaviour both dialects share
//! is in `sql_store.rs`.

mod common;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatkit_leads_core::testkit::conformance::{
    self, acquire_request as acquire_req, expect_won as won, fresh_thread,
};
use chatkit_leads_core::{LeadStore, StoreError};
use chatkit_leads_sql::postgres::{PostgresStore, PostgresStoreOptions};
use common::{PostgresDb, TestDb};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

const T0: i64 = 1_800_000_000;

/// A 127.0.0.1 port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

async fn migrations_recorded(store: &PostgresStore) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(store.pool())
        .await
        .expect("count migrations")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_connects_migrate_a_fresh_schema_once() {
    let schema = Arc::new(PostgresDb::create().await);
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
    let migrations = <sqlx::Postgres as chatkit_leads_sql::Dialect>::MIGRATIONS.len();
    assert_eq!(
        migrations_recorded(&stores[0]).await,
        i64::try_from(migrations).expect("count")
    );
    for store in &stores {
        store.close().await;
    }
}

#[tokio::test]
async fn tables_live_in_the_configured_schema() {
    let schema = PostgresDb::create().await;
    let store = schema.store().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = $1 ORDER BY table_name",
    )
    .bind(&schema.name)
    .fetch_all(store.pool())
    .await
    .expect("tables");
    assert_eq!(tables, ["_sqlx_migrations", "lead_records", "lead_users"]);
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
    let schema = PostgresDb::create().await;
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
async fn delete_expired_skips_rows_a_writer_holds() {
    let schema = PostgresDb::create().await;
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

#[tokio::test]
async fn a_value_postgresql_refuses_is_reported_by_code_only() {
    let db = PostgresDb::create().await;
    let store = db.store().await;
    // JSONB cannot hold NUL: a data exception, whose message could quote
    // the input, is reported by its SQLSTATE only.
    let err =
        conformance::failed_acquire_quotes_no_value(&store, "customer@example.com\0+14085550123")
            .await;
    let message = err.to_string();
    assert!(matches!(err, StoreError::Unavailable(_)), "{message}");
    assert!(message.contains("PostgreSQL error 22"), "{message}");
}
