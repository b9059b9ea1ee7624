//! What Graph and the rest of the system do wrong, and the integration
//! surviving it: duplicated and reordered notifications, a wrong
//! clientState, 410 in mid-paging, throttling, a vanished subscription,
//! documents down, and two instances draining one inbox.

use std::time::{Duration, Instant};

use folio_platform::db::Backend;
use folio_proto::documents::v1 as docs;
use serde_json::json;

use crate::helpers::{DRIVE, World, eventually, sha256};

/// Waits for the files already in the folder to be mirrored.
async fn mirrored(world: &World, count: usize) -> Vec<docs::Document> {
    eventually(Duration::from_secs(20), "the mirror", || async {
        let docs = world.documents_list().await;
        (docs.len() == count).then_some(docs)
    })
    .await
}

/// No two consecutive versions have the same content.
fn assert_no_repeats(versions: &[docs::Version]) {
    for pair in versions.windows(2) {
        assert_ne!(pair[0].sha256, pair[1].sha256, "a change was applied twice");
    }
}

async fn duplicated_and_reordered_notifications(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    let file = g.add_file(DRIVE, &world.folder, "a.txt", "v1");
    world.connect().await;
    let doc = mirrored(&world, 1).await.remove(0);

    // Every notification three times.
    g.set_notification_copies(3);
    g.set_content(DRIVE, &file, "v2");
    eventually(Duration::from_secs(10), "version 2", || async {
        (world.versions(&doc.id).await.len() == 2).then_some(())
    })
    .await;
    world.settle().await;
    assert_eq!(world.versions(&doc.id).await.len(), 2);

    // Two quick changes whose notifications arrive late and twice.
    g.set_notification_delay(Duration::from_millis(400));
    g.set_notification_copies(2);
    g.set_content(DRIVE, &file, "v3");
    g.set_content(DRIVE, &file, "v4");
    eventually(Duration::from_secs(10), "v4", || async {
        let versions = world.versions(&doc.id).await;
        let last = versions.last()?.number;
        (world.content(&doc.id, last).await == b"v4").then_some(())
    })
    .await;
    g.set_notification_delay(Duration::ZERO);

    // Then every notification ever sent, again, newest first.
    let settled = world.versions(&doc.id).await;
    let statuses = g.replay_notifications().await;
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    world.settle().await;
    let after = world.versions(&doc.id).await;
    assert_eq!(after.len(), settled.len(), "replays add nothing");
    assert_no_repeats(&after);
    assert!(after.len() <= 4);
    assert_eq!(world.documents_list().await.len(), 1);
}

async fn wrong_client_state_is_ignored(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    let file = g.add_file(DRIVE, &world.folder, "a.txt", "v1");
    let connection = world.connect().await;
    let doc = mirrored(&world, 1).await.remove(0);
    world.settle().await;

    let inbox = world.inbox_rows().await;
    let deltas = g.delta_requests();
    let forged = json!({ "value": [{
        "subscriptionId": connection.subscription_id,
        "clientState": "not-the-client-state",
        "changeType": "updated",
        "resource": format!("drives/{DRIVE}/root"),
        "tenantId": "x",
        "subscriptionExpirationDateTime": "2030-01-01T00:00:00Z",
    }]});
    let response = reqwest::Client::new()
        .post(world.webhook_url("/api/v1/onedrive/notifications"))
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(world.inbox_rows().await, inbox, "nothing stored");
    assert_eq!(g.delta_requests(), deltas, "no delta ran");
    // A change nobody was told about stays unseen.
    let _ = file;
    assert_eq!(world.versions(&doc.id).await.len(), 1);
}

async fn gone_in_mid_paging_resyncs_without_duplicates(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    g.set_page_size(2);
    let files: Vec<String> = (0..7)
        .map(|i| {
            g.add_file(
                DRIVE,
                &world.folder,
                &format!("f{i}.txt"),
                format!("{i} v1"),
            )
        })
        .collect();
    // The first enumeration fails on its third page.
    g.gone_at_page(DRIVE, 2);
    world.connect().await;
    mirrored(&world, 7).await;
    assert_eq!(g.gone_answers(), 1);

    // And an incremental delta fails on its second page.
    world.settle().await;
    g.gone_at_page(DRIVE, 1);
    for file in &files[..4] {
        g.set_content(DRIVE, file, "v2");
    }
    eventually(Duration::from_secs(15), "four version 2s", || async {
        let mut done = 0;
        for doc in world.documents_list().await {
            if world.versions(&doc.id).await.len() == 2 {
                done += 1;
            }
        }
        (done == 4).then_some(())
    })
    .await;
    assert_eq!(g.gone_answers(), 2);
    world.settle().await;
    let docs = world.documents_list().await;
    assert_eq!(docs.len(), 7, "no duplicate documents");
    for doc in docs {
        let versions = world.versions(&doc.id).await;
        assert!(versions.len() <= 2);
        assert_no_repeats(&versions);
    }
}

