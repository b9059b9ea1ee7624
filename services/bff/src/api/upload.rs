//! Multipart uploads streamed straight into the documents service: text
//! parts first, then the file, whose bytes go on as they arrive. A broken or
//! oversize upload cancels the gRPC stream, so nothing is stored.
//!
//! Every multipart route reads its body through [`Form`]: the body is
//! metered as it arrives, so part headers and text parts can never be
//! buffered beyond their caps; only [`Part::into_file`] lifts the cap, to
//! the upload limit, for the one part that is streamed on.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    body::Body,
    extract::{FromRequest, Multipart, Request, multipart::Field},
};
use folio_clients::Upload;
use folio_platform::actor::Actor;
use folio_proto::documents::v1::{self as pb, UploadVersionResponse, upload_header};
use futures::StreamExt as _;

use crate::{error::ApiError, web::AppState};

/// The most a text part may hold, in bytes (documented in openapi/bff.yaml;
/// the largest field, a 10,000-character description, fits in any encoding).
pub(crate) const TEXT_PART_LIMIT: u64 = 64 * 1024;
/// Boundaries and part headers between two parts.
const FRAMING: u64 = 16 * 1024;

/// How much of the body may be read: the bytes read so far and the point
/// past which reading fails. Shared by the body stream and the reader.
#[derive(Debug)]
struct Meter {
    read: AtomicU64,
    allowed: AtomicU64,
    /// The limit a refusal names (a text part's or the file's).
    limit: AtomicU64,
}

impl Meter {
    fn new() -> Self {
        Self {
            read: AtomicU64::new(0),
            allowed: AtomicU64::new(FRAMING + TEXT_PART_LIMIT),
            limit: AtomicU64::new(TEXT_PART_LIMIT),
        }
    }

    /// From here, `more` bytes (plus framing) may be read, refused as `limit`.
    fn allow(&self, more: u64, limit: u64) {
        let read = self.read.load(Ordering::Acquire);
        self.limit.store(limit, Ordering::Release);
        self.allowed.store(
            read.saturating_add(FRAMING).saturating_add(more),
            Ordering::Release,
        );
    }

    /// Counts `bytes`; false once the body had already gone past what is
    /// allowed before this chunk. One chunk beyond the allowance is let in:
    /// the transport decides chunk sizes (a small request arrives whole, its
    /// file bytes with the first part's headers), and a chunk is bounded by
    /// the server's read buffer, so memory stays bounded all the same.
    fn take(&self, bytes: usize) -> bool {
        let before = self.read.fetch_add(bytes as u64, Ordering::AcqRel);
        before <= self.allowed.load(Ordering::Acquire)
    }

    fn exceeded(&self) -> bool {
        self.read.load(Ordering::Acquire) > self.allowed.load(Ordering::Acquire)
    }

    fn too_large(&self) -> ApiError {
        ApiError::PayloadTooLarge {
            limit: self.limit.load(Ordering::Acquire),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the multipart body exceeds its limit")]
struct OverLimit;

/// A `multipart/form-data` body, metered (anything else is 415).
pub(crate) struct Form {
    multipart: Multipart,
    meter: Arc<Meter>,
    upload_limit: u64,
}

impl FromRequest<AppState> for Form {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let meter = Arc::new(Meter::new());
        let (parts, body) = request.into_parts();
        let counted = Arc::clone(&meter);
        let mut over = false;
        let body = body.into_data_stream().map(move |chunk| {
            let chunk = chunk.map_err(axum::BoxError::from)?;
            // Once over, stay over: multer must not get past the cap.
            if over || !counted.take(chunk.len()) {
                over = true;
                return Err(axum::BoxError::from(OverLimit));
            }
            Ok(chunk)
        });
        let request = Request::from_parts(parts, Body::from_stream(body));
        let multipart = Multipart::from_request(request, state).await.map_err(|_| {
            ApiError::UnsupportedMediaType {
                expected: "multipart/form-data",
            }
        })?;
        Ok(Self {
            multipart,
            meter,
            upload_limit: state.config.max_upload_bytes,
        })
    }
}

impl Form {
    /// The next part, its headers read within the framing allowance.
    pub(crate) async fn next_part(&mut self) -> Result<Option<Part<'_>>, ApiError> {
        self.meter.allow(TEXT_PART_LIMIT, TEXT_PART_LIMIT);
        let meter = Arc::clone(&self.meter);
        let upload_limit = self.upload_limit;
        match self.multipart.next_field().await {
            Ok(Some(field)) => Ok(Some(Part {
                field,
                meter,
                upload_limit,
            })),
            Ok(None) => Ok(None),
            Err(error) => Err(part_error(&meter, &error)),
        }
    }
}

/// One part of a [`Form`].
pub(crate) struct Part<'a> {
    field: Field<'a>,
    meter: Arc<Meter>,
    upload_limit: u64,
}

