//! The DynamoDB store against the core's conformance suite and its own
//! guarantees, over the wire protocol of a local DynamoDB stand-in.
//!
//! Needs `TEST_AWS_ENDPOINT_URL` (e.g. `http://127.0.0.1:5000`): the
//! project's `scripts/test.sh` starts `scripts/moto_server.py` and sets it.
//! Every test works in a table of its own, so tests run in parallel and
//! against a server other runs share.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use chatkit_leads_core::LeadStore;
use chatkit_leads_core::StoreError;
use chatkit_leads_core::ids::{LeaseId, ThreadId};
use chatkit_leads_core::record::{
    AcquireRequest, Acquired, ErrorMark, LeadStatus, LeaseToken, SentMark,
};
use chatkit_leads_core::testkit::MemoryStore;
use chatkit_leads_core::testkit::conformance::{self, fresh_thread};
use chatkit_leads_core::testkit::conformance::{acquire_request as acquire_req, expect_won as won};
use chatkit_leads_dynamodb::{DynamoStore, DynamoStoreOptions, create_table};

const ENDPOINT_VAR: &str = "TEST_AWS_ENDPOINT_URL";
const T0: i64 = 1_800_000_000;

type Item = HashMap<String, AttributeValue>;

/// The stand-in's URL; a missing variable fails the test with directions.
fn endpoint() -> String {
    std::env::var(ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VAR} is not set. Run `scripts/test.sh`, or start \
             `python3 scripts/moto_server.py --port 0` and export \
             {ENDPOINT_VAR}=http://127.0.0.1:<port>"
        )
    })
}

fn client_for(endpoint: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .build();
    Client::from_conf(config)
}

/// A name no other test or run uses.
fn fresh_table_name() -> String {
    format!("chatkit-leads-test-{}", uuid::Uuid::new_v4().simple())
}

/// A store on a table of its own.
async fn fresh_store() -> DynamoStore {
    let client = client_for(&endpoint());
    let table = fresh_table_name();
    create_table(&client, &table).await.expect("create table");
    DynamoStore::new(client, table)
}

