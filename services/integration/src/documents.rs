//! The documents service as the integration uses it: streaming OneDrive
//! content in as versions, deleting mirrored documents, streaming versions
//! out for "send to OneDrive".

use std::pin::pin;

use bytes::Bytes;
use folio_clients::{CallError, DocumentsClient, TracedChannel};
use folio_platform::actor::Actor;
use folio_proto::documents::v1::{self as pb, upload_header};
use futures::{Stream, StreamExt};
use tonic::Code;
use uuid::Uuid;

/// The tag of a document whose OneDrive file was deleted or moved out of
/// the connected folder (docs/adr/0032).
pub(crate) const REMOVED_TAG: &str = "removed-from-onedrive";

#[derive(Debug, thiserror::Error)]
pub enum DocumentsError {
    #[error("document not found")]
    NotFound,
    #[error("documents is unavailable")]
    Unavailable,
    #[error("documents refused the content: {0}")]
    Refused(String),
    #[error("the content could not be read from its source")]
    Source,
    #[error("documents answered unexpectedly")]
    Unexpected,
}

impl From<folio_clients::DocumentsError> for DocumentsError {
    fn from(error: folio_clients::DocumentsError) -> Self {
        match error {
            CallError::NotFound { .. } => Self::NotFound,
            CallError::DeadlineExceeded | CallError::Unavailable(_) => Self::Unavailable,
            CallError::Refused { message, .. } | CallError::Invalid { message, .. } => {
                Self::Refused(message.chars().take(200).collect())
            }
            CallError::Failed {
                code: Code::Aborted | Code::Unknown,
                ..
            } => Self::Unavailable,
            CallError::Failed {
                code: Code::ResourceExhausted | Code::FailedPrecondition | Code::OutOfRange,
                message,
            } => Self::Refused(message.chars().take(200).collect()),
            CallError::Failed { .. }
            | CallError::PermissionDenied(_)
            | CallError::Unauthenticated(_) => Self::Unexpected,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Target {
    New { title: String },
    Existing(Uuid),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uploaded {
    pub document_id: Uuid,
    pub number: u32,
    pub created: bool,
}

#[derive(Debug, Clone)]
pub struct Documents {
    client: DocumentsClient,
}

impl Documents {
    pub fn new(channel: TracedChannel) -> Self {
        Self {
            client: DocumentsClient::new(channel),
        }
    }

    /// Streams `content` (exactly `size` bytes) in as a OneDrive version. If
    /// the source fails or is short, the RPC is cancelled, so documents keeps
    /// nothing of it. With `idempotency_key`, a repeat of a call whose answer
    /// was lost answers the first result (docs/adr/0033).
    #[allow(clippy::too_many_arguments)]
    pub async fn upload<S, E>(
        &self,
        actor: &Actor,
        target: Target,
        file_name: &str,
        media_type: &str,
        size: Option<u64>,
        idempotency_key: Option<&str>,
        content: S,
    ) -> Result<Uploaded, DocumentsError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Send + 'static,
    {
        let header = pb::UploadHeader {
            target: Some(match target {
                Target::New { title } => upload_header::Target::NewDocument(pb::NewDocument {
                    title,
                    description: "Mirrored from OneDrive".to_owned(),
                    tags: vec![],
                }),
                Target::Existing(id) => upload_header::Target::DocumentId(id.to_string()),
            }),
            file_name: file_name.to_owned(),
            media_type: media_type.to_owned(),
            note: "OneDrive".to_owned(),
            source: pb::VersionSource::Onedrive.into(),
            idempotency_key: idempotency_key.unwrap_or_default().to_owned(),
            ..Default::default()
        };
        // Returning early drops the upload: the stream is reset, and
        // documents keeps nothing of it.
        let mut upload = self.client.upload_version(actor.request(header));
        let mut content = pin!(content);
        let mut seen = 0_u64;
        while let Some(chunk) = content.next().await {
            let chunk = chunk.map_err(|_| DocumentsError::Source)?;
            seen += chunk.len() as u64;
            if size.is_some_and(|s| seen > s) {
                return Err(DocumentsError::Source);
            }
            upload.send(&chunk).await?;
        }
        if size.is_some_and(|s| seen != s) {
            return Err(DocumentsError::Source);
        }
        let answer = upload.finish().await?;
        let version = answer.version.ok_or(DocumentsError::Unexpected)?;
        Ok(Uploaded {
            document_id: version
                .document_id
                .parse()
                .map_err(|_| DocumentsError::Unexpected)?,
            number: version.number,
            created: answer.created,
        })
    }

    /// Adds or removes the [`REMOVED_TAG`] of a document whose OneDrive file
    /// went away (or came back). A document deleted in Folio is fine.
    pub async fn mark_removed(
        &self,
        actor: &Actor,
        id: Uuid,
        removed: bool,
    ) -> Result<(), DocumentsError> {
        let client = &self.client;
        let document = match client
            .get_document(actor.request(pb::GetDocumentRequest { id: id.to_string() }))
            .await
        {
            Ok(d) => d,
            Err(error) if error.is_not_found() => return Ok(()),
            Err(error) => return Err(error.into()),
        };
        let has = document.tags.iter().any(|t| t == REMOVED_TAG);
        if has == removed {
            return Ok(());
        }
        let mut tags: Vec<String> = document
            .tags
            .into_iter()
            .filter(|t| t != REMOVED_TAG)
            .collect();
        if removed {
            // Documents allows 20 tags: ours wins over the last one.
            tags.truncate(19);
            tags.push(REMOVED_TAG.to_owned());
        }
        match client
            .update_document(actor.request(pb::UpdateDocumentRequest {
                id: id.to_string(),
                title: None,
                description: None,
                tags: Some(pb::Tags { tags }),
            }))
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if error.is_not_found() => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// Records in the organisation's event log that the connection's sync
    /// began failing (or works again), once per `key` (docs/adr/0068).
    pub async fn record_sync_event(
        &self,
        actor: &Actor,
        kind: pb::EventKind,
        connection: Uuid,
        key: &str,
        reason: &str,
    ) -> Result<(), DocumentsError> {
        self.client
            .clone()
            .record_integration_event(actor.request(pb::RecordIntegrationEventRequest {
                kind: kind.into(),
                connection_id: connection.to_string(),
                key: key.to_owned(),
                reason: reason.chars().take(500).collect(),
            }))
            .await?;
        Ok(())
    }

    /// Soft-deletes a document; one that is already gone is fine.
    pub async fn delete(&self, actor: &Actor, id: Uuid) -> Result<(), DocumentsError> {
        let client = &self.client;
        match client
            .delete_document(actor.request(pb::DeleteDocumentRequest { id: id.to_string() }))
            .await
        {
            Ok(_) => Ok(()),
            Err(error) if error.is_not_found() => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// A version (0: current) and its content from byte `from` on.
    pub async fn download(
        &self,
        actor: &Actor,
        id: Uuid,
        number: u32,
        from: u64,
    ) -> Result<
        (
            pb::Version,
            impl Stream<Item = Result<Bytes, DocumentsError>> + Send + Unpin + use<>,
        ),
        DocumentsError,
    > {
        let client = &self.client;
        let mut content = client
            .download_version(actor.request(pb::DownloadVersionRequest {
                document_id: id.to_string(),
                number,
                range: (from > 0).then_some(pb::ByteRange {
                    start: from,
                    end: None,
                }),
            }))
            .await?;
        let version = content.take_version().ok_or(DocumentsError::Unexpected)?;
        Ok((
            version,
            content.map(|chunk| chunk.map_err(DocumentsError::from)),
        ))
    }
}
