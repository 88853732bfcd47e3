//! The store's SQL, written once with `$n` placeholders (SQLite accepts them
//! too) and the dialect's fragments filled in when a store is built.
//!
//! The table (after migration 0002): `thread_id` (key), `version` (the
//! compare-and-set precondition), `ttl` (an indexed copy of the record's,
//! for `delete_expired`) and `record`, the JSON document
//! `chatkit_leads_core::record::codec` reads and writes.

use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

use crate::dialect::Dialect;

/// Every statement the store runs, for one dialect.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    /// `$1` thread → `(version, record)`.
    pub(crate) load: SqlStr,
    /// `$1` thread, `$2` ttl, `$3` record: insert unless the thread has a row.
    pub(crate) insert: SqlStr,
    /// `$1` thread, `$2` expected version, `$3` new version, `$4` ttl,
    /// `$5` record: replace only the expected version.
    pub(crate) replace: SqlStr,
    /// `$1` now, `$2` batch size: delete one batch of expired rows.
    pub(crate) delete_expired: SqlStr,
    /// Readiness: the table answers.
    pub(crate) ping: SqlStr,
}

impl Statements {
    pub(crate) fn new<D: Dialect>() -> Self {
        let sql = |text: String| AssertSqlSafe(text).into_sql_str();
        Self {
            load: "SELECT version, CAST(record AS TEXT) FROM lead_records WHERE thread_id = $1"
                .into_sql_str(),
            // Both writes report success by returning the key: one portable
            // way to count affected rows through sqlx's generic API.
            insert: sql(format!(
                "INSERT INTO lead_records (thread_id, version, ttl, record) \
                 VALUES ($1, 1, $2, CAST($3 AS {})) ON CONFLICT (thread_id) DO NOTHING \
                 RETURNING thread_id",
                D::RECORD_TYPE
            )),
            replace: sql(format!(
                "UPDATE lead_records SET version = $3, ttl = $4, record = CAST($5 AS {}) \
                 WHERE thread_id = $1 AND version = $2 RETURNING thread_id",
                D::RECORD_TYPE
            )),
            // The subquery picks a bounded batch; `ttl < $1` is checked again
            // on the row deleted, so a record re-leased meanwhile (which
            // refreshes its `ttl`) is kept.
            delete_expired: sql(format!(
                "DELETE FROM lead_records WHERE thread_id IN \
                 (SELECT thread_id FROM lead_records WHERE ttl < $1 LIMIT $2{}) \
                 AND ttl < $1 RETURNING thread_id",
                D::SKIP_LOCKED
            )),
            ping: "SELECT thread_id FROM lead_records LIMIT 1".into_sql_str(),
        }
    }
}
