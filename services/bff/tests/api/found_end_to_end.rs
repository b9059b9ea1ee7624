//! Disagreements with `openapi/bff.yaml` found while testing the running
//! system end to end (`scripts/e2e`: the browser journey, schemathesis), each
//! kept here as a test.

use folio_platform::db::Backend;
use folio_testkit::backend_tests;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::helpers::TestSystem;

backend_tests!(versions_are_listed_newest_first);

/// `listVersions`: "Every version of a document, newest first."
async fn versions_are_listed_newest_first(backend: Backend) {
    let system = TestSystem::spawn(backend).await;
    let admin = system.signed_in("admin@acme.example").await;
    let created = admin.add_document("Minutes", "minutes.txt", b"one").await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    for content in [b"two".as_slice(), b"three"] {
        let added = admin
            .multipart(
                &format!("/api/v1/documents/{id}/versions"),
                vec![("file", Some("minutes.txt"), content.to_vec())],
            )
            .await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    }
    let versions = admin.get(&format!("/api/v1/documents/{id}/versions")).await;
    assert_eq!(versions.status, StatusCode::OK);
    let numbers: Vec<u64> = versions.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 2, 1]);
}

backend_tests!(a_new_task_says_where_it_is);

/// `createTask` 201 documents a `Location` header: the path of the new task.
async fn a_new_task_says_where_it_is(backend: Backend) {
    let system = TestSystem::spawn(backend).await;
    let admin = system.signed_in("admin@acme.example").await;
    let created = admin.add_document("Minutes", "minutes.txt", b"one").await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let task = admin
        .json(
            Method::POST,
            &format!("/api/v1/documents/{id}/tasks"),
            &json!({"title": "Read them"}),
        )
        .await;
    assert_eq!(task.status, StatusCode::CREATED, "{}", task.text());
    let task_id = task.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        task.header("location"),
        Some(format!("/api/v1/tasks/{task_id}").as_str())
    );
}

backend_tests!(line_breaks_from_a_browser_form_are_kept);

/// A browser sends a multi-line description or note of a form as CRLF
/// (`multipart/form-data` encoding); the portal's "Add a document" refused
/// them as control characters. The text means LF line breaks, which
/// `Description` and `Note` allow.
async fn line_breaks_from_a_browser_form_are_kept(backend: Backend) {
    let system = TestSystem::spawn(backend).await;
    let admin = system.signed_in("admin@acme.example").await;
    let created = admin
        .multipart(
            "/api/v1/documents",
            vec![
                ("description", None, b"first line\r\nsecond line".to_vec()),
                ("note", None, b"signed\r\nby both".to_vec()),
                ("file", Some("minutes.txt"), b"one".to_vec()),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(
        created.json()["document"]["description"],
        "first line\nsecond line"
    );
    assert_eq!(created.json()["version"]["note"], "signed\nby both");
    let id = created.json()["document"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let added = admin
        .multipart(
            &format!("/api/v1/documents/{id}/versions"),
            vec![
                ("note", None, b"two\r\nlines".to_vec()),
                ("file", Some("minutes.txt"), b"two".to_vec()),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    assert_eq!(added.json()["version"]["note"], "two\nlines");
}

backend_tests!(document_tasks_filter_by_status_and_nulls_are_wrong_types);

/// `listDocumentTasks` takes `status` ("Only tasks in this state"); the bff
/// ignored it. And request bodies are strict: `null` where a field is not
/// nullable is a wrong type (400), not "absent".
async fn document_tasks_filter_by_status_and_nulls_are_wrong_types(backend: Backend) {
    let system = TestSystem::spawn(backend).await;
    let admin = system.signed_in("admin@acme.example").await;
    let created = admin.add_document("Minutes", "minutes.txt", b"one").await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let tasks = format!("/api/v1/documents/{id}/tasks");
    let mut ids = Vec::new();
    for title in ["Read", "Sign"] {
        let task = admin
            .json(Method::POST, &tasks, &json!({ "title": title }))
            .await;
        assert_eq!(task.status, StatusCode::CREATED, "{}", task.text());
        ids.push(task.json()["id"].as_str().unwrap().to_owned());
    }
    let done = admin
        .json(
            Method::PATCH,
            &format!("/api/v1/tasks/{}", ids[1]),
            &json!({"status": "done"}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());

    let only_done = admin.get(&format!("{tasks}?status=done")).await;
    assert_eq!(only_done.status, StatusCode::OK);
    let titles: Vec<_> = only_done.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(titles, ["Sign"]);
    assert_eq!(
        admin.get(&format!("{tasks}?status=open")).await.json()["items"][0]["title"],
        "Read"
    );
    let bad = admin.get(&format!("{tasks}?status=finished")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.problem_type(), "validation-failed");

    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/tasks/{}", ids[0]),
            json!({"title": "Read again", "status": null}),
        ),
        (
            Method::POST,
            tasks.clone(),
            json!({"title": "Nobody's", "assignee_id": null}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/documents/{id}"),
            json!({"title": "Renamed", "tags": null}),
        ),
    ] {
        let refused = admin.json(method, &path, &body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(refused.problem_type(), "validation-failed");
    }
    // Nothing changed.
    let document = admin.get(&format!("/api/v1/documents/{id}")).await;
    assert_eq!(document.json()["title"], "Minutes");
    let all = admin.get(&tasks).await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    assert_eq!(all["items"][0]["title"], "Read");
}

backend_tests!(my_tasks_need_an_assignee);

/// `listTasks` has `assignee` as a required query parameter; the bff took
/// its absence for `me`.
async fn my_tasks_need_an_assignee(backend: Backend) {
    let system = TestSystem::spawn(backend).await;
    let admin = system.signed_in("admin@acme.example").await;
    let missing = admin.get("/api/v1/tasks").await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.json()["errors"][0]["field"], "assignee");
    assert_eq!(
        admin.get("/api/v1/tasks?assignee=me").await.status,
        StatusCode::OK
    );
}
