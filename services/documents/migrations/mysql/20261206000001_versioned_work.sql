-- contract: tasks.document_id and events.document_id as NOT NULL (a request may name no document yet; a previous release cannot read such a task), unused since 2026-12-01
-- Work that knows its version (ADR 0050). Tasks gain a kind, the version they
-- are pinned to and an approval's decision; a request may name no document
-- yet, so tasks.document_id (and events.document_id) become nullable.
ALTER TABLE tasks
    MODIFY document_id CHAR(36) NULL,
    ADD COLUMN kind VARCHAR(16) NOT NULL DEFAULT 'todo',
    ADD COLUMN version BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN decision VARCHAR(16) NULL,
    ADD COLUMN decided_by CHAR(36) NULL,
    ADD COLUMN decided_at BIGINT NULL,
    -- bumped to serialise changes to a request that names no document yet
    ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
-- Existing tasks are about their document as it is now.
UPDATE tasks k JOIN documents d ON d.id = k.document_id SET k.version = d.current_version;

ALTER TABLE events
    MODIFY document_id CHAR(36) NULL,
    ADD COLUMN from_version BIGINT NULL,
    ADD KEY events_task (task_id, sequence);

-- A label keeps a version from retention; a restored version names its source.
ALTER TABLE versions
    ADD COLUMN label VARCHAR(40) NULL,
    ADD COLUMN restored_from BIGINT NULL,
    ADD KEY versions_blob (blob_key);

CREATE TABLE task_comments (
    id CHAR(36) NOT NULL PRIMARY KEY,
    task_id CHAR(36) NOT NULL,
    org_id CHAR(36) NOT NULL,
    author_id CHAR(36) NOT NULL,
    body VARCHAR(4000) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    KEY task_comments_task (task_id, created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
