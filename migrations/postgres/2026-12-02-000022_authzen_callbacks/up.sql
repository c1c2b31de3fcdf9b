-- Issue 28, ARAP callbacks: what a submission's `callback` asked for, as JSON (`endpoint`, `state`,
-- `events`, and the task's `status_endpoint` the notification names); NULL: the PEP polls.
ALTER TABLE authzen_tasks ADD COLUMN callback TEXT;

-- The outbox takes callback entries.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('webhook', 'email', 'slack', 'callback'));
