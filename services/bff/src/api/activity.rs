//! The organisation's recent changes, newest first.

use std::collections::HashMap;

use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use folio_proto::documents::v1 as pb;

use super::documents::parse_limit;
use crate::{
    error::ApiError,
    rest::views::{Event, Page},
    web::{AppState, extract::Authed},
};

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/activity", get(recent))
}

fn encode(sequence: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("before:{sequence}"))
}

fn decode(cursor: &str) -> Result<u64, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("before:").and_then(|n| n.parse().ok()))
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::invalid("cursor", "cursor is not one this API issued"))
}

async fn recent(
    State(state): State<AppState>,
    authed: Authed,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<Event>>, ApiError> {
    let Query(query) =
        query.map_err(|_| ApiError::invalid("query", "the query string is malformed"))?;
    let before = query
        .get("cursor")
        .map(|c| decode(c))
        .transpose()?
        .unwrap_or(0);
    let limit = parse_limit(query.get("limit"))?;
    let page = state
        .documents
        .list_events(authed.actor().request(pb::ListEventsRequest {
            after: before,
            limit,
            newest_first: true,
            ..Default::default()
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "event"))?;
    Ok(Json(Page {
        items: page.events.into_iter().map(Event::from).collect(),
        next_cursor: (page.next != 0).then(|| encode(page.next)),
    }))
}
