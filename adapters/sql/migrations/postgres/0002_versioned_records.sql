-- Each record becomes one JSONB document with a version (the compare-and-set
-- precondition) beside it; `ttl` stays a column (and its index) for
-- `delete_expired`. Existing rows keep every field and get version 0
-- ("written before versions"); the lease rules now live in
-- chatkit-leads-core.
ALTER TABLE lead_records
    ADD COLUMN version BIGINT NOT NULL DEFAULT 0
        CONSTRAINT lead_records_version_natural CHECK (version >= 0),
    ADD COLUMN record JSONB;

UPDATE lead_records SET record = jsonb_strip_nulls(jsonb_build_object(
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
));

ALTER TABLE lead_records
    ALTER COLUMN version DROP DEFAULT,
    ALTER COLUMN record SET NOT NULL,
    DROP COLUMN status,
    DROP COLUMN lease_id,
    DROP COLUMN lock_expires_at,
    DROP COLUMN created_at,
    DROP COLUMN updated_at,
    DROP COLUMN attempts,
    DROP COLUMN sent_at,
    DROP COLUMN message_id,
    DROP COLUMN last_reason,
    DROP COLUMN last_error,
    DROP COLUMN delivery_started_at;
