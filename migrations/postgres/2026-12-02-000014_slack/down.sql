DROP INDEX outbox_kind_idx;
DELETE FROM outbox WHERE kind = 'slack';
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('webhook', 'email'));
DROP TABLE slack_interactions;
DROP TABLE slack_users;
DROP TABLE slack_messages;
DROP TABLE slack_connection;
