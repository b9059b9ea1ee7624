//! Work that knows its version, through the REST API: pinned and stale
//! tasks, carry-forward, approvals, requests fulfilled by upload, comments,
//! restore and labels, with roles, tenancy and bad input. Every answer is
//! checked against `openapi/bff.yaml` by the helpers.

use folio_platform::db::Backend;
use folio_testkit::backend_tests;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::helpers::{Browser, Reply, TestSystem};

backend_tests!(work_follows_versions_through_the_api);

fn expect(reply: &Reply, status: StatusCode, problem: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    if !problem.is_empty() {
        assert_eq!(reply.problem_type(), problem, "{}", reply.text());
    }
}

async fn post(browser: &Browser, path: &str, body: &Value) -> Reply {
    browser.json(Method::POST, path, body).await
}

async fn find_task(browser: &Browser, query: &str, id: &str) -> Value {
    let listed = browser.get(&format!("/api/v1/tasks?{query}")).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    listed.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("task {id} listed"))
}

async fn work_follows_versions_through_the_api(backend: Backend) {
    let system = TestSystem::spawn(backend).await;
    let admin = system.signed_in("admin@acme.example").await;
    let (_, editor) = system.user(&admin, "ed@acme.example", "editor").await;
    let (viewer_user, viewer) = system.user(&admin, "vi@acme.example", "viewer").await;
    let viewer_id = viewer_user["id"].as_str().unwrap().to_owned();
    let intruder = system.signed_in("admin@globex.example").await;

    let doc = editor.add_document("Lease", "lease.txt", b"lease v1").await;
    let id = doc["document"]["id"].as_str().unwrap().to_owned();
    let tasks = format!("/api/v1/documents/{id}/tasks");
    let todo = post(
        &editor,
        &tasks,
        &json!({"title": "Review", "assignee_id": viewer_id}),
    )
    .await;
    expect(&todo, StatusCode::CREATED, "");
    let todo = todo.json();
    assert_eq!(
        (todo["kind"].as_str(), todo["version"].as_u64()),
        (Some("todo"), Some(1))
    );
    assert_eq!(
        (todo["stale"].as_bool(), todo["changed"].is_null()),
        (Some(false), true)
    );
    let todo_id = todo["id"].as_str().unwrap().to_owned();
    let approval = post(
        &editor,
        &tasks,
        &json!({"title": "Approve", "kind": "approval", "assignee_id": viewer_id}),
    )
    .await;
    expect(&approval, StatusCode::CREATED, "");
    let approval_id = approval.json()["id"].as_str().unwrap().to_owned();
    let no_approver = post(
        &editor,
        &tasks,
        &json!({"title": "Approve", "kind": "approval"}),
    )
    .await;
    expect(&no_approver, StatusCode::BAD_REQUEST, "validation-failed");
    let bad_kind = post(&editor, &tasks, &json!({"title": "x", "kind": "chore"})).await;
    expect(&bad_kind, StatusCode::BAD_REQUEST, "validation-failed");

    // v2 arrives: the review is stale (with what changed), the approval re-pinned.
    let v2 = editor
        .multipart(
            &format!("/api/v1/documents/{id}/versions"),
            vec![
                ("note", None, b"rent corrected".to_vec()),
                ("file", Some("lease-v2.txt"), b"lease v2!".to_vec()),
            ],
        )
        .await;
    expect(&v2, StatusCode::CREATED, "");
    let stale = find_task(&viewer, "assignee=me", &todo_id).await;
    assert_eq!(stale["stale"], true);
    assert_eq!(
        (stale["version"].as_u64(), stale["current_version"].as_u64()),
        (Some(1), Some(2))
    );
    let changed = &stale["changed"];
    assert_eq!(
        (
            changed["from_version"].as_u64(),
            changed["to_version"].as_u64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(
        (changed["note"].as_str(), changed["size"].as_u64()),
        (Some("rent corrected"), Some(9))
    );
    let repinned = find_task(&viewer, "assignee=me&kind=approval", &approval_id).await;
    assert_eq!(
        (repinned["version"].as_u64(), repinned["stale"].as_bool()),
        (Some(2), Some(false))
    );
    assert!(repinned["decision"].is_null());

    // The viewer carries their review forward; again is 409, others' ids 404.
    let carry = format!("/api/v1/tasks/{todo_id}/carry-forward");
    expect(
        &intruder.json(Method::POST, &carry, &json!({})).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    let carried = viewer.json(Method::POST, &carry, &json!({})).await;
    expect(&carried, StatusCode::OK, "");
    assert_eq!(
        (
            carried.json()["version"].as_u64(),
            carried.json()["stale"].as_bool()
        ),
        (Some(2), Some(false))
    );
    expect(
        &viewer.json(Method::POST, &carry, &json!({})).await,
        StatusCode::CONFLICT,
        "not-now",
    );
    let close = format!("/api/v1/tasks/{todo_id}/close");
    expect(
        &viewer.json(Method::POST, &close, &json!({})).await,
        StatusCode::CONFLICT,
        "not-now",
    );

    // Approvals: only the approver decides, a rejection needs a reason.
    let decision = format!("/api/v1/tasks/{approval_id}/decision");
    expect(
        &post(&editor, &decision, &json!({"decision": "approve"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    for bad in [
        json!({"decision": "reject"}),
        json!({"decision": "reject", "comment": "  "}),
        json!({"decision": "maybe"}),
        json!({"decision": "approve", "comment": "x".repeat(4_001)}),
        json!({"decision": "approve", "extra": 1}),
    ] {
        expect(
            &post(&viewer, &decision, &bad).await,
            StatusCode::BAD_REQUEST,
            "validation-failed",
        );
    }
    let rejected = post(
        &viewer,
        &decision,
        &json!({"decision": "reject", "comment": "Clause 4"}),
    )
    .await;
    expect(&rejected, StatusCode::OK, "");
    assert_eq!(rejected.json()["decision"], "rejected");
    let document = admin.get(&format!("/api/v1/documents/{id}")).await.json();
    assert_eq!(document["approval"]["version"], 2);
    assert_eq!(document["approval"]["decision"], "rejected");
    expect(
        &post(
            &viewer,
            &format!("/api/v1/tasks/{todo_id}/decision"),
            &json!({"decision": "approve"}),
        )
        .await,
        StatusCode::CONFLICT,
        "not-now",
    );
    let thread = viewer
        .get(&format!("/api/v1/tasks/{approval_id}/comments"))
        .await;
    expect(&thread, StatusCode::OK, "");
    assert_eq!(thread.json()["items"][0]["body"], "Clause 4");

    // A request for a document that does not exist yet.
    let request = json!({"kind": "request", "title": "Signed lease", "assignee": viewer_id, "due": "2026-12-24"});
    expect(
        &post(&viewer, "/api/v1/tasks", &request).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    for bad in [
        json!({"kind": "todo", "title": "x", "assignee": viewer_id, "due": "2026-12-24"}),
        json!({"kind": "request", "title": "x", "assignee": viewer_id}),
        json!({"kind": "request", "title": "x", "assignee": "nobody", "due": "2026-12-24"}),
        json!({"kind": "request", "title": "", "assignee": viewer_id, "due": "2026-12-24"}),
        json!({"kind": "request", "title": "x", "assignee": "0190f5a0-0000-7000-8000-000000000000", "due": "2026-12-24"}),
    ] {
        let refused = post(&editor, "/api/v1/tasks", &bad).await;
        expect(&refused, StatusCode::BAD_REQUEST, "validation-failed");
    }
    let created = post(&editor, "/api/v1/tasks", &request).await;
    expect(&created, StatusCode::CREATED, "");
    let request = created.json();
    assert!(request["document_id"].is_null() && request["version"].is_null());
    let request_id = request["id"].as_str().unwrap().to_owned();
    let fulfil = format!("/api/v1/tasks/{request_id}/fulfil");
    let blobs = system.blob_count();
    let theirs = intruder
        .multipart(&fulfil, vec![("file", Some("x.pdf"), b"intruder".to_vec())])
        .await;
    expect(&theirs, StatusCode::NOT_FOUND, "not-found");
    let fulfilled = viewer
        .multipart(
            &fulfil,
            vec![
                ("note", None, b"signed by both".to_vec()),
                ("file", Some("signed.pdf"), b"%PDF signed lease".to_vec()),
            ],
        )
        .await;
    expect(&fulfilled, StatusCode::CREATED, "");
    let fulfilled = fulfilled.json();
    assert_eq!(fulfilled["document"]["title"], "Signed lease");
    assert_eq!(
        (
            fulfilled["task"]["status"].as_str(),
            fulfilled["task"]["version"].as_u64()
        ),
        (Some("in_progress"), Some(1))
    );
    assert_eq!(
        system.blob_count(),
        blobs + 1,
        "only the fulfilling upload was stored"
    );
    let again = viewer
        .multipart(
            &fulfil,
            vec![("file", Some("again.pdf"), b"%PDF again".to_vec())],
        )
        .await;
    expect(&again, StatusCode::CONFLICT, "not-now");
    let accept = format!("/api/v1/tasks/{request_id}/accept");
    let reject = format!("/api/v1/tasks/{request_id}/reject");
    expect(
        &viewer.json(Method::POST, &accept, &json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    expect(
        &post(&editor, &reject, &json!({})).await,
        StatusCode::BAD_REQUEST,
        "validation-failed",
    );
    expect(
        &post(&editor, &reject, &json!({"reason": " "})).await,
        StatusCode::BAD_REQUEST,
        "validation-failed",
    );
    let reopened = post(&editor, &reject, &json!({"reason": "Page 2 unsigned"})).await;
    expect(&reopened, StatusCode::OK, "");
    assert_eq!(reopened.json()["status"], "open");
    let second = viewer
        .multipart(
            &fulfil,
            vec![(
                "file",
                Some("signed-2.pdf"),
                b"%PDF signed lease 2".to_vec(),
            )],
        )
        .await;
    expect(&second, StatusCode::CREATED, "");
    assert_eq!(second.json()["version"]["number"], 2);
    let accepted = editor.json(Method::POST, &accept, &json!({})).await;
    expect(&accepted, StatusCode::OK, "");
    assert_eq!(accepted.json()["status"], "done");
    expect(
        &editor.json(Method::POST, &accept, &json!({})).await,
        StatusCode::CONFLICT,
        "not-now",
    );
    let history = viewer
        .get(&format!("/api/v1/tasks/{request_id}/history"))
        .await;
    expect(&history, StatusCode::OK, "");
    let kinds: Vec<_> = history.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "task_created",
            "request_fulfilled",
            "request_rejected",
            "task_commented",
            "request_fulfilled",
            "request_accepted"
        ]
    );
    expect(
        &intruder
            .get(&format!("/api/v1/tasks/{request_id}/history"))
            .await,
        StatusCode::NOT_FOUND,
        "not-found",
    );

    // Comments: anyone comments, only the author edits.
    let comments = format!("/api/v1/tasks/{todo_id}/comments");
    let comment = post(&viewer, &comments, &json!({"body": "Looks fine"})).await;
    expect(&comment, StatusCode::CREATED, "");
    let edit = format!("{comments}/{}", comment.json()["id"].as_str().unwrap());
    expect(
        &editor
            .json(Method::PATCH, &edit, &json!({"body": "mine now"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    expect(
        &intruder
            .json(Method::PATCH, &edit, &json!({"body": "ours"}))
            .await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    let edited = viewer
        .json(Method::PATCH, &edit, &json!({"body": "Looks fine to me"}))
        .await;
    expect(&edited, StatusCode::OK, "");
    assert_eq!(edited.json()["body"], "Looks fine to me");
    for bad in [
        json!({"body": ""}),
        json!({"body": "   "}),
        json!({"body": "x".repeat(4_001)}),
        json!({"text": "x"}),
    ] {
        expect(
            &post(&viewer, &comments, &bad).await,
            StatusCode::BAD_REQUEST,
            "validation-failed",
        );
    }
    let huge = viewer
        .raw(
            Method::POST,
            &comments,
            "application/json",
            format!("{{\"body\": \"{}\"}}", "x".repeat(70_000)).into_bytes(),
        )
        .await;
    expect(&huge, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
    let malformed = viewer
        .raw(
            Method::POST,
            &comments,
            "application/json",
            b"{\"body\":".to_vec(),
        )
        .await;
    expect(&malformed, StatusCode::BAD_REQUEST, "malformed-request");
    assert_eq!(
        viewer.get(&comments).await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Restore: v1 comes back as v3, sharing its stored content.
    let blobs = system.blob_count();
    let restore = |n: &str| format!("/api/v1/documents/{id}/versions/{n}/restore");
    expect(
        &viewer.json(Method::POST, &restore("1"), &json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    expect(
        &intruder.json(Method::POST, &restore("1"), &json!({})).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    expect(
        &editor.json(Method::POST, &restore("9"), &json!({})).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    expect(
        &editor.json(Method::POST, &restore("0"), &json!({})).await,
        StatusCode::BAD_REQUEST,
        "validation-failed",
    );
    let restored = editor.json(Method::POST, &restore("1"), &json!({})).await;
    expect(&restored, StatusCode::CREATED, "");
    let v3 = &restored.json()["version"];
    assert_eq!(
        (v3["number"].as_u64(), v3["restored_from"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(v3["note"], "restored from v1");
    assert_eq!(system.blob_count(), blobs, "no copy of the blob");
    expect(
        &editor.json(Method::POST, &restore("3"), &json!({})).await,
        StatusCode::CONFLICT,
        "not-now",
    );
    let review = find_task(&viewer, "assignee=me", &todo_id).await;
    assert_eq!(
        (
            review["stale"].as_bool(),
            review["changed"]["to_version"].as_u64()
        ),
        (Some(true), Some(3))
    );
    let closed = viewer.json(Method::POST, &close, &json!({})).await;
    expect(&closed, StatusCode::OK, "");
    assert_eq!(closed.json()["status"], "done");

    // Labels.
    let version = |n: &str| format!("/api/v1/documents/{id}/versions/{n}");
    let labelled = editor
        .json(Method::PATCH, &version("1"), &json!({"label": "signed"}))
        .await;
    expect(&labelled, StatusCode::OK, "");
    assert_eq!(labelled.json()["label"], "signed");
    for bad in [
        json!({"label": "x".repeat(41)}),
        json!({}),
        json!({"label": "a\nb"}),
        json!({"label": 3}),
    ] {
        expect(
            &editor.json(Method::PATCH, &version("1"), &bad).await,
            StatusCode::BAD_REQUEST,
            "validation-failed",
        );
    }
    expect(
        &viewer
            .json(Method::PATCH, &version("1"), &json!({"label": "x"}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    expect(
        &intruder
            .json(Method::PATCH, &version("1"), &json!({"label": "x"}))
            .await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    expect(
        &editor
            .json(Method::PATCH, &version("8"), &json!({"label": "x"}))
            .await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
    let listed = viewer
        .get(&format!("/api/v1/documents/{id}/versions"))
        .await
        .json();
    assert_eq!(listed["items"][2]["label"], "signed", "v1, newest first");
    let cleared = editor
        .json(Method::PATCH, &version("1"), &json!({"label": null}))
        .await;
    expect(&cleared, StatusCode::OK, "");
    assert!(cleared.json()["label"].is_null());

    // Retention: off by default, admins only, per organisation, checked.
    let off = admin.get("/api/v1/retention").await;
    expect(&off, StatusCode::OK, "");
    assert_eq!(off.json(), json!({"keep_last": null, "keep_days": null}));
    expect(
        &viewer.get("/api/v1/retention").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    for bad in [
        json!({"keep_last": 0, "keep_days": null}),
        json!({"keep_last": 3}),
        json!({"keep_last": 3, "keep_days": 40_000}),
        json!({"keep_last": "3", "keep_days": null}),
        json!({"keep_last": 3, "keep_days": null, "forever": true}),
    ] {
        expect(
            &admin.json(Method::PUT, "/api/v1/retention", &bad).await,
            StatusCode::BAD_REQUEST,
            "validation-failed",
        );
    }
    let set = admin
        .json(
            Method::PUT,
            "/api/v1/retention",
            &json!({"keep_last": 3, "keep_days": 30}),
        )
        .await;
    expect(&set, StatusCode::OK, "");
    assert_eq!(
        admin.get("/api/v1/retention").await.json(),
        json!({"keep_last": 3, "keep_days": 30})
    );
    assert_eq!(
        intruder.get("/api/v1/retention").await.json(),
        json!({"keep_last": null, "keep_days": null}),
        "another organisation's policy is its own"
    );

    // The activity view names what happened.
    let activity = admin.get("/api/v1/activity?limit=100").await.json();
    let seen: Vec<_> = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    for kind in [
        "task_pinned",
        "task_stale",
        "task_carried_forward",
        "task_rejected",
        "request_fulfilled",
        "request_accepted",
        "request_rejected",
        "version_restored",
        "version_labelled",
        "task_commented",
        "task_closed",
    ] {
        assert!(seen.iter().any(|k| k == kind), "{kind} in {seen:?}");
    }
}
