DROP INDEX request_approvers_tasks_idx;
CREATE INDEX request_approvers_user_idx ON request_approvers (user_id, awaiting);
ALTER TABLE request_approvers DROP COLUMN created_at;
