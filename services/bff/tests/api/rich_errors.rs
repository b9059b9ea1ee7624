//! Every reason a domain service gives (the rich error model, issue 16)
//! reaches the portal as its problem document, with its members (`errors[]`,
//! `limit`, `size`) taken from the reason's details, never from text. The
//! OneDrive reasons are driven in `onedrive.rs`; their mapping is unit-tested
//! beside `ApiError`.

use folio_platform::db::Backend;
use folio_testkit::backend_tests;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::helpers::{Options, PASSWORD, Reply, TestSystem};

backend_tests!(reasons_become_problems, a_limit_the_service_names);

fn expect(reply: &Reply, status: StatusCode, problem: &str) {
    assert_eq!(
        (reply.status, reply.problem_type().as_str()),
        (status, problem),
        "{}",
        reply.text()
    );
}

async fn reasons_become_problems(backend: Backend) {
    let system = TestSystem::spawn(backend).await;
    let admin = system.signed_in("admin@acme.example").await;

    // users: EMAIL_TAKEN, LAST_ADMIN, WRONG_CREDENTIALS.
    let taken = admin
        .json(
            Method::POST,
            "/api/v1/users",
            &json!({"email": "admin@acme.example", "display_name": "Twin", "role": "editor", "password": PASSWORD}),
        )
        .await;
    expect(&taken, StatusCode::CONFLICT, "email-taken");
    let last = admin
        .json(
            Method::PATCH,
            &format!("/api/v1/users/{}", system.acme_admin.id),
            &json!({"role": "editor"}),
        )
        .await;
    expect(&last, StatusCode::CONFLICT, "last-admin");
    let wrong = system
        .browser()
        .sign_in("admin@acme.example", "not the password")
        .await;
    expect(&wrong, StatusCode::UNAUTHORIZED, "invalid-credentials");
    let current = admin
        .json(
            Method::POST,
            "/api/v1/session/password",
            &json!({"current_password": "not the password", "new_password": "another good passphrase"}),
        )
        .await;
    expect(
        &current,
        StatusCode::FORBIDDEN,
        "current-password-incorrect",
    );

    // documents: a field violation under the contract's own field name.
    let (viewer, _) = system.user(&admin, "vi@acme.example", "viewer").await;
    let stranger = "0190f5a0-0000-7000-8000-000000000000";
    let request = admin
        .json(
            Method::POST,
            "/api/v1/tasks",
            &json!({"kind": "request", "title": "Lease", "assignee": stranger, "due": "2030-01-31"}),
        )
        .await;
    expect(&request, StatusCode::BAD_REQUEST, "validation-failed");
    assert_eq!(
        request.json()["errors"],
        json!([{"field": "assignee", "message": "is not an active user of this organisation"}])
    );

    // documents: INVALID_STATE, its explanation for people passed on.
    let doc = admin.add_document("Lease", "lease.txt", b"lease v1").await;
    let id = doc["document"]["id"].as_str().unwrap().to_owned();
    let todo = admin
        .json(
            Method::POST,
            &format!("/api/v1/documents/{id}/tasks"),
            &json!({"title": "Review", "assignee_id": viewer["id"]}),
        )
        .await;
    assert_eq!(todo.status, StatusCode::CREATED, "{}", todo.text());
    let todo_id = todo.json()["id"].as_str().unwrap().to_owned();
    let not_stale = admin
        .json(
            Method::POST,
            &format!("/api/v1/tasks/{todo_id}/carry-forward"),
            &json!({}),
        )
        .await;
    expect(&not_stale, StatusCode::CONFLICT, "not-now");
    assert_eq!(
        not_stale.json()["detail"],
        "only stale tasks can be carried forward"
    );

    // The content's size, as a member of the range refusal.
    let outside = admin
        .get_with(
            &format!("/api/v1/documents/{id}/content"),
            &[("Range", "bytes=100-200")],
        )
        .await;
    expect(
        &outside,
        StatusCode::RANGE_NOT_SATISFIABLE,
        "range-not-satisfiable",
    );
    assert_eq!(outside.json()["size"], 8);

    // NOT_FOUND: another organisation's document.
    let intruder = system.signed_in("admin@globex.example").await;
    expect(
        &intruder.get(&format!("/api/v1/documents/{id}")).await,
        StatusCode::NOT_FOUND,
        "not-found",
    );
}

/// documents' TOO_LARGE, whose `limit` travels as metadata, not in the text.
async fn a_limit_the_service_names(backend: Backend) {
    let system = TestSystem::spawn_with(
        backend,
        Options {
            max_upload_bytes: 1 << 20,
            documents_max_upload_bytes: Some(64 << 10),
            ..Options::default()
        },
    )
    .await;
    let admin = system.signed_in("admin@acme.example").await;
    let refused = admin
        .multipart(
            "/api/v1/documents",
            vec![
                ("title", None, b"Big".to_vec()),
                ("file", Some("big.bin"), vec![7_u8; 200 << 10]),
            ],
        )
        .await;
    expect(&refused, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
    assert_eq!(refused.json()["limit"], 64 << 10);
    let listed = admin.get("/api/v1/documents").await;
    assert_eq!(listed.json()["items"], json!([]), "nothing was stored");
}
