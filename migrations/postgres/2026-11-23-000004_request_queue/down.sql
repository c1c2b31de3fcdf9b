DROP INDEX access_requests_queue_idx;
ALTER TABLE access_requests DROP COLUMN approver_kind;
