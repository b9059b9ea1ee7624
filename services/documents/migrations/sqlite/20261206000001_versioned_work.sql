-- contract: tasks.document_id and events.document_id as NOT NULL (a request may name no document yet; a previous release cannot read such a task), unused since 2026-12-01
-- Work that knows its version (ADR 0050). Tasks gain a kind, the version they
-- are pinned to and an approval's decision; a request may name no document
-- yet, so tasks.document_id (and events.document_id) become nullable, which
-- SQLite can only do by rebuilding the table. Nothing references either table.
CREATE TABLE tasks_v2 (
    id TEXT NOT NULL PRIMARY KEY,
    document_id TEXT NULL REFERENCES documents (id),
    org_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    assignee_id TEXT NULL,
    due_date TEXT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    completed_at INTEGER NULL,
    decision TEXT NULL,
    decided_by TEXT NULL,
    decided_at INTEGER NULL,
    -- bumped to serialise changes to a request that names no document yet
    revision INTEGER NOT NULL DEFAULT 0
);
-- Existing tasks are about their document as it is now.
INSERT INTO tasks_v2 (id, document_id, org_id, kind, version, title, description, status,
    assignee_id, due_date, created_by, created_at, updated_at, completed_at)
SELECT k.id, k.document_id, k.org_id, 'todo', d.current_version, k.title, k.description,
    k.status, k.assignee_id, k.due_date, k.created_by, k.created_at, k.updated_at,
    k.completed_at
FROM tasks k JOIN documents d ON d.id = k.document_id;
DROP TABLE tasks;
ALTER TABLE tasks_v2 RENAME TO tasks;
CREATE INDEX tasks_document ON tasks (document_id, status);
CREATE INDEX tasks_assignee ON tasks (org_id, assignee_id, status);

CREATE TABLE events_v2 (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    document_id TEXT NULL,
    version INTEGER NULL,
    task_id TEXT NULL,
    from_version INTEGER NULL,
    actor_id TEXT NOT NULL,
    at INTEGER NOT NULL
);
INSERT INTO events_v2 (sequence, org_id, kind, document_id, version, task_id, actor_id, at)
SELECT sequence, org_id, kind, document_id, version, task_id, actor_id, at FROM events;
DROP TABLE events;
ALTER TABLE events_v2 RENAME TO events;
CREATE INDEX events_org ON events (org_id, sequence);
CREATE INDEX events_task ON events (task_id, sequence);

-- A label keeps a version from retention; a restored version names its source.
ALTER TABLE versions ADD COLUMN label TEXT NULL;
ALTER TABLE versions ADD COLUMN restored_from INTEGER NULL;
CREATE INDEX versions_blob ON versions (blob_key);

CREATE TABLE task_comments (
    id TEXT NOT NULL PRIMARY KEY,
    task_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    author_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX task_comments_task ON task_comments (task_id, created_at);
