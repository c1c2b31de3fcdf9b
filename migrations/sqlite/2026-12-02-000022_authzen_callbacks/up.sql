-- Issue 28, ARAP callbacks: what a submission's `callback` asked for, as JSON (`endpoint`, `state`,
-- `events`, and the task's `status_endpoint` the notification names); NULL: the PEP polls.
ALTER TABLE authzen_tasks ADD COLUMN callback TEXT;

-- The outbox takes callback entries. SQLite cannot change a CHECK: the table is rebuilt, with its
-- attempts (whose foreign key follows the renamed table).
CREATE TABLE outbox_new (
    id               TEXT PRIMARY KEY NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('webhook', 'email', 'slack', 'callback')),
    channel_id       TEXT REFERENCES webhook_channels (id) ON DELETE CASCADE,
    event_id         TEXT,
    topic            TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'skipped')),
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMP NOT NULL,
    claim_token      TEXT,
    last_status_code INTEGER,
    last_latency_ms  BIGINT,
    last_error       TEXT,
    created_at       TIMESTAMP NOT NULL,
    delivered_at     TIMESTAMP
);
INSERT INTO outbox_new SELECT id, kind, channel_id, event_id, topic, payload, status, attempts, next_attempt_at,
    claim_token, last_status_code, last_latency_ms, last_error, created_at, delivered_at FROM outbox;
CREATE TABLE delivery_attempts_new (
    id           TEXT PRIMARY KEY NOT NULL,
    outbox_id    TEXT NOT NULL REFERENCES outbox_new (id) ON DELETE CASCADE,
    attempted_at TIMESTAMP NOT NULL,
    status_code  INTEGER,
    latency_ms   BIGINT NOT NULL,
    error        TEXT
);
INSERT INTO delivery_attempts_new SELECT id, outbox_id, attempted_at, status_code, latency_ms, error
    FROM delivery_attempts;
DROP TABLE delivery_attempts;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
ALTER TABLE delivery_attempts_new RENAME TO delivery_attempts;
CREATE INDEX outbox_due_idx ON outbox (status, next_attempt_at);
CREATE INDEX outbox_channel_idx ON outbox (channel_id, created_at, id);
CREATE INDEX outbox_kind_idx ON outbox (kind, created_at, id);
CREATE INDEX delivery_attempts_outbox_idx ON delivery_attempts (outbox_id, attempted_at);
