use folio_platform::db::Backend;
use folio_testkit::backend_tests;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::helpers::{PASSWORD, TestSystem};

backend_tests!(the_whole_journey);

async fn the_whole_journey(backend: Backend) {
    let system = TestSystem::spawn(backend).await;

    // Signing in: a wrong password first, then the right one.
    let browser = system.browser();
    let refused = browser
        .sign_in("admin@acme.example", "wrong password!")
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.problem_type(), "invalid-credentials");
    let admin = system.signed_in("admin@acme.example").await;
    let session = admin.get("/api/v1/session").await;
    assert_eq!(session.status, StatusCode::OK);
    assert_eq!(session.json()["user"]["role"], "admin");
    assert_eq!(session.json()["csrf_token"].as_str(), admin.csrf.as_deref());

    // A portal page, with its security headers.
    let page = admin
        .http
        .get(format!("{}/", system.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(page.text().await.unwrap().contains("<html"));

    // An editor adds a document, then a second version; identical content adds none.
    let (editor_user, editor) = system.user(&admin, "ed@acme.example", "editor").await;
    let v1 = b"first version of the plan\n".repeat(1000);
    let created = editor.add_document("The plan", "plan.txt", &v1).await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["version"]["number"], 1);
    assert_eq!(created["document"]["title"], "The plan");
    let v2 = b"second version, longer and better\n".repeat(3000);
    let added = editor
        .multipart(
            &format!("/api/v1/documents/{id}/versions"),
            vec![
                ("note", None, b"now better".to_vec()),
                ("file", Some("plan-v2.txt"), v2.clone()),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    assert_eq!(added.json()["created"], true);
    assert_eq!(added.json()["version"]["note"], "now better");
    let same = editor
        .multipart(
            &format!("/api/v1/documents/{id}/versions"),
            vec![("file", Some("again.txt"), v2.clone())],
        )
        .await;
    assert_eq!(same.status, StatusCode::OK);
    assert_eq!(same.json()["created"], false);
    assert_eq!(same.json()["version"]["number"], 2);

    let listed = admin.get("/api/v1/documents?q=plan&limit=10").await;
    assert_eq!(listed.json()["items"].as_array().unwrap().len(), 1);
    let versions = admin.get(&format!("/api/v1/documents/{id}/versions")).await;
    assert_eq!(versions.json()["items"].as_array().unwrap().len(), 2);
    let patched = editor
        .json(
            Method::PATCH,
            &format!("/api/v1/documents/{id}"),
            &json!({"description": "Our plan", "tags": ["strategy"]}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    assert_eq!(patched.json()["tags"], json!(["strategy"]));
    let tagged = admin.get("/api/v1/documents?tag=strategy").await;
    assert_eq!(tagged.json()["items"][0]["id"], id.as_str());

    // Every version downloads byte-exact; ranges, ETags and names behave.
    let one = admin
        .get(&format!("/api/v1/documents/{id}/versions/1/content"))
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body, v1);
    assert_eq!(one.header("accept-ranges"), Some("bytes"));
    assert_eq!(
        one.header("content-disposition"),
        Some("attachment; filename=\"plan.txt\"; filename*=UTF-8''plan.txt")
    );
    let current = admin.get(&format!("/api/v1/documents/{id}/content")).await;
    assert_eq!(current.body, v2);
    let etag = current.header("etag").unwrap().to_owned();
    let not_modified = admin
        .get_with(
            &format!("/api/v1/documents/{id}/content"),
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    let partial = admin
        .get_with(
            &format!("/api/v1/documents/{id}/versions/2/content"),
            &[("range", "bytes=10-19")],
        )
        .await;
    assert_eq!(partial.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(partial.body, &v2[10..20]);
    assert_eq!(
        partial.header("content-range"),
        Some(format!("bytes 10-19/{}", v2.len()).as_str())
    );
    let tail = admin
        .get_with(
            &format!("/api/v1/documents/{id}/content"),
            &[("range", "bytes=-7")],
        )
        .await;
    assert_eq!(tail.body, &v2[v2.len() - 7..]);
    let outside = admin
        .get_with(
            &format!("/api/v1/documents/{id}/content"),
            &[("range", &format!("bytes={}-", v2.len()))],
        )
        .await;
    assert_eq!(outside.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        outside.header("content-range"),
        Some(format!("bytes */{}", v2.len()).as_str())
    );
    let stale = admin
        .get_with(
            &format!("/api/v1/documents/{id}/content"),
            &[("range", "bytes=0-3"), ("if-range", "\"stale\"")],
        )
        .await;
    assert_eq!((stale.status, stale.body.len()), (StatusCode::OK, v2.len()));

    // Tasks: add, assign, complete; they show in "my tasks".
    let task = editor
        .json(
            Method::POST,
            &format!("/api/v1/documents/{id}/tasks"),
            &json!({"title": "Review", "due_date": "2026-12-31"}),
        )
        .await;
    assert_eq!(task.status, StatusCode::CREATED, "{}", task.text());
    let task_id = task.json()["id"].as_str().unwrap().to_owned();
    let editor_id = editor_user["id"].as_str().unwrap();
    let assigned = editor
        .json(
            Method::PATCH,
            &format!("/api/v1/tasks/{task_id}"),
            &json!({"assignee_id": editor_id, "status": "in_progress"}),
        )
        .await;
    assert_eq!(assigned.json()["assignee_id"], editor_id);
    let mine = editor
        .get("/api/v1/tasks?assignee=me&status=in_progress")
        .await;
    assert_eq!(mine.json()["items"][0]["id"], task_id.as_str());
    let done = editor
        .json(
            Method::PATCH,
            &format!("/api/v1/tasks/{task_id}"),
            &json!({"status": "done", "due_date": null}),
        )
        .await;
    assert!(done.json()["completed_at"].is_string());
    assert!(done.json()["due_date"].is_null());
    let with_done = admin.get("/api/v1/documents?task_status=done").await;
    assert_eq!(with_done.json()["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        editor
            .delete(&format!("/api/v1/tasks/{task_id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert!(
        editor
            .get(&format!("/api/v1/documents/{id}/tasks"))
            .await
            .json()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Activity: newest first, paged.
    let activity = admin.get("/api/v1/activity?limit=3").await;
    let page = activity.json();
    assert_eq!(page["items"][0]["kind"], "task_deleted");
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let cursor = page["next_cursor"].as_str().unwrap();
    let older = admin
        .get(&format!("/api/v1/activity?cursor={cursor}"))
        .await;
    let kinds: Vec<_> = older.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds.last().map(String::as_str), Some("document_created"));

    // A viewer reads but cannot write.
    let (_, viewer) = system.user(&admin, "vi@acme.example", "viewer").await;
    assert_eq!(
        viewer
            .get(&format!("/api/v1/documents/{id}/content"))
            .await
            .body,
        v2
    );
    let denied = viewer
        .json(
            Method::PATCH,
            &format!("/api/v1/documents/{id}"),
            &json!({"title": "Mine"}),
        )
        .await;
    assert_eq!(
        (denied.status, denied.problem_type().as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let denied = viewer
        .multipart(
            "/api/v1/documents",
            vec![("file", Some("x.txt"), b"x".to_vec())],
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);

    // Users: list, change a role (it applies to open sessions), change own password.
    let users = admin.get("/api/v1/users").await;
    assert_eq!(users.json()["items"].as_array().unwrap().len(), 3);
    let demoted = admin
        .json(
            Method::PATCH,
            &format!("/api/v1/users/{editor_id}"),
            &json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(demoted.json()["role"], "viewer");
    let now_denied = editor
        .json(
            Method::PATCH,
            &format!("/api/v1/documents/{id}"),
            &json!({"title": "x"}),
        )
        .await;
    assert_eq!(now_denied.status, StatusCode::FORBIDDEN);
    let changed = viewer
        .json(
            Method::POST,
            "/api/v1/session/password",
            &json!({"current_password": PASSWORD, "new_password": "a new long password"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text());
    assert_eq!(
        viewer.get("/api/v1/session").await.status,
        StatusCode::OK,
        "the current session survives"
    );

    // Deleting hides the document; signing out ends the session.
    assert_eq!(
        editor.get(&format!("/api/v1/documents/{id}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        admin
            .delete(&format!("/api/v1/documents/{id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin.get(&format!("/api/v1/documents/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let out = admin.delete("/api/v1/session").await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        admin.get("/api/v1/session").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_happened() {
    let system = TestSystem::spawn(Backend::Sqlite).await;
    let admin = system.signed_in("admin@acme.example").await;
    let content = vec![42u8; 300_000];
    let doc = admin.add_document("Counted", "counted.bin", &content).await;
    let id = doc["document"]["id"].as_str().unwrap();
    assert_eq!(
        admin
            .get(&format!("/api/v1/documents/{id}/content"))
            .await
            .body,
        content
    );
    let refused = system
        .browser()
        .sign_in("admin@acme.example", "not it at all")
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    let scrape = system.browser().get("/metrics").await;
    assert_eq!(scrape.status, StatusCode::OK);
    let text = scrape.text();
    let value = |needle: &str| -> f64 {
        text.lines()
            .filter(|l| !l.starts_with('#') && l.contains(needle))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert!(
        value(r#"folio_upload_bytes_total{service="bff"}"#) >= 300_000.0,
        "{text}"
    );
    assert!(value(r#"folio_upload_bytes_total{service="documents"}"#) >= 300_000.0);
    assert!(value(r#"folio_download_bytes_total{service="bff"}"#) >= 300_000.0);
    assert_eq!(value(r#"folio_sign_ins_total{outcome="ok"}"#), 1.0);
    assert_eq!(value(r#"folio_sign_ins_total{outcome="refused"}"#), 1.0);
    assert!(value(r#"route="/api/v1/documents",method="POST",status="201""#) >= 1.0);
    assert!(
        value(r#"grpc_requests_total{service="documents",method="UploadVersion",code="0"}"#) >= 1.0
    );
    assert!(value(r#"grpc_requests_total{service="users",method="SignIn",code="16"}"#) >= 1.0);
    assert!(text.contains("http_request_duration_seconds_bucket"));
    assert!(value(r#"folio_sessions{service="bff"}"#) >= 1.0);
}

/// With Redis sessions the scrape shows the Redis pool, and the database
/// pools of the services behind (on MariaDB) on their own listeners.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_the_redis_pool() {
    let system = TestSystem::spawn(Backend::MySql).await;
    let admin = system.signed_in("admin@acme.example").await;
    assert_eq!(admin.get("/api/v1/documents").await.status, StatusCode::OK);
    let text = system.browser().get("/metrics").await.text();
    let value = |needle: &str| -> Option<f64> {
        text.lines()
            .filter(|l| !l.starts_with('#') && l.contains(needle))
            .find_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    let idle = value(r#"redis_pool_connections{service="bff",state="idle"}"#);
    let in_use = value(r#"redis_pool_connections{service="bff",state="in_use"}"#);
    assert!(
        idle.unwrap_or(0.0) + in_use.unwrap_or(0.0) >= 1.0,
        "the Redis pool has opened a connection: {text}"
    );
    assert_eq!(value(r#"redis_pool_waiting{service="bff"}"#), Some(0.0));
}
