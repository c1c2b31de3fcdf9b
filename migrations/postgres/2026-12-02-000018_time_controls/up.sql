-- Issue 27's time controls on grants. Extensions: how many approved extensions moved a grant's end and by how much
-- in all (the flow's limits count them). Scheduled start and activation: a grant approved for later is `scheduled`
-- (no membership yet) until `starts_at` (the jobs start it) or until its holder activates it before `activate_by`;
-- its clock runs from the start.
ALTER TABLE grants ADD COLUMN extension_count BIGINT NOT NULL DEFAULT 0 CHECK (extension_count >= 0);
ALTER TABLE grants ADD COLUMN extended_seconds BIGINT NOT NULL DEFAULT 0 CHECK (extended_seconds >= 0);
ALTER TABLE grants ADD COLUMN starts_at TIMESTAMP;
ALTER TABLE grants ADD COLUMN activate_by TIMESTAMP;
ALTER TABLE grants DROP CONSTRAINT grants_status_check;
ALTER TABLE grants ADD CONSTRAINT grants_status_check
    CHECK (status IN ('scheduled', 'active', 'expired', 'revoked'));
-- The jobs' "scheduled grants due to start" and "activation windows that closed".
CREATE INDEX grants_start_idx ON grants (status, starts_at);
CREATE INDEX grants_activation_idx ON grants (status, activate_by);
