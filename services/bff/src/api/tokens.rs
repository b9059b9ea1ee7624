//! API tokens for scripts: each person manages their own
//! (`/api/v1/session/tokens`), admins the organisation's (`/api/v1/tokens`).

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    routing::{delete, get},
};
use folio_clients::UsersError;
use folio_proto::users::v1 as pb;

use super::shared::created;
use crate::{
    error::ApiError,
    rest::{
        forms::{NewApiToken, path_id},
        views::{ApiToken, CreatedApiToken, Items},
    },
    web::{
        AppState,
        extract::{Admin, Authed, JsonBody},
    },
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/session/tokens", get(list_own).post(create))
        .route("/api/v1/session/tokens/{token_id}", delete(revoke_own))
        .route("/api/v1/tokens", get(list_organisation))
        .route("/api/v1/tokens/{token_id}", delete(revoke_any))
}

fn refused(error: UsersError) -> ApiError {
    ApiError::from_call(error, "API token")
}

async fn create(
    State(state): State<AppState>,
    authed: Authed,
    JsonBody(new): JsonBody<NewApiToken>,
) -> Result<Response, ApiError> {
    // A token must not mint tokens: that would let a leaked one outlive
    // its own expiry and revocation.
    authed.session_only()?;
    new.check()?;
    let request = authed.actor().request(new.into_request());
    let answer = state.users.create_api_token(request).await;
    let body = CreatedApiToken::try_from(answer.map_err(refused)?)?;
    // The secret is in this answer only: no cache may keep it, which every
    // API answer's default `Cache-Control: no-store` (web/headers.rs) sees to.
    created(
        &format!("/api/v1/session/tokens/{}", body.api_token.id),
        body,
    )
}

async fn list(
    authed: &Authed,
    state: &AppState,
    organisation: bool,
) -> Result<Json<Items<ApiToken>>, ApiError> {
    let tokens = state
        .users
        .list_api_tokens(
            authed
                .actor()
                .request(pb::ListApiTokensRequest { organisation }),
        )
        .await
        .map_err(refused)?
        .tokens;
    Ok(Json(Items {
        items: tokens.into_iter().map(ApiToken::from).collect(),
    }))
}

async fn revoke(
    authed: &Authed,
    state: &AppState,
    raw_id: &str,
    organisation: bool,
) -> Result<StatusCode, ApiError> {
    let id = path_id("token_id", raw_id)?;
    state
        .users
        .revoke_api_token(authed.actor().request(pb::RevokeApiTokenRequest {
            id: id.to_string(),
            organisation,
        }))
        .await
        .map_err(refused)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_own(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<Items<ApiToken>>, ApiError> {
    list(&authed, &state, false).await
}

async fn revoke_own(
    State(state): State<AppState>,
    authed: Authed,
    Path(token_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    revoke(&authed, &state, &token_id, false).await
}

async fn list_organisation(
    State(state): State<AppState>,
    Admin(admin): Admin,
) -> Result<Json<Items<ApiToken>>, ApiError> {
    list(&admin, &state, true).await
}

async fn revoke_any(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(token_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    revoke(&admin, &state, &token_id, true).await
}
