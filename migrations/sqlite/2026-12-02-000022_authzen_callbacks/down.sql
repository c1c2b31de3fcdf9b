DELETE FROM outbox WHERE kind = 'callback';
ALTER TABLE authzen_tasks DROP COLUMN callback;
