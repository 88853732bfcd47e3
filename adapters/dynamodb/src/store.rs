//! [`DynamoStore`]: the core's two store primitives as DynamoDB calls — a
//! strongly consistent `GetItem`, and a `PutItem` whose
//! `ConditionExpression` is the compare-and-set.

use std::fmt;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use chatkit_leads_core::ids::{ThreadId, UserId};
use chatkit_leads_core::ports::SeenUser;
use chatkit_leads_core::record::{Expected, LeadRecord, PutOutcome, Version, Versioned};
use chatkit_leads_core::{LeadStore, StoreError};

use crate::error::unavailable;
use crate::item::{
    self, DUE_AT, DUE_INDEX, DUE_SHARD, DUE_SHARD_VALUE, Item, LAST_SEEN_AT, LISTED_AT, THREAD_ID,
    TO_LIST, TO_LIST_VALUE, TTL, USER_PREFIX, USERS_INDEX, VERSION, number,
};
use crate::options::DynamoStoreOptions;

// The preconditions of a put. An insert needs no item under the key; a
// replace needs the version read. Items the seed wrote carry no version
// (version 0): a replace of those needs the item to exist without one, so
// of two writers that both read it, only the first lands.
const INSERT_CONDITION: &str = "attribute_not_exists(thread_id)";
const UNVERSIONED_CONDITION: &str =
    "attribute_exists(thread_id) AND attribute_not_exists(#version)";
const VERSION_CONDITION: &str = "#version = :expected";

/// A [`LeadStore`] in a DynamoDB table keyed by `thread_id` (S), with the
/// seed's attribute names and types, so an existing table keeps
/// working.
///
/// Every write is one `PutItem` with a `ConditionExpression` on the
/// item's version, so any number of tasks, processes or Lambda instances
/// agree on every change, and the lease rules of `chatkit_leads_core::lease`
/// hold on top; reads are strongly consistent. See the
/// [crate documentation](crate) for the item layout.
///
/// Cloning is cheap and shares the SDK client.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl DynamoStore {
    /// A store on `table_name` with [`DynamoStoreOptions::default`]: the
    /// SDK's standard retries (3 attempts) and a 10 s limit per call, set on
    /// top of `client`'s configuration (endpoint, region, credentials and
    /// HTTP client are kept).
    ///
    /// ```no_run
    /// use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    /// use chatkit_leads_dynamodb::DynamoStore;
    ///
    /// // In production, build the client from `aws_config::load_from_env()`.
    /// let config = aws_sdk_dynamodb::Config::builder()
    ///     .behavior_version(BehaviorVersion::latest())
    ///     .endpoint_url("http://127.0.0.1:8000")
    ///     .region(Region::new("us-east-1"))
    ///     .credentials_provider(Credentials::new("test", "test", None, None, "static"))
    ///     .build();
    /// let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), "chatkit-leads");
    /// assert_eq!(store.table_name(), "chatkit-leads");
    /// ```
    pub fn new(client: Client, table_name: impl Into<String>) -> Self {
        Self::with_options(client, table_name, DynamoStoreOptions::default())
    }

    /// Like [`DynamoStore::new`] with explicit retry and timeout settings.
    pub fn with_options(
        client: Client,
        table_name: impl Into<String>,
        options: DynamoStoreOptions,
    ) -> Self {
        let current = client.config();
        let retry = RetryConfig::standard().with_max_attempts(options.max_attempts.max(1));
        let mut config = current.to_builder().retry_config(retry);
        if let Some(limit) = options.operation_timeout {
            let mut timeouts = TimeoutConfig::builder().operation_timeout(limit).build();
            if let Some(defaults) = current.timeout_config() {
                timeouts.take_defaults_from(defaults);
            }
            config = config.timeout_config(timeouts);
        }
        Self {
            client: Client::from_conf(config.build()),
            table: table_name.into(),
        }
    }

    /// The table's name.
    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// The SDK client, with the store's retry and timeout settings.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Readiness check: `DescribeTable` answers for the table.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when DynamoDB cannot be reached, the
    /// credentials are refused, or the table does not exist.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map(drop)
            .map_err(|e| unavailable("describe the table", &e))
    }
}

