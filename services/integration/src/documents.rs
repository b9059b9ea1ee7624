//! The documents service as the integration uses it: streaming OneDrive
//! content in as versions, deleting mirrored documents, streaming versions
//! out for "send to OneDrive".

use bytes::Bytes;
use folio_platform::actor::Actor;
use folio_platform::grpc::TracedChannel;
use folio_proto::documents::v1::{
    self as pb, documents_service_client::DocumentsServiceClient, download_version_response,
    upload_header, upload_version_request,
};
use futures::{Stream, StreamExt, stream};
use tokio::sync::oneshot;
use tonic::{Code, Status};
use uuid::Uuid;

/// The tag of a document whose OneDrive file was deleted or moved out of
/// the connected folder (docs/adr/0032).
pub const REMOVED_TAG: &str = "removed-from-onedrive";

/// Decoded messages may be this large (documents sends 256 KiB chunks).
const MAX_MESSAGE: usize = 8 << 20;

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

impl From<Status> for DocumentsError {
    fn from(status: Status) -> Self {
        match status.code() {
            Code::NotFound => Self::NotFound,
            Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Cancelled
            | Code::Aborted
            | Code::Unknown => Self::Unavailable,
            Code::InvalidArgument
            | Code::ResourceExhausted
            | Code::FailedPrecondition
            | Code::OutOfRange => Self::Refused(status.message().chars().take(200).collect()),
            Code::Ok
            | Code::AlreadyExists
            | Code::PermissionDenied
            | Code::Unauthenticated
            | Code::Unimplemented
            | Code::Internal
            | Code::DataLoss => Self::Unexpected,
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
    client: DocumentsServiceClient<TracedChannel>,
}

impl Documents {
    pub fn new(channel: TracedChannel) -> Self {
        Self {
            client: DocumentsServiceClient::new(channel)
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
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
        let (failed_tx, failed_rx) = oneshot::channel::<()>();
        let body = guarded(content, size, failed_tx).map(|chunk| pb::UploadVersionRequest {
            part: Some(upload_version_request::Part::Chunk(chunk)),
        });
        let messages = stream::once(async move {
            pb::UploadVersionRequest {
                part: Some(upload_version_request::Part::Header(header)),
            }
        })
        .chain(body);
        let mut client = self.client.clone();
        let call = client.upload_version(actor.request(messages));
        tokio::select! {
            answer = call => {
                let answer = answer?.into_inner();
                let version = answer.version.ok_or(DocumentsError::Unexpected)?;
                Ok(Uploaded {
                    document_id: version.document_id.parse().map_err(|_| DocumentsError::Unexpected)?,
                    number: version.number,
                    created: answer.created,
                })
            }
            // Dropping the call resets the stream: documents aborts the blob.
            Ok(()) = failed_rx => Err(DocumentsError::Source),
        }
    }

    /// Adds or removes the [`REMOVED_TAG`] of a document whose OneDrive file
    /// went away (or came back). A document deleted in Folio is fine.
    pub async fn mark_removed(
        &self,
        actor: &Actor,
        id: Uuid,
        removed: bool,
    ) -> Result<(), DocumentsError> {
        let mut client = self.client.clone();
        let document = match client
            .get_document(actor.request(pb::GetDocumentRequest { id: id.to_string() }))
            .await
        {
            Ok(d) => d.into_inner(),
            Err(status) if status.code() == Code::NotFound => return Ok(()),
            Err(status) => return Err(status.into()),
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
            Err(status) if status.code() == Code::NotFound => Ok(()),
            Err(status) => Err(status.into()),
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
        let mut client = self.client.clone();
        match client
            .delete_document(actor.request(pb::DeleteDocumentRequest { id: id.to_string() }))
            .await
        {
            Ok(_) => Ok(()),
            Err(status) => {
                let error = DocumentsError::from(status);
                if matches!(error, DocumentsError::NotFound) {
                    Ok(())
                } else {
                    Err(error)
                }
            }
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
        let mut client = self.client.clone();
        let mut stream = client
            .download_version(actor.request(pb::DownloadVersionRequest {
                document_id: id.to_string(),
                number,
                range: (from > 0).then_some(pb::ByteRange {
                    start: from,
                    end: None,
                }),
            }))
            .await?
            .into_inner();
        let version = match stream.message().await? {
            Some(pb::DownloadVersionResponse {
                part: Some(download_version_response::Part::Version(v)),
            }) => v,
            _ => return Err(DocumentsError::Unexpected),
        };
        let chunks = stream.filter_map(|message| async move {
            match message {
                Ok(pb::DownloadVersionResponse {
                    part: Some(download_version_response::Part::Chunk(c)),
                }) => Some(Ok(c)),
                Ok(_) => None,
                Err(status) => Some(Err(DocumentsError::from(status))),
            }
        });
        Ok((version, Box::pin(chunks)))
    }
}

/// Passes content through; on an error, or a length other than `size`, it
/// signals `failed` and then never ends (so the RPC is not completed).
fn guarded<S, E>(
    content: S,
    size: Option<u64>,
    failed: oneshot::Sender<()>,
) -> impl Stream<Item = Bytes> + Send
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Send + 'static,
{
    struct Guard<S> {
        inner: std::pin::Pin<Box<S>>,
        seen: u64,
        failed: Option<oneshot::Sender<()>>,
    }
    let state = Guard {
        inner: Box::pin(content),
        seen: 0,
        failed: Some(failed),
    };
    stream::unfold(state, move |mut state| async move {
        let fail = |state: &mut Guard<S>| {
            if let Some(tx) = state.failed.take() {
                let _ = tx.send(());
            }
        };
        match state.inner.next().await {
            Some(Ok(chunk)) => {
                state.seen += chunk.len() as u64;
                if size.is_some_and(|s| state.seen > s) {
                    fail(&mut state);
                    futures::future::pending::<()>().await;
                }
                Some((chunk, state))
            }
            Some(Err(_)) => {
                fail(&mut state);
                futures::future::pending::<()>().await;
                None
            }
            None => {
                if size.is_some_and(|s| state.seen != s) {
                    fail(&mut state);
                    futures::future::pending::<()>().await;
                }
                None
            }
        }
    })
}
