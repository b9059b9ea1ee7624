//! The documents service's contract (`folio.documents.v1`), with its two
//! streams: an upload sent in [`CHUNK`]s, and a download that the service
//! sees end as soon as the caller drops it.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use bytes::{Bytes, BytesMut};
use folio_proto::documents::v1::{
    self as pb, documents_service_client::DocumentsServiceClient, download_version_response,
    upload_version_request,
};
use futures::Stream;
use tokio::{sync::mpsc, task::JoinHandle};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Streaming};
use tracing::Instrument as _;

use crate::call::{client, unary};

/// What a call to the documents service failed with.
pub type DocumentsError = crate::CallError<pb::ErrorReason>;

/// Content travels to the documents service in messages of this size.
pub const CHUNK: usize = 256 * 1024;

client!(
    /// The documents service: documents, versions and their content, tasks.
    DocumentsClient,
    DocumentsServiceClient
);

unary!(DocumentsClient, DocumentsError, {
    read get_document(pb::GetDocumentRequest) -> pb::Document;
    read list_documents(pb::ListDocumentsRequest) -> pb::ListDocumentsResponse;
    read get_library_revision(pb::GetLibraryRevisionRequest) -> pb::LibraryRevision;
    write update_document(pb::UpdateDocumentRequest) -> pb::Document;
    write delete_document(pb::DeleteDocumentRequest) -> pb::DeleteDocumentResponse;
    read list_versions(pb::ListVersionsRequest) -> pb::ListVersionsResponse;
    write create_task(pb::CreateTaskRequest) -> pb::Task;
    read get_task(pb::GetTaskRequest) -> pb::Task;
    read list_tasks(pb::ListTasksRequest) -> pb::ListTasksResponse;
    write update_task(pb::UpdateTaskRequest) -> pb::Task;
    write delete_task(pb::DeleteTaskRequest) -> pb::DeleteTaskResponse;
    read list_events(pb::ListEventsRequest) -> pb::ListEventsResponse;
    write share_with_one_drive(pb::ShareWithOneDriveRequest) -> pb::ShareWithOneDriveResponse;
    write carry_forward_task(pb::CarryForwardTaskRequest) -> pb::Task;
    write close_task(pb::CloseTaskRequest) -> pb::Task;
    write decide_approval(pb::DecideApprovalRequest) -> pb::Task;
    write review_request(pb::ReviewRequestRequest) -> pb::Task;
    read list_comments(pb::ListCommentsRequest) -> pb::ListCommentsResponse;
    write add_comment(pb::AddCommentRequest) -> pb::Comment;
    write edit_comment(pb::EditCommentRequest) -> pb::Comment;
    write restore_version(pb::RestoreVersionRequest) -> pb::UploadVersionResponse;
    write label_version(pb::LabelVersionRequest) -> pb::Version;
    read get_retention(pb::GetRetentionRequest) -> pb::RetentionPolicy;
    write set_retention(pb::SetRetentionRequest) -> pb::RetentionPolicy;
    read list_my_tasks(pb::ListMyTasksRequest) -> pb::ListMyTasksResponse;
    /// Recorded once per key, so a repeat after a lost answer is harmless.
    write record_integration_event(pb::RecordIntegrationEventRequest) -> pb::RecordIntegrationEventResponse;
});

impl DocumentsClient {
    /// Opens an UploadVersion stream for `header` (its metadata, the actor,
    /// goes along). The content follows through [`Upload::send`]; nothing is
    /// stored unless [`Upload::finish`] is called: a dropped upload resets
    /// the stream and the service discards what it received. The stream has
    /// no deadline: it goes at the pace of its source.
    pub fn upload_version(&self, header: tonic::Request<pb::UploadHeader>) -> Upload {
        let (metadata, _, header) = header.into_parts();
        let (tx, rx) = mpsc::channel(4);
        let first = pb::UploadVersionRequest {
            part: Some(upload_version_request::Part::Header(header)),
        };
        // The receiver is alive (owned by the call below): this cannot fail.
        let _ = tx.try_send(first);
        let request = tonic::Request::from_parts(
            metadata,
            tonic::Extensions::default(),
            ReceiverStream::new(rx),
        );
        let mut client = self.inner.clone();
        // In the caller's span, so the call carries its trace.
        let call = tokio::spawn(
            async move {
                client
                    .upload_version(request)
                    .await
                    .map(tonic::Response::into_inner)
                    .map_err(DocumentsError::from)
            }
            .in_current_span(),
        );
        Upload {
            tx: Some(tx),
            call,
            buffer: BytesMut::with_capacity(CHUNK),
        }
    }