#[async_trait]
impl LeadStore for DynamoStore {
    async fn load(&self, thread_id: &ThreadId) -> Result<Option<Versioned>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(THREAD_ID, AttributeValue::S(thread_id.as_str().to_owned()))
            // A lease decision must see the latest write.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("read a record", &e))?;
        output
            .item
            .map(|stored| item::decode(thread_id, stored))
            .transpose()
    }

    async fn put(&self, record: &LeadRecord, expected: Expected) -> Result<bool, StoreError> {
        Ok(matches!(
            self.put_or_load(record, expected).await?,
            PutOutcome::Written(_)
        ))
    }

    /// One `PutItem`: a refusal returns the item that is there
    /// (`ReturnValuesOnConditionCheckFailure::ALL_OLD`), so a losing writer
    /// needs no second read.
    async fn put_or_load(
        &self,
        record: &LeadRecord,
        expected: Expected,
    ) -> Result<PutOutcome, StoreError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item::encode(record, expected.next_version())?))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let request = match expected {
            Expected::Absent => request.condition_expression(INSERT_CONDITION),
            Expected::Version(Version::UNVERSIONED) => request
                .condition_expression(UNVERSIONED_CONDITION)
                .expression_attribute_names("#version", VERSION),
            Expected::Version(version) => request
                .condition_expression(VERSION_CONDITION)
                .expression_attribute_names("#version", VERSION)
                .expression_attribute_values(":expected", number(version.get())),
        };
        // A refused condition is an answer ("someone wrote first"), never
        // retried; a write whose answer was lost and that the SDK retried
        // comes back refused too, and the core recognises it as its own.
        match request.send().await {
            Ok(_) => Ok(PutOutcome::Written(expected.next_version())),
            Err(err) => match err.into_service_error() {
                PutItemError::ConditionalCheckFailedException(refused) => {
                    let current = refused
                        .item
                        .map(|stored| item::decode(&record.thread_id, stored).map(Box::new))
                        .transpose()?;
                    Ok(PutOutcome::Refused(current))
                }
                other => Err(unavailable("write a record", &other)),
            },
        }
    }

    /// A query of the sparse `due` index (eventually consistent: the sweeper
    /// re-reads every record before acting).
    async fn due(&self, now: i64, limit: usize) -> Result<Vec<LeadRecord>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(DUE_INDEX)
            .key_condition_expression("#shard = :due AND #due_at <= :now")
            .expression_attribute_names("#shard", DUE_SHARD)
            .expression_attribute_names("#due_at", DUE_AT)
            .expression_attribute_values(":due", text(DUE_SHARD_VALUE))
            .expression_attribute_values(":now", signed(now))
            .limit(page_size(limit))
            .send()
            .await
            .map_err(|e| unavailable("list due records", &e))?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(item::decode_listed)
            .collect()
    }

    /// One `UpdateItem` on the user's item; an equal or later session
    /// already stored is not an error.
    async fn touch_user(&self, user: &UserId, now: i64, expires_at: i64) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(THREAD_ID, user_key(user))
            .update_expression("SET #seen = :now, #to_list = :to_list, #ttl = :ttl")
            .condition_expression("attribute_not_exists(#seen) OR #seen < :now")
            .expression_attribute_names("#seen", LAST_SEEN_AT)
            .expression_attribute_names("#to_list", TO_LIST)
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":now", signed(now))
            .expression_attribute_values(":to_list", text(TO_LIST_VALUE))
            .expression_attribute_values(":ttl", signed(expires_at))
            .send()
            .await;
        ignore_failed_condition(result, "remember a user")
    }

    /// A query of the sparse `users` index.
    async fn users_to_list(
        &self,
        since: i64,
        quiet_before: i64,
        limit: usize,
    ) -> Result<Vec<SeenUser>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(USERS_INDEX)
            .key_condition_expression("#to_list = :to_list AND #seen BETWEEN :since AND :quiet")
            .expression_attribute_names("#to_list", TO_LIST)
            .expression_attribute_names("#seen", LAST_SEEN_AT)
            .expression_attribute_values(":to_list", text(TO_LIST_VALUE))
            .expression_attribute_values(":since", signed(since))
            .expression_attribute_values(":quiet", signed(quiet_before))
            .limit(page_size(limit))
            .send()
            .await
            .map_err(|e| unavailable("list users", &e))?;
        output
            .items
            .unwrap_or_default()
            .iter()
            .map(seen_user)
            .collect()
    }

    /// Takes the user out of the `users` index unless it had a session
    /// since `seen_at`.
    async fn mark_listed(&self, user: &UserId, seen_at: i64) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(THREAD_ID, user_key(user))
            .update_expression("SET #listed = :seen REMOVE #to_list")
            .condition_expression("#seen = :seen")
            .expression_attribute_names("#listed", LISTED_AT)
            .expression_attribute_names("#to_list", TO_LIST)
            .expression_attribute_names("#seen", LAST_SEEN_AT)
            .expression_attribute_values(":seen", signed(seen_at))
            .send()
            .await;
        ignore_failed_condition(result, "mark a user listed")
    }

    async fn ping(&self) -> Result<(), StoreError> {
        DynamoStore::ping(self).await
    }
}

/// A user's item key.
fn user_key(user: &UserId) -> AttributeValue {
    text(&format!("{USER_PREFIX}{}", user.as_str()))
}

/// A user from a `users` index item (its key and sort key).
fn seen_user(found: &Item) -> Result<SeenUser, StoreError> {
    let corrupt = || StoreError::Corrupt("stored user item is invalid".to_owned());
    let user = match found.get(THREAD_ID) {
        Some(AttributeValue::S(key)) => key.strip_prefix(USER_PREFIX).ok_or_else(corrupt)?,
        _ => return Err(corrupt()),
    };
    let last_seen_at = match found.get(LAST_SEEN_AT) {
        Some(AttributeValue::N(raw)) => raw.parse().map_err(|_| corrupt())?,
        _ => return Err(corrupt()),
    };
    Ok(SeenUser {
        user: UserId::parse(user).map_err(|_| corrupt())?,
        last_seen_at,
    })
}

/// A conditional write whose failed condition means "nothing to do".
fn ignore_failed_condition<T>(
    result: Result<T, SdkError<UpdateItemError>>,
    op: &str,
) -> Result<(), StoreError> {
    match result {
        Ok(_) => Ok(()),
        Err(err)
            if matches!(
                err.as_service_error(),
                Some(UpdateItemError::ConditionalCheckFailedException(_))
            ) =>
        {
            Ok(())
        }
        Err(err) => Err(unavailable(op, &err)),
    }
}

fn text(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn signed(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A query's `Limit`.
fn page_size(limit: usize) -> i32 {
    i32::try_from(limit.max(1)).unwrap_or(i32::MAX)
}
