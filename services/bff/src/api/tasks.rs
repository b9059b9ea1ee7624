//! Tasks on documents, and "my tasks".

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, Path, State},
    http::StatusCode,
    response::Response,
    routing::{get, patch, post},
};
use folio_clients::DocumentsError;
use folio_platform::actor::Actor;
use folio_proto::documents::v1::{self as pb, list_tasks_request::Scope};
use uuid::Uuid;

use super::{
    shared::created,
    upload::{Destination, Form, receive},
};
use crate::{
    error::ApiError,
    rest::{
        forms::{
            self, CommentForm, DecisionForm, DecisionWord, NewRequest, NewTask, RejectForm,
            TaskKind, TaskPatch, path_id,
        },
        queries,
        views::{Comment, DocumentCreated, Event, Items, MyTask, Page, Task, TaskFulfilled},
    },
    web::{
        AppState,
        extract::{Authed, JsonBody, Writer},
        query::QueryMap,
    },
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/documents/{document_id}/tasks",
            get(of_document).post(create),
        )
        .route("/api/v1/tasks", get(assigned).post(create_request))
        .route("/api/v1/tasks/mine", get(mine))
        .route("/api/v1/tasks/{task_id}", patch(update).delete(remove))
        .route("/api/v1/tasks/{task_id}/carry-forward", post(carry_forward))
        .route("/api/v1/tasks/{task_id}/close", post(close))
        .route("/api/v1/tasks/{task_id}/decision", post(decide))
        .route(
            "/api/v1/tasks/{task_id}/fulfil",
            post(fulfil).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/v1/tasks/{task_id}/accept", post(accept))
        .route("/api/v1/tasks/{task_id}/reject", post(reject))
        .route(
            "/api/v1/tasks/{task_id}/comments",
            get(comments).post(add_comment),
        )
        .route(
            "/api/v1/tasks/{task_id}/comments/{comment_id}",
            patch(edit_comment),
        )
        .route("/api/v1/tasks/{task_id}/history", get(history))
}

/// The documents service's answer for a task, with its state errors as 409.
fn task_answer(answer: Result<pb::Task, DocumentsError>) -> Result<Json<Task>, ApiError> {
    answer
        .map(|task| Json(Task::from(task)))
        .map_err(|s| ApiError::from_call(s, "task"))
}

