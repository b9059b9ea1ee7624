//! Multipart uploads streamed straight into the documents service: text
//! parts first, then the file, whose bytes go on as they arrive. A broken or
//! oversize upload cancels the gRPC stream, so nothing is stored.

use std::collections::HashMap;

use axum::extract::{
    Multipart,
    multipart::{Field, MultipartError, MultipartRejection},
};
use bytes::BytesMut;
use folio_platform::actor::Actor;
use folio_proto::documents::v1::{
    self as pb, UploadVersionResponse, upload_header, upload_version_request,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tracing::Instrument as _;

use crate::{error::ApiError, web::AppState};

/// Content travels to the documents service in messages of this size.
const CHUNK: usize = 256 * 1024;

pub(crate) fn multipart_or_415(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Multipart, ApiError> {
    multipart.map_err(|_| ApiError::UnsupportedMediaType {
        expected: "multipart/form-data",
    })
}

fn part_error(error: &MultipartError, limit: u64) -> ApiError {
    if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge { limit }
    } else {
        tracing::info!(error = ?error, "multipart body refused");
        ApiError::Malformed("the multipart body is malformed or was cut short".to_owned())
    }
}

/// Where an uploaded file goes: a document (new or existing), or the
/// request it fulfils (whose document the documents service knows).
pub(crate) enum Destination {
    Target(upload_header::Target),
    Request(String),
}

impl From<upload_header::Target> for Destination {
    fn from(target: upload_header::Target) -> Self {
        Self::Target(target)
    }
}

/// What the text parts decide: where the file goes, and its note.
pub(crate) type Target = (Destination, String);

/// Reads text parts (only those in `allowed`, each once) up to the `file`
/// part, streams the file to the documents service, checks nothing follows
/// it, and only then lets the version commit.
pub(crate) async fn receive(
    state: &AppState,
    actor: &Actor,
    multipart: &mut Multipart,
    allowed: &[&str],
    target: impl FnOnce(&HashMap<String, String>) -> Result<Target, ApiError>,
) -> Result<UploadVersionResponse, ApiError> {
    let limit = state.config.max_upload_bytes;
    let mut texts = HashMap::new();
    let mut target = Some(target);
    let pending = loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| part_error(&e, limit))?
            .ok_or_else(|| ApiError::invalid("file", "the file part is missing"))?;
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let decide = target
                .take()
                .ok_or_else(|| ApiError::Internal("two file parts reached".into()))?;
            let (destination, note) = decide(&texts)?;
            break send_file(state, actor, destination, note, field).await?;
        }
        if !allowed.contains(&name.as_str()) {
            return Err(ApiError::invalid(&name, format!("unknown part {name:?}")));
        }
        if texts.contains_key(&name) {
            return Err(ApiError::invalid(
                &name,
                format!("part {name:?} is repeated"),
            ));
        }
        let text = field.text().await.map_err(|e| part_error(&e, limit))?;
        texts.insert(name, form_newlines(&text));
    };
    expect_end(multipart, limit).await?;
    pending.finish().await
}

/// Browsers send every line break of a form field as CRLF (HTML's
/// multipart/form-data encoding); a text part means LF, as the same text in
/// JSON would.
fn form_newlines(text: &str) -> String {
    if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_owned()
    }
}

/// The last path segment, without control characters, at most 255 bytes.
pub(crate) fn clean_file_name(raw: &str) -> Result<String, ApiError> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut name: String = last.chars().filter(|c| !c.is_control()).collect();
    while name.len() > 255 {
        name.pop();
    }
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed == "." || trimmed == ".." {
        return Err(ApiError::invalid("file", "the file needs a name"));
    }
    Ok(trimmed.to_owned())
}

fn media_type(raw: Option<&str>) -> String {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match raw.map(str::trim) {
        Some(value)
            if value.len() <= 255
                && value
                    .split(';')
                    .next()
                    .and_then(|essence| essence.trim().split_once('/'))
                    .is_some_and(|(t, s)| t != "*" && s != "*" && token(t) && token(s))
                && !value.chars().any(|c| c.is_control()) =>
        {
            value.to_ascii_lowercase()
        }
        _ => "application/octet-stream".to_owned(),
    }
}

