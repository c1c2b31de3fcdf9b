DROP INDEX request_approvers_later_idx;
DROP INDEX request_approvers_tasks_idx;
CREATE INDEX request_approvers_tasks_idx ON request_approvers (user_id, awaiting, created_at, request_id);
