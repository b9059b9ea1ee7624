//! "Send to OneDrive": a version streamed from documents into the connected
//! folder (or over the file the document mirrors), then mapped, so the
//! notification of our own upload adds no version.

use bytes::BytesMut;
use folio_platform::{
    actor::{Actor, ActorRole},
    clock::now_millis,
};
use futures::StreamExt;
use uuid::Uuid;

use super::{Engine, Lease, WorkError, connect::LEASE_WAIT};
use crate::{
    documents::DocumentsError,
    domain::{Connection, onedrive_name},
    error::Error,
    graph::{self, DriveItem, SIMPLE_LIMIT, UploadError, UploadTarget},
    store::items::{self, ItemFacts},
};

/// What was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub item_id: String,
    pub name: String,
    pub size: u64,
    pub chunked: bool,
}

fn documents_error(error: DocumentsError) -> Error {
    match error {
        DocumentsError::NotFound => Error::NotFound("document"),
        DocumentsError::Unavailable | DocumentsError::Source => Error::Unavailable("documents"),
        DocumentsError::Refused(reason) => Error::Documents(reason),
        DocumentsError::Unexpected => Error::Documents("unexpected answer".to_owned()),
    }
}

fn work_error(error: WorkError) -> Error {
    match error {
        WorkError::Graph(e) => e.into(),
        WorkError::Documents(e) => documents_error(e),
        WorkError::Store(e) => e,
        WorkError::Secret(_) => {
            Error::Precondition("the connection's client secret cannot be read".to_owned())
        }
        WorkError::LeaseLost | WorkError::Stopping => Error::Busy,
    }
}

impl Engine {
    pub async fn send(&self, actor: &Actor, document: Uuid, version: u32) -> Result<Sent, Error> {
        if !actor.role.can_write() {
            return Err(Error::Forbidden(
                "viewers cannot send documents to OneDrive",
            ));
        }
        let (conn, _) = self.connection(actor).await.map_err(|e| {
            if matches!(e, Error::NotFound(_)) {
                Error::Precondition("the organisation is not connected to OneDrive".to_owned())
            } else {
                e
            }
        })?;
        // Under the lease no delta runs, so the echo of this upload is seen
        // only after the mapping below is stored.
        let lease = self.lease(conn.id, LEASE_WAIT).await?;
        let sent = self
            .send_leased(&conn, actor, document, version, &lease)
            .await;
        self.release(lease).await;
        sent
    }

    async fn send_leased(
        &self,
        conn: &Connection,
        actor: &Actor,
        document: Uuid,
        number: u32,
        lease: &Lease,
    ) -> Result<Sent, Error> {
        let credentials = self.credentials(conn).await.map_err(work_error)?;
        // The caller must be able to read the document; the bytes are read as them.
        let reader = Actor {
            role: ActorRole::Viewer,
            ..*actor
        };
        let (version, content) = self
            .documents
            .download(&reader, document, number, 0)
            .await
            .map_err(documents_error)?;
        let mapped = {
            let mut db = self.db.pool.acquire().await?;
            items::by_document(&mut db, conn.org_id, &conn.drive_id, document).await?
        };
        let target = match &mapped {
            Some(row) => UploadTarget::Existing(row.item_id.clone()),
            None => UploadTarget::New {
                parent: conn.folder_id.clone(),
                name: onedrive_name(&version.file_name),
            },
        };
        let chunked = version.size > SIMPLE_LIMIT;
        let item: DriveItem = if chunked {
            drop(content);
            let url = self
                .graph
                .create_upload_session(&credentials, &conn.drive_id, &target)
                .await?;
            let number = version.number;
            let uploaded =
                graph::upload_session(self.graph.plain(), &url, version.size, |from| async move {
                    self.documents
                        .download(&reader, document, number, from)
                        .await
                        .map(|(_, stream)| stream)
                })
                .await;
            self.beat(lease).map_err(work_error)?;
            match uploaded {
                Ok(item) => item,
                Err(UploadError::Source(e)) => return Err(documents_error(e)),
                Err(UploadError::SizeMismatch) => {
                    return Err(Error::Documents(
                        "the version is shorter than announced".to_owned(),
                    ));
                }
                Err(UploadError::Graph(e)) => return Err(e.into()),
            }
        } else {
            let mut buffer = BytesMut::with_capacity(usize::try_from(version.size).unwrap_or(0));
            let mut content = content;
            while let Some(chunk) = content.next().await {
                buffer.extend_from_slice(&chunk.map_err(documents_error)?);
            }
            self.graph
                .upload_small(&credentials, &conn.drive_id, &target, buffer.freeze())
                .await?
        };
        if item.size.is_some_and(|s| s != version.size) {
            return Err(Error::Graph(graph::GraphError::Malformed(
                "uploaded size differs",
            )));
        }
        let name = item
            .name
            .clone()
            .unwrap_or_else(|| version.file_name.clone());
        let mut db = self.db.pool.acquire().await?;
        let content_hash = item.content_hash();
        items::put(
            &mut db,
            conn.org_id,
            &conn.drive_id,
            &ItemFacts {
                item_id: &item.id,
                parent_id: item.parent_id().or(Some(conn.folder_id.as_str())),
                name: &name,
                is_folder: false,
                document_id: Some(document),
                ctag: item.ctag.as_deref(),
                etag: item.etag.as_deref(),
                content_hash: content_hash.as_deref(),
                round: None,
            },
            now_millis(),
        )
        .await?;
        tracing::info!(connection = %conn.id, %document, item = %item.id, chunked, "sent a version to OneDrive");
        Ok(Sent {
            item_id: item.id,
            name,
            size: version.size,
            chunked,
        })
    }
}
