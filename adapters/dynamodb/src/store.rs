//! [`DynamoStore`]: the lease rules of `chatkit_leads_core::record::rules`
//! written as one conditional `UpdateItem` per transition.

use std::fmt;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use chatkit_leads_core::ids::ThreadId;
use chatkit_leads_core::record::{
    AcquireRequest, Acquired, ErrorMark, LeadRecord, LeadStatus, LeaseToken, MAX_LAST_ERROR_CHARS,
    SentMark,
};
use chatkit_leads_core::text::truncate_chars;
use chatkit_leads_core::{LeadStore, StoreError};

use crate::error::unavailable;
use crate::item::{Item, attr, decode, has_n, has_s, n, s};
use crate::options::DynamoStoreOptions;

// SPEC §7 acquire as one conditional write. The item is created when the
// thread has none; otherwise it is taken over only when it is not sent and
// its lock has expired (`lock_expires_at <= now`). "Not sent" is spelled
// `IN (sending, error)` rather than `<> sent`: the same on readable items,
// but an item with an unknown status (say, written by a newer version) is
// never taken over and resent — the loser's read reports it as corrupt, as
// the SQLite store does.
//
// `attempts` and `created_at` start from `if_not_exists`, so the first write
// counts 1 and fixes `created_at`, and later ones count on and keep it.
// `sent_at`, `message_id`, `last_error` and `delivery_started_at` are not
// touched: the next attempt must see an earlier delivery checkpoint.
const ACQUIRE_CONDITION: &str = "attribute_not_exists(thread_id) OR \
     (#status IN (:sending, :error) AND lock_expires_at <= :now)";
const ACQUIRE_UPDATE: &str = "SET #status = :sending, lease_id = :lease, \
     lock_expires_at = :lock, updated_at = :now, \
     attempts = if_not_exists(attempts, :zero) + :one, \
     created_at = if_not_exists(created_at, :now), #ttl = :ttl, last_reason = :reason";

// The four lease-holder writes share one condition: the caller's lease still
// holds a `sending` item. On a missing item the comparison is false, so a
// mark never creates an item.
const HOLDER_CONDITION: &str = "lease_id = :lease AND #status = :sending";
const CHECKPOINT_UPDATE: &str = "SET delivery_started_at = :now, updated_at = :now";
const MARK_SENT_UPDATE: &str = "SET #status = :sent, sent_at = :now, message_id = :message_id, \
     lock_expires_at = :now, updated_at = :now, #ttl = :ttl REMOVE last_error";
const MARK_ERROR_UPDATE: &str = "SET #status = :error, lock_expires_at = :retry_at, \
     updated_at = :now, last_error = :last_error";
const MARK_ERROR_CLEAR_UPDATE: &str = "SET #status = :error, lock_expires_at = :retry_at, \
     updated_at = :now, last_error = :last_error REMOVE delivery_started_at";
const RELEASE_UPDATE: &str = "SET lock_expires_at = :now, updated_at = :now, last_reason = :reason";

/// A [`LeadStore`] in a DynamoDB table keyed by `thread_id` (S), with the
/// seed's attribute names and types (SPEC §7), so an existing table keeps
/// working.
///
/// Every transition is one `UpdateItem` with a `ConditionExpression`, so
/// any number of tasks, processes or Lambda instances see exactly one lease
/// holder at a time; reads are strongly consistent. See the
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

    /// An `UpdateItem` on the thread's item in this table.
    fn update(&self, thread_id: &ThreadId) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(attr::THREAD_ID, s(thread_id.as_str()))
            .expression_attribute_names("#status", attr::STATUS)
    }

    /// An `UpdateItem` that applies only while `lease` holds a `sending`
    /// item. `#ttl` is declared only by the writes that use it: DynamoDB
    /// rejects unused names.
    fn holder_update(&self, lease: &LeaseToken, update: &'static str) -> UpdateItemFluentBuilder {
        self.update(&lease.thread_id)
            .update_expression(update)
            .condition_expression(HOLDER_CONDITION)
            .expression_attribute_values(":lease", s(lease.lease_id.as_str()))
            .expression_attribute_values(":sending", s(LeadStatus::Sending.as_str()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    }

    /// Runs a lease-holder write: `Ok(true)` if it applied, `Ok(false)` if
    /// the condition failed — unless the item already shows exactly this
    /// write (`already_applied`), which happens when the SDK retried a write
    /// whose first answer was lost.
    async fn run_holder_update(
        &self,
        op: &'static str,
        request: UpdateItemFluentBuilder,
        already_applied: impl FnOnce(&Item) -> bool,
    ) -> Result<bool, StoreError> {
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err) => match condition_failed(&err) {
                Some(old) => Ok(old.as_ref().is_some_and(already_applied)),
                None => Err(unavailable(op, &err)),
            },
        }
    }
}

/// The item returned with a `ConditionalCheckFailedException` (`Some(None)`
/// if the service sent none), or `None` for any other error.
fn condition_failed(err: &SdkError<UpdateItemError>) -> Option<Option<Item>> {
    match err.as_service_error() {
        Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
            Some(failed.item().cloned())
        }
        _ => None,
    }
}

