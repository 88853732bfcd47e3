//! The SQLite store against the core's conformance suite and its own
//! guarantees, always on a real database file.

use std::sync::Arc;

use chatkit_leads_core::LeadStore;
use chatkit_leads_core::testkit::conformance;
use chatkit_leads_core::testkit::conformance::{acquire_request as acquire_req, expect_won as won};
use chatkit_leads_core::{StoreError, testkit::conformance::fresh_thread};
use chatkit_leads_sqlite::{SqliteStore, SqliteStoreOptions};
use tempfile::TempDir;

const T0: i64 = 1_800_000_000;

/// A fresh directory and the path of a database file inside it.
fn temp_db() -> (TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("leads.db");
    let path = path.to_str().expect("utf-8 temp path").to_owned();
    (dir, path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn passes_the_lead_store_conformance_suite_on_a_file() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::connect(&path).await.expect("connect");
    conformance::run_all(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_pools_on_one_file_give_exactly_one_winner() {
    let (_dir, path) = temp_db();
    let first = Arc::new(SqliteStore::connect(&path).await.expect("first pool"));
    let second = Arc::new(SqliteStore::connect(&path).await.expect("second pool"));
    conformance::concurrent_acquires_across(&[first, second], 64, 10).await;
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let (_dir, path) = temp_db();
    let first = SqliteStore::connect(&path).await.expect("first connect");
    let thread = fresh_thread("migrate");
    won(&first, &acquire_req(&thread, T0)).await;
    first
        .migrate()
        .await
        .expect("migrate again on the same pool");
    first.close().await;

    let second = SqliteStore::connect(&path).await.expect("second connect");
    second.migrate().await.expect("explicit migrate");
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(second.pool())
        .await
        .expect("count migrations");
    assert_eq!(applied, 1, "each migration recorded once");
    assert!(
        second.get(&thread).await.expect("get").is_some(),
        "data survives reconnecting"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_connects_migrate_a_fresh_file_once() {
    let (_dir, path) = temp_db();
    let connects: Vec<_> = (0..8)
        .map(|_| {
            let path = path.clone();
            tokio::spawn(async move { SqliteStore::connect(&path).await })
        })
        .collect();
    for connect in connects {
        let store = connect.await.expect("task").expect("connect");
        store.ping().await.expect("ping");
    }
}

#[tokio::test]
async fn connect_without_migrate_leaves_the_schema_to_the_caller() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::connect_with(&path, SqliteStoreOptions::default().migrate(false))
        .await
        .expect("connect");
    assert!(
        matches!(store.ping().await, Err(StoreError::Unavailable(_))),
        "not ready before migrating"
    );
    store.migrate().await.expect("migrate");
    store.ping().await.expect("ready after migrating");
}

#[tokio::test]
async fn delete_expired_removes_only_expired_rows() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::connect(&path).await.expect("connect");
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
async fn a_record_round_trips_every_field_and_stores_integers() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::connect(&path).await.expect("connect");
    let thread = conformance::every_field_round_trips_like_the_reference(&store).await;

    // Epoch seconds are stored as integers, as in the seed's table.
    let kinds: (String, String, String) = sqlx::query_as(
        "SELECT typeof(lock_expires_at), typeof(sent_at), typeof(delivery_started_at) \
         FROM lead_records WHERE thread_id = ?1",
    )
    .bind(thread.as_str())
    .fetch_one(store.pool())
    .await
    .expect("typeof");
    assert_eq!(
        kinds,
        (
            "integer".to_owned(),
            "integer".to_owned(),
            "integer".to_owned()
        )
    );
}

#[tokio::test]
async fn attempts_saturate_like_the_reference_rules() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::connect(&path).await.expect("connect");
    let thread = fresh_thread("saturate");
    won(&store, &acquire_req(&thread, T0)).await;
    sqlx::query("UPDATE lead_records SET attempts = 4294967295 WHERE thread_id = ?1")
        .bind(thread.as_str())
        .execute(store.pool())
        .await
        .expect("update");
    let record = won(&store, &acquire_req(&thread, T0 + 500)).await;
    assert_eq!(record.attempts, u32::MAX);
}

#[tokio::test]
async fn an_unknown_status_reads_back_as_corrupt() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::connect(&path).await.expect("connect");
    let thread = fresh_thread("corrupt");
    won(&store, &acquire_req(&thread, T0)).await;
    sqlx::query("UPDATE lead_records SET status = 'queued' WHERE thread_id = ?1")
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
    let (_dir, path) = temp_db();
    let store = SqliteStore::connect_with(&path, SqliteStoreOptions::default().migrate(false))
        .await
        .expect("connect");
    // No table yet: every call fails inside SQLite.
    let thread = fresh_thread("secret");
    let mut req = acquire_req(&thread, T0);
    req.reason = "customer@example.com +14085550123".to_owned();
    let err = store.try_acquire(&req).await.expect_err("no table");
    let message = err.to_string();
    assert!(matches!(err, StoreError::Unavailable(_)), "{message}");
    assert!(message.contains("no such table"), "{message}");
    for secret in [thread.as_str(), req.lease_id.as_str(), req.reason.as_str()] {
        assert!(!message.contains(secret), "{message}");
    }
}

#[tokio::test]
async fn file_databases_run_in_wal_mode() {
    let (dir, path) = temp_db();
    let store = SqliteStore::connect(&path).await.expect("connect");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .expect("journal_mode");
    assert_eq!(mode, "wal");
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(store.pool())
        .await
        .expect("synchronous");
    assert_eq!(synchronous, 1, "NORMAL");
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(store.pool())
        .await
        .expect("busy_timeout");
    assert_eq!(busy, 5000);
    assert!(
        dir.path().join("leads.db-wal").exists(),
        "WAL file beside the database"
    );
}

#[tokio::test]
async fn connect_accepts_urls_and_creates_the_file() {
    let (dir, path) = temp_db();
    let url = format!("sqlite://{path}");
    let store = SqliteStore::connect(&url).await.expect("connect by URL");
    store.ping().await.expect("ping");
    assert!(dir.path().join("leads.db").exists());
}

#[tokio::test]
async fn connect_fails_when_the_file_cannot_be_created() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A path under a regular file fails even for root.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").expect("write");
    let path = file.join("leads.db");
    let err = SqliteStore::connect(path.to_str().expect("utf-8"))
        .await
        .expect_err("cannot create");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
}

#[tokio::test]
async fn in_memory_store_keeps_its_data_while_open() {
    let store = SqliteStore::in_memory().await.expect("in memory");
    let thread = fresh_thread("memory");
    won(&store, &acquire_req(&thread, T0)).await;
    assert!(store.get(&thread).await.expect("get").is_some());
    store.ping().await.expect("ping");
}
