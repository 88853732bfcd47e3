-- What the sweeper reads: `due_at`, an indexed copy of the record's own
-- (the record stays the source of truth), and the users whose threads it
-- lists.
ALTER TABLE lead_records ADD COLUMN due_at BIGINT;

-- Attempts an older release left unfinished (a lease whose holder may have
-- died, a failure in its cooldown) are due when their lock ends.
UPDATE lead_records
SET due_at = (record ->> 'lock_expires_at')::BIGINT,
    record = jsonb_set(record, '{due_at}', record -> 'lock_expires_at')
WHERE record ->> 'status' IN ('sending', 'error');

CREATE INDEX lead_records_due ON lead_records (due_at) WHERE due_at IS NOT NULL;

-- One row per ChatKit user that had a session minted.
CREATE TABLE lead_users (
    user_id      TEXT   NOT NULL PRIMARY KEY,
    last_seen_at BIGINT NOT NULL,
    -- The session (its last_seen_at) the user's threads were last listed for.
    listed_at    BIGINT,
    ttl          BIGINT NOT NULL
);

CREATE INDEX lead_users_last_seen ON lead_users (last_seen_at);
CREATE INDEX lead_users_ttl ON lead_users (ttl);
