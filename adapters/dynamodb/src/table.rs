//! First-time setup: the table, the sweeper's indexes and TTL.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification, TimeToLiveStatus,
};
use chatkit_leads_core::StoreError;

use crate::error::unavailable;
use crate::item;

/// How long [`create_table`] waits for a new table to become `ACTIVE`.
const ACTIVE_WAIT: Duration = Duration::from_secs(120);

/// Creates the lead table `table_name` if it does not exist — on-demand
/// billing, partition key `thread_id` (S), no sort key, and the sweeper's two
/// sparse indexes (`due`: `due_shard` + `due_at`; `users`: `to_list` +
/// `last_seen_at`) — waits until it is `ACTIVE`, adds the indexes to an
/// older table that lacks them (the seed's), and makes sure Time to Live is
/// enabled on the `ttl` attribute so DynamoDB deletes items after their
/// `ttl` (epoch seconds).
///
/// Safe to run on every start: an existing table keeps its data, an index is
/// only added when missing, and TTL is only switched on when it is off. For
/// tests and first-time setup; production tables are usually declared in
/// infrastructure code with the same key, indexes and TTL attribute
/// (`examples/lambda/template.yaml`).
///
/// ```no_run
/// # async fn demo(client: aws_sdk_dynamodb::Client) -> Result<(), chatkit_leads_core::StoreError> {
/// chatkit_leads_dynamodb::create_table(&client, "chatkit-leads").await?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`StoreError::Unavailable`] when a call fails (unreachable, refused
/// credentials, a table of that name that is being deleted, …) or the table
/// or an index is not `ACTIVE` within two minutes.
pub async fn create_table(client: &Client, table_name: &str) -> Result<(), StoreError> {
    let created = client
        .create_table()
        .table_name(table_name)
        .key_schema(key(item::THREAD_ID, KeyType::Hash)?)
        .set_attribute_definitions(Some(attribute_definitions()?))
        .set_global_secondary_indexes(Some(vec![due_index()?, users_index()?]))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match created {
        Ok(_) => {}
        // Already there (or being created by a concurrent start): keep it.
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(CreateTableError::ResourceInUseException(_))
            ) => {}
        Err(err) => return Err(unavailable("create the table", &err)),
    }
    client
        .wait_until_table_exists()
        .table_name(table_name)
        .wait(ACTIVE_WAIT)
        .await
        .map_err(|e| unavailable("wait for the table to become active", &e))?;
    add_missing_indexes(client, table_name).await?;
    enable_ttl(client, table_name).await
}

/// Adds the indexes an older table lacks, one at a time (DynamoDB creates
/// one per `UpdateTable`), waiting until each is `ACTIVE`.
async fn add_missing_indexes(client: &Client, table_name: &str) -> Result<(), StoreError> {
    for index in [due_index()?, users_index()?] {
        let existing = index_statuses(client, table_name).await?;
        if existing.iter().any(|(name, _)| name == index.index_name()) {
            continue;
        }
        let name = index.index_name().to_owned();
        let create = CreateGlobalSecondaryIndexAction::builder()
            .index_name(&name)
            .set_key_schema(Some(index.key_schema().to_vec()))
            .set_projection(index.projection().cloned())
            .build()
            .map_err(|e| unavailable("describe an index", &e))?;
        client
            .update_table()
            .table_name(table_name)
            .set_attribute_definitions(Some(attribute_definitions()?))
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder().create(create).build(),
            )
            .send()
            .await
            .map_err(|e| unavailable("add an index to the table", &e))?;
        wait_for_index(client, table_name, &name).await?;
    }
    Ok(())
}

/// Each index of the table and its status.
async fn index_statuses(
    client: &Client,
    table_name: &str,
) -> Result<Vec<(String, Option<IndexStatus>)>, StoreError> {
    let described = client
        .describe_table()
        .table_name(table_name)
        .send()
        .await
        .map_err(|e| unavailable("describe the table", &e))?;
    Ok(described
        .table()
        .map(|t| t.global_secondary_indexes())
        .unwrap_or_default()
        .iter()
        .map(|i| {
            (
                i.index_name().unwrap_or_default().to_owned(),
                i.index_status().cloned(),
            )
        })
        .collect())
}

/// Waits until the index `name` is `ACTIVE` (backfilling an existing table
/// can take minutes).
async fn wait_for_index(client: &Client, table_name: &str, name: &str) -> Result<(), StoreError> {
    let started = Instant::now();
    loop {
        let statuses = index_statuses(client, table_name).await?;
        if statuses
            .iter()
            .any(|(index, status)| index == name && *status == Some(IndexStatus::Active))
        {
            return Ok(());
        }
        if started.elapsed() > ACTIVE_WAIT {
            return Err(StoreError::Unavailable(format!(
                "the index {name} did not become active within {} s",
                ACTIVE_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// The sparse index of due threads, with whole records.
fn due_index() -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(item::DUE_INDEX)
        .key_schema(key(item::DUE_SHARD, KeyType::Hash)?)
        .key_schema(key(item::DUE_AT, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| unavailable("describe the due index", &e))
}

/// The sparse index of users to list: keys are all it needs.
fn users_index() -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(item::USERS_INDEX)
        .key_schema(key(item::TO_LIST, KeyType::Hash)?)
        .key_schema(key(item::LAST_SEEN_AT, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::KeysOnly)
                .build(),
        )
        .build()
        .map_err(|e| unavailable("describe the users index", &e))
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(|e| unavailable("describe a key", &e))
}

/// The types of every key attribute of the table and its indexes.
fn attribute_definitions() -> Result<Vec<AttributeDefinition>, StoreError> {
    [
        (item::THREAD_ID, ScalarAttributeType::S),
        (item::DUE_SHARD, ScalarAttributeType::S),
        (item::DUE_AT, ScalarAttributeType::N),
        (item::TO_LIST, ScalarAttributeType::S),
        (item::LAST_SEEN_AT, ScalarAttributeType::N),
    ]
    .into_iter()
    .map(|(name, kind)| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
            .map_err(|e| unavailable("describe a key attribute", &e))
    })
    .collect()
}

/// Switches TTL on for `ttl` unless it is on (or being switched on):
/// DynamoDB refuses to enable it twice.
async fn enable_ttl(client: &Client, table_name: &str) -> Result<(), StoreError> {
    let described = client
        .describe_time_to_live()
        .table_name(table_name)
        .send()
        .await
        .map_err(|e| unavailable("describe the table's TTL", &e))?;
    let current = described.time_to_live_description();
    let status = current.and_then(|d| d.time_to_live_status());
    let attribute = current.and_then(|d| d.attribute_name());
    if matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ) {
        return if attribute == Some(item::TTL) {
            Ok(())
        } else {
            // Only one TTL attribute per table; someone else chose it.
            Err(StoreError::Unavailable(format!(
                "the table's TTL is on attribute {:?}, not {:?}",
                attribute.unwrap_or_default(),
                item::TTL
            )))
        };
    }
    let spec = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(item::TTL)
        .build()
        .map_err(|e| unavailable("describe the TTL", &e))?;
    client
        .update_time_to_live()
        .table_name(table_name)
        .time_to_live_specification(spec)
        .send()
        .await
        .map(drop)
        .map_err(|e| unavailable("enable TTL on the table", &e))
}
