-- One OneDrive connection per organisation (and per drive).
CREATE TABLE connections (
    id CHAR(36) NOT NULL PRIMARY KEY,
    org_id CHAR(36) NOT NULL,
    -- the user the integration acts as in documents (who connected)
    actor_id CHAR(36) NOT NULL,
    tenant_id VARCHAR(255) NOT NULL,
    app_id VARCHAR(64) NOT NULL,
    secret_ref VARCHAR(255) NOT NULL,
    drive_id VARCHAR(255) NOT NULL,
    folder_id VARCHAR(255) NOT NULL,
    client_state VARCHAR(128) NOT NULL,
    subscription_id VARCHAR(255) NULL,
    subscription_expires_at BIGINT NULL,
    renew_requested BIGINT NOT NULL DEFAULT 0,
    delta_link VARCHAR(4000) NULL,
    resync BIGINT NOT NULL DEFAULT 0,
    -- when the next delta should run; NULL: none planned
    sync_due_at BIGINT NULL,
    followups BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    paused_until BIGINT NULL,
    last_sync_at BIGINT NULL,
    last_error VARCHAR(500) NULL,
    -- the lease that serialises all Graph work on this connection
    lease_token CHAR(36) NULL,
    lease_until BIGINT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE KEY connections_org (org_id),
    UNIQUE KEY connections_drive (drive_id),
    KEY connections_subscription (subscription_id),
    KEY connections_due (sync_due_at),
    KEY connections_tenant (tenant_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Notifications as received, stored before the webhook answers 202.
CREATE TABLE inbox (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    connection_id CHAR(36) NOT NULL,
    subscription_id VARCHAR(255) NOT NULL,
    kind VARCHAR(64) NOT NULL,
    resource VARCHAR(1000) NOT NULL,
    received_at BIGINT NOT NULL,
    processed_at BIGINT NULL,
    KEY inbox_pending (connection_id, processed_at, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- What we know of the drive: folders (to decide what is under the connected
-- folder) and files with the document they are mirrored as.
CREATE TABLE items (
    org_id CHAR(36) NOT NULL,
    drive_id VARCHAR(255) NOT NULL,
    item_id VARCHAR(255) NOT NULL,
    parent_id VARCHAR(255) NULL,
    name VARCHAR(1000) NOT NULL,
    is_folder BIGINT NOT NULL,
    document_id CHAR(36) NULL,
    ctag VARCHAR(255) NULL,
    etag VARCHAR(255) NULL,
    deleted BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, drive_id, item_id),
    KEY items_document (org_id, document_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
