//! First-time setup: the table and its TTL.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use chatkit_leads_core::StoreError;

use crate::error::unavailable;
use crate::item;

/// How long [`create_table`] waits for a new table to become `ACTIVE`.
const ACTIVE_WAIT: Duration = Duration::from_secs(120);

/// Creates the lead table `table_name` if it does not exist — on-demand
/// billing, partition key `thread_id` (S), no sort key — waits until it is
/// `ACTIVE`, and makes sure Time to Live is enabled on the `ttl` attribute
/// so DynamoDB deletes records after their `ttl` (epoch seconds).
///
/// Safe to run on every start: an existing table is left as it is, and TTL
/// is only switched on when it is off. For tests and first-time setup;
/// production tables are usually declared in infrastructure code with the
/// same key and TTL attribute.
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
/// is not `ACTIVE` within two minutes.
pub async fn create_table(client: &Client, table_name: &str) -> Result<(), StoreError> {
    let key = KeySchemaElement::builder()
        .attribute_name(item::THREAD_ID)
        .key_type(KeyType::Hash)
        .build()
        .map_err(|e| unavailable("describe the table key", &e))?;
    let key_type = AttributeDefinition::builder()
        .attribute_name(item::THREAD_ID)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| unavailable("describe the table key", &e))?;
    let created = client
        .create_table()
        .table_name(table_name)
        .key_schema(key)
        .attribute_definitions(key_type)
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
    enable_ttl(client, table_name).await
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
