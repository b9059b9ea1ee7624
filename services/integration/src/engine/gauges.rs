//! What Prometheus sees of the mirroring, beyond requests: the inbox's depth
//! and age (how far mirroring lags behind OneDrive), sync outcomes, and the
//! lag from a notification to its change being applied.

use std::{sync::Arc, time::Duration};

use folio_platform::clock::now_millis;
use tokio_util::sync::CancellationToken;

use super::Engine;
use crate::store::inbox;

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

/// Notifications received at `oldest` (epoch ms) are applied now.
pub(super) fn notifications_applied(oldest: i64, now: i64) {
    let lag = Duration::from_millis(u64::try_from(now - oldest).unwrap_or(0));
    metrics::histogram!("folio_integration_sync_lag_seconds").record(lag.as_secs_f64());
}

impl Engine {
    /// Refreshes the inbox gauges (every five poll intervals) until stopped.
    pub async fn run_gauges(self: Arc<Self>, stop: CancellationToken) {
        let every = self.timing.poll_interval.saturating_mul(5);
        loop {
            self.refresh_gauges().await;
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(every) => {}
            }
        }
    }

    async fn refresh_gauges(&self) {
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
    }
}
