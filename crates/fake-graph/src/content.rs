//! The "content host": pre-authenticated download URLs and upload session
//! URLs. Like Graph's, they carry their own authorisation and refuse an
//! `Authorization` header.

use std::{sync::Arc, time::Instant};

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{any, get},
};
use serde_json::json;

use crate::{
    Shared,
    api::{error, store},
    notify, rfc3339,
    state::{FRAGMENT_UNIT, Fragment, MAX_FRAGMENT},
};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/download/{key}", get(download))
        .route("/upload/{key}", any(upload))
        .layer(DefaultBodyLimit::max(MAX_FRAGMENT as usize + (1 << 20)))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            crate::record_traceparent,
        ))
        .with_state(shared)
}

fn refuse_authorization(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    if headers.contains_key(header::AUTHORIZATION) {
        shared.lock().stats.preauthenticated_with_authorization += 1;
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "pre-authenticated URLs must be requested without an Authorization header",
        ));
    }
    None
}

async fn download(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refuse_authorization(&shared, &headers) {
        return refused;
    }
    if let Some(response) = crate::api::throttled(&mut shared.lock(), crate::state::Host::Content) {
        return response;
    }
    let content = shared
        .lock()
        .downloads
        .get(&key)
        .filter(|(_, expires)| *expires > Instant::now())
        .map(|(c, _)| c.clone());
    match content {
        Some(content) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            content,
        )
            .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "itemNotFound",
            "expired or unknown URL",
        ),
    }
}

/// `bytes a-b/total` → (a, b, total).
fn content_range(headers: &HeaderMap) -> Option<(u64, u64, u64)> {
    let raw = headers.get(header::CONTENT_RANGE)?.to_str().ok()?;
    let range = raw.strip_prefix("bytes ")?;
    let (span, total) = range.split_once('/')?;
    let (a, b) = span.split_once('-')?;
    let (a, b, total) = (a.parse().ok()?, b.parse().ok()?, total.parse().ok()?);
    (a <= b && b < total).then_some((a, b, total))
}

fn status_body(received: u64, expires: time::OffsetDateTime) -> serde_json::Value {
    json!({
        "expirationDateTime": rfc3339(expires),
        "nextExpectedRanges": [format!("{received}-")],
    })
}

async fn upload(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = refuse_authorization(&shared, &headers) {
        return refused;
    }
    let json_response = |status: StatusCode, value: serde_json::Value| {
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            value.to_string(),
        )
            .into_response()
    };
    let mut state = shared.lock();
    let Some(session) = state.sessions.get(&key) else {
        return error(
            StatusCode::NOT_FOUND,
            "itemNotFound",
            "unknown upload session",
        );
    };
    let received = session.received.len() as u64;
    let expires = session.expires;
    match method {
        Method::GET => json_response(StatusCode::OK, status_body(received, expires)),
        Method::DELETE => {
            state.sessions.remove(&key);
            StatusCode::NO_CONTENT.into_response()
        }
        Method::PUT => {
            let Some((start, end, total)) = content_range(&headers) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalidRange",
                    "Content-Range bytes a-b/total is required",
                );
            };
            let len = end - start + 1;
            if len != body.len() as u64 {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalidRange",
                    "Content-Range does not match the body length",
                );
            }
            if len >= MAX_FRAGMENT {
                return error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalidRange",
                    "each fragment must be smaller than 60 MiB",
                );
            }
            let last = end + 1 == total;
            if !last && len % FRAGMENT_UNIT != 0 {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalidRange",
                    "fragment size must be a multiple of 320 KiB (327,680 bytes)",
                );
            }
            if session.total.is_some_and(|t| t != total) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalidRange",
                    "total size changed",
                );
            }
            if start != received {
                return error(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "invalidRange",
                    "fragment does not start at the next expected byte",
                );
            }
            if state.faults.fail_fragments > 0 {
                state.faults.fail_fragments -= 1;
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "generalException",
                    "injected failure",
                );
            }
            state.stats.fragments.push(Fragment { start, len, total });
            let Some(session) = state.sessions.get_mut(&key) else {
                return error(StatusCode::NOT_FOUND, "itemNotFound", "gone");
            };
            session.total = Some(total);
            session.received.extend_from_slice(&body);
            if !last {
                let received = session.received.len() as u64;
                return json_response(StatusCode::ACCEPTED, status_body(received, expires));
            }
            let Some(session) = state.sessions.remove(&key) else {
                return error(StatusCode::NOT_FOUND, "itemNotFound", "gone");
            };
            let drive = session.drive.clone();
            let stored = store(
                &mut state,
                &drive,
                &session.target,
                Bytes::from(session.received),
            );
            drop(state);
            match stored {
                Ok((status, json)) => {
                    notify::changed(&shared, &drive);
                    json_response(status, json)
                }
                Err(response) => *response,
            }
        }
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalidRequest",
            "unsupported",
        ),
    }
}
