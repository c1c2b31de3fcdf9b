-- Issue 27's scheduled start and activation. A grant approved for later is `scheduled` (no membership until
-- `starts_at`, when the jobs start it) or `awaiting_activation` (its holder starts it before `activate_by`, or
-- the jobs end it `expired`); its clock runs from the start, so it keeps its `duration_seconds`.
ALTER TABLE grants ADD COLUMN starts_at TIMESTAMP;
ALTER TABLE grants ADD COLUMN activate_by TIMESTAMP;
ALTER TABLE grants ADD COLUMN duration_seconds BIGINT CHECK (duration_seconds > 0);
ALTER TABLE grants DROP CONSTRAINT grants_status_check;
ALTER TABLE grants ADD CONSTRAINT grants_status_check
    CHECK (status IN ('scheduled', 'awaiting_activation', 'active', 'expired', 'revoked'));
-- The jobs' "scheduled grants due to start" and "activation windows that closed".
CREATE INDEX grants_start_idx ON grants (status, starts_at);
CREATE INDEX grants_activation_idx ON grants (status, activate_by);
