use folio_platform::{
    actor::{Actor, ActorRole},
    grpc::Caller,
    identity::ServiceIdentity,
};
use folio_proto::documents::v1::{
    self as pb, documents_service_server::DocumentsService, list_tasks_request,
};
use tonic::{Request, Response, Status, Streaming};

use super::{
    convert::{self, parse_id, parse_optional_id, parse_status, parse_status_filter},
    transfer,
};
use crate::{
    domain::{
        Description, DocumentChanges, DocumentFilter, DueDate, ListCursor, Tags, TaskChanges,
        Title, parse_task_title,
    },
    error::Error,
    library::{Library, NewTask},
    store::tasks::TaskScope,
};

#[derive(Debug, Clone)]
pub struct DocumentsApi {
    library: Library,
}

impl DocumentsApi {
    pub fn new(library: Library) -> Self {
        Self { library }
    }
}

fn actor<T>(request: &Request<T>) -> Result<Actor, Error> {
    caller(request).map(|(actor, _)| actor)
}

/// The end user, and whether the integration's certificate carries the
/// call. The integration acts as an editor at most (docs/adr/0042).
fn caller<T>(request: &Request<T>) -> Result<(Actor, bool), Error> {
    let actor = Actor::from_metadata(request.metadata())?;
    let integration = request
        .extensions()
        .get::<Caller>()
        .is_some_and(|c| c.0.name() == ServiceIdentity::INTEGRATION);
    if integration && actor.role == ActorRole::Admin {
        return Err(Error::NotForIntegration("act as an admin"));
    }
    Ok((actor, integration))
}

fn optional_due_date(raw: &str) -> Result<Option<DueDate>, Error> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        DueDate::parse(raw).map(Some)
    }
}

#[tonic::async_trait]
impl DocumentsService for DocumentsApi {
    async fn get_document(
        &self,
        request: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::Document>, Status> {
        let actor = actor(&request)?;
        let id = parse_id("id", &request.get_ref().id)?;
        let doc = self.library.document(&actor, id).await?;
        Ok(Response::new(convert::document(&doc)))
    }

    async fn list_documents(
        &self,
        request: Request<pb::ListDocumentsRequest>,
    ) -> Result<Response<pb::ListDocumentsResponse>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let filter =
            DocumentFilter::parse(&req.query, &req.tag, parse_status_filter(req.task_status)?)?;
        let cursor = (!req.cursor.is_empty())
            .then(|| ListCursor::decode(&req.cursor))
            .transpose()?;
        let (docs, next) = self
            .library
            .documents(&actor, &filter, cursor, req.limit)
            .await?;
        Ok(Response::new(pb::ListDocumentsResponse {
            documents: docs.iter().map(convert::document).collect(),
            next_cursor: next.map(ListCursor::encode).unwrap_or_default(),
        }))
    }

