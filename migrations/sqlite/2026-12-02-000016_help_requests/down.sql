ALTER TABLE devices DROP COLUMN certificate_fingerprint;
ALTER TABLE devices DROP COLUMN managed;
