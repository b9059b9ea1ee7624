-- An UploadVersion's idempotency key and the version it made, per
-- organisation (ADR 0033), written with that version: a retry whose first
-- answer was lost gets the first result instead of a second document or
-- version.
CREATE TABLE upload_keys (
    org_id CHAR(36) NOT NULL,
    idempotency_key VARCHAR(128) NOT NULL,
    document_id CHAR(36) NOT NULL,
    version_number BIGINT NOT NULL,
    sha256 CHAR(64) NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, idempotency_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
