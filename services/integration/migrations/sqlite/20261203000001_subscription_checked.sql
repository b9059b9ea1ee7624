-- When the reconciler last saw the subscription alive in Graph (a GET, a
-- renewal or its creation): Graph can remove a subscription without telling
-- anyone, so one not seen for a while is looked up again.
ALTER TABLE connections ADD COLUMN subscription_checked_at INTEGER NULL;
