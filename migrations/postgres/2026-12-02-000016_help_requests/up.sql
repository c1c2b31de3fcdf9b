-- Seed 003's managed devices: a device is managed when it presented its certificate (SHA-256 fingerprint, lower-case
-- hex); device-admin requests need a managed device. Both columns say the same thing, so they must agree.
ALTER TABLE devices ADD COLUMN managed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE devices ADD COLUMN certificate_fingerprint TEXT;
ALTER TABLE devices ADD CONSTRAINT devices_managed_has_fingerprint
    CHECK (managed = (certificate_fingerprint IS NOT NULL));
