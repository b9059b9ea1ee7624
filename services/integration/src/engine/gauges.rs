//! What Prometheus sees of the mirroring, beyond requests: the inbox's depth,
//! size and age (the current sync lag, at its largest over connections), sync
//! outcomes, the lag from a notification to its change being applied (each
//! sync's, the value a connection shows as its last; docs/adr/0043), and
//! open send conflicts. The same loop
//! purges notifications processed longer ago than the retention period.

use std::{sync::Arc, time::Duration};

use folio_platform::clock::now_millis;
use tokio_util::sync::CancellationToken;

use super::Engine;
use crate::store::{conflicts, inbox};

/// How a sync ended, as the `outcome` label of `folio_integration_syncs_total`.
#[derive(Debug, Clone, Copy)]
pub(super) enum SyncOutcome {
    Completed,
    Throttled,
    Failed,
}

pub(super) fn sync_ended(outcome: SyncOutcome) {
    let outcome = match outcome {
        SyncOutcome::Completed => "completed",
        SyncOutcome::Throttled => "throttled",
        SyncOutcome::Failed => "failed",
    };
    metrics::counter!("folio_integration_syncs_total", "outcome" => outcome).increment(1);
}

/// A delta applied notifications, the oldest `lag_ms` after it arrived:
/// the lag the connection shows as its last (docs/adr/0043).
pub(super) fn notifications_applied(lag_ms: u64) {
    let lag = Duration::from_millis(lag_ms);
    metrics::histogram!("folio_integration_sync_lag_seconds").record(lag.as_secs_f64());
}

impl Engine {
    /// Purges the inbox and refreshes its gauges (every five poll
    /// intervals) until stopped.
    pub async fn run_gauges(self: Arc<Self>, stop: CancellationToken) {
        let every = self.timing.poll_interval.saturating_mul(5);
        loop {
            self.purge_inbox().await;
            self.refresh_gauges().await;
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(every) => {}
            }
        }
    }

    async fn purge_inbox(&self) {
        let retention = i64::try_from(self.timing.inbox_retention.as_millis()).unwrap_or(i64::MAX);
        let before = now_millis().saturating_sub(retention);
        let purged = match self.db.pool.acquire().await {
            Ok(mut conn) => inbox::purge_processed(&mut conn, before).await,
            Err(e) => Err(e.into()),
        };
        match purged {
            Ok(0) => {}
            Ok(n) => tracing::debug!(purged = n, "processed notifications purged"),
            Err(error) => tracing::warn!(%error, "cannot purge the inbox"),
        }
    }

    async fn refresh_gauges(&self) {
        let size = match self.db.reader().acquire().await {
            Ok(mut conn) => inbox::size(&mut conn).await,
            Err(e) => Err(e.into()),
        };
        match size {
            Ok(rows) => metrics::gauge!("folio_integration_inbox_rows").set(rows as f64),
            Err(error) => tracing::warn!(%error, "cannot read the inbox size"),
        }
        let backlog = match self.db.reader().acquire().await {
            Ok(mut conn) => inbox::backlog(&mut conn).await,
            Err(e) => Err(e.into()),
        };
        match backlog {
            Ok((pending, oldest)) => {
                metrics::gauge!("folio_integration_inbox_pending").set(pending as f64);
                let age = oldest.map_or(0, |oldest| now_millis() - oldest).max(0);
                metrics::gauge!("folio_integration_inbox_oldest_pending_seconds")
                    .set(age as f64 / 1000.0);
            }
            Err(error) => tracing::warn!(%error, "cannot read the inbox backlog"),
        }
        let conflicts = match self.db.reader().acquire().await {
            Ok(mut conn) => conflicts::open_total(&mut conn).await,
            Err(e) => Err(e.into()),
        };
        match conflicts {
            Ok(open) => metrics::gauge!("folio_integration_conflicts_open").set(open as f64),
            Err(error) => tracing::warn!(%error, "cannot count the open conflicts"),
        }
    }
}
