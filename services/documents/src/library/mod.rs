//! The documents service's use cases. Each checks who may do it, applies the
//! domain rules, and commits its change together with the event recording it.

mod comments;
mod documents;
mod events;
mod retention;
mod tasks;
mod versions;

use folio_platform::{actor::Actor, db::Database};

pub(crate) use events::IntegrationEvent;
pub(crate) use tasks::{MyTasksFilter, NewTask};
pub(crate) use versions::{UploadHeader, UploadOutcome, UploadTarget};

use crate::{directory::Directory, error::Error, store::blobs::BlobStore};

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
