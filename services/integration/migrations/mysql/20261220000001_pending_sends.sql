-- New files being sent to OneDrive, recorded before the upload so that a
-- file whose Graph answer was lost is adopted, not mirrored as a second
-- document (docs/adr/0034). The primary key's connection prefix serves the
-- delta's look-up by folder and name (a connection has few at a time).
CREATE TABLE pending_sends (
    connection_id CHAR(36) NOT NULL,
    document_id CHAR(36) NOT NULL,
    version_number BIGINT NOT NULL,
    parent_id VARCHAR(255) NOT NULL,
    name VARCHAR(1000) NOT NULL,
    sha256 CHAR(64) NOT NULL,
    size BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    actor_id CHAR(36) NOT NULL,
    PRIMARY KEY (connection_id, document_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
