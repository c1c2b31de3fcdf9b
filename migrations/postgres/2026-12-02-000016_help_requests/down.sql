ALTER TABLE devices DROP CONSTRAINT devices_managed_has_fingerprint;
ALTER TABLE devices DROP COLUMN certificate_fingerprint;
ALTER TABLE devices DROP COLUMN managed;
