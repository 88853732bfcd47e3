-- Each record becomes one JSON document with a version (the compare-and-set
-- precondition) beside it; `ttl` stays a column for `delete_expired`.
-- Existing rows keep every field and get version 0 ("written before
-- versions"); the lease rules now live in chatkit-leads-core.
--
-- SQLite cannot change a STRICT table's columns in place, so the table is
-- rebuilt (the documented 12-step procedure, in sqlx's migration transaction).
CREATE TABLE lead_records_v2 (
    thread_id TEXT    NOT NULL PRIMARY KEY,
    version   INTEGER NOT NULL CHECK (version >= 0),
    ttl       INTEGER NOT NULL,
    record    TEXT    NOT NULL CHECK (json_valid(record))
) STRICT;

INSERT INTO lead_records_v2 (thread_id, version, ttl, record)
SELECT thread_id, 0, ttl, json_object(
    'thread_id', thread_id,
    'status', status,
    'lease_id', lease_id,
    'lock_expires_at', lock_expires_at,
    'created_at', created_at,
    'updated_at', updated_at,
    'attempts', attempts,
    'sent_at', sent_at,
    'message_id', message_id,
    'last_reason', last_reason,
    'last_error', last_error,
    'ttl', ttl,
    'delivery_started_at', delivery_started_at
)
FROM lead_records;

DROP TABLE lead_records;
ALTER TABLE lead_records_v2 RENAME TO lead_records;

-- `delete_expired` scans by expiry.
CREATE INDEX lead_records_ttl ON lead_records (ttl);
