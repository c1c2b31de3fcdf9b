DELETE FROM memberships WHERE source = 'scim';
DROP INDEX memberships_scim_key;
ALTER TABLE memberships DROP CONSTRAINT memberships_source_check;
ALTER TABLE memberships ADD CONSTRAINT memberships_source_check CHECK (source IN ('direct', 'grant'));
DROP INDEX user_groups_external_id_key;
ALTER TABLE user_groups DROP COLUMN external_id;
DROP TABLE scim_pending_managers;
DROP TABLE scim_deleted_users;
DROP TABLE scim_tokens;
