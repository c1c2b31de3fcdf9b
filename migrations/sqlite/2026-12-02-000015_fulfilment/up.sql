-- Fulfilment (seed 004): what follows the approval of a resource request whose flow has one. The request keeps
-- its decision; its ticket stays open (it keeps its open_key, the one-open-request rule's place) while a task is
-- to do, and its detail says it has tasks. Its tasks are rows of request_tasks, written with the request by the
-- one save; request_task_assignees holds the assignees of open tasks only (like request_approvers for pending
-- requests), so "tasks waiting on user X" reads one index range.

CREATE TABLE request_tasks (
    request_id   TEXT NOT NULL REFERENCES access_requests (id) ON DELETE CASCADE,
    task_type    TEXT NOT NULL CHECK (task_type IN ('provisioning', 'assignment', 'deprovisioning')),
    -- The order the tasks happen in.
    position     INTEGER NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('waiting', 'open', 'done', 'canceled')),
    -- JSON array of user ids.
    assignee_ids TEXT NOT NULL,
    opened_at    TIMESTAMP,
    completed_by TEXT,
    completed_at TIMESTAMP,
    note         TEXT,
    PRIMARY KEY (request_id, task_type)
);

CREATE TABLE request_task_assignees (
    request_id TEXT NOT NULL REFERENCES access_requests (id) ON DELETE CASCADE,
    task_type  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    -- When the task opened: since when it waits on this user.
    since      TIMESTAMP NOT NULL,
    PRIMARY KEY (request_id, task_type, user_id)
);
CREATE INDEX request_task_assignees_user_idx ON request_task_assignees (user_id, since, request_id);
CREATE INDEX request_task_assignees_type_idx ON request_task_assignees (user_id, task_type, since, request_id);

-- Everyone a request's steps or tasks ever named (approvers, reassignment targets, assignees), kept after the
-- request closes: the Manage Requests views (seed 004) list an App Approver's tickets from it, open and closed.
CREATE TABLE request_people (
    user_id    TEXT NOT NULL,
    request_id TEXT NOT NULL REFERENCES access_requests (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, request_id)
);
-- Requests made before: everyone their steps name (approvers, and whoever decided), from the stored steps.
INSERT INTO request_people (user_id, request_id)
SELECT DISTINCT person.value, r.id
FROM access_requests r, json_each(r.detail, '$.steps') step, json_each(step.value, '$.approver_ids') person
UNION
SELECT DISTINCT json_extract(decision.value, '$.approver_id'), r.id
FROM access_requests r, json_each(r.detail, '$.steps') step, json_each(step.value, '$.decisions') decision;
