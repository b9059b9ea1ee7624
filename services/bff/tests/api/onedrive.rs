//! OneDrive through the bff: connecting, the mirror showing up as documents
//! with `source: onedrive`, sending a version back, disconnecting, and every
//! refusal on the way. The integration service runs for real against the
//! fake Graph.

use std::time::{Duration, Instant};

use folio_platform::db::Backend;
use folio_testkit::backend_tests;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::helpers::{Browser, OneDrive, Options, TestSystem};

backend_tests!(
    connect_mirror_send_disconnect,
    client_secret_and_coordinates,
    skipped_files_and_progress,
    graph_refusals_reach_the_person,
    lag_and_open_conflicts
);

const CONNECTION: &str = "/api/v1/onedrive/connection";

/// Polls `check` until it returns `Some`, or panics after 20 s.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn document_named(browser: &Browser, file_name: &str) -> Option<Value> {
    let list = browser.get("/api/v1/documents?limit=100").await;
    assert_eq!(list.status, StatusCode::OK);
    list.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["current"]["file_name"] == file_name)
        .cloned()
}

async fn versions(browser: &Browser, document_id: &str) -> Vec<Value> {
    let reply = browser
        .get(&format!("/api/v1/documents/{document_id}/versions"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    reply.json()["items"].as_array().unwrap().clone()
}

async fn connect_mirror_send_disconnect(backend: Backend) {
    let system = TestSystem::spawn_with(
        backend,
        Options {
            onedrive: true,
            ..Options::default()
        },
    )
    .await;
    let onedrive = system.onedrive.as_ref().unwrap();
    let graph = &onedrive.graph;
    let brief = graph.add_file(
        OneDrive::DRIVE,
        &onedrive.folder,
        "brief.txt",
        b"first words".to_vec(),
    );
    graph.add_file(
        OneDrive::DRIVE,
        &onedrive.root,
        "private.txt",
        b"not in the folder".to_vec(),
    );
    let admin = system.signed_in("admin@acme.example").await;
    let (_, editor) = system.user(&admin, "editor@acme.example", "editor").await;
    let (_, viewer) = system.user(&admin, "viewer@acme.example", "viewer").await;

    // Not connected yet.
    let none = viewer.get(CONNECTION).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);

    // Only admins connect; bad forms are refused before Graph is asked.
    let form = OneDrive::connect_form();
    let by_editor = editor.json(Method::PUT, CONNECTION, &form).await;
    assert_eq!(by_editor.status, StatusCode::FORBIDDEN);
    let mut unknown_field = form.clone();
    unknown_field["secret"] = json!("the secret itself");
    let refused = admin.json(Method::PUT, CONNECTION, &unknown_field).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let mut missing = form.clone();
    missing.as_object_mut().unwrap().remove("drive_id");
    let refused = admin.json(Method::PUT, CONNECTION, &missing).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let mut bad_app = form.clone();
    bad_app["app_id"] = json!("not a guid");
    let refused = admin.json(Method::PUT, CONNECTION, &bad_app).await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{}",
        refused.text()
    );
    assert_eq!(refused.json()["errors"][0]["field"], "app_id");

    // What Graph or the secret store refuses is 422, with the reason, and
    // leaves no connection behind.
    let mut wrong_secret = form.clone();
    wrong_secret["client_secret"] = json!("not-the-client-secret");
    let refused = admin.json(Method::PUT, CONNECTION, &wrong_secret).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.problem_type(), "onedrive-refused");
    assert!(
        refused.json()["detail"]
            .as_str()
            .unwrap()
            .contains("credentials"),
        "{}",
        refused.text()
    );
    assert!(!refused.text().contains("not-the-client-secret"));
    let mut no_folder = form.clone();
    no_folder["folder"] = json!("/No such folder");
    let refused = admin.json(Method::PUT, CONNECTION, &no_folder).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(admin.get(CONNECTION).await.status, StatusCode::NOT_FOUND);

    // Connected: Graph validated the webhook, and the folder's file arrives.
    let connected = admin.connect_onedrive().await;
    assert_eq!(connected.header("location"), Some(CONNECTION));
    assert_eq!(connected.json()["folder_id"], onedrive.folder.as_str());
    assert!(graph.validations() >= 1);
    let again = admin.json(Method::PUT, CONNECTION, &form).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.problem_type(), "onedrive-connected");

    let mirrored = eventually("brief.txt as a document", || {
        document_named(&viewer, "brief.txt")
    })
    .await;
    assert_eq!(mirrored["current"]["source"], "onedrive");
    let id = mirrored["id"].as_str().unwrap().to_owned();
    let state = eventually("a completed sync with one document", || async {
        let state = viewer.get(CONNECTION).await.json();
        (state["documents_mirrored"] == 1 && !state["last_sync_at"].is_null()).then_some(state)
    })
    .await;
    assert_eq!(state["state"], "active");
    assert!(state["last_error"].is_null());
    assert!(document_named(&viewer, "private.txt").await.is_none());

    // A change in OneDrive is a new version, marked as coming from there.
    graph.set_content(OneDrive::DRIVE, &brief, b"second words".to_vec());
    let changed = eventually("version 2 of brief.txt", || async {
        let versions = versions(&viewer, &id).await;
        (versions.len() == 2).then_some(versions)
    })
    .await;
    assert!(changed.iter().all(|v| v["source"] == "onedrive"));

    // Send to OneDrive: a document made in Folio lands in the folder, intact,
    // and the echo of that upload adds no version.
    let content: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
    let made_here = editor
        .add_document("Signed contract", "contract.pdf", &content)
        .await;
    let made_id = made_here["document"]["id"].as_str().unwrap().to_owned();
    let send = |who: &Browser, path: String| {
        let who = who.clone();
        async move { who.json(Method::POST, &path, &json!({})).await }
    };
    let path = format!("/api/v1/documents/{made_id}/versions/1/send-to-onedrive");
    let by_viewer = send(&viewer, path.clone()).await;
    assert_eq!(by_viewer.status, StatusCode::FORBIDDEN);
    let sent = send(&editor, path.clone()).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text());
    let sent = sent.json();
    assert_eq!(sent["name"], "contract.pdf");
    assert_eq!(sent["size"], content.len());
    let item = sent["item_id"].as_str().unwrap();
    assert!(graph.content(OneDrive::DRIVE, item).is_some());
    // OneDrive received what Folio holds (SharePoint then rewrites PDFs).
    let received = graph.uploads().pop().expect("the fake saw the upload");
    assert_eq!(received.item_id, item);
    assert_eq!(
        Sha256::digest(&received.received),
        Sha256::digest(&content),
        "OneDrive received what Folio holds"
    );
    let synced_before = viewer.get(CONNECTION).await.json()["last_sync_at"].clone();
    let sync = admin
        .json(Method::POST, &format!("{CONNECTION}/sync"), &json!({}))
        .await;
    assert_eq!(sync.status, StatusCode::ACCEPTED);
    eventually("a sync after sending", || async {
        let now = viewer.get(CONNECTION).await.json()["last_sync_at"].clone();
        (now != synced_before).then_some(())
    })
    .await;
    let made_versions = versions(&viewer, &made_id).await;
    assert_eq!(made_versions.len(), 1, "the echo adds no version");
    assert_eq!(made_versions[0]["source"], "upload");

    // Bad sends.
    let missing_doc = format!(
        "/api/v1/documents/{}/versions/1/send-to-onedrive",
        uuid::Uuid::now_v7()
    );
    assert_eq!(
        send(&editor, missing_doc).await.status,
        StatusCode::NOT_FOUND
    );
    let no_version = format!("/api/v1/documents/{made_id}/versions/9/send-to-onedrive");
    assert_eq!(
        send(&editor, no_version).await.status,
        StatusCode::NOT_FOUND
    );
    let zero = format!("/api/v1/documents/{made_id}/versions/0/send-to-onedrive");
    assert_eq!(send(&editor, zero).await.status, StatusCode::BAD_REQUEST);
    let bad_id = "/api/v1/documents/nope/versions/1/send-to-onedrive".to_owned();
    assert_eq!(send(&editor, bad_id).await.status, StatusCode::BAD_REQUEST);

    // Disconnecting keeps the documents; sending then needs a connection.
    let by_editor = editor.delete(CONNECTION).await;
    assert_eq!(by_editor.status, StatusCode::FORBIDDEN);
    let gone = admin.delete(CONNECTION).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    assert!(
        graph.subscriptions().is_empty(),
        "the subscription is deleted"
    );
    assert_eq!(admin.get(CONNECTION).await.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.delete(CONNECTION).await.status, StatusCode::NOT_FOUND);
    assert!(document_named(&viewer, "brief.txt").await.is_some());
    let unconnected = send(&editor, path).await;
    assert_eq!(unconnected.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unconnected.problem_type(), "onedrive-refused");
}

