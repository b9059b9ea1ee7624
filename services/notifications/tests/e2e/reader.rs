//! The event log reader: every event handled once, per organisation, the
//! position moved with the work.

use std::time::Duration;

use folio_platform::db::Backend;
use folio_proto::documents::v1::{self as docs, TaskStatus};

use crate::helpers::{World, eventually};

const ALL: &[&str] = &[
    "document.created",
    "version.created",
    "task.created",
    "task.assigned",
    "task.completed",
];

async fn every_event_becomes_one_delivery_per_type(backend: Backend) {
    let world = World::start(backend).await;
    let hook = world.create_webhook("http://127.0.0.1:9/hook", ALL).await;
    let id = hook.webhook.unwrap().id;
    let (admin, editor) = (world.org.admin, world.org.editor);
    let document = world.upload(&admin, "contract").await;
    let task = world.create_task(&admin, &document.id, None).await;
    // A title change is not an assignment; then assigned; then done.
    world
        .update_task(
            &admin,
            docs::UpdateTaskRequest {
                id: task.id.clone(),
                title: Some("Review again".into()),
                ..Default::default()
            },
        )
        .await;
    world
        .update_task(
            &admin,
            docs::UpdateTaskRequest {
                id: task.id.clone(),
                assignee_id: Some(editor.user_id.to_string()),
                ..Default::default()
            },
        )
        .await;
    world
        .update_task(
            &editor,
            docs::UpdateTaskRequest {
                id: task.id.clone(),
                status: Some(TaskStatus::Done.into()),
                ..Default::default()
            },
        )
        .await;
    // Another organisation's events reach nobody here.
    world.upload(&world.stranger, "foreign").await;

    let newest = world.newest_event(&admin).await;
    eventually(
        Duration::from_secs(20),
        "the log read to its end",
        || async {
            (world.position(admin.org_id).await == i64::try_from(newest).unwrap()).then_some(())
        },
    )
    .await;
    let mut types: Vec<String> = world
        .deliveries(&id)
        .await
        .into_iter()
        .map(|d| d.event_type)
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "document.created",
            "task.assigned",
            "task.completed",
            "task.created",
            "version.created"
        ]
    );
    // Read again from the start by a second instance: the position holds,
    // nothing is added.
    let again = world.spawn_notifications().await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    again.stop().await;
    assert_eq!(world.deliveries(&id).await.len(), 5);
    assert!(world.position(world.stranger.org_id).await > 0);
}

folio_testkit::backend_tests!(every_event_becomes_one_delivery_per_type);

async fn health_and_metrics_are_served(backend: Backend) {
    let world = World::start(backend).await;
    world.create_webhook("http://127.0.0.1:9/", ALL).await;
    world.upload(&world.org.admin, "counted").await;
    let (status, _) = folio_testkit::http_get(world.notifications.http_port, "/readyz").await;
    assert_eq!(status, 200);
    let body = eventually(Duration::from_secs(20), "the counter", || async {
        let (_, body) = folio_testkit::http_get(world.notifications.http_port, "/metrics").await;
        (body.contains("folio_notifications_events_handled_total")
            && body.contains("folio_notifications_webhook_attempts_total"))
        .then_some(body)
    })
    .await;
    assert!(
        body.contains("result=\"failed\""),
        "nothing listens on port 9"
    );
}

folio_testkit::backend_tests!(health_and_metrics_are_served);