/// Whether `item` holds `lease` (the lease id is random, so only this
/// caller's own write can have put it there).
fn held_by(item: &Item, lease: &LeaseToken) -> bool {
    has_s(item, attr::LEASE_ID, lease.lease_id.as_str())
}

#[async_trait]
impl LeadStore for DynamoStore {
    async fn get(&self, thread_id: &ThreadId) -> Result<Option<LeadRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::THREAD_ID, s(thread_id.as_str()))
            // A lease decision must see the latest write.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("read a record", &e))?;
        output.item().map(decode).transpose()
    }

    async fn try_acquire(&self, request: &AcquireRequest) -> Result<Acquired, StoreError> {
        let result = self
            .update(&request.thread_id)
            .update_expression(ACQUIRE_UPDATE)
            .condition_expression(ACQUIRE_CONDITION)
            .expression_attribute_names("#ttl", attr::TTL)
            .expression_attribute_values(":sending", s(LeadStatus::Sending.as_str()))
            .expression_attribute_values(":error", s(LeadStatus::Error.as_str()))
            .expression_attribute_values(":now", n(request.now))
            .expression_attribute_values(":lease", s(request.lease_id.as_str()))
            .expression_attribute_values(":lock", n(request.lock_expires_at))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(request.ttl))
            .expression_attribute_values(":reason", s(request.reason.as_str()))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let holder = match result {
            Ok(output) => {
                let written = output.attributes().ok_or_else(|| {
                    StoreError::Corrupt("the acquire returned no attributes".to_owned())
                })?;
                return decode(written).map(Acquired::Won);
            }
            Err(err) => match condition_failed(&err) {
                Some(Some(item)) => Some(decode(&item)?),
                // The service did not send the item: read it.
                Some(None) => self.get(&request.thread_id).await?,
                None => return Err(unavailable("acquire a lease", &err)),
            },
        };
        // Our own lease id in the item means an earlier attempt of this very
        // call was written and its answer lost (the SDK then retried): the
        // caller holds the lease.
        match holder {
            Some(record) if record.is_held_by(&request.lease_id) => {
                tracing::debug!(
                    thread_id = %request.thread_id,
                    "dynamodb: a retried acquire found its own earlier write"
                );
                Ok(Acquired::Won(record))
            }
            other => Ok(Acquired::Lost(other)),
        }
    }

    async fn checkpoint_delivery(&self, lease: &LeaseToken, now: i64) -> Result<bool, StoreError> {
        // Repeating it changes nothing, so a retried write simply applies again.
        let request = self
            .holder_update(lease, CHECKPOINT_UPDATE)
            .expression_attribute_values(":now", n(now));
        self.run_holder_update("checkpoint a delivery", request, |_| false)
            .await
    }

    async fn mark_sent(&self, lease: &LeaseToken, mark: &SentMark) -> Result<bool, StoreError> {
        let request = self
            .holder_update(lease, MARK_SENT_UPDATE)
            .expression_attribute_names("#ttl", attr::TTL)
            .expression_attribute_values(":sent", s(LeadStatus::Sent.as_str()))
            .expression_attribute_values(":now", n(mark.now))
            .expression_attribute_values(":message_id", s(mark.message_id.as_str()))
            .expression_attribute_values(":ttl", n(mark.ttl));
        self.run_holder_update("mark a record sent", request, |item| {
            held_by(item, lease)
                && has_s(item, attr::STATUS, LeadStatus::Sent.as_str())
                && has_n(item, attr::SENT_AT, mark.now)
                && has_s(item, attr::MESSAGE_ID, &mark.message_id)
                && has_n(item, attr::TTL, mark.ttl)
        })
        .await
    }

    async fn mark_error(&self, lease: &LeaseToken, mark: &ErrorMark) -> Result<bool, StoreError> {
        let update = if mark.clear_delivery {
            MARK_ERROR_CLEAR_UPDATE
        } else {
            MARK_ERROR_UPDATE
        };
        let last_error = truncate_chars(&mark.error, MAX_LAST_ERROR_CHARS);
        let request = self
            .holder_update(lease, update)
            .expression_attribute_values(":error", s(LeadStatus::Error.as_str()))
            .expression_attribute_values(":retry_at", n(mark.retry_at))
            .expression_attribute_values(":now", n(mark.now))
            .expression_attribute_values(":last_error", s(last_error));
        self.run_holder_update("mark a record failed", request, |item| {
            held_by(item, lease)
                && has_s(item, attr::STATUS, LeadStatus::Error.as_str())
                && has_n(item, attr::LOCK_EXPIRES_AT, mark.retry_at)
                && has_n(item, attr::UPDATED_AT, mark.now)
                && has_s(item, attr::LAST_ERROR, last_error)
                && !(mark.clear_delivery && item.contains_key(attr::DELIVERY_STARTED_AT))
        })
        .await
    }

    async fn release(
        &self,
        lease: &LeaseToken,
        now: i64,
        reason: &str,
    ) -> Result<bool, StoreError> {
        // Repeating it changes nothing, so a retried write simply applies again.
        let request = self
            .holder_update(lease, RELEASE_UPDATE)
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":reason", s(reason));
        self.run_holder_update("release a lease", request, |_| false)
            .await
    }
}