/// A file fully streamed to the documents service, not yet committed: the
/// stream is still open, so the upload can be cancelled.
pub(crate) struct PendingUpload {
    tx: Option<mpsc::Sender<pb::UploadVersionRequest>>,
    call: tokio::task::JoinHandle<Result<tonic::Response<UploadVersionResponse>, tonic::Status>>,
}

impl PendingUpload {
    /// Ends the stream cleanly and waits for the service's answer.
    pub(crate) async fn finish(mut self) -> Result<UploadVersionResponse, ApiError> {
        drop(self.tx.take());
        let call = &mut self.call;
        Ok(call
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|s| ApiError::from_documents_status(&s, "document"))?
            .into_inner())
    }
}

impl Drop for PendingUpload {
    /// Not finished: reset the gRPC stream, and the service discards the blob.
    fn drop(&mut self) {
        if self.tx.is_some() {
            self.call.abort();
        }
    }
}

/// Streams `file` to the documents service as a new version of `target`.
pub(crate) async fn send_file(
    state: &AppState,
    actor: &Actor,
    target: Destination,
    note: String,
    mut file: Field<'_>,
) -> Result<PendingUpload, ApiError> {
    let file_name = clean_file_name(file.file_name().unwrap_or_default())?;
    let (target, request_id) = match target {
        Destination::Target(target) => (Some(target), String::new()),
        Destination::Request(id) => (None, id),
    };
    let header = pb::UploadHeader {
        target,
        request_id,
        file_name,
        media_type: media_type(file.content_type()),
        note,
        source: pb::VersionSource::Upload.into(),
    };
    let (tx, rx) = mpsc::channel(4);
    let message = |part| pb::UploadVersionRequest { part: Some(part) };
    // The receiver is alive (owned by the call below): this send cannot fail.
    let _ = tx
        .send(message(upload_version_request::Part::Header(header)))
        .await;
    let mut client = state.documents.clone();
    let request = actor.request(ReceiverStream::new(rx));
    // In the request's span, so the call carries its trace.
    let call = tokio::spawn(async move { client.upload_version(request).await }.in_current_span());
    let pending = PendingUpload {
        tx: Some(tx.clone()),
        call,
    };

    let limit = state.config.max_upload_bytes;
    let mut buffer = BytesMut::with_capacity(CHUNK);
    loop {
        let chunk = match file.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            // Dropping `pending` cancels the call.
            Err(error) => return Err(part_error(&error, limit)),
        };
        metrics::counter!("folio_upload_bytes_total", "service" => "bff")
            .increment(chunk.len() as u64);
        buffer.extend_from_slice(&chunk);
        if buffer.len() >= CHUNK {
            let part = upload_version_request::Part::Chunk(buffer.split().freeze());
            if tx.send(message(part)).await.is_err() {
                // The service ended the call early (too large, not found…): its answer says why.
                drop(tx);
                return Err(pending.finish().await.err().unwrap_or_else(|| {
                    ApiError::Internal("upload ended early without an error".into())
                }));
            }
        }
    }
    if !buffer.is_empty() {
        let part = upload_version_request::Part::Chunk(buffer.freeze());
        if tx.send(message(part)).await.is_err() {
            drop(tx);
            return Err(pending.finish().await.err().unwrap_or_else(|| {
                ApiError::Internal("upload ended early without an error".into())
            }));
        }
    }
    drop(tx);
    Ok(pending)
}

/// Refuses anything after the file part (the file has been sent by then, so
/// this runs before the upload is let to complete).
pub(crate) async fn expect_end(multipart: &mut Multipart, limit: u64) -> Result<(), ApiError> {
    match multipart.next_field().await {
        Ok(None) => Ok(()),
        Ok(Some(field)) => {
            let name = field.name().unwrap_or_default().to_owned();
            Err(ApiError::invalid(
                &name,
                "parts after the file are not allowed",
            ))
        }
        Err(e) => Err(part_error(&e, limit)),
    }
}

pub(crate) fn outcome_parts(
    outcome: UploadVersionResponse,
) -> Result<(pb::Document, pb::Version), ApiError> {
    match (outcome.document, outcome.version) {
        (Some(document), Some(version)) => Ok((document, version)),
        _ => Err(ApiError::Internal(
            "upload answered without a document".into(),
        )),
    }
}
