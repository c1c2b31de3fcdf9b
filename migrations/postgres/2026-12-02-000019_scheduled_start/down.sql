DROP INDEX grants_activation_idx;
DROP INDEX grants_start_idx;
-- Grants that never started have no membership: they end as revoked.
UPDATE grants SET status = 'revoked', ended_at = CURRENT_TIMESTAMP, version = version + 1
WHERE status IN ('scheduled', 'awaiting_activation');
ALTER TABLE grants DROP CONSTRAINT grants_status_check;
ALTER TABLE grants ADD CONSTRAINT grants_status_check CHECK (status IN ('active', 'expired', 'revoked'));
ALTER TABLE grants DROP COLUMN duration_seconds;
ALTER TABLE grants DROP COLUMN activate_by;
ALTER TABLE grants DROP COLUMN starts_at;
