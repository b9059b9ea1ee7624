//! The documents service's use cases. Each checks who may do it, applies the
//! domain rules, and commits its change together with the event recording it.

mod comments;
mod documents;
mod events;
mod retention;
mod tasks;
mod versions;

use std::ops::{Deref, DerefMut};

use folio_platform::{actor::Actor, db::Database};
use sqlx::{Any, AnyConnection, Transaction};
use uuid::Uuid;

pub(crate) use events::IntegrationEvent;
pub(crate) use tasks::{MyTasksFilter, NewTask};
pub(crate) use versions::{UploadHeader, UploadOutcome, UploadTarget};

use crate::{
    directory::Directory,
    error::Error,
    store::{blobs::BlobStore, revisions},
};

#[derive(Debug, Clone)]
pub(crate) struct Library {
    db: Database,
    blobs: BlobStore,
    directory: Directory,
    max_upload_bytes: u64,
}

impl Library {
    pub(crate) fn new(
        db: Database,
        blobs: BlobStore,
        directory: Directory,
        max_upload_bytes: u64,
    ) -> Self {
        Self {
            db,
            blobs,
            directory,
            max_upload_bytes,
        }
    }

    pub(crate) fn database(&self) -> &Database {
        &self.db
    }

    /// Begins a change of `org_id`'s library. Every write transaction is
    /// one, so that no commit leaves the revision as it was.
    async fn change(&self, org_id: Uuid) -> Result<Change, Error> {
        Ok(Change {
            tx: self.db.pool.begin().await?,
            org_id,
        })
    }

    /// The organisation's library revision (docs/adr/0081).
    pub(crate) async fn revision(&self, actor: &Actor) -> Result<u64, Error> {
        let mut conn = self.db.reader().acquire().await?;
        revisions::get(&mut conn, actor.org_id).await
    }
}

/// A transaction changing one organisation's library: its commit raises the
/// organisation's revision, so that pages cached before it are known to be
/// stale (docs/adr/0081). Dropped without a commit, it rolls back.
struct Change {
    tx: Transaction<'static, Any>,
    org_id: Uuid,
}

impl Change {
    async fn commit(mut self) -> Result<(), Error> {
        revisions::raise(&mut self.tx, self.org_id).await?;
        self.tx.commit().await?;
        Ok(())
    }

    /// Leaves the library and its revision as they were.
    async fn rollback(self) -> Result<(), Error> {
        self.tx.rollback().await?;
        Ok(())
    }
}

impl Deref for Change {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for Change {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

fn require_writer(actor: &Actor) -> Result<(), Error> {
    if actor.role.can_write() {
        Ok(())
    } else {
        Err(Error::ReadOnly)
    }
}

/// Page sizes: 0 means the default, anything above the maximum is capped.
fn page_size(requested: u32, default: u32, max: u32) -> u32 {
    match requested {
        0 => default,
        n => n.min(max),
    }
}
