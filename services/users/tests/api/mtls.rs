use folio_platform::db::Backend;
use folio_proto::users::v1::{self as pb, users_service_client::UsersServiceClient};
use folio_testkit::Pki;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::Code;

use super::helpers::{PASSWORD, TestApp};

fn authenticate() -> pb::AuthenticateRequest {
    pb::AuthenticateRequest {
        email: "admin@acme.example".into(),
        password: PASSWORD.into(),
    }
}

#[tokio::test]
async fn callers_without_a_valid_identity_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.organisation("Acme").await;

    // No client certificate at all.
    let anonymous = UsersServiceClient::new(app.pki.anonymous_channel(app.port))
        .authenticate(authenticate())
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    // A certificate from another CA never completes the handshake.
    let foreign = Pki::new();
    let foreign_ca = UsersServiceClient::new(foreign.channel("bff", app.port))
        .authenticate(authenticate())
        .await
        .unwrap_err();
    assert_eq!(foreign_ca.code(), Code::Unavailable, "{foreign_ca:?}");

    // The right CA, but an identity this RPC does not allow.
    for identity in ["documents", "integration", "operator"] {
        let denied = app
            .client(identity)
            .authenticate(authenticate())
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{identity}");
    }
    let denied = app
        .client("bff")
        .create_organisation(pb::CreateOrganisationRequest::default())
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    assert!(app.client("bff").authenticate(authenticate()).await.is_ok());
}

async fn server_certificate(app: &TestApp) -> Vec<u8> {
    let connector = TlsConnector::from(app.pki.client_config("bff"));
    let tcp = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

fn der_of(path: &std::path::Path) -> Vec<u8> {
    let pem = std::fs::read(path).unwrap();
    rustls_pemfile::certs(&mut pem.as_slice())
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn a_rotated_server_certificate_is_served_without_a_restart() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.organisation("Acme").await;
    let files = app.pki.files("users");
    let before = server_certificate(&app).await;
    assert_eq!(before, der_of(&files.cert));

    // Rotation as cert-manager does it: new key pair, same names, same paths.
    std::thread::sleep(std::time::Duration::from_millis(20));
    app.pki.pki.issue("users").unwrap();
    let after = server_certificate(&app).await;
    assert_ne!(after, before);
    assert_eq!(after, der_of(&files.cert));
    assert!(app.client("bff").authenticate(authenticate()).await.is_ok());
}

#[tokio::test]
async fn only_notifications_lists_recipients_and_only_it_reads_this() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.organisation("Acme").await;
    for identity in ["bff", "documents", "integration", "operator"] {
        let denied = app
            .client(identity)
            .list_recipients(pb::ListRecipientsRequest::default())
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied, "{identity}");
    }
    let all = app
        .client("notifications")
        .list_recipients(pb::ListRecipientsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.organisations.len(), 1);
    let acme = &all.organisations[0];
    assert_eq!(acme.organisation.as_ref().unwrap().name, "Acme");
    assert!(acme.users.iter().any(|u| u.email == "admin@acme.example"));
    // One organisation by id; a bad id is refused; an unknown one is empty.
    let id = acme.organisation.as_ref().unwrap().id.clone();
    let one = app
        .client("notifications")
        .list_recipients(pb::ListRecipientsRequest {
            organisation_id: id,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(one.organisations.len(), 1);
    let bad = app
        .client("notifications")
        .list_recipients(pb::ListRecipientsRequest {
            organisation_id: "x".repeat(10_000),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let none = app
        .client("notifications")
        .list_recipients(pb::ListRecipientsRequest {
            organisation_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(none.organisations.is_empty());
    // The notifications identity may not do anything else.
    let denied = app
        .client("notifications")
        .authenticate(authenticate())
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}
