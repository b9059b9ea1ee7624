-- contract: the users table with a global UNIQUE email (rebuilt with every column kept: SQLite cannot drop a UNIQUE), unused since 2026-12-01
-- An email is unique within an organisation only: the same address may have
-- an account in several organisations (a provider's staff serving clients).
-- SQLite cannot drop a column's UNIQUE: the table is rebuilt.
CREATE TABLE users_new (
    id TEXT NOT NULL PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations (id),
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (org_id, email)
);

INSERT INTO users_new (id, org_id, email, display_name, role, password_hash, disabled, created_at, updated_at)
SELECT id, org_id, email, display_name, role, password_hash, disabled, created_at, updated_at FROM users;

DROP TABLE users;

ALTER TABLE users_new RENAME TO users;

CREATE INDEX users_org ON users (org_id, role, disabled);
CREATE INDEX users_email ON users (email);
