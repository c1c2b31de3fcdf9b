-- Seed 003's managed devices: a device is managed when it presented its certificate (SHA-256 fingerprint, lower-case
-- hex); device-admin requests need a managed device. Both columns say the same thing, so they must agree.
ALTER TABLE devices ADD COLUMN managed BOOLEAN NOT NULL DEFAULT 0;
-- (SQLite adds no table constraint to an existing table: the column's CHECK says it.)
ALTER TABLE devices ADD COLUMN certificate_fingerprint TEXT
    CHECK (managed = (certificate_fingerprint IS NOT NULL));

-- Seed 004's "ask for help" from an app's card: a question about a flow for its App Admins (the flow's owners; the
-- administrators when it has none). A help request never grants access. Like a request, it keeps the flow's id and
-- name as they were (no foreign key).
CREATE TABLE help_requests (
    id          TEXT PRIMARY KEY NOT NULL,
    flow_id     TEXT NOT NULL,
    flow_name   TEXT NOT NULL,
    asker_id    TEXT NOT NULL REFERENCES users (id),
    message     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
    created_at  TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    resolved_by TEXT REFERENCES users (id),
    version     BIGINT NOT NULL
);
CREATE INDEX help_requests_asker_idx ON help_requests (asker_id, created_at, id);
CREATE INDEX help_requests_page_idx ON help_requests (created_at, id);

-- Who is asked: one row per answerer, with the request's state and creation copied so that "open help requests
-- waiting on user X, by (since, id)" reads one index.
CREATE TABLE help_request_answerers (
    help_request_id TEXT NOT NULL REFERENCES help_requests (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL REFERENCES users (id),
    open            BOOLEAN NOT NULL,
    since           TIMESTAMP NOT NULL,
    PRIMARY KEY (help_request_id, user_id)
);
CREATE INDEX help_request_answerers_waiting_idx ON help_request_answerers (user_id, open, since, help_request_id);

CREATE TABLE help_request_comments (
    id              TEXT PRIMARY KEY NOT NULL,
    help_request_id TEXT NOT NULL REFERENCES help_requests (id) ON DELETE CASCADE,
    author_id       TEXT NOT NULL REFERENCES users (id),
    body            TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX help_request_comments_request_idx ON help_request_comments (help_request_id, created_at, id);
