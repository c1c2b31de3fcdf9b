-- What an identity provider pushed of a user beyond the directory's own fields: its `userName`, which need not be
-- the email, and the optional attributes of the SCIM document it last sent (name, displayName, emails, active), so
-- that what it writes reads back as written, removals included. The directory's fields stay the truth: where an
-- admin changed them since, SCIM shows the directory's values. Users without a row show their email as userName.
CREATE TABLE scim_users (
    user_id       TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_name     TEXT NOT NULL,
    -- userName is unique ignoring case (RFC 7643 §4.1.1: caseExact false): the lower-cased name.
    user_name_key TEXT NOT NULL,
    -- JSON: the attributes above as last pushed.
    attributes    TEXT NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX scim_users_user_name_key ON scim_users (user_name_key);
