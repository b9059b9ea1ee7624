//! Headers every response carries, and problem documents for the answers
//! the router gives by itself (unknown path, method not allowed).

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::error::ApiError;

const PORTAL_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
    form-action 'self'";

fn set_default(response: &mut Response, name: HeaderName, value: &'static str) {
    if !response.headers().contains_key(&name) {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
}

pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        let allow = response.headers().get(header::ALLOW).cloned();
        response = ApiError::MethodNotAllowed.into_response();
        if let Some(allow) = allow {
            response.headers_mut().insert(header::ALLOW, allow);
        }
    }
    set_default(&mut response, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_default(&mut response, header::REFERRER_POLICY, "no-referrer");
    set_default(&mut response, header::X_FRAME_OPTIONS, "DENY");
    set_default(&mut response, header::CONTENT_SECURITY_POLICY, PORTAL_CSP);
    set_default(
        &mut response,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if is_api {
        set_default(&mut response, header::CACHE_CONTROL, "no-store");
    }
    response
}
