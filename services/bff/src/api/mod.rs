//! The REST API under `/api/v1`, one `router()` per resource, merged here.

mod activity;
mod content;
mod documents;
mod health;
mod identities;
mod notifications;
mod onedrive;
mod retention;
mod session;
mod shared;
mod sign_in;
mod tasks;
mod tokens;
mod upload;
mod users;
mod webhooks;

use axum::Router;

use crate::web::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .merge(session::router())
        .merge(sign_in::router())
        .merge(users::router())
        .merge(documents::router())
        .merge(content::router())
        .merge(tasks::router())
        .merge(tokens::router())
        .merge(identities::router())
        .merge(activity::router())
        .merge(onedrive::router())
        .merge(retention::router())
        .merge(webhooks::router())
        .merge(notifications::router())
        .merge(health::router())
}
