DELETE FROM request_task_assignees WHERE task_type = 'review';
DELETE FROM request_tasks WHERE task_type = 'review';
ALTER TABLE request_tasks DROP COLUMN outcome;
ALTER TABLE request_tasks DROP CONSTRAINT request_tasks_task_type_check;
ALTER TABLE request_tasks ADD CONSTRAINT request_tasks_task_type_check
    CHECK (task_type IN ('provisioning', 'assignment', 'deprovisioning'));