/// Without the integration, only the OneDrive endpoints fail, with 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_down_is_503() {
    let system = TestSystem::spawn(Backend::Sqlite).await;
    let admin = system.signed_in("admin@acme.example").await;
    let down = admin.get(CONNECTION).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.text().contains("OneDrive"), "{}", down.text());
    let refused = admin
        .json(Method::PUT, CONNECTION, &OneDrive::connect_form())
        .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        admin.get("/api/v1/documents").await.status,
        StatusCode::OK,
        "documents work without OneDrive"
    );
}

/// Files the mirror cannot take are shown with their reason to admins (only
/// the count to others), beside the sync's progress.
async fn skipped_files_and_progress(backend: Backend) {
    let system = TestSystem::spawn_with(
        backend,
        Options {
            onedrive: true,
            ..Options::default()
        },
    )
    .await;
    let onedrive = system.onedrive.as_ref().unwrap();
    let graph = &onedrive.graph;
    graph.add_file(
        OneDrive::DRIVE,
        &onedrive.folder,
        "fine.txt",
        b"ok".to_vec(),
    );
    graph.add_odd_file(
        OneDrive::DRIVE,
        &onedrive.folder,
        "evil.exe",
        b"MZ".to_vec(),
        folio_fake_graph::Oddity::Malware,
    );
    graph.add_odd_file(
        OneDrive::DRIVE,
        &onedrive.folder,
        "Notebook",
        Vec::new(),
        folio_fake_graph::Oddity::Package,
    );
    let admin = system.signed_in("admin@acme.example").await;
    let (_, viewer) = system.user(&admin, "viewer@acme.example", "viewer").await;
    admin.connect_onedrive().await;
    let shown = eventually("the sync counted", || async {
        let c = admin.get(CONNECTION).await.json();
        (c["sync"]["in_progress"] == false && c["sync"]["items_seen"] == 3).then_some(c)
    })
    .await;
    assert_eq!(shown["sync"]["items_mirrored"], 1, "{shown}");
    assert_eq!(shown["sync"]["items_skipped"], 2, "{shown}");
    assert_eq!(shown["skipped"]["total"], 2);
    let items = shown["skipped"]["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"evil.exe") && names.contains(&"Notebook"),
        "{names:?}"
    );
    assert!(
        items
            .iter()
            .all(|i| !i["reason"].as_str().unwrap().is_empty())
    );

    let seen_by_viewer = viewer.get(CONNECTION).await;
    assert_eq!(seen_by_viewer.status, StatusCode::OK);
    assert_eq!(seen_by_viewer.json()["skipped"]["total"], 2);
    assert_eq!(
        seen_by_viewer.json()["skipped"]["items"],
        json!([]),
        "names and reasons are for admins"
    );
}

