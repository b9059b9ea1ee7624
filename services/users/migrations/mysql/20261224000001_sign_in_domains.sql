-- The email domains an organisation's provider serves (docs/adr/0073): a
-- sign-in started with an address is sent by its domain alone, so the answer
-- says nothing about whether the address has an account. A domain belongs to
-- one organisation at most. A new table only: the previous release ignores it.
CREATE TABLE oidc_domains (
    domain VARCHAR(253) NOT NULL PRIMARY KEY,
    org_id CHAR(36) NOT NULL,
    created_at BIGINT NOT NULL,
    KEY oidc_domains_org (org_id),
    CONSTRAINT oidc_domains_org_fk FOREIGN KEY (org_id) REFERENCES organisations (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Whether someone knows the account's password: accounts a first provider
-- sign-in creates get a random one nobody knows, and unlinking their last
-- identity would lock them out. Existing and previous-release rows default to
-- known (as that release treated them).
ALTER TABLE users ADD COLUMN password_known BIGINT NOT NULL DEFAULT 1;

-- What the sealed client credential is: a client secret, or a certificate
-- (PEM key and certificate, docs/adr/0074). The previous release reads only
-- secrets, as all rows were.
ALTER TABLE oidc_settings ADD COLUMN secret_kind VARCHAR(16) NOT NULL DEFAULT 'secret';
