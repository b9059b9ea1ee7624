//! Connecting, reading, syncing on demand and disconnecting.

use std::time::Duration;

use folio_platform::{
    actor::{Actor, ActorRole},
    clock::now_millis,
};
use uuid::Uuid;

use super::{Engine, MirrorStatus, WorkError};
use crate::{
    domain::{Connection, ConnectionSpec, new_client_state},
    error::{Error, drive_refused},
    graph::{Credentials, GraphError},
    secrets::parse_client_secret,
    store::{conflicts, connections, inbox, items, progress, skipped},
};

/// Skipped files shown with the connection.
const SKIPPED_SHOWN: u32 = 50;

/// How long an API call waits for a connection busy with background work.
pub(super) const LEASE_WAIT: Duration = Duration::from_secs(30);

fn require_admin(actor: &Actor) -> Result<(), Error> {
    match actor.role {
        ActorRole::Admin => Ok(()),
        ActorRole::Editor | ActorRole::Viewer => Err(Error::Forbidden(
            "only an admin can manage the OneDrive connection",
        )),
    }
}

impl Engine {
    /// The organisation's connection, how many documents it mirrors, the
    /// sync's progress and the files it skips.
    pub async fn connection(&self, actor: &Actor) -> Result<(Connection, MirrorStatus), Error> {
        // One read transaction, so the view is one snapshot: read piece by
        // piece, a sync committing in between could show its inbox as done
        // but the connection without the lag that the same commit recorded.
        let mut db = self.db.pool.begin().await?;
        let conn = connections::by_org(&mut db, actor.org_id)
            .await?
            .ok_or(Error::NotFound("connection"))?;
        let mirrored = items::count_mirrored(&mut db, conn.org_id, &conn.drive_id).await?;
        let progress = progress::get(&mut db, conn.id).await?.unwrap_or_default();
        let (mut skipped, skipped_total) =
            skipped::recent(&mut db, conn.org_id, &conn.drive_id, SKIPPED_SHOWN).await?;
        // Which files are kept out, and why, is for admins.
        if actor.role != ActorRole::Admin {
            skipped.clear();
        }
        let oldest_waiting = inbox::oldest_waiting(&mut db, conn.id).await?;
        let open_conflicts = conflicts::count_open(&mut db, conn.org_id, None).await?;
        db.commit().await?;
        Ok((
            conn,
            MirrorStatus {
                mirrored,
                progress,
                skipped,
                skipped_total,
                oldest_waiting,
                open_conflicts,
            },
        ))
    }

    pub async fn connect(
        &self,
        actor: &Actor,
        spec: ConnectionSpec,
    ) -> Result<(Connection, MirrorStatus), Error> {
        require_admin(actor)?;
        {
            let mut db = self.db.pool.acquire().await?;
            if connections::by_org(&mut db, actor.org_id).await?.is_some() {
                return Err(Error::AlreadyConnected);
            }
        }
        let credentials = Credentials {
            tenant: spec.tenant_id.clone(),
            app_id: spec.app_id.clone(),
            secret: spec.client_secret.clone(),
        };
        let folder = self
            .graph
            .item(&credentials, &spec.drive_id, &spec.folder)
            .await?;
        if !folder.is_folder() {
            return Err(Error::Precondition(
                "the folder is a file, not a folder".to_owned(),
            ));
        }
        // A drive another organisation holds is refused exactly like one
        // Graph does not show: nothing tells that it is connected elsewhere.
        {
            let mut db = self.db.pool.acquire().await?;
            if connections::drive_held_elsewhere(&mut db, &spec.drive_id, actor.org_id).await? {
                return Err(drive_refused());
            }
        }
        let id = Uuid::now_v7();
        let client_state = new_client_state();
        let lease = super::Lease::new(id, self.timing.lease);
        let now = now_millis();
        {
            let mut db = self.db.pool.acquire().await?;
            let inserted = connections::insert(
                &mut db,
                id,
                actor.org_id,
                actor.user_id,
                &spec,
                &folder.id,
                &client_state,
                (&lease.token, lease.until(now)),
                now,
            )
            .await;
            match inserted {
                Ok(()) => {}
                // Lost a race: to this organisation, or for the drive.
                Err(Error::AlreadyConnected) => {
                    return Err(
                        if connections::by_org(&mut db, actor.org_id).await?.is_some() {
                            Error::AlreadyConnected
                        } else {
                            drive_refused()
                        },
                    );
                }
                Err(e) => return Err(e),
            }
        }
        // Stored under the organisation only once Graph accepted it.
        if let Err(error) = self
            .client_secrets
            .put(&self.db, actor.org_id, &spec.client_secret, now)
            .await
        {
            let mut db = self.db.pool.acquire().await?;
            connections::delete(&mut db, id).await?;
            return Err(error);
        }
        // Graph validates the webhook while this runs.
        let created = self
            .graph
            .create_subscription(
                &credentials,
                &spec.drive_id,
                &self.notification_url,
                &self.lifecycle_url,
                &client_state,
                self.timing.subscription_lifetime,
            )
            .await;
        let created = match created {
            Ok(created) => created,
            Err(error) => {
                {
                    let mut db = self.db.pool.acquire().await?;
                    connections::delete(&mut db, id).await?;
                }
                self.client_secrets.delete(&self.db, actor.org_id).await?;
                tracing::warn!(%error, "creating the subscription failed");
                return Err(if matches!(error, GraphError::Refused { .. }) {
                    Error::Precondition(format!(
                        "Microsoft Graph refused the subscription; is the webhook {} reachable from the internet?",
                        self.notification_url
                    ))
                } else {
                    error.into()
                });
            }
        };
        let now = now_millis();
        {
            let mut db = self.db.pool.acquire().await?;
            connections::set_subscription(
                &mut db,
                id,
                &created.id,
                created.expires_at.unix_timestamp() * 1000,
                now,
            )
            .await?;
            connections::request_sync(&mut db, id, now).await?;
        }
        self.release(lease).await;
        self.wake_sync();
        tracing::info!(connection = %id, org = %actor.org_id, "OneDrive connected");
        self.connection(actor).await
    }

