CREATE TABLE documents (
    id TEXT NOT NULL PRIMARY KEY,
    org_id TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    current_version INTEGER NOT NULL DEFAULT 0,
    -- bumped by every change; its UPDATE is what serialises writers of one document
    revision INTEGER NOT NULL DEFAULT 0,
    deleted_at INTEGER NULL
);
CREATE INDEX documents_listing ON documents (org_id, deleted_at, updated_at, id);

CREATE TABLE document_tags (
    document_id TEXT NOT NULL REFERENCES documents (id),
    tag TEXT NOT NULL,
    PRIMARY KEY (document_id, tag)
);
CREATE INDEX document_tags_tag ON document_tags (tag);

CREATE TABLE versions (
    document_id TEXT NOT NULL REFERENCES documents (id),
    number INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    source TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (document_id, number)
);

CREATE TABLE tasks (
    id TEXT NOT NULL PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES documents (id),
    org_id TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    assignee_id TEXT NULL,
    due_date TEXT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    completed_at INTEGER NULL
);
CREATE INDEX tasks_document ON tasks (document_id, status);
CREATE INDEX tasks_assignee ON tasks (org_id, assignee_id, status);

CREATE TABLE events (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    document_id TEXT NOT NULL,
    version INTEGER NULL,
    task_id TEXT NULL,
    actor_id TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX events_org ON events (org_id, sequence);
