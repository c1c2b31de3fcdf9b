DROP TABLE help_request_comments;
DROP TABLE help_request_answerers;
DROP TABLE help_requests;
ALTER TABLE devices DROP CONSTRAINT devices_managed_has_fingerprint;
ALTER TABLE devices DROP COLUMN certificate_fingerprint;
ALTER TABLE devices DROP COLUMN managed;
