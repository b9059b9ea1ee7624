use folio_proto::documents::v1::{self as pb, list_tasks_request::Scope};
use sha2::{Digest, Sha256};
use tonic::Code;

use super::helpers::{Setup, TestApp, existing};

storage_tests!(documents_versions_tasks_and_events);

async fn documents_versions_tasks_and_events(setup: Setup) {
    let app = TestApp::spawn(setup).await;
    let editor = &app.acme.editor;
    let first = b"first draft of the annual report".repeat(5_000);
    let created = app.create(editor, "Annual report", &first).await;
    assert!(created.created);
    let doc = created.document.unwrap();
    let v1 = created.version.unwrap();
    assert_eq!((doc.current_version, v1.number), (1, 1));
    assert_eq!(v1.size, first.len() as u64);
    assert_eq!(v1.sha256, hex::encode(Sha256::digest(&first)));
    assert_eq!(v1.source, pb::VersionSource::Upload as i32);
    assert_eq!(v1.created_by, editor.user_id.to_string());

    let second = b"second draft".repeat(100_000);
    let added = app
        .upload(editor, existing(&doc.id), "report-v2.txt", &second)
        .await
        .unwrap();
    assert!(added.created);
    assert_eq!(added.version.as_ref().unwrap().number, 2);
    let same = app
        .upload(editor, existing(&doc.id), "again.txt", &second)
        .await
        .unwrap();
    assert!(!same.created, "identical content adds no version");
    assert_eq!(same.version.unwrap().number, 2);

    let versions = app
        .client()
        .list_versions(editor.request(pb::ListVersionsRequest {
            document_id: doc.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .versions;
    assert_eq!(
        versions.iter().map(|v| v.number).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(versions[1].file_name, "report-v2.txt");

    // Every version downloads byte-exact, by number and as "current"; ranges too.
    let viewer = &app.acme.viewer;
    assert_eq!(
        app.download(viewer, &doc.id, 1, None).await.unwrap().1,
        first
    );
    assert_eq!(
        app.download(viewer, &doc.id, 2, None).await.unwrap().1,
        second
    );
    let (current, content) = app.download(viewer, &doc.id, 0, None).await.unwrap();
    assert_eq!((current.number, content), (2, second.clone()));
    let range = pb::ByteRange {
        start: 10,
        end: Some(19),
    };
    assert_eq!(
        app.download(viewer, &doc.id, 1, Some(range))
            .await
            .unwrap()
            .1,
        &first[10..20]
    );
    let tail = pb::ByteRange {
        start: first.len() as u64 - 5,
        end: None,
    };
    assert_eq!(
        app.download(viewer, &doc.id, 1, Some(tail))
            .await
            .unwrap()
            .1,
        &first[first.len() - 5..]
    );
    let outside = pb::ByteRange {
        start: first.len() as u64,
        end: None,
    };
    let refused = app
        .download(viewer, &doc.id, 1, Some(outside))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::OutOfRange);
    let missing = app.download(viewer, &doc.id, 3, None).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    let updated = app
        .client()
        .update_document(editor.request(pb::UpdateDocumentRequest {
            id: doc.id.clone(),
            title: Some("Annual report 2026".into()),
            description: None,
            tags: Some(pb::Tags {
                tags: vec!["Finance".into(), "2026".into()],
            }),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.title, "Annual report 2026");
    assert_eq!(updated.description, "about Annual report");
    assert_eq!(updated.tags, ["2026", "finance"]);

    // Tasks: create, assign, complete, list by document and by assignee, delete.
    let task = app
        .client()
        .create_task(editor.request(pb::CreateTaskRequest {
            document_id: doc.id.clone(),
            title: "Check the figures".into(),
            description: "All of them".into(),
            assignee_id: String::new(),
            due_date: "2026-12-31".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(task.status, pb::TaskStatus::Open as i32);
    let assigned = app
        .client()
        .update_task(editor.request(pb::UpdateTaskRequest {
            id: task.id.clone(),
            assignee_id: Some(app.acme.viewer.user_id.to_string()),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(assigned.assignee_id, app.acme.viewer.user_id.to_string());
    assert!(assigned.completed_at.is_empty());
    let done = app
        .client()
        .update_task(editor.request(pb::UpdateTaskRequest {
            id: task.id.clone(),
            status: Some(pb::TaskStatus::Done.into()),
            due_date: Some(String::new()),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.status, pb::TaskStatus::Done as i32);
    assert!(!done.completed_at.is_empty());
    assert!(done.due_date.is_empty());

    let mine = app
        .client()
        .list_tasks(viewer.request(pb::ListTasksRequest {
            scope: Some(Scope::AssigneeId(viewer.user_id.to_string())),
            status: pb::TaskStatus::Done.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    assert_eq!(mine, vec![done.clone()]);
    let open = app
        .client()
        .list_tasks(viewer.request(pb::ListTasksRequest {
            scope: Some(Scope::DocumentId(doc.id.clone())),
            status: pb::TaskStatus::Open.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    assert!(open.is_empty());
    app.client()
        .delete_task(editor.request(pb::DeleteTaskRequest {
            id: task.id.clone(),
        }))
        .await
        .unwrap();
    let gone = app
        .client()
        .get_task(editor.request(pb::GetTaskRequest {
            id: task.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);

    // Soft delete: the document vanishes from every read.
    app.client()
        .delete_document(editor.request(pb::DeleteDocumentRequest { id: doc.id.clone() }))
        .await
        .unwrap();
    let gone = app
        .client()
        .get_document(editor.request(pb::GetDocumentRequest { id: doc.id.clone() }))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    assert_eq!(
        app.download(viewer, &doc.id, 1, None)
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );

    // The change log recorded all of it, in order, in the organisation's scope.
    let events = app
        .client()
        .list_events(viewer.request(pb::ListEventsRequest {
            after: 0,
            limit: 0,
            newest_first: false,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    use pb::EventKind as K;
    let kinds: Vec<_> = events
        .events
        .iter()
        .map(|e| K::try_from(e.kind).unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            K::DocumentCreated,
            K::VersionAdded,
            K::VersionAdded,
            K::DocumentUpdated,
            K::TaskCreated,
            K::TaskPinned,
            K::TaskUpdated,
            K::TaskUpdated,
            K::TaskDeleted,
            K::DocumentDeleted
        ]
    );
    assert_eq!(events.events[2].version, 2);
    assert_eq!(events.events[4].task_id, task.id);
    assert!(
        events
            .events
            .windows(2)
            .all(|w| w[0].sequence < w[1].sequence)
    );
    assert_eq!(events.next, events.events.last().unwrap().sequence);
    let newest = app
        .client()
        .list_events(viewer.request(pb::ListEventsRequest {
            after: 0,
            limit: 2,
            newest_first: true,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(newest.events[0].kind, K::DocumentDeleted as i32);
    let older = app
        .client()
        .list_events(viewer.request(pb::ListEventsRequest {
            after: newest.next,
            limit: 100,
            newest_first: true,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(older.events.len(), 8);
    assert_eq!(older.next, 0);
    let other_org = app
        .client()
        .list_events(app.globex.admin.request(pb::ListEventsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(other_org.events.is_empty());
}
