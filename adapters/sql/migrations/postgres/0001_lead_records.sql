-- One idempotency record per ChatKit thread (SPEC §7). Column names match the
-- seed's DynamoDB attributes; times are Unix seconds (BIGINT).
--
-- Unqualified names: the table lands in the first schema of the connection's
-- `search_path` (the store's `schema` option sets it).
CREATE TABLE IF NOT EXISTS lead_records (
    thread_id           TEXT    NOT NULL PRIMARY KEY,
    status              TEXT    NOT NULL
                        CONSTRAINT lead_records_status_known
                        CHECK (status IN ('sending', 'sent', 'error')),
    lease_id            TEXT,
    lock_expires_at     BIGINT  NOT NULL,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    -- A u32 in the record, so BIGINT with the u32 range: the acquire
    -- saturates at 4294967295 exactly like `record::rules::acquire`.
    attempts            BIGINT  NOT NULL DEFAULT 0
                        CONSTRAINT lead_records_attempts_u32
                        CHECK (attempts BETWEEN 0 AND 4294967295),
    sent_at             BIGINT,
    message_id          TEXT,
    last_reason         TEXT,
    last_error          TEXT,
    ttl                 BIGINT  NOT NULL,
    delivery_started_at BIGINT
);

-- `delete_expired` scans by expiry.
CREATE INDEX IF NOT EXISTS lead_records_ttl ON lead_records (ttl);