/// The item exactly as DynamoDB holds it.
async fn raw_item(store: &DynamoStore, thread: &ThreadId) -> Item {
    store
        .client()
        .get_item()
        .table_name(store.table_name())
        .key("thread_id", AttributeValue::S(thread.as_str().to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("get item")
        .item
        .expect("item exists")
}

async fn put_raw(store: &DynamoStore, item: Item) {
    store
        .client()
        .put_item()
        .table_name(store.table_name())
        .set_item(Some(item))
        .send()
        .await
        .expect("put item");
}

/// Attribute name → `"S"` or `"N"` (anything else is a test failure).
fn kinds(item: &Item) -> HashMap<&str, &'static str> {
    item.iter()
        .map(|(name, value)| {
            let kind = match value {
                AttributeValue::S(_) => "S",
                AttributeValue::N(_) => "N",
                other => panic!("attribute {name} has an unexpected type: {other:?}"),
            };
            (name.as_str(), kind)
        })
        .collect()
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn passes_the_lead_store_conformance_suite() {
    let store = fresh_store().await;
    let started = Instant::now();
    conformance::run_all(Arc::new(store)).await;
    eprintln!(
        "conformance suite (64 × 20 concurrent acquires included): {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_acquires_have_exactly_one_winner_in_each_of_100_rounds() {
    let store = Arc::new(fresh_store().await);
    let started = Instant::now();
    conformance::concurrent_acquires(store, 64, 100).await;
    eprintln!(
        "100 rounds of 64 concurrent acquires: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_record_round_trips_every_attribute_with_the_seed_names_and_types() {
    let store = fresh_store().await;
    let reference = MemoryStore::new();
    let thread = fresh_thread("round_trip");

    // The same history on both stores; DynamoDB must read back exactly what
    // the reference rules produce.
    let first = acquire_req(&thread, T0);
    let second = AcquireRequest {
        reason: "pagehide ✓ — «ünïcode» 'quoted' \"id\"".to_owned(),
        ..acquire_req(&thread, T0 + 200)
    };
    let error = ErrorMark {
        now: T0 + 3,
        retry_at: T0 + 63,
        error: "timeout; #status = :sent --".to_owned(),
        clear_delivery: false,
    };
    let sent = SentMark {
        now: T0 + 205,
        message_id: "0f9e-41@leads.example".to_owned(),
        ttl: i64::MAX,
    };

    won(&store, &first).await;
    won(&reference, &first).await;
    for s in [&store as &dyn LeadStore, &reference as &dyn LeadStore] {
        assert!(
            s.checkpoint_delivery(&first.lease(), T0 + 2)
                .await
                .expect("checkpoint")
        );
        assert!(
            s.mark_error(&first.lease(), &error)
                .await
                .expect("mark_error")
        );
    }
    // Every attribute but sent_at and message_id is set now.
    let failed = raw_item(&store, &thread).await;
    let expected: HashMap<&str, &str> = HashMap::from([
        ("thread_id", "S"),
        ("status", "S"),
        ("lease_id", "S"),
        ("lock_expires_at", "N"),
        ("created_at", "N"),
        ("updated_at", "N"),
        ("attempts", "N"),
        ("last_reason", "S"),
        ("last_error", "S"),
        ("ttl", "N"),
        ("delivery_started_at", "N"),
    ]);
    assert_eq!(kinds(&failed), expected);
    assert_eq!(failed["status"], s("error"));
    assert_eq!(failed["lock_expires_at"], n(T0 + 63));
    assert_eq!(failed["delivery_started_at"], n(T0 + 2));
    assert_eq!(failed["last_error"], s(&error.error));
    assert_eq!(
        store.get(&thread).await.expect("get"),
        reference.record(&thread)
    );

    for s in [&store as &dyn LeadStore, &reference as &dyn LeadStore] {
        won(s, &second).await;
        assert!(
            s.mark_sent(&second.lease(), &sent)
                .await
                .expect("mark_sent")
        );
    }
    let stored = store.get(&thread).await.expect("get").expect("record");
    assert_eq!(Some(stored.clone()), reference.record(&thread));
    assert_eq!(stored.status, LeadStatus::Sent);
    assert_eq!(stored.attempts, 2);
    assert_eq!(stored.created_at, T0);
    assert_eq!(stored.ttl, i64::MAX);
    assert_eq!(stored.last_reason.as_deref(), Some(second.reason.as_str()));

    // `mark_sent` removed last_error; sent_at and message_id joined.
    let sent_item = raw_item(&store, &thread).await;
    let mut expected = expected;
    expected.remove("last_error");
    expected.insert("sent_at", "N");
    expected.insert("message_id", "S");
    assert_eq!(kinds(&sent_item), expected);
    assert_eq!(sent_item["thread_id"], s(thread.as_str()));
    assert_eq!(sent_item["status"], s("sent"));
    assert_eq!(sent_item["lease_id"], s(second.lease_id.as_str()));
    assert_eq!(sent_item["attempts"], n(2));
    assert_eq!(sent_item["created_at"], n(T0));
    assert_eq!(sent_item["updated_at"], n(T0 + 205));
    assert_eq!(sent_item["sent_at"], n(T0 + 205));
    assert_eq!(sent_item["lock_expires_at"], n(T0 + 205));
    assert_eq!(sent_item["message_id"], s(&sent.message_id));
    assert_eq!(sent_item["ttl"], n(i64::MAX));
}

#[tokio::test]
async fn clearing_the_delivery_checkpoint_removes_the_attribute() {
    let store = fresh_store().await;
    let thread = fresh_thread("clear");
    let req = acquire_req(&thread, T0);
    won(&store, &req).await;
    assert!(
        store
            .checkpoint_delivery(&req.lease(), T0 + 1)
            .await
            .expect("checkpoint")
    );
    let mark = ErrorMark {
        now: T0 + 2,
        retry_at: T0 + 62,
        error: "rejected".to_owned(),
        clear_delivery: true,
    };
    assert!(
        store
            .mark_error(&req.lease(), &mark)
            .await
            .expect("mark_error")
    );
    let item = raw_item(&store, &thread).await;
    assert!(
        !item.contains_key("delivery_started_at"),
        "removed, not set to NULL: {:?}",
        kinds(&item)
    );
}

#[tokio::test]
async fn create_table_enables_ttl_on_the_ttl_attribute_and_can_run_again() {
    let client = client_for(&endpoint());
    let table = fresh_table_name();
    create_table(&client, &table).await.expect("create table");
    create_table(&client, &table)
        .await
        .expect("a second run keeps the table");

    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("describe table");
    let description = described.table().expect("table");
    let key = description.key_schema();
    assert_eq!(key.len(), 1, "partition key only");
    assert_eq!(key[0].attribute_name(), "thread_id");
    let definitions = description.attribute_definitions();
    assert_eq!(definitions.len(), 1);
    assert_eq!(definitions[0].attribute_name(), "thread_id");
    assert_eq!(definitions[0].attribute_type().as_str(), "S");
    assert_eq!(
        description
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|m| m.as_str()),
        Some("PAY_PER_REQUEST")
    );

    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("describe TTL");
    let ttl = ttl.time_to_live_description().expect("TTL description");
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(ttl.attribute_name(), Some("ttl"));

    DynamoStore::new(client, table).ping().await.expect("ping");
}

#[tokio::test]
async fn a_missing_table_is_unavailable_for_every_call() {
    let store = DynamoStore::new(client_for(&endpoint()), fresh_table_name());
    let thread = fresh_thread("no_table");
    let req = acquire_req(&thread, T0);
    let lease = req.lease();
    let unavailable = |what: &str, err: StoreError| {
        assert!(matches!(err, StoreError::Unavailable(_)), "{what}: {err}");
        assert!(
            err.to_string().contains("ResourceNotFound"),
            "{what}: {err}"
        );
    };
    unavailable("ping", store.ping().await.expect_err("ping"));
    unavailable("get", store.get(&thread).await.expect_err("get"));
    unavailable(
        "acquire",
        store.try_acquire(&req).await.expect_err("acquire"),
    );
    unavailable(
        "checkpoint",
        store
            .checkpoint_delivery(&lease, T0)
            .await
            .expect_err("checkpoint"),
    );
    unavailable(
        "mark_sent",
        store
            .mark_sent(
                &lease,
                &SentMark {
                    now: T0,
                    message_id: "m".into(),
                    ttl: T0,
                },
            )
            .await
            .expect_err("mark_sent"),
    );
    unavailable(
        "release",
        store.release(&lease, T0, "x").await.expect_err("release"),
    );
}

#[tokio::test]
async fn errors_never_echo_attribute_values() {
    let store = DynamoStore::new(client_for(&endpoint()), fresh_table_name());
    let thread = fresh_thread("secret");
    let mut req = acquire_req(&thread, T0);
    req.reason = "customer@example.com +14085550123".to_owned();
    let err = store.try_acquire(&req).await.expect_err("no table");
    let error = ErrorMark {
        now: T0,
        retry_at: T0,
        error: "customer@example.com said hello".to_owned(),
        clear_delivery: true,
    };
    let mark_err = store
        .mark_error(&req.lease(), &error)
        .await
        .expect_err("no table");
    for message in [err.to_string(), mark_err.to_string()] {
        for secret in [
            thread.as_str(),
            req.lease_id.as_str(),
            "customer@example.com",
            "14085550123",
        ] {
            assert!(!message.contains(secret), "{message}");
        }
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_is_unavailable() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let client = client_for(&format!("http://127.0.0.1:{port}"));
    let options = DynamoStoreOptions::default()
        .max_attempts(2)
        .operation_timeout(Some(Duration::from_secs(5)));
    let store = DynamoStore::with_options(client, "leads", options);
    let err = store
        .get(&fresh_thread("unreachable"))
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert!(store.ping().await.is_err());
}

#[tokio::test]
async fn an_unknown_status_is_never_taken_over() {
    let store = fresh_store().await;
    let thread = fresh_thread("corrupt");
    won(&store, &acquire_req(&thread, T0)).await;
    let mut item = raw_item(&store, &thread).await;
    item.insert("status".to_owned(), s("queued"));
    put_raw(&store, item).await;
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
    assert_eq!(raw_item(&store, &thread).await["status"], s("queued"));
}

#[tokio::test]
async fn an_item_written_by_the_seed_is_read_and_leased_again() {
    let store = fresh_store().await;
    let thread = fresh_thread("seed");
    // An errored attempt as the seed's Lambda left it: no checkpoint, no
    // delivery, the cooldown over by T0.
    put_raw(
        &store,
        Item::from([
            ("thread_id".to_owned(), s(thread.as_str())),
            ("status".to_owned(), s("error")),
            ("lease_id".to_owned(), s("3f1c2b9e-seed")),
            ("lock_expires_at".to_owned(), n(T0 - 1)),
            ("created_at".to_owned(), n(T0 - 100)),
            ("updated_at".to_owned(), n(T0 - 60)),
            ("attempts".to_owned(), n(1)),
            ("last_reason".to_owned(), s("idle")),
            ("last_error".to_owned(), s("SES timeout")),
            ("ttl".to_owned(), n(T0 + 86_400)),
        ]),
    )
    .await;
    let before = store.get(&thread).await.expect("get").expect("record");
    assert_eq!(before.status, LeadStatus::Error);
    assert_eq!(before.last_error.as_deref(), Some("SES timeout"));
    assert_eq!(before.delivery_started_at, None);

    let req = acquire_req(&thread, T0);
    let record = won(&store, &req).await;
    assert_eq!(record.attempts, 2);
    assert_eq!(record.created_at, T0 - 100, "created_at kept");
    assert_eq!(record.last_error.as_deref(), Some("SES timeout"), "kept");
    assert_eq!(record.lease_id.as_ref(), Some(&req.lease_id));
}

#[tokio::test]
async fn an_acquire_retried_after_its_write_landed_still_wins() {
    // The SDK retries a write whose answer was lost; the second attempt
    // then fails the condition against the caller's own item.
    let store = fresh_store().await;
    let thread = fresh_thread("retried");
    let req = acquire_req(&thread, T0);
    let first = won(&store, &req).await;
    let again = won(&store, &req).await;
    assert_eq!(again, first);
    // Anyone else still loses, and sees the holder.
    match store
        .try_acquire(&acquire_req(&thread, T0 + 1))
        .await
        .expect("acquire")
    {
        Acquired::Lost(Some(holder)) => assert_eq!(holder.lease_id, Some(req.lease_id)),
        other => panic!("expected a loss with the holder, got {other:?}"),
    }
}

#[tokio::test]
async fn marks_retried_after_their_write_landed_still_succeed() {
    let store = fresh_store().await;

    let thread = fresh_thread("retried_sent");
    let req = acquire_req(&thread, T0);
    won(&store, &req).await;
    let sent = SentMark {
        now: T0 + 3,
        message_id: "m-1".to_owned(),
        ttl: T0 + 99,
    };
    assert!(
        store
            .mark_sent(&req.lease(), &sent)
            .await
            .expect("mark_sent")
    );
    assert!(
        store.mark_sent(&req.lease(), &sent).await.expect("repeat"),
        "the same mark again reads as applied"
    );
    let other = SentMark {
        message_id: "m-2".to_owned(),
        ..sent
    };
    assert!(
        !store.mark_sent(&req.lease(), &other).await.expect("other"),
        "a different mark on a sent record is refused"
    );

    let thread = fresh_thread("retried_error");
    let req = acquire_req(&thread, T0);
    won(&store, &req).await;
    let failed = ErrorMark {
        now: T0 + 3,
        retry_at: T0 + 63,
        error: "x".repeat(600),
        clear_delivery: true,
    };
    assert!(
        store
            .mark_error(&req.lease(), &failed)
            .await
            .expect("mark_error")
    );
    assert!(
        store
            .mark_error(&req.lease(), &failed)
            .await
            .expect("repeat"),
        "the same mark again reads as applied"
    );
    let stale = LeaseToken {
        thread_id: thread.clone(),
        lease_id: LeaseId::random(),
    };
    assert!(
        !store.mark_error(&stale, &failed).await.expect("stale"),
        "another lease id never reads as applied"
    );
}

#[tokio::test]
async fn attempts_saturate_like_the_reference_rules() {
    let store = fresh_store().await;
    let thread = fresh_thread("saturate");
    won(&store, &acquire_req(&thread, T0)).await;
    let mut item = raw_item(&store, &thread).await;
    item.insert("attempts".to_owned(), n(i64::from(u32::MAX)));
    put_raw(&store, item).await;
    let record = won(&store, &acquire_req(&thread, T0 + 500)).await;
    assert_eq!(record.attempts, u32::MAX);
}
