//! The reconciler keeps every connection's subscription alive: creates it
//! when missing, renews it well before it expires (or when Graph asks for
//! reauthorization), looks it up when it was not seen alive for a while
//! (Graph removes subscriptions without a word), and recreates it when it is
//! gone — then catches up with a delta, since notifications were lost in
//! the gap.

use std::sync::Arc;

use folio_platform::clock::now_millis;
use tokio_util::sync::CancellationToken;

use super::{Engine, WorkError, millis};
use crate::{domain::Connection, graph::GraphError, store::connections};

impl Engine {
    pub async fn run_reconciler(self: Arc<Self>, stop: CancellationToken) {
        loop {
            if let Err(error) = self.reconcile_once().await {
                tracing::warn!(%error, "reconciling subscriptions failed");
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = self.wake_reconcile.notified() => {}
                () = tokio::time::sleep(self.timing.reconcile_interval) => {}
            }
        }
    }

    pub(crate) async fn reconcile_once(&self) -> Result<(), crate::error::Error> {
        let now = now_millis();
        let horizon = now + millis(self.timing.renew_before);
        let check_before = now - millis(self.timing.subscription_check);
        let ids = {
            let mut db = self.db.pool.acquire().await?;
            connections::needing_subscription(&mut db, now, horizon, check_before).await?
        };
        for id in ids {
            let Some((lease, _)) = self.try_lease(id, false).await? else {
                continue;
            };
            let conn = {
                let mut db = self.db.pool.acquire().await?;
                connections::by_id(&mut db, id).await?
            };
            if let Some(conn) = conn {
                let result = self.ensure_subscription(&conn).await;
                let mut db = self.db.pool.acquire().await?;
                match result {
                    Ok(()) => {
                        if conn.last_error.is_some() && conn.failures == 0 {
                            connections::set_error(&mut db, id, None).await?;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(connection = %id, %error, "subscription upkeep failed");
                        if let WorkError::Graph(GraphError::Throttled(pause)) = &error {
                            connections::pause_tenant(
                                &mut db,
                                &conn.tenant_id,
                                now + millis(*pause),
                            )
                            .await?;
                        }
                        connections::set_error(&mut db, id, Some(&error.describe())).await?;
                    }
                }
            }
            self.release(lease).await;
        }
        Ok(())
    }

    /// Renews the subscription, or creates it when there is none (any more).
    async fn ensure_subscription(&self, conn: &Connection) -> Result<(), WorkError> {
        let credentials = self.credentials(conn).await?;
        let lifetime = self.timing.subscription_lifetime;
        let now = now_millis();
        let renew = conn.renew_requested
            || conn
                .subscription_expires_at
                .is_none_or(|e| e < now + millis(self.timing.renew_before));
        if let (Some(id), false) = (&conn.subscription_id, renew) {
            // Only a look: is it still there?
            match self.graph.get_subscription(&credentials, id).await {
                Ok(_) => {
                    let mut db = self.db.pool.acquire().await?;
                    connections::subscription_seen(&mut db, conn.id, now_millis()).await?;
                    return Ok(());
                }
                Err(GraphError::NotFound) => {
                    tracing::warn!(connection = %conn.id, "Graph removed the subscription; recreating it");
                    let mut db = self.db.pool.acquire().await?;
                    connections::forget_subscription(&mut db, conn.id).await?;
                }
                Err(error) => return Err(error.into()),
            }
        } else if let Some(id) = &conn.subscription_id {
            match self
                .graph
                .renew_subscription(&credentials, id, lifetime)
                .await
            {
                Ok(renewed) => {
                    let mut db = self.db.pool.acquire().await?;
                    connections::set_subscription(
                        &mut db,
                        conn.id,
                        &renewed.id,
                        renewed.expires_at.unix_timestamp() * 1000,
                        now_millis(),
                    )
                    .await?;
                    return Ok(());
                }
                Err(GraphError::NotFound) => {
                    tracing::warn!(connection = %conn.id, "subscription vanished; recreating it");
                    let mut db = self.db.pool.acquire().await?;
                    connections::forget_subscription(&mut db, conn.id).await?;
                }
                Err(error) => return Err(error.into()),
            }
        }
        let created = self
            .graph
            .create_subscription(
                &credentials,
                &conn.drive_id,
                &self.notification_url,
                &self.lifecycle_url,
                &conn.client_state,
                lifetime,
            )
            .await?;
        let now = now_millis();
        let mut db = self.db.pool.acquire().await?;
        connections::set_subscription(
            &mut db,
            conn.id,
            &created.id,
            created.expires_at.unix_timestamp() * 1000,
            now,
        )
        .await?;
        // Whatever changed while there was no subscription: catch up now.
        connections::request_sync(&mut db, conn.id, now).await?;
        self.wake_sync();
        tracing::info!(connection = %conn.id, subscription = %created.id, "subscription created");
        Ok(())
    }
}
