-- Replayed notifications coalesce into one pending row per connection,
-- subscription and kind until a sync claims it (issue 12.7); processed rows
-- are purged after a retention period.
ALTER TABLE inbox ADD COLUMN claimed_at INTEGER NULL;
CREATE INDEX inbox_unclaimed ON inbox (connection_id, subscription_id, kind, processed_at, claimed_at);
CREATE INDEX inbox_processed ON inbox (processed_at);
