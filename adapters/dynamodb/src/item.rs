//! A [`LeadRecord`] as a DynamoDB item, in the seed's attribute names and
//! types: strings as `S`, epoch seconds and `attempts` as `N`, and an absent
//! optional field as a missing attribute.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chatkit_leads_core::StoreError;
use chatkit_leads_core::ids::{LeaseId, ThreadId};
use chatkit_leads_core::record::{LeadRecord, LeadStatus};
use chatkit_leads_core::text::truncate_chars;

/// One item as the SDK hands it over.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// Attribute names, exactly as in the seed's table (SPEC §7).
pub(crate) mod attr {
    /// `S`, the table's partition key.
    pub(crate) const THREAD_ID: &str = "thread_id";
    /// `S`: `sending`, `sent` or `error`.
    pub(crate) const STATUS: &str = "status";
    /// `S`.
    pub(crate) const LEASE_ID: &str = "lease_id";
    /// `N`, epoch seconds.
    pub(crate) const LOCK_EXPIRES_AT: &str = "lock_expires_at";
    /// `N`, epoch seconds.
    pub(crate) const CREATED_AT: &str = "created_at";
    /// `N`, epoch seconds.
    pub(crate) const UPDATED_AT: &str = "updated_at";
    /// `N`.
    pub(crate) const ATTEMPTS: &str = "attempts";
    /// `N`, epoch seconds.
    pub(crate) const SENT_AT: &str = "sent_at";
    /// `S`.
    pub(crate) const MESSAGE_ID: &str = "message_id";
    /// `S`.
    pub(crate) const LAST_REASON: &str = "last_reason";
    /// `S`, at most 500 characters.
    pub(crate) const LAST_ERROR: &str = "last_error";
    /// `N`, epoch seconds: the table's TTL attribute.
    pub(crate) const TTL: &str = "ttl";
    /// `N`, epoch seconds.
    pub(crate) const DELIVERY_STARTED_AT: &str = "delivery_started_at";
}

/// A string attribute value.
pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute value.
pub(crate) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Whether `item` has the string attribute `name` equal to `value`.
pub(crate) fn has_s(item: &Item, name: &str, value: &str) -> bool {
    matches!(item.get(name), Some(AttributeValue::S(v)) if v == value)
}

/// Whether `item` has the number attribute `name` equal to `value`.
pub(crate) fn has_n(item: &Item, name: &str, value: i64) -> bool {
    matches!(item.get(name), Some(AttributeValue::N(v)) if parse_number(v) == Some(value))
}

/// Reads an item into a [`LeadRecord`]; anything that does not fit is
/// [`StoreError::Corrupt`], with a message naming the attribute but never
/// its value.
pub(crate) fn decode(item: &Item) -> Result<LeadRecord, StoreError> {
    use attr::*;

    let raw_thread = required(string(item, THREAD_ID)?, THREAD_ID)?;
    let thread_id =
        ThreadId::parse(&raw_thread).map_err(|_| corrupt("thread_id is not a thread id"))?;
    let raw_status = required(string(item, STATUS)?, STATUS)?;
    let status = LeadStatus::parse(&raw_status).ok_or_else(|| {
        StoreError::Corrupt(format!(
            "unknown status {:?}",
            truncate_chars(&raw_status, 16)
        ))
    })?;
    // A missing count is zero, as `if_not_exists(attempts, 0)` in the acquire
    // reads it; a count past `u32::MAX` saturates like `rules::acquire`.
    let attempts = match number(item, ATTEMPTS)? {
        None => 0,
        Some(count) if count < 0 => return Err(corrupt("attempts is negative")),
        Some(count) => u32::try_from(count).unwrap_or(u32::MAX),
    };
    Ok(LeadRecord {
        thread_id,
        status,
        lease_id: string(item, LEASE_ID)?.map(LeaseId::from_stored),
        lock_expires_at: required(number(item, LOCK_EXPIRES_AT)?, LOCK_EXPIRES_AT)?,
        created_at: required(number(item, CREATED_AT)?, CREATED_AT)?,
        updated_at: required(number(item, UPDATED_AT)?, UPDATED_AT)?,
        attempts,
        sent_at: number(item, SENT_AT)?,
        message_id: string(item, MESSAGE_ID)?,
        last_reason: string(item, LAST_REASON)?,
        last_error: string(item, LAST_ERROR)?,
        ttl: required(number(item, TTL)?, TTL)?,
        delivery_started_at: number(item, DELIVERY_STARTED_AT)?,
    })
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn required<T>(value: Option<T>, name: &str) -> Result<T, StoreError> {
    value.ok_or_else(|| StoreError::Corrupt(format!("attribute {name} is missing")))
}

/// An optional `S` attribute; `NULL` counts as absent.
fn string(item: &Item, name: &str) -> Result<Option<String>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(value)) => Ok(Some(value.clone())),
        Some(_) => Err(StoreError::Corrupt(format!(
            "attribute {name} is not a string"
        ))),
    }
}