/// What Graph does to a send or connect reaches the person as a problem
/// document naming the cause, never a bare 500: 429 with `Retry-After` when
/// throttled, 502 when Graph fails, 409 on a conflict, 413 when too large.
async fn graph_refusals_reach_the_person(backend: Backend) {
    let system = TestSystem::spawn_with(
        backend,
        Options {
            onedrive: true,
            ..Options::default()
        },
    )
    .await;
    let graph = &system.onedrive.as_ref().unwrap().graph;
    let admin = system.signed_in("admin@acme.example").await;
    let (_, editor) = system.user(&admin, "editor@acme.example", "editor").await;

    // Connecting while Graph throttles, then while it fails.
    graph.throttle(1, 7, 429);
    let throttled = admin
        .json(Method::PUT, CONNECTION, &OneDrive::connect_form())
        .await;
    assert_eq!(
        throttled.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        throttled.text()
    );
    assert_eq!(throttled.problem_type(), "onedrive-throttled");
    assert_eq!(throttled.header("retry-after"), Some("7"));
    graph.refuse_next_requests(1, 500, "generalException");
    let failed = admin
        .json(Method::PUT, CONNECTION, &OneDrive::connect_form())
        .await;
    assert_eq!(failed.status, StatusCode::BAD_GATEWAY, "{}", failed.text());
    assert_eq!(failed.problem_type(), "onedrive-unavailable");
    assert_eq!(admin.get(CONNECTION).await.status, StatusCode::NOT_FOUND);
    admin.connect_onedrive().await;
    // Let the first sync and its follow-ups finish: the faults below are
    // meant for the sends, not for a delta.
    eventually("the first sync", || async {
        let state = admin.get(CONNECTION).await.json();
        (!state["last_sync_at"].is_null()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let made = editor.add_document("Plan", "plan.txt", b"plan v1").await;
    let id = made["document"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/documents/{id}/versions/1/send-to-onedrive");
    let empty = json!({});
    let send = || editor.json(Method::POST, &path, &empty);

    graph.throttle(1, 3, 429);
    let throttled = send().await;
    assert_eq!(
        throttled.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        throttled.text()
    );
    assert_eq!(throttled.problem_type(), "onedrive-throttled");
    assert_eq!(throttled.header("retry-after"), Some("3"));

    graph.refuse_next_requests(1, 507, "quotaLimitReached");
    let full = send().await;
    assert_eq!(
        full.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        full.text()
    );
    assert_eq!(full.problem_type(), "onedrive-too-large");

    graph.refuse_next_requests(1, 502, "serviceNotAvailable");
    let failed = send().await;
    assert_eq!(failed.status, StatusCode::BAD_GATEWAY, "{}", failed.text());
    assert_eq!(failed.problem_type(), "onedrive-unavailable");
    assert!(graph.uploads().is_empty(), "nothing arrived so far");

    // Sent, then changed in OneDrive before Folio hears of it: a conflict.
    let sent = send().await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text());
    let item = sent.json()["item_id"].as_str().unwrap().to_owned();
    // The echo's deltas are over (no delta for a second) before OneDrive changes.
    let mut deltas = graph.delta_requests();
    let mut quiet = Instant::now();
    while quiet.elapsed() < Duration::from_secs(1) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if graph.delta_requests() != deltas {
            deltas = graph.delta_requests();
            quiet = Instant::now();
        }
    }
    graph.set_notification_delay(Duration::from_secs(60));
    graph.set_content(OneDrive::DRIVE, &item, b"edited in OneDrive".to_vec());
    let conflict = send().await;
    assert_eq!(conflict.status, StatusCode::CONFLICT, "{}", conflict.text());
    assert_eq!(conflict.problem_type(), "onedrive-conflict");
    assert!(
        conflict.json()["detail"]
            .as_str()
            .unwrap()
            .contains("changed in OneDrive")
    );
    assert_eq!(
        graph.content(OneDrive::DRIVE, &item).unwrap(),
        b"edited in OneDrive".as_slice(),
        "nothing was overwritten"
    );
    // And OneDrive's change comes in as version 2.
    eventually("OneDrive's change as version 2", || async {
        (versions(&editor, &id).await.len() == 2).then_some(())
    })
    .await;
}

/// Issue 12: the client secret is write-only and replaceable by the
/// organisation's admin alone; only admins see the Graph coordinates; a
/// drive another organisation holds is refused neutrally.
async fn client_secret_and_coordinates(backend: Backend) {
    let system = TestSystem::spawn_with(
        backend,
        Options {
            onedrive: true,
            ..Options::default()
        },
    )
    .await;
    let onedrive = system.onedrive.as_ref().unwrap();
    let admin = system.signed_in("admin@acme.example").await;
    let (_, editor) = system.user(&admin, "editor@acme.example", "editor").await;
    let (_, viewer) = system.user(&admin, "viewer@acme.example", "viewer").await;
    let stranger = system.signed_in("admin@globex.example").await;
    let form = OneDrive::connect_form();

    // Connecting needs the CSRF token; the secret is checked for size.
    let mut no_csrf = admin.clone();
    no_csrf.csrf = None;
    let refused = no_csrf.json(Method::PUT, CONNECTION, &form).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.problem_type(), "csrf-failed");
    let mut long = form.clone();
    long["client_secret"] = json!("s".repeat(1025));
    let refused = admin.json(Method::PUT, CONNECTION, &long).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.json()["errors"][0]["field"], "client_secret");
    let mut line_break = form.clone();
    line_break["client_secret"] = json!("two\nlines");
    let refused = admin.json(Method::PUT, CONNECTION, &line_break).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(admin.get(CONNECTION).await.status, StatusCode::NOT_FOUND);

    let connected = admin.connect_onedrive().await;
    assert!(!connected.text().contains(OneDrive::SECRET));
    assert_eq!(connected.json()["tenant_id"], OneDrive::TENANT);
    assert!(connected.json().get("secret_ref").is_none());

    // Admins see where in Graph; editors and viewers only how it goes.
    let seen = admin.get(CONNECTION).await;
    assert!(!seen.text().contains(OneDrive::SECRET));
    let seen = seen.json();
    assert_eq!(seen["drive_id"], OneDrive::DRIVE);
    assert!(seen["client_secret_set_at"].is_string());
    for browser in [&editor, &viewer] {
        let reply = browser.get(CONNECTION).await;
        assert_eq!(reply.status, StatusCode::OK);
        let body = reply.json();
        for field in [
            "tenant_id",
            "app_id",
            "drive_id",
            "folder_id",
            "client_secret_set_at",
        ] {
            assert!(body[field].is_null(), "{field}: {body}");
        }
        assert!(body["state"].is_string());
        let text = reply.text();
        assert!(!text.contains(OneDrive::TENANT) && !text.contains(OneDrive::DRIVE));
    }

    // Replacing the secret: admins of this organisation, with CSRF, a secret
    // of sensible size, and one Graph accepts.
    let replace = format!("{CONNECTION}/client-secret");
    let new_secret = json!({"client_secret": "rotated-client-secret"});
    let refused = no_csrf.json(Method::PUT, &replace, &new_secret).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.problem_type(), "csrf-failed");
    for browser in [&editor, &viewer] {
        let refused = browser.json(Method::PUT, &replace, &new_secret).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
    let refused = stranger.json(Method::PUT, &replace, &new_secret).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.text());
    for (body, status) in [
        (json!({"client_secret": ""}), StatusCode::BAD_REQUEST),
        (
            json!({"client_secret": "s".repeat(1025)}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"client_secret": 7}), StatusCode::BAD_REQUEST),
        (
            json!({"client_secret": "x", "secret_ref": "y"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"client_secret": "s".repeat(70_000)}),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ] {
        let refused = admin.json(Method::PUT, &replace, &body).await;
        assert_eq!(refused.status, status, "{}", refused.text());
    }
    let refused = admin.json(Method::PUT, &replace, &new_secret).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "Graph does not know it yet"
    );
    assert_eq!(refused.problem_type(), "onedrive-refused");
    onedrive
        .graph
        .add_app(OneDrive::TENANT, OneDrive::APP_ID, "rotated-client-secret");
    let replaced = admin.json(Method::PUT, &replace, &new_secret).await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text());
    assert!(!replaced.text().contains("rotated-client-secret"));
    assert!(replaced.json()["client_secret_set_at"].is_string());

    // Organisation B with A's tenant and app and a would-be secret name, or
    // with working credentials for A's drive: refused, and for the drive
    // exactly like one that does not exist.
    let mut named = form.clone();
    named["client_secret"] = json!("graph-contoso");
    named["drive_id"] = json!("b!globex-drive");
    let refused = stranger.json(Method::PUT, CONNECTION, &named).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.json()["detail"]
            .as_str()
            .unwrap()
            .contains("credentials")
    );
    let held = stranger.json(Method::PUT, CONNECTION, &form).await;
    let mut elsewhere = form.clone();
    elsewhere["drive_id"] = json!("b!no-such-drive");
    let missing = stranger.json(Method::PUT, CONNECTION, &elsewhere).await;
    assert_eq!(
        held.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        held.text()
    );
    assert_eq!(held.status, missing.status);
    assert_eq!(held.json()["detail"], missing.json()["detail"]);
    assert_eq!(stranger.get(CONNECTION).await.status, StatusCode::NOT_FOUND);
}

