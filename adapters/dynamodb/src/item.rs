//! What the table holds: a versioned [`LeadRecord`] per thread — the
//! record's own serde form (the seed's attribute names; strings as `S`,
//! epoch seconds and counts as `N`, an unset field left out) plus a
//! `version` number and, while the thread is due, the key of the sparse
//! `due` index — and a small item per remembered user (key `user#<id>`).
//!
//! Items the seed wrote have no `version` and read as version 0; `NULL`
//! attributes written by other code read as unset.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chatkit_leads_core::StoreError;
use chatkit_leads_core::ids::ThreadId;
use chatkit_leads_core::record::{LeadRecord, Version, Versioned, codec};

/// One item as the SDK hands it over.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// `S`, the table's partition key (the seed's).
pub(crate) const THREAD_ID: &str = "thread_id";
/// `N`, epoch seconds: the table's TTL attribute (the seed's).
pub(crate) const TTL: &str = "ttl";
/// `N`: how many times the item was written by a versioned store.
pub(crate) const VERSION: &str = "version";
/// `N`, epoch seconds: when the sweeper should look at the thread (the
/// record's own field, and the sort key of [`DUE_INDEX`]).
pub(crate) const DUE_AT: &str = "due_at";
/// `S`, [`DUE_SHARD_VALUE`] while the thread is due, else missing: the
/// partition key of [`DUE_INDEX`], which therefore holds due items only.
pub(crate) const DUE_SHARD: &str = "due_shard";
/// The one value of [`DUE_SHARD`].
pub(crate) const DUE_SHARD_VALUE: &str = "due";
/// The sparse index of due threads: `due_shard` (S) + `due_at` (N), all
/// attributes.
pub(crate) const DUE_INDEX: &str = "due";

/// Key prefix of user items; thread ids start with `cthr_`, so the two
/// never meet.
pub(crate) const USER_PREFIX: &str = "user#";
/// `N`, epoch seconds: a user's latest session (the sort key of
/// [`USERS_INDEX`]).
pub(crate) const LAST_SEEN_AT: &str = "last_seen_at";
/// `N`, epoch seconds: the session a user's threads were last listed for.
pub(crate) const LISTED_AT: &str = "listed_at";
/// `S`, [`TO_LIST_VALUE`] while the user's threads are to be listed, else
/// missing: the partition key of [`USERS_INDEX`].
pub(crate) const TO_LIST: &str = "to_list";
/// The one value of [`TO_LIST`].
pub(crate) const TO_LIST_VALUE: &str = "user";
/// The sparse index of users to list: `to_list` (S) + `last_seen_at` (N),
/// keys only.
pub(crate) const USERS_INDEX: &str = "users";

/// The item storing `record` at `version`.
pub(crate) fn encode(record: &LeadRecord, version: Version) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::aws_sdk_dynamodb_1::to_item(record)
        .map_err(|_| StoreError::Corrupt("record cannot be written as an item".to_owned()))?;
    item.insert(VERSION.to_owned(), number(version.get()));
    if record.due_at.is_some() {
        item.insert(
            DUE_SHARD.to_owned(),
            AttributeValue::S(DUE_SHARD_VALUE.to_owned()),
        );
    }
    Ok(item)
}

/// Reads an item a `due` index query returned, under the key it carries.
pub(crate) fn decode_listed(item: Item) -> Result<LeadRecord, StoreError> {
    let key = match item.get(THREAD_ID) {
        Some(AttributeValue::S(raw)) => ThreadId::parse(raw).map_err(|_| {
            StoreError::Corrupt("stored record: its key is not a thread id".to_owned())
        })?,
        _ => {
            return Err(StoreError::Corrupt(
                "stored record: no thread_id".to_owned(),
            ));
        }
    };
    decode(&key, item).map(|stored| stored.record)
}

/// Reads the item stored under `key`.
pub(crate) fn decode(key: &ThreadId, mut item: Item) -> Result<Versioned, StoreError> {
    // The index key is the store's, not the record's.
    item.remove(DUE_SHARD);
    let version = match item.remove(VERSION) {
        None | Some(AttributeValue::Null(_)) => Version::UNVERSIONED,
        Some(AttributeValue::N(raw)) => raw.parse().map(Version::new).map_err(|_| {
            StoreError::Corrupt("stored record: field version is invalid".to_owned())
        })?,
        Some(_) => {
            return Err(StoreError::Corrupt(
                "stored record: field version is not a number".to_owned(),
            ));
        }
    };
    let item: serde_dynamo::Item = item.into();
    let attributes = serde_dynamo::AttributeValue::M(item.into());
    let record = codec::decode(
        key,
        serde_dynamo::Deserializer::from_attribute_value(attributes),
    )?;
    Ok(Versioned { record, version })
}

