-- Retention per organisation (ADR 0053): off unless a row says otherwise.
CREATE TABLE retention_policies (
    org_id CHAR(36) NOT NULL PRIMARY KEY,
    keep_last BIGINT NULL,
    keep_days BIGINT NULL,
    updated_by CHAR(36) NOT NULL,
    updated_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Blobs of removed versions, deleted from the store only once no version
-- references them; a row outlives a restart until its blob is gone.
CREATE TABLE blob_deletions (
    blob_key VARCHAR(255) NOT NULL PRIMARY KEY,
    org_id CHAR(36) NOT NULL,
    queued_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
