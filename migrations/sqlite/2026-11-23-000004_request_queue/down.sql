DROP INDEX access_requests_queue_idx;
DROP INDEX access_requests_status_idx;
CREATE INDEX access_requests_status_idx ON access_requests (status, created_at);
DROP INDEX access_requests_requester_idx;
CREATE INDEX access_requests_requester_idx ON access_requests (requester_id, created_at);
ALTER TABLE access_requests DROP COLUMN approver_kind;
