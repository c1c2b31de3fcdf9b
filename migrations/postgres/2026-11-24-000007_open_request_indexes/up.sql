-- Only open requests (pending or failed: those with an open key) are looked up by their open key, by
-- their expiry and, to fail or cancel them with their flow, by their flow. Indexing only those keeps
-- the three indexes small, and the decision that closes a request drops its entries instead of
-- moving them to another place in each index.
DROP INDEX access_requests_open_key;
CREATE UNIQUE INDEX access_requests_open_key ON access_requests (open_key) WHERE open_key IS NOT NULL;
DROP INDEX access_requests_expiry_idx;
CREATE INDEX access_requests_expiry_idx ON access_requests (status, expires_at) WHERE open_key IS NOT NULL;
DROP INDEX access_requests_flow_idx;
CREATE INDEX access_requests_open_flow_idx ON access_requests (flow_id) WHERE open_key IS NOT NULL;
-- The queue filtered by flow, newest first, straight from the index (like the requester filter).
CREATE INDEX access_requests_flow_idx ON access_requests (flow_id, created_at, id);
