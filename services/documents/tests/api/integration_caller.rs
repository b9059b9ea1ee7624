//! What the integration's certificate may do (issue 12.10, docs/adr/0042):
//! three RPCs, as an editor at most, on documents that come from or go to
//! OneDrive. Everything over real mTLS with the integration's identity.

use folio_platform::actor::{Actor, ActorRole};
use folio_proto::documents::v1::{self as pb, documents_service_client::DocumentsServiceClient};
use futures::StreamExt;
use tonic::{Code, transport::Channel};

use super::helpers::{Setup, TestApp, existing, upload_messages};

storage_tests!(
    the_integration_gets_only_what_it_needs,
    only_the_integration_records_its_events_once_per_key,
);

fn header(target: pb::upload_header::Target, source: pb::VersionSource) -> pb::UploadHeader {
    pb::UploadHeader {
        target: Some(target),
        file_name: "from-onedrive.txt".into(),
        media_type: "text/plain".into(),
        note: "OneDrive".into(),
        source: source.into(),
        ..Default::default()
    }
}

fn new_document() -> pb::upload_header::Target {
    pb::upload_header::Target::NewDocument(pb::NewDocument {
        title: "Mirrored".into(),
        ..Default::default()
    })
}

async fn download(
    mut client: DocumentsServiceClient<Channel>,
    actor: &Actor,
    id: &str,
) -> Result<Vec<u8>, tonic::Status> {
    let mut stream = client
        .download_version(actor.request(pb::DownloadVersionRequest {
            document_id: id.into(),
            number: 0,
            range: None,
        }))
        .await?
        .into_inner();
    let mut content = Vec::new();
    while let Some(message) = stream.next().await {
        if let Some(pb::download_version_response::Part::Chunk(c)) = message?.part {
            content.extend_from_slice(&c);
        }
    }
    Ok(content)
}

