-- contract: connections.secret_ref (the deployment-wide secret reference that issue 12 point 1 closes; rolling back to it is not supported), unused since 2026-12-01
-- Client secrets are entered by each organisation's admin and stored per
-- organisation (docs/adr/0040); a connection no longer names one.
ALTER TABLE connections DROP COLUMN secret_ref;
ALTER TABLE connections ADD COLUMN client_secret_set_at INTEGER NULL;

-- The `database` store: AES-256-GCM, the organisation id as associated data.
CREATE TABLE client_secrets (
    org_id TEXT NOT NULL PRIMARY KEY,
    -- hex: 12-byte nonce; ciphertext with its 16-byte tag
    nonce TEXT NOT NULL,
    sealed TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
