DROP INDEX device_admin_sessions_user_device_idx;
DROP INDEX memberships_user_group_idx;
DROP TABLE authzen_tasks;
DROP TABLE authzen_signing_keys;
