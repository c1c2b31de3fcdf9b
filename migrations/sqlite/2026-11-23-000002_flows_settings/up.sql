-- Approval flows, their references to groups and users, and the organisation's settings.
-- A flow's full definition is JSON text (the domain validates it); the columns beside it are what
-- lists filter and sort on. Reference tables give the database the foreign keys: a group a flow uses
-- cannot be deleted, and a user a flow names is deactivated rather than deleted.

CREATE TABLE approval_flows (
    id            TEXT PRIMARY KEY NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('resource_request', 'device_admin')),
    name          TEXT NOT NULL,
    description   TEXT NOT NULL,
    enabled       BOOLEAN NOT NULL,
    approval_type TEXT NOT NULL CHECK (approval_type IN ('automatic', 'manual')),
    definition    TEXT NOT NULL,
    version       BIGINT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX approval_flows_page_idx ON approval_flows (created_at, id);

CREATE TABLE flow_groups (
    flow_id  TEXT NOT NULL REFERENCES approval_flows (id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES user_groups (id),
    role     TEXT NOT NULL CHECK (role IN ('visibility', 'target', 'approver')),
    PRIMARY KEY (flow_id, group_id, role)
);
CREATE INDEX flow_groups_group_idx ON flow_groups (group_id, role);

CREATE TABLE flow_users (
    flow_id TEXT NOT NULL REFERENCES approval_flows (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id),
    role    TEXT NOT NULL CHECK (role IN ('owner', 'approver')),
    PRIMARY KEY (flow_id, user_id, role)
);
CREATE INDEX flow_users_user_idx ON flow_users (user_id);

-- Exactly one row.
CREATE TABLE settings (
    id                          INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    resource_requests_enabled   BOOLEAN NOT NULL,
    expiry_days                 BIGINT NOT NULL,
    show_approval_progress      BOOLEAN NOT NULL,
    email_request_received      BOOLEAN NOT NULL,
    email_decision              BOOLEAN NOT NULL,
    email_admin_new_request     BOOLEAN NOT NULL,
    max_access_duration_seconds BIGINT NOT NULL,
    version                     BIGINT NOT NULL,
    updated_at                  TIMESTAMP NOT NULL
);
INSERT INTO settings VALUES (1, TRUE, 30, TRUE, TRUE, TRUE, TRUE, 2592000, 1, strftime('%Y-%m-%d %H:%M:%f', 'now'));
