-- Content hashes decide whether a file changed (docs/adr/0030); the round a
-- full enumeration last listed an item in (to find what it no longer lists).
ALTER TABLE items ADD COLUMN content_hash VARCHAR(255) NULL;
ALTER TABLE items ADD COLUMN listed_round CHAR(36) NULL;

-- How far the current delta paging got, so a restart resumes from the page
-- reached (docs/adr/0031), and what it has counted so far.
CREATE TABLE sync_progress (
    connection_id CHAR(36) NOT NULL PRIMARY KEY,
    -- the @odata.nextLink of the next page; NULL once the paging ended
    page_link VARCHAR(4000) NULL,
    -- 1 while the paging is a full enumeration (first sync, resync)
    full_round BIGINT NOT NULL DEFAULT 0,
    round_id CHAR(36) NOT NULL,
    items_seen BIGINT NOT NULL DEFAULT 0,
    items_mirrored BIGINT NOT NULL DEFAULT 0,
    items_skipped BIGINT NOT NULL DEFAULT 0,
    started_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Files the mirror could not take, with the reason, for admins
-- (docs/adr/0031). A row goes when the file is mirrored or gone.
CREATE TABLE skipped_items (
    org_id CHAR(36) NOT NULL,
    drive_id VARCHAR(255) NOT NULL,
    item_id VARCHAR(255) NOT NULL,
    name VARCHAR(1000) NOT NULL,
    reason VARCHAR(500) NOT NULL,
    -- what the file was when skipped: retried only once it changes
    version_key VARCHAR(255) NULL,
    skipped_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, drive_id, item_id),
    KEY skipped_recent (org_id, drive_id, skipped_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
