DROP INDEX grants_activation_idx;
DROP INDEX grants_start_idx;
DELETE FROM grants WHERE status = 'scheduled';
ALTER TABLE grants DROP CONSTRAINT grants_status_check;
ALTER TABLE grants ADD CONSTRAINT grants_status_check CHECK (status IN ('active', 'expired', 'revoked'));
ALTER TABLE grants DROP COLUMN activate_by;
ALTER TABLE grants DROP COLUMN starts_at;
ALTER TABLE grants DROP COLUMN extended_seconds;
ALTER TABLE grants DROP COLUMN extension_count;
