-- Sign-in with an organisation's OpenID Connect provider (docs/adr/0066):
-- one provider per organisation, its client secret sealed (AES-256-GCM).
CREATE TABLE oidc_settings (
    org_id TEXT NOT NULL PRIMARY KEY REFERENCES organisations (id),
    preset TEXT NOT NULL,
    issuer TEXT NOT NULL,
    client_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    only_sso INTEGER NOT NULL DEFAULT 0,
    create_accounts INTEGER NOT NULL DEFAULT 0,
    default_role TEXT NOT NULL,
    secret_nonce TEXT,
    secret_sealed TEXT,
    secret_set_at INTEGER,
    updated_at INTEGER NOT NULL
);

-- Who a provider's (issuer, subject) is in Folio (docs/adr/0067): the only
-- way a provider's answer finds a person; one link per person and issuer.
CREATE TABLE oidc_identities (
    org_id TEXT NOT NULL REFERENCES organisations (id),
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, issuer, subject),
    UNIQUE (user_id, issuer)
);
