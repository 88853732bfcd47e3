//! The SQL store's behaviour, written once and run on SQLite (a real file)
//! and PostgreSQL (a real server, `TEST_DATABASE_URL`): the core's
//! conformance suite, then what only SQL stores do — migrations, old rows,
//! cleanup, how the row looks, and errors.

mod common;

use std::sync::Arc;

use chatkit_leads_core::lease::{self, Acquired};
use chatkit_leads_core::record::Version;
use chatkit_leads_core::testkit::conformance::{self, acquire_request, expect_won, fresh_thread};
use chatkit_leads_core::{LeadStatus, LeadStore, StoreError};
use chatkit_leads_sql::Dialect;
use common::{Arg, TestDb};

const T0: i64 = 1_800_000_000;

on_both!(
    passes_the_lead_store_conformance_suite,
    two_pools_give_exactly_one_winner,
    migrations_are_idempotent,
    connect_without_migrate_leaves_the_schema_to_the_caller,
    records_written_before_versions_keep_every_field,
    delete_expired_removes_only_expired_rows_in_batches,
    the_row_is_a_json_document_with_the_seeds_names,
    an_unreadable_record_is_corrupt_and_never_taken_over,
    errors_never_echo_bound_values,
);

async fn passes_the_lead_store_conformance_suite<T: TestDb>() {
    let db = T::create().await;
    conformance::run_all(Arc::new(db.store().await)).await;
}

async fn two_pools_give_exactly_one_winner<T: TestDb>() {
    let db = T::create().await;
    let first = Arc::new(db.store().await);
    let second = Arc::new(db.store().await);
    conformance::concurrent_acquires_across(&[first, second], 64, 10).await;
}

async fn migrations_are_idempotent<T: TestDb>() {
    let db = T::create().await;
    let first = db.store().await;
    let thread = fresh_thread("migrate");
    expect_won(&first, &acquire_request(&thread, T0)).await;
    first
        .migrate()
        .await
        .expect("migrate again on the same pool");
    first.close().await;

    let second = db.store().await;
    second.migrate().await.expect("explicit migrate");
    let applied = T::raw(
        second.pool(),
        "SELECT CAST(COUNT(*) AS TEXT) FROM _sqlx_migrations",
        &[],
    )
    .await;
    let migrations = <T::D as Dialect>::MIGRATIONS.len().to_string();
    assert_eq!(applied, [migrations], "each migration recorded once");
    assert!(
        second.get(&thread).await.expect("get").is_some(),
        "data survives reconnecting"
    );
}

async fn connect_without_migrate_leaves_the_schema_to_the_caller<T: TestDb>() {
    let db = T::create().await;
    let store = db.unmigrated().await;
    assert!(
        matches!(store.ping().await, Err(StoreError::Unavailable(_))),
        "not ready before migrating"
    );
    store.migrate().await.expect("migrate");
    store.ping().await.expect("ready after migrating");
}

/// Rows of the release before versioned records (one column per field)
/// read back with every field as version 0, and lease on as before.
async fn records_written_before_versions_keep_every_field<T: TestDb>() {
    let db = T::create().await;
    let old = db.at_first_migration().await;
    let sent = fresh_thread("old_sent");
    let failed = fresh_thread("old_error");
    let insert = "INSERT INTO lead_records (thread_id, status, lease_id, lock_expires_at, \
         created_at, updated_at, attempts, sent_at, message_id, last_reason, last_error, ttl, \
         delivery_started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
    let text = |s: &str| Arg::Text(s.to_owned());
    T::raw(
        old.pool(),
        insert,
        &[
            text(sent.as_str()),
            text("sent"),
            text("lease-1"),
            Arg::Int(T0 + 5),
            Arg::Int(T0),
            Arg::Int(T0 + 5),
            Arg::Int(2),
            Arg::Int(T0 + 5),
            text("<m1@leads.example>"),
            text("pagehide"),
            Arg::NullText,
            Arg::Int(i64::MAX),
            Arg::Int(T0 + 4),
        ],
    )
    .await;
    T::raw(
        old.pool(),
        insert,
        &[
            text(failed.as_str()),
            text("error"),
            text("lease-2"),
            Arg::Int(T0 + 60),
            Arg::Int(T0),
            Arg::Int(T0 + 1),
            Arg::Int(1),
            Arg::NullInt,
            Arg::NullText,
            text("idle"),
            text("mail rejected: 550"),
            Arg::Int(T0 + 86_400),
            Arg::NullInt,
        ],
    )
    .await;

    let store = db.store().await;
    let stored = store.load(&sent).await.expect("load").expect("record");
    assert_eq!(
        stored.version,
        Version::UNVERSIONED,
        "old rows read as version 0"
    );
    let record = stored.record;
    assert_eq!(
        (
            record.status,
            record.lease_id.as_ref().map(|l| l.as_str()),
            record.attempts
        ),
        (LeadStatus::Sent, Some("lease-1"), 2)
    );
    assert_eq!(
        (record.created_at, record.updated_at, record.lock_expires_at),
        (T0, T0 + 5, T0 + 5)
    );
    assert_eq!(
        (record.sent_at, record.delivery_started_at, record.ttl),
        (Some(T0 + 5), Some(T0 + 4), i64::MAX)
    );
    assert_eq!(record.message_id.as_deref(), Some("<m1@leads.example>"));
    assert_eq!(
        (record.last_reason.as_deref(), record.last_error.as_deref()),
        (Some("pagehide"), None)
    );
    assert!(record.extra.is_empty());
    assert!(matches!(
        lease::acquire(&store, &acquire_request(&sent, T0 + 999), None).await,
        Ok(Acquired::Lost(_))
    ));

    let record = store.get(&failed).await.expect("get").expect("record");
    assert_eq!(record.last_error.as_deref(), Some("mail rejected: 550"));
    assert_eq!(
        record.due_at,
        Some(T0 + 60),
        "an unfinished attempt is due when its lock ends"
    );
    let due: Vec<_> = store
        .due(T0 + 60, 10)
        .await
        .expect("due")
        .into_iter()
        .map(|r| r.thread_id)
        .collect();
    assert_eq!(
        due,
        std::slice::from_ref(&failed),
        "the sent thread is not due"
    );
    assert_eq!((record.sent_at, record.message_id), (None, None));
    let retry = expect_won(&store, &acquire_request(&failed, T0 + 60)).await;
    assert_eq!(
        (retry.attempts, retry.created_at),
        (2, T0),
        "the retry counts on"
    );
}

