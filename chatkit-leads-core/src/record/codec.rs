//! The stored form of a [`LeadRecord`]: its serde representation, read back
//! with errors that never quote a stored value.
//!
//! Stores call [`decode_json`] (SQL stores keep the record as a JSON
//! document) or [`decode`] with their own self-describing deserializer (the
//! DynamoDB store reads an item's attributes), and write
//! [`to_json`] or the record's `Serialize` output. Both check that the
//! record belongs to the key it was stored under.
//!
//! Reading is lenient where other writers may differ, as the seed's table
//! does: epoch seconds may come as integers or as numbers with a fraction
//! (cut towards minus infinity, so a lock never reads as lasting longer than
//! stored), a missing `attempts` counts 0 and one past `u32::MAX` saturates,
//! and `null` reads as an unset optional field.

use serde::Deserializer;
use serde::de::{self, Visitor};

use super::LeadRecord;
use crate::ids::ThreadId;

/// A stored record that does not read back as a [`LeadRecord`]. The message
/// names the field at fault, never a stored value; it becomes
/// [`StoreError::Corrupt`](crate::StoreError::Corrupt) in a store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored record: {0}")]
pub struct CorruptRecord(String);

/// The JSON document of `record`.
///
/// # Errors
/// Never for a record built by this crate; an error would mean an unknown
/// field holds something JSON cannot represent.
pub fn to_json(record: &LeadRecord) -> Result<String, CorruptRecord> {
    serde_json::to_string(record)
        .map_err(|_| CorruptRecord("it cannot be written as JSON".to_owned()))
}

/// Reads the JSON document stored under `key`.
///
/// # Errors
/// [`CorruptRecord`] naming the offending field (never its value), or saying
/// the document belongs to another thread.
pub fn decode_json(key: &ThreadId, json: &str) -> Result<LeadRecord, CorruptRecord> {
    decode(key, &mut serde_json::Deserializer::from_str(json))
}

/// Reads a JSON document listed by an index query, under the thread it
/// names itself (an index row's key is the record's by construction; a
/// record read by its key goes through [`decode_json`]).
///
/// # Errors
/// As [`decode_json`], but for the key check.
pub fn decode_json_as_stored(json: &str) -> Result<LeadRecord, CorruptRecord> {
    let record = read(&mut serde_json::Deserializer::from_str(json))?;
    Ok(record)
}

/// Reads a record stored under `key` from any self-describing format.
///
/// # Errors
/// As [`decode_json`].
pub fn decode<'de, D: Deserializer<'de>>(
    key: &ThreadId,
    stored: D,
) -> Result<LeadRecord, CorruptRecord> {
    let record = read(stored)?;
    if &record.thread_id == key {
        Ok(record)
    } else {
        Err(CorruptRecord(
            "it belongs to another thread than its key".to_owned(),
        ))
    }
}

/// The record in `stored`; errors name the field, never its value.
fn read<'de, D: Deserializer<'de>>(stored: D) -> Result<LeadRecord, CorruptRecord> {
    serde_path_to_error::deserialize(stored).map_err(|err| {
        let inner = err.inner().to_string();
        // serde's own wording for a missing field names only the field.
        let what = if inner.starts_with("missing field `") {
            inner.split(" at ").next().unwrap_or_default().to_owned()
        } else {
            format!("field {} is invalid", err.path())
        };
        CorruptRecord(what)
    })
}

/// Whole epoch seconds from an integer, or a number with a fraction (floored).
struct SecondsVisitor;

impl Visitor<'_> for SecondsVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("whole epoch seconds")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom("out of range"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        // `i64::MAX as f64` rounds up to 2^63, which is itself out of range.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        let whole = v.floor();
        if whole.is_finite() && (-LIMIT..LIMIT).contains(&whole) {
            // In range and whole: the conversion is exact.
            #[allow(clippy::cast_possible_truncation)]
            Ok(whole as i64)
        } else {
            Err(E::custom("out of range"))
        }
    }
}

/// `#[serde(with)]` for required epoch seconds.
pub(crate) mod seconds {
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(*value)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        d.deserialize_any(super::SecondsVisitor)
    }
}

/// `#[serde(with)]` for optional epoch seconds; `null` reads as `None`.
pub(crate) mod optional_seconds {
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_some(v),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        d.deserialize_option(Optional)
    }

    struct Optional;

    impl<'de> Visitor<'de> for Optional {
        type Value = Option<i64>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("epoch seconds or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            super::seconds::deserialize(d).map(Some)
        }
    }
}

/// `#[serde(with)]` for `attempts`: a count that saturates at `u32::MAX`,
/// as the acquire rule does.
pub(crate) mod count {
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(*value)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let raw = d.deserialize_any(super::SecondsVisitor)?;
        if raw < 0 {
            return Err(serde::de::Error::custom("negative"));
        }
        Ok(u32::try_from(raw).unwrap_or(u32::MAX))
    }
}

