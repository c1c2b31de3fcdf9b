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

ALTER TABLE memberships DROP CONSTRAINT memberships_source_check;
ALTER TABLE memberships ADD CONSTRAINT memberships_source_check CHECK (source IN ('direct', 'grant', 'scim'));
CREATE UNIQUE INDEX memberships_scim_key ON memberships (group_id, user_id) WHERE source = 'scim';
