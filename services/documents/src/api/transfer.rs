//! The two streaming RPCs: content in (client stream), content out (server stream).

use bytes::{Bytes, BytesMut};
use folio_platform::actor::Actor;
use folio_proto::documents::v1::{
    self as pb, download_version_response, upload_header, upload_version_request,
};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};

use super::convert::{self, parse_id, parse_source};
use crate::{
    domain::{Description, FileName, IdempotencyKey, MediaType, Note, Tags, Title, VersionSource},
    error::Error,
    library::{Library, UploadHeader, UploadOutcome, UploadTarget},
};

/// Size of the content messages sent to downloaders.
const CHUNK: usize = 256 * 1024;

fn parse_header(header: pb::UploadHeader) -> Result<UploadHeader, Error> {
    let target = match header.target {
        _ if !header.request_id.trim().is_empty() => {
            if header.target.is_some() {
                return Err(Error::invalid(
                    "request_id",
                    "names the target itself; give no document_id or new_document with it",
                ));
            }
            UploadTarget::Request(parse_id("request_id", &header.request_id)?)
        }
        Some(upload_header::Target::DocumentId(id)) => {
            UploadTarget::Existing(parse_id("document_id", &id)?)
        }
        Some(upload_header::Target::NewDocument(new)) => UploadTarget::New {
            title: (!new.title.trim().is_empty())
                .then(|| Title::parse(&new.title))
                .transpose()?,
            description: Description::parse(&new.description)?,
            tags: Tags::parse(&new.tags)?,
        },
        None => {
            return Err(Error::invalid(
                "target",
                "must name a document_id or a new_document",
            ));
        }
    };
    Ok(UploadHeader {
        target,
        file_name: FileName::parse(&header.file_name)?,
        media_type: MediaType::parse(&header.media_type)?,
        note: Note::parse(&header.note)?,
        source: parse_source(header.source)?,
        idempotency_key: IdempotencyKey::parse(&header.idempotency_key)?,
    })
}

/// Reads the header, then streams every chunk into the blob store. Any
/// failure aborts the blob, so nothing of a failed upload remains.
/// `integration`: the integration's certificate carries the call, so only
/// OneDrive versions, of new documents or of documents linked to OneDrive.
pub(super) async fn receive_upload(
    library: &Library,
    actor: Actor,
    integration: bool,
    mut stream: Streaming<pb::UploadVersionRequest>,
) -> Result<UploadOutcome, Error> {
    let first = stream.message().await.map_err(|_| Error::Interrupted)?;
    let header = match first.and_then(|m| m.part) {
        Some(upload_version_request::Part::Header(header)) => parse_header(header)?,
        Some(upload_version_request::Part::Chunk(_)) | None => {
            return Err(Error::invalid("header", "must be the first message"));
        }
    };
    if integration {
        if header.source != VersionSource::OneDrive {
            return Err(Error::NotForIntegration(
                "add versions that are not from OneDrive",
            ));
        }
        if let UploadTarget::Existing(id) = &header.target {
            library.require_onedrive_link(&actor, *id).await?;
        }
    }
    let mut upload = library.begin_upload(actor, header).await?;
    loop {
        let next = match stream.message().await {
            Ok(Some(message)) => match message.part {
                Some(upload_version_request::Part::Chunk(chunk)) => Ok(Some(chunk)),
                Some(upload_version_request::Part::Header(_)) | None => Err(Error::invalid(
                    "chunk",
                    "every message after the header must be content",
                )),
            },
            Ok(None) => Ok(None),
            Err(_) => Err(Error::Interrupted),
        };
        let written = match next {
            Ok(Some(chunk)) => {
                metrics::counter!("folio_upload_bytes_total", "service" => "documents")
                    .increment(chunk.len() as u64);
                upload.write(chunk).await
            }
            Ok(None) => break,
            Err(e) => Err(e),
        };
        if let Err(error) = written {
            upload.abort().await;
            return Err(error);
        }
    }
    library.finish_upload(upload).await
}

type DownloadStream = ReceiverStream<Result<pb::DownloadVersionResponse, Status>>;

/// The version first, then its content in chunks of at most [`CHUNK`] bytes,
/// read from the blob store only as fast as the caller takes them.
pub(super) async fn send_download(
    library: &Library,
    actor: &Actor,
    request: pb::DownloadVersionRequest,
) -> Result<DownloadStream, Error> {
    let id = parse_id("document_id", &request.document_id)?;
    let range = request.range.map(|r| crate::domain::ByteRange {
        start: r.start,
        end: r.end,
    });
    let (version, mut content) = library
        .open_version(actor, id, request.number, range)
        .await?;
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let header = pb::DownloadVersionResponse {
            part: Some(download_version_response::Part::Version(convert::version(
                &version,
            ))),
        };
        if tx.send(Ok(header)).await.is_err() {
            return;
        }
        let mut pending = BytesMut::with_capacity(CHUNK);
        let send = |bytes: Bytes| {
            let tx = tx.clone();
            async move {
                metrics::counter!("folio_download_bytes_total", "service" => "documents")
                    .increment(bytes.len() as u64);
                let message = pb::DownloadVersionResponse {
                    part: Some(download_version_response::Part::Chunk(bytes)),
                };
                tx.send(Ok(message)).await.is_ok()
            }
        };
        while let Some(next) = content.next().await {
            match next {
                // A whole chunk with nothing before it goes on as it is.
                Ok(bytes) if pending.is_empty() && bytes.len() == CHUNK => {
                    if !send(bytes).await {
                        return;
                    }
                }
                Ok(bytes) => {
                    pending.extend_from_slice(&bytes);
                    while pending.len() >= CHUNK {
                        if !send(pending.split_to(CHUNK).freeze()).await {
                            return;
                        }
                    }
                }
                Err(error) => {
                    let _ = tx.send(Err(Status::from(error))).await;
                    return;
                }
            }
        }
        if !pending.is_empty() {
            send(pending.freeze()).await;
        }
    });
    Ok(ReceiverStream::new(rx))
}
