-- Sign-in with an organisation's OpenID Connect provider (docs/adr/0066):
-- one provider per organisation, its client secret sealed (AES-256-GCM).
CREATE TABLE oidc_settings (
    org_id CHAR(36) NOT NULL PRIMARY KEY,
    preset VARCHAR(16) NOT NULL,
    issuer VARCHAR(300) NOT NULL,
    client_id VARCHAR(255) NOT NULL,
    tenant_id VARCHAR(36) NOT NULL,
    only_sso BIGINT NOT NULL DEFAULT 0,
    create_accounts BIGINT NOT NULL DEFAULT 0,
    default_role VARCHAR(16) NOT NULL,
    secret_nonce VARCHAR(64) NULL,
    secret_sealed TEXT NULL,
    secret_set_at BIGINT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT oidc_settings_org_fk FOREIGN KEY (org_id) REFERENCES organisations (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Who a provider's (issuer, subject) is in Folio (docs/adr/0067): the only
-- way a provider's answer finds a person; one link per person and issuer.
CREATE TABLE oidc_identities (
    org_id CHAR(36) NOT NULL,
    issuer VARCHAR(300) NOT NULL,
    subject VARCHAR(255) NOT NULL,
    user_id CHAR(36) NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, issuer, subject),
    UNIQUE KEY oidc_identities_user (user_id, issuer),
    CONSTRAINT oidc_identities_user_fk FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT oidc_identities_org_fk FOREIGN KEY (org_id) REFERENCES organisations (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