/// `deserialize_with` for a field that only saves work, such as the
/// summary cache: a value this version cannot read (written by a newer one,
/// or damaged) reads as absent instead of making the record corrupt.
pub(crate) fn forgiving<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = <Option<serde_json::Value> as serde::Deserialize>::deserialize(d)?;
    Ok(value.and_then(|v| serde_json::from_value(v).ok()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::record::LeadStatus;

    fn key() -> ThreadId {
        ThreadId::parse("cthr_codec").expect("id")
    }

    fn seed_document() -> serde_json::Value {
        json!({
            "thread_id": "cthr_codec",
            "status": "error",
            "lease_id": "lease-1",
            "lock_expires_at": 1_800_000_060,
            "created_at": 1_800_000_000,
            "updated_at": 1_800_000_001,
            "attempts": 1,
            "ttl": 1_802_592_000,
            "last_error": "timeout",
            "sent_at": null,
        })
    }

    fn read(doc: &serde_json::Value) -> Result<LeadRecord, CorruptRecord> {
        decode_json(&key(), &doc.to_string())
    }

    #[test]
    fn a_seed_record_reads_with_null_as_unset() {
        let record = read(&seed_document()).expect("decode");
        assert_eq!(record.status, LeadStatus::Error);
        assert_eq!(record.sent_at, None);
        assert_eq!(record.delivery_started_at, None);
        assert_eq!(record.last_error.as_deref(), Some("timeout"));
        assert_eq!(record.lock_expires_at, 1_800_000_060);
        assert!(record.extra.is_empty());
    }

    #[test]
    fn the_document_round_trips_and_leaves_unset_fields_out() {
        let record = read(&seed_document()).expect("decode");
        let written = to_json(&record).expect("json");
        assert!(!written.contains("sent_at"), "{written}");
        assert!(!written.contains("null"), "{written}");
        assert_eq!(decode_json(&key(), &written), Ok(record));
    }

    #[test]
    fn a_missing_attempts_count_reads_as_zero_and_a_huge_one_saturates() {
        let mut doc = seed_document();
        doc.as_object_mut().expect("object").remove("attempts");
        assert_eq!(read(&doc).expect("decode").attempts, 0);
        doc["attempts"] = json!(u64::from(u32::MAX) + 7);
        assert_eq!(read(&doc).expect("decode").attempts, u32::MAX);
        doc["attempts"] = json!(-1);
        assert!(read(&doc).is_err());
    }

    #[test]
    fn seconds_with_a_fraction_are_floored_and_huge_ones_refused() {
        let mut doc = seed_document();
        doc["lock_expires_at"] = json!(1_800_000_000.9);
        assert_eq!(read(&doc).expect("decode").lock_expires_at, 1_800_000_000);
        doc["lock_expires_at"] = json!(-0.5);
        assert_eq!(read(&doc).expect("decode").lock_expires_at, -1);
        doc["lock_expires_at"] = json!(i64::MAX);
        assert_eq!(read(&doc).expect("decode").lock_expires_at, i64::MAX);
        doc["lock_expires_at"] = json!(1e30);
        assert!(read(&doc).is_err());
    }

    #[test]
    fn errors_name_the_field_but_never_its_value() {
        let mut doc = seed_document();
        doc["lock_expires_at"] = json!("secret-value");
        let err = read(&doc).expect_err("string for a number");
        assert!(
            matches!(&err.to_string(), m if m.contains("lock_expires_at") && !m.contains("secret")),
            "{err}"
        );
        let mut doc = seed_document();
        doc["status"] = json!("queued-secret");
        let err = read(&doc).expect_err("unknown status");
        assert!(
            matches!(&err.to_string(), m if m.contains("status") && !m.contains("secret")),
            "{err}"
        );
        let mut doc = seed_document();
        doc.as_object_mut().expect("object").remove("ttl");
        let err = read(&doc).expect_err("no ttl");
        assert!(
            matches!(&err.to_string(), m if m.contains("missing field `ttl`")),
            "{err}"
        );
    }

    #[test]
    fn a_record_under_another_key_is_corrupt() {
        let other = ThreadId::parse("cthr_other").expect("id");
        let err = decode_json(&other, &seed_document().to_string()).expect_err("wrong key");
        assert!(err.to_string().contains("another thread"), "{err}");
    }

    #[test]
    fn unknown_fields_survive_a_round_trip_and_stay_out_of_debug() {
        let mut doc = seed_document();
        doc["photo_notes"] = json!({"customer_phone": "+14085550123"});
        doc["update_count"] = json!(2);
        let record = read(&doc).expect("decode");
        assert_eq!(
            record.extra.names().collect::<Vec<_>>(),
            ["photo_notes", "update_count"]
        );
        let debug = format!("{record:?}");
        assert!(!debug.contains("4085550123"), "{debug}");
        let again = decode_json(&key(), &to_json(&record).expect("json")).expect("decode");
        assert_eq!(again.extra.get("update_count"), Some(&json!(2)));
        assert_eq!(again, record);
    }

    #[test]
    fn an_unreadable_summary_cache_reads_as_none() {
        let mut doc = seed_document();
        doc["summary_cache"] = json!({"transcript": 7, "summary": "a newer shape"});
        let record = read(&doc).expect("the record is fine");
        assert_eq!(record.summary_cache, None);
    }
}
