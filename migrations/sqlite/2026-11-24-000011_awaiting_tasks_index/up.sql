-- A create adds a row per approver of every step, but only the first step's approvers await. In
-- request_approvers_tasks_idx (user_id, awaiting, created_at, request_id) the others went to the end of
-- each approver's part of the index: a page in the middle of the b-tree, which SQLite splits by
-- spreading it over its siblings, leaving them full, so with the same approvers on every create nearly
-- every commit rewrote three leaves and their parent per approver (39 of a commit's ~100 WAL pages in
-- the benchmark's creates). The tasks index now holds the awaiting rows only, all that "my tasks" reads.
-- The other rows (approvers of later steps, and approvers who already decided on a pending request) are
-- indexed by creation time, so new ones are appended at the index's end; the requests a deactivated
-- approver leaves behind are found through both (the second read whole: it holds only those rows).
DROP INDEX request_approvers_tasks_idx;
CREATE INDEX request_approvers_tasks_idx ON request_approvers (user_id, created_at, request_id) WHERE awaiting;
CREATE INDEX request_approvers_later_idx ON request_approvers (created_at, user_id, request_id) WHERE NOT awaiting;
