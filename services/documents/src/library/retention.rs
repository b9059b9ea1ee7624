//! Retention: an admin's policy, and the background job that applies it.
//!
//! The job removes versions document by document, each document in one
//! transaction that also records what it removed and queues the removed
//! versions' blobs. Blobs are deleted afterwards, one by one, only when no
//! version references them any more (identical content in another document
//! or a restored version shares the blob). A restart at any point loses
//! nothing: the queue is in the database, and deleting a blob twice is fine.

use folio_platform::{actor::Actor, actor::ActorRole, clock::now_millis};
use uuid::Uuid;

use super::Library;
use crate::{
    domain::{Event, EventKind, RetentionPolicy, select_removals},
    error::Error,
    store::{documents, events, retention},
};

/// The retention job acts as nobody in particular.
const SYSTEM_ACTOR: Uuid = Uuid::nil();

/// What one pass of the job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RetentionPass {
    pub versions_removed: u32,
    pub blobs_deleted: u32,
}

fn require_admin(actor: &Actor) -> Result<(), Error> {
    if actor.role == ActorRole::Admin {
        Ok(())
    } else {
        Err(Error::NotYours("only admins set retention"))
    }
}

impl Library {
    pub(crate) async fn retention_policy(&self, actor: &Actor) -> Result<RetentionPolicy, Error> {
        require_admin(actor)?;
        let mut conn = self.db.reader().acquire().await?;
        retention::get_policy(&mut conn, actor.org_id).await
    }

    pub(crate) async fn set_retention_policy(
        &self,
        actor: &Actor,
        policy: RetentionPolicy,
    ) -> Result<RetentionPolicy, Error> {
        require_admin(actor)?;
        let mut tx = self.change(actor.org_id).await?;
        retention::set_policy(&mut tx, actor.org_id, policy, actor.user_id, now_millis()).await?;
        tx.commit().await?;
        Ok(policy)
    }

    /// One pass: blobs left queued by an earlier pass first, then every
    /// organisation with a policy, then the blobs this pass queued.
    pub(crate) async fn apply_retention(&self, now: i64) -> Result<RetentionPass, Error> {
        let mut pass = RetentionPass {
            blobs_deleted: self.delete_queued_blobs().await?,
            ..RetentionPass::default()
        };
        let organisations = {
            let mut conn = self.db.pool.acquire().await?;
            retention::organisations_with_retention(&mut conn).await?
        };
        for org_id in organisations {
            let (policy, documents) = {
                let mut conn = self.db.pool.acquire().await?;
                (
                    retention::get_policy(&mut conn, org_id).await?,
                    retention::documents_with_history(&mut conn, org_id).await?,
                )
            };
            for document_id in documents {
                pass.versions_removed += self
                    .remove_old_versions(org_id, document_id, policy, now)
                    .await?;
            }
        }
        pass.blobs_deleted += self.delete_queued_blobs().await?;
        Ok(pass)
    }

    /// Removes what `policy` selects from one document, under its lock, with
    /// an event per version and its blob queued, in one transaction.
    async fn remove_old_versions(
        &self,
        org_id: Uuid,
        document_id: Uuid,
        policy: RetentionPolicy,
        now: i64,
    ) -> Result<u32, Error> {
        let mut tx = self.change(org_id).await?;
        if !documents::lock_document(&mut tx, org_id, document_id).await? {
            return Ok(0);
        }
        let Some(document) = documents::get_document(&mut tx, org_id, document_id).await? else {
            return Ok(0);
        };
        let (versions, pinned) = retention::facts(&mut tx, document_id).await?;
        let facts: Vec<_> = versions.iter().map(|(f, _)| *f).collect();
        let removed = select_removals(policy, &facts, document.current_version, &pinned, now);
        for number in &removed {
            let Some((_, blob_key)) = versions.iter().find(|(f, _)| f.number == *number) else {
                continue;
            };
            retention::delete_version(&mut tx, document_id, *number).await?;
            retention::queue_blob(&mut tx, org_id, blob_key, now).await?;
            let event = Event {
                version: Some(*number),
                ..Event::new(
                    EventKind::VersionRemoved,
                    org_id,
                    document_id,
                    SYSTEM_ACTOR,
                    now,
                )
            };
            events::insert_event(&mut tx, &event).await?;
        }
        tx.commit().await?;
        if !removed.is_empty() {
            tracing::info!(%org_id, %document_id, versions = ?removed, "retention removed versions");
        }
        Ok(u32::try_from(removed.len()).unwrap_or(u32::MAX))
    }

    /// Deletes queued blobs that no version references; takes referenced
    /// ones off the queue. No connection is held while the store is called:
    /// a claim in the database (see `retention::claim_blob`) keeps uploads of
    /// the same content off the blob meanwhile.
    async fn delete_queued_blobs(&self) -> Result<u32, Error> {
        let mut deleted = 0;
        loop {
            let keys = {
                let mut conn = self.db.pool.acquire().await?;
                retention::queued_blobs(&mut conn, 100).await?
            };
            if keys.is_empty() {
                return Ok(deleted);
            }
            for key in keys {
                let claimed = {
                    let mut conn = self.db.pool.acquire().await?;
                    retention::claim_blob(&mut conn, &key, now_millis()).await?
                };
                if claimed {
                    #[cfg(feature = "test-hooks")]
                    crate::test_hooks::before_blob_delete(&key).await;
                    self.blobs.delete(&key).await?;
                    deleted += 1;
                }
                let mut conn = self.db.pool.acquire().await?;
                retention::forget_blob(&mut conn, &key, claimed.then(now_millis)).await?;
            }
        }
    }
}
