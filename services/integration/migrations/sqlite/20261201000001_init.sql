-- One OneDrive connection per organisation (and per drive).
CREATE TABLE connections (
    id TEXT NOT NULL PRIMARY KEY,
    org_id TEXT NOT NULL UNIQUE,
    actor_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    secret_ref TEXT NOT NULL,
    drive_id TEXT NOT NULL UNIQUE,
    folder_id TEXT NOT NULL,
    client_state TEXT NOT NULL,
    subscription_id TEXT NULL,
    subscription_expires_at INTEGER NULL,
    renew_requested INTEGER NOT NULL DEFAULT 0,
    delta_link TEXT NULL,
    resync INTEGER NOT NULL DEFAULT 0,
    sync_due_at INTEGER NULL,
    followups INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    paused_until INTEGER NULL,
    last_sync_at INTEGER NULL,
    last_error TEXT NULL,
    lease_token TEXT NULL,
    lease_until INTEGER NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX connections_subscription ON connections (subscription_id);
CREATE INDEX connections_due ON connections (sync_due_at);
CREATE INDEX connections_tenant ON connections (tenant_id);

CREATE TABLE inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    connection_id TEXT NOT NULL,
    subscription_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    resource TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    processed_at INTEGER NULL
);
CREATE INDEX inbox_pending ON inbox (connection_id, processed_at, id);

CREATE TABLE items (
    org_id TEXT NOT NULL,
    drive_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    parent_id TEXT NULL,
    name TEXT NOT NULL,
    is_folder INTEGER NOT NULL,
    document_id TEXT NULL,
    ctag TEXT NULL,
    etag TEXT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, drive_id, item_id)
);
CREATE INDEX items_document ON items (org_id, document_id);
