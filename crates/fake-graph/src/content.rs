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
    api::{Arrival, error, store},
    notify, rfc3339,
    state::{FRAGMENT_UNIT, Fragment, MAX_FRAGMENT, UploadSession},
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

fn status_body(session: &UploadSession) -> serde_json::Value {
    json!({
        "expirationDateTime": rfc3339(session.expires),
        "nextExpectedRanges": session.next_expected_ranges(),
    })
}

fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// A completed upload session, answered once its delay has passed.
struct Completed {
    drive: String,
    stored: Result<(StatusCode, serde_json::Value), Box<Response>>,
    delay: std::time::Duration,
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
    let completed = match session_request(&shared, &key, &method, &headers, body) {
        Ok(completed) => completed,
        Err(answer) => return *answer,
    };
    match completed.stored {
        Ok((status, json)) => {
            notify::changed(&shared, &completed.drive);
            tokio::time::sleep(completed.delay).await;
            crate::api::lost_answer(&shared).unwrap_or_else(|| json_response(status, &json))
        }
        Err(response) => *response,
    }
}

/// Everything but the completion's answer; `Err` is an immediate answer.
fn session_request(
    shared: &Shared,
    key: &str,
    method: &Method,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Completed, Box<Response>> {
    let answer = |r: Response| Err(Box::new(r));
    let mut state = shared.lock();
    let Some(session) = state.sessions.get(key) else {
        return answer(error(
            StatusCode::NOT_FOUND,
            "itemNotFound",
            "unknown upload session",
        ));
    };
    match *method {
        Method::GET => answer(json_response(StatusCode::OK, &status_body(session))),
        Method::DELETE => {
            state.sessions.remove(key);
            answer(StatusCode::NO_CONTENT.into_response())
        }
        Method::PUT => {
            let Some((start, end, total)) = content_range(headers) else {
                return answer(error(
                    StatusCode::BAD_REQUEST,
                    "invalidRange",
                    "Content-Range bytes a-b/total is required",
                ));
            };
            let len = end - start + 1;
            if len != body.len() as u64 {
                return answer(error(
                    StatusCode::BAD_REQUEST,
                    "invalidRange",
                    "Content-Range does not match the body length",
                ));
            }
            if len >= MAX_FRAGMENT {
                return answer(error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalidRange",
                    "each fragment must be smaller than 60 MiB",
                ));
            }
            if session.total.is_some_and(|t| t != total) {
                return answer(error(
                    StatusCode::BAD_REQUEST,
                    "invalidRange",
                    "total size changed",
                ));
            }
            let mut probe = session.clone();
            probe.total = Some(total);
            let Some(fills_hole) = probe.fits(start, end) else {
                return answer(
                    (
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        [(header::CONTENT_TYPE, "application/json")],
                        json!({ "error": {
                            "code": "invalidRange",
                            "message": "Uploaded fragment overlaps with existing data.",
                            "innererror": { "code": "fragmentOverlap" },
                        }})
                        .to_string(),
                    )
                        .into_response(),
                );
            };
            // Fragments are multiples of 320 KiB, except the file's last and
            // one that exactly fills a hole the session reported.
            let last = end + 1 == total;
            if !last && !fills_hole && len % FRAGMENT_UNIT != 0 {
                return answer(error(
                    StatusCode::BAD_REQUEST,
                    "invalidRange",
                    "fragment size must be a multiple of 320 KiB (327,680 bytes)",
                ));
            }
            if state.faults.fail_fragments > 0 {
                state.faults.fail_fragments -= 1;
                return answer(error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "generalException",
                    "injected failure",
                ));
            }
            let cut = state.faults.cut_fragment.take();
            let Some(session) = state.sessions.get_mut(key) else {
                return answer(error(StatusCode::NOT_FOUND, "itemNotFound", "gone"));
            };
            session.total = Some(total);
            if let Some((keep, forget)) = cut {
                // The connection broke mid-body: part of it arrived.
                let keep = keep.min(len - 1);
                session
                    .parts
                    .insert(start, body.slice(..usize::try_from(keep).unwrap_or(0)));
                if let Some((from, to)) = forget {
                    session.forget(from, to);
                }
                state.stats.fragments.push(Fragment {
                    start,
                    len: keep,
                    total,
                });
                return answer(error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "generalException",
                    "the connection broke during the fragment",
                ));
            }
            session.parts.insert(start, body);
            let complete = session.missing().is_empty();
            let progress = status_body(session);
            state.stats.fragments.push(Fragment { start, len, total });
            if !complete {
                return answer(json_response(StatusCode::ACCEPTED, &progress));
            }
            let Some(session) = state.sessions.remove(key) else {
                return answer(error(StatusCode::NOT_FOUND, "itemNotFound", "gone"));
            };
            let drive = session.drive.clone();
            let content = Bytes::from(session.assembled());
            let stored = store(
                &mut state,
                &drive,
                &session.target,
                content,
                Arrival {
                    if_match: session.if_match.clone(),
                    session: true,
                },
            );
            Ok(Completed {
                drive,
                stored,
                delay: state.faults.upload_answer_delay,
            })
        }
        _ => answer(error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalidRequest",
            "unsupported",
        )),
    }
}
