-- Long text is VARCHAR, not TEXT: with a binary collation MySQL reports TEXT
-- columns as BLOBs, which the runtime-typed driver will not read as strings.
CREATE TABLE documents (
    id CHAR(36) NOT NULL PRIMARY KEY,
    org_id CHAR(36) NOT NULL,
    title VARCHAR(200) NOT NULL,
    description VARCHAR(10000) NOT NULL,
    created_by CHAR(36) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    current_version BIGINT NOT NULL DEFAULT 0,
    -- bumped by every change; its UPDATE is what serialises writers of one document
    revision BIGINT NOT NULL DEFAULT 0,
    deleted_at BIGINT NULL,
    KEY documents_listing (org_id, deleted_at, updated_at, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE document_tags (
    document_id CHAR(36) NOT NULL,
    tag VARCHAR(50) NOT NULL,
    PRIMARY KEY (document_id, tag),
    KEY document_tags_tag (tag),
    CONSTRAINT document_tags_document FOREIGN KEY (document_id) REFERENCES documents (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE versions (
    document_id CHAR(36) NOT NULL,
    number BIGINT NOT NULL,
    file_name VARCHAR(255) NOT NULL,
    media_type VARCHAR(255) NOT NULL,
    size BIGINT NOT NULL,
    sha256 CHAR(64) NOT NULL,
    blob_key VARCHAR(255) NOT NULL,
    source VARCHAR(16) NOT NULL,
    created_by CHAR(36) NOT NULL,
    created_at BIGINT NOT NULL,
    note VARCHAR(2000) NOT NULL,
    PRIMARY KEY (document_id, number),
    CONSTRAINT versions_document FOREIGN KEY (document_id) REFERENCES documents (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE tasks (
    id CHAR(36) NOT NULL PRIMARY KEY,
    document_id CHAR(36) NOT NULL,
    org_id CHAR(36) NOT NULL,
    title VARCHAR(200) NOT NULL,
    description VARCHAR(10000) NOT NULL,
    status VARCHAR(16) NOT NULL,
    assignee_id CHAR(36) NULL,
    due_date CHAR(10) NULL,
    created_by CHAR(36) NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    completed_at BIGINT NULL,
    KEY tasks_document (document_id, status),
    KEY tasks_assignee (org_id, assignee_id, status),
    CONSTRAINT tasks_document_fk FOREIGN KEY (document_id) REFERENCES documents (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE events (
    sequence BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    org_id CHAR(36) NOT NULL,
    kind VARCHAR(32) NOT NULL,
    document_id CHAR(36) NOT NULL,
    version BIGINT NULL,
    task_id CHAR(36) NULL,
    actor_id CHAR(36) NOT NULL,
    at BIGINT NOT NULL,
    KEY events_org (org_id, sequence)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
