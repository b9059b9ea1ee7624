use folio_platform::db::Backend;
use folio_proto::users::v1 as pb;
use folio_testkit::backend_tests;
use tonic::Code;

use super::helpers::{TestApp, actor};

backend_tests!(another_organisation_sees_nothing);

async fn another_organisation_sees_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, acme_admin) = app.organisation("Acme").await;
    let (_, globex_admin) = app.organisation("Globex").await;
    let acme_editor = app
        .provision(&acme_admin, "ed@acme.example", pb::Role::Editor)
        .await;
    let intruder = actor(&globex_admin);

    let get = app
        .bff()
        .get_user(intruder.request(pb::GetUserRequest {
            id: acme_editor.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(get.code(), Code::NotFound);
    let update = app
        .bff()
        .update_user(intruder.request(pb::UpdateUserRequest {
            id: acme_editor.id.clone(),
            disabled: Some(true),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(update.code(), Code::NotFound);
    let reset = app
        .bff()
        .reset_password(intruder.request(pb::ResetPasswordRequest {
            id: acme_editor.id.clone(),
            new_password: "taken over by globex".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(reset.code(), Code::NotFound);

    let listed = app
        .bff()
        .list_users(intruder.request(pb::ListUsersRequest {}))
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, globex_admin.id);

    // An actor claiming another organisation's id with their own user id is nobody there.
    let mut forged = actor(&globex_admin);
    forged.org_id = acme_admin.organisation_id.parse().unwrap();
    let forged_update = app
        .bff()
        .update_user(forged.request(pb::UpdateUserRequest {
            id: acme_editor.id.clone(),
            disabled: Some(true),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(forged_update.code(), Code::PermissionDenied);

    let untouched = app
        .bff()
        .get_user(actor(&acme_admin).request(pb::GetUserRequest {
            id: acme_editor.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(untouched, acme_editor);
}
