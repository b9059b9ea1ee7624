//! `/healthz`: the process answers. `/readyz`: this pod can serve, which
//! needs its session store and nothing else. The domain services are not
//! checked: one of them down would otherwise take every bff replica out of
//! the load balancer at once; calls to it answer 503 instead
//! (docs/adr/0062-readiness-is-the-pods-own.md).

use axum::{Router, extract::State, routing::get};

use crate::{error::ApiError, web::AppState};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
}

async fn ready(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    if state.sessions.ping().await.is_err() {
        return Err(ApiError::Unavailable("the session store"));
    }
    Ok("ready\n")
}