async fn throttling_waits_then_succeeds(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    let file = g.add_file(DRIVE, &world.folder, "a.txt", "v1");
    world.connect().await;
    let doc = mirrored(&world, 1).await.remove(0);
    world.settle().await;

    g.throttle(2, 1, 429);
    let started = Instant::now();
    g.set_content(DRIVE, &file, "v2");
    eventually(
        Duration::from_secs(15),
        "version 2 after the throttling",
        || async { (world.versions(&doc.id).await.len() == 2).then_some(()) },
    )
    .await;
    assert!(g.throttled_requests() >= 2);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After was honoured twice: {:?}",
        started.elapsed()
    );

    // 503 with Retry-After is handled alike.
    g.throttle(1, 1, 503);
    g.set_content(DRIVE, &file, "v3");
    eventually(Duration::from_secs(15), "version 3", || async {
        (world.versions(&doc.id).await.len() == 3).then_some(())
    })
    .await;
    eventually(Duration::from_secs(10), "the error to clear", || async {
        world.connection().await.last_error.is_empty().then_some(())
    })
    .await;
}

async fn vanished_subscription_is_recreated(backend: Backend) {
    // Renew on every reconciler pass, so the loss is noticed quickly.
    let mut timing = folio_integration::Timing::brisk();
    timing.renew_before = timing.subscription_lifetime;
    let world = World::start_with(backend, timing).await;
    let g = &world.graph;
    let file = g.add_file(DRIVE, &world.folder, "a.txt", "v1");
    let first = world.connect().await.subscription_id;
    let doc = mirrored(&world, 1).await.remove(0);

    assert!(g.drop_subscription(&first));
    let deliveries = g.deliveries().len();
    // Changed while nobody is subscribed: no notification.
    g.set_content(DRIVE, &file, "v2");
    assert_eq!(g.deliveries().len(), deliveries);

    let second = eventually(Duration::from_secs(10), "a new subscription", || async {
        let id = world.connection().await.subscription_id;
        (!id.is_empty() && id != first).then_some(id)
    })
    .await;
    // The catch-up delta after recreating finds the change.
    eventually(Duration::from_secs(10), "version 2", || async {
        (world.versions(&doc.id).await.len() == 2).then_some(())
    })
    .await;
    let live = g.subscriptions();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, second);

    // And the new subscription delivers.
    g.set_content(DRIVE, &file, "v3");
    eventually(Duration::from_secs(10), "version 3", || async {
        (world.versions(&doc.id).await.len() == 3).then_some(())
    })
    .await;
}

async fn lagging_delta_is_polled_again(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    let file = g.add_file(DRIVE, &world.folder, "a.txt", "v1");
    world.connect().await;
    let doc = mirrored(&world, 1).await.remove(0);
    world.settle().await;

    // Delta shows a change only 500 ms after it happened; the notification
    // comes at once, so the first delta after it sees nothing.
    g.set_delta_lag(Duration::from_millis(500));
    let deltas = g.delta_requests();
    g.set_content(DRIVE, &file, "v2");
    eventually(
        Duration::from_secs(10),
        "version 2 from a follow-up delta",
        || async { (world.versions(&doc.id).await.len() == 2).then_some(()) },
    )
    .await;
    eventually(Duration::from_secs(10), "follow-up deltas", || async {
        (g.delta_requests() >= deltas + 2).then_some(())
    })
    .await;
}

async fn safety_delta_catches_what_no_notification_said(backend: Backend) {
    let mut timing = folio_integration::Timing::brisk();
    timing.safety_sync = Duration::from_secs(1);
    let world = World::start_with(backend, timing).await;
    let g = &world.graph;
    let file = g.add_file(DRIVE, &world.folder, "a.txt", "v1");
    let connection = world.connect().await;
    let doc = mirrored(&world, 1).await.remove(0);
    // Notifications stop without anyone noticing (until renewal).
    assert!(g.drop_subscription(&connection.subscription_id));
    g.set_content(DRIVE, &file, "v2");
    eventually(
        Duration::from_secs(10),
        "version 2 from the safety delta",
        || async { (world.versions(&doc.id).await.len() == 2).then_some(()) },
    )
    .await;
}

async fn reauthorization_renews(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    let before = world.connect().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    g.send_lifecycle(&before.subscription_id, "reauthorizationRequired");
    let after = eventually(Duration::from_secs(10), "a renewal", || async {
        let c = world.connection().await;
        (c.subscription_expires_at > before.subscription_expires_at).then_some(c)
    })
    .await;
    assert_eq!(after.subscription_id, before.subscription_id);
    assert!(
        g.deliveries()
            .iter()
            .any(|d| d.lifecycle && d.status == Some(202)),
        "the lifecycle notification was accepted"
    );
}