impl<'a> Part<'a> {
    pub(crate) fn name(&self) -> &str {
        self.field.name().unwrap_or_default()
    }

    /// The part as UTF-8 text, refused (413) as soon as it passes
    /// [`TEXT_PART_LIMIT`] — before it is held in memory.
    pub(crate) async fn text(mut self) -> Result<String, ApiError> {
        let name = self.name().to_owned();
        let mut bytes = Vec::new();
        loop {
            match self.field.chunk().await {
                Ok(Some(chunk)) => {
                    if (bytes.len() + chunk.len()) as u64 > TEXT_PART_LIMIT {
                        return Err(ApiError::PayloadTooLarge {
                            limit: TEXT_PART_LIMIT,
                        });
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(error) => return Err(part_error(&self.meter, &error)),
            }
        }
        String::from_utf8(bytes).map_err(|_| ApiError::invalid(&name, "text parts must be UTF-8"))
    }

    /// The part as a file to stream on: it may be as large as an upload.
    pub(crate) fn into_file(self) -> FilePart<'a> {
        self.meter.allow(self.upload_limit, self.upload_limit);
        FilePart {
            field: self.field,
            meter: self.meter,
        }
    }
}

/// A part whose bytes are streamed on, chunk by chunk.
pub(crate) struct FilePart<'a> {
    field: Field<'a>,
    meter: Arc<Meter>,
}

impl FilePart<'_> {
    pub(crate) fn file_name(&self) -> Option<&str> {
        self.field.file_name()
    }

    pub(crate) fn content_type(&self) -> Option<&str> {
        self.field.content_type()
    }

    pub(crate) async fn chunk(&mut self) -> Result<Option<bytes::Bytes>, ApiError> {
        self.field
            .chunk()
            .await
            .map_err(|error| part_error(&self.meter, &error))
    }
}

fn part_error(meter: &Meter, error: &axum::extract::multipart::MultipartError) -> ApiError {
    if meter.exceeded() || error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        meter.too_large()
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
    form: &mut Form,
    allowed: &[&str],
    target: impl FnOnce(&HashMap<String, String>) -> Result<Target, ApiError>,
) -> Result<UploadVersionResponse, ApiError> {
    let mut texts = HashMap::new();
    let mut target = Some(target);
    let pending = loop {
        let part = form
            .next_part()
            .await?
            .ok_or_else(|| ApiError::invalid("file", "the file part is missing"))?;
        let name = part.name().to_owned();
        if name == "file" {
            let decide = target
                .take()
                .ok_or_else(|| ApiError::Internal("two file parts reached".into()))?;
            let (destination, note) = decide(&texts)?;
            break send_file(state, actor, destination, note, part.into_file()).await?;
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
        let text = part.text().await?;
        texts.insert(name, form_newlines(&text));
    };
    expect_end(form).await?;
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
/// stream is still open, so dropping this cancels the upload.
pub(crate) struct PendingUpload(Upload);

impl PendingUpload {
    /// Ends the stream cleanly and waits for the service's answer.
    pub(crate) async fn finish(self) -> Result<UploadVersionResponse, ApiError> {
        self.0
            .finish()
            .await
            .map_err(|e| ApiError::from_call(e, "document"))
    }
}

/// Streams `file` to the documents service as a new version of `target`.
pub(crate) async fn send_file(
    state: &AppState,
    actor: &Actor,
    target: Destination,
    note: String,
    mut file: FilePart<'_>,
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
        idempotency_key: String::new(),
    };
    // An error returns early: dropping the upload cancels the call.
    let mut upload = state.documents.upload_version(actor.request(header));
    while let Some(chunk) = file.chunk().await? {
        metrics::counter!("folio_upload_bytes_total", "service" => "bff")
            .increment(chunk.len() as u64);
        // The service may end the call early (too large, not found…): its answer says why.
        upload
            .send(&chunk)
            .await
            .map_err(|e| ApiError::from_call(e, "document"))?;
    }
    Ok(PendingUpload(upload))
}

/// Refuses anything after the file part (the file has been sent by then, so
/// this runs before the upload is let to complete).
pub(crate) async fn expect_end(form: &mut Form) -> Result<(), ApiError> {
    match form.next_part().await? {
        None => Ok(()),
        Some(part) => {
            let name = part.name().to_owned();
            Err(ApiError::invalid(
                &name,
                "parts after the file are not allowed",
            ))
        }
    }
}
