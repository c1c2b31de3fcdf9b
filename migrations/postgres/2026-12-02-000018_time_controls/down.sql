ALTER TABLE grants DROP COLUMN extended_seconds;
ALTER TABLE grants DROP COLUMN extension_count;
