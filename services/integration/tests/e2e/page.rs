//! What the portal's OneDrive page shows beside progress (issue 11 point
//! 12, docs/adr/0043): the sync lag, last and current, and the open
//! conflicts that sends left, kept until resent or dismissed.

use std::time::{Duration, Instant};

use bytes::Bytes;
use folio_fake_graph::Host;
use folio_platform::{actor::Actor, db::Backend};
use folio_proto::integration::v1 as pb;
use tonic::Code;

use crate::{
    helpers::{DRIVE, World, eventually},
    send::{send, upload_version},
};

async fn conflicts_of(
    world: &World,
    actor: &Actor,
    document: &str,
) -> Result<pb::ListConflictsResponse, tonic::Status> {
    world
        .integration()
        .list_conflicts(actor.request(pb::ListConflictsRequest {
            document_id: document.to_owned(),
        }))
        .await
        .map(tonic::Response::into_inner)
}

async fn dismiss(world: &World, actor: &Actor, id: &str) -> Result<(), tonic::Status> {
    world
        .integration()
        .dismiss_conflict(actor.request(pb::DismissConflictRequest {
            conflict_id: id.to_owned(),
        }))
        .await
        .map(|_| ())
}

/// A delta that Graph throttles keeps a notification waiting: the current
/// lag grows while it waits, and once the delta applies it the last lag is
/// at least the pause, the current lag is back to 0, and the lag metrics
/// say the same.
async fn sync_lag_grows_while_waiting_and_is_kept(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    let file = g.add_file(DRIVE, &world.folder, "lag.txt", "v1");
    world.connect().await;
    let doc = eventually(Duration::from_secs(30), "the mirror", || async {
        world.document_named("lag.txt").await
    })
    .await;
    world.settle().await;
    assert_eq!(world.connection().await.current_lag_ms, 0, "nothing waits");
    // A lifecycle event asks for no delta and announces no change: it
    // makes no one wait, though it stays in the inbox until the next delta.
    let subscription = world.connection().await.subscription_id;
    let rows = world.inbox_rows().await;
    g.send_lifecycle(&subscription, "reauthorizationRequired");
    eventually(
        Duration::from_secs(10),
        "the lifecycle event stored",
        || async { (world.inbox_rows().await > rows).then_some(()) },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        world.connection().await.current_lag_ms,
        0,
        "no change waits"
    );
    let age = world
        .metric("folio_integration_inbox_oldest_pending_seconds", "")
        .await
        .unwrap_or(0.0);
    assert!(age == 0.0, "no change waits in the metrics either: {age} s");
    let applied_before = world
        .metric("folio_integration_sync_lag_seconds_count", "")
        .await
        .unwrap_or(0.0);

    // Graph throttles the next deltas for 3 s each; the change waits.
    g.throttle_host(Host::Api, 2, "3");
    let changed = Instant::now();
    g.set_content(DRIVE, &file, "v2, while Graph throttles");
    let first = eventually(
        Duration::from_secs(10),
        "a notification waiting",
        || async {
            let lag = world.connection().await.current_lag_ms;
            (lag > 0).then_some(lag)
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let waiting = world.connection().await;
    assert!(
        waiting.current_lag_ms >= first + 1000,
        "the current lag grows while the change waits: {first} ms, then {} ms",
        waiting.current_lag_ms
    );
    assert_eq!(world.versions(&doc.id).await.len(), 1, "still waiting");
    eventually(
        Duration::from_secs(10),
        "the wait in the metrics",
        || async {
            let age = world
                .metric("folio_integration_inbox_oldest_pending_seconds", "")
                .await?;
            (age >= 1.0).then_some(())
        },
    )
    .await;

    eventually(Duration::from_secs(20), "version 2", || async {
        (world.versions(&doc.id).await.len() == 2).then_some(())
    })
    .await;
    let took = changed.elapsed();
    let applied = eventually(Duration::from_secs(10), "the lag recorded", || async {
        let c = world.connection().await;
        (c.current_lag_ms == 0).then_some(c)
    })
    .await;
    let last = applied.last_sync_lag_ms.expect("the last lag is kept");
    assert!(
        last >= 3000 && u128::from(last) <= took.as_millis() + 500,
        "the last lag spans the throttled wait: {last} ms of {took:?}"
    );
    let count = world
        .metric("folio_integration_sync_lag_seconds_count", "")
        .await
        .expect("the lag histogram");
    assert!(count > applied_before, "each applying sync is measured");
    let sum = world
        .metric("folio_integration_sync_lag_seconds_sum", "")
        .await
        .expect("the lag histogram's sum");
    assert!(
        sum >= last as f64 / 1000.0 - 0.001,
        "{sum} s measured, {last} ms kept"
    );
}

/// A send over a file changed in OneDrive (Graph's 412) is kept as an open
/// conflict with the version sent and the version OneDrive's change became;
/// only its organisation's admins and editors see it; a later successful
/// send of the document closes it, and so does dismissing it.
async fn conflicts_are_kept_until_resent_or_dismissed(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    world.connect().await;
    world.settle().await;
    let document = world
        .upload(&world.editor, "plan.txt", Bytes::from_static(b"plan v1"))
        .await
        .document
        .unwrap()
        .id;
    let item = send(&world, &document, 0).await.unwrap().item_id;
    world.settle().await;
    assert!(
        conflicts_of(&world, &world.editor, "")
            .await
            .unwrap()
            .conflicts
            .is_empty()
    );

    // Edited on both sides; OneDrive's notification is late.
    g.set_notification_delay(Duration::from_secs(60));
    g.set_content(DRIVE, &item, "plan v2, edited in OneDrive");
    upload_version(
        &world,
        &world.editor,
        &document,
        "plan.txt",
        Bytes::from_static(b"plan v2, edited in Folio"),
    )
    .await;
    let refused = send(&world, &document, 0).await.unwrap_err();
    assert_eq!(refused.code(), Code::Aborted);

    let open = eventually(
        Duration::from_secs(10),
        "OneDrive's change noted on the conflict",
        || async {
            let listed = conflicts_of(&world, &world.editor, "").await.unwrap();
            (listed.conflicts.len() == 1 && listed.conflicts[0].incoming_version != 0)
                .then_some(listed)
        },
    )
    .await;
    assert_eq!(open.total, 1);
    let conflict = &open.conflicts[0];
    assert_eq!(conflict.document_id, document);
    assert_eq!(conflict.name, "plan.txt");
    assert_eq!(conflict.sent_version, 2, "Folio's version 2 was being sent");
    assert_eq!(
        conflict.incoming_version, 3,
        "OneDrive's change became version 3"
    );
    assert!(!conflict.incoming_at.is_empty() && !conflict.sent_at.is_empty());
    assert_eq!(conflict.sent_by, world.editor.user_id.to_string());
    assert_eq!(
        world.content(&document, 3).await,
        b"plan v2, edited in OneDrive"
    );
    assert_eq!(world.connection().await.open_conflicts, 1);
    // One document's, or another's (none).
    let of_document = conflicts_of(&world, &world.admin, &document).await.unwrap();
    assert_eq!(of_document.conflicts, open.conflicts);
    let other = uuid::Uuid::now_v7().to_string();
    assert!(
        conflicts_of(&world, &world.admin, &other)
            .await
            .unwrap()
            .conflicts
            .is_empty()
    );
    eventually(
        Duration::from_secs(10),
        "the open conflict in the metrics",
        || async {
            let open = world.metric("folio_integration_conflicts_open", "").await?;
            (open == 1.0).then_some(())
        },
    )
    .await;

    // Who may not: viewers; another organisation sees nothing and cannot
    // reach the id; bad ids; a caller other than the bff.
    assert_eq!(
        conflicts_of(&world, &world.viewer, "")
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        dismiss(&world, &world.viewer, &conflict.id)
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let theirs = conflicts_of(&world, &world.stranger, "").await.unwrap();
    assert!(theirs.conflicts.is_empty() && theirs.total == 0);
    assert!(
        conflicts_of(&world, &world.stranger, &document)
            .await
            .unwrap()
            .conflicts
            .is_empty()
    );
    assert_eq!(
        dismiss(&world, &world.stranger, &conflict.id)
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_eq!(
        dismiss(&world, &world.admin, "not-a-uuid")
            .await
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );
    assert_eq!(
        dismiss(&world, &world.admin, &"x".repeat(5000))
            .await
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );
    assert_eq!(
        dismiss(&world, &world.admin, &other)
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_eq!(
        conflicts_of(&world, &world.admin, "nope")
            .await
            .unwrap_err()
            .code(),
        Code::InvalidArgument
    );
    for identity in ["documents", "notifications"] {
        let refused = world
            .integration_as(identity, world.integration.port)
            .list_conflicts(world.admin.request(pb::ListConflictsRequest::default()))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{identity}");
        let refused = world
            .integration_as(identity, world.integration.port)
            .dismiss_conflict(world.admin.request(pb::DismissConflictRequest {
                conflict_id: conflict.id.clone(),
            }))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{identity}");
    }
    // The bff without an end user in the metadata.
    let refused = world
        .integration()
        .dismiss_conflict(pb::DismissConflictRequest {
            conflict_id: conflict.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert_eq!(
        conflicts_of(&world, &world.editor, "").await.unwrap().total,
        1,
        "nothing changed"
    );

    // After review, Folio's version 2 is sent again and goes through: closed.
    send(&world, &document, 2).await.expect("sent after review");
    assert!(
        conflicts_of(&world, &world.editor, "")
            .await
            .unwrap()
            .conflicts
            .is_empty()
    );
    assert_eq!(world.connection().await.open_conflicts, 0);
    world.settle().await;

    // Another conflict, dismissed instead; dismissing again changes nothing.
    g.set_content(DRIVE, &item, "plan v3, edited in OneDrive");
    let refused = send(&world, &document, 2).await.unwrap_err();
    assert_eq!(refused.code(), Code::Aborted);
    let second = conflicts_of(&world, &world.admin, &document).await.unwrap();
    assert_eq!(second.conflicts.len(), 1);
    assert_eq!(second.conflicts[0].sent_version, 2);
    assert_ne!(second.conflicts[0].id, conflict.id);
    dismiss(&world, &world.editor, &second.conflicts[0].id)
        .await
        .expect("dismissed");
    assert!(
        conflicts_of(&world, &world.admin, "")
            .await
            .unwrap()
            .conflicts
            .is_empty()
    );
    dismiss(&world, &world.editor, &second.conflicts[0].id)
        .await
        .expect("dismissing again succeeds");
    dismiss(&world, &world.admin, &conflict.id)
        .await
        .expect("a resent one too");
    assert_eq!(
        dismiss(&world, &world.stranger, &second.conflicts[0].id)
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    // The change still comes in; a dismissed conflict stays closed.
    eventually(
        Duration::from_secs(10),
        "OneDrive's second edit as a version",
        || async { (world.versions(&document).await.len() == 4).then_some(()) },
    )
    .await;
    assert!(
        conflicts_of(&world, &world.admin, "")
            .await
            .unwrap()
            .conflicts
            .is_empty()
    );
}

/// A send refused only because OneDrive's eTag moved (a metadata change
/// Folio had not heard of yet) is a conflict whose OneDrive change turns out
/// to be no content: noted as come in with no version, so the person knows
/// sending again is safe, and no version is added.
async fn a_metadata_only_conflict_brings_no_version(backend: Backend) {
    let world = World::start(backend).await;
    let g = &world.graph;
    world.connect().await;
    world.settle().await;
    let document = world
        .upload(&world.editor, "memo.txt", Bytes::from_static(b"memo v1"))
        .await
        .document
        .unwrap()
        .id;
    let item = send(&world, &document, 0).await.unwrap().item_id;
    world.settle().await;
    g.set_notification_delay(Duration::from_secs(60));
    g.rename(DRIVE, &item, "memo.txt");
    let refused = send(&world, &document, 0).await.unwrap_err();
    assert_eq!(refused.code(), Code::Aborted);
    let noted = eventually(Duration::from_secs(10), "the change noted", || async {
        let listed = conflicts_of(&world, &world.editor, &document)
            .await
            .unwrap();
        let c = listed.conflicts.into_iter().next()?;
        (!c.incoming_at.is_empty()).then_some(c)
    })
    .await;
    assert_eq!(noted.incoming_version, 0, "OneDrive changed no content");
    assert_eq!(noted.sent_version, 1);
    assert_eq!(world.versions(&document).await.len(), 1);
    send(&world, &document, 0)
        .await
        .expect("sending again is safe");
    assert!(
        conflicts_of(&world, &world.editor, "")
            .await
            .unwrap()
            .conflicts
            .is_empty()
    );
}

folio_testkit::backend_tests!(
    sync_lag_grows_while_waiting_and_is_kept,
    conflicts_are_kept_until_resent_or_dismissed,
    a_metadata_only_conflict_brings_no_version
);
