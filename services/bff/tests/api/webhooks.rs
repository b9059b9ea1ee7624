//! Webhook endpoints through the REST API: the admin's whole round (secret
//! once, a verified delivery in the log, redeliver, disable, delete), and
//! the attacker's view: roles, other organisations, CSRF, bad input.

use std::time::Duration;

use folio_platform::db::Backend;
use folio_testkit::receivers::WebhookReceiver;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

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

async fn until<F, Fut>(what: &str, mut check: F) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<Value>>,
{
    for _ in 0..400 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn an_admin_registers_an_endpoint_and_sees_deliveries(backend: Backend) {
    let system = system(backend).await;
    let admin = system.signed_in("admin@acme.example").await;
    let receiver = WebhookReceiver::start();
    let created = admin
        .json(
            Method::POST,
            "/api/v1/webhooks",
            &json!({"url": receiver.url("/folio"), "events": ["document.created", "task.created"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let created = created.json();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    receiver.set_secret(&secret).await;
    let id = created["id"].as_str().unwrap().to_owned();

    // Shown once: neither the list nor the endpoint carries it again.
    let listed = admin.get("/api/v1/webhooks").await;
    assert_eq!(listed.status, StatusCode::OK);
    assert!(!listed.text().contains(&secret));
    assert_eq!(listed.json()["items"].as_array().unwrap().len(), 1);
    let one = admin.get(&format!("/api/v1/webhooks/{id}")).await;
    assert!(!one.text().contains(&secret));
    assert_eq!(
        one.json()["events"],
        json!(["document.created", "task.created"])
    );

    let document = admin.add_document("Offer", "offer.txt", b"offer").await;
    let log = until("a delivered entry", || async {
        let log = admin
            .get(&format!("/api/v1/webhooks/{id}/deliveries"))
            .await
            .json();
        (log["items"][0]["state"] == "delivered").then_some(log)
    })
    .await;
    let entry = &log["items"][0];
    assert_eq!(entry["event_type"], "document.created");
    assert_eq!(entry["last_status"], 204);
    assert_eq!(entry["attempts"], 1);
    let got = receiver.received().await;
    assert_eq!(got.len(), 1);
    assert!(got[0].verified, "{:?}", got[0].error);
    assert_eq!(got[0].id, entry["id"].as_str().unwrap());
    assert_eq!(
        got[0].body["data"]["document_id"],
        document["document"]["id"]
    );

    // Redeliver: the same webhook-id again.
    let delivery = entry["id"].as_str().unwrap();
    let again = admin
        .json(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver"),
            &json!({}),
        )
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.text());
    until("the redelivery", || async {
        let got = receiver.received().await;
        (got.len() == 2).then(|| Value::String(got[1].id.clone()))
    })
    .await;
    assert_eq!(receiver.received().await[1].id, delivery);

    // Disabled: nothing more arrives; enabled again; deleted.
    let disabled = admin
        .json(
            Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            &json!({"enabled": false}),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK);
    assert_eq!(disabled.json()["disabled_reason"], "admin");
    admin.add_document("Quiet", "quiet.txt", b"quiet").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.received().await.len(), 2);
    let enabled = admin
        .json(
            Method::PATCH,
            &format!("/api/v1/webhooks/{id}"),
            &json!({"enabled": true, "events": ["task.created"]}),
        )
        .await;
    assert_eq!(enabled.json()["disabled_reason"], Value::Null);
    assert_eq!(enabled.json()["events"], json!(["task.created"]));
    assert_eq!(
        admin.delete(&format!("/api/v1/webhooks/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin.get(&format!("/api/v1/webhooks/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn only_admins_of_the_organisation_reach_webhooks(backend: Backend) {
    let system = system(backend).await;
    let admin = system.signed_in("admin@acme.example").await;
    let created = admin
        .json(
            Method::POST,
            "/api/v1/webhooks",
            &json!({"url": "http://127.0.0.1:9/", "events": ["task.created"]}),
        )
        .await
        .json();
    let id = created["id"].as_str().unwrap().to_owned();
    let operations = |id: &str| {
        vec![
            (Method::GET, "/api/v1/webhooks".to_owned(), None),
            (
                Method::POST,
                "/api/v1/webhooks".to_owned(),
                Some(json!({"url": "http://127.0.0.1:9/", "events": ["task.created"]})),
            ),
            (Method::GET, format!("/api/v1/webhooks/{id}"), None),
            (
                Method::PATCH,
                format!("/api/v1/webhooks/{id}"),
                Some(json!({"enabled": false})),
            ),
            (Method::DELETE, format!("/api/v1/webhooks/{id}"), None),
            (
                Method::GET,
                format!("/api/v1/webhooks/{id}/deliveries"),
                None,
            ),
            (
                Method::POST,
                format!("/api/v1/webhooks/{id}/deliveries/msg_0/redeliver"),
                Some(json!({})),
            ),
        ]
    };
    let send = async |browser: &crate::helpers::Browser,
                      method: Method,
                      path: &str,
                      body: Option<Value>| {
        match body {
            Some(body) => browser.json(method, path, &body).await,
            None => {
                browser
                    .send(browser.request(method.clone(), path), &method, path)
                    .await
            }
        }
    };
    // Editors and viewers: 403 on every one.
    for role in ["editor", "viewer"] {
        let (_, browser) = system
            .user(&admin, &format!("{role}@acme.example"), role)
            .await;
        for (method, path, body) in operations(&id) {
            let reply = send(&browser, method.clone(), &path, body).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{role} {method} {path}"
            );
        }
    }
    // Another organisation's admin: the endpoint does not exist for them.
    let intruder = system.signed_in("admin@globex.example").await;
    for (method, path, body) in operations(&id).into_iter().skip(2) {
        let reply = send(&intruder, method.clone(), &path, body).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    assert_eq!(
        intruder.get("/api/v1/webhooks").await.json()["items"],
        json!([])
    );
    // Without a session: 401; without or with a wrong CSRF token: 403 on writes.
    let anonymous = system.browser();
    for (method, path, body) in operations(&id) {
        assert_eq!(
            send(&anonymous, method, &path, body).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let mut no_csrf = admin.clone();
    no_csrf.csrf = None;
    let mut wrong_csrf = admin.clone();
    wrong_csrf.csrf = Some("x".repeat(43));
    for browser in [&no_csrf, &wrong_csrf] {
        for (method, path, body) in operations(&id) {
            if method == Method::GET {
                continue;
            }
            let reply = send(browser, method.clone(), &path, body).await;
            assert_eq!(
                (reply.status, reply.problem_type().as_str()),
                (StatusCode::FORBIDDEN, "csrf-failed"),
                "{method} {path}"
            );
        }
    }
    // Untouched by all of it.
    let still = admin.get(&format!("/api/v1/webhooks/{id}")).await.json();
    assert_eq!(still["enabled"], true);
    assert_eq!(
        admin.get("/api/v1/webhooks").await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn bad_webhook_input_is_a_clear_400_and_changes_nothing(backend: Backend) {
    let system = system(backend).await;
    let admin = system.signed_in("admin@acme.example").await;
    let long = format!("https://example.com/{}", "a".repeat(3000));
    for body in [
        json!({"url": long, "events": ["task.created"]}),
        json!({"url": "http://127.0.0.1:9/", "events": []}),
        json!({"url": "http://127.0.0.1:9/", "events": ["task.exploded"]}),
        json!({"url": "http://127.0.0.1:9/", "events": ["task.created"], "secret": "mine"}),
        json!({"url": "ftp://127.0.0.1/", "events": ["task.created"]}),
        json!({"url": "http://127.0.0.1:9/"}),
        json!({"url": 42, "events": ["task.created"]}),
        json!({"url": "http://127.0.0.1:9/", "events": vec!["task.created"; 60]}),
    ] {
        let reply = admin.json(Method::POST, "/api/v1/webhooks", &body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text()
        );
        assert_eq!(reply.problem_type(), "validation-failed");
    }
    let huge = json!({"url": "http://127.0.0.1:9/", "events": ["task.created"], "x": "y".repeat(100 * 1024)});
    let reply = admin.json(Method::POST, "/api/v1/webhooks", &huge).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    let reply = admin
        .raw(
            Method::POST,
            "/api/v1/webhooks",
            "text/plain",
            b"url=x".to_vec(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        admin.get("/api/v1/webhooks").await.json()["items"],
        json!([])
    );

    let id = admin
        .json(
            Method::POST,
            "/api/v1/webhooks",
            &json!({"url": "http://127.0.0.1:9/", "events": ["task.created"]}),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for body in [
        json!({"url": null}),
        json!({"events": "task.created"}),
        json!({"enabled": "yes"}),
        json!({"url": long}),
    ] {
        let reply = admin
            .json(Method::PATCH, &format!("/api/v1/webhooks/{id}"), &body)
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(
        admin.get("/api/v1/webhooks/not-a-uuid").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        admin
            .get(&format!("/api/v1/webhooks/{id}/deliveries?limit=1000"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let reply = admin
        .json(
            Method::POST,
            &format!(
                "/api/v1/webhooks/{id}/deliveries/{}/redeliver",
                "a".repeat(100)
            ),
            &json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = admin
        .json(
            Method::POST,
            &format!("/api/v1/webhooks/{id}/deliveries/msg_unknown/redeliver"),
            &json!({}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let still = admin.get(&format!("/api/v1/webhooks/{id}")).await.json();
    assert_eq!(still["url"], "http://127.0.0.1:9/");
    assert_eq!(still["events"], json!(["task.created"]));
}

async fn webhooks_answer_503_while_notifications_is_down(backend: Backend) {
    let system = TestSystem::spawn(backend).await;
    let admin = system.signed_in("admin@acme.example").await;
    let reply = admin.get("/api/v1/webhooks").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
}

folio_testkit::backend_tests!(
    an_admin_registers_an_endpoint_and_sees_deliveries,
    only_admins_of_the_organisation_reach_webhooks,
    bad_webhook_input_is_a_clear_400_and_changes_nothing,
    webhooks_answer_503_while_notifications_is_down,
);
