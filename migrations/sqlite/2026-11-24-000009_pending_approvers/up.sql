-- request_approvers now holds the approvers of pending requests only: they are all that is ever
-- looked up by approver (my tasks, the requests a deactivated approver leaves behind), and the
-- decision that closes a request deletes its rows rather than flipping `awaiting`, which moved each
-- approver's entry from one part of request_approvers_tasks_idx to another (two index pages written
-- per approver instead of one). The rows of requests already closed go.
DELETE FROM request_approvers
WHERE request_id IN (SELECT id FROM access_requests WHERE status <> 'pending');
