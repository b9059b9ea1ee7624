//! Documents and their versions' metadata; uploads arrive as multipart.

use std::collections::HashMap;

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, patch, post},
};
use folio_proto::documents::v1::{self as pb, upload_header};

use super::upload::{Form, outcome_parts, receive};
use crate::{
    error::ApiError,
    rest::{
        forms::{
            Checks, DocumentPatch, TaskStatus, VersionPatch, path_id, path_version, split_tags,
        },
        views::{Document, DocumentCreated, Items, Page, Version, VersionOutcome},
    },
    web::{
        AppState,
        extract::{Authed, JsonBody, Writer},
    },
};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/documents",
            get(list).post(create).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/v1/documents/{document_id}",
            get(fetch).patch(update).delete(remove),
        )
        .route(
            "/api/v1/documents/{document_id}/versions",
            get(versions)
                .post(add_version)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/v1/documents/{document_id}/versions/{number}",
            patch(label),
        )
        .route(
            "/api/v1/documents/{document_id}/versions/{number}/restore",
            post(restore),
        )
}

/// Restoring version N adds a version with its content (201, as an upload).
async fn restore(
    State(state): State<AppState>,
    Writer(writer): Writer,
    Path((document_id, number)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = path_id("document_id", &document_id)?;
    let number = path_version(&number)?;
    let outcome = state
        .documents
        .restore_version(writer.actor().request(pb::RestoreVersionRequest {
            document_id: id.to_string(),
            number,
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "version"))?;
    let (document, version) = outcome_parts(outcome)?;
    created(
        &format!("/api/v1/documents/{id}/versions"),
        VersionOutcome {
            document: Document::from(document),
            version: Version::from(version),
            created: true,
        },
    )
}

/// Sets a version's label, or clears it with `null`.
async fn label(
    State(state): State<AppState>,
    Writer(writer): Writer,
    Path((document_id, number)): Path<(String, String)>,
    JsonBody(change): JsonBody<VersionPatch>,
) -> Result<Json<Version>, ApiError> {
    let id = path_id("document_id", &document_id)?;
    let number = path_version(&number)?;
    change.check()?;
    let version = state
        .documents
        .label_version(writer.actor().request(pb::LabelVersionRequest {
            document_id: id.to_string(),
            number,
            label: change.label.flatten(),
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "version"))?;
    Ok(Json(Version::from(version)))
}

pub(super) fn status_code(status: TaskStatus) -> pb::TaskStatus {
    match status {
        TaskStatus::Open => pb::TaskStatus::Open,
        TaskStatus::InProgress => pb::TaskStatus::InProgress,
        TaskStatus::Done => pb::TaskStatus::Done,
    }
}

/// Checks a cursor's shape; the service checks that it issued it.
pub(super) fn check_cursor(checks: &mut Checks, cursor: &str) {
    let valid = !cursor.is_empty()
        && cursor.len() <= 512
        && cursor
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        checks.fail("cursor", "cursor is not one this API issued");
    }
}

pub(super) fn parse_limit(raw: Option<&String>) -> Result<u32, ApiError> {
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

async fn list(
    State(state): State<AppState>,
    authed: Authed,
    query: Result<Query<HashMap<String, String>>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<Document>>, ApiError> {
    let Query(query) =
        query.map_err(|_| ApiError::invalid("query", "the query string is malformed"))?;
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
    let task_status = query
        .get("task_status")
        .map(|s| TaskStatus::parse(s).map(status_code))
        .transpose()?
        .unwrap_or(pb::TaskStatus::Unspecified);
    let page = state
        .documents
        .list_documents(authed.actor().request(pb::ListDocumentsRequest {
            query: query.get("q").cloned().unwrap_or_default(),
            tag: query.get("tag").cloned().unwrap_or_default(),
            task_status: task_status.into(),
            cursor: query.get("cursor").cloned().unwrap_or_default(),
            limit,
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "document"))?;
    Ok(Json(Page {
        items: page.documents.into_iter().map(Document::from).collect(),
        next_cursor: (!page.next_cursor.is_empty()).then_some(page.next_cursor),
    }))
}

/// 201 with the created resource's path in `Location`.
pub(super) fn created(location: &str, body: impl serde::Serialize) -> Result<Response, ApiError> {
    let location =
        HeaderValue::from_str(location).map_err(|_| ApiError::Internal("location".into()))?;
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    response.headers_mut().insert(header::LOCATION, location);
    Ok(response)
}

async fn create(
    State(state): State<AppState>,
    Writer(writer): Writer,
    form: Result<Form, ApiError>,
) -> Result<Response, ApiError> {
    let mut form = form?;
    let outcome = receive(
        &state,
        &writer.actor(),
        &mut form,
        &["title", "description", "tags", "note"],
        |texts| {
            let text = |name: &str| texts.get(name).cloned();
            let mut checks = Checks::default();
            if let Some(title) = &text("title") {
                checks.line("title", title, 200);
            }
            if let Some(description) = &text("description") {
                checks.text("description", description, 0, 10_000);
            }
            let note = text("note").unwrap_or_default();
            checks.text("note", &note, 0, 1000);
            checks.finish()?;
            let tags = text("tags")
                .map(|t| split_tags(&t))
                .transpose()?
                .unwrap_or_default();
            let target = upload_header::Target::NewDocument(pb::NewDocument {
                title: text("title").unwrap_or_default(),
                description: text("description").unwrap_or_default(),
                tags,
            });
            Ok((target.into(), note))
        },
    )
    .await?;
    let (document, version) = outcome_parts(outcome)?;
    let location = format!("/api/v1/documents/{}", document.id);
    created(
        &location,
        DocumentCreated {
            document: Document::from(document),
            version: Version::from(version),
        },
    )
}

async fn fetch(
    State(state): State<AppState>,
    authed: Authed,
    Path(document_id): Path<String>,
) -> Result<Json<Document>, ApiError> {
    let id = path_id("document_id", &document_id)?;
    let document = state
        .documents
        .get_document(
            authed
                .actor()
                .request(pb::GetDocumentRequest { id: id.to_string() }),
        )
        .await
        .map_err(|s| ApiError::from_call(s, "document"))?;
    Ok(Json(Document::from(document)))
}

async fn update(
    State(state): State<AppState>,
    Writer(writer): Writer,
    Path(document_id): Path<String>,
    JsonBody(change): JsonBody<DocumentPatch>,
) -> Result<Json<Document>, ApiError> {
    let id = path_id("document_id", &document_id)?;
    change.check()?;
    let document = state
        .documents
        .update_document(writer.actor().request(pb::UpdateDocumentRequest {
            id: id.to_string(),
            title: change.title,
            description: change.description,
            tags: change.tags.map(|tags| pb::Tags { tags }),
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "document"))?;
    Ok(Json(Document::from(document)))
}

async fn remove(
    State(state): State<AppState>,
    Writer(writer): Writer,
    Path(document_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id("document_id", &document_id)?;
    state
        .documents
        .delete_document(
            writer
                .actor()
                .request(pb::DeleteDocumentRequest { id: id.to_string() }),
        )
        .await
        .map_err(|s| ApiError::from_call(s, "document"))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn versions(
    State(state): State<AppState>,
    authed: Authed,
    Path(document_id): Path<String>,
) -> Result<Json<Items<Version>>, ApiError> {
    let id = path_id("document_id", &document_id)?;
    let mut versions = state
        .documents
        .list_versions(authed.actor().request(pb::ListVersionsRequest {
            document_id: id.to_string(),
        }))
        .await
        .map_err(|s| ApiError::from_call(s, "document"))?
        .versions;
    // The contract lists newest first; the service answers in version order.
    versions.sort_unstable_by_key(|v| std::cmp::Reverse(v.number));
    Ok(Json(Items {
        items: versions.into_iter().map(Version::from).collect(),
    }))
}

async fn add_version(
    State(state): State<AppState>,
    Writer(writer): Writer,
    Path(document_id): Path<String>,
    form: Result<Form, ApiError>,
) -> Result<Response, ApiError> {
    let id = path_id("document_id", &document_id)?;
    let mut form = form?;
    let outcome = receive(&state, &writer.actor(), &mut form, &["note"], |texts| {
        let note = texts.get("note").cloned().unwrap_or_default();
        let mut checks = Checks::default();
        checks.text("note", &note, 0, 1000);
        checks.finish()?;
        Ok((
            upload_header::Target::DocumentId(id.to_string()).into(),
            note,
        ))
    })
    .await?;
    let was_created = outcome.created;
    let (document, version) = outcome_parts(outcome)?;
    let body = VersionOutcome {
        document: Document::from(document),
        version: Version::from(version),
        created: was_created,
    };
    if was_created {
        created(&format!("/api/v1/documents/{id}/versions"), body)
    } else {
        Ok((StatusCode::OK, Json(body)).into_response())
    }
}
