//! OneDrive trouble told end to end: the fake Graph fails, the integration
//! records the failure in the documents event log once per failure streak,
//! and notifications delivers a signed `onedrive.sync_failed` (checked by
//! `standardwebhooks`) and mails the organisation's admin; the same for the
//! recovery.

use std::time::Duration;

use folio_fake_graph::FakeGraph;
use folio_integration::{Application, ClientSecretsConfig, Settings, Timing};
use folio_platform::db::Backend;
use folio_proto::integration::v1::{
    self as pb, integration_service_client::IntegrationServiceClient,
};
use folio_testkit::{
    TestDatabase, any_port,
    receivers::{SmtpOptions, SmtpServer, WebhookReceiver},
};

use crate::{
    helpers::{World, eventually},
    mail::{self, PORTAL},
};

const TENANT: &str = "contoso.onmicrosoft.com";
const APP_ID: &str = "0b6f2a34-6d0a-4c8e-9a55-0f3c1f0e9a11";
const SECRET: &str = "correct-client-secret";
const DRIVE: &str = "b!contoso-drive";

async fn a_failing_sync_is_told_once_per_streak_to_webhooks_and_admins(backend: Backend) {
    let smtp = SmtpServer::start(&SmtpOptions::default());
    let world = World::start_with_mail(
        backend,
        mail::smtp(&format!("smtp://127.0.0.1:{}", smtp.port()), None, None),
    )
    .await;
    let receiver = WebhookReceiver::start();
    let hook = world
        .create_webhook(
            &receiver.url("/onedrive"),
            &["onedrive.sync_failed", "onedrive.sync_recovered"],
        )
        .await;
    receiver.set_secret(&hook.secret).await;

    let graph = FakeGraph::start().await.expect("fake Graph starts");
    graph.add_app(TENANT, APP_ID, SECRET);
    let root = graph.add_drive(TENANT, DRIVE);
    let folder = graph.add_folder(DRIVE, &root, "Client files");
    graph.add_file(DRIVE, &folder, "a.txt", "v1");
    let integration_db = TestDatabase::create(backend).await;
    let app = Application::build(Settings {
        platform: world.pki.platform("integration"),
        database: integration_db.settings(),
        grpc_addr: any_port(),
        documents_url: format!("https://127.0.0.1:{}", world.documents_port),
        public_url: None,
        graph_url: Some(graph.graph_url().parse().unwrap()),
        token_url: graph.token_url(),
        graph_scope: None,
        client_secrets: ClientSecretsConfig::sealed_with(
            "6d3f0a1b2c4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8",
        ),
        timing: Timing::brisk(),
    })
    .await
    .expect("integration starts");
    let mut integration = IntegrationServiceClient::new(world.pki.channel("bff", app.port()));
    let integration_stop = app.stop_token();
    tokio::spawn(app.run_until_stopped());
    let admin = world.admin();
    integration
        .connect_one_drive(admin.request(pb::ConnectRequest {
            tenant_id: TENANT.into(),
            app_id: APP_ID.into(),
            client_secret: SECRET.into(),
            drive_id: DRIVE.into(),
            folder,
        }))
        .await
        .expect("connected");
    let synced = async |integration: &mut IntegrationServiceClient<_>| {
        let connection = integration
            .get_connection(admin.request(pb::GetConnectionRequest {}))
            .await
            .unwrap()
            .into_inner();
        (!connection.last_sync_at.is_empty() && connection.last_error.is_empty())
            .then_some(connection)
    };
    let first = eventually(Duration::from_secs(20), "the first sync", || {
        let mut client = integration.clone();
        async move { synced(&mut client).await }
    })
    .await;

    // Graph fails for a while: several syncs fail and are retried, then work.
    graph.refuse_next_requests(12, 500, "generalException");
    integration
        .sync_now(admin.request(pb::SyncNowRequest {}))
        .await
        .unwrap();
    let got = eventually(
        Duration::from_secs(30),
        "failed, then recovered",
        || async {
            let got = receiver.received().await;
            got.iter()
                .any(|r| r.body["type"] == "onedrive.sync_recovered")
                .then_some(got)
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let got = if receiver.received().await.len() > got.len() {
        receiver.received().await
    } else {
        got
    };
    let types: Vec<&str> = got.iter().filter_map(|r| r.body["type"].as_str()).collect();
    assert_eq!(
        types,
        ["onedrive.sync_failed", "onedrive.sync_recovered"],
        "once per streak, not per retry: {got:#?}"
    );
    assert!(got.iter().all(|r| r.verified), "{got:#?}");
    let failed = &got[0].body["data"];
    assert_eq!(failed["connection_id"], first.id.as_str());
    assert_eq!(failed["organisation_id"], admin.org_id.to_string().as_str());
    assert!(
        !failed["reason"].as_str().unwrap_or_default().is_empty(),
        "{failed}"
    );

    // The admin is mailed of both, with the link to the OneDrive page.
    let mails = mail::mails(&smtp, 2).await;
    let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "[acme] OneDrive sync is failing",
            "[acme] OneDrive syncs again"
        ],
        "{mails:#?}"
    );
    assert!(mails.iter().all(|m| m.to == ["admin@acme.example"]));
    let link = format!("{PORTAL}#/onedrive");
    assert!(mails[0].text.as_deref().unwrap().contains(&link));
    assert!(
        mails[0]
            .html
            .as_deref()
            .unwrap()
            .contains(&format!("href=\"{link}\""))
    );
    integration_stop.cancel();
}

folio_testkit::backend_tests!(a_failing_sync_is_told_once_per_streak_to_webhooks_and_admins);
