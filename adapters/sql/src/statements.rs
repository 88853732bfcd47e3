//! The store's SQL, written once with `$n` placeholders (SQLite accepts them
//! too) and the dialect's fragments filled in when a store is built.
//!
//! `lead_records` (after migration 0003): `thread_id` (key), `version` (the
//! compare-and-set precondition), `ttl` and `due_at` (indexed copies of the
//! record's, for `delete_expired` and the sweeper) and `record`, the JSON
//! document `chatkit_leads_core::record::codec` reads and writes.
//! `lead_users`: the users whose threads the sweeper lists.

use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

use crate::dialect::Dialect;

/// Every statement the store runs, for one dialect.
#[derive(Debug, Clone)]
pub(crate) struct Statements {
    /// `$1` thread → `(version, record)`.
    pub(crate) load: SqlStr,
    /// `$1` thread, `$2` ttl, `$3` due_at, `$4` record: insert unless the
    /// thread has a row.
    pub(crate) insert: SqlStr,
    /// `$1` thread, `$2` expected version, `$3` new version, `$4` ttl,
    /// `$5` due_at, `$6` record: replace only the expected version.
    pub(crate) replace: SqlStr,
    /// `$1` now, `$2` limit → `(version, record)` of due rows, earliest first.
    pub(crate) due: SqlStr,
    /// `$1` user, `$2` seen at, `$3` ttl: remember a session (a later time wins).
    pub(crate) touch_user: SqlStr,
    /// `$1` since, `$2` quiet before, `$3` limit → `(last_seen_at, user)`.
    pub(crate) users_to_list: SqlStr,
    /// `$1` user, `$2` the session listed for.
    pub(crate) mark_listed: SqlStr,
    /// `$1` now, `$2` batch size: delete one batch of expired records.
    pub(crate) delete_expired: SqlStr,
    /// `$1` now, `$2` batch size: delete one batch of expired users.
    pub(crate) delete_expired_users: SqlStr,
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
                "INSERT INTO lead_records (thread_id, version, ttl, due_at, record) \
                 VALUES ($1, 1, $2, $3, CAST($4 AS {})) ON CONFLICT (thread_id) DO NOTHING \
                 RETURNING thread_id",
                D::RECORD_TYPE
            )),
            replace: sql(format!(
                "UPDATE lead_records SET version = $3, ttl = $4, due_at = $5, \
                 record = CAST($6 AS {}) WHERE thread_id = $1 AND version = $2 \
                 RETURNING thread_id",
                D::RECORD_TYPE
            )),
            due: "SELECT version, CAST(record AS TEXT) FROM lead_records \
                  WHERE due_at <= $1 ORDER BY due_at LIMIT $2"
                .into_sql_str(),
            touch_user: "INSERT INTO lead_users (user_id, last_seen_at, ttl) VALUES ($1, $2, $3) \
                         ON CONFLICT (user_id) DO UPDATE \
                         SET last_seen_at = excluded.last_seen_at, ttl = excluded.ttl \
                         WHERE lead_users.last_seen_at < excluded.last_seen_at \
                         RETURNING user_id"
                .into_sql_str(),
            users_to_list: "SELECT last_seen_at, user_id FROM lead_users \
                            WHERE last_seen_at >= $1 AND last_seen_at <= $2 \
                            AND (listed_at IS NULL OR listed_at < last_seen_at) \
                            ORDER BY last_seen_at LIMIT $3"
                .into_sql_str(),
            mark_listed: "UPDATE lead_users SET listed_at = $2 \
                          WHERE user_id = $1 AND (listed_at IS NULL OR listed_at < $2) \
                          RETURNING user_id"
                .into_sql_str(),
            // The subquery picks a bounded batch; `ttl < $1` is checked again
            // on the row deleted, so a record re-leased meanwhile (which
            // refreshes its `ttl`) is kept.
            delete_expired: sql(format!(
                "DELETE FROM lead_records WHERE thread_id IN \
                 (SELECT thread_id FROM lead_records WHERE ttl < $1 LIMIT $2{}) \
                 AND ttl < $1 RETURNING thread_id",
                D::SKIP_LOCKED
            )),
            delete_expired_users: sql(format!(
                "DELETE FROM lead_users WHERE user_id IN \
                 (SELECT user_id FROM lead_users WHERE ttl < $1 LIMIT $2{}) \
                 AND ttl < $1 RETURNING user_id",
                D::SKIP_LOCKED
            )),
            ping: "SELECT thread_id FROM lead_records LIMIT 1".into_sql_str(),
        }
    }
}
