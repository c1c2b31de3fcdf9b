DELETE FROM request_task_assignees WHERE task_type = 'review';
CREATE TABLE request_tasks_old (
    request_id   TEXT NOT NULL REFERENCES access_requests (id) ON DELETE CASCADE,
    task_type    TEXT NOT NULL CHECK (task_type IN ('provisioning', 'assignment', 'deprovisioning')),
    position     INTEGER NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('waiting', 'open', 'done', 'canceled')),
    assignee_ids TEXT NOT NULL,
    opened_at    TIMESTAMP,
    completed_by TEXT,
    completed_at TIMESTAMP,
    note         TEXT,
    PRIMARY KEY (request_id, task_type)
);
INSERT INTO request_tasks_old (request_id, task_type, position, state, assignee_ids, opened_at, completed_by,
                               completed_at, note)
    SELECT request_id, task_type, position, state, assignee_ids, opened_at, completed_by, completed_at, note
    FROM request_tasks WHERE task_type <> 'review';
DROP TABLE request_tasks;
ALTER TABLE request_tasks_old RENAME TO request_tasks;
