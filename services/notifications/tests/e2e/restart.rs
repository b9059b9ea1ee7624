//! Killing the service in the middle of a batch loses nothing and doubles
//! nothing: every event is delivered, repeats only under the same webhook-id.

use std::{
    collections::{BTreeMap, BTreeSet},
    process::{Child, Command, Stdio},
    time::Duration,
};

use folio_platform::db::Backend;
use folio_testkit::{
    process::free_port,
    receivers::{SmtpOptions, SmtpServer, WebhookReceiver},
};

use crate::helpers::{World, eventually};

/// The real binary, so that it can be killed with SIGKILL.
fn spawn_process(world: &World, smtp_port: u16) -> Child {
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
        // What a killed instance had claimed is free again after this.
        .env("FOLIO_NOTIFICATIONS_LEASE_SECS", "2")
        .env("FOLIO_SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}"))
        .env("FOLIO_SMTP_FROM", "Folio <folio@folio.example.com>")
        .env("FOLIO_PUBLIC_URL", "https://folio.example.com/")
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
    let smtp = SmtpServer::start(&SmtpOptions {
        delay: Some(0.3),
        ..SmtpOptions::default()
    });
    world.notifications_stop_and_wait().await;
    // Each document gets a task assigned to the editor: one webhook and
    // one mail per document.
    for n in 0..EVENTS {
        let document = world.upload(&world.admin(), &format!("doc-{n}")).await;
        world
            .create_task(&world.admin(), &document.id, Some(&world.org.editor))
            .await;
    }

    let mut first = spawn_process(&world, smtp.port());
    eventually(
        Duration::from_secs(30),
        "a few deliveries and mails",
        || async {
            (receiver.received().await.len() >= 3 && smtp.received().len() >= 3).then_some(())
        },
    )
    .await;
    first.kill().expect("SIGKILL");
    let _ = first.wait();
    let before_restart = receiver.received().await.len();
    assert!(before_restart < EVENTS, "the kill came mid-batch");
    assert!(
        smtp.received().len() < EVENTS,
        "the kill came mid-batch for mail too"
    );

    let mut second = spawn_process(&world, smtp.port());
    let got = eventually(Duration::from_secs(60), "every event delivered", || async {
        let got = receiver.received().await;
        let ids: BTreeSet<_> = got.iter().map(|r| r.id.clone()).collect();
        let mails: BTreeSet<_> = smtp.received().into_iter().map(|m| m.message_id).collect();
        (ids.len() >= EVENTS && mails.len() >= EVENTS).then_some(got)
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

    // Every mail once: one per assignment, to its person, each Message-ID once
    // (a message being handed over at the very moment of the kill would be
    // repeated under its own Message-ID; with this server's pause none was).
    let mails = smtp.received();
    let ids: BTreeSet<_> = mails.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(ids.len(), EVENTS, "no mail lost");
    assert!(
        mails.len() <= EVENTS + 1,
        "{} mails for {EVENTS} assignments",
        mails.len()
    );
    assert!(mails.iter().all(|m| m.to == ["editor@acme.example"]));
}

folio_testkit::backend_tests!(killed_mid_batch_loses_and_doubles_nothing);
