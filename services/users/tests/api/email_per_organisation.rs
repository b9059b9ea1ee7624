//! No account discovery across organisations (issue 12, point 8): an email
//! is unique per organisation only; signing in finds the organisation whose
//! account the password opens, lets the person choose when several do, and
//! neither the answer nor its time tells about accounts elsewhere.

use std::time::{Duration, Instant};

use folio_platform::db::Backend;
use folio_proto::users::v1 as pb;
use folio_testkit::backend_tests;
use tonic::Code;

use super::helpers::{PASSWORD, TestApp, actor};

backend_tests!(an_email_may_have_an_account_in_several_organisations);

const OTHER_PASSWORD: &str = "another long password";

async fn provision(
    app: &TestApp,
    admin: &pb::User,
    email: &str,
    password: &str,
) -> Result<pb::User, tonic::Status> {
    app.bff()
        .provision_user(actor(admin).request(pb::ProvisionUserRequest {
            email: email.into(),
            display_name: "Pat".into(),
            role: pb::Role::Editor.into(),
            password: password.into(),
        }))
        .await
        .map(tonic::Response::into_inner)
}

async fn sign_in(
    app: &TestApp,
    email: &str,
    password: &str,
    organisation_id: &str,
) -> (Result<pb::SignInResponse, tonic::Status>, Duration) {
    let started = Instant::now();
    let answer = app
        .bff()
        .sign_in(pb::SignInRequest {
            email: email.into(),
            password: password.into(),
            organisation_id: organisation_id.into(),
        })
        .await
        .map(tonic::Response::into_inner);
    (answer, started.elapsed())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn an_email_may_have_an_account_in_several_organisations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (acme, acme_admin) = app.organisation("Acme").await;
    let (globex, globex_admin) = app.organisation("Globex").await;
    let (initech, initech_admin) = app.organisation("Initech").await;
    let pat = "pat@provider.example";
    let in_acme = provision(&app, &acme_admin, pat, PASSWORD).await.unwrap();
    // Provisioning the same address in another organisation succeeds.
    let in_globex = provision(&app, &globex_admin, pat, OTHER_PASSWORD)
        .await
        .expect("an email taken in Acme is free in Globex");
    assert_ne!(in_acme.id, in_globex.id);
    // Within one organisation it stays unique.
    assert_eq!(
        provision(&app, &globex_admin, pat, PASSWORD)
            .await
            .unwrap_err()
            .code(),
        Code::AlreadyExists
    );
    // An admin elsewhere sees only their own organisation's users.
    let initech_users = app
        .bff()
        .list_users(actor(&initech_admin).request(pb::ListUsersRequest {}))
        .await
        .unwrap()
        .into_inner()
        .users;
    assert!(initech_users.iter().all(|u| u.email != pat));

    // Each password enters its own organisation.
    let (acme_in, _) = sign_in(&app, pat, PASSWORD, "").await;
    assert_eq!(acme_in.unwrap().user.unwrap().id, in_acme.id);
    let (globex_in, _) = sign_in(&app, pat, OTHER_PASSWORD, "").await;
    assert_eq!(globex_in.unwrap().user.unwrap().id, in_globex.id);

    // The same password in two organisations: a choice, naming only those two.
    let in_initech = provision(&app, &initech_admin, pat, PASSWORD)
        .await
        .unwrap();
    let (choice, _) = sign_in(&app, pat, PASSWORD, "").await;
    let choice = choice.unwrap();
    assert!(choice.user.is_none());
    let names: Vec<&str> = choice.choices.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["Acme", "Initech"]);
    assert_eq!(choice.choices[1].id, initech.id);
    let (chosen, _) = sign_in(&app, pat, PASSWORD, &initech.id).await;
    assert_eq!(chosen.unwrap().user.unwrap().id, in_initech.id);
    // Choosing an organisation the password does not open is a plain refusal.
    let (wrong_choice, _) = sign_in(&app, pat, PASSWORD, &globex.id).await;
    assert_eq!(wrong_choice.unwrap_err().code(), Code::Unauthenticated);
    let (unknown, _) = sign_in(&app, pat, "not the password at all", "").await;
    assert_eq!(unknown.unwrap_err().code(), Code::Unauthenticated);
    // The single-account RPC refuses to pick for the person.
    let ambiguous = app
        .bff()
        .authenticate(pb::AuthenticateRequest {
            email: pat.into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(ambiguous.code(), Code::FailedPrecondition);
    let _ = acme;

    // Timing: a wrong password for an email with three accounts costs what it
    // costs for an email with one (one Argon2 run, the salt is shared).
    let loner = "solo@acme.example";
    provision(&app, &acme_admin, loner, PASSWORD).await.unwrap();
    let mut three = Vec::new();
    let mut one = Vec::new();
    for _ in 0..5 {
        three.push(sign_in(&app, pat, "a wrong password!", "").await.1);
        one.push(sign_in(&app, loner, "a wrong password!", "").await.1);
    }
    let (three, one) = (median(three), median(one));
    assert!(
        three.as_secs_f64() < one.as_secs_f64() * 1.6,
        "three accounts took {three:?}, one took {one:?}: the time tells how many there are"
    );
}
