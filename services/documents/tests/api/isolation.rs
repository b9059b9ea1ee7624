use folio_proto::documents::v1::{self as pb, list_tasks_request::Scope};
use tonic::Code;

use super::helpers::{Setup, TestApp, existing};

storage_tests!(another_organisation_sees_nothing);

async fn another_organisation_sees_nothing(setup: Setup) {
    let app = TestApp::spawn(setup).await;
    let acme = &app.acme.editor;
    let doc = app
        .create(acme, "Secret plans", b"acme only")
        .await
        .document
        .unwrap();
    let task = app
        .client()
        .create_task(acme.request(pb::CreateTaskRequest {
            document_id: doc.id.clone(),
            title: "Keep it secret".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let intruder = &app.globex.admin;
    let mut client = app.client();
    let not_found = |result: Result<(), tonic::Status>, what: &str| {
        assert_eq!(result.unwrap_err().code(), Code::NotFound, "{what}");
    };
    not_found(
        client
            .get_document(intruder.request(pb::GetDocumentRequest { id: doc.id.clone() }))
            .await
            .map(drop),
        "get",
    );
    not_found(
        client
            .update_document(intruder.request(pb::UpdateDocumentRequest {
                id: doc.id.clone(),
                title: Some("Mine".into()),
                ..Default::default()
            }))
            .await
            .map(drop),
        "update",
    );
    not_found(
        client
            .delete_document(intruder.request(pb::DeleteDocumentRequest { id: doc.id.clone() }))
            .await
            .map(drop),
        "delete",
    );
    not_found(
        client
            .list_versions(intruder.request(pb::ListVersionsRequest {
                document_id: doc.id.clone(),
            }))
            .await
            .map(drop),
        "versions",
    );
    not_found(
        app.download(intruder, &doc.id, 1, None).await.map(drop),
        "download",
    );
    not_found(
        app.upload(intruder, existing(&doc.id), "x.txt", b"overwrite")
            .await
            .map(drop),
        "upload",
    );
    not_found(
        client
            .create_task(intruder.request(pb::CreateTaskRequest {
                document_id: doc.id.clone(),
                title: "x".into(),
                ..Default::default()
            }))
            .await
            .map(drop),
        "create task",
    );
    not_found(
        client
            .get_task(intruder.request(pb::GetTaskRequest {
                id: task.id.clone(),
            }))
            .await
            .map(drop),
        "get task",
    );
    not_found(
        client
            .update_task(intruder.request(pb::UpdateTaskRequest {
                id: task.id.clone(),
                status: Some(pb::TaskStatus::Done.into()),
                ..Default::default()
            }))
            .await
            .map(drop),
        "update task",
    );
    not_found(
        client
            .delete_task(intruder.request(pb::DeleteTaskRequest {
                id: task.id.clone(),
            }))
            .await
            .map(drop),
        "delete task",
    );
    not_found(
        client
            .list_tasks(intruder.request(pb::ListTasksRequest {
                scope: Some(Scope::DocumentId(doc.id.clone())),
                status: 0,
                ..Default::default()
            }))
            .await
            .map(drop),
        "list tasks",
    );
    let listed = client
        .list_documents(intruder.request(pb::ListDocumentsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(listed.documents.is_empty());
    let assigned = client
        .list_tasks(intruder.request(pb::ListTasksRequest {
            scope: Some(Scope::AssigneeId(acme.user_id.to_string())),
            status: 0,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(assigned.tasks.is_empty());

    // Assigning a task to someone of another organisation is refused too.
    let foreign = client
        .create_task(acme.request(pb::CreateTaskRequest {
            document_id: doc.id.clone(),
            title: "x".into(),
            assignee_id: app.globex.editor.user_id.to_string(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::InvalidArgument);

    // Nothing changed.
    let after = client
        .get_document(acme.request(pb::GetDocumentRequest { id: doc.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (after.title.as_str(), after.current_version),
        ("Secret plans", 1)
    );
    let tasks = client
        .list_tasks(acme.request(pb::ListTasksRequest {
            scope: Some(Scope::DocumentId(doc.id.clone())),
            status: 0,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    assert_eq!(tasks, vec![task]);
}