/// An optional `N` attribute holding whole seconds (or a count); `NULL`
/// counts as absent.
fn number(item: &Item, name: &str) -> Result<Option<i64>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(raw)) => parse_number(raw)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt(format!("attribute {name} is not a whole number"))),
        Some(_) => Err(StoreError::Corrupt(format!(
            "attribute {name} is not a number"
        ))),
    }
}

/// A DynamoDB number as whole seconds. Integers are the norm; a fraction
/// (a hand-written `1800000000.5`) is cut towards minus infinity, so a lock
/// reads as expiring no later than stored.
fn parse_number(raw: &str) -> Option<i64> {
    if let Ok(whole) = raw.parse::<i64>() {
        return Some(whole);
    }
    let value = raw.parse::<f64>().ok()?.floor();
    // `i64::MAX as f64` rounds up to 2^63, which is itself out of range.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    (value.is_finite() && (-LIMIT..LIMIT).contains(&value)).then_some(value as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_item() -> Item {
        Item::from([
            (attr::THREAD_ID.to_owned(), s("cthr_item")),
            (attr::STATUS.to_owned(), s("error")),
            (attr::LEASE_ID.to_owned(), s("lease-1")),
            (attr::LOCK_EXPIRES_AT.to_owned(), n(1_800_000_060)),
            (attr::CREATED_AT.to_owned(), n(1_800_000_000)),
            (attr::UPDATED_AT.to_owned(), n(1_800_000_001)),
            (attr::ATTEMPTS.to_owned(), n(1)),
            (attr::TTL.to_owned(), n(1_802_592_000)),
            (attr::LAST_ERROR.to_owned(), s("timeout")),
            (attr::SENT_AT.to_owned(), AttributeValue::Null(true)),
        ])
    }

    #[test]
    fn a_seed_item_decodes_with_null_as_absent() {
        let record = decode(&seed_item()).expect("decode");
        assert_eq!(record.status, LeadStatus::Error);
        assert_eq!(record.sent_at, None);
        assert_eq!(record.delivery_started_at, None);
        assert_eq!(record.last_error.as_deref(), Some("timeout"));
        assert_eq!(record.lock_expires_at, 1_800_000_060);
    }

    #[test]
    fn a_missing_attempts_count_reads_as_zero_and_a_huge_one_saturates() {
        let mut item = seed_item();
        item.remove(attr::ATTEMPTS);
        assert_eq!(decode(&item).expect("decode").attempts, 0);
        item.insert(attr::ATTEMPTS.to_owned(), n(i64::from(u32::MAX) + 7));
        assert_eq!(decode(&item).expect("decode").attempts, u32::MAX);
        item.insert(attr::ATTEMPTS.to_owned(), n(-1));
        assert!(matches!(decode(&item), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn wrong_types_and_missing_required_attributes_are_corrupt_without_values() {
        let mut item = seed_item();
        item.insert(attr::LOCK_EXPIRES_AT.to_owned(), s("secret-value"));
        let err = decode(&item).expect_err("string for a number");
        assert!(
            matches!(&err, StoreError::Corrupt(m) if m.contains("lock_expires_at") && !m.contains("secret")),
            "{err}"
        );
        let mut item = seed_item();
        item.remove(attr::TTL);
        assert!(matches!(decode(&item), Err(StoreError::Corrupt(m)) if m.contains("ttl")));
        let mut item = seed_item();
        item.insert(attr::STATUS.to_owned(), s("queued"));
        assert!(matches!(decode(&item), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn numbers_parse_as_whole_seconds() {
        assert_eq!(parse_number("1800000000"), Some(1_800_000_000));
        assert_eq!(parse_number("-5"), Some(-5));
        assert_eq!(parse_number("1800000000.9"), Some(1_800_000_000));
        assert_eq!(parse_number("1.8E9"), Some(1_800_000_000));
        assert_eq!(parse_number(&i64::MAX.to_string()), Some(i64::MAX));
        assert_eq!(parse_number("1e30"), None);
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("x"), None);
    }
}
