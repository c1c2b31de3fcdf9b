-- Nothing to restore: the rows of closed requests were never read (the code that wrote them kept
-- `awaiting` false); a request's steps stay in its detail.
SELECT 1;
