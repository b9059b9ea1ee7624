-- Personal API tokens: only the secret's SHA-256 is kept.
CREATE TABLE api_tokens (
    id CHAR(36) NOT NULL PRIMARY KEY,
    org_id CHAR(36) NOT NULL,
    user_id CHAR(36) NOT NULL,
    name VARCHAR(100) NOT NULL,
    scope VARCHAR(8) NOT NULL,
    secret_hash CHAR(64) NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_used_at BIGINT NULL,
    revoked_at BIGINT NULL,
    UNIQUE KEY api_tokens_secret (secret_hash),
    KEY api_tokens_user (org_id, user_id),
    CONSTRAINT api_tokens_user_fk FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT api_tokens_org_fk FOREIGN KEY (org_id) REFERENCES organisations (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
