-- A number per organisation that every committed change of its documents,
-- versions, tasks or comments raises, as the last statement of the change's
-- transaction: a caller that cached a page validates it with one primary-key
-- read (docs/adr/0081).
CREATE TABLE library_revisions (
    org_id TEXT NOT NULL PRIMARY KEY,
    revision INTEGER NOT NULL
);
