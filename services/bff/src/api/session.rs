//! Signing in and out, and changing one's own password.

use std::net::SocketAddr;

use axum::{
    Json, Router,
    extract::{ConnectInfo, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use folio_proto::users::v1 as pb;

use super::shared::{cookie, signed_in, store_down, with_header};
use crate::{
    error::ApiError,
    password::{self, SignIn},
    rest::{
        forms::{Credentials, PasswordChange},
        views::{OrganisationChoice, SessionView, User},
    },
    web::{
        AppState,
        extract::{Authed, JsonBody, client_address},
    },
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/session",
            post(sign_in).get(current).delete(sign_out),
        )
        .route("/api/v1/session/password", post(change_password))
}

async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(credentials): JsonBody<Credentials>,
) -> Result<Response, ApiError> {
    credentials.check()?;
    let client = client_address(&headers, peer.ip(), state.config.forwarded_hops);
    let request = pb::SignInRequest {
        email: credentials.email,
        password: credentials.password,
        organisation_id: credentials.organisation_id.unwrap_or_default(),
    };
    let limits = state.config.login;
    match password::sign_in(&state.users, &state.limiter, limits, client, request).await? {
        SignIn::User(user) => signed_in(&state, &headers, user).await,
        SignIn::Choose(choices) => Ok(Json(OrganisationChoice::from(choices)).into_response()),
    }
}

async fn current(State(state): State<AppState>, authed: Authed) -> Result<Response, ApiError> {
    let user = signed_in_user(&state, &authed).await?;
    Ok(Json(SessionView {
        user: User::from(user),
        csrf_token: authed.session.csrf_token,
    })
    .into_response())
}

/// The person behind the session, kept for a moment (ADR 0075) unless
/// disabled; a disabled person's session ends here.
async fn signed_in_user(state: &AppState, authed: &Authed) -> Result<pb::User, ApiError> {
    let user_id = authed.session.user_id;
    let generation = state.sessions.users_generation();
    let user = match state.sessions.recent_user(user_id) {
        Some(user) => user,
        None => state
            .users
            .get_user(authed.actor().request(pb::GetUserRequest {
                id: user_id.to_string(),
            }))
            .await
            .map_err(|e| {
                if e.is_not_found() {
                    ApiError::Unauthenticated
                } else {
                    ApiError::from_call(e, "user")
                }
            })?,
    };
    if user.disabled {
        state
            .sessions
            .delete(&authed.token)
            .await
            .map_err(store_down)?;
        return Err(ApiError::Unauthenticated);
    }
    state
        .sessions
        .remember_user(user_id, user.clone(), generation);
    Ok(user)
}

async fn sign_out(State(state): State<AppState>, authed: Authed) -> Result<Response, ApiError> {
    // An API token is not a session: it ends by being revoked.
    authed.session_only()?;
    state
        .sessions
        .delete(&authed.token)
        .await
        .map_err(store_down)?;
    Ok(with_header(
        StatusCode::NO_CONTENT.into_response(),
        header::SET_COOKIE,
        cookie(&state, "", 0),
    ))
}

async fn change_password(
    State(state): State<AppState>,
    authed: Authed,
    JsonBody(change): JsonBody<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let stores = (&state.limiter, &state.sessions);
    let who = (authed.actor(), authed.token.as_str());
    password::change(&state.users, stores, state.config.login, who, change).await?;
    Ok(StatusCode::NO_CONTENT)
}
