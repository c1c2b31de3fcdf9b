-- Grants that never started have no membership: they end as revoked.
UPDATE grants SET status = 'revoked', ended_at = CURRENT_TIMESTAMP, version = version + 1
WHERE status IN ('scheduled', 'awaiting_activation');
CREATE TABLE grants_old (
    id               TEXT PRIMARY KEY NOT NULL,
    request_id       TEXT NOT NULL UNIQUE REFERENCES access_requests (id),
    user_id          TEXT NOT NULL REFERENCES users (id),
    group_id         TEXT NOT NULL REFERENCES user_groups (id),
    membership_id    TEXT,
    status           TEXT NOT NULL CHECK (status IN ('active', 'expired', 'revoked')),
    granted_at       TIMESTAMP NOT NULL,
    expires_at       TIMESTAMP,
    ended_at         TIMESTAMP,
    ended_by         TEXT,
    version          BIGINT NOT NULL,
    extension_count  BIGINT NOT NULL DEFAULT 0 CHECK (extension_count >= 0),
    extended_seconds BIGINT NOT NULL DEFAULT 0 CHECK (extended_seconds >= 0)
);
INSERT INTO grants_old
SELECT id, request_id, user_id, group_id, membership_id, status, granted_at, expires_at, ended_at, ended_by, version,
       extension_count, extended_seconds
FROM grants;
DROP TABLE grants;
ALTER TABLE grants_old RENAME TO grants;
CREATE INDEX grants_user_idx ON grants (user_id, granted_at);
CREATE INDEX grants_expiry_idx ON grants (status, expires_at);
CREATE INDEX grants_page_idx ON grants (granted_at, id);
