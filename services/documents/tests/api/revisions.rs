//! The library revision (docs/adr/0081): every committed change raises it,
//! nothing else does, and each organisation has its own.

use folio_platform::{actor::Actor, db::Backend};
use folio_proto::documents::v1::{
    self as pb, documents_service_client::DocumentsServiceClient, upload_header,
};
use folio_testkit::{Pki, backend_tests};
use tonic::Code;

use super::helpers::{TestApp, existing, upload_messages};

backend_tests!(
    every_change_raises_the_revision_and_nothing_else_does,
    concurrent_changes_each_raise_it_once
);

async fn revision(app: &TestApp, actor: &Actor) -> u64 {
    app.client()
        .get_library_revision(actor.request(pb::GetLibraryRevisionRequest {}))
        .await
        .expect("the revision")
        .into_inner()
        .revision
}

/// Follows acme's revision across calls, and checks globex's never moves.
struct Follow<'a> {
    app: &'a TestApp,
    acme: u64,
    globex: u64,
}

impl<'a> Follow<'a> {
    async fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            acme: revision(app, &app.acme.viewer).await,
            globex: revision(app, &app.globex.viewer).await,
        }
    }

    async fn now(&self) -> (u64, u64) {
        (
            revision(self.app, &self.app.acme.viewer).await,
            revision(self.app, &self.app.globex.viewer).await,
        )
    }

    async fn raised(&mut self, by: &str) {
        let (acme, globex) = self.now().await;
        assert!(acme > self.acme, "{by} did not raise acme's revision");
        assert_eq!(globex, self.globex, "{by} raised globex's revision");
        self.acme = acme;
    }

    async fn unchanged(&self, by: &str) {
        assert_eq!(
            self.now().await,
            (self.acme, self.globex),
            "{by} moved a revision"
        );
    }
}

