-- The outbox keeps accepting 'slack' entries' kind after a rollback (SQLite would need a rebuild); they are removed.
DROP INDEX outbox_kind_idx;
DELETE FROM outbox WHERE kind = 'slack';
DROP TABLE slack_interactions;
DROP TABLE slack_users;
DROP TABLE slack_messages;
DROP TABLE slack_connection;