/// A number attribute value.
pub(crate) fn number(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(value: &str) -> AttributeValue {
        AttributeValue::S(value.to_owned())
    }

    fn n(value: i64) -> AttributeValue {
        AttributeValue::N(value.to_string())
    }

    fn key() -> ThreadId {
        ThreadId::parse("cthr_item").expect("id")
    }

    /// An item as the seed's Lambda wrote it: no version, a `NULL` here and
    /// there.
    fn seed_item() -> Item {
        Item::from([
            ("thread_id".to_owned(), s("cthr_item")),
            ("status".to_owned(), s("error")),
            ("lease_id".to_owned(), s("lease-1")),
            ("lock_expires_at".to_owned(), n(1_800_000_060)),
            ("created_at".to_owned(), n(1_800_000_000)),
            ("updated_at".to_owned(), n(1_800_000_001)),
            ("attempts".to_owned(), n(1)),
            ("ttl".to_owned(), n(1_802_592_000)),
            ("last_error".to_owned(), s("timeout")),
            ("sent_at".to_owned(), AttributeValue::Null(true)),
        ])
    }

    #[test]
    fn a_seed_item_decodes_as_version_0_with_null_as_unset() {
        let stored = decode(&key(), seed_item()).expect("decode");
        assert_eq!(stored.version, Version::UNVERSIONED);
        let record = stored.record;
        assert_eq!(record.lock_expires_at, 1_800_000_060);
        assert_eq!((record.sent_at, record.delivery_started_at), (None, None));
        assert_eq!(record.last_error.as_deref(), Some("timeout"));
        assert!(record.extra.is_empty(), "{:?}", record.extra);
    }

    #[test]
    fn an_item_round_trips_with_its_version_and_seed_types() {
        let record = decode(&key(), seed_item()).expect("decode").record;
        let item = encode(&record, Version::new(7)).expect("encode");
        assert_eq!(item.get("version"), Some(&n(7)));
        assert_eq!(item.get("lock_expires_at"), Some(&n(1_800_000_060)));
        assert_eq!(item.get("attempts"), Some(&n(1)));
        assert_eq!(item.get("status"), Some(&s("error")));
        assert!(!item.contains_key("sent_at"), "unset fields are left out");
        assert!(
            !item.contains_key("due_shard"),
            "not due: not in the due index"
        );
        let again = decode(&key(), item).expect("decode");
        assert_eq!((again.record, again.version), (record, Version::new(7)));
    }

    #[test]
    fn a_due_record_carries_the_due_index_key_which_never_reaches_the_record() {
        let mut record = decode(&key(), seed_item()).expect("decode").record;
        record.due_at = Some(1_800_000_060);
        let item = encode(&record, Version::new(2)).expect("encode");
        assert_eq!(item.get("due_shard"), Some(&s("due")));
        assert_eq!(item.get("due_at"), Some(&n(1_800_000_060)));
        let again = decode_listed(item).expect("decode");
        assert!(again.extra.is_empty(), "{:?}", again.extra);
        assert_eq!(again, record);
    }

    #[test]
    fn fractional_seconds_and_huge_counts_read_like_the_seed_table() {
        let mut item = seed_item();
        item.insert(
            "lock_expires_at".to_owned(),
            AttributeValue::N("1800000000.9".to_owned()),
        );
        item.insert("attempts".to_owned(), n(i64::from(u32::MAX) + 7));
        let record = decode(&key(), item).expect("decode").record;
        assert_eq!(
            (record.lock_expires_at, record.attempts),
            (1_800_000_000, u32::MAX)
        );
    }

    #[test]
    fn wrong_types_are_corrupt_and_never_quote_the_value() {
        let mut item = seed_item();
        item.insert("lock_expires_at".to_owned(), s("secret-value"));
        let err = decode(&key(), item).expect_err("string for a number");
        assert!(
            matches!(&err, StoreError::Corrupt(m) if m.contains("lock_expires_at") && !m.contains("secret")),
            "{err}"
        );
        let mut item = seed_item();
        item.insert("version".to_owned(), s("secret-version"));
        let err = decode(&key(), item).expect_err("string version");
        assert!(
            matches!(&err, StoreError::Corrupt(m) if !m.contains("secret")),
            "{err}"
        );
        let mut item = seed_item();
        item.remove("ttl");
        assert!(matches!(decode(&key(), item), Err(StoreError::Corrupt(m)) if m.contains("ttl")));
    }
}
