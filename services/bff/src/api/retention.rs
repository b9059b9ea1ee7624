//! The organisation's retention policy (admins only).

use axum::{Json, Router, extract::State, routing::get};
use folio_proto::documents::v1 as pb;

use crate::{
    error::ApiError,
    rest::{forms::RetentionForm, views::Retention},
    web::{
        AppState,
        extract::{Admin, JsonBody},
    },
};

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/retention", get(fetch).put(replace))
}

async fn fetch(
    State(state): State<AppState>,
    Admin(admin): Admin,
) -> Result<Json<Retention>, ApiError> {
    let policy = state
        .documents
        .get_retention(admin.actor().request(pb::GetRetentionRequest {}))
        .await
        .map_err(|s| ApiError::from_call(s, "retention policy"))?;
    Ok(Json(Retention::from(policy)))
}

async fn replace(
    State(state): State<AppState>,
    Admin(admin): Admin,
    JsonBody(form): JsonBody<RetentionForm>,
) -> Result<Json<Retention>, ApiError> {
    form.check()?;
    let policy = state
        .documents
        .set_retention(admin.actor().request(pb::SetRetentionRequest {
            policy: Some(pb::RetentionPolicy {
                keep_last: form.keep_last.flatten(),
                keep_days: form.keep_days.flatten(),
            }),
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "retention policy"))?;
    Ok(Json(Retention::from(policy)))
}
