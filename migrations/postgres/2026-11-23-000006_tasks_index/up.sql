-- "My tasks" straight from one index: request_approvers carries its request's creation time, and
-- `awaiting` is set on one row per request and approver, so a page of tasks is an index range.
ALTER TABLE request_approvers ADD COLUMN created_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
UPDATE request_approvers SET created_at = (
    SELECT access_requests.created_at FROM access_requests WHERE access_requests.id = request_approvers.request_id
);
DROP INDEX request_approvers_user_idx;
CREATE INDEX request_approvers_tasks_idx ON request_approvers (user_id, awaiting, created_at, request_id);
