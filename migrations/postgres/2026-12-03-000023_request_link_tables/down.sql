ALTER TABLE request_approvers ADD CONSTRAINT request_approvers_request_id_fkey
    FOREIGN KEY (request_id) REFERENCES access_requests (id) ON DELETE CASCADE;
ALTER TABLE request_people ADD CONSTRAINT request_people_request_id_fkey
    FOREIGN KEY (request_id) REFERENCES access_requests (id) ON DELETE CASCADE;
