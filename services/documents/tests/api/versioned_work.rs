//! Work that knows its version: pinning, staleness, approvals, requests,
//! restore, labels and comments, through the gRPC surface on every backend.

use folio_platform::actor::Actor;
use folio_proto::documents::v1::{self as pb, list_tasks_request::Scope, upload_header};
use tonic::Code;

use super::helpers::{Setup, TestApp, existing, upload_messages};

storage_tests!(
    new_versions_make_older_work_stale,
    approvals_decide_one_version_and_ask_again,
    requests_are_fulfilled_by_upload_and_reviewed,
    comments_and_labels
);

async fn task(
    app: &TestApp,
    actor: &Actor,
    document_id: &str,
    kind: pb::TaskKind,
    title: &str,
    assignee: Option<&Actor>,
) -> Result<pb::Task, tonic::Status> {
    app.client()
        .create_task(actor.request(pb::CreateTaskRequest {
            document_id: document_id.into(),
            title: title.into(),
            assignee_id: assignee.map(|a| a.user_id.to_string()).unwrap_or_default(),
            due_date: "2026-12-20".into(),
            kind: kind.into(),
            ..Default::default()
        }))
        .await
        .map(tonic::Response::into_inner)
}

async fn tasks_of(app: &TestApp, actor: &Actor, document_id: &str) -> Vec<pb::Task> {
    app.client()
        .list_tasks(actor.request(pb::ListTasksRequest {
            scope: Some(Scope::DocumentId(document_id.into())),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .tasks
}

fn find<'a>(tasks: &'a [pb::Task], id: &str) -> &'a pb::Task {
    tasks.iter().find(|t| t.id == id).expect("task listed")
}

/// The organisation's events after `after`, as (kind, task, version, from).
async fn events_after(
    app: &TestApp,
    actor: &Actor,
    after: u64,
    task_id: &str,
) -> Vec<(pb::EventKind, String, u32, u32)> {
    app.client()
        .list_events(actor.request(pb::ListEventsRequest {
            after,
            limit: 500,
            task_id: task_id.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .events
        .into_iter()
        .filter(|e| e.sequence > after)
        .map(|e| {
            (
                pb::EventKind::try_from(e.kind).unwrap(),
                e.task_id,
                e.version,
                e.from_version,
            )
        })
        .collect()
}

async fn last_sequence(app: &TestApp, actor: &Actor) -> u64 {
    app.client()
        .list_events(actor.request(pb::ListEventsRequest {
            newest_first: true,
            limit: 1,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .events
        .first()
        .map_or(0, |e| e.sequence)
}

async fn new_versions_make_older_work_stale(setup: Setup) {
    use pb::EventKind as K;
    let app = TestApp::spawn(setup).await;
    let (editor, viewer) = (&app.acme.editor, &app.acme.viewer);
    let doc = app
        .create(editor, "Contract", b"v1 draft")
        .await
        .document
        .unwrap();

    let review = task(
        &app,
        editor,
        &doc.id,
        pb::TaskKind::Todo,
        "Review",
        Some(viewer),
    )
    .await
    .unwrap();
    assert_eq!(
        (review.kind, review.version),
        (pb::TaskKind::Todo as i32, 1)
    );
    assert!(!review.stale);
    let unassigned = task(
        &app,
        editor,
        &doc.id,
        pb::TaskKind::Unspecified,
        "Tidy",
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        unassigned.kind,
        pb::TaskKind::Todo as i32,
        "todo by default"
    );
    let request = task(
        &app,
        editor,
        &doc.id,
        pb::TaskKind::Request,
        "Sign it",
        Some(viewer),
    )
    .await
    .unwrap();
    let approval = task(
        &app,
        editor,
        &doc.id,
        pb::TaskKind::Approval,
        "Approve",
        Some(viewer),
    )
    .await
    .unwrap();
    let finished = task(
        &app,
        editor,
        &doc.id,
        pb::TaskKind::Todo,
        "Done already",
        None,
    )
    .await
    .unwrap();
    app.client()
        .update_task(editor.request(pb::UpdateTaskRequest {
            id: finished.id.clone(),
            status: Some(pb::TaskStatus::Done.into()),
            ..Default::default()
        }))
        .await
        .unwrap();

    let before = last_sequence(&app, editor).await;
    app.upload(
        editor,
        existing(&doc.id),
        "contract-v2.txt",
        b"v2 with changes",
    )
    .await
    .unwrap();
    let tasks = tasks_of(&app, viewer, &doc.id).await;
    for id in [&review.id, &unassigned.id, &request.id] {
        let t = find(&tasks, id);
        assert!(t.stale, "{} is stale", t.title);
        assert_eq!((t.version, t.current_version), (1, 2));
        let latest = t.latest.as_ref().expect("what changed");
        assert_eq!(
            (latest.number, latest.size, latest.note.as_str()),
            (2, 15, "note for contract-v2.txt")
        );
        assert_eq!(latest.created_by, editor.user_id.to_string());
    }
    assert!(
        !find(&tasks, &finished.id).stale,
        "done work never goes stale"
    );
    let repinned = find(&tasks, &approval.id);
    assert_eq!((repinned.version, repinned.stale), (2, false));
    let events = events_after(&app, editor, before, "").await;
    let work: Vec<_> = events
        .iter()
        .filter(|e| e.0 != K::VersionAdded)
        .cloned()
        .collect();
    assert_eq!(
        work,
        [
            (K::TaskStale, review.id.clone(), 2, 1),
            (K::TaskStale, unassigned.id.clone(), 2, 1),
            (K::TaskStale, request.id.clone(), 2, 1),
            (K::TaskPinned, approval.id.clone(), 2, 1),
        ]
    );

    // A version from OneDrive counts too; stale work is not marked twice.
    let before = last_sequence(&app, editor).await;
    let header = pb::UploadHeader {
        target: Some(existing(&doc.id)),
        file_name: "contract.txt".into(),
        source: pb::VersionSource::Onedrive.into(),
        ..Default::default()
    };
    upload_messages(app.client(), editor, header, b"v3 from onedrive")
        .await
        .unwrap();
    let events = events_after(&app, editor, before, "").await;
    assert_eq!(
        events.iter().map(|e| e.0).collect::<Vec<_>>(),
        [K::VersionAdded, K::TaskPinned]
    );

    // The assignee (a viewer) carries their task forward; nobody else's.
    let carried = app
        .client()
        .carry_forward_task(viewer.request(pb::CarryForwardTaskRequest {
            id: review.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((carried.version, carried.stale), (3, false));
    let again = app
        .client()
        .carry_forward_task(viewer.request(pb::CarryForwardTaskRequest {
            id: review.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
    let not_theirs = app
        .client()
        .carry_forward_task(viewer.request(pb::CarryForwardTaskRequest {
            id: unassigned.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(not_theirs.code(), Code::PermissionDenied);
    let intruder = app
        .client()
        .close_task(app.globex.editor.request(pb::CloseTaskRequest {
            id: unassigned.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(intruder.code(), Code::NotFound);
    let closed = app
        .client()
        .close_task(editor.request(pb::CloseTaskRequest {
            id: unassigned.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (closed.status, closed.stale),
        (pb::TaskStatus::Done as i32, false)
    );
    let history = events_after(&app, editor, 0, &review.id).await;
    assert_eq!(
        history.iter().map(|e| (e.0, e.2, e.3)).collect::<Vec<_>>(),
        [
            (K::TaskCreated, 1, 0),
            (K::TaskPinned, 1, 0),
            (K::TaskStale, 2, 1),
            (K::TaskCarriedForward, 3, 1),
        ]
    );

    // Restoring v1 adds v4 with v1's blob (no copy), and work on v3 goes stale.
    let blobs = app.blob_files().await;
    let before = last_sequence(&app, editor).await;
    let restored = app
        .client()
        .restore_version(editor.request(pb::RestoreVersionRequest {
            document_id: doc.id.clone(),
            number: 1,
        }))
        .await
        .unwrap()
        .into_inner();
    let v4 = restored.version.unwrap();
    assert_eq!((v4.number, v4.restored_from), (4, 1));
    assert_eq!(v4.note, "restored from v1");
    assert_eq!(
        app.blob_files().await,
        blobs,
        "the blob is shared, not copied"
    );
    assert_eq!(
        app.download(viewer, &doc.id, 0, None).await.unwrap().1,
        b"v1 draft"
    );
    let events = events_after(&app, editor, before, "").await;
    assert_eq!(
        events.iter().map(|e| (e.0, e.2, e.3)).collect::<Vec<_>>(),
        [
            (K::VersionAdded, 4, 0),
            (K::VersionRestored, 4, 1),
            (K::TaskStale, 4, 3),
            (K::TaskPinned, 4, 3),
        ]
    );
    for (number, code) in [(4, Code::FailedPrecondition), (9, Code::NotFound)] {
        let refused = app
            .client()
            .restore_version(editor.request(pb::RestoreVersionRequest {
                document_id: doc.id.clone(),
                number,
            }))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), code, "restore v{number}");
    }
    let as_viewer = app
        .client()
        .restore_version(viewer.request(pb::RestoreVersionRequest {
            document_id: doc.id.clone(),
            number: 2,
        }))
        .await
        .unwrap_err();
    assert_eq!(as_viewer.code(), Code::PermissionDenied);
    let elsewhere = app
        .client()
        .restore_version(app.globex.admin.request(pb::RestoreVersionRequest {
            document_id: doc.id.clone(),
            number: 2,
        }))
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), Code::NotFound);
    let versions = app
        .client()
        .list_versions(viewer.request(pb::ListVersionsRequest {
            document_id: doc.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .versions;
    assert_eq!(versions.len(), 4, "refused restores added nothing");
}

async fn decide(
    app: &TestApp,
    actor: &Actor,
    id: &str,
    decision: pb::Decision,
    comment: &str,
) -> Result<pb::Task, tonic::Status> {
    app.client()
        .decide_approval(actor.request(pb::DecideApprovalRequest {
            id: id.into(),
            decision: decision.into(),
            comment: comment.into(),
        }))
        .await
        .map(tonic::Response::into_inner)
}

async fn approvals_decide_one_version_and_ask_again(setup: Setup) {
    use pb::EventKind as K;
    let app = TestApp::spawn(setup).await;
    let (editor, viewer) = (&app.acme.editor, &app.acme.viewer);
    let doc = app
        .create(editor, "Offer", b"offer v1")
        .await
        .document
        .unwrap();
    let nobody = task(
        &app,
        editor,
        &doc.id,
        pb::TaskKind::Approval,
        "Approve",
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(
        nobody.code(),
        Code::InvalidArgument,
        "an approval names its approver"
    );
    let approval = task(
        &app,
        editor,
        &doc.id,
        pb::TaskKind::Approval,
        "Approve",
        Some(viewer),
    )
    .await
    .unwrap();

    let by_editor = decide(&app, editor, &approval.id, pb::Decision::Approved, "")
        .await
        .unwrap_err();
    assert_eq!(
        by_editor.code(),
        Code::PermissionDenied,
        "only the approver decides"
    );
    let no_reason = decide(&app, viewer, &approval.id, pb::Decision::Rejected, " ")
        .await
        .unwrap_err();
    assert_eq!(no_reason.code(), Code::InvalidArgument);
    let unspecified = decide(&app, viewer, &approval.id, pb::Decision::Unspecified, "")
        .await
        .unwrap_err();
    assert_eq!(unspecified.code(), Code::InvalidArgument);
    let elsewhere = decide(
        &app,
        &app.globex.viewer,
        &approval.id,
        pb::Decision::Approved,
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(elsewhere.code(), Code::NotFound);
    let rejected = decide(
        &app,
        viewer,
        &approval.id,
        pb::Decision::Rejected,
        "Wrong price",
    )
    .await
    .unwrap();
    assert_eq!(
        (rejected.decision, rejected.status, rejected.version),
        (
            pb::Decision::Rejected as i32,
            pb::TaskStatus::Open as i32,
            1
        )
    );
    assert_eq!(rejected.decided_by, viewer.user_id.to_string());
    let twice = decide(&app, viewer, &approval.id, pb::Decision::Approved, "")
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition, "v1 is decided");
    let comments = app
        .client()
        .list_comments(editor.request(pb::ListCommentsRequest {
            task_id: approval.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .comments;
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].body, "Wrong price");
    assert_eq!(comments[0].author_id, viewer.user_id.to_string());
    let state = |d: pb::Document| d.approval.expect("approval state");
    let document = |app: &TestApp| {
        let mut client = app.client();
        let id = doc.id.clone();
        async move {
            client
                .get_document(viewer.request(pb::GetDocumentRequest { id }))
                .await
                .unwrap()
                .into_inner()
        }
    };
    let shown = state(document(&app).await);
    assert_eq!(
        (shown.version, shown.decision),
        (1, pb::Decision::Rejected as i32)
    );

    // A new version asks again; the old decision stays in the history.
    app.upload(editor, existing(&doc.id), "offer-v2.txt", b"offer v2")
        .await
        .unwrap();
    let shown = state(document(&app).await);
    assert_eq!(
        (shown.version, shown.decision),
        (2, pb::Decision::Unspecified as i32)
    );
    assert!(shown.decided_at.is_empty());
    let approved = decide(&app, viewer, &approval.id, pb::Decision::Approved, "")
        .await
        .unwrap();
    assert_eq!(
        (approved.decision, approved.status, approved.version),
        (
            pb::Decision::Approved as i32,
            pb::TaskStatus::Done as i32,
            2
        )
    );
    let shown = state(document(&app).await);
    assert_eq!(
        (shown.version, shown.decision),
        (2, pb::Decision::Approved as i32)
    );
    assert_eq!(shown.approver_id, viewer.user_id.to_string());
    assert!(!shown.decided_at.is_empty());
    let history = events_after(&app, editor, 0, &approval.id).await;
    assert_eq!(
        history.iter().map(|e| (e.0, e.2)).collect::<Vec<_>>(),
        [
            (K::TaskCreated, 1),
            (K::TaskPinned, 1),
            (K::TaskRejected, 1),
            (K::TaskCommented, 1),
            (K::TaskPinned, 2),
            (K::TaskApproved, 2),
        ]
    );

    // Approvals' status follows the decision; todos take no decision.
    let patched = app
        .client()
        .update_task(editor.request(pb::UpdateTaskRequest {
            id: approval.id.clone(),
            status: Some(pb::TaskStatus::Open.into()),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(patched.code(), Code::FailedPrecondition);
    let todo = task(
        &app,
        editor,
        &doc.id,
        pb::TaskKind::Todo,
        "Read",
        Some(viewer),
    )
    .await
    .unwrap();
    let on_todo = decide(&app, viewer, &todo.id, pb::Decision::Approved, "")
        .await
        .unwrap_err();
    assert_eq!(on_todo.code(), Code::FailedPrecondition);
}

fn fulfil_header(request_id: &str, file_name: &str) -> pb::UploadHeader {
    pb::UploadHeader {
        file_name: file_name.into(),
        media_type: "application/pdf".into(),
        note: "as asked".into(),
        request_id: request_id.into(),
        ..Default::default()
    }
}

async fn review(
    app: &TestApp,
    actor: &Actor,
    id: &str,
    accept: bool,
    reason: &str,
) -> Result<pb::Task, tonic::Status> {
    app.client()
        .review_request(actor.request(pb::ReviewRequestRequest {
            id: id.into(),
            accept,
            reason: reason.into(),
        }))
        .await
        .map(tonic::Response::into_inner)
}

async fn requests_are_fulfilled_by_upload_and_reviewed(setup: Setup) {
    use pb::EventKind as K;
    let app = TestApp::spawn(setup).await;
    let (editor, viewer) = (&app.acme.editor, &app.acme.viewer);
    let not_a_request = task(&app, editor, "", pb::TaskKind::Todo, "Loose", None)
        .await
        .unwrap_err();
    assert_eq!(not_a_request.code(), Code::InvalidArgument);
    let request = task(
        &app,
        editor,
        "",
        pb::TaskKind::Request,
        "Bank statement 2026",
        Some(viewer),
    )
    .await
    .unwrap();
    assert_eq!((request.document_id.as_str(), request.version), ("", 0));
    let mine = app
        .client()
        .list_tasks(viewer.request(pb::ListTasksRequest {
            scope: Some(Scope::AssigneeId(viewer.user_id.to_string())),
            kind: pb::TaskKind::Request.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .tasks;
    assert_eq!(
        mine.iter().map(|t| &t.id).collect::<Vec<_>>(),
        [&request.id]
    );

    // Another organisation cannot fulfil it, nor can a target be named too.
    let intruder = upload_messages(
        app.client(),
        &app.globex.viewer,
        fulfil_header(&request.id, "x.pdf"),
        b"%PDF intruder",
    )
    .await
    .unwrap_err();
    assert_eq!(intruder.code(), Code::NotFound);
    let both = upload_messages(
        app.client(),
        viewer,
        pb::UploadHeader {
            target: Some(existing(&request.id)),
            ..fulfil_header(&request.id, "x.pdf")
        },
        b"%PDF both",
    )
    .await
    .unwrap_err();
    assert_eq!(both.code(), Code::InvalidArgument);

    // The assignee, a viewer, fulfils it: that creates the document.
    let fulfilled = upload_messages(
        app.client(),
        viewer,
        fulfil_header(&request.id, "statement.pdf"),
        b"%PDF statement 1",
    )
    .await
    .unwrap();
    let doc = fulfilled.document.unwrap();
    assert_eq!(
        (doc.title.as_str(), doc.current_version),
        ("Bank statement 2026", 1)
    );
    assert_eq!(doc.created_by, viewer.user_id.to_string());
    let linked = app
        .client()
        .get_task(editor.request(pb::GetTaskRequest {
            id: request.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (linked.document_id.as_str(), linked.version, linked.status),
        (doc.id.as_str(), 1, pb::TaskStatus::InProgress as i32)
    );
    let twice = upload_messages(
        app.client(),
        viewer,
        fulfil_header(&request.id, "statement.pdf"),
        b"%PDF statement again",
    )
    .await
    .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition, "it awaits review");

    let by_viewer = review(&app, viewer, &request.id, true, "")
        .await
        .unwrap_err();
    assert_eq!(by_viewer.code(), Code::PermissionDenied);
    let no_reason = review(&app, editor, &request.id, false, "")
        .await
        .unwrap_err();
    assert_eq!(no_reason.code(), Code::InvalidArgument);
    let rejected = review(&app, editor, &request.id, false, "That is 2025's")
        .await
        .unwrap();
    assert_eq!(rejected.status, pb::TaskStatus::Open as i32);

    // The next upload is a new version of the same document.
    let second = upload_messages(
        app.client(),
        viewer,
        fulfil_header(&request.id, "statement-2026.pdf"),
        b"%PDF statement 2",
    )
    .await
    .unwrap();
    assert_eq!(second.document.as_ref().unwrap().id, doc.id);
    assert_eq!(second.version.as_ref().unwrap().number, 2);
    let accepted = review(&app, editor, &request.id, true, "").await.unwrap();
    assert_eq!(
        (accepted.status, accepted.version, accepted.stale),
        (pb::TaskStatus::Done as i32, 2, false)
    );
    let closed = upload_messages(
        app.client(),
        viewer,
        fulfil_header(&request.id, "late.pdf"),
        b"%PDF late",
    )
    .await
    .unwrap_err();
    assert_eq!(closed.code(), Code::FailedPrecondition, "a closed request");
    let history = events_after(&app, editor, 0, &request.id).await;
    assert_eq!(
        history.iter().map(|e| (e.0, e.2)).collect::<Vec<_>>(),
        [
            (K::TaskCreated, 0),
            (K::RequestFulfilled, 1),
            (K::RequestRejected, 1),
            (K::TaskCommented, 1),
            (K::RequestFulfilled, 2),
            (K::RequestAccepted, 2),
        ]
    );

    // A request about an existing document: identical content is no new
    // version, and only the assignee (or a writer) fulfils it.
    let for_editor = task(
        &app,
        editor,
        &doc.id,
        pb::TaskKind::Request,
        "Countersign",
        Some(editor),
    )
    .await
    .unwrap();
    let not_theirs = upload_messages(
        app.client(),
        viewer,
        fulfil_header(&for_editor.id, "c.pdf"),
        b"%PDF c",
    )
    .await
    .unwrap_err();
    assert_eq!(not_theirs.code(), Code::PermissionDenied);
    let identical = upload_messages(
        app.client(),
        editor,
        fulfil_header(&for_editor.id, "same.pdf"),
        b"%PDF statement 2",
    )
    .await
    .unwrap_err();
    assert_eq!(identical.code(), Code::FailedPrecondition);
    let on_todo = review(&app, editor, &linked.id, true, "")
        .await
        .unwrap_err();
    assert_eq!(
        on_todo.code(),
        Code::FailedPrecondition,
        "done, not awaiting review"
    );
    let versions = app
        .client()
        .list_versions(editor.request(pb::ListVersionsRequest {
            document_id: doc.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .versions;
    assert_eq!(versions.len(), 2, "refused uploads added nothing");
    let _ = upload_header::Target::DocumentId(String::new());
}

async fn comments_and_labels(setup: Setup) {
    use pb::EventKind as K;
    let app = TestApp::spawn(setup).await;
    let (editor, viewer) = (&app.acme.editor, &app.acme.viewer);
    let doc = app
        .create(editor, "Minutes", b"minutes v1")
        .await
        .document
        .unwrap();
    let todo = task(&app, editor, &doc.id, pb::TaskKind::Todo, "Read", None)
        .await
        .unwrap();
    let mut client = app.client();
    let comment = client
        .add_comment(viewer.request(pb::AddCommentRequest {
            task_id: todo.id.clone(),
            body: "Page 3 is missing".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(comment.author_id, viewer.user_id.to_string());
    for bad in [String::new(), "x".repeat(4_001)] {
        let refused = client
            .add_comment(viewer.request(pb::AddCommentRequest {
                task_id: todo.id.clone(),
                body: bad,
            }))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
    }
    let edit = |actor: &Actor, body: &str| {
        actor.request(pb::EditCommentRequest {
            task_id: todo.id.clone(),
            id: comment.id.clone(),
            body: body.into(),
        })
    };
    let by_other = client
        .edit_comment(edit(editor, "hijacked"))
        .await
        .unwrap_err();
    assert_eq!(by_other.code(), Code::PermissionDenied, "never by others");
    let elsewhere = client
        .edit_comment(edit(&app.globex.viewer, "hijacked"))
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), Code::NotFound);
    let edited = client
        .edit_comment(edit(viewer, "Page 3 and 4 are missing"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(edited.body, "Page 3 and 4 are missing");
    let thread = client
        .list_comments(editor.request(pb::ListCommentsRequest {
            task_id: todo.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .comments;
    assert_eq!(
        thread.iter().map(|c| c.body.as_str()).collect::<Vec<_>>(),
        ["Page 3 and 4 are missing"]
    );
    let hidden = client
        .list_comments(app.globex.admin.request(pb::ListCommentsRequest {
            task_id: todo.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);

    // Labels: set, refused when too long or by a viewer, cleared.
    let label = |actor: &Actor, number: u32, label: Option<&str>| {
        actor.request(pb::LabelVersionRequest {
            document_id: doc.id.clone(),
            number,
            label: label.map(str::to_owned),
        })
    };
    let labelled = client
        .label_version(label(editor, 1, Some("signed")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((labelled.number, labelled.label.as_str()), (1, "signed"));
    let long = "l".repeat(41);
    for (request, code) in [
        (label(editor, 1, Some(&long)), Code::InvalidArgument),
        (label(editor, 1, Some("two\nlines")), Code::InvalidArgument),
        (label(editor, 7, Some("final")), Code::NotFound),
        (label(viewer, 1, Some("final")), Code::PermissionDenied),
        (label(&app.globex.admin, 1, Some("final")), Code::NotFound),
    ] {
        assert_eq!(
            client.label_version(request).await.unwrap_err().code(),
            code
        );
    }
    let current = client
        .get_document(viewer.request(pb::GetDocumentRequest { id: doc.id.clone() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(current.current.unwrap().label, "signed");
    let cleared = client
        .label_version(label(editor, 1, None))
        .await
        .unwrap()
        .into_inner();
    assert!(cleared.label.is_empty());
    let history = events_after(&app, editor, 0, &todo.id).await;
    assert!(history.iter().any(|e| e.0 == K::TaskCommented));
}