async fn documents_down_loses_nothing(backend: Backend) {
    let mut world = World::start(backend).await;
    let file = world.graph.add_file(DRIVE, &world.folder, "a.txt", "v1");
    world.connect().await;
    let doc = mirrored(&world, 1).await.remove(0);
    world.settle().await;

    world.stop_documents();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let accepted = world
        .graph
        .deliveries()
        .iter()
        .filter(|d| d.status == Some(202))
        .count();
    world
        .graph
        .set_content(DRIVE, &file, "v2 while documents is down");
    eventually(
        Duration::from_secs(10),
        "the notification stored",
        || async {
            let now = world
                .graph
                .deliveries()
                .iter()
                .filter(|d| d.status == Some(202))
                .count();
            (now > accepted).then_some(())
        },
    )
    .await;
    eventually(Duration::from_secs(10), "the failure to show", || async {
        let error = world.connection().await.last_error;
        error.contains("documents").then_some(())
    })
    .await;
    // What an operator sees meanwhile: a queue that does not drain, growing
    // older, and failed syncs.
    eventually(
        Duration::from_secs(10),
        "the backlog in the metrics",
        || async {
            let pending = world.metric("folio_integration_inbox_pending", "").await?;
            let age = world
                .metric("folio_integration_inbox_oldest_pending_seconds", "")
                .await?;
            (pending >= 1.0 && age > 0.0).then_some(())
        },
    )
    .await;
    let failed = world
        .metric("folio_integration_syncs_total", r#"outcome="failed""#)
        .await;
    assert!(failed.unwrap_or(0.0) >= 1.0, "failed syncs are counted");
    let lag_before = world
        .metric("folio_integration_sync_lag_seconds_count", "")
        .await
        .unwrap_or(0.0);

    world.restart_documents().await;
    eventually(
        Duration::from_secs(20),
        "version 2 once documents is back",
        || async {
            let versions = world.versions(&doc.id).await;
            (versions.len() == 2).then_some(())
        },
    )
    .await;
    eventually(Duration::from_secs(10), "the backlog drained", || async {
        let pending = world.metric("folio_integration_inbox_pending", "").await?;
        let lag = world
            .metric("folio_integration_sync_lag_seconds_count", "")
            .await?;
        (pending == 0.0 && lag > lag_before).then_some(())
    })
    .await;
    assert_eq!(
        world.content(&doc.id, 2).await,
        b"v2 while documents is down"
    );
    eventually(Duration::from_secs(10), "the error to clear", || async {
        world.connection().await.last_error.is_empty().then_some(())
    })
    .await;
}

async fn two_instances_apply_each_change_once(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    let second = world.spawn_integration().await;
    let files: Vec<String> = (0..6)
        .map(|i| {
            g.add_file(
                DRIVE,
                &world.folder,
                &format!("f{i}.txt"),
                format!("{i} v1"),
            )
        })
        .collect();
    world.connect().await;
    mirrored(&world, 6).await;

    // New files and changes while both instances drain the inbox and poll.
    let mut added = Vec::new();
    for round in 2..5 {
        for (i, file) in files.iter().enumerate() {
            g.set_content(DRIVE, file, format!("{i} v{round}"));
        }
        added.push(g.add_file(
            DRIVE,
            &world.folder,
            &format!("new{round}.txt"),
            format!("new {round}"),
        ));
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    // Replays land on the second instance too.
    let statuses = g.replay_notifications().await;
    assert!(statuses.iter().all(|s| *s == 202));
    let body = json!({ "value": [] });
    let response = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{}/api/v1/onedrive/notifications",
            second.http_port
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);

    let docs = eventually(Duration::from_secs(20), "every change", || async {
        let docs = world.documents_list().await;
        if docs.len() != 9 {
            return None;
        }
        for doc in &docs {
            let current = doc.current.as_ref()?;
            let expected = match current.file_name.strip_prefix('f') {
                Some(rest) => format!("{} v4", rest.trim_end_matches(".txt")),
                None => format!(
                    "new {}",
                    current
                        .file_name
                        .trim_start_matches("new")
                        .trim_end_matches(".txt")
                ),
            };
            if current.sha256 != sha256(expected.as_bytes()) {
                return None;
            }
        }
        Some(docs)
    })
    .await;
    for doc in &docs {
        assert_no_repeats(&world.versions(&doc.id).await);
    }
    let mut names: Vec<String> = docs
        .iter()
        .map(|d| d.current.as_ref().unwrap().file_name.clone())
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 9, "each new file became one document");
    World::stop_integration(&second);
}

folio_testkit::backend_tests!(
    duplicated_and_reordered_notifications,
    wrong_client_state_is_ignored,
    gone_in_mid_paging_resyncs_without_duplicates,
    throttling_waits_then_succeeds,
    vanished_subscription_is_recreated,
    lagging_delta_is_polled_again,
    safety_delta_catches_what_no_notification_said,
    reauthorization_renews,
    documents_down_loses_nothing,
    two_instances_apply_each_change_once,
);
