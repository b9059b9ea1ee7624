-- New files being sent to OneDrive, recorded before the upload so that a
-- file whose Graph answer was lost is adopted, not mirrored as a second
-- document (docs/adr/0034). The primary key's connection prefix serves the
-- delta's look-up by folder and name (a connection has few at a time).
CREATE TABLE pending_sends (
    connection_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    version_number INTEGER NOT NULL,
    parent_id TEXT NOT NULL,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    actor_id TEXT NOT NULL,
    PRIMARY KEY (connection_id, document_id)
);
