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
    convert::{
        self, parse_decision, parse_id, parse_kind, parse_optional_id, parse_status,
        parse_status_filter,
    },
    transfer,
};
use crate::{
    domain::{
        CommentBody, Description, DocumentChanges, DocumentFilter, DueDate, Label, ListCursor,
        RetentionPolicy, Tags, TaskChanges, TaskCursor, TaskGroup, TaskKind, Title,
        parse_task_title,
    },
    error::Error,
    library::{IntegrationEvent, Library, MyTasksFilter, NewTask},
    store::tasks::TaskScope,
};

#[derive(Debug, Clone)]
pub(crate) struct DocumentsApi {
    library: Library,
}

impl DocumentsApi {
    pub(crate) fn new(library: Library) -> Self {
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
        let (actor, integration) = caller(&request)?;
        let id = parse_id("id", &request.get_ref().id)?;
        if integration {
            self.library.require_onedrive_link(&actor, id).await?;
        }
        let (doc, approval) = self.library.document_with_approval(&actor, id).await?;
        Ok(Response::new(convert::document_with_approval(
            &doc,
            approval.as_ref(),
        )))
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
        let (docs, next, revision) = self
            .library
            .documents(&actor, &filter, cursor, req.limit)
            .await?;
        Ok(Response::new(pb::ListDocumentsResponse {
            documents: docs.iter().map(convert::document).collect(),
            next_cursor: next.map(ListCursor::encode).unwrap_or_default(),
            revision,
        }))
    }

    async fn get_library_revision(
        &self,
        request: Request<pb::GetLibraryRevisionRequest>,
    ) -> Result<Response<pb::LibraryRevision>, Status> {
        let actor = actor(&request)?;
        let revision = self.library.revision(&actor).await?;
        Ok(Response::new(pb::LibraryRevision { revision }))
    }

    async fn update_document(
        &self,
        request: Request<pb::UpdateDocumentRequest>,
    ) -> Result<Response<pb::Document>, Status> {
        let (actor, integration) = caller(&request)?;
        let req = request.into_inner();
        let id = parse_id("id", &req.id)?;
        if integration {
            self.library.require_onedrive_link(&actor, id).await?;
        }
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
            document_id: parse_optional_id("document_id", &req.document_id)?,
            kind: parse_kind(req.kind, Some(TaskKind::Todo))?.unwrap_or(TaskKind::Todo),
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
        let kind = parse_kind(req.kind, None)?;
        let tasks = self.library.tasks(&actor, scope, status, kind).await?;
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
        let task_id = parse_optional_id("task_id", &req.task_id)?;
        let (events, next) = self
            .library
            .events(&actor, req.after, req.limit, req.newest_first, task_id)
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

    async fn carry_forward_task(
        &self,
        request: Request<pb::CarryForwardTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let actor = actor(&request)?;
        let id = parse_id("id", &request.get_ref().id)?;
        let task = self.library.carry_forward(&actor, id).await?;
        Ok(Response::new(convert::task(&task)))
    }

    async fn close_task(
        &self,
        request: Request<pb::CloseTaskRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let actor = actor(&request)?;
        let id = parse_id("id", &request.get_ref().id)?;
        let task = self.library.close_task(&actor, id).await?;
        Ok(Response::new(convert::task(&task)))
    }

    async fn decide_approval(
        &self,
        request: Request<pb::DecideApprovalRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let id = parse_id("id", &req.id)?;
        let decision = parse_decision(req.decision)?;
        let task = self
            .library
            .decide(&actor, id, decision, &req.comment)
            .await?;
        Ok(Response::new(convert::task(&task)))
    }

    async fn review_request(
        &self,
        request: Request<pb::ReviewRequestRequest>,
    ) -> Result<Response<pb::Task>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let id = parse_id("id", &req.id)?;
        let task = self
            .library
            .review_request(&actor, id, req.accept, &req.reason)
            .await?;
        Ok(Response::new(convert::task(&task)))
    }

    async fn list_comments(
        &self,
        request: Request<pb::ListCommentsRequest>,
    ) -> Result<Response<pb::ListCommentsResponse>, Status> {
        let actor = actor(&request)?;
        let id = parse_id("task_id", &request.get_ref().task_id)?;
        let comments = self.library.comments(&actor, id).await?;
        Ok(Response::new(pb::ListCommentsResponse {
            comments: comments.iter().map(convert::comment).collect(),
        }))
    }