async fn every_change_raises_the_revision_and_nothing_else_does(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (editor, viewer, admin) = (&app.acme.editor, &app.acme.viewer, &app.acme.admin);
    let client = app.client();
    let mut follow = Follow::new(&app).await;
    assert_eq!((follow.acme, follow.globex), (0, 0), "before any change");

    let doc = app
        .create(editor, "Lease", b"lease v1")
        .await
        .document
        .unwrap();
    follow.raised("a new document").await;
    // A page says which revision it shows: the one the service now has.
    let page = client
        .clone()
        .list_documents(viewer.request(pb::ListDocumentsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.revision, follow.acme);

    app.upload(editor, existing(&doc.id), "lease.txt", b"lease v2")
        .await
        .unwrap();
    follow.raised("a new version").await;
    // The same content again makes no version, and changes nothing.
    app.upload(editor, existing(&doc.id), "lease.txt", b"lease v2")
        .await
        .unwrap();
    follow.unchanged("an identical upload").await;

    client
        .clone()
        .update_document(editor.request(pb::UpdateDocumentRequest {
            id: doc.id.clone(),
            tags: Some(pb::Tags {
                tags: vec!["legal".into()],
            }),
            ..Default::default()
        }))
        .await
        .unwrap();
    follow.raised("new tags").await;

    let new_task = |kind: pb::TaskKind, title: &str| pb::CreateTaskRequest {
        document_id: doc.id.clone(),
        title: title.into(),
        assignee_id: viewer.user_id.to_string(),
        kind: kind.into(),
        ..Default::default()
    };
    let todo = client
        .clone()
        .create_task(editor.request(new_task(pb::TaskKind::Todo, "Read it")))
        .await
        .unwrap()
        .into_inner();
    follow.raised("a new task").await;
    client
        .clone()
        .update_task(editor.request(pb::UpdateTaskRequest {
            id: todo.id.clone(),
            status: Some(pb::TaskStatus::InProgress.into()),
            ..Default::default()
        }))
        .await
        .unwrap();
    follow.raised("a task's status").await;
    let comment = client
        .clone()
        .add_comment(editor.request(pb::AddCommentRequest {
            task_id: todo.id.clone(),
            body: "First".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    follow.raised("a comment").await;
    client
        .clone()
        .edit_comment(editor.request(pb::EditCommentRequest {
            task_id: todo.id.clone(),
            id: comment.id,
            body: "First, edited".into(),
        }))
        .await
        .unwrap();
    follow.raised("an edited comment").await;

    let other = client
        .clone()
        .create_task(editor.request(new_task(pb::TaskKind::Todo, "Read it too")))
        .await
        .unwrap()
        .into_inner();
    follow.raised("a second task").await;
    // A third version makes both stale: one is carried forward, one closed.
    app.upload(editor, existing(&doc.id), "lease.txt", b"lease v3")
        .await
        .unwrap();
    follow.raised("a third version").await;
    client
        .clone()
        .carry_forward_task(viewer.request(pb::CarryForwardTaskRequest {
            id: todo.id.clone(),
        }))
        .await
        .unwrap();
    follow.raised("carrying a task forward").await;
    client
        .clone()
        .close_task(editor.request(pb::CloseTaskRequest { id: other.id }))
        .await
        .unwrap();
    follow.raised("closing a task").await;

    let approval = client
        .clone()
        .create_task(editor.request(new_task(pb::TaskKind::Approval, "Approve")))
        .await
        .unwrap()
        .into_inner();
    follow.raised("an approval").await;
    client
        .clone()
        .decide_approval(viewer.request(pb::DecideApprovalRequest {
            id: approval.id,
            decision: pb::Decision::Approved.into(),
            comment: String::new(),
        }))
        .await
        .unwrap();
    follow.raised("deciding an approval").await;

    let request = client
        .clone()
        .create_task(editor.request(pb::CreateTaskRequest {
            document_id: String::new(),
            ..new_task(pb::TaskKind::Request, "Bank statement")
        }))
        .await
        .unwrap()
        .into_inner();
    follow.raised("a request").await;
    upload_messages(
        client.clone(),
        viewer,
        pb::UploadHeader {
            file_name: "statement.pdf".into(),
            media_type: "application/pdf".into(),
            source: pb::VersionSource::Upload.into(),
            request_id: request.id.clone(),
            ..Default::default()
        },
        b"%PDF statement",
    )
    .await
    .unwrap();
    follow.raised("fulfilling a request").await;
    client
        .clone()
        .review_request(editor.request(pb::ReviewRequestRequest {
            id: request.id,
            accept: true,
            reason: String::new(),
        }))
        .await
        .unwrap();
    follow.raised("accepting a request").await;

    client
        .clone()
        .label_version(editor.request(pb::LabelVersionRequest {
            document_id: doc.id.clone(),
            number: 1,
            label: Some("signed".into()),
        }))
        .await
        .unwrap();
    follow.raised("a label").await;
    client
        .clone()
        .restore_version(editor.request(pb::RestoreVersionRequest {
            document_id: doc.id.clone(),
            number: 1,
        }))
        .await
        .unwrap();
    follow.raised("a restore").await;
    client
        .clone()
        .set_retention(admin.request(pb::SetRetentionRequest {
            policy: Some(pb::RetentionPolicy {
                keep_last: Some(10),
                keep_days: None,
            }),
        }))
        .await
        .unwrap();
    follow.raised("a retention policy").await;

    let spare = client
        .clone()
        .create_task(editor.request(new_task(pb::TaskKind::Todo, "Spare")))
        .await
        .unwrap()
        .into_inner();
    follow.raised("another task").await;
    client
        .clone()
        .delete_task(editor.request(pb::DeleteTaskRequest { id: spare.id }))
        .await
        .unwrap();
    follow.raised("deleting a task").await;

    // The integration's own changes count too.
    app.client_as("integration")
        .record_integration_event(editor.request(pb::RecordIntegrationEventRequest {
            kind: pb::EventKind::OnedriveSyncFailed.into(),
            connection_id: uuid::Uuid::now_v7().to_string(),
            key: "sync-failed-1".into(),
            reason: "the token expired".into(),
        }))
        .await
        .unwrap();
    follow.raised("an integration event").await;

    // Reads, refusals and failures change nothing.
    let _ = client
        .clone()
        .get_document(viewer.request(pb::GetDocumentRequest { id: doc.id.clone() }))
        .await
        .unwrap();
    let _ = client
        .clone()
        .list_events(viewer.request(pb::ListEventsRequest::default()))
        .await
        .unwrap();
    let refused = client
        .clone()
        .update_document(viewer.request(pb::UpdateDocumentRequest {
            id: doc.id.clone(),
            title: Some("Viewers cannot".into()),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let elsewhere = client
        .clone()
        .update_document(app.globex.editor.request(pb::UpdateDocumentRequest {
            id: doc.id.clone(),
            title: Some("Not theirs".into()),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), Code::NotFound);
    let bad = app
        .upload(
            editor,
            upload_header::Target::NewDocument(pb::NewDocument {
                title: "x".repeat(10_000),
                ..Default::default()
            }),
            "x.txt",
            b"too long a title",
        )
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    follow.unchanged("reads and refused changes").await;

    client
        .clone()
        .delete_document(editor.request(pb::DeleteDocumentRequest { id: doc.id }))
        .await
        .unwrap();
    follow.raised("deleting a document").await;

    // Only the bff asks for it, for a user it names, over a certificate of
    // this system's CA.
    for identity in ["integration", "notifications", "users", "operator"] {
        let refused = app
            .client_as(identity)
            .get_library_revision(viewer.request(pb::GetLibraryRevisionRequest {}))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{identity}");
    }
    let no_actor = client
        .clone()
        .get_library_revision(pb::GetLibraryRevisionRequest {})
        .await
        .unwrap_err();
    assert_eq!(no_actor.code(), Code::Unauthenticated);
    // No client certificate: refused by the service; one of another CA:
    // the handshake fails.
    for (channel, code) in [
        (app.pki.anonymous_channel(app.port), Code::Unauthenticated),
        (Pki::new().channel("bff", app.port), Code::Unavailable),
    ] {
        let refused = DocumentsServiceClient::new(channel)
            .get_library_revision(viewer.request(pb::GetLibraryRevisionRequest {}))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), code, "{refused:?}");
    }
}

/// Changes committed at once each raise it: none is lost, including an
/// organisation's very first ones (whose row does not exist yet).
async fn concurrent_changes_each_raise_it_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Both organisations' first changes at once: on MariaDB a first change
    // that looked for its row before inserting it took a gap lock, and two
    // such changes (of one organisation or of two) deadlocked.
    let titles: Vec<String> = (0..12).map(|i| format!("Doc {i}")).collect();
    let creates = titles.iter().flat_map(|title| {
        [&app.acme.editor, &app.globex.editor]
            .map(|editor| app.create(editor, title, title.as_bytes()))
    });
    let created = futures::future::join_all(creates).await;
    assert_eq!(created.len(), 24);
    assert_eq!(revision(&app, &app.acme.editor).await, 12);
    assert_eq!(revision(&app, &app.globex.editor).await, 12);
}
