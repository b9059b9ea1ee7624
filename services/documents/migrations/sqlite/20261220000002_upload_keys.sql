-- An UploadVersion's idempotency key and the version it made, per
-- organisation (ADR 0033), written with that version: a retry whose first
-- answer was lost gets the first result instead of a second document or
-- version.
CREATE TABLE upload_keys (
    org_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    document_id TEXT NOT NULL,
    version_number INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, idempotency_key)
);
