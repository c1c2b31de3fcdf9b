-- The admin queue's tabs: requests an administrator decides ('administrator') versus requests with
-- assigned approvers ('assigned'); automatic ones need nobody ('none').
ALTER TABLE access_requests ADD COLUMN approver_kind TEXT NOT NULL DEFAULT 'assigned'
    CHECK (approver_kind IN ('administrator', 'assigned', 'none'));
CREATE INDEX access_requests_queue_idx ON access_requests (approver_kind, status, created_at);
-- Newest-first pages with the id tie-break straight from the index.
DROP INDEX access_requests_status_idx;
CREATE INDEX access_requests_status_idx ON access_requests (status, created_at, id);
DROP INDEX access_requests_requester_idx;
CREATE INDEX access_requests_requester_idx ON access_requests (requester_id, created_at, id);
