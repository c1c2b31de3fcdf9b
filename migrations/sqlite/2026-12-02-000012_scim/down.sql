DELETE FROM memberships WHERE source = 'scim';
DROP INDEX memberships_scim_key;
DROP INDEX user_groups_external_id_key;
ALTER TABLE user_groups DROP COLUMN external_id;
DROP TABLE scim_pending_managers;
DROP TABLE scim_deleted_users;
DROP TABLE scim_tokens;
