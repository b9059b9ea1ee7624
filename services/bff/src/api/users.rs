//! The organisation's users, for admins.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, patch, post},
};
use folio_proto::users::v1 as pb;

use super::shared::store_down;
use crate::{
    error::ApiError,
    rest::{
        forms::{NewUser, PasswordReset, Role, UserPatch, path_id},
        views::{Items, User},
    },
    web::{
        AppState,
        extract::{Admin, JsonBody},
    },
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list).post(create))
        .route("/api/v1/users/{user_id}", patch(update))
        .route("/api/v1/users/{user_id}/password", post(reset_password))
}

fn role(role: Role) -> pb::Role {
    match role {
        Role::Admin => pb::Role::Admin,
        Role::Editor => pb::Role::Editor,
        Role::Viewer => pb::Role::Viewer,
    }
}

async fn list(
    State(state): State<AppState>,
    Admin(admin): Admin,
) -> Result<Json<Items<User>>, ApiError> {
    let users = state
        .users
        .list_users(admin.actor().request(pb::ListUsersRequest {}))
        .await
        .map_err(|s| ApiError::from_call(s, "user"))?
        .users;
    Ok(Json(Items {
        items: users.into_iter().map(User::from).collect(),
    }))
}

async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    JsonBody(new): JsonBody<NewUser>,
) -> Result<Response, ApiError> {
    new.check()?;
    let user = state
        .users
        .provision_user(admin.actor().request(pb::ProvisionUserRequest {
            email: new.email,
            display_name: new.display_name,
            role: role(new.role).into(),
            password: new.password,
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "user"))?;
    let location = HeaderValue::from_str(&format!("/api/v1/users/{}", user.id))
        .map_err(|_| ApiError::Internal("location".into()))?;
    let mut response = (StatusCode::CREATED, Json(User::from(user))).into_response();
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}

async fn update(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(user_id): Path<String>,
    JsonBody(change): JsonBody<UserPatch>,
) -> Result<Json<User>, ApiError> {
    let id = path_id("user_id", &user_id)?;
    change.check()?;
    let user = state
        .users
        .update_user(admin.actor().request(pb::UpdateUserRequest {
            id: id.to_string(),
            role: change.role.map(|r| role(r).into()),
            display_name: change.display_name,
            disabled: change.disabled,
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "user"))?;
    reach_sessions(&state, id, &user).await?;
    Ok(Json(User::from(user)))
}

/// A change to a user reaches their open sessions at once: disabled ends
/// them, a new role is theirs from the next request.
async fn reach_sessions(state: &AppState, id: uuid::Uuid, user: &pb::User) -> Result<(), ApiError> {
    if user.disabled {
        state.sessions.end_user(id, None).await?;
    } else {
        let role = crate::rest::views::role_name(user.role);
        state.sessions.set_role(id, role).await?;
    }
    Ok(())
}

async fn reset_password(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(user_id): Path<String>,
    JsonBody(reset): JsonBody<PasswordReset>,
) -> Result<StatusCode, ApiError> {
    let id = path_id("user_id", &user_id)?;
    reset.check()?;
    state
        .users
        .reset_password(admin.actor().request(pb::ResetPasswordRequest {
            id: id.to_string(),
            new_password: reset.new_password,
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "user"))?;
    state
        .sessions
        .end_user(id, None)
        .await
        .map_err(store_down)?;
    Ok(StatusCode::NO_CONTENT)
}
