-- A number per organisation that every committed change of its documents,
-- versions, tasks or comments raises, as the last statement of the change's
-- transaction: a caller that cached a page validates it with one primary-key
-- read (docs/adr/0081). The event sequence cannot serve: auto-increment
-- values are taken in one order and committed in another.
CREATE TABLE library_revisions (
    org_id CHAR(36) NOT NULL PRIMARY KEY,
    revision BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
