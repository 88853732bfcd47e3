-- One idempotency record per ChatKit thread (SPEC §7). Column names match the
-- seed's DynamoDB attributes; times are Unix seconds.
--
-- STRICT keeps every value in its declared type, so epoch seconds can never be
-- stored as text by a hand-written statement.
CREATE TABLE IF NOT EXISTS lead_records (
    thread_id           TEXT    NOT NULL PRIMARY KEY,
    status              TEXT    NOT NULL,
    lease_id            TEXT,
    lock_expires_at     INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    sent_at             INTEGER,
    message_id          TEXT,
    last_reason         TEXT,
    last_error          TEXT,
    ttl                 INTEGER NOT NULL,
    delivery_started_at INTEGER
) STRICT;

-- `delete_expired` scans by expiry.
CREATE INDEX IF NOT EXISTS lead_records_ttl ON lead_records (ttl);
