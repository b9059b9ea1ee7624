//! `/healthz`: the process answers. `/readyz`: Redis and the domain services do.

use std::time::Duration;

use axum::{Router, extract::State, routing::get};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::{error::ApiError, web::AppState};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
}

async fn serving(channel: folio_platform::grpc::TracedChannel, service: &str) -> bool {
    let mut client = HealthClient::new(channel);
    let check = client.check(HealthCheckRequest {
        service: service.to_owned(),
    });
    match tokio::time::timeout(Duration::from_secs(2), check).await {
        Ok(Ok(response)) => response.into_inner().status == ServingStatus::Serving as i32,
        Ok(Err(_)) | Err(_) => false,
    }
}

async fn ready(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    if state.sessions.ping().await.is_err() {
        return Err(ApiError::Unavailable("the session store"));
    }
    if !serving(state.users_channel.clone(), "folio.users.v1.UsersService").await {
        return Err(ApiError::Unavailable("the users service"));
    }
    if !serving(
        state.documents_channel.clone(),
        "folio.documents.v1.DocumentsService",
    )
    .await
    {
        return Err(ApiError::Unavailable("the documents service"));
    }
    Ok("ready\n")
}