    /// Opens a DownloadVersion stream: the version (if the service sends
    /// it first) and then its content. Opening is under the deadline; the
    /// content then flows at the caller's pace. Dropping the [`Download`]
    /// cancels the stream, and the service stops reading and sending.
    pub async fn download_version(
        &self,
        request: impl tonic::IntoRequest<pb::DownloadVersionRequest>,
    ) -> Result<Download, DocumentsError> {
        let inner = &self.inner;
        let mut stream: Streaming<pb::DownloadVersionResponse> =
            crate::call::read(self.policy, request.into_request(), |r| {
                let mut client = inner.clone();
                async move { client.download_version(r).await }
            })
            .await?;
        let deadline = tokio::time::Instant::now() + self.policy.deadline;
        let first = match tokio::time::timeout_at(deadline, stream.message()).await {
            Ok(first) => first.map_err(DocumentsError::from)?,
            Err(_) => return Err(DocumentsError::DeadlineExceeded),
        };
        let (version, pending) = match first.and_then(|m| m.part) {
            Some(download_version_response::Part::Version(v)) => (Some(v), None),
            Some(download_version_response::Part::Chunk(c)) => (None, Some(c)),
            None => (None, None),
        };
        Ok(Download {
            version,
            pending,
            stream,
        })
    }
}

/// An UploadVersion stream being sent; see [`DocumentsClient::upload_version`].
#[derive(Debug)]
pub struct Upload {
    tx: Option<mpsc::Sender<pb::UploadVersionRequest>>,
    call: JoinHandle<Result<pb::UploadVersionResponse, DocumentsError>>,
    buffer: BytesMut,
}

impl Upload {
    /// Queues `bytes` of content, sending a message each [`CHUNK`]. If the
    /// service has ended the call (too large, not found…), its answer is
    /// the error.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), DocumentsError> {
        self.buffer.extend_from_slice(bytes);
        while self.buffer.len() >= CHUNK {
            let chunk = self.buffer.split_to(CHUNK).freeze();
            self.send_chunk(chunk).await?;
        }
        Ok(())
    }

    async fn send_chunk(&mut self, chunk: Bytes) -> Result<(), DocumentsError> {
        let message = pb::UploadVersionRequest {
            part: Some(upload_version_request::Part::Chunk(chunk)),
        };
        let sent = match &self.tx {
            Some(tx) => tx.send(message).await.is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        self.tx = None;
        Err(match (&mut self.call).await {
            Ok(Err(error)) => error,
            Ok(Ok(_)) | Err(_) => DocumentsError::Failed {
                code: Code::Internal,
                message: "the upload ended before its content was sent".to_owned(),
            },
        })
    }

    /// Sends what is left, ends the stream cleanly and waits for the answer.
    pub async fn finish(mut self) -> Result<pb::UploadVersionResponse, DocumentsError> {
        if !self.buffer.is_empty() {
            let rest = self.buffer.split().freeze();
            self.send_chunk(rest).await?;
        }
        drop(self.tx.take());
        match (&mut self.call).await {
            Ok(answer) => answer,
            Err(joined) => Err(DocumentsError::Failed {
                code: Code::Internal,
                message: format!("upload task: {joined}"),
            }),
        }
    }
}

impl Drop for Upload {
    /// Not finished: reset the stream, so the service discards the content.
    fn drop(&mut self) {
        if self.tx.is_some() {
            self.call.abort();
        }
    }
}

/// A DownloadVersion stream: its version, then its content as chunks.
#[derive(Debug)]
pub struct Download {
    version: Option<pb::Version>,
    pending: Option<Bytes>,
    stream: Streaming<pb::DownloadVersionResponse>,
}

impl Download {
    /// The version, when the service sent it ahead of the content.
    pub fn take_version(&mut self) -> Option<pb::Version> {
        self.version.take()
    }
}

impl Stream for Download {
    type Item = Result<Bytes, DocumentsError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(chunk) = self.pending.take() {
            return Poll::Ready(Some(Ok(chunk)));
        }
        loop {
            return match Pin::new(&mut self.stream).poll_next(cx) {
                Poll::Ready(Some(Ok(pb::DownloadVersionResponse {
                    part: Some(download_version_response::Part::Chunk(chunk)),
                }))) => Poll::Ready(Some(Ok(chunk))),
                Poll::Ready(Some(Ok(_))) => continue,
                Poll::Ready(Some(Err(status))) => {
                    Poll::Ready(Some(Err(DocumentsError::from(status))))
                }
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}
