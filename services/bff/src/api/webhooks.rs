//! The organisation's webhook endpoints, through the notifications service
//! (admins only).

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use folio_clients::NotificationsError;
use folio_proto::notifications::v1 as pb;

use crate::{
    error::ApiError,
    rest::{
        forms::path_id,
        queries::parse_limit,
        views::Page,
        webhooks::{self, CreatedWebhook, Delivery, Webhook, WebhookCreate, WebhookPatch},
    },
    web::{
        AppState,
        extract::{Admin, JsonBody},
        query::QueryMap,
    },
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/webhooks", get(list).post(create))
        .route(
            "/api/v1/webhooks/{webhook_id}",
            get(show).patch(update).delete(remove),
        )
        .route("/api/v1/webhooks/{webhook_id}/deliveries", get(deliveries))
        .route(
            "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
            post(redeliver),
        )
}

fn failed(error: NotificationsError) -> ApiError {
    ApiError::from_call(error, "webhook")
}

async fn list(
    State(state): State<AppState>,
    Admin(admin): Admin,
) -> Result<Json<Page<Webhook>>, ApiError> {
    let found = state
        .notifications
        .list_webhooks(admin.actor().request(pb::ListWebhooksRequest {}))
        .await
        .map_err(failed)?;
    Ok(Json(Page {
        items: found.webhooks.into_iter().map(Webhook::from).collect(),
        next_cursor: None,
    }))
}

async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    JsonBody(form): JsonBody<WebhookCreate>,
) -> Result<Response, ApiError> {
    form.check()?;
    let created = state
        .notifications
        .create_webhook(admin.actor().request(pb::CreateWebhookRequest {
            url: form.url,
            events: form.events,
        }))
        .await
        .map_err(failed)?;
    let body = CreatedWebhook::try_from(created)?;
    super::shared::created(&format!("/api/v1/webhooks/{}", body.webhook.id), body)
}

async fn show(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(webhook_id): Path<String>,
) -> Result<Json<Webhook>, ApiError> {
    let id = path_id("webhook_id", &webhook_id)?;
    let found = state
        .notifications
        .get_webhook(
            admin
                .actor()
                .request(pb::GetWebhookRequest { id: id.to_string() }),
        )
        .await
        .map_err(failed)?;
    Ok(Json(found.into()))
}

async fn update(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(webhook_id): Path<String>,
    JsonBody(patch): JsonBody<WebhookPatch>,
) -> Result<Json<Webhook>, ApiError> {
    let id = path_id("webhook_id", &webhook_id)?;
    patch.check()?;
    let found = state
        .notifications
        .update_webhook(admin.actor().request(pb::UpdateWebhookRequest {
            id: id.to_string(),
            url: patch.url,
            events: patch.events.map(|events| pb::EventTypes { events }),
            enabled: patch.enabled,
        }))
        .await
        .map_err(failed)?;
    Ok(Json(found.into()))
}

async fn remove(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(webhook_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id("webhook_id", &webhook_id)?;
    state
        .notifications
        .delete_webhook(
            admin
                .actor()
                .request(pb::DeleteWebhookRequest { id: id.to_string() }),
        )
        .await
        .map_err(failed)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn deliveries(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(webhook_id): Path<String>,
    QueryMap(query): QueryMap,
) -> Result<Json<Page<Delivery>>, ApiError> {
    let id = path_id("webhook_id", &webhook_id)?;
    let limit = parse_limit(query.get("limit"))?;
    let found = state
        .notifications
        .list_deliveries(admin.actor().request(pb::ListDeliveriesRequest {
            webhook_id: id.to_string(),
            limit,
        }))
        .await
        .map_err(failed)?;
    Ok(Json(Page {
        items: found.deliveries.into_iter().map(Delivery::from).collect(),
        next_cursor: None,
    }))
}

async fn redeliver(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path((webhook_id, delivery_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = path_id("webhook_id", &webhook_id)?;
    let delivery_id = webhooks::delivery_id(&delivery_id)?.to_owned();
    let found = state
        .notifications
        .redeliver(admin.actor().request(pb::RedeliverRequest {
            webhook_id: id.to_string(),
            delivery_id,
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "delivery"))?;
    Ok((StatusCode::ACCEPTED, Json(Delivery::from(found))).into_response())
}
