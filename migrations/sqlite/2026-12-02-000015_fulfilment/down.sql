DROP TABLE request_people;
DROP TABLE request_task_assignees;
DROP TABLE request_tasks;
