//! Killing the service in the middle of a batch loses nothing and doubles
//! nothing: every event is delivered, repeats only under the same webhook-id.

use std::{
    collections::{BTreeMap, BTreeSet},
    process::{Child, Command, Stdio},
    time::Duration,
};

use folio_platform::db::Backend;
use folio_testkit::{process::free_port, receivers::WebhookReceiver};

use crate::helpers::{World, eventually};

/// The real binary, so that it can be killed with SIGKILL.
fn spawn_process(world: &World) -> Child {
    let tls = world.pki.files("notifications");
    Command::new(env!("CARGO_BIN_EXE_folio-notifications"))
        .env(
            "FOLIO_NOTIFICATIONS_GRPC_ADDR",
            format!("127.0.0.1:{}", free_port()),
        )
        .env(
            "FOLIO_NOTIFICATIONS_HTTP_ADDR",
            format!("127.0.0.1:{}", free_port()),
        )
        .env(
            "FOLIO_NOTIFICATIONS_DATABASE_URL",
            format!("{:?}", world.notifications_db.url),
        )
        .env(
            "FOLIO_NOTIFICATIONS_USERS_URL",
            format!("https://127.0.0.1:{}", world.users_port),
        )
        .env(
            "FOLIO_NOTIFICATIONS_DOCUMENTS_URL",
            format!("https://127.0.0.1:{}", world.documents_port),
        )
        .env("FOLIO_NOTIFICATIONS_TLS_CERT_FILE", &tls.cert)
        .env("FOLIO_NOTIFICATIONS_TLS_KEY_FILE", &tls.key)
        .env("FOLIO_NOTIFICATIONS_TLS_CA_FILE", &tls.ca)
        .env("FOLIO_NOTIFICATIONS_ALLOW_PRIVATE_WEBHOOKS", "true")
        .env("FOLIO_NOTIFICATIONS_POLL_SECS", "1")
        .env("FOLIO_NOTIFICATIONS_RETRY_BASE_SECS", "1")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the notifications binary starts")
}

async fn killed_mid_batch_loses_and_doubles_nothing(backend: Backend) {
    const EVENTS: usize = 12;
    let world = World::start(backend).await;
    let receiver = WebhookReceiver::start();
    let created = world
        .create_webhook(&receiver.url("/"), &["document.created"])
        .await;
    receiver.set_secret(&created.secret).await;
    // Slow answers, so the kill lands while deliveries are under way.
    receiver.delay(0.3).await;
    world.notifications_stop_and_wait().await;
    for n in 0..EVENTS {
        world.upload(&world.admin(), &format!("doc-{n}")).await;
    }

    let mut first = spawn_process(&world);
    eventually(Duration::from_secs(30), "a few deliveries", || async {
        (receiver.received().await.len() >= 3).then_some(())
    })
    .await;
    first.kill().expect("SIGKILL");
    let _ = first.wait();
    let before_restart = receiver.received().await.len();
    assert!(before_restart < EVENTS, "the kill came mid-batch");

    let mut second = spawn_process(&world);
    let got = eventually(Duration::from_secs(60), "every event delivered", || async {
        let got = receiver.received().await;
        let ids: BTreeSet<_> = got.iter().map(|r| r.id.clone()).collect();
        (ids.len() >= EVENTS).then_some(got)
    })
    .await;
    // Let anything still pending arrive, then count.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = {
        let later = receiver.received().await;
        if later.len() > got.len() { later } else { got }
    };
    let _ = second.kill();
    let _ = second.wait();

    assert!(got.iter().all(|r| r.verified), "every delivery verifies");
    // One webhook-id per document: a repeat is always under the same id.
    let mut ids_per_document: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &got {
        ids_per_document
            .entry(r.body["data"]["document_id"].as_str().unwrap().to_owned())
            .or_default()
            .insert(r.id.clone());
    }
    assert_eq!(ids_per_document.len(), EVENTS, "no event lost");
    assert!(ids_per_document.values().all(|ids| ids.len() == 1));
    // At most the delivery in flight at the kill came twice.
    assert!(got.len() <= EVENTS + 1, "{} deliveries", got.len());
}

folio_testkit::backend_tests!(killed_mid_batch_loses_and_doubles_nothing);
