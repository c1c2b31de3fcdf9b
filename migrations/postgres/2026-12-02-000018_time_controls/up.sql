-- Issue 27's extensions: how many approved extensions moved a grant's end and by how much in all (the flow's
-- `extensions` limits count them). An extension request names its grant in its detail (JSON).
ALTER TABLE grants ADD COLUMN extension_count BIGINT NOT NULL DEFAULT 0 CHECK (extension_count >= 0);
ALTER TABLE grants ADD COLUMN extended_seconds BIGINT NOT NULL DEFAULT 0 CHECK (extended_seconds >= 0);
