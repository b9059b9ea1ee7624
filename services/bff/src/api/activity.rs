//! The organisation's recent changes, newest first.

use axum::{Json, Router, extract::State, routing::get};

use crate::{
    error::ApiError,
    rest::{
        queries,
        views::{Event, Page},
    },
    web::{AppState, extract::Authed, query::QueryMap},
};

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/activity", get(recent))
}

async fn recent(
    State(state): State<AppState>,
    authed: Authed,
    QueryMap(query): QueryMap,
) -> Result<Json<Page<Event>>, ApiError> {
    let request = queries::recent_events(&query)?;
    let page = state
        .documents
        .list_events(authed.actor().request(request))
        .await
        .map_err(|s| ApiError::from_call(s, "event"))?;
    Ok(Json(Page {
        items: page.events.into_iter().map(Event::from).collect(),
        next_cursor: queries::events_cursor(page.next),
    }))
}
