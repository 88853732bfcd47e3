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
use chatkit_leads_core::ids::ThreadId;
use chatkit_leads_core::lease::{self, ErrorMark};
use chatkit_leads_core::record::{Expected, Version};
use chatkit_leads_core::testkit::conformance::{
    self, acquire_request, expect_lease, expect_won, fresh_thread, sample_record,
};
use chatkit_leads_core::{LeadStatus, LeadStore, StoreError};
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

/// Attribute name → `"S"`, `"N"` or `"M"` (anything else is a test failure).
fn kinds(item: &Item) -> HashMap<&str, &'static str> {
    item.iter()
        .map(|(name, value)| {
            let kind = match value {
                AttributeValue::S(_) => "S",
                AttributeValue::N(_) => "N",
                AttributeValue::M(_) => "M",
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
        "conformance suite (64 × 20 concurrent writes and acquires included): {:?}",
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
async fn items_keep_the_seed_names_and_types_plus_a_version() {
    let store = fresh_store().await;
    let thread = conformance::every_field_round_trips_like_the_reference(&store).await;
    let item = raw_item(&store, &thread).await;
    let expected: HashMap<&str, &str> = HashMap::from([
        ("thread_id", "S"),
        ("status", "S"),
        ("lease_id", "S"),
        ("lock_expires_at", "N"),
        ("created_at", "N"),
        ("updated_at", "N"),
        ("attempts", "N"),
        ("sent_at", "N"),
        ("message_id", "S"),
        ("last_reason", "S"),
        ("ttl", "N"),
        ("delivery_started_at", "N"),
        ("told", "M"),
        ("version", "N"),
    ]);
    assert_eq!(
        kinds(&item),
        expected,
        "last_error was cleared by the send: no attribute"
    );
    let AttributeValue::M(told) = &item["told"] else {
        panic!("told is a map");
    };
    let told_kinds = kinds(told);
    assert_eq!(
        (
            told_kinds["items"],
            told_kinds["checked_at"],
            told_kinds["message_id"]
        ),
        ("N", "N", "S"),
        "what the shop was told: numbers as numbers"
    );
    let record = store.get(&thread).await.expect("get").expect("record");
    assert_eq!(item["thread_id"], s(thread.as_str()));
    assert_eq!(item["status"], s("sent"));
    assert_eq!(item["attempts"], n(2));
    assert_eq!(item["created_at"], n(record.created_at));
    assert_eq!(item["sent_at"], n(record.sent_at.expect("sent_at")));
    assert_eq!(item["ttl"], n(i64::MAX));
    assert_eq!(
        item["version"],
        n(5),
        "acquire, checkpoint, error, acquire, sent"
    );
}

#[tokio::test]
async fn clearing_the_delivery_checkpoint_removes_the_attribute() {
    let store = fresh_store().await;
    let thread = fresh_thread("clear");
    let mut lease = expect_lease(&store, &acquire_request(&thread, T0)).await;
    assert!(lease.checkpoint(T0 + 1, None).await.expect("checkpoint"));
    let mark = ErrorMark {
        now: T0 + 2,
        retry_at: T0 + 62,
        error: "rejected".to_owned(),
        clear_delivery: true,
    };
    assert!(lease.mark_error(&mark).await.expect("mark_error"));
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
    assert!(
        definitions
            .iter()
            .any(|d| d.attribute_name() == "thread_id" && d.attribute_type().as_str() == "S")
    );
    assert_eq!(index_keys(description), sweeper_indexes());
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

/// Index name → its key attributes.
fn index_keys(table: &aws_sdk_dynamodb::types::TableDescription) -> Vec<(String, Vec<String>)> {
    let mut indexes: Vec<_> = table
        .global_secondary_indexes()
        .iter()
        .map(|index| {
            let keys = index
                .key_schema()
                .iter()
                .map(|k| k.attribute_name().to_owned())
                .collect();
            (index.index_name().unwrap_or_default().to_owned(), keys)
        })
        .collect();
    indexes.sort();
    indexes
}

fn sweeper_indexes() -> Vec<(String, Vec<String>)> {
    vec![
        (
            "due".to_owned(),
            vec!["due_shard".to_owned(), "due_at".to_owned()],
        ),
        (
            "users".to_owned(),
            vec!["to_list".to_owned(), "last_seen_at".to_owned()],
        ),
    ]
}

#[tokio::test]
async fn create_table_adds_the_sweeper_indexes_to_a_table_the_seed_created() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let client = client_for(&endpoint());
    let table = fresh_table_name();
    client
        .create_table()
        .table_name(&table)
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("thread_id")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("thread_id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("the seed's table");
    let store = DynamoStore::new(client.clone(), table.clone());
    let thread = fresh_thread("seed_table");
    put_raw(&store, seed_item(&thread)).await;

    create_table(&client, &table)
        .await
        .expect("upgrade the table");
    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("describe");
    assert_eq!(
        index_keys(described.table().expect("table")),
        sweeper_indexes()
    );
    assert_eq!(
        store.get(&thread).await.expect("get").map(|r| r.status),
        Some(LeadStatus::Error),
        "the seed's items are kept"
    );
}

#[tokio::test]
async fn a_missing_table_is_unavailable_for_every_call() {
    let store = DynamoStore::new(client_for(&endpoint()), fresh_table_name());
    let thread = fresh_thread("no_table");
    let record = sample_record(&thread, T0);
    let unavailable = |what: &str, err: StoreError| {
        assert!(matches!(err, StoreError::Unavailable(_)), "{what}: {err}");
        assert!(
            err.to_string().contains("ResourceNotFound"),
            "{what}: {err}"
        );
    };
    unavailable("ping", store.ping().await.expect_err("ping"));
    unavailable("load", store.load(&thread).await.expect_err("load"));
    unavailable(
        "insert",
        store
            .put(&record, Expected::Absent)
            .await
            .expect_err("insert"),
    );
    unavailable(
        "replace",
        store
            .put(&record, Expected::Version(Version::new(3)))
            .await
            .expect_err("replace"),
    );
    unavailable(
        "acquire",
        lease::acquire(&store, &acquire_request(&thread, T0), None)
            .await
            .expect_err("acquire"),
    );
}

#[tokio::test]
async fn errors_never_echo_attribute_values() {
    let store = DynamoStore::new(client_for(&endpoint()), fresh_table_name());
    let err =
        conformance::failed_acquire_quotes_no_value(&store, "customer@example.com +14085550123")
            .await;
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    let thread = fresh_thread("secret");
    let mut record = sample_record(&thread, T0);
    record.last_error = Some("customer@example.com said hello".to_owned());
    let put_err = store
        .put(&record, Expected::Version(Version::new(1)))
        .await
        .expect_err("no table")
        .to_string();
    for secret in [thread.as_str(), "customer@example.com"] {
        assert!(!put_err.contains(secret), "{put_err}");
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
    expect_won(&store, &acquire_request(&thread, T0)).await;
    let mut item = raw_item(&store, &thread).await;
    item.insert("status".to_owned(), s("queued"));
    put_raw(&store, item).await;
    assert!(matches!(
        store.get(&thread).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(
        matches!(
            lease::acquire(&store, &acquire_request(&thread, T0 + 500), None).await,
            Err(StoreError::Corrupt(_))
        ),
        "an unknown status is never taken over, even after its lock expired"
    );
    assert_eq!(raw_item(&store, &thread).await["status"], s("queued"));
}

/// An errored attempt as the seed's Lambda left it: no version, no
/// checkpoint, the cooldown over by T0.
fn seed_item(thread: &ThreadId) -> Item {
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
    ])
}

#[tokio::test]
async fn an_item_written_by_the_seed_is_read_and_leased_again() {
    let store = fresh_store().await;
    let thread = fresh_thread("seed");
    put_raw(&store, seed_item(&thread)).await;
    let before = store.load(&thread).await.expect("load").expect("record");
    assert_eq!(before.version, Version::UNVERSIONED);
    assert_eq!(before.record.status, LeadStatus::Error);
    assert_eq!(before.record.last_error.as_deref(), Some("SES timeout"));
    assert_eq!(before.record.delivery_started_at, None);

    let req = acquire_request(&thread, T0);
    let record = expect_won(&store, &req).await;
    assert_eq!(record.attempts, 2);
    assert_eq!(record.created_at, T0 - 100, "created_at kept");
    assert_eq!(record.last_error.as_deref(), Some("SES timeout"), "kept");
    assert_eq!(record.lease_id.as_ref(), Some(&req.lease_id));
    assert_eq!(raw_item(&store, &thread).await["version"], n(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_writers_that_read_a_seed_item_only_one_lands() {
    let store = Arc::new(fresh_store().await);
    for round in 0..10 {
        let thread = fresh_thread("seed_race");
        put_raw(&store, seed_item(&thread)).await;
        let writes: Vec<_> = (0..8)
            .map(|i| {
                let store = Arc::clone(&store);
                let mut record = sample_record(&thread, T0);
                record.last_reason = Some(format!("writer {i}"));
                tokio::spawn(async move {
                    store
                        .put(&record, Expected::Version(Version::UNVERSIONED))
                        .await
                })
            })
            .collect();
        let mut landed = 0;
        for write in writes {
            if write.await.expect("task").expect("put") {
                landed += 1;
            }
        }
        assert_eq!(
            landed, 1,
            "round {round}: exactly one write on the unversioned item"
        );
    }
}
