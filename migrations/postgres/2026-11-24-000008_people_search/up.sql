-- Finding people by part of their name or email (the queue's requester and free-text filters:
-- `email LIKE '%…%' OR lower(display_name) LIKE '%…%'`) reads trigram indexes instead of every user
-- (0.4 ms instead of 3.4 ms with 10,000 people). pg_trgm ships with PostgreSQL (contrib) and is a
-- trusted extension: the database's owner may create it. SQLite keeps scanning its (in-process) table.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_email_trgm_idx ON users USING gin (email gin_trgm_ops);
CREATE INDEX users_name_trgm_idx ON users USING gin (lower(display_name) gin_trgm_ops);
