//! Routes → middleware → handlers. Every route of the API is declared in
//! `crate::api`'s per-resource `router()`s and merged here.

pub(crate) mod extract;
pub(crate) mod headers;
pub(crate) mod portal;
pub(crate) mod query;

use std::sync::Arc;

use axum::{Router, middleware};
use folio_clients::{DocumentsClient, IntegrationClient, NotificationsClient, UsersClient};
use folio_platform::{metrics, telemetry};

use crate::{
    api,
    library_pages::LibraryPages,
    oidc::OidcClient,
    session::{Limiter, SessionStore},
    settings::{LoginLimits, ProviderSettings},
};

/// What every handler may use.
#[derive(Clone)]
pub(crate) struct AppState {
    pub users: UsersClient,
    pub documents: DocumentsClient,
    pub integration: IntegrationClient,
    pub notifications: NotificationsClient,
    pub sessions: SessionStore,
    pub limiter: Limiter,
    /// Requests per API token per minute.
    pub api_limiter: Limiter,
    /// Talks to organisations' identity providers.
    pub oidc: OidcClient,
    pub config: Arc<WebConfig>,
    /// Document list pages, kept while their library revision holds.
    pub pages: LibraryPages,
}

/// The settings handlers read.
#[derive(Debug, Clone)]
pub(crate) struct WebConfig {
    pub cookie_secure: bool,
    pub session_absolute_secs: u64,
    pub login: LoginLimits,
    pub max_upload_bytes: u64,
    pub forwarded_hops: usize,
    pub api_tokens_per_minute: u32,
    pub providers: ProviderSettings,
}

pub(crate) fn router(state: AppState) -> Router {
    let sessions = state.sessions.clone();
    let collectors: Vec<metrics::Collector> = vec![std::sync::Arc::new(move || sessions.report())];
    Router::new()
        .merge(api::router())
        .merge(metrics::route(collectors))
        .route_layer(middleware::from_fn(|request, next| {
            metrics::track_http("bff", request, next)
        }))
        .route_layer(middleware::from_fn(|request, next| {
            telemetry::trace_http("bff", request, next)
        }))
        .fallback(portal::fallback)
        .layer(middleware::from_fn(headers::security_headers))
        .with_state(state)
}
