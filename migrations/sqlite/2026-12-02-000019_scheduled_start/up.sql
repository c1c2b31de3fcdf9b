-- Issue 27's scheduled start and activation. A grant approved for later is `scheduled` (no membership until
-- `starts_at`, when the jobs start it) or `awaiting_activation` (its holder starts it before `activate_by`, or
-- the jobs end it `expired`); its clock runs from the start, so it keeps its `duration_seconds`. SQLite cannot
-- change a CHECK in place, so the table is rebuilt (no table refers to it).
CREATE TABLE grants_new (
    id               TEXT PRIMARY KEY NOT NULL,
    -- One grant per request, whatever races happen.
    request_id       TEXT NOT NULL UNIQUE REFERENCES access_requests (id),
    user_id          TEXT NOT NULL REFERENCES users (id),
    group_id         TEXT NOT NULL REFERENCES user_groups (id),
    membership_id    TEXT,
    status           TEXT NOT NULL
        CHECK (status IN ('scheduled', 'awaiting_activation', 'active', 'expired', 'revoked')),
    granted_at       TIMESTAMP NOT NULL,
    expires_at       TIMESTAMP,
    ended_at         TIMESTAMP,
    ended_by         TEXT,
    version          BIGINT NOT NULL,
    extension_count  BIGINT NOT NULL DEFAULT 0 CHECK (extension_count >= 0),
    extended_seconds BIGINT NOT NULL DEFAULT 0 CHECK (extended_seconds >= 0),
    starts_at        TIMESTAMP,
    activate_by      TIMESTAMP,
    duration_seconds BIGINT CHECK (duration_seconds > 0)
);
INSERT INTO grants_new (id, request_id, user_id, group_id, membership_id, status, granted_at, expires_at, ended_at,
                        ended_by, version, extension_count, extended_seconds)
SELECT id, request_id, user_id, group_id, membership_id, status, granted_at, expires_at, ended_at, ended_by, version,
       extension_count, extended_seconds
FROM grants;
DROP TABLE grants;
ALTER TABLE grants_new RENAME TO grants;
CREATE INDEX grants_user_idx ON grants (user_id, granted_at);
CREATE INDEX grants_expiry_idx ON grants (status, expires_at);
CREATE INDEX grants_page_idx ON grants (granted_at, id);
-- The jobs' "scheduled grants due to start" and "activation windows that closed".
CREATE INDEX grants_start_idx ON grants (status, starts_at);
CREATE INDEX grants_activation_idx ON grants (status, activate_by);
