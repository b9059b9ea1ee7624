-- Retention per organisation (ADR 0053): off unless a row says otherwise.
CREATE TABLE retention_policies (
    org_id TEXT NOT NULL PRIMARY KEY,
    keep_last INTEGER NULL,
    keep_days INTEGER NULL,
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Blobs of removed versions, deleted from the store only once no version
-- references them; a row outlives a restart until its blob is gone.
CREATE TABLE blob_deletions (
    blob_key TEXT NOT NULL PRIMARY KEY,
    org_id TEXT NOT NULL,
    queued_at INTEGER NOT NULL
);
