-- Slack approvals (seed 003): the connection, posted messages, who Slack knows, interactions seen,
-- and the outbox's third kind of entry.

-- The Slack connection: one row when configured. The bot token and the signing secret are write-only
-- (never returned), kept as webhook channel secrets are.
CREATE TABLE slack_connection (
    id                  INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    bot_token           TEXT NOT NULL,
    signing_secret      TEXT NOT NULL,
    -- JSON array of channel ids used by flows in channel mode that name none.
    default_channel_ids TEXT NOT NULL,
    notify_requester    BOOLEAN NOT NULL,
    team_name           TEXT,
    verified_at         TIMESTAMP,
    verification_error  TEXT,
    version             BIGINT NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);

-- Every message posted for a request, so that each is updated when the request is decided.
CREATE TABLE slack_messages (
    id           TEXT PRIMARY KEY NOT NULL,
    request_id   TEXT NOT NULL REFERENCES access_requests (id) ON DELETE CASCADE,
    -- The approver a direct message asks; NULL for a channel post.
    recipient_id TEXT,
    channel      TEXT NOT NULL,
    ts           TEXT NOT NULL,
    -- Whether its buttons were replaced by the outcome.
    closed       BOOLEAN NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX slack_messages_request_idx ON slack_messages (request_id, created_at);

-- Who Slack knows, by the user's email (users.lookupByEmail): a NULL slack_user_id is a person Slack
-- does not know, recorded so that they are skipped rather than looked up again and again.
CREATE TABLE slack_users (
    user_id       TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email         TEXT NOT NULL,
    slack_user_id TEXT,
    looked_up_at  TIMESTAMP NOT NULL
);
CREATE INDEX slack_users_slack_idx ON slack_users (slack_user_id);

-- Interactions received, by the id of the action: Slack retries, and a retry decides nothing again.
CREATE TABLE slack_interactions (
    id          TEXT PRIMARY KEY NOT NULL,
    received_at TIMESTAMP NOT NULL
);

ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('webhook', 'email', 'slack'));
CREATE INDEX outbox_kind_idx ON outbox (kind, created_at, id);
