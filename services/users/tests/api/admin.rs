use folio_platform::db::Backend;
use folio_proto::users::v1 as pb;
use folio_testkit::backend_tests;
use tonic::Code;

use super::helpers::{PASSWORD, TestApp, actor};

backend_tests!(
    admins_maintain_users,
    an_organisation_keeps_an_enabled_admin,
    only_admins_administer
);

async fn admins_maintain_users(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (org, admin) = app.organisation("Acme").await;
    let editor = app
        .provision(&admin, "Ed@Acme.example", pb::Role::Editor)
        .await;
    assert_eq!(editor.email, "ed@acme.example");
    assert_eq!(editor.organisation_id, org.id);
    assert!(!editor.disabled);

    let users = app
        .bff()
        .list_users(actor(&admin).request(pb::ListUsersRequest {}))
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(users.len(), 2);

    let duplicate = app
        .bff()
        .provision_user(actor(&admin).request(pb::ProvisionUserRequest {
            email: "ed@acme.example".into(),
            display_name: "Ed Again".into(),
            role: pb::Role::Viewer.into(),
            password: PASSWORD.into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), Code::AlreadyExists);

    let updated = app
        .bff()
        .update_user(actor(&admin).request(pb::UpdateUserRequest {
            id: editor.id.clone(),
            role: Some(pb::Role::Viewer.into()),
            display_name: Some("Edward".into()),
            disabled: None,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.role, pb::Role::Viewer as i32);
    assert_eq!(updated.display_name, "Edward");
    let fetched = app
        .client("documents")
        .get_user(actor(&admin).request(pb::GetUserRequest {
            id: editor.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched, updated);

    app.bff()
        .reset_password(actor(&admin).request(pb::ResetPasswordRequest {
            id: editor.id.clone(),
            new_password: "reset by the admin".into(),
        }))
        .await
        .unwrap();
    let login = |password: &'static str| {
        let mut client = app.bff();
        async move {
            client
                .authenticate(pb::AuthenticateRequest {
                    email: "ed@acme.example".into(),
                    password: password.into(),
                })
                .await
        }
    };
    assert!(login(PASSWORD).await.is_err());
    assert!(login("reset by the admin").await.is_ok());
}

async fn an_organisation_keeps_an_enabled_admin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, admin) = app.organisation("Acme").await;
    for change in [
        pb::UpdateUserRequest {
            id: admin.id.clone(),
            role: Some(pb::Role::Editor.into()),
            ..Default::default()
        },
        pb::UpdateUserRequest {
            id: admin.id.clone(),
            disabled: Some(true),
            ..Default::default()
        },
    ] {
        let refused = app
            .bff()
            .update_user(actor(&admin).request(change))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::FailedPrecondition);
    }
    let still = app
        .bff()
        .get_user(actor(&admin).request(pb::GetUserRequest {
            id: admin.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(still.role, pb::Role::Admin as i32);
    assert!(!still.disabled);

    // With a second admin, the first may step down; then the second may not.
    let second = app
        .provision(&admin, "second@acme.example", pb::Role::Admin)
        .await;
    app.bff()
        .update_user(actor(&admin).request(pb::UpdateUserRequest {
            id: admin.id.clone(),
            role: Some(pb::Role::Editor.into()),
            ..Default::default()
        }))
        .await
        .unwrap();
    let refused = app
        .bff()
        .update_user(actor(&second).request(pb::UpdateUserRequest {
            id: second.id.clone(),
            disabled: Some(true),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
}

async fn only_admins_administer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, admin) = app.organisation("Acme").await;
    let editor = app
        .provision(&admin, "ed@acme.example", pb::Role::Editor)
        .await;

    let denied = app
        .bff()
        .provision_user(actor(&editor).request(pb::ProvisionUserRequest {
            email: "new@acme.example".into(),
            display_name: "New".into(),
            role: pb::Role::Admin.into(),
            password: PASSWORD.into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    // A role claimed in metadata is not trusted: the stored role decides.
    let mut forged = actor(&editor);
    forged.role = folio_platform::actor::ActorRole::Admin;
    let denied = app
        .bff()
        .update_user(forged.request(pb::UpdateUserRequest {
            id: editor.id.clone(),
            role: Some(pb::Role::Admin.into()),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    // A disabled admin can no longer administer.
    let other_admin = app
        .provision(&admin, "oa@acme.example", pb::Role::Admin)
        .await;
    app.bff()
        .update_user(actor(&admin).request(pb::UpdateUserRequest {
            id: other_admin.id.clone(),
            disabled: Some(true),
            ..Default::default()
        }))
        .await
        .unwrap();
    let denied = app
        .bff()
        .reset_password(actor(&other_admin).request(pb::ResetPasswordRequest {
            id: editor.id.clone(),
            new_password: "not going to happen".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}