async fn list(
    state: &AppState,
    authed: &Authed,
    scope: Scope,
    (status, kind): (pb::TaskStatus, pb::TaskKind),
) -> Result<Json<Items<Task>>, ApiError> {
    let tasks = state
        .documents
        .list_tasks(authed.actor().request(pb::ListTasksRequest {
            scope: Some(scope),
            status: status.into(),
            kind: kind.into(),
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "document"))?
        .tasks;
    Ok(Json(Items {
        items: tasks.into_iter().map(Task::from).collect(),
    }))
}

async fn of_document(
    State(state): State<AppState>,
    authed: Authed,
    Path(document_id): Path<String>,
    QueryMap(query): QueryMap,
) -> Result<Json<Items<Task>>, ApiError> {
    let id = path_id("document_id", &document_id)?;
    let filters = queries::task_filters(&query)?;
    list(&state, &authed, Scope::DocumentId(id.to_string()), filters).await
}

async fn assigned(
    State(state): State<AppState>,
    authed: Authed,
    QueryMap(query): QueryMap,
) -> Result<Json<Items<Task>>, ApiError> {
    let assignee = queries::assignee(&query, authed.session.user_id)?;
    let filters = queries::task_filters(&query)?;
    let scope = Scope::AssigneeId(assignee.to_string());
    list(&state, &authed, scope, filters).await
}

async fn mine(
    State(state): State<AppState>,
    authed: Authed,
    QueryMap(query): QueryMap,
) -> Result<Json<Page<MyTask>>, ApiError> {
    let request = queries::my_tasks(&query)?;
    let page = state
        .documents
        .list_my_tasks(authed.actor().request(request))
        .await
        .map_err(|s| ApiError::from_call(s, "task"))?;
    let tasks = page.tasks.into_iter().filter_map(|t| {
        Some(MyTask {
            group: t.group,
            task: Task::from(t.task?),
        })
    });
    Ok(Json(Page::new(tasks, page.next_cursor)))
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
        .create_task(writer.actor().request(pb::CreateTaskRequest {
            document_id: id.to_string(),
            title: new.title,
            description: new.description.unwrap_or_default(),
            assignee_id: new.assignee_id.unwrap_or_default(),
            due_date: new.due_date.unwrap_or_default(),
            kind: queries::kind_code(new.kind.unwrap_or(TaskKind::Todo)).into(),
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "document"))?;
    created(&format!("/api/v1/tasks/{}", task.id), Task::from(task))
}

/// A request for a document that does not exist yet.
async fn create_request(
    State(state): State<AppState>,
    Writer(writer): Writer,
    JsonBody(new): JsonBody<NewRequest>,
) -> Result<Response, ApiError> {
    new.check()?;
    let task = state
        .documents
        .create_task(writer.actor().request(pb::CreateTaskRequest {
            document_id: String::new(),
            title: new.title,
            description: new.description.unwrap_or_default(),
            assignee_id: new.assignee,
            due_date: new.due,
            kind: pb::TaskKind::Request.into(),
        }))
        .await
        .map_err(request_fields)?;
    created(&format!("/api/v1/tasks/{}", task.id), Task::from(task))
}

/// The service names its own fields; the contract says `assignee` and `due`.
fn request_fields(error: DocumentsError) -> ApiError {
    let mut error = ApiError::from_call(error, "task");
    if let ApiError::Validation(errors) = &mut error {
        for e in errors {
            e.field = match e.field.as_str() {
                "assignee_id" => "assignee".into(),
                "due_date" => "due".into(),
                _ => e.field.clone(),
            };
        }
    }
    error
}

async fn carry_forward(
    State(state): State<AppState>,
    authed: Authed,
    Path(task_id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    let id = path_id("task_id", &task_id)?;
    task_answer(
        state
            .documents
            .carry_forward_task(
                authed
                    .actor()
                    .request(pb::CarryForwardTaskRequest { id: id.to_string() }),
            )
            .await,
    )
}

async fn close(
    State(state): State<AppState>,
    authed: Authed,
    Path(task_id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    let id = path_id("task_id", &task_id)?;
    task_answer(
        state
            .documents
            .close_task(
                authed
                    .actor()
                    .request(pb::CloseTaskRequest { id: id.to_string() }),
            )
            .await,
    )
}

async fn decide(
    State(state): State<AppState>,
    authed: Authed,
    Path(task_id): Path<String>,
    JsonBody(form): JsonBody<DecisionForm>,
) -> Result<Json<Task>, ApiError> {
    let id = path_id("task_id", &task_id)?;
    form.check()?;
    let decision = match form.decision {
        DecisionWord::Approve => pb::Decision::Approved,
        DecisionWord::Reject => pb::Decision::Rejected,
    };
    task_answer(
        state
            .documents
            .decide_approval(authed.actor().request(pb::DecideApprovalRequest {
                id: id.to_string(),
                decision: decision.into(),
                comment: form.comment.unwrap_or_default(),
            }))
            .await,
    )
}

/// The assignee uploads what the request asks for (multipart: `file`,
/// optional `note`); the documents service decides whether they may.
async fn fulfil(
    State(state): State<AppState>,
    authed: Authed,
    Path(task_id): Path<String>,
    form: Result<Form, ApiError>,
) -> Result<Response, ApiError> {
    let id = path_id("task_id", &task_id)?;
    let mut form = form?;
    let actor = authed.actor();
    let destination = Destination::Request(id.to_string());
    let outcome = receive(&state, &actor, &mut form, &["note"], |texts| {
        Ok((destination, forms::upload_note(texts)?))
    })
    .await
    .map_err(|e| e.not_found_as("task"))?;
    let uploaded = DocumentCreated::try_from(outcome)?;
    let body = TaskFulfilled {
        task: Task::from(visible_task(&state, &actor, id).await?),
        document: uploaded.document,
        version: uploaded.version,
    };
    created(&format!("/api/v1/tasks/{id}"), body)
}

async fn review(
    state: &AppState,
    writer: &Authed,
    task_id: &str,
    accept: bool,
    reason: String,
) -> Result<Json<Task>, ApiError> {
    let id = path_id("task_id", task_id)?;
    task_answer(
        state
            .documents
            .review_request(writer.actor().request(pb::ReviewRequestRequest {
                id: id.to_string(),
                accept,
                reason,
            }))
            .await,
    )
}

async fn accept(
    State(state): State<AppState>,
    Writer(writer): Writer,
    Path(task_id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    review(&state, &writer, &task_id, true, String::new()).await
}

async fn reject(
    State(state): State<AppState>,
    Writer(writer): Writer,
    Path(task_id): Path<String>,
    JsonBody(form): JsonBody<RejectForm>,
) -> Result<Json<Task>, ApiError> {
    path_id("task_id", &task_id)?;
    form.check()?;
    review(&state, &writer, &task_id, false, form.reason).await
}

async fn comments(
    State(state): State<AppState>,
    authed: Authed,
    Path(task_id): Path<String>,
) -> Result<Json<Items<Comment>>, ApiError> {
    let id = path_id("task_id", &task_id)?;
    let comments = state
        .documents
        .list_comments(authed.actor().request(pb::ListCommentsRequest {
            task_id: id.to_string(),
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "task"))?
        .comments;
    Ok(Json(Items {
        items: comments.into_iter().map(Comment::from).collect(),
    }))
}

/// Anyone who sees the task may comment, viewers included.
async fn add_comment(
    State(state): State<AppState>,
    authed: Authed,
    Path(task_id): Path<String>,
    JsonBody(form): JsonBody<CommentForm>,
) -> Result<Response, ApiError> {
    let id = path_id("task_id", &task_id)?;
    form.check()?;
    let comment = state
        .documents
        .add_comment(authed.actor().request(pb::AddCommentRequest {
            task_id: id.to_string(),
            body: form.body,
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "task"))?;
    created(
        &format!("/api/v1/tasks/{id}/comments/{}", comment.id),
        Comment::from(comment),
    )
}

async fn edit_comment(
    State(state): State<AppState>,
    authed: Authed,
    Path((task_id, comment_id)): Path<(String, String)>,
    JsonBody(form): JsonBody<CommentForm>,
) -> Result<Json<Comment>, ApiError> {
    let task = path_id("task_id", &task_id)?;
    let id = path_id("comment_id", &comment_id)?;
    form.check()?;
    let comment = state
        .documents
        .edit_comment(authed.actor().request(pb::EditCommentRequest {
            task_id: task.to_string(),
            id: id.to_string(),
            body: form.body,
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "comment"))?;
    Ok(Json(Comment::from(comment)))
}

/// The task if the caller may see it: another organisation's id answers 404.
async fn visible_task(state: &AppState, actor: &Actor, id: Uuid) -> Result<pb::Task, ApiError> {
    state
        .documents
        .get_task(actor.request(pb::GetTaskRequest { id: id.to_string() }))
        .await
        .map_err(|s| ApiError::from_call(s, "task"))
}

/// A task's history: its events, oldest first (at most 500).
async fn history(
    State(state): State<AppState>,
    authed: Authed,
    Path(task_id): Path<String>,
) -> Result<Json<Items<Event>>, ApiError> {
    let id = path_id("task_id", &task_id)?;
    let actor = authed.actor();
    visible_task(&state, &actor, id).await?;
    let events = state
        .documents
        .list_events(actor.request(pb::ListEventsRequest {
            limit: 500,
            task_id: id.to_string(),
            ..Default::default()
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "task"))?
        .events;
    Ok(Json(Items {
        items: events.into_iter().map(Event::from).collect(),
    }))
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
        .update_task(writer.actor().request(pb::UpdateTaskRequest {
            id: id.to_string(),
            title: change.title,
            description: change.description,
            status: change.status.map(|s| queries::status_code(s).into()),
            // Present-and-empty clears the field in the contract.
            assignee_id: change.assignee_id.map(Option::unwrap_or_default),
            due_date: change.due_date.map(Option::unwrap_or_default),
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "task"))?;
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
        .delete_task(
            writer
                .actor()
                .request(pb::DeleteTaskRequest { id: id.to_string() }),
        )
        .await
        .map_err(|s| ApiError::from_call(s, "task"))?;
    Ok(StatusCode::NO_CONTENT)
}