async fn the_integration_gets_only_what_it_needs(setup: Setup) {
    let app = TestApp::spawn(setup).await;
    let editor = &app.acme.editor;
    let integration = || app.client_as("integration");
    let denied = |result: Result<(), tonic::Status>, what: &str| {
        let status = result.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{what}: {status:?}");
    };
    let folio_only = app
        .create(editor, "Folio only", b"made in Folio")
        .await
        .document
        .unwrap()
        .id;

    // Not on its allow-list (lists, events, tasks, sharing), or not for a
    // Folio-only document (getting, updating).
    denied(
        integration()
            .list_documents(editor.request(pb::ListDocumentsRequest::default()))
            .await
            .map(drop),
        "list documents",
    );
    denied(
        integration()
            .list_events(editor.request(pb::ListEventsRequest::default()))
            .await
            .map(drop),
        "list events",
    );
    denied(
        integration()
            .get_document(editor.request(pb::GetDocumentRequest {
                id: folio_only.clone(),
            }))
            .await
            .map(drop),
        "get document",
    );
    denied(
        integration()
            .update_document(editor.request(pb::UpdateDocumentRequest {
                id: folio_only.clone(),
                title: Some("Renamed by the integration".into()),
                ..Default::default()
            }))
            .await
            .map(drop),
        "update document",
    );
    denied(
        integration()
            .create_task(editor.request(pb::CreateTaskRequest {
                document_id: folio_only.clone(),
                title: "x".into(),
                ..Default::default()
            }))
            .await
            .map(drop),
        "create task",
    );
    denied(
        integration()
            .share_with_one_drive(editor.request(pb::ShareWithOneDriveRequest {
                document_id: folio_only.clone(),
            }))
            .await
            .map(drop),
        "share (only a user, through the bff, decides that)",
    );

    // On it, but not for a document that neither came from nor went to OneDrive.
    denied(
        download(integration(), editor, &folio_only).await.map(drop),
        "download a Folio-only document",
    );
    denied(
        integration()
            .delete_document(editor.request(pb::DeleteDocumentRequest {
                id: folio_only.clone(),
            }))
            .await
            .map(drop),
        "delete a Folio-only document",
    );
    denied(
        upload_messages(
            integration(),
            editor,
            header(existing(&folio_only), pb::VersionSource::Onedrive),
            b"overwritten",
        )
        .await
        .map(drop),
        "a OneDrive version on a Folio-only document",
    );
    denied(
        upload_messages(
            integration(),
            editor,
            header(new_document(), pb::VersionSource::Upload),
            b"pretending to be a user",
        )
        .await
        .map(drop),
        "an upload that is not from OneDrive",
    );
    // Never as an admin.
    let as_admin = Actor {
        role: ActorRole::Admin,
        ..*editor
    };
    denied(
        upload_messages(
            integration(),
            &as_admin,
            header(new_document(), pb::VersionSource::Onedrive),
            b"as admin",
        )
        .await
        .map(drop),
        "acting as an admin",
    );
    // Nothing of that changed the document.
    let (_, content) = app.download(editor, &folio_only, 0, None).await.unwrap();
    assert_eq!(content, b"made in Folio");

    // What it is for: a document from OneDrive, its new versions, reading
    // and deleting it.
    let mirrored = upload_messages(
        integration(),
        editor,
        header(new_document(), pb::VersionSource::Onedrive),
        b"v1 from OneDrive",
    )
    .await
    .unwrap()
    .document
    .unwrap()
    .id;
    upload_messages(
        integration(),
        editor,
        header(existing(&mirrored), pb::VersionSource::Onedrive),
        b"v2 from OneDrive",
    )
    .await
    .unwrap();
    assert_eq!(
        download(integration(), editor, &mirrored).await.unwrap(),
        b"v2 from OneDrive"
    );

    // A user sends the Folio document to OneDrive (the bff records it):
    // now the integration may read it and bring OneDrive's edits back.
    let status = app
        .client()
        .share_with_one_drive(app.acme.viewer.request(pb::ShareWithOneDriveRequest {
            document_id: folio_only.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "viewers do not send");
    let status = app
        .client()
        .share_with_one_drive(app.globex.admin.request(pb::ShareWithOneDriveRequest {
            document_id: folio_only.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "another organisation");
    app.client()
        .share_with_one_drive(editor.request(pb::ShareWithOneDriveRequest {
            document_id: folio_only.clone(),
        }))
        .await
        .unwrap();
    assert_eq!(
        download(integration(), editor, &folio_only).await.unwrap(),
        b"made in Folio"
    );
    upload_messages(
        integration(),
        editor,
        header(existing(&folio_only), pb::VersionSource::Onedrive),
        b"edited in OneDrive",
    )
    .await
    .unwrap();

    // Another organisation's documents stay NOT_FOUND for it too.
    let status = download(integration(), &app.globex.editor, &mirrored)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    integration()
        .delete_document(editor.request(pb::DeleteDocumentRequest { id: mirrored }))
        .await
        .unwrap();
}

fn sync_failed(key: &str) -> pb::RecordIntegrationEventRequest {
    pb::RecordIntegrationEventRequest {
        kind: pb::EventKind::OnedriveSyncFailed.into(),
        connection_id: uuid::Uuid::now_v7().to_string(),
        key: key.into(),
        reason: "Graph answered 503".into(),
    }
}

async fn events_of(app: &TestApp, actor: &Actor) -> Vec<pb::Event> {
    app.client()
        .list_events(actor.request(pb::ListEventsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .events
}

async fn only_the_integration_records_its_events_once_per_key(setup: Setup) {
    let app = TestApp::spawn(setup).await;
    let admin = &app.acme.admin;
    let editor = &app.acme.editor;
    // The bff and notifications may not: the per-RPC policy refuses them.
    for identity in ["bff", "notifications"] {
        let status = app
            .client_as(identity)
            .record_integration_event(editor.request(sync_failed("streak-1")))
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::PermissionDenied,
            "{identity}: {status:?}"
        );
    }
    assert!(events_of(&app, admin).await.is_empty(), "nothing recorded");

    // The integration, as the connection's editor: once per key.
    let request = sync_failed("streak-1");
    let mut integration = app.client_as("integration");
    let first = integration
        .record_integration_event(editor.request(request.clone()))
        .await
        .unwrap()
        .into_inner();
    assert!(first.created);
    let again = integration
        .record_integration_event(editor.request(request.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.sequence, again.created), (first.sequence, false));
    let events = events_of(&app, admin).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, i32::from(pb::EventKind::OnedriveSyncFailed));
    assert_eq!(events[0].connection_id, request.connection_id);
    assert_eq!(events[0].reason, "Graph answered 503");
    assert!(events[0].document_id.is_empty());
    // Another organisation's log has none of it; its own key is its own.
    assert!(events_of(&app, &app.globex.admin).await.is_empty());
    let theirs = integration
        .record_integration_event(app.globex.editor.request(sync_failed("streak-1")))
        .await
        .unwrap()
        .into_inner();
    assert!(theirs.created);

    // Bad input changes nothing.
    let bad = [
        pb::RecordIntegrationEventRequest {
            kind: pb::EventKind::DocumentCreated.into(),
            ..sync_failed("k2")
        },
        sync_failed(""),
        sync_failed(&"k".repeat(201)),
        pb::RecordIntegrationEventRequest {
            reason: "r".repeat(501),
            ..sync_failed("k3")
        },
        pb::RecordIntegrationEventRequest {
            connection_id: "not-a-uuid".into(),
            ..sync_failed("k4")
        },
    ];
    for request in bad {
        let status = integration
            .record_integration_event(editor.request(request))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    }
    // Never as an admin (docs/adr/0042).
    let status = integration
        .record_integration_event(admin.request(sync_failed("k5")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(events_of(&app, admin).await.len(), 1);
}
