-- Issue 29: the two link tables a create writes a row per person into (its approvers and everyone it names,
-- about a dozen rows per request) lose their foreign key to access_requests. Each row's key was checked against
-- the request it is written with (in the same statement or transaction; requests are never deleted, so the
-- cascade never ran), and each check was a query of its own at the statement's end that also locked the request
-- row (a WAL record each): about a tenth of the database's work in a create, measured.
-- SQLite keeps them: there a check is a lookup of the request's key in the same process, and dropping a
-- foreign key would mean copying both tables.
ALTER TABLE request_approvers DROP CONSTRAINT request_approvers_request_id_fkey;
ALTER TABLE request_people DROP CONSTRAINT request_people_request_id_fkey;
