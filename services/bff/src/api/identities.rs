//! The provider identities linked to a person (docs/adr/0073): each person
//! lists and unlinks their own (`/api/v1/session/identities`), admins any
//! person's of the organisation (`/api/v1/users/{user_id}/identities`).

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get},
};
use folio_proto::users::v1 as pb;

use crate::{
    error::ApiError,
    rest::{
        forms::{identity_path_id, path_id},
        views::{Items, LinkedIdentity},
    },
    web::{
        AppState,
        extract::{Admin, Authed},
    },
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/session/identities", get(list_own))
        .route(
            "/api/v1/session/identities/{identity_id}",
            delete(unlink_own),
        )
        .route("/api/v1/users/{user_id}/identities", get(list_any))
        .route(
            "/api/v1/users/{user_id}/identities/{identity_id}",
            delete(unlink_any),
        )
}

async fn list(
    state: &AppState,
    authed: &Authed,
    user_id: String,
) -> Result<Json<Items<LinkedIdentity>>, ApiError> {
    let answer = state
        .users
        .list_oidc_identities(
            authed
                .actor()
                .request(pb::ListOidcIdentitiesRequest { user_id }),
        )
        .await
        .map_err(|e| ApiError::from_call(e, "user"))?;
    Ok(Json(Items {
        items: answer
            .identities
            .into_iter()
            .map(LinkedIdentity::from)
            .collect(),
    }))
}

async fn unlink(
    state: &AppState,
    authed: &Authed,
    user_id: String,
    raw_identity: &str,
) -> Result<StatusCode, ApiError> {
    let identity_id = identity_path_id(raw_identity)?;
    state
        .users
        .unlink_oidc_identity(authed.actor().request(pb::UnlinkOidcIdentityRequest {
            user_id,
            identity_id,
        }))
        .await
        .map_err(|e| ApiError::from_call(e, "identity"))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_own(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<Items<LinkedIdentity>>, ApiError> {
    list(&state, &authed, String::new()).await
}

async fn unlink_own(
    State(state): State<AppState>,
    authed: Authed,
    Path(identity_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    unlink(&state, &authed, String::new(), &identity_id).await
}

async fn list_any(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(user_id): Path<String>,
) -> Result<Json<Items<LinkedIdentity>>, ApiError> {
    let user_id = path_id("user_id", &user_id)?;
    list(&state, &admin, user_id.to_string()).await
}

async fn unlink_any(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path((user_id, identity_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let user_id = path_id("user_id", &user_id)?;
    unlink(&state, &admin, user_id.to_string(), &identity_id).await
}
