//! The organisation's OneDrive connection, and sending versions to OneDrive,
//! through the integration service.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use folio_platform::actor::{Actor, ActorRole};
use folio_proto::integration::v1 as pb;
use uuid::Uuid;

use crate::{
    error::ApiError,
    rest::{
        forms::{ClientSecretReplace, OneDriveConnect, path_id, path_version},
        views::{OneDriveConflicts, OneDriveConnection, SentToOneDrive},
    },
    web::{
        AppState,
        extract::{Admin, Authed, JsonBody, Writer},
        query::QueryMap,
    },
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/onedrive/connection",
            get(show).put(connect).delete(disconnect),
        )
        .route("/api/v1/onedrive/connection/sync", post(sync_now))
        .route(
            "/api/v1/onedrive/connection/client-secret",
            axum::routing::put(replace_client_secret),
        )
        .route(
            "/api/v1/documents/{document_id}/versions/{number}/send-to-onedrive",
            post(send),
        )
        .route("/api/v1/onedrive/conflicts", get(conflicts))
        .route(
            "/api/v1/onedrive/conflicts/{conflict_id}",
            axum::routing::delete(dismiss_conflict),
        )
}

async fn show(
    State(state): State<AppState>,
    authed: Authed,
) -> Result<Json<OneDriveConnection>, ApiError> {
    let connection = state
        .integration
        .get_connection(authed.actor().request(pb::GetConnectionRequest {}))
        .await
        .map_err(|s| ApiError::from_call(s, "OneDrive connection"))?;
    let admin = authed.role() == ActorRole::Admin;
    Ok(Json(OneDriveConnection::seen_by(connection, admin)))
}

async fn connect(
    State(state): State<AppState>,
    Admin(admin): Admin,
    JsonBody(form): JsonBody<OneDriveConnect>,
) -> Result<Response, ApiError> {
    form.check()?;
    let connection = state
        .integration
        .connect_one_drive(admin.actor().request(pb::ConnectRequest {
            tenant_id: form.tenant_id,
            app_id: form.app_id,
            client_secret: form.client_secret.expose().to_owned(),
            drive_id: form.drive_id,
            folder: form.folder,
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "OneDrive connection"))?;
    super::shared::created(
        "/api/v1/onedrive/connection",
        OneDriveConnection::seen_by(connection, true),
    )
}

/// Rotation: the admin enters the app's new client secret.
async fn replace_client_secret(
    State(state): State<AppState>,
    Admin(admin): Admin,
    JsonBody(form): JsonBody<ClientSecretReplace>,
) -> Result<Json<OneDriveConnection>, ApiError> {
    form.check()?;
    let connection = state
        .integration
        .replace_client_secret(admin.actor().request(pb::ReplaceClientSecretRequest {
            client_secret: form.client_secret.expose().to_owned(),
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "OneDrive connection"))?;
    Ok(Json(OneDriveConnection::seen_by(connection, true)))
}

async fn sync_now(
    State(state): State<AppState>,
    Admin(admin): Admin,
) -> Result<Response, ApiError> {
    let connection = state
        .integration
        .sync_now(admin.actor().request(pb::SyncNowRequest {}))
        .await
        .map_err(|s| ApiError::from_call(s, "OneDrive connection"))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(OneDriveConnection::seen_by(connection, true)),
    )
        .into_response())
}

async fn disconnect(
    State(state): State<AppState>,
    Admin(admin): Admin,
) -> Result<StatusCode, ApiError> {
    state
        .integration
        .disconnect_one_drive(admin.actor().request(pb::DisconnectRequest {}))
        .await
        .map_err(|s| ApiError::from_call(s, "OneDrive connection"))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn send(
    State(state): State<AppState>,
    Writer(writer): Writer,
    Path((document_id, number)): Path<(String, String)>,
) -> Result<Json<SentToOneDrive>, ApiError> {
    let document_id = path_id("document_id", &document_id)?;
    let version = path_version(&number)?;
    let actor = writer.actor();
    share_with_one_drive(&state, &actor, document_id).await?;
    let sent = state
        .integration
        .send_to_one_drive(actor.request(pb::SendToOneDriveRequest {
            document_id: document_id.to_string(),
            version,
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "document version"))?;
    Ok(Json(sent.into()))
}

/// Records the user's decision in documents: only then may the integration
/// read this document (docs/adr/0042).
async fn share_with_one_drive(
    state: &AppState,
    actor: &Actor,
    document_id: Uuid,
) -> Result<(), ApiError> {
    let request = folio_proto::documents::v1::ShareWithOneDriveRequest {
        document_id: document_id.to_string(),
    };
    state
        .documents
        .share_with_one_drive(actor.request(request))
        .await
        .map_err(|s| ApiError::from_call(s, "document version"))?;
    Ok(())
}

/// Open conflicts of the organisation, or of one document (`document_id`).
async fn conflicts(
    State(state): State<AppState>,
    Writer(writer): Writer,
    QueryMap(query): QueryMap,
) -> Result<Json<OneDriveConflicts>, ApiError> {
    let document_id = query
        .get("document_id")
        .map(|raw| path_id("document_id", raw))
        .transpose()?;
    let listed = state
        .integration
        .list_conflicts(writer.actor().request(pb::ListConflictsRequest {
            document_id: document_id.map(|d| d.to_string()).unwrap_or_default(),
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "OneDrive conflict"))?;
    Ok(Json(OneDriveConflicts {
        items: listed.conflicts.into_iter().map(Into::into).collect(),
        total: listed.total,
    }))
}

/// A person dealt with a conflict without sending; closing one already
/// closed succeeds too (docs/adr/0043).
async fn dismiss_conflict(
    State(state): State<AppState>,
    Writer(writer): Writer,
    Path(conflict_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let conflict_id = path_id("conflict_id", &conflict_id)?;
    state
        .integration
        .dismiss_conflict(writer.actor().request(pb::DismissConflictRequest {
            conflict_id: conflict_id.to_string(),
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "OneDrive conflict"))?;
    Ok(StatusCode::NO_CONTENT)
}