async fn delete_expired_removes_only_expired_rows_in_batches<T: TestDb>() {
    let db = T::create().await;
    let store = db.store().await;
    let mut expired = Vec::new();
    let mut live = Vec::new();
    for i in 0..7 {
        let thread = fresh_thread("expired");
        let mut req = acquire_request(&thread, T0);
        req.ttl = T0 + i; // all before T0 + 10
        expect_won(&store, &req).await;
        expired.push(thread);
    }
    for ttl in [T0 + 10, T0 + 11] {
        // `ttl == now` is not expired yet.
        let thread = fresh_thread("live");
        let mut req = acquire_request(&thread, T0);
        req.ttl = ttl;
        expect_won(&store, &req).await;
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
        "nothing left"
    );
}

/// An operator reading the table sees the version, the TTL column in step
/// with the record, and the record as JSON under the seed's field names.
async fn the_row_is_a_json_document_with_the_seeds_names<T: TestDb>() {
    let db = T::create().await;
    let store = db.store().await;
    let thread = conformance::every_field_round_trips_like_the_reference(&store).await;
    let record = store.get(&thread).await.expect("get").expect("record");
    let key = [Arg::Text(thread.as_str().to_owned())];
    let select = |column: &str| {
        format!("SELECT CAST({column} AS TEXT) FROM lead_records WHERE thread_id = $1")
    };
    assert_eq!(
        T::raw(store.pool(), &select("version"), &key).await,
        ["5"],
        "acquire, checkpoint, error, acquire, sent: 5 writes"
    );
    assert_eq!(
        T::raw(store.pool(), &select("ttl"), &key).await,
        [record.ttl.to_string()]
    );
    let json = T::raw(store.pool(), &select("record"), &key).await;
    let document: serde_json::Value = serde_json::from_str(&json[0]).expect("JSON");
    let mut names: Vec<&str> = document
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "attempts",
            "created_at",
            "delivery_started_at",
            "last_reason",
            "lease_id",
            "lock_expires_at",
            "message_id",
            "sent_at",
            "status",
            "thread_id",
            "told",
            "ttl",
            "updated_at",
        ],
        "unset fields (last_error) are left out"
    );
    assert_eq!(document["status"], "sent");
    assert_eq!(
        document["told"]["items"],
        serde_json::json!(7),
        "what the shop was told, a nested object with numbers as numbers"
    );
    assert_eq!(
        document["ttl"],
        serde_json::json!(i64::MAX),
        "epoch seconds are numbers"
    );
}

async fn an_unreadable_record_is_corrupt_and_never_taken_over<T: TestDb>() {
    let db = T::create().await;
    let store = db.store().await;
    let thread = fresh_thread("corrupt");
    let mut document =
        serde_json::to_value(conformance::sample_record(&thread, T0 - 500)).expect("json");
    document["status"] = serde_json::json!("queued");
    let update = format!(
        "UPDATE lead_records SET record = CAST($1 AS {}) WHERE thread_id = $2 RETURNING thread_id",
        <T::D as Dialect>::RECORD_TYPE
    );
    expect_won(&store, &acquire_request(&thread, T0 - 500)).await;
    T::raw(
        store.pool(),
        &update,
        &[
            Arg::Text(document.to_string()),
            Arg::Text(thread.as_str().to_owned()),
        ],
    )
    .await;
    let err = store.get(&thread).await.expect_err("unknown status");
    assert!(
        matches!(&err, StoreError::Corrupt(m) if m.contains("status") && !m.contains("queued")),
        "{err}"
    );
    assert!(
        matches!(
            lease::acquire(&store, &acquire_request(&thread, T0 + 500), None).await,
            Err(StoreError::Corrupt(_))
        ),
        "an unknown status is never taken over, even after its lock expired"
    );
}

async fn errors_never_echo_bound_values<T: TestDb>() {
    let db = T::create().await;
    // No table yet: every statement fails inside the database.
    let store = db.unmigrated().await;
    let err =
        conformance::failed_acquire_quotes_no_value(&store, "customer@example.com +14085550123")
            .await;
    let message = err.to_string();
    assert!(matches!(err, StoreError::Unavailable(_)), "{message}");
    assert!(message.contains(T::NO_TABLE), "{message}");
}
