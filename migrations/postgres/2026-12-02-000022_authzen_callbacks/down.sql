DELETE FROM outbox WHERE kind = 'callback';
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('webhook', 'email', 'slack'));
ALTER TABLE authzen_tasks DROP COLUMN callback;
