-- The integration records OneDrive sync trouble in the event log (the
-- system's outbox, docs/adr/0068): which connection, why, and a key that
-- records one event however often the integration sends it. All nullable:
-- other events have none of them, and a previous release ignores them.
ALTER TABLE events
    ADD COLUMN connection_id CHAR(36) NULL,
    ADD COLUMN reason VARCHAR(500) NULL,
    ADD COLUMN event_key VARCHAR(200) NULL;
CREATE UNIQUE INDEX events_key ON events (org_id, event_key);
