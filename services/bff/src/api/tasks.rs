//! Tasks on documents, and "my tasks".

use std::collections::HashMap;

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
    routing::{get, patch},
};
use folio_proto::documents::v1::{self as pb, list_tasks_request::Scope};

use super::documents::{created, status_code};
use crate::{
    domain::{
        forms::{NewTask, TaskPatch, TaskStatus, path_id},
        views::{Items, Task},
    },
    error::ApiError,
    web::{
        AppState,
        extract::{Authed, JsonBody, Writer},
    },
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/documents/{document_id}/tasks",
            get(of_document).post(create),
        )
        .route("/api/v1/tasks", get(assigned))
        .route("/api/v1/tasks/{task_id}", patch(update).delete(remove))
}

async fn list(
    state: &AppState,
    authed: &Authed,
    scope: Scope,
    status: pb::TaskStatus,
) -> Result<Json<Items<Task>>, ApiError> {
    let tasks = state
        .documents
        .clone()
        .list_tasks(authed.actor().request(pb::ListTasksRequest {
            scope: Some(scope),
            status: status.into(),
            ..Default::default()
        }))
        .await
        .map_err(|s| ApiError::from_status(&s, "document"))?
        .into_inner()
        .tasks;
    Ok(Json(Items {
        items: tasks.into_iter().map(Task::from).collect(),
    }))
}

/// The `status` query parameter, when given.
fn status_filter(query: &HashMap<String, String>) -> Result<pb::TaskStatus, ApiError> {
    Ok(query
        .get("status")
        .map(|s| TaskStatus::parse(s).map(status_code))
        .transpose()?
        .unwrap_or(pb::TaskStatus::Unspecified))
}

async fn of_document(
    State(state): State<AppState>,
    authed: Authed,
    Path(document_id): Path<String>,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Items<Task>>, ApiError> {
    let id = path_id("document_id", &document_id)?;
    let Query(query) =
        query.map_err(|_| ApiError::invalid("query", "the query string is malformed"))?;
    let status = status_filter(&query)?;
    list(&state, &authed, Scope::DocumentId(id.to_string()), status).await
}

async fn assigned(
    State(state): State<AppState>,
    authed: Authed,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Items<Task>>, ApiError> {
    let Query(query) =
        query.map_err(|_| ApiError::invalid("query", "the query string is malformed"))?;
    let assignee = match query.get("assignee").map(String::as_str) {
        Some("me") => authed.session.user_id,
        Some(id) => path_id("assignee", id)?,
        None => {
            return Err(ApiError::invalid(
                "assignee",
                "assignee is required: me, or a user id",
            ));
        }
    };
    let status = status_filter(&query)?;
    list(
        &state,
        &authed,
        Scope::AssigneeId(assignee.to_string()),
        status,
    )
    .await
}

async fn create(
    State(state): State<AppState>,
    Writer(writer): Writer,
    Path(document_id): Path<String>,
    JsonBody(new): JsonBody<NewTask>,
) -> Result<Response, ApiError> {
    let id = path_id("document_id", &document_id)?;
    new.check()?;
    let task = state
        .documents
        .clone()
        .create_task(writer.actor().request(pb::CreateTaskRequest {
            document_id: id.to_string(),
            title: new.title,
            description: new.description.unwrap_or_default(),
            assignee_id: new.assignee_id.unwrap_or_default(),
            due_date: new.due_date.unwrap_or_default(),
            ..Default::default()
        }))
        .await
        .map_err(|s| ApiError::from_status(&s, "document"))?
        .into_inner();
    created(&format!("/api/v1/tasks/{}", task.id), Task::from(task))
}

async fn update(
    State(state): State<AppState>,
    Writer(writer): Writer,
    Path(task_id): Path<String>,
    JsonBody(change): JsonBody<TaskPatch>,
) -> Result<Json<Task>, ApiError> {
    let id = path_id("task_id", &task_id)?;
    change.check()?;
    let task = state
        .documents
        .clone()
        .update_task(writer.actor().request(pb::UpdateTaskRequest {
            id: id.to_string(),
            title: change.title,
            description: change.description,
            status: change.status.map(|s| status_code(s).into()),
            // Present-and-empty clears the field in the contract.
            assignee_id: change.assignee_id.map(Option::unwrap_or_default),
            due_date: change.due_date.map(Option::unwrap_or_default),
        }))
        .await
        .map_err(|s| ApiError::from_status(&s, "task"))?
        .into_inner();
    Ok(Json(Task::from(task)))
}

async fn remove(
    State(state): State<AppState>,
    Writer(writer): Writer,
    Path(task_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id("task_id", &task_id)?;
    state
        .documents
        .clone()
        .delete_task(
            writer
                .actor()
                .request(pb::DeleteTaskRequest { id: id.to_string() }),
        )
        .await
        .map_err(|s| ApiError::from_status(&s, "task"))?;
    Ok(StatusCode::NO_CONTENT)
}
