-- Access requests and what follows from them: comments, grants (with their memberships) and
-- device-admin sessions, plus idempotency keys for request creation.
-- A request keeps its flow's id, name and version as they were (no foreign key): the audit trail
-- outlives a deleted flow. What lists never filter on (flow version, requirement, duration, device,
-- steps, outcome, error, resubmission link) is one JSON `detail` validated by the domain;
-- request_approvers indexes who may act on which request.

CREATE TABLE access_requests (
    id                   TEXT PRIMARY KEY NOT NULL,
    flow_id              TEXT NOT NULL,
    flow_name            TEXT NOT NULL,
    kind                 TEXT NOT NULL CHECK (kind IN ('resource_request', 'device_admin')),
    approval_type        TEXT NOT NULL CHECK (approval_type IN ('automatic', 'manual')),
    requester_id         TEXT NOT NULL REFERENCES users (id),
    status               TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'canceled', 'expired', 'error')),
    reason               TEXT NOT NULL,
    detail               TEXT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    decided_at           TIMESTAMP,
    decided_by           TEXT,
    expires_at           TIMESTAMP,
    version              BIGINT NOT NULL,
    -- 'requester:flow' while pending or in error, NULL otherwise: one open request per requester and flow.
    open_key             TEXT
);
CREATE UNIQUE INDEX access_requests_open_key ON access_requests (open_key);
CREATE INDEX access_requests_requester_idx ON access_requests (requester_id, created_at);
CREATE INDEX access_requests_status_idx ON access_requests (status, created_at);
CREATE INDEX access_requests_flow_idx ON access_requests (flow_id, status);
CREATE INDEX access_requests_expiry_idx ON access_requests (status, expires_at);
CREATE INDEX access_requests_page_idx ON access_requests (created_at, id);

CREATE TABLE request_approvers (
    request_id TEXT NOT NULL REFERENCES access_requests (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    position   INTEGER NOT NULL,
    -- The step is active and this approver has not decided yet: the request is in their tasks.
    awaiting   BOOLEAN NOT NULL,
    PRIMARY KEY (request_id, user_id, position)
);
CREATE INDEX request_approvers_user_idx ON request_approvers (user_id, awaiting);

CREATE TABLE request_comments (
    id         TEXT PRIMARY KEY NOT NULL,
    request_id TEXT NOT NULL REFERENCES access_requests (id),
    author_id  TEXT NOT NULL REFERENCES users (id),
    body       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX request_comments_request_idx ON request_comments (request_id, created_at);

CREATE TABLE grants (
    id            TEXT PRIMARY KEY NOT NULL,
    -- One grant per request, whatever races happen.
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
CREATE INDEX grants_user_idx ON grants (user_id, granted_at);
CREATE INDEX grants_expiry_idx ON grants (status, expires_at);
CREATE INDEX grants_page_idx ON grants (granted_at, id);

CREATE TABLE device_admin_sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    -- One session per approved request.
    request_id TEXT NOT NULL UNIQUE REFERENCES access_requests (id),
    device_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    started_at TIMESTAMP NOT NULL,
    ends_at    TIMESTAMP NOT NULL,
    ended_at   TIMESTAMP,
    ended_by   TEXT
);
CREATE INDEX device_admin_sessions_open_idx ON device_admin_sessions (ended_at, ends_at);
CREATE INDEX device_admin_sessions_page_idx ON device_admin_sessions (started_at, id);

CREATE TABLE idempotency_keys (
    principal_id TEXT NOT NULL,
    key          TEXT NOT NULL,
    body_hash    TEXT NOT NULL,
    request_id   TEXT NOT NULL REFERENCES access_requests (id),
    created_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (principal_id, key)
);
