-- Issue 27's break-glass flows: a request made through one says so in its detail (JSON); its review by an
-- administrator is a task of type 'review' in request_tasks, which records what the review decided ('confirm'
-- or 'revoke').
-- SQLite cannot change a CHECK constraint: the table is copied into one with the new rule and column.
CREATE TABLE request_tasks_new (
    request_id   TEXT NOT NULL REFERENCES access_requests (id) ON DELETE CASCADE,
    task_type    TEXT NOT NULL CHECK (task_type IN ('provisioning', 'assignment', 'deprovisioning', 'review')),
    -- The order the tasks happen in.
    position     INTEGER NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('waiting', 'open', 'done', 'canceled')),
    -- JSON array of user ids.
    assignee_ids TEXT NOT NULL,
    opened_at    TIMESTAMP,
    completed_by TEXT,
    completed_at TIMESTAMP,
    note         TEXT,
    outcome      TEXT CHECK (outcome IN ('confirm', 'revoke')),
    PRIMARY KEY (request_id, task_type)
);
INSERT INTO request_tasks_new (request_id, task_type, position, state, assignee_ids, opened_at, completed_by,
                               completed_at, note)
    SELECT request_id, task_type, position, state, assignee_ids, opened_at, completed_by, completed_at, note
    FROM request_tasks;
DROP TABLE request_tasks;
ALTER TABLE request_tasks_new RENAME TO request_tasks;
