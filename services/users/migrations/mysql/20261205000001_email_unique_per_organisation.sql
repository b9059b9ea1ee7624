-- An email is unique within an organisation only: the same address may have
-- an account in several organisations (a provider's staff serving clients).
ALTER TABLE users
    DROP INDEX users_email,
    ADD UNIQUE KEY users_org_email (org_id, email),
    ADD KEY users_email (email);
