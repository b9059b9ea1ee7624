//! My tasks through the REST API: the documents service groups and pages
//! the signed-in user's tasks; every answer is checked against
//! `openapi/bff.yaml` by the helpers.

use std::collections::HashSet;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use folio_platform::db::Backend;
use folio_testkit::backend_tests;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::helpers::{Browser, Reply, TestSystem};

backend_tests!(my_tasks_are_grouped_and_paged_by_the_server);

async fn created(browser: &Browser, path: &str, body: Value) -> String {
    let reply = browser.json(Method::POST, path, &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()["id"].as_str().unwrap().to_owned()
}

fn ok(reply: &Reply) -> Value {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

/// (group, task id) of every item on one page, and its cursor.
fn page(reply: &Reply) -> (Vec<(String, String)>, Option<String>) {
    let body = ok(reply);
    let items = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["group"].as_str().unwrap().to_owned(),
                i["task"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (items, body["next_cursor"].as_str().map(str::to_owned))
}

async fn my_tasks_are_grouped_and_paged_by_the_server(backend: Backend) {
    let system = TestSystem::spawn(backend).await;
    let admin = system.signed_in("admin@acme.example").await;
    let (_, editor) = system.user(&admin, "ed@acme.example", "editor").await;
    let (viewer_user, viewer) = system.user(&admin, "vi@acme.example", "viewer").await;
    let me = viewer_user["id"].as_str().unwrap().to_owned();
    let intruder = system.signed_in("admin@globex.example").await;

    let today = time::OffsetDateTime::now_utc().date();
    let doc = editor.add_document("Lease", "lease.txt", b"lease v1").await;
    let doc_id = doc["document"]["id"].as_str().unwrap().to_owned();
    let tasks = format!("/api/v1/documents/{doc_id}/tasks");
    let todo = |title: &str, due: Option<String>| {
        let mut body = json!({"title": title, "assignee_id": me});
        if let Some(due) = due {
            body["due_date"] = json!(due);
        }
        body
    };
    let stale = created(&editor, &tasks, todo("Stale", None)).await;
    let v2 = editor
        .multipart(
            &format!("/api/v1/documents/{doc_id}/versions"),
            vec![("file", Some("lease-v2.txt"), b"lease v2".to_vec())],
        )
        .await;
    assert_eq!(v2.status, StatusCode::CREATED, "{}", v2.text());
    let overdue = created(&editor, &tasks, todo("Late", Some("2000-01-03".into()))).await;
    let overdue_older = created(&editor, &tasks, todo("Later", Some("2000-01-02".into()))).await;
    let soon = created(&editor, &tasks, todo("Today", Some(today.to_string()))).await;
    let later = created(&editor, &tasks, todo("Far", Some("2999-01-01".into()))).await;
    let undated = created(&editor, &tasks, todo("Whenever", None)).await;
    let approval = created(
        &editor,
        &tasks,
        json!({"title": "Approve", "kind": "approval", "assignee_id": me}),
    )
    .await;
    let request = created(
        &editor,
        "/api/v1/tasks",
        json!({"kind": "request", "title": "Signed copy", "assignee": me, "due": "2999-06-01"}),
    )
    .await;
    let done = created(&editor, &tasks, todo("Done", Some("2000-01-01".into()))).await;
    let closed = editor
        .json(
            Method::PATCH,
            &format!("/api/v1/tasks/{done}"),
            &json!({"status": "done"}),
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.text());
    // Someone else's work and another organisation's never show.
    let theirs = created(&editor, &tasks, json!({"title": "Not mine"})).await;
    let globex = intruder.add_document("Secret", "s.txt", b"s").await;
    let globex_id = globex["document"]["id"].as_str().unwrap().to_owned();
    let globex_me = ok(&intruder.get("/api/v1/session").await)["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let foreign = created(
        &intruder,
        &format!("/api/v1/documents/{globex_id}/tasks"),
        json!({"title": "Globex", "assignee_id": globex_me}),
    )
    .await;

    // The viewer sees their own, in group order, each once.
    let expected = vec![
        ("overdue", &overdue_older),
        ("overdue", &overdue),
        ("due_soon", &soon),
        ("stale", &stale),
        ("awaiting_approval", &approval),
        ("requests", &request),
        ("later", &later),
        ("later", &undated),
        ("done", &done),
    ]
    .into_iter()
    .map(|(g, id)| (g.to_owned(), id.clone()))
    .collect::<Vec<_>>();
    let (all, next) = page(&viewer.get("/api/v1/tasks/mine").await);
    assert_eq!(all, expected);
    assert_eq!(next, None);
    assert!(all.iter().all(|(_, id)| *id != theirs));

    // Pages of two cross group boundaries and return every task once.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let path = match &cursor {
            Some(c) => format!("/api/v1/tasks/mine?limit=2&cursor={c}"),
            None => "/api/v1/tasks/mine?limit=2".to_owned(),
        };
        let (items, next) = page(&viewer.get(&path).await);
        assert!(items.len() <= 2);
        paged.extend(items);
        cursor = next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(paged, expected, "paging loses or repeats nothing");

    // Filters: one group, a kind, a state; a group pages within itself.
    let (only, _) = page(&viewer.get("/api/v1/tasks/mine?group=overdue").await);
    assert_eq!(only, expected[..2].to_vec());
    let (first, next) = page(&viewer.get("/api/v1/tasks/mine?group=later&limit=1").await);
    assert_eq!(first, expected[6..7].to_vec());
    let (second, end) = page(
        &viewer
            .get(&format!(
                "/api/v1/tasks/mine?group=later&limit=1&cursor={}",
                next.unwrap()
            ))
            .await,
    );
    assert_eq!((second, end), (expected[7..8].to_vec(), None));
    let (approvals, _) = page(&viewer.get("/api/v1/tasks/mine?kind=approval").await);
    assert_eq!(approvals, expected[4..5].to_vec());
    let (finished, _) = page(&viewer.get("/api/v1/tasks/mine?status=done").await);
    assert_eq!(finished, expected[8..9].to_vec());

    // The editor has nothing assigned; Globex's admin sees only Globex's.
    let (editors, _) = page(&editor.get("/api/v1/tasks/mine").await);
    assert!(editors.is_empty(), "{editors:?}");
    let (globex_own, _) = page(&intruder.get("/api/v1/tasks/mine").await);
    assert_eq!(globex_own, vec![("later".to_owned(), foreign.clone())]);
    assert!(all.iter().all(|(_, id)| *id != foreign));

    // Bad filters and cursors are clear 400 problems.
    let forged = URL_SAFE_NO_PAD.encode("0::not-a-uuid");
    for bad in [
        "group=urgent".to_owned(),
        "kind=chore".to_owned(),
        "status=finished".to_owned(),
        "limit=0".to_owned(),
        "limit=101".to_owned(),
        "cursor=not%20a%20cursor".to_owned(),
        format!("cursor={forged}"),
        format!("cursor={}", "A".repeat(600)),
    ] {
        let reply = viewer.get(&format!("/api/v1/tasks/mine?{bad}")).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            reply.text()
        );
        assert_eq!(
            reply.problem_type(),
            "validation-failed",
            "{bad}: {}",
            reply.text()
        );
    }
    // Signed out: 401.
    let anonymous = system.browser().get("/api/v1/tasks/mine").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let seen: HashSet<_> = paged.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(seen.len(), expected.len());
}