    async fn update_document(
        &self,
        request: Request<pb::UpdateDocumentRequest>,
    ) -> Result<Response<pb::Document>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let id = parse_id("id", &req.id)?;
        let changes = DocumentChanges {
            title: req.title.as_deref().map(Title::parse).transpose()?,
            description: req
                .description
                .as_deref()
                .map(Description::parse)
                .transpose()?,
            tags: req.tags.map(|t| Tags::parse(&t.tags)).transpose()?,
        };
        let doc = self.library.update_document(&actor, id, changes).await?;
        Ok(Response::new(convert::document(&doc)))
    }

    async fn delete_document(
        &self,
        request: Request<pb::DeleteDocumentRequest>,
    ) -> Result<Response<pb::DeleteDocumentResponse>, Status> {
        let (actor, integration) = caller(&request)?;
        let id = parse_id("id", &request.get_ref().id)?;
        if integration {
            self.library.require_onedrive_link(&actor, id).await?;
        }
        self.library.delete_document(&actor, id).await?;
        Ok(Response::new(pb::DeleteDocumentResponse {}))
    }

    async fn upload_version(
        &self,
        request: Request<Streaming<pb::UploadVersionRequest>>,
    ) -> Result<Response<pb::UploadVersionResponse>, Status> {
        let (actor, integration) = caller(&request)?;
        let outcome =
            transfer::receive_upload(&self.library, actor, integration, request.into_inner())
                .await?;
        Ok(Response::new(pb::UploadVersionResponse {
            document: Some(convert::document(&outcome.document)),
            version: Some(convert::version(&outcome.version)),
            created: outcome.created,
        }))
    }

    async fn list_versions(
        &self,
        request: Request<pb::ListVersionsRequest>,
    ) -> Result<Response<pb::ListVersionsResponse>, Status> {
        let actor = actor(&request)?;
        let id = parse_id("document_id", &request.get_ref().document_id)?;
        let versions = self.library.versions(&actor, id).await?;
        Ok(Response::new(pb::ListVersionsResponse {
            versions: versions.iter().map(convert::version).collect(),
        }))
    }

    type DownloadVersionStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::DownloadVersionResponse, Status>>;

    async fn download_version(
        &self,
        request: Request<pb::DownloadVersionRequest>,
    ) -> Result<Response<Self::DownloadVersionStream>, Status> {
        let (actor, integration) = caller(&request)?;
        if integration {
            let id = parse_id("document_id", &request.get_ref().document_id)?;
            self.library.require_onedrive_link(&actor, id).await?;
        }
        let stream = transfer::send_download(&self.library, &actor, request.into_inner()).await?;
        Ok(Response::new(stream))
    }

    async fn create_task(
        &self,
        request: Request<pb::CreateTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let new = NewTask {
            document_id: parse_id("document_id", &req.document_id)?,
            title: parse_task_title(&req.title)?,
            description: Description::parse(&req.description)?,
            assignee_id: parse_optional_id("assignee_id", &req.assignee_id)?,
            due_date: optional_due_date(&req.due_date)?,
        };
        let task = self.library.create_task(&actor, new).await?;
        Ok(Response::new(convert::task(&task)))
    }

    async fn get_task(
        &self,
        request: Request<pb::GetTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let actor = actor(&request)?;
        let id = parse_id("id", &request.get_ref().id)?;
        let task = self.library.task(&actor, id).await?;
        Ok(Response::new(convert::task(&task)))
    }

    async fn list_tasks(
        &self,
        request: Request<pb::ListTasksRequest>,
    ) -> Result<Response<pb::ListTasksResponse>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let scope = match req.scope {
            Some(list_tasks_request::Scope::DocumentId(id)) => {
                TaskScope::Document(parse_id("document_id", &id)?)
            }
            Some(list_tasks_request::Scope::AssigneeId(id)) => {
                TaskScope::Assignee(parse_id("assignee_id", &id)?)
            }
            None => {
                return Err(
                    Error::invalid("scope", "must name a document_id or an assignee_id").into(),
                );
            }
        };
        let status = parse_status_filter(req.status)?;
        let tasks = self.library.tasks(&actor, scope, status).await?;
        Ok(Response::new(pb::ListTasksResponse {
            tasks: tasks.iter().map(convert::task).collect(),
        }))
    }

    async fn update_task(
        &self,
        request: Request<pb::UpdateTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let id = parse_id("id", &req.id)?;
        let changes = TaskChanges {
            title: req.title.as_deref().map(parse_task_title).transpose()?,
            description: req
                .description
                .as_deref()
                .map(Description::parse)
                .transpose()?,
            status: req.status.map(parse_status).transpose()?,
            assignee_id: req
                .assignee_id
                .as_deref()
                .map(|a| parse_optional_id("assignee_id", a))
                .transpose()?,
            due_date: req.due_date.as_deref().map(optional_due_date).transpose()?,
        };
        let task = self.library.update_task(&actor, id, changes).await?;
        Ok(Response::new(convert::task(&task)))
    }

    async fn delete_task(
        &self,
        request: Request<pb::DeleteTaskRequest>,
    ) -> Result<Response<pb::DeleteTaskResponse>, Status> {
        let actor = actor(&request)?;
        let id = parse_id("id", &request.get_ref().id)?;
        self.library.delete_task(&actor, id).await?;
        Ok(Response::new(pb::DeleteTaskResponse {}))
    }

    async fn list_events(
        &self,
        request: Request<pb::ListEventsRequest>,
    ) -> Result<Response<pb::ListEventsResponse>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let (events, next) = self
            .library
            .events(&actor, req.after, req.limit, req.newest_first)
            .await?;
        Ok(Response::new(pb::ListEventsResponse {
            events: events.iter().map(convert::event).collect(),
            next,
        }))
    }

    async fn share_with_one_drive(
        &self,
        request: Request<pb::ShareWithOneDriveRequest>,
    ) -> Result<Response<pb::ShareWithOneDriveResponse>, Status> {
        let actor = actor(&request)?;
        let id = parse_id("document_id", &request.get_ref().document_id)?;
        self.library.share_with_onedrive(&actor, id).await?;
        Ok(Response::new(pb::ShareWithOneDriveResponse {}))
    }
}
