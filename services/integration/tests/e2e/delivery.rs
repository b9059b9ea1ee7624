//! Delivery as Graph really delivers: a delta that lags its notification by
//! seconds (minutes in production) is caught by follow-ups, a subscription
//! Graph removed without a word is noticed by a periodic look and
//! recreated, and the webhook answers within Graph's 3 s budget while the
//! database is slow (the p99 of the acknowledgement is printed).

use std::time::{Duration, Instant};

use folio_platform::db::Backend;
use serde_json::json;
use sqlx::Row;

use crate::helpers::{DRIVE, World, eventually};

/// Graph's budget for answering a notification.
const GRAPH_BUDGET: Duration = Duration::from_secs(3);

async fn late_delta_is_caught_by_followups(backend: Backend) {
    // The production schedule's shape (doubling, then capped; ten minutes
    // by default), compressed to about 4 s.
    let mut timing = folio_integration::Timing::brisk();
    timing.followups = 6;
    timing.followup_base = Duration::from_millis(150);
    timing.followup_max = Duration::from_millis(900);
    let world = World::start_with(backend, timing).await;
    let g = &world.graph;
    let file = g.add_file(DRIVE, &world.folder, "a.txt", "v1");
    world.connect().await;
    let doc = eventually(Duration::from_secs(20), "the mirror", || async {
        world.documents_list().await.pop()
    })
    .await;
    world.settle().await;

    // Delta shows the change 2.5 s after the notification: beyond the
    // first follow-ups, within the window.
    assert!(world.timing.followup_window() > Duration::from_millis(3500));
    g.set_delta_lag(Duration::from_millis(2500));
    let deltas = g.delta_requests();
    let changed = Instant::now();
    g.set_content(DRIVE, &file, "v2");
    eventually(
        Duration::from_secs(12),
        "version 2 from a late follow-up",
        || async { (world.versions(&doc.id).await.len() == 2).then_some(()) },
    )
    .await;
    assert!(changed.elapsed() >= Duration::from_millis(2500));
    assert!(
        g.delta_requests() >= deltas + 4,
        "follow-ups kept going: {} deltas",
        g.delta_requests() - deltas
    );
}

async fn silently_removed_subscription_is_noticed(backend: Backend) {
    // Nothing is renewed during this test (renewal is due only 10 minutes
    // before expiry): only the periodic look can notice the loss.
    let mut timing = folio_integration::Timing::brisk();
    timing.subscription_check = Duration::from_millis(500);
    let world = World::start_with(backend, timing).await;
    let g = &world.graph;
    let file = g.add_file(DRIVE, &world.folder, "a.txt", "v1");
    let first = world.connect().await.subscription_id;
    let doc = eventually(Duration::from_secs(20), "the mirror", || async {
        world.documents_list().await.pop()
    })
    .await;
    let reads = g.subscription_reads();
    assert!(g.drop_subscription(&first));
    g.set_content(DRIVE, &file, "v2, while nobody listens");

    let second = eventually(Duration::from_secs(10), "a new subscription", || async {
        let id = world.connection().await.subscription_id;
        (!id.is_empty() && id != first).then_some(id)
    })
    .await;
    assert!(g.subscription_reads() > reads, "found by a GET");
    assert_eq!(g.subscriptions().len(), 1);
    assert_eq!(g.subscriptions()[0].id, second);
    // The catch-up delta after recreating finds what changed in the gap.
    eventually(Duration::from_secs(10), "version 2", || async {
        (world.versions(&doc.id).await.len() == 2).then_some(())
    })
    .await;
}

/// Holds the database's write lock on the connection row (MariaDB: a row
/// lock; SQLite: the single writer's lock) for `hold`.
async fn slow_database(
    world: &World,
    backend: Backend,
    hold: Duration,
) -> tokio::task::JoinHandle<()> {
    let pool = world.integration_pool().await;
    let mut conn = pool.acquire().await.unwrap();
    match backend {
        Backend::Sqlite => {
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        Backend::MySql => {
            sqlx::query("BEGIN").execute(&mut *conn).await.unwrap();
            sqlx::query("SELECT id FROM connections FOR UPDATE")
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        }
    }
    tokio::spawn(async move {
        tokio::time::sleep(hold).await;
        sqlx::query("COMMIT").execute(&mut *conn).await.unwrap();
        drop(conn);
        pool.close().await;
    })
}

/// Posts `count` notifications from `senders` concurrent senders; the
/// acknowledgement times, sorted.
async fn acknowledge(
    world: &World,
    body: &serde_json::Value,
    count: usize,
    senders: usize,
) -> Vec<Duration> {
    let url = world.webhook_url("/api/v1/onedrive/notifications");
    let http = reqwest::Client::new();
    let mut tasks = Vec::new();
    for _ in 0..senders {
        let (http, url, body) = (http.clone(), url.clone(), body.to_string());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            for _ in 0..count / senders {
                let started = Instant::now();
                let status = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap()
                    .status();
                times.push(started.elapsed());
                assert_eq!(status, 202);
            }
            times
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort();
    all
}

fn p99(sorted: &[Duration]) -> Duration {
    sorted[(sorted.len() * 99).div_ceil(100) - 1]
}

async fn webhook_acknowledges_in_time_with_a_slow_database(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    let file = g.add_file(DRIVE, &world.folder, "a.txt", "v1");
    let subscription = world.connect().await.subscription_id;
    let doc = eventually(Duration::from_secs(20), "the mirror", || async {
        world.documents_list().await.pop()
    })
    .await;
    world.settle().await;
    let client_state: String = {
        let pool = world.integration_pool().await;
        let row = sqlx::query("SELECT client_state FROM connections")
            .fetch_one(&pool)
            .await
            .unwrap();
        let state = row.try_get("client_state").unwrap();
        pool.close().await;
        state
    };
    let body = json!({ "value": [{
        "subscriptionId": subscription,
        "clientState": client_state,
        "changeType": "updated",
        "resource": format!("/drives/{DRIVE}/root"),
        "tenantId": crate::helpers::TENANT,
    }]});
    let healthy = acknowledge(&world, &body, 40, 4).await;
    world.settle().await;

    // The change's own notification is held back: only ours can tell.
    g.set_notification_delay(Duration::from_secs(120));
    g.set_content(DRIVE, &file, "v2");
    let lock = slow_database(&world, backend, Duration::from_secs(4)).await;
    let slow = acknowledge(&world, &body, 40, 8).await;
    lock.await.unwrap();
    eprintln!(
        "webhook acknowledgement p99 ({backend:?}): healthy database {:?}, database locked for 4 s {:?} \
         (max {:?}; Graph's budget {GRAPH_BUDGET:?})",
        p99(&healthy),
        p99(&slow),
        slow.last().unwrap()
    );
    assert!(p99(&healthy) < Duration::from_millis(500), "{healthy:?}");
    assert!(p99(&slow) < GRAPH_BUDGET, "{slow:?}");
    // Acknowledged early, stored late: the change is still mirrored.
    eventually(Duration::from_secs(20), "version 2", || async {
        (world.versions(&doc.id).await.len() == 2).then_some(())
    })
    .await;
}

folio_testkit::backend_tests!(
    late_delta_is_caught_by_followups,
    silently_removed_subscription_is_noticed,
    webhook_acknowledges_in_time_with_a_slow_database
);
