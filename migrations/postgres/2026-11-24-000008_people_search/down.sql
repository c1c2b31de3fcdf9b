DROP INDEX users_name_trgm_idx;
DROP INDEX users_email_trgm_idx;
-- The extension stays: something else in the database may use it.
