//! Documents and their versions' metadata; uploads arrive as multipart.

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, patch, post},
};
use folio_proto::documents::v1::{self as pb, upload_header};

use super::{
    shared::created,
    upload::{Form, receive},
};
use crate::{
    error::ApiError,
    library_pages::{Page as KeptPage, PageKey},
    rest::{
        forms::{self, DocumentPatch, VersionPatch, path_id, path_version},
        queries,
        views::{Document, DocumentCreated, Items, Page, Version, VersionOutcome},
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
    // Restoring always answers as a new version.
    let body = VersionOutcome {
        created: true,
        ..VersionOutcome::try_from(outcome)?
    };
    created(&format!("/api/v1/documents/{id}/versions"), body)
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

/// Served from this replica's kept pages while the library revision holds
/// (docs/adr/0081).
async fn list(
    State(state): State<AppState>,
    authed: Authed,
    QueryMap(query): QueryMap,
) -> Result<Response, ApiError> {
    let request = queries::documents(&query)?;
    let actor = authed.actor();
    let key = PageKey {
        org_id: actor.org_id,
        query: request.query.clone(),
        tag: request.tag.clone(),
        task_status: request.task_status,
        cursor: request.cursor.clone(),
        limit: request.limit,
    };
    let documents = &state.documents;
    let check = || {
        let (documents, asked) = (
            documents.clone(),
            actor.request(pb::GetLibraryRevisionRequest {}),
        );
        async move {
            let current = documents.get_library_revision(asked).await;
            current
                .map(|r| r.revision)
                .map_err(|s| ApiError::from_call(s, "document"))
        }
    };
    let fetch = || async {
        let page = documents
            .list_documents(actor.request(request))
            .await
            .map_err(|s| ApiError::from_call(s, "document"))?;
        let revision = page.revision;
        let documents = page.documents.into_iter().map(Document::from);
        let body = serde_json::to_vec(&Page::new(documents, page.next_cursor))
            .map_err(|e| ApiError::Internal(format!("a document page: {e}")))?;
        Ok(KeptPage {
            revision,
            body: body.into(),
        })
    };
    let body = state.pages.page(key, check, fetch).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn create(
    State(state): State<AppState>,
    Writer(writer): Writer,
    form: Result<Form, ApiError>,
) -> Result<Response, ApiError> {
    let mut form = form?;
    let parts = ["title", "description", "tags", "note"];
    let outcome = receive(&state, &writer.actor(), &mut form, &parts, |texts| {
        let (document, note) = forms::new_document(texts)?;
        Ok((upload_header::Target::NewDocument(document).into(), note))
    })
    .await?;
    let body = DocumentCreated::try_from(outcome)?;
    created(&format!("/api/v1/documents/{}", body.document.id), body)
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
    let target = upload_header::Target::DocumentId(id.to_string());
    let outcome = receive(&state, &writer.actor(), &mut form, &["note"], |texts| {
        Ok((target.into(), forms::upload_note(texts)?))
    })
    .await?;
    let body = VersionOutcome::try_from(outcome)?;
    if body.created {
        created(&format!("/api/v1/documents/{id}/versions"), body)
    } else {
        Ok((StatusCode::OK, Json(body)).into_response())
    }
}
