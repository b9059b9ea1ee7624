//! The portal: static files compiled into the binary, so every deployment
//! serves exactly the portal it was built with.

use axum::{
    http::{HeaderValue, Method, Uri, header},
    response::{IntoResponse, Response},
};
use include_dir::{Dir, include_dir};

use crate::error::ApiError;

static PORTAL: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/portal");

fn media_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn serve(path: &str) -> Response {
    match PORTAL.get_file(path) {
        Some(file) => {
            let mut response = file.contents().into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(media_type(path)),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
        None => ApiError::NotFound("file").into_response(),
    }
}

/// Answers every request no route took: a portal file for a GET outside
/// the API, a problem document otherwise.
pub(crate) async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || (method != Method::GET && method != Method::HEAD) {
        return ApiError::NotFound("path").into_response();
    }
    match path.trim_start_matches('/') {
        "" => serve("index.html"),
        file => serve(file),
    }
}
