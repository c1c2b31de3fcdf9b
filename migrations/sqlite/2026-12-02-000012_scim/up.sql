-- Directory sync (SCIM 2.0): the identity providers' bearer tokens, groups' external ids, and memberships
-- an identity provider pushes (source `scim`), which never replace an admin's (`direct`) or a grant's.

CREATE TABLE scim_tokens (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    -- SHA-256 of the token, hex: the token itself is shown once and never stored.
    token_hash   TEXT NOT NULL,
    created_by   TEXT REFERENCES users (id),
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);
CREATE UNIQUE INDEX scim_tokens_hash_key ON scim_tokens (token_hash);
CREATE INDEX scim_tokens_page_idx ON scim_tokens (created_at, id);

-- A manager an identity provider named before it pushed them (by SCIM id or externalId): set when they arrive.
CREATE TABLE scim_pending_managers (
    user_id    TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reference  TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX scim_pending_managers_reference_idx ON scim_pending_managers (reference);

-- Users an identity provider deleted: deactivated and kept (their history stays), gone from SCIM.
CREATE TABLE scim_deleted_users (
    user_id    TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    deleted_at TIMESTAMP NOT NULL
);

ALTER TABLE user_groups ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX user_groups_external_id_key ON user_groups (external_id) WHERE external_id IS NOT NULL;

-- SQLite cannot change a CHECK constraint: the table is copied into one with the new rule.
CREATE TABLE memberships_new (
    id         TEXT PRIMARY KEY NOT NULL,
    group_id   TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id),
    source     TEXT NOT NULL CHECK (source IN ('direct', 'grant', 'scim')),
    expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO memberships_new (id, group_id, user_id, source, expires_at, created_at)
    SELECT id, group_id, user_id, source, expires_at, created_at FROM memberships;
DROP TABLE memberships;
ALTER TABLE memberships_new RENAME TO memberships;
CREATE UNIQUE INDEX memberships_direct_key ON memberships (group_id, user_id) WHERE source = 'direct';
CREATE UNIQUE INDEX memberships_scim_key ON memberships (group_id, user_id) WHERE source = 'scim';
CREATE INDEX memberships_group_page_idx ON memberships (group_id, created_at, id);
CREATE INDEX memberships_user_idx ON memberships (user_id);
