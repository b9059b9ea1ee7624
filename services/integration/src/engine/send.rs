//! "Send to OneDrive": a version streamed from documents into the connected
//! folder (or over the file the document mirrors), then mapped, so the
//! notification of our own upload adds no version.
//!
//! The item Graph answers is the truth: SharePoint rewrites uploaded Office,
//! PDF, HTML and JPEG files (size and hash change), and that rewrite is not
//! a Folio version (docs/adr/0036). Over a mapped file the upload carries
//! `If-Match` with the eTag Folio last saw, so a change made in OneDrive
//! meanwhile is never overwritten: Graph answers 412, the change is synced
//! in as a version, and the person is told of the conflict (docs/adr/0035).
//!
//! A new file's send is recorded as pending before it uploads: when Graph's
//! answer is lost after OneDrive created the file, the echo's delta or a
//! retried send adopts that file instead of making a second document or a
//! "name 1.ext" (docs/adr/0034).

use std::time::Duration;

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
    domain::{Connection, PendingSend, onedrive_name},
    error::Error,
    graph::{self, Credentials, DriveItem, SIMPLE_LIMIT, UploadError, UploadTarget},
    store::{
        connections,
        items::{self, ItemFacts},
        pending_sends,
    },
};

/// Storing the mapping of what was sent is retried this often: without it
/// the echo of the upload would become a second document.
const MAP_ATTEMPTS: u32 = 3;

/// What was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub item_id: String,
    pub name: String,
    pub size: u64,
    pub chunked: bool,
}

