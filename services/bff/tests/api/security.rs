use std::time::Duration;

use folio_bff::settings::LoginLimits;
use folio_platform::db::Backend;
use folio_testkit::backend_tests;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::helpers::{Options, PASSWORD, TestSystem};

backend_tests!(
    sessions_csrf_roles_and_tenancy,
    sessions_end_when_they_must,
    sign_in_is_rate_limited_and_recovers
);

/// Every operation of the API, with a path that names real or plausible ids.
fn operations(doc: &str, task: &str, user: &str, comment: &str) -> Vec<(Method, String)> {
    vec![
        (Method::GET, "/api/v1/session".into()),
        (Method::DELETE, "/api/v1/session".into()),
        (Method::POST, "/api/v1/session/password".into()),
        (Method::GET, "/api/v1/users".into()),
        (Method::POST, "/api/v1/users".into()),
        (Method::PATCH, format!("/api/v1/users/{user}")),
        (Method::POST, format!("/api/v1/users/{user}/password")),
        (Method::GET, "/api/v1/documents".into()),
        (Method::POST, "/api/v1/documents".into()),
        (Method::GET, format!("/api/v1/documents/{doc}")),
        (Method::PATCH, format!("/api/v1/documents/{doc}")),
        (Method::DELETE, format!("/api/v1/documents/{doc}")),
        (Method::GET, format!("/api/v1/documents/{doc}/versions")),
        (Method::POST, format!("/api/v1/documents/{doc}/versions")),
        (Method::GET, format!("/api/v1/documents/{doc}/content")),
        (
            Method::GET,
            format!("/api/v1/documents/{doc}/versions/1/content"),
        ),
        (Method::GET, format!("/api/v1/documents/{doc}/tasks")),
        (Method::POST, format!("/api/v1/documents/{doc}/tasks")),
        (Method::GET, "/api/v1/tasks".into()),
        (Method::PATCH, format!("/api/v1/tasks/{task}")),
        (Method::DELETE, format!("/api/v1/tasks/{task}")),
        (Method::POST, "/api/v1/tasks".into()),
        (Method::POST, format!("/api/v1/tasks/{task}/carry-forward")),
        (Method::POST, format!("/api/v1/tasks/{task}/close")),
        (Method::POST, format!("/api/v1/tasks/{task}/decision")),
        (Method::POST, format!("/api/v1/tasks/{task}/fulfil")),
        (Method::POST, format!("/api/v1/tasks/{task}/accept")),
        (Method::POST, format!("/api/v1/tasks/{task}/reject")),
        (Method::GET, format!("/api/v1/tasks/{task}/comments")),
        (Method::POST, format!("/api/v1/tasks/{task}/comments")),
        (
            Method::PATCH,
            format!("/api/v1/tasks/{task}/comments/{comment}"),
        ),
        (Method::GET, format!("/api/v1/tasks/{task}/history")),
        (Method::PATCH, format!("/api/v1/documents/{doc}/versions/1")),
        (
            Method::POST,
            format!("/api/v1/documents/{doc}/versions/1/restore"),
        ),
        (Method::GET, "/api/v1/activity".into()),
        (Method::GET, "/api/v1/retention".into()),
        (Method::PUT, "/api/v1/retention".into()),
    ]
}

