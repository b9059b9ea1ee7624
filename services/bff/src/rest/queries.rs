//! The query strings of the list endpoints, checked and turned into the
//! requests they ask the services for.

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use folio_proto::documents::v1 as pb;
use uuid::Uuid;

use super::forms::{Checks, TaskKind, TaskStatus, path_id};
use crate::error::ApiError;

/// A list endpoint's query string, as name → value.
pub(crate) type Query = HashMap<String, String>;

/// Checks a cursor's shape; the service checks that it issued it.
pub(crate) fn check_cursor(checks: &mut Checks, cursor: &str) {
    let valid = !cursor.is_empty()
        && cursor.len() <= 512
        && cursor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        checks.fail("cursor", "cursor is not one this API issued");
    }
}

/// `limit`: 1 to 100, 25 when not given.
pub(crate) fn parse_limit(raw: Option<&String>) -> Result<u32, ApiError> {
    match raw {
        None => Ok(25),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| {
                ApiError::invalid("limit", "limit must be a whole number from 1 to 100")
            }),
    }
}

pub(crate) fn status_code(status: TaskStatus) -> pb::TaskStatus {
    match status {
        TaskStatus::Open => pb::TaskStatus::Open,
        TaskStatus::InProgress => pb::TaskStatus::InProgress,
        TaskStatus::Done => pb::TaskStatus::Done,
    }
}

pub(crate) fn kind_code(kind: TaskKind) -> pb::TaskKind {
    match kind {
        TaskKind::Todo => pb::TaskKind::Todo,
        TaskKind::Approval => pb::TaskKind::Approval,
        TaskKind::Request => pb::TaskKind::Request,
    }
}

fn text(query: &Query, name: &str) -> String {
    query.get(name).cloned().unwrap_or_default()
}

fn task_status(query: &Query, name: &str) -> Result<pb::TaskStatus, ApiError> {
    Ok(query
        .get(name)
        .map(|s| TaskStatus::parse(s).map(status_code))
        .transpose()?
        .unwrap_or(pb::TaskStatus::Unspecified))
}

/// The `status` and `kind` filters of task lists, when given.
pub(crate) fn task_filters(query: &Query) -> Result<(pb::TaskStatus, pb::TaskKind), ApiError> {
    let status = task_status(query, "status")?;
    let kind = query
        .get("kind")
        .map(|k| TaskKind::parse(k).map(kind_code))
        .transpose()?
        .unwrap_or(pb::TaskKind::Unspecified);
    Ok((status, kind))
}

/// `GET /api/v1/documents`: `q`, `tag`, `task_status`, `cursor`, `limit`.
pub(crate) fn documents(query: &Query) -> Result<pb::ListDocumentsRequest, ApiError> {
    let mut checks = Checks::default();
    if let Some(q) = query.get("q") {
        checks.text("q", q, 1, 200);
    }
    if let Some(tag) = query.get("tag") {
        checks.line("tag", tag, 50);
    }
    if let Some(cursor) = query.get("cursor") {
        check_cursor(&mut checks, cursor);
    }
    checks.finish()?;
    let limit = parse_limit(query.get("limit"))?;
    Ok(pb::ListDocumentsRequest {
        query: text(query, "q"),
        tag: text(query, "tag"),
        task_status: task_status(query, "task_status")?.into(),
        cursor: text(query, "cursor"),
        limit,
    })
}

/// The groups of My tasks, in the order the documents service pages them.
const GROUPS: [&str; 7] = [
    "overdue",
    "due_soon",
    "stale",
    "awaiting_approval",
    "requests",
    "later",
    "done",
];

/// `GET /api/v1/tasks/mine`: `group`, `status`, `kind`, `cursor`, `limit`.
pub(crate) fn my_tasks(query: &Query) -> Result<pb::ListMyTasksRequest, ApiError> {
    let mut checks = Checks::default();
    if let Some(cursor) = query.get("cursor") {
        check_cursor(&mut checks, cursor);
    }
    if let Some(group) = query.get("group")
        && !GROUPS.contains(&group.as_str())
    {
        checks.fail(
            "group",
            "group must be one of overdue, due_soon, stale, awaiting_approval, requests, later, done",
        );
    }
    checks.finish()?;
    let (status, kind) = task_filters(query)?;
    let limit = parse_limit(query.get("limit"))?;
    Ok(pb::ListMyTasksRequest {
        group: text(query, "group"),
        status: status.into(),
        kind: kind.into(),
        cursor: text(query, "cursor"),
        limit,
    })
}

/// `assignee` of `GET /api/v1/tasks`: `me` (the caller) or a user id.
pub(crate) fn assignee(query: &Query, me: Uuid) -> Result<Uuid, ApiError> {
    match query.get("assignee").map(String::as_str) {
        Some("me") => Ok(me),
        Some(id) => path_id("assignee", id),
        None => Err(ApiError::invalid(
            "assignee",
            "assignee is required: me, or a user id",
        )),
    }
}

/// The activity feed's cursor: the event sequence to continue before.
pub(crate) fn events_cursor(sequence: u64) -> Option<String> {
    (sequence != 0).then(|| URL_SAFE_NO_PAD.encode(format!("before:{sequence}")))
}

fn decode_events_cursor(cursor: &str) -> Result<u64, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("before:").and_then(|n| n.parse().ok()))
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::invalid("cursor", "cursor is not one this API issued"))
}

/// `GET /api/v1/activity`: `cursor` (from [`events_cursor`]) and `limit`,
/// newest first.
pub(crate) fn recent_events(query: &Query) -> Result<pb::ListEventsRequest, ApiError> {
    let before = query
        .get("cursor")
        .map(|c| decode_events_cursor(c))
        .transpose()?
        .unwrap_or(0);
    Ok(pb::ListEventsRequest {
        after: before,
        limit: parse_limit(query.get("limit"))?,
        newest_first: true,
        ..Default::default()
    })
}