/// What a send went for, once known: the Folio version, and the mapped
/// OneDrive file (id, name) it would replace.
#[derive(Debug)]
pub(super) struct SendAttempt {
    pub(super) version: u32,
    pub(super) over: Option<(String, String)>,
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
        WorkError::Graph(e) => Error::from_send(e),
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
        // only after the mapping below is stored. The lease is renewed for
        // as long as the upload takes: a lapsed lease would let a delta see
        // the new file unmapped and make a second document of it.
        let lease = self.lease(conn.id, LEASE_WAIT).await?;
        let alive = self.keep_alive(&lease);
        let mut attempt = None;
        let sent = self
            .send_leased(&conn, actor, document, version, &lease, &mut attempt)
            .await;
        // Still under the lease, so the delta that brings OneDrive's change
        // in finds the conflict it answers (docs/adr/0043).
        self.keep_conflicts(&conn, actor, document, attempt, &sent)
            .await;
        drop(alive);
        self.release(lease).await;
        if let Err(Error::OneDrive {
            refusal: crate::error::Refusal::Conflict,
            ..
        }) = &sent
        {
            // OneDrive's change comes in as a version before anything else
            // (if this fails, the next follow-up or safety delta brings it).
            let requested = async {
                let mut db = self.db.pool.acquire().await?;
                connections::request_sync(&mut db, conn.id, now_millis()).await
            }
            .await;
            if let Err(error) = requested {
                tracing::warn!(connection = %conn.id, %error, "cannot ask for a delta after a conflict");
            }
            self.wake_sync();
        }
        sent
    }

    async fn send_leased(
        &self,
        conn: &Connection,
        actor: &Actor,
        document: Uuid,
        number: u32,
        lease: &Lease,
        attempt: &mut Option<SendAttempt>,
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
        *attempt = Some(SendAttempt {
            version: version.number,
            over: mapped
                .as_ref()
                .map(|row| (row.item_id.clone(), row.name.clone())),
        });
        let target = match &mapped {
            Some(row) => UploadTarget::Existing {
                item: row.item_id.clone(),
                if_match: row.etag.clone(),
            },
            None => match self.adopt_lost_send(conn, &credentials, document).await? {
                // The lost send had this very content: it is in OneDrive.
                Some((item, sha256)) if sha256 == version.sha256 => {
                    drop(content);
                    let name = item
                        .name
                        .clone()
                        .unwrap_or_else(|| version.file_name.clone());
                    tracing::info!(connection = %conn.id, %document, item = %item.id, "a lost send's file adopted; nothing uploaded");
                    return Ok(Sent {
                        item_id: item.id,
                        name,
                        size: version.size,
                        chunked: false,
                    });
                }
                Some((item, _)) => UploadTarget::Existing {
                    item: item.id,
                    if_match: item.etag,
                },
                None => {
                    let name = onedrive_name(&version.file_name);
                    let pending = PendingSend {
                        connection_id: conn.id,
                        document_id: document,
                        version: version.number,
                        parent_id: conn.folder_id.clone(),
                        name: name.clone(),
                        sha256: version.sha256.clone(),
                        size: version.size,
                        started_at: now_millis(),
                        actor_id: actor.user_id,
                    };
                    let mut db = self.db.pool.acquire().await?;
                    pending_sends::record(&mut db, &pending).await?;
                    UploadTarget::New {
                        parent: conn.folder_id.clone(),
                        name,
                    }
                }
            },
        };
        let chunked = version.size > SIMPLE_LIMIT;
        let item: DriveItem = if chunked {
            drop(content);
            let url = self
                .graph
                .create_upload_session(&credentials, &conn.drive_id, &target)
                .await
                .map_err(Error::from_send)?;
            let number = version.number;
            let uploaded =
                graph::upload_session(self.graph.plain(), &url, version.size, |from| async move {
                    self.documents
                        .download(&reader, document, number, from)
                        .await
                        .map(|(_, stream)| stream)
                })
                .await;
            match uploaded {
                Ok(item) => item,
                Err(UploadError::Source(e)) => return Err(documents_error(e)),
                Err(UploadError::SizeMismatch) => {
                    return Err(Error::Documents(
                        "the version is shorter than announced".to_owned(),
                    ));
                }
                Err(UploadError::Graph(e)) => return Err(Error::from_send(e)),
            }
        } else {
            let mut buffer = BytesMut::with_capacity(usize::try_from(version.size).unwrap_or(0));
            let mut content = content;
            while let Some(chunk) = content.next().await {
                buffer.extend_from_slice(&chunk.map_err(documents_error)?);
            }
            self.graph
                .upload_small(&credentials, &conn.drive_id, &target, buffer.freeze())
                .await
                .map_err(Error::from_send)?
        };
        // First of all, whatever happens next: map the item Graph answered.
        let name = item
            .name
            .clone()
            .unwrap_or_else(|| version.file_name.clone());
        self.map_sent(conn, &item, &name, document).await?;
        if item.size.is_some_and(|s| s != version.size) {
            // SharePoint rewrote the file (docs/adr/0036): its answer is
            // what OneDrive holds and what the echo will show.
            tracing::info!(
                connection = %conn.id,
                %document,
                sent = version.size,
                stored = item.size,
                "OneDrive rewrote the sent file"
            );
        }
        // The lease was renewed throughout; if another worker took it, the
        // mapping above is still right, but say so.
        if self.beat(lease).is_err() {
            tracing::warn!(connection = %conn.id, "the lease lapsed during a send");
        }
        tracing::info!(connection = %conn.id, %document, item = %item.id, chunked, "sent a version to OneDrive");
        Ok(Sent {
            item_id: item.id,
            name,
            size: version.size,
            chunked,
        })
    }

    /// The file an earlier send of `document` created in OneDrive when its
    /// answer was lost, mapped to the document now, with the SHA-256 that
    /// send uploaded; `None` when there is no such file (nothing pending,
    /// expired, not there, mapped to something else, or other content).
    async fn adopt_lost_send(
        &self,
        conn: &Connection,
        credentials: &Credentials,
        document: Uuid,
    ) -> Result<Option<(DriveItem, String)>, Error> {
        let now = now_millis();
        let pending = {
            let mut db = self.db.pool.acquire().await?;
            pending_sends::of_document(&mut db, conn.id, document).await?
        };
        let Some(pending) = pending.filter(|p| !p.expired(now)) else {
            return Ok(None);
        };
        let Some(found) = self
            .graph
            .child(
                credentials,
                &conn.drive_id,
                &pending.parent_id,
                &pending.name,
            )
            .await
            .map_err(Error::from_send)?
        else {
            return Ok(None);
        };
        let taken = {
            let mut db = self.db.pool.acquire().await?;
            items::get(&mut db, conn.org_id, &conn.drive_id, &found.id).await?
        }
        .is_some_and(|row| !row.deleted && row.document_id.is_some());
        let hash = found.content_hash();
        let name = found.name.clone().unwrap_or_default();
        if taken
            || found.is_folder()
            || !pending.is_listed_as(found.parent_id(), &name, found.size, hash.as_deref(), now)
        {
            return Ok(None);
        }
        self.map_sent(conn, &found, &name, document).await?;
        Ok(Some((found, pending.sha256)))
    }

    /// Maps the uploaded item to the document, with the tags Graph gave,
    /// and clears the send's pending record in the same transaction.
    async fn map_sent(
        &self,
        conn: &Connection,
        item: &DriveItem,
        name: &str,
        document: Uuid,
    ) -> Result<(), Error> {
        let content_hash = item.content_hash();
        let facts = ItemFacts {
            item_id: &item.id,
            parent_id: item.parent_id().or(Some(conn.folder_id.as_str())),
            name,
            is_folder: false,
            document_id: Some(document),
            ctag: item.ctag.as_deref(),
            etag: item.etag.as_deref(),
            content_hash: content_hash.as_deref(),
            round: None,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let stored = async {
                let mut tx = self.db.pool.begin().await?;
                items::put(&mut tx, conn.org_id, &conn.drive_id, &facts, now_millis()).await?;
                pending_sends::clear(&mut tx, conn.id, document).await?;
                tx.commit().await?;
                Ok::<_, Error>(())
            }
            .await;
            match stored {
                Ok(()) => return Ok(()),
                Err(error) if attempt < MAP_ATTEMPTS => {
                    tracing::warn!(%error, attempt, "cannot map a sent file yet; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
                Err(error) => return Err(error),
            }
        }
    }
}
