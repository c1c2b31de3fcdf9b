-- Seed 003's managed devices: a device is managed when it presented its certificate (SHA-256 fingerprint, lower-case
-- hex); device-admin requests need a managed device. Both columns say the same thing, so they must agree.
ALTER TABLE devices ADD COLUMN managed BOOLEAN NOT NULL DEFAULT 0;
-- (SQLite adds no table constraint to an existing table: the column's CHECK says it.)
ALTER TABLE devices ADD COLUMN certificate_fingerprint TEXT
    CHECK (managed = (certificate_fingerprint IS NOT NULL));
