use std::time::{Duration, Instant};

use folio_platform::db::Backend;
use folio_proto::users::v1 as pb;
use folio_testkit::backend_tests;
use tonic::Code;

use super::helpers::{PASSWORD, TestApp, actor};

backend_tests!(
    refusals_look_alike,
    own_password_change_needs_the_current_one
);

async fn attempt(
    app: &TestApp,
    email: &str,
    password: &str,
) -> (Result<pb::User, tonic::Status>, Duration) {
    let started = Instant::now();
    let result = app
        .bff()
        .authenticate(pb::AuthenticateRequest {
            email: email.into(),
            password: password.into(),
        })
        .await
        .map(tonic::Response::into_inner);
    (result, started.elapsed())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn refusals_look_alike(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, admin) = app.organisation("Acme").await;
    let editor = app
        .provision(&admin, "ed@acme.example", pb::Role::Editor)
        .await;
    app.bff()
        .update_user(actor(&admin).request(pb::UpdateUserRequest {
            id: editor.id.clone(),
            disabled: Some(true),
            ..Default::default()
        }))
        .await
        .unwrap();

    let mut wrong_password = Vec::new();
    let mut unknown_email = Vec::new();
    let mut messages = Vec::new();
    for _ in 0..5 {
        for (email, password, times) in [
            (
                "admin@acme.example",
                "wrong password here",
                &mut wrong_password,
            ),
            ("nobody@acme.example", PASSWORD, &mut unknown_email),
        ] {
            let (result, took) = attempt(&app, email, password).await;
            let status = result.unwrap_err();
            assert_eq!(status.code(), Code::Unauthenticated);
            messages.push(status.message().to_owned());
            times.push(took);
        }
    }
    // The disabled user with the right password is refused exactly the same way.
    let (disabled, _) = attempt(&app, "ed@acme.example", PASSWORD).await;
    let disabled = disabled.unwrap_err();
    assert_eq!(disabled.code(), Code::Unauthenticated);
    messages.push(disabled.message().to_owned());
    messages.dedup();
    assert_eq!(messages, vec!["email or password is wrong".to_owned()]);

    // Both paths pay for one Argon2id verification: an unknown email is not
    // answered measurably faster (generous bounds; hashing dominates).
    let (wrong, unknown) = (median(wrong_password), median(unknown_email));
    assert!(
        unknown * 3 > wrong && wrong * 3 > unknown,
        "wrong password {wrong:?} vs unknown email {unknown:?}"
    );
    assert!(
        attempt(&app, "admin@acme.example", PASSWORD)
            .await
            .0
            .is_ok()
    );
}

async fn own_password_change_needs_the_current_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, admin) = app.organisation("Acme").await;
    let viewer = app
        .provision(&admin, "vi@acme.example", pb::Role::Viewer)
        .await;

    let refused = app
        .bff()
        .change_password(actor(&viewer).request(pb::ChangePasswordRequest {
            current_password: "not my password".into(),
            new_password: "a brand new password".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(attempt(&app, "vi@acme.example", PASSWORD).await.0.is_ok());

    let too_short = app
        .bff()
        .change_password(actor(&viewer).request(pb::ChangePasswordRequest {
            current_password: PASSWORD.into(),
            new_password: "short".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(too_short.code(), Code::InvalidArgument);
    assert!(attempt(&app, "vi@acme.example", PASSWORD).await.0.is_ok());

    app.bff()
        .change_password(actor(&viewer).request(pb::ChangePasswordRequest {
            current_password: PASSWORD.into(),
            new_password: "a brand new password".into(),
        }))
        .await
        .unwrap();
    assert!(attempt(&app, "vi@acme.example", PASSWORD).await.0.is_err());
    assert!(
        attempt(&app, "vi@acme.example", "a brand new password")
            .await
            .0
            .is_ok()
    );
}
