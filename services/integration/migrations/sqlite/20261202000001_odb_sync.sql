-- Content hashes decide whether a file changed (docs/adr/0030); the round a
-- full enumeration last listed an item in (to find what it no longer lists).
ALTER TABLE items ADD COLUMN content_hash TEXT NULL;
ALTER TABLE items ADD COLUMN listed_round TEXT NULL;

-- How far the current delta paging got (docs/adr/0031).
CREATE TABLE sync_progress (
    connection_id TEXT NOT NULL PRIMARY KEY,
    page_link TEXT NULL,
    full_round INTEGER NOT NULL DEFAULT 0,
    round_id TEXT NOT NULL,
    items_seen INTEGER NOT NULL DEFAULT 0,
    items_mirrored INTEGER NOT NULL DEFAULT 0,
    items_skipped INTEGER NOT NULL DEFAULT 0,
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Files the mirror could not take, with the reason (docs/adr/0031).
CREATE TABLE skipped_items (
    org_id TEXT NOT NULL,
    drive_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    name TEXT NOT NULL,
    reason TEXT NOT NULL,
    version_key TEXT NULL,
    skipped_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, drive_id, item_id)
);
CREATE INDEX skipped_recent ON skipped_items (org_id, drive_id, skipped_at);
