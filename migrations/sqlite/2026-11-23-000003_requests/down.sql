DROP TABLE idempotency_keys;
DROP TABLE device_admin_sessions;
DROP TABLE grants;
DROP TABLE request_comments;
DROP TABLE request_approvers;
DROP TABLE access_requests;
