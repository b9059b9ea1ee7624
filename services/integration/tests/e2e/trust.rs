//! Tenant trust (issue 12): a client secret belongs to one organisation and
//! is write-only; only admins see the Graph coordinates; a drive held by one
//! organisation is not revealed to another. All over gRPC with real mTLS.

use std::time::Duration;

use folio_integration::Timing;
use folio_platform::db::Backend;
use folio_proto::integration::v1 as pb;
use serde_json::{Value, json};
use sqlx::Row;
use tonic::Code;

use crate::helpers::{APP_ID, DRIVE, SECRET, TENANT, World, eventually};

/// What a secret store entry of the old design was called; a stranger tries it.
const OLD_SECRET_NAME: &str = "graph-contoso";

async fn a_client_secret_belongs_to_one_organisation(backend: Backend) {
    let world = World::start(backend).await;
    let api = || world.integration();
    // Short-lived tokens, so a revoked secret is noticed within a second.
    world.graph.set_token_lifetime(1);
    let connected = world.connect().await;
    assert!(
        !format!("{connected:?}").contains(SECRET),
        "the secret is never returned"
    );

    // Sealed at rest under the organisation's id, never in plain text.
    let pool = world.integration_pool().await;
    let rows = sqlx::query("SELECT org_id, sealed FROM client_secrets")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let org: String = rows[0].try_get("org_id").unwrap();
    assert_eq!(org, world.admin.org_id.to_string());
    let sealed: String = rows[0].try_get("sealed").unwrap();
    let opened = hex::decode(&sealed).unwrap();
    assert!(!sealed.contains(SECRET) && !sealed.contains(&hex::encode(SECRET)));
    assert!(!opened.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
    pool.close().await;

    // Organisation B's admin with A's tenant and app, naming A's secret the
    // old way or a variable of the process: Graph gets that text as the
    // secret and refuses it; nothing is stored for B.
    for guess in [
        OLD_SECRET_NAME,
        "PATH",
        "HOME",
        "FOLIO_INTEGRATION_SECRETS_KEY",
    ] {
        let mut request = world.connect_request();
        request.client_secret = guess.into();
        request.drive_id = "b!globex-wants-in".into();
        let status = api()
            .connect_one_drive(world.stranger.request(request))
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::FailedPrecondition,
            "{guess}: {status:?}"
        );
        assert!(
            status.message().contains("credentials"),
            "{}",
            status.message()
        );
    }
    let none = api()
        .get_connection(world.stranger.request(pb::GetConnectionRequest {}))
        .await
        .unwrap_err();
    assert_eq!(none.code(), Code::NotFound);

    // Rotation: only an admin of the organisation, and only with a secret
    // Graph accepts.
    for actor in [&world.editor, &world.viewer] {
        let status = api()
            .replace_client_secret(actor.request(pb::ReplaceClientSecretRequest {
                client_secret: "new-client-secret".into(),
            }))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    let status = api()
        .replace_client_secret(world.stranger.request(pb::ReplaceClientSecretRequest {
            client_secret: "new-client-secret".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::NotFound,
        "B has no connection to rotate"
    );
    for (bad, code) in [
        (String::new(), Code::InvalidArgument),
        ("x".repeat(1025), Code::InvalidArgument),
        ("tab\there".to_owned(), Code::InvalidArgument),
        ("not-the-new-secret".to_owned(), Code::FailedPrecondition),
    ] {
        let status = api()
            .replace_client_secret(world.admin.request(pb::ReplaceClientSecretRequest {
                client_secret: bad.clone(),
            }))
            .await
            .unwrap_err();
        assert_eq!(status.code(), code, "{bad:.20}");
        assert!(!status.message().contains(&bad) || bad.is_empty());
    }
    // The refused attempts changed nothing: A still mirrors.
    world
        .graph
        .add_file(DRIVE, &world.folder, "before.txt", "1");
    eventually(Duration::from_secs(20), "before.txt", || async {
        world.document_named("before.txt").await
    })
    .await;

    // Entra ID gets a new secret and the old one is deleted: syncs fail
    // until the admin enters the new one.
    const NEW: &str = "rotated-client-secret";
    world.graph.add_app(TENANT, APP_ID, NEW);
    world.graph.revoke_secret(TENANT, APP_ID, SECRET);
    let before = world.connection().await.client_secret_set_at;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    api()
        .sync_now(world.admin.request(pb::SyncNowRequest {}))
        .await
        .unwrap();
    eventually(
        Duration::from_secs(20),
        "the revoked secret fails",
        || async {
            let error = world.connection().await.last_error;
            error.contains("credentials").then_some(())
        },
    )
    .await;
    let replaced = api()
        .replace_client_secret(world.admin.request(pb::ReplaceClientSecretRequest {
            client_secret: NEW.into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(replaced.client_secret_set_at, before);
    assert!(!format!("{replaced:?}").contains(NEW));
    world.graph.add_file(DRIVE, &world.folder, "after.txt", "2");
    eventually(
        Duration::from_secs(20),
        "after.txt with the new secret",
        || async { world.document_named("after.txt").await },
    )
    .await;
    assert_eq!(world.connection().await.last_error, "");

    // Disconnecting forgets the secret.
    api()
        .disconnect_one_drive(world.admin.request(pb::DisconnectRequest {}))
        .await
        .unwrap();
    let pool = world.integration_pool().await;
    let left = sqlx::query("SELECT COUNT(*) AS n FROM client_secrets")
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get::<i64, _>("n")
        .unwrap();
    assert_eq!(left, 0);
    pool.close().await;
}

async fn only_admins_see_the_graph_coordinates(backend: Backend) {
    let world = World::start(backend).await;
    world.graph.add_file(DRIVE, &world.folder, "a.txt", "x");
    world.connect().await;
    eventually(
        Duration::from_secs(20),
        "a subscription and a sync",
        || async {
            let c = world.connection().await;
            (!c.subscription_id.is_empty() && !c.last_sync_at.is_empty()).then_some(())
        },
    )
    .await;
    let admin = world.connection().await;
    assert_eq!(admin.tenant_id, TENANT);
    assert_eq!(admin.app_id, APP_ID);
    assert_eq!(admin.drive_id, DRIVE);
    assert_eq!(admin.folder_id, world.folder);
    assert!(!admin.client_secret_set_at.is_empty());
    for actor in [&world.editor, &world.viewer] {
        let seen = world
            .integration()
            .get_connection(actor.request(pb::GetConnectionRequest {}))
            .await
            .unwrap()
            .into_inner();
        // State and health, yes.
        assert_eq!(seen.state, admin.state);
        assert_eq!(seen.last_sync_at, admin.last_sync_at);
        assert_eq!(seen.documents_mirrored, 1);
        // Where in Graph, no.
        for (field, value) in [
            ("tenant_id", &seen.tenant_id),
            ("app_id", &seen.app_id),
            ("drive_id", &seen.drive_id),
            ("folder_id", &seen.folder_id),
            ("subscription_id", &seen.subscription_id),
            ("client_secret_set_at", &seen.client_secret_set_at),
        ] {
            assert_eq!(value, "", "{:?} sees {field}", actor.role);
        }
        let shown = format!("{seen:?}");
        assert!(!shown.contains(TENANT) && !shown.contains(DRIVE) && !shown.contains(APP_ID));
    }
}

async fn a_drive_held_elsewhere_is_refused_neutrally(backend: Backend) {
    let world = World::start(backend).await;
    world.connect().await;
    // B's admin knows working credentials (a provider serving both) and
    // tries A's drive, and a drive that does not exist: the same answer.
    let attempt = async |drive: &str| {
        let mut request = world.connect_request();
        request.drive_id = drive.into();
        world
            .integration()
            .connect_one_drive(world.stranger.request(request))
            .await
            .unwrap_err()
    };
    let held = attempt(DRIVE).await;
    let missing = attempt("b!no-such-drive").await;
    assert_eq!(held.code(), Code::FailedPrecondition, "{held:?}");
    assert_eq!(held.code(), missing.code());
    assert_eq!(held.message(), missing.message());
    assert!(
        !held.message().contains("organisation"),
        "{}",
        held.message()
    );
    // Nothing was stored for B, and A's connection is untouched.
    let status = world
        .integration()
        .get_connection(world.stranger.request(pb::GetConnectionRequest {}))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(world.connection().await.drive_id, DRIVE);
    // A itself is told plainly that it is already connected.
    let again = world
        .integration()
        .connect_one_drive(world.admin.request(world.connect_request()))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);
}

/// A notification as Graph sends it, for the subscription and client state
/// of the world's connection.
async fn valid_notification(world: &World, connection: &pb::Connection) -> Value {
    let pool = world.integration_pool().await;
    let client_state: String = sqlx::query("SELECT client_state FROM connections WHERE id = ?")
        .bind(&connection.id)
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get("client_state")
        .unwrap();
    pool.close().await;
    json!({
        "subscriptionId": connection.subscription_id,
        "clientState": client_state,
        "changeType": "updated",
        "resource": format!("drives/{DRIVE}/root"),
        "tenantId": "x",
        "subscriptionExpirationDateTime": "2030-01-01T00:00:00Z",
    })
}

/// One client for every post: building one per request costs more than the post.
static HTTP: std::sync::LazyLock<reqwest::Client> = std::sync::LazyLock::new(reqwest::Client::new);

async fn post_notifications(world: &World, values: Vec<Value>) -> u16 {
    HTTP.post(world.webhook_url("/api/v1/onedrive/notifications"))
        .json(&json!({ "value": values }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn replays_do_not_pile_up(backend: Backend) {
    let world = World::start(backend).await;
    world.graph.add_file(DRIVE, &world.folder, "a.txt", "v1");
    world.connect().await;
    eventually(Duration::from_secs(20), "the mirror", || async {
        world.document_named("a.txt").await
    })
    .await;
    world.settle().await;
    let connection = world.connection().await;
    let notification = valid_notification(&world, &connection).await;

    // Graph pauses the tenant (429 with Retry-After 300 s, for the delta and
    // the renewal SyncNow asks for), so no sync claims anything while one
    // valid notification is replayed 1,000 times, however slow the machine.
    world.graph.throttle(2, 300, 429);
    world
        .integration()
        .sync_now(world.admin.request(pb::SyncNowRequest {}))
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "the pause", || async {
        (!world.connection().await.paused_until.is_empty()).then_some(())
    })
    .await;
    let rows = world.inbox_rows().await;
    for _ in 0..50 {
        let posts = (0..20).map(|_| post_notifications(&world, vec![notification.clone()]));
        for status in futures::future::join_all(posts).await {
            assert_eq!(status, 202, "every replay is accepted, as Graph expects");
        }
    }
    assert_eq!(
        world.inbox_rows().await - rows,
        1,
        "1,000 replays wait as one notification"
    );
    let coalesced = world
        .metric("folio_integration_notifications_coalesced_total", "")
        .await
        .unwrap_or_default();
    assert_eq!(coalesced, 999.0);
    let pending = eventually(Duration::from_secs(10), "the pending gauge", || async {
        world.metric("folio_integration_inbox_pending", "").await
    })
    .await;
    assert!(pending <= 1.0, "{pending} pending");
}

async fn a_flood_of_replays_does_not_sync_back_to_back(backend: Backend) {
    let timing = Timing {
        notification_gap: Duration::from_secs(1),
        ..Timing::brisk()
    };
    let world = World::start_with(backend, timing).await;
    world.connect().await;
    let connection = eventually(Duration::from_secs(20), "a subscription", || async {
        let c = world.connection().await;
        (!c.subscription_id.is_empty()).then_some(c)
    })
    .await;
    world.settle().await;
    let notification = valid_notification(&world, &connection).await;
    let rows = world.inbox_rows().await;
    // Replays for three seconds, with nothing paused: each sync that takes
    // the waiting notification lets one more in, but the next sync for it
    // waits out the gap (one second) after the last.
    let started = std::time::Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let posts = (0..10).map(|_| post_notifications(&world, vec![notification.clone()]));
        sent += futures::future::join_all(posts).await.len();
    }
    let added = world.inbox_rows().await - rows;
    let seconds = started.elapsed().as_secs_f64().ceil() as i64;
    assert!(
        added <= 2 * seconds + 2,
        "{sent} replays over {seconds} s stored {added} rows"
    );
}

async fn processed_notifications_are_purged(backend: Backend) {
    let timing = Timing {
        inbox_retention: Duration::from_secs(1),
        ..Timing::brisk()
    };
    let world = World::start_with(backend, timing).await;
    world.connect().await;
    world.settle().await;
    // A change: its notification is stored, processed by the delta, then
    // purged once the retention period is over; the size gauge follows.
    world
        .graph
        .add_file(DRIVE, &world.folder, "purged.txt", "x");
    eventually(Duration::from_secs(20), "the change mirrored", || async {
        world.document_named("purged.txt").await
    })
    .await;
    eventually(Duration::from_secs(20), "the inbox purged", || async {
        (world.inbox_rows().await == 0).then_some(())
    })
    .await;
    eventually(Duration::from_secs(10), "the size gauge", || async {
        let size = world.metric("folio_integration_inbox_rows", "").await?;
        (size == 0.0).then_some(())
    })
    .await;
    assert!(
        world
            .graph
            .deliveries()
            .iter()
            .any(|d| d.status == Some(202) && !d.lifecycle),
        "a notification was stored"
    );
}

async fn unknown_subscription_lookups_are_capped(backend: Backend) {
    let world = World::start(backend).await;
    world.connect().await;
    let connection = eventually(Duration::from_secs(20), "a subscription", || async {
        let c = world.connection().await;
        (!c.subscription_id.is_empty()).then_some(c)
    })
    .await;
    world.settle().await;
    let valid = valid_notification(&world, &connection).await;
    let lookups = async || {
        world
            .metric("folio_integration_subscription_lookups_total", "")
            .await
            .unwrap_or_default()
    };
    let before = lookups().await;
    let mut values = vec![valid];
    for i in 0..999 {
        let mut forged = values[0].clone();
        forged["subscriptionId"] = json!(format!("forged-subscription-{i}"));
        values.push(forged);
    }
    assert_eq!(post_notifications(&world, values).await, 202);
    let looked_up = lookups().await - before;
    assert!(
        looked_up <= 8.0,
        "{looked_up} subscription look-ups for one request"
    );
    let dropped = world
        .metric("folio_integration_notifications_dropped_total", "")
        .await
        .unwrap_or_default();
    assert_eq!(dropped, 999.0);
    // The valid one (first) still counts.
    eventually(
        Duration::from_secs(10),
        "the valid notification stored",
        || async { (world.inbox_rows().await >= 1).then_some(()) },
    )
    .await;
}

folio_testkit::backend_tests!(
    replays_do_not_pile_up,
    a_flood_of_replays_does_not_sync_back_to_back,
    processed_notifications_are_purged,
    unknown_subscription_lookups_are_capped,
    a_client_secret_belongs_to_one_organisation,
    only_admins_see_the_graph_coordinates,
    a_drive_held_elsewhere_is_refused_neutrally,
);

#[test]
fn a_connect_request_never_shows_its_secret() {
    let request = pb::ConnectRequest {
        client_secret: "hunter2-client-secret".into(),
        tenant_id: TENANT.into(),
        ..Default::default()
    };
    let shown = format!("{request:?}");
    assert!(
        shown.contains(TENANT) && !shown.contains("hunter2"),
        "{shown}"
    );
    let replace = pb::ReplaceClientSecretRequest {
        client_secret: "hunter2-client-secret".into(),
    };
    assert!(!format!("{replace:?}").contains("hunter2"));
}
