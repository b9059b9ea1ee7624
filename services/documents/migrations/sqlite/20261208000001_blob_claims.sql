-- Retention's claim on a queued blob and, once deleted, its tombstone: an
-- upload of the same content meanwhile keeps its own copy, and one after
-- writes the blob again and clears the tombstone (ADR 0053).
ALTER TABLE blob_deletions ADD COLUMN claimed_at INTEGER NULL;
ALTER TABLE blob_deletions ADD COLUMN deleted_at INTEGER NULL;
