//! What several resources' handlers share: the session cookie and issuing a
//! session, `201 Created`, and the session store's problem.

use axum::{
    Json,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use folio_proto::users::v1 as users_pb;

use crate::{
    error::ApiError,
    rest::views::{SessionView, User},
    session::{Session, now_secs, random_token},
    web::{
        AppState,
        extract::{COOKIE, session_cookie},
    },
};

pub(super) fn store_down(error: crate::session::StoreError) -> ApiError {
    ApiError::from(error)
}

/// The session cookie with `token`, or cleared with `""` and `max_age` 0.
pub(super) fn cookie(state: &AppState, token: &str, max_age: u64) -> HeaderValue {
    named_cookie(state, COOKIE, "/", token, max_age)
}

/// An `HttpOnly; SameSite=Lax` cookie (`Secure` unless configured off).
pub(super) fn named_cookie(
    state: &AppState,
    name: &str,
    path: &str,
    value: &str,
    max_age: u64,
) -> HeaderValue {
    let secure = if state.config.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Starts a session for `user` as every sign-in does: whatever session the
/// browser had ends, a fresh token and CSRF token are issued. Answers the
/// body of `GET /api/v1/session` and the `Set-Cookie` value.
pub(super) async fn issue_session(
    state: &AppState,
    headers: &HeaderMap,
    user: users_pb::User,
) -> Result<(SessionView, HeaderValue), ApiError> {
    if let Some(old) = session_cookie(headers) {
        state.sessions.delete(&old).await.map_err(store_down)?;
    }
    let now = now_secs();
    let session = Session {
        user_id: user
            .id
            .parse()
            .map_err(|_| ApiError::Internal("user id".into()))?,
        org_id: user
            .organisation_id
            .parse()
            .map_err(|_| ApiError::Internal("organisation id".into()))?,
        role: crate::rest::views::role_name(user.role).to_owned(),
        csrf_token: random_token(),
        created_at: now,
        last_seen: now,
    };
    let token = state.sessions.create(&session).await.map_err(store_down)?;
    let body = SessionView {
        user: User::from(user),
        csrf_token: session.csrf_token,
    };
    Ok((
        body,
        cookie(state, &token, state.config.session_absolute_secs),
    ))
}

/// A `200` with the session's body and its cookie, for a sign-in.
pub(super) async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    user: users_pb::User,
) -> Result<Response, ApiError> {
    let (body, cookie) = issue_session(state, headers, user).await?;
    Ok(with_header(
        Json(body).into_response(),
        header::SET_COOKIE,
        cookie,
    ))
}

/// `response` with `name: value` set.
pub(super) fn with_header(
    mut response: Response,
    name: HeaderName,
    value: HeaderValue,
) -> Response {
    response.headers_mut().insert(name, value);
    response
}

/// 201 with the created resource's path in `Location`.
pub(super) fn created(location: &str, body: impl serde::Serialize) -> Result<Response, ApiError> {
    let location =
        HeaderValue::from_str(location).map_err(|_| ApiError::Internal("location".into()))?;
    Ok(with_header(
        (StatusCode::CREATED, Json(body)).into_response(),
        header::LOCATION,
        location,
    ))
}
