//! Downloads: streamed from the documents service, with `Range`, `ETag`,
//! `If-None-Match` and a safe `Content-Disposition`.

use axum::{
    Router,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use folio_proto::documents::v1 as pb;
use futures::StreamExt;

use crate::{
    error::ApiError,
    rest::{
        disposition,
        forms::{path_id, path_version},
        range::{Conditions, Delivery, etag},
    },
    web::{AppState, extract::Authed},
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/documents/{document_id}/content", get(current))
        .route(
            "/api/v1/documents/{document_id}/versions/{number}/content",
            get(numbered),
        )
}

async fn current(
    State(state): State<AppState>,
    authed: Authed,
    Path(document_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = path_id("document_id", &document_id)?;
    let document = state
        .documents
        .get_document(
            authed
                .actor()
                .request(pb::GetDocumentRequest { id: id.to_string() }),
        )
        .await
        .map_err(|s| ApiError::from_call(s, "document"))?;
    let version = document.current.ok_or(ApiError::NotFound("version"))?;
    download(&state, &authed, version, &headers).await
}

async fn numbered(
    State(state): State<AppState>,
    authed: Authed,
    Path((document_id, number)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = path_id("document_id", &document_id)?;
    let number = path_version(&number)?;
    let versions = state
        .documents
        .list_versions(authed.actor().request(pb::ListVersionsRequest {
            document_id: id.to_string(),
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "document"))?
        .versions;
    let version = versions
        .into_iter()
        .find(|v| v.number == number)
        .ok_or(ApiError::NotFound("version"))?;
    download(&state, &authed, version, &headers).await
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn download(
    state: &AppState,
    authed: &Authed,
    version: pb::Version,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let tag = etag(&version.sha256);
    let conditions = Conditions {
        if_none_match: header_text(headers, header::IF_NONE_MATCH),
        if_range: header_text(headers, header::IF_RANGE),
        range: header_text(headers, header::RANGE),
    };
    match Delivery::plan(&tag, version.size, conditions) {
        Delivery::NotModified => Ok(not_modified(&tag)),
        Delivery::Unsatisfiable => Err(ApiError::RangeNotSatisfiable { size: version.size }),
        Delivery::Content { span, length } => {
            let body = if length == 0 {
                Body::empty()
            } else {
                content(state, authed, &version, span).await?
            };
            Ok(present(&version, &tag, span, length, body))
        }
    }
}

/// The version's bytes (all, or the inclusive `span`) as a body. A client
/// that goes away drops the body, and with it the stream.
async fn content(
    state: &AppState,
    authed: &Authed,
    version: &pb::Version,
    span: Option<(u64, u64)>,
) -> Result<Body, ApiError> {
    let content = state
        .documents
        .download_version(authed.actor().request(pb::DownloadVersionRequest {
            document_id: version.document_id.clone(),
            number: version.number,
            range: span.map(|(first, last)| pb::ByteRange {
                start: first,
                end: Some(last),
            }),
        }))
        .await
        .map_err(|e| ApiError::from_call(e, "version"))?;
    Ok(Body::from_stream(content.map(|chunk| {
        let bytes = chunk.map_err(std::io::Error::other)?;
        metrics::counter!("folio_download_bytes_total", "service" => "bff")
            .increment(bytes.len() as u64);
        Ok::<_, std::io::Error>(bytes)
    })))
}

fn not_modified(tag: &str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    insert(&mut response, header::ETAG, tag);
    insert(&mut response, header::CACHE_CONTROL, "private, no-cache");
    response
}

/// 200, or 206 for a `span`, with the headers every download carries.
fn present(
    version: &pb::Version,
    tag: &str,
    span: Option<(u64, u64)>,
    length: u64,
    body: Body,
) -> Response {
    let status = if span.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut response = (status, body).into_response();
    let media_type = HeaderValue::from_str(&version.media_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media_type);
    insert(&mut response, header::CONTENT_LENGTH, &length.to_string());
    insert(&mut response, header::ETAG, tag);
    insert(&mut response, header::ACCEPT_RANGES, "bytes");
    insert(&mut response, header::CACHE_CONTROL, "private, no-cache");
    // Content is never run as part of the portal, whatever its type says.
    insert(&mut response, header::CONTENT_SECURITY_POLICY, "sandbox");
    insert(
        &mut response,
        header::CONTENT_DISPOSITION,
        &disposition::attachment(&version.file_name),
    );
    if let Some((first, last)) = span {
        let size = version.size;
        insert(
            &mut response,
            header::CONTENT_RANGE,
            &format!("bytes {first}-{last}/{size}"),
        );
    }
    response
}

fn insert(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}
