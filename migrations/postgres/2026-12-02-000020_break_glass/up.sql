-- Issue 27's break-glass flows: a request made through one says so in its detail (JSON); its review by an
-- administrator is a task of type 'review' in request_tasks, which records what the review decided ('confirm'
-- or 'revoke').
ALTER TABLE request_tasks DROP CONSTRAINT request_tasks_task_type_check;
ALTER TABLE request_tasks ADD CONSTRAINT request_tasks_task_type_check
    CHECK (task_type IN ('provisioning', 'assignment', 'deprovisioning', 'review'));
ALTER TABLE request_tasks ADD COLUMN outcome TEXT CHECK (outcome IN ('confirm', 'revoke'));
