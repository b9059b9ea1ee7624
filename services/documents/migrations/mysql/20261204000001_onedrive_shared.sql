-- When a user first sent the document to OneDrive: from then on the
-- integration may read it (docs/adr/0042).
ALTER TABLE documents ADD COLUMN onedrive_shared_at BIGINT NULL;
