//! API tokens (issue 17 point 4) through the bff, with the real users and
//! documents services behind it: scope caps the role on every route group,
//! revocation, expiry and a disabled owner count at once, another
//! organisation's ids stay not found, and a bad `Authorization` header is
//! refused rather than ignored.

use std::time::Duration;

use folio_platform::db::Backend;
use folio_testkit::backend_tests;
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::helpers::{Browser, Options, Reply, TestSystem};

backend_tests!(
    a_token_acts_as_its_owner_capped_by_its_scope,
    tokens_are_shown_once_listed_revoked_and_die_with_their_owner,
    authorization_headers_that_are_not_one_token_are_refused,
    each_token_is_rate_limited
);

fn in_secs(secs: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::seconds(secs))
        .format(&Rfc3339)
        .unwrap()
}

/// A client with only this token: no cookie jar, no CSRF token.
fn script(system: &TestSystem, token: &str) -> Browser {
    let mut headers = header::HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    Browser {
        base: system.base.clone(),
        http: reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap(),
        csrf: None,
    }
}

/// Creates a token from `browser`'s session; answers (its id, the secret).
async fn new_token(browser: &Browser, name: &str, scope: &str) -> (String, String) {
    let created = browser
        .json(
            Method::POST,
            "/api/v1/session/tokens",
            &json!({"name": name, "expires_at": in_secs(3600), "scope": scope}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let body = created.json();
    (
        body["id"].as_str().unwrap().to_owned(),
        body["token"].as_str().unwrap().to_owned(),
    )
}

/// Every state-changing operation of every route group, with a body that
/// would pass its checks.
fn writes(doc: &str, task: &str, user: &str, token: &str) -> Vec<(Method, String, Value)> {
    vec![
        (Method::DELETE, "/api/v1/session".into(), json!(null)),
        (
            Method::POST,
            "/api/v1/session/password".into(),
            json!({"current_password": super::helpers::PASSWORD, "new_password": "another long password"}),
        ),
        (
            Method::POST,
            "/api/v1/session/tokens".into(),
            json!({"name": "n", "expires_at": in_secs(600), "scope": "write"}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/session/tokens/{token}"),
            json!(null),
        ),
        (
            Method::DELETE,
            format!("/api/v1/tokens/{token}"),
            json!(null),
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            json!({"email": "new@acme.example", "display_name": "New", "role": "viewer", "password": super::helpers::PASSWORD}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/users/{user}"),
            json!({"display_name": "Renamed"}),
        ),
        (
            Method::POST,
            format!("/api/v1/users/{user}/password"),
            json!({"new_password": "another long password"}),
        ),
        (Method::POST, "/api/v1/documents".into(), json!(null)),
        (
            Method::PATCH,
            format!("/api/v1/documents/{doc}"),
            json!({"title": "Renamed"}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/documents/{doc}"),
            json!(null),
        ),
        (
            Method::POST,
            format!("/api/v1/documents/{doc}/versions"),
            json!(null),
        ),
        (
            Method::POST,
            format!("/api/v1/documents/{doc}/tasks"),
            json!({"title": "t2"}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/tasks/{task}"),
            json!({"status": "done"}),
        ),
        (Method::DELETE, format!("/api/v1/tasks/{task}"), json!(null)),
        (
            Method::PUT,
            "/api/v1/onedrive/connection".into(),
            super::helpers::OneDrive::connect_form(),
        ),
        (
            Method::DELETE,
            "/api/v1/onedrive/connection".into(),
            json!(null),
        ),
        (
            Method::POST,
            "/api/v1/onedrive/connection/sync".into(),
            json!(null),
        ),
        (
            Method::POST,
            format!("/api/v1/documents/{doc}/versions/1/send-to-onedrive"),
            json!(null),
        ),
    ]
}

async fn send(client: &Browser, method: &Method, path: &str, body: &Value) -> Reply {
    if path.ends_with("/versions") {
        client
            .multipart(
                path,
                vec![("file", Some("s.txt"), b"v2 from a script".to_vec())],
            )
            .await
    } else if path.ends_with("/documents") {
        client
            .multipart(
                path,
                vec![
                    ("title", None, b"By script".to_vec()),
                    ("file", Some("s.txt"), b"from a script".to_vec()),
                ],
            )
            .await
    } else if body.is_null() {
        client
            .send(client.request(method.clone(), path), method, path)
            .await
    } else {
        client.json(method.clone(), path, body).await
    }
}

async fn a_token_acts_as_its_owner_capped_by_its_scope(backend: Backend) {
    let system = TestSystem::spawn_with(
        backend,
        Options {
            onedrive: true,
            ..Options::default()
        },
    )
    .await;
    let admin = system.signed_in("admin@acme.example").await;
    let doc = admin.add_document("Acme plan", "plan.txt", b"v1").await;
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
    let (read_id, read_secret) = new_token(&admin, "reader", "read").await;
    let (write_id, write_secret) = new_token(&admin, "writer", "write").await;
    let reader = script(&system, &read_secret);
    let writer = script(&system, &write_secret);

    // A read token, even an admin's, is refused on every write of every
    // route group, and nothing changes.
    for (method, path, body) in writes(&doc_id, &task_id, &user_id, &write_id) {
        let reply = send(&reader, &method, &path, &body).await;
        assert_eq!(
            (reply.status, reply.problem_type().as_str()),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{method} {path}: {}",
            reply.text()
        );
    }
    let unchanged = admin.get(&format!("/api/v1/documents/{doc_id}")).await;
    assert_eq!(unchanged.json()["title"], "Acme plan");
    assert_eq!(writer.get("/api/v1/session").await.status, StatusCode::OK);

    // It reads like a viewer: documents yes, the admins' user list no.
    for path in [
        "/api/v1/documents".to_owned(),
        format!("/api/v1/documents/{doc_id}"),
        format!("/api/v1/documents/{doc_id}/versions"),
        format!("/api/v1/documents/{doc_id}/content"),
        format!("/api/v1/documents/{doc_id}/tasks"),
        "/api/v1/tasks?assignee=me".to_owned(),
        "/api/v1/activity".to_owned(),
        "/api/v1/session/tokens".to_owned(),
    ] {
        let reply = reader.get(&path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
    }
    let session = reader.get("/api/v1/session").await;
    assert_eq!(session.status, StatusCode::OK);
    assert_eq!(session.json()["user"]["id"], user_id.as_str());
    assert_eq!(session.json()["csrf_token"], "");
    assert_eq!(
        reader.get("/api/v1/users").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        reader.get("/api/v1/tokens").await.status,
        StatusCode::FORBIDDEN
    );
    let onedrive = reader.get("/api/v1/onedrive/connection").await;
    assert_eq!(onedrive.status, StatusCode::NOT_FOUND, "not connected yet");

    // A write token needs no cookie and no CSRF token, with the owner's role.
    let added = writer
        .multipart(
            "/api/v1/documents",
            vec![
                ("title", None, b"By script".to_vec()),
                ("file", Some("s.txt"), b"from a script".to_vec()),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    let added_id = added.json()["document"]["id"].as_str().unwrap().to_owned();
    let renamed = writer
        .json(
            Method::PATCH,
            &format!("/api/v1/documents/{doc_id}"),
            &json!({"title": "Renamed by script"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text());
    let version = send(
        &writer,
        &Method::POST,
        &format!("/api/v1/documents/{doc_id}/versions"),
        &json!(null),
    )
    .await;
    assert_eq!(version.status, StatusCode::CREATED, "{}", version.text());
    let done = writer
        .json(
            Method::PATCH,
            &format!("/api/v1/tasks/{task_id}"),
            &json!({"status": "done"}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let provisioned = writer
        .json(
            Method::POST,
            "/api/v1/users",
            &json!({"email": "ed@acme.example", "display_name": "Ed", "role": "editor", "password": super::helpers::PASSWORD}),
        )
        .await;
    assert_eq!(
        provisioned.status,
        StatusCode::CREATED,
        "{}",
        provisioned.text()
    );
    let onedrive = writer
        .json(
            Method::PUT,
            "/api/v1/onedrive/connection",
            &super::helpers::OneDrive::connect_form(),
        )
        .await;
    assert_eq!(onedrive.status, StatusCode::CREATED, "{}", onedrive.text());
    let synced = send(
        &writer,
        &Method::POST,
        "/api/v1/onedrive/connection/sync",
        &json!(null),
    )
    .await;
    assert_eq!(synced.status, StatusCode::ACCEPTED, "{}", synced.text());
    assert_eq!(
        reader.get("/api/v1/onedrive/connection").await.status,
        StatusCode::OK
    );
    let gone = writer.delete(&format!("/api/v1/tasks/{task_id}")).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    // What the script did is what the portal sees.
    let seen = admin.get(&format!("/api/v1/documents/{added_id}")).await;
    assert_eq!(seen.json()["title"], "By script");
    assert_eq!(
        admin
            .get(&format!("/api/v1/documents/{doc_id}"))
            .await
            .json()["title"],
        "Renamed by script"
    );

    // A token neither signs out nor mints tokens.
    for (method, path, body) in writes(&doc_id, &task_id, &user_id, &write_id)
        .into_iter()
        .filter(|(m, p, _)| {
            (m == Method::DELETE && p == "/api/v1/session") || p == "/api/v1/session/tokens"
        })
    {
        let reply = send(&writer, &method, &path, &body).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {path}");
    }

    // An editor's write token writes documents but is no admin.
    let editor = system.signed_in("ed@acme.example").await;
    let (_, editor_secret) = new_token(&editor, "ed's script", "write").await;
    let editor_script = script(&system, &editor_secret);
    assert_eq!(
        editor_script.get("/api/v1/users").await.status,
        StatusCode::FORBIDDEN
    );
    let patched = editor_script
        .json(
            Method::PATCH,
            &format!("/api/v1/users/{user_id}"),
            &json!({"display_name": "Ed was here"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::FORBIDDEN);

    // Another organisation's token finds none of Acme's ids, and cannot
    // revoke Acme's tokens.
    let globex = system.signed_in("admin@globex.example").await;
    let (_, globex_secret) = new_token(&globex, "globex script", "write").await;
    let intruder = script(&system, &globex_secret);
    let new_task = admin
        .json(
            Method::POST,
            &format!("/api/v1/documents/{doc_id}/tasks"),
            &json!({"title": "t3"}),
        )
        .await
        .json();
    let new_task_id = new_task["id"].as_str().unwrap().to_owned();
    for (method, path, body) in writes(&doc_id, &new_task_id, &user_id, &read_id) {
        // Sending to OneDrive asks Globex's (absent) connection first; its
        // tenancy is tested with the OneDrive suite.
        let own_scope = path.ends_with("/send-to-onedrive")
            || !path.contains(&doc_id)
                && !path.contains(&new_task_id)
                && !path.contains(&user_id)
                && !path.contains(&read_id);
        if own_scope {
            continue;
        }
        let reply = send(&intruder, &method, &path, &body).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            reply.text()
        );
    }
    for path in [
        format!("/api/v1/documents/{doc_id}"),
        format!("/api/v1/documents/{doc_id}/content"),
        format!("/api/v1/documents/{doc_id}/tasks"),
    ] {
        assert_eq!(
            intruder.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let theirs = intruder.get("/api/v1/documents").await.json();
    assert!(theirs["items"].as_array().unwrap().is_empty());
    assert_eq!(reader.get("/api/v1/documents").await.status, StatusCode::OK);
    assert_eq!(
        admin
            .get(&format!("/api/v1/documents/{doc_id}"))
            .await
            .status,
        StatusCode::OK
    );
}

async fn tokens_are_shown_once_listed_revoked_and_die_with_their_owner(backend: Backend) {
    let system = TestSystem::spawn(backend).await;
    let admin = system.signed_in("admin@acme.example").await;
    let (editor_user, editor) = system.user(&admin, "ed@acme.example", "editor").await;
    let editor_id = editor_user["id"].as_str().unwrap().to_owned();

    // Bad requests change nothing.
    let bad = [
        json!({"name": "x", "expires_at": in_secs(-60), "scope": "read"}),
        json!({"name": "x", "expires_at": in_secs(367 * 24 * 3600), "scope": "read"}),
        json!({"name": "x", "expires_at": "tomorrow", "scope": "read"}),
        json!({"name": "x", "expires_at": in_secs(60), "scope": "admin"}),
        json!({"name": "", "expires_at": in_secs(60), "scope": "read"}),
        json!({"name": "x".repeat(101), "expires_at": in_secs(60), "scope": "read"}),
        json!({"name": "x", "expires_at": in_secs(60), "scope": "read", "role": "admin"}),
        json!({"name": "x", "scope": "read"}),
    ];
    for body in &bad {
        let reply = editor
            .json(Method::POST, "/api/v1/session/tokens", body)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text()
        );
    }
    let mut no_csrf = editor.clone();
    no_csrf.csrf = None;
    let forged = no_csrf
        .json(
            Method::POST,
            "/api/v1/session/tokens",
            &json!({"name": "x", "expires_at": in_secs(60), "scope": "write"}),
        )
        .await;
    assert_eq!(forged.problem_type(), "csrf-failed");
    let listed = editor.get("/api/v1/session/tokens").await.json();
    assert_eq!(listed["items"], json!([]));

    // Shown once: the list has its name and last use, never the secret.
    let (token_id, secret) = new_token(&editor, "nightly backup", "read").await;
    assert!(secret.starts_with("folio_pat_"), "{secret}");
    let before = editor.get("/api/v1/session/tokens").await.json();
    assert_eq!(before["items"][0]["last_used_at"], Value::Null);
    let backup = script(&system, &secret);
    assert_eq!(backup.get("/api/v1/documents").await.status, StatusCode::OK);
    let mine = editor.get("/api/v1/session/tokens").await;
    assert!(!mine.text().contains(&secret));
    let mine = mine.json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], token_id.as_str());
    assert_eq!(mine["items"][0]["name"], "nightly backup");
    assert_eq!(mine["items"][0]["scope"], "read");
    assert!(mine["items"][0]["last_used_at"].is_string(), "{mine}");
    assert!(mine["items"][0].get("token").is_none());

    // Admins see the organisation's tokens; others do not.
    let (admin_token_id, admin_secret) = new_token(&admin, "admin's", "write").await;
    let all = admin.get("/api/v1/tokens").await;
    assert!(!all.text().contains(&secret) && !all.text().contains(&admin_secret));
    let all = all.json();
    let owners: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["user_email"].as_str().unwrap())
        .collect();
    assert_eq!(owners.len(), 2, "{all}");
    assert!(owners.contains(&"ed@acme.example") && owners.contains(&"admin@acme.example"));
    assert_eq!(
        editor.get("/api/v1/tokens").await.status,
        StatusCode::FORBIDDEN
    );
    let globex = system.signed_in("admin@globex.example").await;
    assert_eq!(
        globex.get("/api/v1/tokens").await.json()["items"],
        json!([])
    );
    assert_eq!(
        globex
            .delete(&format!("/api/v1/tokens/{token_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        globex
            .delete(&format!("/api/v1/session/tokens/{token_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Someone else's token is not one's own, not even for an admin.
    assert_eq!(
        editor
            .delete(&format!("/api/v1/session/tokens/{admin_token_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin
            .delete(&format!("/api/v1/session/tokens/{token_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        editor
            .delete("/api/v1/session/tokens/not-a-uuid")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(backup.get("/api/v1/documents").await.status, StatusCode::OK);

    // Revoked by its owner: refused at the very next request.
    let revoked = editor
        .delete(&format!("/api/v1/session/tokens/{token_id}"))
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let refused = backup.get("/api/v1/documents").await;
    assert_eq!(
        (refused.status, refused.problem_type().as_str()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    assert_eq!(
        editor
            .delete(&format!("/api/v1/session/tokens/{token_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        editor.get("/api/v1/session/tokens").await.json()["items"],
        json!([])
    );

    // Revoked by an admin, with the owner's own write token too.
    let (second_id, second) = new_token(&editor, "second", "write").await;
    let second_script = script(&system, &second);
    assert_eq!(
        second_script.get("/api/v1/tasks?assignee=me").await.status,
        StatusCode::OK
    );
    assert_eq!(
        admin
            .delete(&format!("/api/v1/tokens/{second_id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        second_script.get("/api/v1/tasks?assignee=me").await.status,
        StatusCode::UNAUTHORIZED
    );
    let (third_id, third) = new_token(&editor, "third", "write").await;
    let third_script = script(&system, &third);
    assert_eq!(
        third_script
            .delete(&format!("/api/v1/session/tokens/{third_id}"))
            .await
            .status,
        StatusCode::NO_CONTENT,
        "a script may revoke its own token"
    );
    assert_eq!(
        third_script.get("/api/v1/tasks?assignee=me").await.status,
        StatusCode::UNAUTHORIZED
    );

    // A disabled owner's tokens are refused at once.
    let (_, fourth) = new_token(&editor, "fourth", "write").await;
    let fourth_script = script(&system, &fourth);
    assert_eq!(
        fourth_script.get("/api/v1/tasks?assignee=me").await.status,
        StatusCode::OK
    );
    let disabled = admin
        .json(
            Method::PATCH,
            &format!("/api/v1/users/{editor_id}"),
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK);
    assert_eq!(
        fourth_script.get("/api/v1/tasks?assignee=me").await.status,
        StatusCode::UNAUTHORIZED
    );

    // An expired token is refused at once.
    let expiring = admin
        .json(
            Method::POST,
            "/api/v1/session/tokens",
            &json!({"name": "brief", "expires_at": in_secs(2), "scope": "read"}),
        )
        .await;
    assert_eq!(expiring.status, StatusCode::CREATED, "{}", expiring.text());
    let brief = script(&system, expiring.json()["token"].as_str().unwrap());
    assert_eq!(brief.get("/api/v1/documents").await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        brief.get("/api/v1/documents").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        script(&system, &admin_secret)
            .get("/api/v1/documents")
            .await
            .status,
        StatusCode::OK
    );
}

async fn authorization_headers_that_are_not_one_token_are_refused(backend: Backend) {
    let system = TestSystem::spawn(backend).await;
    let admin = system.signed_in("admin@acme.example").await;
    let (_, secret) = new_token(&admin, "good", "write").await;
    let made_up = format!("folio_pat_{}", "A".repeat(43));
    let huge = format!("Bearer {}", "a".repeat(8 * 1024));
    let bad: Vec<Vec<(&str, String)>> = vec![
        vec![("authorization", "Bearer".into())],
        vec![("authorization", "Bearer ".into())],
        vec![("authorization", "Basic YWRtaW46cGFzc3dvcmQ=".into())],
        vec![("authorization", format!("Bearer {secret} extra"))],
        vec![("authorization", format!("Token {secret}"))],
        vec![("authorization", format!("Bearer {made_up}"))],
        vec![(
            "authorization",
            format!("Bearer {}", &secret[..secret.len() - 1]),
        )],
        vec![("authorization", huge.clone())],
        vec![
            ("authorization", format!("Bearer {secret}")),
            ("authorization", format!("Bearer {secret}")),
        ],
    ];
    let path = "/api/v1/documents";
    for headers in &bad {
        // With a valid session cookie as well: a bad token never falls back to it.
        for client in [&system.browser(), &admin] {
            let mut request = client.request(Method::GET, path);
            for (name, value) in headers {
                request = request.header(*name, value.as_str());
            }
            let reply = client.send(request, &Method::GET, path).await;
            assert_eq!(
                (reply.status, reply.problem_type().as_str()),
                (StatusCode::UNAUTHORIZED, "unauthenticated"),
                "{:?}",
                headers
                    .iter()
                    .map(|(_, v)| &v[..v.len().min(40)])
                    .collect::<Vec<_>>()
            );
        }
    }
    // Non-UTF-8 bytes in the header.
    let raw = reqwest::Client::new()
        .get(format!("{}{path}", system.base))
        .header(
            "authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::UNAUTHORIZED);
    // Far past any header limit: refused by the server, which keeps serving.
    let giant = reqwest::Client::new()
        .get(format!("{}{path}", system.base))
        .header("authorization", format!("Bearer {}", "a".repeat(1 << 20)))
        .send()
        .await;
    if let Ok(giant) = giant {
        assert!(giant.status().is_client_error(), "{}", giant.status());
    }
    assert_eq!(
        script(&system, &secret).get(path).await.status,
        StatusCode::OK
    );
}

async fn each_token_is_rate_limited(backend: Backend) {
    let system = TestSystem::spawn_with(
        backend,
        Options {
            api_tokens_per_minute: 3,
            ..Options::default()
        },
    )
    .await;
    let admin = system.signed_in("admin@acme.example").await;
    let (_, busy) = new_token(&admin, "busy", "read").await;
    let (_, quiet) = new_token(&admin, "quiet", "read").await;
    let busy = script(&system, &busy);
    for _ in 0..3 {
        assert_eq!(busy.get("/api/v1/documents").await.status, StatusCode::OK);
    }
    let limited = busy.get("/api/v1/documents").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.problem_type(), "rate-limited");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Another token and the owner's session are not held back.
    assert_eq!(
        script(&system, &quiet)
            .get("/api/v1/documents")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(admin.get("/api/v1/documents").await.status, StatusCode::OK);
}
