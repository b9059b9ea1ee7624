use folio_platform::db::Backend;
use folio_proto::users::v1 as pb;
use folio_testkit::backend_tests;
use tonic::Code;

use super::helpers::{PASSWORD, TestApp, actor};

backend_tests!(bad_input_is_refused_and_changes_nothing);

async fn bad_input_is_refused_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, admin) = app.organisation("Acme").await;
    let provision = |email: &str, name: &str, role: i32, password: &str| pb::ProvisionUserRequest {
        email: email.into(),
        display_name: name.into(),
        role,
        password: password.into(),
    };
    let editor = pb::Role::Editor as i32;
    let long = "x".repeat(101);
    let cases = [
        provision("", "Name", editor, PASSWORD),
        provision("not-an-email", "Name", editor, PASSWORD),
        provision("a@b.example", "", editor, PASSWORD),
        provision("a@b.example", "   ", editor, PASSWORD),
        provision("a@b.example", &long, editor, PASSWORD),
        provision("a@b.example", "Bad\u{0}Name", editor, PASSWORD),
        provision("a@b.example", "Name", 0, PASSWORD),
        provision("a@b.example", "Name", 99, PASSWORD),
        provision("a@b.example", "Name", editor, "short"),
    ];
    for case in cases {
        let status = app
            .bff()
            .provision_user(actor(&admin).request(case.clone()))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{case:?}");
        assert!(!status.message().is_empty());
    }

    for id in ["", "123", "not-a-uuid", "../../etc/passwd"] {
        let status = app
            .bff()
            .get_user(actor(&admin).request(pb::GetUserRequest { id: id.into() }))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{id:?}");
    }
    let unknown_role = app
        .bff()
        .update_user(actor(&admin).request(pb::UpdateUserRequest {
            id: admin.id.clone(),
            role: Some(42),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(unknown_role.code(), Code::InvalidArgument);

    // Without the acting user in metadata, nothing is answered.
    let anonymous = app
        .bff()
        .list_users(pb::ListUsersRequest {})
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    let bad_org = app
        .client("operator")
        .create_organisation(pb::CreateOrganisationRequest {
            name: " ".into(),
            admin_email: "x@y.example".into(),
            admin_display_name: "X".into(),
            admin_password: PASSWORD.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad_org.code(), Code::InvalidArgument);

    // Nothing above changed anything.
    let users = app
        .bff()
        .list_users(actor(&admin).request(pb::ListUsersRequest {}))
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(
        users,
        vec![{
            let mut a = admin.clone();
            a.updated_at = users[0].updated_at.clone();
            a
        }]
    );
    let orgs = app
        .client("operator")
        .list_organisations(pb::ListOrganisationsRequest {})
        .await
        .unwrap()
        .into_inner()
        .organisations;
    assert_eq!(orgs.len(), 1);
}
