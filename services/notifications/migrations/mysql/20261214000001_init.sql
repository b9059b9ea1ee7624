-- How far each organisation's event log has been handled. Moved forward in
-- the same transaction that records the work an event causes.
CREATE TABLE positions (
    org_id CHAR(36) NOT NULL PRIMARY KEY,
    after_sequence BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- What was last seen of a task, to tell an assignment or a completion from
-- any other change.
CREATE TABLE task_states (
    task_id CHAR(36) NOT NULL PRIMARY KEY,
    org_id CHAR(36) NOT NULL,
    assignee_id CHAR(36) NULL,
    done BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Client systems' endpoints.
CREATE TABLE webhooks (
    id CHAR(36) NOT NULL PRIMARY KEY,
    org_id CHAR(36) NOT NULL,
    url VARCHAR(2000) NOT NULL,
    -- event types, comma-separated, sorted
    events VARCHAR(1000) NOT NULL,
    secret VARCHAR(100) NOT NULL,
    enabled BIGINT NOT NULL,
    -- '' | 'admin' | 'failing'
    disabled_reason VARCHAR(16) NOT NULL,
    -- first failure since the last success; NULL while healthy
    failing_since BIGINT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX webhooks_org ON webhooks (org_id);

-- One event for one endpoint: its webhook-id is the primary key, so the same
-- event can never become two deliveries.
CREATE TABLE deliveries (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    webhook_id CHAR(36) NOT NULL,
    org_id CHAR(36) NOT NULL,
    sequence BIGINT NOT NULL,
    event_type VARCHAR(64) NOT NULL,
    payload VARCHAR(8000) NOT NULL,
    -- 'pending' | 'delivered' | 'failed'
    state VARCHAR(16) NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NULL,
    -- retries stop once this is older than the retry window
    window_started_at BIGINT NOT NULL,
    lease_until BIGINT NULL,
    last_attempt_at BIGINT NULL,
    last_status BIGINT NOT NULL,
    last_duration_ms BIGINT NOT NULL,
    last_error VARCHAR(500) NOT NULL,
    created_at BIGINT NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, created_at);