/// Waits until Graph has seen no delta for a second (the echo's follow-ups
/// are over), so a change made next is unknown to Folio.
async fn quiet(graph: &folio_fake_graph::FakeGraph) {
    let mut deltas = graph.delta_requests();
    let mut since = Instant::now();
    while since.elapsed() < Duration::from_secs(1) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if graph.delta_requests() != deltas {
            deltas = graph.delta_requests();
            since = Instant::now();
        }
    }
}

/// Point 12 (docs/adr/0043): the connection shows its sync lag and how many
/// conflicts are open; the conflicts are listed for admins and editors of
/// the organisation, closed by a successful send or dismissed with CSRF.
async fn lag_and_open_conflicts(backend: Backend) {
    let system = TestSystem::spawn_with(
        backend,
        Options {
            onedrive: true,
            ..Options::default()
        },
    )
    .await;
    let graph = &system.onedrive.as_ref().unwrap().graph;
    let admin = system.signed_in("admin@acme.example").await;
    let (_, editor) = system.user(&admin, "editor@acme.example", "editor").await;
    let (_, viewer) = system.user(&admin, "viewer@acme.example", "viewer").await;
    let stranger = system.signed_in("admin@globex.example").await;
    admin.connect_onedrive().await;
    eventually("the first sync", || async {
        let state = admin.get(CONNECTION).await.json();
        (!state["last_sync_at"].is_null()).then_some(())
    })
    .await;

    // The lag's shape, for everyone in the organisation.
    let shown = viewer.get(CONNECTION).await.json();
    let lag = &shown["lag"];
    assert!(lag["current_seconds"].is_number(), "{shown}");
    assert!(
        lag["last_seconds"].is_null() || lag["last_seconds"].as_f64().unwrap() >= 0.0,
        "{shown}"
    );
    assert_eq!(lag.as_object().unwrap().len(), 2, "{lag}");
    assert_eq!(shown["open_conflicts"], 0);

    // A conflict: sent, changed in OneDrive unseen, sent again.
    let made = editor.add_document("Plan", "plan.txt", b"plan v1").await;
    let id = made["document"]["id"].as_str().unwrap().to_owned();
    let send = |number: u32| {
        let editor = editor.clone();
        let path = format!("/api/v1/documents/{id}/versions/{number}/send-to-onedrive");
        async move { editor.json(Method::POST, &path, &json!({})).await }
    };
    let sent = send(1).await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text());
    let item = sent.json()["item_id"].as_str().unwrap().to_owned();
    quiet(graph).await;
    graph.set_notification_delay(Duration::from_secs(60));
    graph.set_content(OneDrive::DRIVE, &item, b"edited in OneDrive".to_vec());
    assert_eq!(send(1).await.status, StatusCode::CONFLICT);

    const CONFLICTS: &str = "/api/v1/onedrive/conflicts";
    let listed = eventually("the conflict with OneDrive's version", || async {
        let listed = editor.get(CONFLICTS).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
        let body = listed.json();
        (body["items"][0]["incoming_version"] == 2).then_some(body)
    })
    .await;
    assert_eq!(listed["total"], 1);
    let conflict = &listed["items"][0];
    assert_eq!(conflict["document_id"], id.as_str());
    assert_eq!(conflict["name"], "plan.txt");
    assert_eq!(conflict["sent_version"], 1);
    assert!(conflict["incoming_at"].is_string() && conflict["sent_at"].is_string());
    assert!(conflict["sent_by"].is_string());
    let conflict_id = conflict["id"].as_str().unwrap().to_owned();
    assert_eq!(admin.get(CONNECTION).await.json()["open_conflicts"], 1);
    let of_document = admin.get(&format!("{CONFLICTS}?document_id={id}")).await;
    assert_eq!(of_document.json()["items"], listed["items"]);

    // Who may not see it, and bad filters.
    assert_eq!(viewer.get(CONFLICTS).await.status, StatusCode::FORBIDDEN);
    let theirs = stranger.get(CONFLICTS).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert_eq!(theirs.json(), json!({"items": [], "total": 0}));
    let theirs = stranger.get(&format!("{CONFLICTS}?document_id={id}")).await;
    assert_eq!(theirs.json()["items"], json!([]));
    for bad in ["nope".to_owned(), "x".repeat(10_000)] {
        let refused = admin.get(&format!("{CONFLICTS}?document_id={bad}")).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{}",
            refused.text()
        );
        assert_eq!(refused.json()["errors"][0]["field"], "document_id");
    }

    // Sent again after review: it goes through and closes the conflict.
    let resent = send(1).await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.text());
    assert_eq!(editor.get(CONFLICTS).await.json()["total"], 0);
    assert_eq!(admin.get(CONNECTION).await.json()["open_conflicts"], 0);

    // Another, dismissed instead.
    quiet(graph).await;
    graph.set_content(OneDrive::DRIVE, &item, b"edited in OneDrive again".to_vec());
    assert_eq!(send(1).await.status, StatusCode::CONFLICT);
    let second = editor.get(CONFLICTS).await.json()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second, conflict_id);
    let path = format!("{CONFLICTS}/{second}");
    assert_eq!(viewer.delete(&path).await.status, StatusCode::FORBIDDEN);
    let mut no_csrf = editor.clone();
    no_csrf.csrf = None;
    let refused = no_csrf.delete(&path).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.problem_type(), "csrf-failed");
    assert_eq!(stranger.delete(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        admin
            .delete(&format!("{CONFLICTS}/not-a-uuid"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let unknown = format!("{CONFLICTS}/{}", uuid::Uuid::now_v7());
    assert_eq!(admin.delete(&unknown).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        editor.get(CONFLICTS).await.json()["total"],
        1,
        "nothing changed"
    );
    assert_eq!(editor.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert_eq!(editor.get(CONFLICTS).await.json()["total"], 0);
    assert_eq!(
        admin.delete(&path).await.status,
        StatusCode::NO_CONTENT,
        "dismissing again changes nothing"
    );
    assert_eq!(stranger.delete(&path).await.status, StatusCode::NOT_FOUND);
}
