-- The email domains an organisation's provider serves (docs/adr/0073): a
-- sign-in started with an address is sent by its domain alone, so the answer
-- says nothing about whether the address has an account. A domain belongs to
-- one organisation at most. A new table only: the previous release ignores it.
CREATE TABLE oidc_domains (
    domain TEXT NOT NULL PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX oidc_domains_org ON oidc_domains (org_id);

-- Whether someone knows the account's password: accounts a first provider
-- sign-in creates get a random one nobody knows, and unlinking their last
-- identity would lock them out. Existing and previous-release rows default to
-- known (as that release treated them).
ALTER TABLE users ADD COLUMN password_known INTEGER NOT NULL DEFAULT 1;

-- What the sealed client credential is: a client secret, or a certificate
-- (PEM key and certificate, docs/adr/0074). The previous release reads only
-- secrets, as all rows were.
ALTER TABLE oidc_settings ADD COLUMN secret_kind TEXT NOT NULL DEFAULT 'secret';
