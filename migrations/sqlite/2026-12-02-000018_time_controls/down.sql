DELETE FROM grants WHERE status = 'scheduled';
CREATE TABLE grants_old (
    id            TEXT PRIMARY KEY NOT NULL,
    request_id    TEXT NOT NULL UNIQUE REFERENCES access_requests (id),
    user_id       TEXT NOT NULL REFERENCES users (id),
    group_id      TEXT NOT NULL REFERENCES user_groups (id),
    membership_id TEXT,
    status        TEXT NOT NULL CHECK (status IN ('active', 'expired', 'revoked')),
    granted_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP,
    ended_at      TIMESTAMP,
    ended_by      TEXT,
    version       BIGINT NOT NULL
);
INSERT INTO grants_old
SELECT id, request_id, user_id, group_id, membership_id, status, granted_at, expires_at, ended_at, ended_by, version
FROM grants;
DROP TABLE grants;
ALTER TABLE grants_old RENAME TO grants;
CREATE INDEX grants_user_idx ON grants (user_id, granted_at);
CREATE INDEX grants_expiry_idx ON grants (status, expires_at);
CREATE INDEX grants_page_idx ON grants (granted_at, id);
