//! No account discovery across organisations (issue 12, point 8), through
//! the portal's API: provisioning an address another organisation uses
//! succeeds, and signing in enters the organisation whose account the
//! password opens, or offers a choice among exactly those.

use folio_platform::db::Backend;
use folio_testkit::backend_tests;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::helpers::{PASSWORD, TestSystem};

backend_tests!(one_email_in_several_organisations);

async fn one_email_in_several_organisations(backend: Backend) {
    let system = TestSystem::spawn(backend).await;
    let acme = system.signed_in("admin@acme.example").await;
    let globex = system.signed_in("admin@globex.example").await;
    let pat = "pat@provider.example";
    let provision = |admin: &super::helpers::Browser, password: &str| {
        let admin = admin.clone();
        let body =
            json!({"email": pat, "display_name": "Pat", "role": "editor", "password": password});
        async move { admin.json(Method::POST, "/api/v1/users", &body).await }
    };
    assert_eq!(provision(&acme, PASSWORD).await.status, StatusCode::CREATED);
    let in_globex = provision(&globex, "globex password!!").await;
    assert_eq!(
        in_globex.status,
        StatusCode::CREATED,
        "{}",
        in_globex.text()
    );
    let taken = provision(&globex, PASSWORD).await;
    assert_eq!(
        (taken.status, taken.problem_type().as_str()),
        (StatusCode::CONFLICT, "email-taken")
    );

    // Different passwords: each enters its own organisation, no choice shown.
    let browser = system.browser();
    let into_globex = browser.sign_in(pat, "globex password!!").await;
    assert_eq!(into_globex.status, StatusCode::OK);
    assert_eq!(
        into_globex.json()["user"]["id"],
        in_globex.json()["id"],
        "{}",
        into_globex.text()
    );

    // The same password in both: a choice of exactly those two, no cookie.
    let globex_users = globex.get("/api/v1/users").await.json();
    let globex_pat = globex_users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == pat)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reset = globex
        .json(
            Method::POST,
            &format!("/api/v1/users/{globex_pat}/password"),
            &json!({"new_password": PASSWORD}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{}", reset.text());
    let fresh = system.browser();
    let choice = fresh.sign_in(pat, PASSWORD).await;
    assert_eq!(choice.status, StatusCode::OK, "{}", choice.text());
    assert!(choice.header("set-cookie").is_none());
    let organisations = choice.json()["organisations"].as_array().unwrap().clone();
    let names: Vec<&str> = organisations
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme", "globex"]);
    let globex_id = organisations[1]["id"].as_str().unwrap();
    let chosen = fresh
        .json(
            Method::POST,
            "/api/v1/session",
            &json!({"email": pat, "password": PASSWORD, "organisation_id": globex_id}),
        )
        .await;
    assert_eq!(chosen.status, StatusCode::OK, "{}", chosen.text());
    assert_eq!(chosen.json()["user"]["id"], globex_pat.as_str());
    assert_eq!(chosen.json()["user"]["organisation_id"], globex_id);
    let bad_choice = fresh
        .json(
            Method::POST,
            "/api/v1/session",
            &json!({"email": pat, "password": PASSWORD, "organisation_id": "nope"}),
        )
        .await;
    assert_eq!(bad_choice.status, StatusCode::BAD_REQUEST);
}
