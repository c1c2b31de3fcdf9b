-- The admin queue's tabs: requests an administrator decides ('administrator') versus requests with
-- assigned approvers ('assigned'); automatic ones need nobody ('none').
ALTER TABLE access_requests ADD COLUMN approver_kind TEXT NOT NULL DEFAULT 'assigned'
    CHECK (approver_kind IN ('administrator', 'assigned', 'none'));
CREATE INDEX access_requests_queue_idx ON access_requests (approver_kind, status, created_at);
