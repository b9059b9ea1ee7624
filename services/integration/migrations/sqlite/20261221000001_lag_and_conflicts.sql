-- Sync lag (docs/adr/0043): how long the last sync that applied
-- notifications took from the oldest one's arrival to its delta's end.
ALTER TABLE connections ADD COLUMN last_lag_ms INTEGER NULL;

-- Sends that OneDrive refused with 412 on If-Match (docs/adr/0035), kept
-- until resent or dismissed (docs/adr/0043).
CREATE TABLE conflicts (
    id TEXT NOT NULL PRIMARY KEY,
    org_id TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    name TEXT NOT NULL,
    sent_version INTEGER NOT NULL,
    sent_by TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    incoming_version INTEGER NULL,
    incoming_at INTEGER NULL,
    closed_at INTEGER NULL,
    closed_by TEXT NULL,
    close_reason TEXT NULL
);
CREATE INDEX conflicts_open ON conflicts (org_id, closed_at, sent_at);
CREATE INDEX conflicts_document ON conflicts (org_id, document_id, closed_at);
