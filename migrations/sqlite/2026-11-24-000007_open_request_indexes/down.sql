DROP INDEX access_requests_flow_idx;
DROP INDEX access_requests_open_flow_idx;
CREATE INDEX access_requests_flow_idx ON access_requests (flow_id, status);
DROP INDEX access_requests_expiry_idx;
CREATE INDEX access_requests_expiry_idx ON access_requests (status, expires_at);
DROP INDEX access_requests_open_key;
CREATE UNIQUE INDEX access_requests_open_key ON access_requests (open_key);
