//! Email choices and the mail problems list through the REST API, with the
//! attacker's view: sessions, CSRF, roles, other people, bad input.

use folio_platform::db::Backend;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Options, TestSystem};

async fn system(backend: Backend) -> TestSystem {
    TestSystem::spawn_with(
        backend,
        Options {
            notifications: true,
            ..Options::default()
        },
    )
    .await
}

const CHOICES: &str = "/api/v1/session/notifications";

async fn choices_are_ones_own_and_checked(backend: Backend) {
    let system = system(backend).await;
    let admin = system.signed_in("admin@acme.example").await;
    let (_, editor) = system.user(&admin, "editor@acme.example", "editor").await;
    let defaults = editor.get(CHOICES).await;
    assert_eq!(defaults.status, StatusCode::OK);
    assert_eq!(
        defaults.json(),
        json!({
            "assignment": "immediate",
            "reminder": "daily",
            "stale": "immediate",
            "approval": "immediate",
            "request": "immediate",
            "onedrive": "immediate",
            "webhook": "immediate",
        })
    );

    let set = editor
        .json(Method::PUT, CHOICES, &json!({"assignment": "off"}))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text());
    assert_eq!(set.json()["assignment"], "off");
    assert_eq!(set.json()["reminder"], "daily", "the other kinds kept");
    assert_eq!(editor.get(CHOICES).await.json()["assignment"], "off");
    // Someone else's choices are theirs.
    assert_eq!(admin.get(CHOICES).await.json()["assignment"], "immediate");

    for body in [
        json!({"assignment": "hourly"}),
        json!({"gossip": "off"}),
        json!({"reminder": "immediate"}),
        json!({"assignment": 5}),
        json!({"assignment": null}),
        json!(["assignment"]),
        json!({"k".repeat(100): "off"}),
    ] {
        let reply = editor.json(Method::PUT, CHOICES, &body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text()
        );
        assert_eq!(reply.problem_type(), "validation-failed");
    }
    let huge = json!({"assignment": "x".repeat(100 * 1024)});
    assert_eq!(
        editor.json(Method::PUT, CHOICES, &huge).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let reply = editor
        .raw(Method::PUT, CHOICES, "text/plain", b"off".to_vec())
        .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut no_csrf = editor.clone();
    no_csrf.csrf = None;
    let reply = no_csrf
        .json(Method::PUT, CHOICES, &json!({"assignment": "daily"}))
        .await;
    assert_eq!(
        (reply.status, reply.problem_type().as_str()),
        (StatusCode::FORBIDDEN, "csrf-failed")
    );
    let anonymous = system.browser();
    assert_eq!(
        anonymous.get(CHOICES).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        anonymous
            .json(Method::PUT, CHOICES, &json!({"assignment": "daily"}))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        editor.get(CHOICES).await.json()["assignment"],
        "off",
        "nothing changed"
    );
}

async fn mail_problems_are_for_admins_of_the_organisation(backend: Backend) {
    let system = system(backend).await;
    let admin = system.signed_in("admin@acme.example").await;
    let (_, editor) = system.user(&admin, "editor@acme.example", "editor").await;
    let reply = admin.get("/api/v1/mail-problems").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"items": []}));
    assert_eq!(
        editor.get("/api/v1/mail-problems").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        system.browser().get("/api/v1/mail-problems").await.status,
        StatusCode::UNAUTHORIZED
    );
    let other = system.signed_in("admin@globex.example").await;
    assert_eq!(
        other.get("/api/v1/mail-problems").await.json(),
        json!({"items": []})
    );
}

folio_testkit::backend_tests!(
    choices_are_ones_own_and_checked,
    mail_problems_are_for_admins_of_the_organisation,
);