async fn sessions_csrf_roles_and_tenancy(backend: Backend) {
    let system = TestSystem::spawn(backend).await;
    let admin = system.signed_in("admin@acme.example").await;
    let doc = admin
        .add_document("Acme secret", "secret.txt", b"acme only")
        .await;
    let doc_id = doc["document"]["id"].as_str().unwrap().to_owned();
    let task = admin
        .json(
            Method::POST,
            &format!("/api/v1/documents/{doc_id}/tasks"),
            &json!({"title": "t"}),
        )
        .await
        .json();
    let task_id = task["id"].as_str().unwrap().to_owned();
    let user_id = system.acme_admin.id.clone();
    let comment = admin
        .json(
            Method::POST,
            &format!("/api/v1/tasks/{task_id}/comments"),
            &json!({"body": "c"}),
        )
        .await
        .json();
    let comment_id = comment["id"].as_str().unwrap().to_owned();

    // Without a session, everything is 401.
    let anonymous = system.browser();
    for (method, path) in operations(&doc_id, &task_id, &user_id, &comment_id) {
        let reply = anonymous
            .send(anonymous.request(method.clone(), &path), &method, &path)
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(reply.problem_type(), "unauthenticated");
    }

    // With a session but without, or with a wrong, CSRF token: every write is 403.
    let mut no_csrf = admin.clone();
    no_csrf.csrf = None;
    let mut wrong_csrf = admin.clone();
    wrong_csrf.csrf = Some("x".repeat(43));
    for browser in [&no_csrf, &wrong_csrf] {
        for (method, path) in operations(&doc_id, &task_id, &user_id, &comment_id) {
            if method == Method::GET {
                continue;
            }
            let reply = browser
                .send(browser.request(method.clone(), &path), &method, &path)
                .await;
            assert_eq!(
                (reply.status, reply.problem_type().as_str()),
                (StatusCode::FORBIDDEN, "csrf-failed"),
                "{method} {path}"
            );
        }
    }
    assert_eq!(
        admin
            .get(&format!("/api/v1/documents/{doc_id}"))
            .await
            .status,
        StatusCode::OK,
        "nothing was deleted"
    );

    // Another organisation's ids are simply not found, for reading and writing.
    let intruder = system.signed_in("admin@globex.example").await;
    for (method, path) in operations(&doc_id, &task_id, &user_id, &comment_id) {
        let is_own_scope = path.ends_with("/session")
            || path.ends_with("/password") && path.contains("session")
            || path == "/api/v1/users"
            || path == "/api/v1/documents"
            || path == "/api/v1/tasks"
            || path == "/api/v1/activity"
            || path == "/api/v1/retention";
        if is_own_scope {
            continue;
        }
        let body = match (method.as_str(), path.as_str()) {
            ("PATCH", p) if p.contains("/users/") => json!({"disabled": true}),
            ("PATCH", p) if p.contains("/comments/") => json!({"body": "taken"}),
            ("PATCH", p) if p.contains("/versions/") => json!({"label": "taken"}),
            ("POST", p) if p.ends_with("/decision") => json!({"decision": "approve"}),
            ("POST", p) if p.ends_with("/reject") => json!({"reason": "taken"}),
            ("POST", p) if p.ends_with("/comments") => json!({"body": "taken"}),
            ("PATCH", p) if p.contains("/tasks/") => json!({"status": "done"}),
            ("PATCH", _) => json!({"title": "Taken"}),
            ("POST", p) if p.ends_with("/password") => {
                json!({"new_password": "taken over by globex"})
            }
            ("POST", p) if p.ends_with("/tasks") => json!({"title": "x"}),
            _ => json!({}),
        };
        let reply = if (path.ends_with("/versions") || path.ends_with("/fulfil"))
            && method == Method::POST
        {
            intruder
                .multipart(&path, vec![("file", Some("x.txt"), b"x".to_vec())])
                .await
        } else if method == Method::GET || method == Method::DELETE {
            intruder
                .send(intruder.request(method.clone(), &path), &method, &path)
                .await
        } else {
            intruder.json(method.clone(), &path, &body).await
        };
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            reply.text()
        );
    }
    let theirs = intruder.get("/api/v1/documents").await.json();
    assert!(theirs["items"].as_array().unwrap().is_empty());
    let still = admin
        .get(&format!("/api/v1/documents/{doc_id}"))
        .await
        .json();
    assert_eq!(still["title"], "Acme secret");
    assert_eq!(
        admin
            .get(&format!("/api/v1/documents/{doc_id}/tasks"))
            .await
            .json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Editors are not admins.
    let (_, editor) = system.user(&admin, "ed@acme.example", "editor").await;
    assert_eq!(
        editor.get("/api/v1/users").await.status,
        StatusCode::FORBIDDEN
    );
    let promote = editor
        .json(
            Method::PATCH,
            &format!("/api/v1/users/{user_id}"),
            &json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(promote.status, StatusCode::FORBIDDEN);
    assert_eq!(
        editor.get("/api/v1/retention").await.status,
        StatusCode::FORBIDDEN,
        "retention is for admins"
    );
    let keep_all = json!({"keep_last": 1, "keep_days": null});
    let by_editor = editor
        .json(Method::PUT, "/api/v1/retention", &keep_all)
        .await;
    assert_eq!(by_editor.status, StatusCode::FORBIDDEN);
}

fn session_cookie(reply: &super::helpers::Reply) -> String {
    let set = reply.header("set-cookie").unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    set.split(';').next().unwrap().to_owned()
}

async fn sessions_end_when_they_must(backend: Backend) {
    let system = TestSystem::spawn(backend).await;
    let browser = system.browser();
    let credentials = json!({"email": "admin@acme.example", "password": PASSWORD});
    let sign_in = || browser.json(Method::POST, "/api/v1/session", &credentials);
    let first = session_cookie(&sign_in().await);
    let second = session_cookie(&sign_in().await);
    assert_ne!(
        first, second,
        "a fresh token at every sign-in (no fixation)"
    );

    // Replaying a cookie by hand: the first one died when the second sign-in replaced it.
    let replay = |cookie: String| {
        let b = system.browser();
        async move {
            let path = "/api/v1/session";
            b.send(
                b.http
                    .get(format!("{}{path}", b.base))
                    .header("cookie", cookie),
                &Method::GET,
                path,
            )
            .await
        }
    };
    assert_eq!(replay(first).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay(second.clone()).await.status, StatusCode::OK);

    // Signing out kills the token on the server, not just in the browser.
    let csrf = replay(second.clone()).await.json()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = system.browser();
    let out = b
        .send(
            b.http
                .delete(format!("{}/api/v1/session", b.base))
                .header("cookie", &second)
                .header("x-csrf-token", &csrf),
            &Method::DELETE,
            "/api/v1/session",
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(replay(second).await.status, StatusCode::UNAUTHORIZED);

    // A disabled user's sessions die at once, and they cannot sign in again.
    let admin = system.signed_in("admin@acme.example").await;
    let (user, editor) = system.user(&admin, "ed@acme.example", "editor").await;
    assert_eq!(editor.get("/api/v1/documents").await.status, StatusCode::OK);
    let disabled = admin
        .json(
            Method::PATCH,
            &format!("/api/v1/users/{}", user["id"].as_str().unwrap()),
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(disabled.json()["disabled"], true);
    assert_eq!(
        editor.get("/api/v1/documents").await.status,
        StatusCode::UNAUTHORIZED
    );
    let again = system.browser().sign_in("ed@acme.example", PASSWORD).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);

    // The last admin cannot lock the organisation out.
    let me = admin
        .json(
            Method::PATCH,
            &format!("/api/v1/users/{}", system.acme_admin.id),
            &json!({"role": "editor"}),
        )
        .await;
    assert_eq!(
        (me.status, me.problem_type().as_str()),
        (StatusCode::CONFLICT, "last-admin")
    );
}

async fn sign_in_is_rate_limited_and_recovers(backend: Backend) {
    let options = Options {
        login: LoginLimits {
            per_account: 3,
            per_address: 1000,
            window: Duration::from_secs(2),
            slow_down: Duration::from_millis(10),
        },
        ..Options::default()
    };
    let system = TestSystem::spawn_with(backend, options).await;
    let browser = system.browser();
    let wrong = json!({"email": "admin@acme.example", "password": "wrong password!!"});
    let right = json!({"email": "admin@acme.example", "password": PASSWORD});
    let attempt = |body: &'static str| {
        let body = if body == "wrong" {
            wrong.clone()
        } else {
            right.clone()
        };
        let browser = browser.clone();
        async move { browser.json(Method::POST, "/api/v1/session", &body).await }
    };
    for _ in 0..3 {
        assert_eq!(attempt("wrong").await.status, StatusCode::UNAUTHORIZED);
    }
    let limited = attempt("right").await;
    assert_eq!(
        (limited.status, limited.problem_type().as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate-limited")
    );
    assert!(
        limited
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // Another account is not affected.
    let other = system
        .browser()
        .sign_in("admin@globex.example", PASSWORD)
        .await;
    assert_eq!(other.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        attempt("right").await.status,
        StatusCode::OK,
        "the limit lifts after the window"
    );
}
