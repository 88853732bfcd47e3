//! What only the SQLite store does — opening files (WAL, URLs, creating the
//! file), a fresh file migrated by several processes at once, the private
//! in-memory database — always on real files. The behaviour both dialects
//! share is in `sql_store.rs`.

mod common;

use chatkit_leads_core::testkit::conformance::{acquire_request, expect_won, fresh_thread};
use chatkit_leads_core::{LeadStore, StoreError};
use chatkit_leads_sql::sqlite::SqliteStore;
use common::{SqliteDb, TestDb};

const T0: i64 = 1_800_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_connects_migrate_a_fresh_file_once() {
    let db = SqliteDb::create().await;
    let connects: Vec<_> = (0..8)
        .map(|_| {
            let path = db.path.clone();
            tokio::spawn(async move { SqliteStore::connect(&path).await })
        })
        .collect();
    for connect in connects {
        let store = connect.await.expect("task").expect("connect");
        store.ping().await.expect("ping");
    }
}

#[tokio::test]
async fn file_databases_run_in_wal_mode() {
    let db = SqliteDb::create().await;
    let store = db.store().await;
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
        db.dir.path().join("leads.db-wal").exists(),
        "WAL file beside the database"
    );
}

#[tokio::test]
async fn versions_and_expiry_are_stored_as_integers() {
    let db = SqliteDb::create().await;
    let store = db.store().await;
    let thread = fresh_thread("typeof");
    expect_won(&store, &acquire_request(&thread, T0)).await;
    let kinds: (String, String, String) = sqlx::query_as(
        "SELECT typeof(version), typeof(ttl), typeof(record) FROM lead_records WHERE thread_id = ?1",
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
            "text".to_owned()
        )
    );
}

#[tokio::test]
async fn connect_accepts_urls_and_creates_the_file() {
    let db = SqliteDb::create().await;
    let url = format!("sqlite://{}", db.path);
    let store = SqliteStore::connect(&url).await.expect("connect by URL");
    store.ping().await.expect("ping");
    assert!(db.dir.path().join("leads.db").exists());
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
    expect_won(&store, &acquire_request(&thread, T0)).await;
    assert!(store.get(&thread).await.expect("get").is_some());
    store.ping().await.expect("ping");
}
