-- Sync lag (docs/adr/0043): how long the last sync that applied
-- notifications took from the oldest one's arrival to its delta's end.
ALTER TABLE connections ADD COLUMN last_lag_ms BIGINT NULL;

-- Sends that OneDrive refused with 412 on If-Match (docs/adr/0035): kept
-- until a later send of the document succeeds or a person dismisses them
-- (docs/adr/0043).
CREATE TABLE conflicts (
    id CHAR(36) NOT NULL PRIMARY KEY,
    org_id CHAR(36) NOT NULL,
    connection_id CHAR(36) NOT NULL,
    document_id CHAR(36) NOT NULL,
    item_id VARCHAR(255) NOT NULL,
    -- the OneDrive file's name when the send was refused
    name VARCHAR(1000) NOT NULL,
    -- the Folio version that was being sent, by whom and when
    sent_version BIGINT NOT NULL,
    sent_by CHAR(36) NOT NULL,
    sent_at BIGINT NOT NULL,
    -- the version OneDrive's change became; NULL while it has not come in,
    -- or when it changed no content (then incoming_at is set)
    incoming_version BIGINT NULL,
    incoming_at BIGINT NULL,
    closed_at BIGINT NULL,
    closed_by CHAR(36) NULL,
    -- 'resent' or 'dismissed'
    close_reason VARCHAR(16) NULL,
    KEY conflicts_open (org_id, closed_at, sent_at),
    KEY conflicts_document (org_id, document_id, closed_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
