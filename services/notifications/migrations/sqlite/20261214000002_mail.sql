-- A person's email choices (kind=choice pairs); no row: the defaults.
CREATE TABLE preferences (
    user_id CHAR(36) NOT NULL PRIMARY KEY,
    org_id CHAR(36) NOT NULL,
    choices VARCHAR(500) NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Emails to send: written with the work of the event (or digest) that
-- causes them; the id is derived from that cause, so none is made twice.
CREATE TABLE mails (
    id CHAR(32) NOT NULL PRIMARY KEY,
    org_id CHAR(36) NOT NULL,
    user_id CHAR(36) NOT NULL,
    kind VARCHAR(32) NOT NULL,
    to_address VARCHAR(320) NOT NULL,
    to_name VARCHAR(200) NOT NULL,
    subject VARCHAR(300) NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    -- 'pending' | 'sent' | 'refused' (permanently) | 'failed' (gave up)
    state VARCHAR(16) NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NULL,
    lease_until BIGINT NULL,
    last_error VARCHAR(500) NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT NULL
);
CREATE INDEX mails_due ON mails (state, next_attempt_at);
CREATE INDEX mails_org_state ON mails (org_id, state);

-- Organisations whose daily digest of a day (UTC, YYYY-MM-DD) is done.
CREATE TABLE digest_runs (
    org_id CHAR(36) NOT NULL,
    day CHAR(10) NOT NULL,
    done_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, day)
);
