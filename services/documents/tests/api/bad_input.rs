use folio_platform::db::Backend;
use folio_proto::{
    documents::v1::{self as pb, documents_service_client::DocumentsServiceClient},
    users::v1 as users_pb,
};
use folio_testkit::{Pki, backend_tests};
use tonic::Code;

use super::helpers::{TestApp, existing, upload_messages};

backend_tests!(
    bad_input_is_refused_and_changes_nothing,
    viewers_read_but_cannot_write
);

fn header(
    target: pb::upload_header::Target,
    file_name: &str,
    media_type: &str,
) -> pb::UploadHeader {
    pb::UploadHeader {
        target: Some(target),
        file_name: file_name.into(),
        media_type: media_type.into(),
        note: String::new(),
        source: 0,
        ..Default::default()
    }
}

async fn bad_input_is_refused_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let editor = &app.acme.editor;
    let doc = app.create(editor, "Target", b"v1").await.document.unwrap();
    let new = || pb::upload_header::Target::NewDocument(pb::NewDocument::default());
    let long = "n".repeat(256);
    let bad_headers = [
        header(new(), "", ""),
        header(new(), "   ", ""),
        header(new(), &long, ""),
        header(new(), "evil\r\nX-Injected: 1.txt", ""),
        header(new(), "a.txt", "not a media type"),
        header(existing("not-a-uuid"), "a.txt", ""),
        header(existing(""), "a.txt", ""),
        header(
            pb::upload_header::Target::NewDocument(pb::NewDocument {
                title: "t".repeat(201),
                ..Default::default()
            }),
            "a.txt",
            "",
        ),
        header(
            pb::upload_header::Target::NewDocument(pb::NewDocument {
                tags: vec!["two\nlines".into()],
                ..Default::default()
            }),
            "a.txt",
            "",
        ),
        pb::UploadHeader {
            source: 9,
            ..header(new(), "a.txt", "")
        },
        pb::UploadHeader {
            target: None,
            ..header(new(), "a.txt", "")
        },
    ];
    for bad in bad_headers {
        let status = upload_messages(app.client(), editor, bad.clone(), b"content")
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}");
    }
    // The first message must be the header.
    let chunk_first = vec![pb::UploadVersionRequest {
        part: Some(pb::upload_version_request::Part::Chunk(
            bytes::Bytes::from_static(b"x"),
        )),
    }];
    let status = app
        .client()
        .upload_version(editor.request(futures::stream::iter(chunk_first)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    let mut client = app.client();
    for id in ["", "42", "../../etc/passwd"] {
        let status = client
            .get_document(editor.request(pb::GetDocumentRequest { id: id.into() }))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{id:?}");
    }
    let unknown = uuid::Uuid::now_v7().to_string();
    let status = client
        .get_document(editor.request(pb::GetDocumentRequest { id: unknown }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let bad_updates = [
        pb::UpdateDocumentRequest {
            id: doc.id.clone(),
            title: Some(String::new()),
            ..Default::default()
        },
        pb::UpdateDocumentRequest {
            id: doc.id.clone(),
            title: Some("x".repeat(201)),
            ..Default::default()
        },
        pb::UpdateDocumentRequest {
            id: doc.id.clone(),
            description: Some("d".repeat(10_001)),
            ..Default::default()
        },
    ];
    for bad in bad_updates {
        let status = client
            .update_document(editor.request(bad))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
    }
    let task = |title: &str, assignee: &str, due: &str| pb::CreateTaskRequest {
        document_id: doc.id.clone(),
        title: title.into(),
        description: String::new(),
        assignee_id: assignee.into(),
        due_date: due.into(),
        ..Default::default()
    };
    for bad in [
        task("", "", ""),
        task("ok", "nope", ""),
        task("ok", "", "2026-13-01"),
        task("ok", "", "soon"),
    ] {
        let status = client
            .create_task(editor.request(bad.clone()))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}");
    }
    let created = client
        .create_task(editor.request(task("Real", "", "")))
        .await
        .unwrap()
        .into_inner();
    for bad_status in [0, 4, -1] {
        let status = client
            .update_task(editor.request(pb::UpdateTaskRequest {
                id: created.id.clone(),
                status: Some(bad_status),
                ..Default::default()
            }))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad_status}");
    }
    let status = client
        .list_tasks(editor.request(pb::ListTasksRequest {
            scope: None,
            status: 0,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    // A disabled user cannot be given a task.
    app.users()
        .update_user(app.acme.admin.request(users_pb::UpdateUserRequest {
            id: app.acme.viewer.user_id.to_string(),
            disabled: Some(true),
            ..Default::default()
        }))
        .await
        .unwrap();
    let status = client
        .create_task(editor.request(task(
            "For a leaver",
            &app.acme.viewer.user_id.to_string(),
            "",
        )))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    // Without an acting user in metadata, nothing is answered.
    let status = client
        .list_documents(pb::ListDocumentsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    // Nothing above changed anything but the one valid task.
    let docs = client
        .list_documents(editor.request(pb::ListDocumentsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .documents;
    assert_eq!(docs.len(), 1);
    assert_eq!(
        (docs[0].title.as_str(), docs[0].current_version),
        ("Target", 1)
    );
    let tasks = client
        .list_tasks(editor.request(pb::ListTasksRequest {
            scope: Some(pb::list_tasks_request::Scope::DocumentId(doc.id.clone())),
            status: 0,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    assert_eq!(tasks, vec![created]);
}

async fn viewers_read_but_cannot_write(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let viewer = &app.acme.viewer;
    let doc = app
        .create(&app.acme.editor, "Read only", b"v1")
        .await
        .document
        .unwrap();
    let mut client = app.client();
    assert!(
        client
            .get_document(viewer.request(pb::GetDocumentRequest { id: doc.id.clone() }))
            .await
            .is_ok()
    );
    let denied = [
        app.upload(viewer, existing(&doc.id), "v2.txt", b"v2")
            .await
            .map(drop),
        client
            .update_document(viewer.request(pb::UpdateDocumentRequest {
                id: doc.id.clone(),
                title: Some("x".into()),
                ..Default::default()
            }))
            .await
            .map(drop),
        client
            .delete_document(viewer.request(pb::DeleteDocumentRequest { id: doc.id.clone() }))
            .await
            .map(drop),
        client
            .create_task(viewer.request(pb::CreateTaskRequest {
                document_id: doc.id.clone(),
                title: "x".into(),
                ..Default::default()
            }))
            .await
            .map(drop),
    ];
    for result in denied {
        assert_eq!(result.unwrap_err().code(), Code::PermissionDenied);
    }
    let still = client
        .get_document(viewer.request(pb::GetDocumentRequest { id: doc.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (still.title.as_str(), still.current_version),
        ("Read only", 1)
    );
}

#[tokio::test]
async fn only_the_bff_may_list() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let editor = &app.acme.editor;
    let request = || editor.request(pb::ListDocumentsRequest::default());
    // The integration may call three RPCs, not this one (integration_caller.rs).
    for allowed in ["bff"] {
        assert!(
            app.client_as(allowed)
                .list_documents(request())
                .await
                .is_ok(),
            "{allowed}"
        );
    }
    for refused in ["integration", "users", "operator", "documents"] {
        let status = app
            .client_as(refused)
            .list_documents(request())
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{refused}");
    }
    let anonymous = DocumentsServiceClient::new(app.pki.anonymous_channel(app.port))
        .list_documents(request())
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    let foreign = DocumentsServiceClient::new(Pki::new().channel("bff", app.port))
        .list_documents(request())
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::Unavailable);
}

#[tokio::test]
async fn notifications_may_only_read_the_log_and_what_it_points_at() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let editor = &app.acme.editor;
    let mut notifications = app.client_as("notifications");
    assert!(
        notifications
            .list_events(editor.request(pb::ListEventsRequest::default()))
            .await
            .is_ok()
    );
    let status = notifications
        .get_task(editor.request(pb::GetTaskRequest {
            id: uuid::Uuid::now_v7().to_string(),
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "allowed, and nothing there");
    for refused in [
        notifications
            .list_documents(editor.request(pb::ListDocumentsRequest::default()))
            .await
            .unwrap_err(),
        notifications
            .delete_document(editor.request(pb::DeleteDocumentRequest {
                id: uuid::Uuid::now_v7().to_string(),
            }))
            .await
            .unwrap_err(),
        notifications
            .create_task(editor.request(pb::CreateTaskRequest::default()))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(refused.code(), Code::PermissionDenied);
    }
}

#[tokio::test]
async fn my_tasks_are_for_the_bff_and_refuse_bad_pages() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let editor = &app.acme.editor;
    let request = |req: pb::ListMyTasksRequest| editor.request(req);
    let page = app
        .client()
        .list_my_tasks(request(pb::ListMyTasksRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(page.tasks.is_empty() && page.next_cursor.is_empty());
    for refused in ["integration", "notifications", "users", "operator"] {
        let status = app
            .client_as(refused)
            .list_my_tasks(request(pb::ListMyTasksRequest::default()))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{refused}");
    }
    for bad in [
        pb::ListMyTasksRequest {
            group: "urgent".into(),
            ..Default::default()
        },
        pb::ListMyTasksRequest {
            cursor: "garbage!".into(),
            ..Default::default()
        },
        pb::ListMyTasksRequest {
            cursor: "MDo6eA".into(),
            ..Default::default()
        },
        pb::ListMyTasksRequest {
            limit: 201,
            ..Default::default()
        },
        pb::ListMyTasksRequest {
            kind: 99,
            ..Default::default()
        },
    ] {
        let status = app
            .client()
            .list_my_tasks(request(bad.clone()))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}");
    }
}
