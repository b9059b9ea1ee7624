//! Bad input on the webhook: a clear 4xx or a silent drop, never a 500,
//! never a stored change.

use std::time::Duration;

use folio_platform::db::Backend;
use serde_json::{Value, json};

use crate::helpers::{DRIVE, World};

const NOTIFICATIONS: &str = "/api/v1/onedrive/notifications";
const LIFECYCLE: &str = "/api/v1/onedrive/lifecycle";

async fn post(
    world: &World,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String, String) {
    let response = reqwest::Client::new()
        .post(world.webhook_url(path))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, kind, response.text().await.unwrap())
}

fn problem_type(body: &str) -> String {
    serde_json::from_str::<Value>(body).unwrap()["type"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn webhook_refuses_bad_input(backend: Backend) {
    let world = World::start(backend).await;
    world.graph.add_file(DRIVE, &world.folder, "a.txt", "v1");
    let connection = world.connect().await;
    world.settle().await;
    let inbox = world.inbox_rows().await;
    let deltas = world.graph.delta_requests();
    let documents = world.documents_list().await.len();

    for path in [NOTIFICATIONS, LIFECYCLE] {
        // Not JSON.
        let (status, kind, body) =
            post(&world, path, "application/json", b"{not json".to_vec()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(kind, "application/problem+json");
        assert_eq!(
            problem_type(&body),
            "https://folio.dev/problems/malformed-request"
        );
        // JSON of the wrong shape.
        for shape in [&b"[]"[..], b"{\"value\": {}}", b"{\"values\": []}", b"null"] {
            let (status, _, _) = post(&world, path, "application/json", shape.to_vec()).await;
            assert_eq!(status, 400, "{}", String::from_utf8_lossy(shape));
        }
        // Huge body.
        let huge = json!({ "value": [], "padding": "x".repeat(400 * 1024) }).to_string();
        let (status, kind, body) = post(&world, path, "application/json", huge.into_bytes()).await;
        assert_eq!(status, 413, "{body}");
        assert_eq!(kind, "application/problem+json");
        // Not JSON at all.
        let (status, _, body) = post(&world, path, "text/plain", b"hello".to_vec()).await;
        assert_eq!(status, 415, "{body}");
        // Missing fields: dropped silently, as Graph expects.
        let missing = json!({ "value": [
            { "clientState": "x", "changeType": "updated" },
            { "subscriptionId": connection.subscription_id, "changeType": "updated" },
            { "subscriptionId": 42, "clientState": "x" },
            "not an object",
        ]});
        let (status, _, _) = post(
            &world,
            path,
            "application/json",
            missing.to_string().into_bytes(),
        )
        .await;
        assert_eq!(status, 202);
        // An unknown subscription: dropped.
        let unknown = json!({ "value": [{
            "subscriptionId": "00000000-0000-0000-0000-000000000000",
            "clientState": "whatever",
            "changeType": "updated",
            "lifecycleEvent": "reauthorizationRequired",
            "resource": "drives/x/root",
        }]});
        let (status, _, _) = post(
            &world,
            path,
            "application/json",
            unknown.to_string().into_bytes(),
        )
        .await;
        assert_eq!(status, 202);
        // A validation token with control characters is no Graph token.
        let response = reqwest::Client::new()
            .post(format!("{}?validationToken=a%0Db", world.webhook_url(path)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
    }
    // Other methods are not served.
    let response = reqwest::Client::new()
        .get(world.webhook_url(NOTIFICATIONS))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(world.inbox_rows().await, inbox, "nothing stored");
    assert_eq!(world.graph.delta_requests(), deltas, "no delta ran");
    assert_eq!(world.documents_list().await.len(), documents);
    assert!(world.connection().await.last_error.is_empty());
}

async fn webhook_answers_the_handshake(backend: Backend) {
    let world = World::start(backend).await;
    let token = "Validation: Testing client application reachability for subscription Request-Id: 1 + 2 = 3 & ü";
    for path in [NOTIFICATIONS, LIFECYCLE] {
        let mut url = url::Url::parse(&world.webhook_url(path)).unwrap();
        url.query_pairs_mut().append_pair("validationToken", token);
        let response = reqwest::Client::new()
            .post(url)
            .header("content-type", "text/plain")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        assert_eq!(response.text().await.unwrap(), token);
    }
    // Health endpoints live on the same listener.
    for path in ["/healthz", "/readyz"] {
        let response = reqwest::get(world.webhook_url(path)).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

folio_testkit::backend_tests!(webhook_refuses_bad_input, webhook_answers_the_handshake);