    async fn add_comment(
        &self,
        request: Request<pb::AddCommentRequest>,
    ) -> Result<Response<pb::Comment>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let task_id = parse_id("task_id", &req.task_id)?;
        let body = CommentBody::parse(&req.body)?;
        let comment = self.library.add_comment(&actor, task_id, body).await?;
        Ok(Response::new(convert::comment(&comment)))
    }

    async fn edit_comment(
        &self,
        request: Request<pb::EditCommentRequest>,
    ) -> Result<Response<pb::Comment>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let task_id = parse_id("task_id", &req.task_id)?;
        let id = parse_id("id", &req.id)?;
        let body = CommentBody::parse(&req.body)?;
        let comment = self.library.edit_comment(&actor, task_id, id, body).await?;
        Ok(Response::new(convert::comment(&comment)))
    }

    async fn restore_version(
        &self,
        request: Request<pb::RestoreVersionRequest>,
    ) -> Result<Response<pb::UploadVersionResponse>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let id = parse_id("document_id", &req.document_id)?;
        let outcome = self.library.restore_version(&actor, id, req.number).await?;
        Ok(Response::new(pb::UploadVersionResponse {
            document: Some(convert::document(&outcome.document)),
            version: Some(convert::version(&outcome.version)),
            created: outcome.created,
        }))
    }

    async fn label_version(
        &self,
        request: Request<pb::LabelVersionRequest>,
    ) -> Result<Response<pb::Version>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let id = parse_id("document_id", &req.document_id)?;
        let label = req.label.as_deref().map(Label::parse).transpose()?;
        let version = self
            .library
            .label_version(&actor, id, req.number, label)
            .await?;
        Ok(Response::new(convert::version(&version)))
    }

    async fn get_retention(
        &self,
        request: Request<pb::GetRetentionRequest>,
    ) -> Result<Response<pb::RetentionPolicy>, Status> {
        let actor = actor(&request)?;
        let policy = self.library.retention_policy(&actor).await?;
        Ok(Response::new(convert::retention(policy)))
    }

    async fn set_retention(
        &self,
        request: Request<pb::SetRetentionRequest>,
    ) -> Result<Response<pb::RetentionPolicy>, Status> {
        let actor = actor(&request)?;
        let given = request.into_inner().policy.unwrap_or_default();
        let policy = RetentionPolicy::parse(given.keep_last, given.keep_days)?;
        let policy = self.library.set_retention_policy(&actor, policy).await?;
        Ok(Response::new(convert::retention(policy)))
    }

    async fn list_my_tasks(
        &self,
        request: Request<pb::ListMyTasksRequest>,
    ) -> Result<Response<pb::ListMyTasksResponse>, Status> {
        let actor = actor(&request)?;
        let req = request.into_inner();
        let filter = MyTasksFilter {
            group: match req.group.as_str() {
                "" => None,
                raw => Some(TaskGroup::parse(raw)?),
            },
            status: parse_status_filter(req.status)?,
            kind: parse_kind(req.kind, None)?,
        };
        let after = match req.cursor.as_str() {
            "" => None,
            raw => Some(TaskCursor::decode(raw)?),
        };
        let limit = match req.limit {
            0 => 50,
            n @ 1..=200 => n,
            _ => return Err(Error::invalid("limit", "must be between 1 and 200").into()),
        };
        let page = self.library.my_tasks(&actor, filter, after, limit).await?;
        Ok(Response::new(pb::ListMyTasksResponse {
            tasks: page
                .tasks
                .iter()
                .map(|(group, task)| pb::MyTask {
                    task: Some(convert::task(task)),
                    group: group.as_str().into(),
                })
                .collect(),
            next_cursor: page.next.map(TaskCursor::encode).unwrap_or_default(),
        }))
    }

    async fn record_integration_event(
        &self,
        request: Request<pb::RecordIntegrationEventRequest>,
    ) -> Result<Response<pb::RecordIntegrationEventResponse>, Status> {
        let (actor, integration) = caller(&request)?;
        if !integration {
            return Err(Error::NotYours("only the integration records its events").into());
        }
        let req = request.into_inner();
        let kind = convert::parse_event_kind(req.kind)?;
        let connection_id = parse_id("connection_id", &req.connection_id)?;
        let (sequence, created) = self
            .library
            .record_integration_event(
                &actor,
                IntegrationEvent {
                    kind,
                    connection_id,
                    key: req.key,
                    reason: req.reason,
                },
            )
            .await?;
        Ok(Response::new(pb::RecordIntegrationEventResponse {
            sequence,
            created,
        }))
    }
}
