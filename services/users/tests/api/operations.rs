use folio_platform::db::Backend;
use folio_proto::users::v1 as pb;
use folio_testkit::{Pki, TestDatabase, backend_tests};
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use super::helpers::{PASSWORD, TestApp, bootstrap, http_get};

backend_tests!(
    operator_onboards_organisations,
    bootstrap_is_idempotent,
    health_is_reported
);

async fn operator_onboards_organisations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (org, admin) = app.organisation("Acme").await;
    assert_eq!(admin.organisation_id, org.id);
    assert_eq!(admin.role, pb::Role::Admin as i32);
    assert_eq!(admin.email, "admin@acme.example");

    let listed = app
        .client("operator")
        .list_organisations(pb::ListOrganisationsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.organisations, vec![org.clone()]);

    let again = app
        .client("operator")
        .create_organisation(pb::CreateOrganisationRequest {
            name: "Acme".into(),
            admin_email: "other@acme.example".into(),
            admin_display_name: "Other".into(),
            admin_password: PASSWORD.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);

    let authed = app
        .bff()
        .authenticate(pb::AuthenticateRequest {
            email: "ADMIN@acme.example".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(authed.id, admin.id);
}

async fn bootstrap_is_idempotent(backend: Backend) {
    let pki = Pki::new();
    let db = TestDatabase::create(backend).await;
    let settings = super::helpers::settings(
        &pki,
        db.url.clone(),
        Some(bootstrap("root@folio.example", PASSWORD)),
    );
    let first = folio_users::Application::build(settings).await.unwrap();
    assert!(first.bootstrapped());
    drop(first);
    let again = super::helpers::settings(
        &pki,
        db.url.clone(),
        Some(bootstrap("root@folio.example", PASSWORD)),
    );
    assert!(
        !folio_users::Application::build(again)
            .await
            .unwrap()
            .bootstrapped()
    );
    // A second start with another password must neither fail nor change anything.
    let app = TestApp::spawn_with(
        pki,
        db,
        Some(bootstrap("root@folio.example", "a different password")),
    )
    .await;
    let orgs = app
        .client("operator")
        .list_organisations(pb::ListOrganisationsRequest {})
        .await
        .unwrap()
        .into_inner()
        .organisations;
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0].name, "Bootstrap Org");
    let admin = app
        .bff()
        .authenticate(pb::AuthenticateRequest {
            email: "root@folio.example".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(admin.role, pb::Role::Admin as i32);

    let bad = folio_users::Application::build(super::helpers::settings(
        &app.pki,
        app.db.url.clone(),
        Some(bootstrap("not-an-email", PASSWORD)),
    ))
    .await
    .unwrap_err()
    .to_string();
    assert!(
        bad.contains("FOLIO_ADMIN_") && bad.contains("email"),
        "{bad}"
    );
}

async fn health_is_reported(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(http_get(app.http_port, "/healthz").await.0, 200);
    assert_eq!(http_get(app.http_port, "/readyz").await.0, 200);
    assert_eq!(http_get(app.http_port, "/nope").await.0, 404);
    let status = HealthClient::new(app.pki.channel("bff", app.port))
        .check(HealthCheckRequest {
            service: "folio.users.v1.UsersService".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);
    let (code, metrics) = http_get(app.http_port, "/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains(r#"grpc_requests_total{service="users",method="Check",code="0"} "#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"db_pool_connections{service="users",state="idle"}"#));
    assert!(metrics.contains(
        r#"http_requests_total{service="users",route="/readyz",method="GET",status="200"}"#
    ));
}