    /// Replaces the organisation's client secret (rotation), once Graph
    /// accepted the new one; a refused secret changes nothing.
    pub async fn replace_client_secret(
        &self,
        actor: &Actor,
        client_secret: &str,
    ) -> Result<(Connection, MirrorStatus), Error> {
        require_admin(actor)?;
        let secret = parse_client_secret(client_secret)?;
        let (conn, _) = self.connection(actor).await?;
        let lease = self.lease(conn.id, LEASE_WAIT).await?;
        let replaced = async {
            let credentials = Credentials {
                tenant: conn.tenant_id.clone(),
                app_id: conn.app_id.clone(),
                secret: secret.clone(),
            };
            self.graph
                .item(&credentials, &conn.drive_id, &conn.folder_id)
                .await?;
            let now = now_millis();
            self.client_secrets
                .put(&self.db, conn.org_id, &secret, now)
                .await?;
            let mut db = self.db.pool.acquire().await?;
            connections::client_secret_replaced(&mut db, conn.id, now).await?;
            connections::request_sync(&mut db, conn.id, now).await?;
            Ok::<_, Error>(())
        }
        .await;
        self.release(lease).await;
        replaced?;
        tracing::info!(connection = %conn.id, "client secret replaced");
        self.wake_sync();
        self.wake_reconcile();
        self.connection(actor).await
    }

    pub async fn sync_now(&self, actor: &Actor) -> Result<(Connection, MirrorStatus), Error> {
        require_admin(actor)?;
        let (conn, _) = self.connection(actor).await?;
        {
            let mut db = self.db.pool.acquire().await?;
            connections::request_sync(&mut db, conn.id, now_millis()).await?;
            connections::request_renew(&mut db, conn.id).await?;
        }
        self.wake_sync();
        self.wake_reconcile();
        self.connection(actor).await
    }

    /// Deletes the subscription (best effort: one Graph cannot delete now
    /// expires by itself and its notifications are ignored) and the connection.
    pub async fn disconnect(&self, actor: &Actor) -> Result<(), Error> {
        require_admin(actor)?;
        let (conn, _) = self.connection(actor).await?;
        let lease = self.lease(conn.id, LEASE_WAIT).await?;
        if let Some(subscription) = &conn.subscription_id {
            let deleted = match self.credentials(&conn).await {
                Ok(credentials) => self
                    .graph
                    .delete_subscription(&credentials, subscription)
                    .await
                    .map_err(WorkError::from),
                Err(e) => Err(e),
            };
            if let Err(error) = deleted {
                tracing::warn!(connection = %conn.id, %error, "could not delete the subscription; it will expire");
            }
        }
        let mut tx = self.db.pool.begin().await?;
        inbox::delete_for(&mut tx, conn.id).await?;
        progress::delete_for(&mut tx, conn.id).await?;
        conflicts::delete_for(&mut tx, conn.id).await?;
        connections::delete(&mut tx, conn.id).await?;
        tx.commit().await?;
        drop(lease);
        if let Err(error) = self.client_secrets.delete(&self.db, conn.org_id).await {
            tracing::warn!(connection = %conn.id, %error, "could not delete the client secret");
        }
        tracing::info!(connection = %conn.id, "OneDrive disconnected");
        Ok(())
    }
}
