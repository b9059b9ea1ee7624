//! The gRPC surface: who may call, who may do what, bad input, and what a
//! connection looks like to other organisations.

use std::time::Duration;

use folio_platform::db::Backend;
use folio_proto::integration::v1::{
    self as pb, integration_service_client::IntegrationServiceClient,
};
use tonic::Code;

use crate::helpers::{APP_ID, DRIVE, World, eventually};

/// A named change to a valid connect request.
type Change = (&'static str, Box<dyn Fn(&mut pb::ConnectRequest)>);

async fn only_the_bff_may_call(backend: Backend) {
    let world = World::start(backend).await;
    let port = world.integration.port;
    for identity in ["documents", "users", "operator"] {
        let status = world
            .integration_as(identity, port)
            .get_connection(world.admin.request(pb::GetConnectionRequest {}))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied, "{identity}");
    }
    let status = IntegrationServiceClient::new(world.pki.anonymous_channel(port))
        .get_connection(world.admin.request(pb::GetConnectionRequest {}))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    // The bff without an end user in the metadata.
    let status = world
        .integration()
        .get_connection(pb::GetConnectionRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}

async fn connecting_checks_roles_input_and_graph(backend: Backend) {
    let world = World::start(backend).await;
    let mut api = world.integration();
    let nothing_connected = async |world: &World| {
        let status = world
            .integration()
            .get_connection(world.admin.request(pb::GetConnectionRequest {}))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
        assert!(world.graph.subscriptions().is_empty());
    };

    for actor in [&world.editor, &world.viewer] {
        let status = api
            .connect_one_drive(actor.request(world.connect_request()))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    let bad: Vec<Change> = vec![
        ("app_id", Box::new(|r| r.app_id = "not-a-guid".into())),
        (
            "client_secret",
            Box::new(|r| r.client_secret = String::new()),
        ),
        (
            "client_secret",
            Box::new(|r| r.client_secret = "x".repeat(1025)),
        ),
        (
            "client_secret",
            Box::new(|r| r.client_secret = "line\nbreak".into()),
        ),
        (
            "tenant_id",
            Box::new(|r| r.tenant_id = "contoso\r\nX-Injected: 1".into()),
        ),
        ("drive_id", Box::new(|r| r.drive_id = String::new())),
        ("folder", Box::new(|r| r.folder = "/a/../../b".into())),
    ];
    for (field, change) in bad {
        let mut request = world.connect_request();
        change(&mut request);
        let status = api
            .connect_one_drive(world.admin.request(request))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}");
        assert!(status.message().contains(field), "{}", status.message());
    }
    nothing_connected(&world).await;

    // Graph says no.
    let failures: Vec<Change> = vec![
        (
            "a wrong secret",
            Box::new(|r| r.client_secret = "not the secret".into()),
        ),
        (
            "an unknown app",
            Box::new(|r| r.app_id = "11111111-2222-3333-4444-555555555555".into()),
        ),
        (
            "an unknown folder",
            Box::new(|r| r.folder = "01NOSUCHITEM".into()),
        ),
        (
            "an unknown drive",
            Box::new(|r| r.drive_id = "b!other".into()),
        ),
    ];
    for (what, change) in failures {
        let mut request = world.connect_request();
        change(&mut request);
        let status = api
            .connect_one_drive(world.admin.request(request))
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::FailedPrecondition,
            "{what}: {status:?}"
        );
        assert!(!status.message().contains("not the secret"));
    }
    let file = world.graph.add_file(DRIVE, &world.folder, "a.txt", "x");
    let mut request = world.connect_request();
    request.folder = file;
    let status = api
        .connect_one_drive(world.admin.request(request))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    nothing_connected(&world).await;

    // A path works as well as an id.
    let mut request = world.connect_request();
    request.folder = "/Client files".into();
    let connection = api
        .connect_one_drive(world.admin.request(request))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(connection.folder_id, world.folder);
    assert_eq!(connection.app_id, APP_ID);
    assert!(!connection.client_secret_set_at.is_empty());
    let again = api
        .connect_one_drive(world.admin.request(world.connect_request()))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);
    // Another organisation neither sees it nor can take the same drive.
    let status = api
        .get_connection(world.stranger.request(pb::GetConnectionRequest {}))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = api
        .connect_one_drive(world.stranger.request(world.connect_request()))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "neutral (trust.rs)"
    );
    // Viewers see the connection; they cannot sync it.
    api.get_connection(world.viewer.request(pb::GetConnectionRequest {}))
        .await
        .unwrap();
    let status = api
        .sync_now(world.viewer.request(pb::SyncNowRequest {}))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // Tokens are cached, not fetched per request.
    world.next_sync().await;
    world.next_sync().await;
    assert!(
        world.graph.token_requests() <= 8,
        "{}",
        world.graph.token_requests()
    );
}

async fn disconnect_and_reconnect(backend: Backend) {
    let world = World::start(backend).await;
    world.graph.add_file(DRIVE, &world.folder, "a.txt", "one");
    world.graph.add_file(DRIVE, &world.folder, "b.txt", "two");
    world.connect().await;
    eventually(Duration::from_secs(10), "the mirror", || async {
        (world.documents_list().await.len() == 2).then_some(())
    })
    .await;
    let status = world
        .integration()
        .disconnect_one_drive(world.editor.request(pb::DisconnectRequest {}))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    world
        .integration()
        .disconnect_one_drive(world.admin.request(pb::DisconnectRequest {}))
        .await
        .unwrap();
    assert!(
        world.graph.subscriptions().is_empty(),
        "the subscription is deleted"
    );
    let status = world
        .integration()
        .get_connection(world.admin.request(pb::GetConnectionRequest {}))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(world.documents_list().await.len(), 2, "documents stay");

    // Reconnecting the same folder maps the same documents again.
    world.connect().await;
    world.next_sync().await;
    assert_eq!(world.documents_list().await.len(), 2);
    assert_eq!(world.connection().await.documents_mirrored, 2);
}

folio_testkit::backend_tests!(
    only_the_bff_may_call,
    connecting_checks_roles_input_and_graph,
    disconnect_and_reconnect,
);
