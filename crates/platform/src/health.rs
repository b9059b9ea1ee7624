//! HTTP health endpoints for the kubelet and operators: `/healthz` says the
//! process is alive, `/readyz` that its dependencies answer. (The gRPC health
//! service sits behind mTLS, which probes cannot speak.)

use std::{future::Future, pin::Pin, sync::Arc};

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

/// Answers `Err(reason)` when a dependency is unreachable; the reason is shown
/// to the caller, so it names the dependency, not internal error text.
pub type ReadinessCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// Ready while `db` answers a trivial query.
pub fn database_ready(db: crate::db::Database) -> ReadinessCheck {
    Arc::new(move || {
        let db = db.clone();
        Box::pin(async move {
            if db.ping().await {
                Ok(())
            } else {
                Err("database unreachable".to_owned())
            }
        })
    })
}

/// The ops router of a service whose readiness is its database: ready while
/// the database answers, with the pool's gauges in `/metrics`.
pub fn database_ops_router(service: &'static str, db: &crate::db::Database) -> Router {
    ops_router(
        service,
        database_ready(db.clone()),
        vec![crate::metrics::pool_collector(service, db.clone())],
    )
}

/// `/healthz`, `/readyz` and `/metrics` for a service's ops listener.
pub fn ops_router(
    service: &'static str,
    readiness: ReadinessCheck,
    collectors: Vec<crate::metrics::Collector>,
) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(readiness)
        .merge(crate::metrics::route(collectors))
        .route_layer(axum::middleware::from_fn(move |request, next| {
            crate::metrics::track_http(service, request, next)
        }))
}

async fn ready(State(check): State<ReadinessCheck>) -> Response {
    match check().await {
        Ok(()) => "ready\n".into_response(),
        Err(reason) => {
            let body = serde_json::json!({
                "type": "https://folio.dev/problems/not-ready",
                "title": "Not ready",
                "status": 503,
                "detail": reason,
            });
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "application/problem+json")],
                body.to_string(),
            )
                .into_response()
        }
    }
}
