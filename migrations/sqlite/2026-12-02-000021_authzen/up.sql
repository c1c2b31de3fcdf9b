-- Issue 28, AuthZEN. Portcullis's own key for the binding tokens of requestable denials (Ed25519, a
-- 32-byte seed, base64url): made once by the first server that needs it, shared by every replica.
-- (Bearer tokens may be verified with a public key only, so Portcullis may hold no other secret.)
CREATE TABLE authzen_signing_keys (
    kid        TEXT PRIMARY KEY NOT NULL,
    seed       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- An access request submitted through AuthZEN's Access Request and Approval Profile: its opaque task
-- id, who submitted it for whom, what it asked for, the approval id its result gives, and the
-- denial it spent (`binding_jti`: a denial is submitted once).
CREATE TABLE authzen_tasks (
    id              TEXT PRIMARY KEY NOT NULL,
    request_id      TEXT NOT NULL UNIQUE REFERENCES access_requests (id),
    submitter_id    TEXT NOT NULL REFERENCES users (id),
    subject_id      TEXT NOT NULL REFERENCES users (id),
    resource_type   TEXT NOT NULL CHECK (resource_type IN ('group', 'device')),
    resource_id     TEXT NOT NULL,
    approval_id     TEXT NOT NULL UNIQUE,
    evaluation_id   TEXT NOT NULL,
    binding_jti     TEXT NOT NULL UNIQUE,
    idempotency_key TEXT,
    body_hash       TEXT,
    created_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX authzen_tasks_idempotency_key ON authzen_tasks (submitter_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- The evaluation's hot path: "is this user a member of this group now", "does this user hold a
-- session on this device now", each one index lookup.
CREATE INDEX memberships_user_group_idx ON memberships (user_id, group_id, expires_at);
CREATE INDEX device_admin_sessions_user_device_idx ON device_admin_sessions (user_id, device_id, ends_at);
