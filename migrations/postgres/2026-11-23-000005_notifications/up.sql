-- Notifications: webhook channels, the transactional outbox (webhooks and emails written in the same
-- transaction as the change), each delivery attempt, and marks for notifications sent only once.

CREATE TABLE webhook_channels (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    url        TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL,
    -- JSON array of the event types the channel receives.
    events     TEXT NOT NULL,
    -- `whsec_` + base64 key; shown once when the channel is created, never returned again.
    secret     TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_channels_page_idx ON webhook_channels (created_at, id);

CREATE TABLE outbox (
    id               TEXT PRIMARY KEY NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('webhook', 'email')),
    channel_id       TEXT REFERENCES webhook_channels (id) ON DELETE CASCADE,
    event_id         TEXT,
    -- The event type for webhooks; the message (template) name for emails.
    topic            TEXT NOT NULL,
    -- Webhooks: the exact body sent. Emails: recipients, template and its data.
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'skipped')),
    attempts         INTEGER NOT NULL,
    -- When the entry is next due. A dispatcher claims an entry by moving this past its lease and
    -- setting claim_token; a dispatcher that dies leaves the entry due again when the lease ends.
    next_attempt_at  TIMESTAMP NOT NULL,
    claim_token      TEXT,
    last_status_code INTEGER,
    last_latency_ms  BIGINT,
    last_error       TEXT,
    created_at       TIMESTAMP NOT NULL,
    delivered_at     TIMESTAMP
);
CREATE INDEX outbox_due_idx ON outbox (status, next_attempt_at);
CREATE INDEX outbox_channel_idx ON outbox (channel_id, created_at, id);

CREATE TABLE delivery_attempts (
    id           TEXT PRIMARY KEY NOT NULL,
    outbox_id    TEXT NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    attempted_at TIMESTAMP NOT NULL,
    status_code  INTEGER,
    latency_ms   BIGINT NOT NULL,
    error        TEXT
);
CREATE INDEX delivery_attempts_outbox_idx ON delivery_attempts (outbox_id, attempted_at);

-- A notification sent at most once per subject (a reminder for a request, a step's approvers told).
CREATE TABLE notification_marks (
    subject_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (subject_id, kind)
);

ALTER TABLE settings ADD COLUMN approver_reminder_days BIGINT NOT NULL DEFAULT 3;
ALTER TABLE settings ADD COLUMN grant_ending_notice_hours BIGINT NOT NULL DEFAULT 24;
