-- The directory (users, groups, memberships, devices) and the audit log.
-- Ids are UUID v7 text; timestamps are UTC with microseconds; enums are text with a CHECK.
-- Foreign keys to users are RESTRICT on purpose: a user who is referenced anywhere is
-- deactivated rather than deleted, and the database is what tells us they are referenced.

CREATE TABLE users (
    id           TEXT PRIMARY KEY NOT NULL,
    email        TEXT NOT NULL,
    display_name TEXT NOT NULL,
    manager_id   TEXT REFERENCES users (id),
    is_admin     BOOLEAN NOT NULL DEFAULT FALSE,
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    kind         TEXT NOT NULL CHECK (kind IN ('person', 'integration')),
    external_id  TEXT,
    version      BIGINT NOT NULL DEFAULT 1,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE UNIQUE INDEX users_external_id_key ON users (external_id) WHERE external_id IS NOT NULL;
CREATE INDEX users_manager_id_idx ON users (manager_id);
CREATE INDEX users_page_idx ON users (created_at, id);

CREATE TABLE user_groups (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    version     BIGINT NOT NULL DEFAULT 1,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX user_groups_name_key ON user_groups (name);
CREATE INDEX user_groups_page_idx ON user_groups (created_at, id);

CREATE TABLE memberships (
    id         TEXT PRIMARY KEY NOT NULL,
    group_id   TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id),
    source     TEXT NOT NULL CHECK (source IN ('direct', 'grant')),
    expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
-- An admin adds a person to a group once; grants may add further, independent memberships.
CREATE UNIQUE INDEX memberships_direct_key ON memberships (group_id, user_id) WHERE source = 'direct';
CREATE INDEX memberships_group_page_idx ON memberships (group_id, created_at, id);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE devices (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    os         TEXT NOT NULL CHECK (os IN ('windows', 'macos', 'linux')),
    version    BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX devices_page_idx ON devices (created_at, id);

CREATE TABLE device_assignments (
    device_id  TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (device_id, user_id)
);
CREATE INDEX device_assignments_user_idx ON device_assignments (user_id);

-- The audit log. Actors and subjects are plain ids (no foreign keys): history outlives what it describes.
CREATE TABLE events (
    id           TEXT PRIMARY KEY NOT NULL,
    event_type   TEXT NOT NULL,
    occurred_at  TIMESTAMP NOT NULL,
    actor_id     TEXT,
    subject_type TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    data         TEXT NOT NULL
);
CREATE INDEX events_page_idx ON events (occurred_at, id);
CREATE INDEX events_subject_idx ON events (subject_id, occurred_at);
CREATE INDEX events_type_idx ON events (event_type, occurred_at);
