//! Sign-in with an organisation's identity provider (issue 17, ADR 0066 and
//! 0067), against a real OpenID Connect provider (npm's oidc-provider) that
//! plays two Entra ID tenants and a plain issuer, and that can be made to
//! forge its answers.

use folio_bff::settings::ProviderSettings;
use folio_platform::{db::Backend, secrets::Secret};
use folio_testkit::oidc::{OidcProvider, TENANT_A, TENANT_B, client_certificate};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::helpers::{Browser, Options, PASSWORD, Reply, Sessions, TestSystem, redis_url};

const APP: &str = "folio-entra-app";
const APP_SECRET: &str = "entra-app-secret-value-1234";
/// The deployment's app when it authenticates with a certificate.
const CERT_APP: &str = "folio-entra-cert-app";

struct Sso {
    system: TestSystem,
    provider: OidcProvider,
    admin: Browser,
}

impl Sso {
    /// Acme signs in with Entra ID tenant A through the deployment's app.
    async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Options)) -> Self {
        let provider = OidcProvider::start();
        let mut options = Options {
            providers: ProviderSettings {
                entra_authority: provider.authority(),
                entra_client_id: Some(APP.into()),
                entra_client_secret: Some(Secret::new(APP_SECRET)),
                ..ProviderSettings::default()
            },
            ..Options::default()
        };
        tweak(&mut options);
        let system = TestSystem::spawn_with(backend, options).await;
        let callback = format!("{}/api/v1/session/oidc/callback", system.base);
        provider.setup(&callback, APP, APP_SECRET).await;
        let admin = system.signed_in("admin@acme.example").await;
        let put = admin
            .json(
                Method::PUT,
                "/api/v1/organisation/sign-in",
                &json!({"oidc": {"tenant_id": TENANT_A, "domains": ["acme.example"]}}),
            )
            .await;
        assert_eq!(put.status, StatusCode::OK, "{}", put.text());
        Self {
            system,
            provider,
            admin,
        }
    }

    /// A browser that does not follow redirects, as the tests look at each.
    fn browser(&self) -> Browser {
        Browser {
            base: self.system.base.clone(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            csrf: None,
        }
    }

    /// An account the admin provisions: the invitation a first sign-in links.
    async fn invite(&self, email: &str, role: &str) -> Value {
        let created = self
            .admin
            .json(
                Method::POST,
                "/api/v1/users",
                &json!({"email": email, "display_name": "Invited", "role": role, "password": PASSWORD}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        created.json()
    }

    /// Starts at Folio, logs in at the provider's page as `login`, and
    /// answers the provider's redirect back (not yet followed).
    async fn through_provider(&self, browser: &Browser, email: &str, login: &str) -> String {
        self.through_provider_for(browser, &format!("email={email}"), login)
            .await
    }

    /// The same, started with `query` (`email=…` or `organisation=…`).
    async fn through_provider_for(&self, browser: &Browser, query: &str, login: &str) -> String {
        let start = browser
            .get(&format!("/api/v1/session/oidc/start?{query}"))
            .await;
        assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.text());
        let authorize = start.header("location").unwrap().to_owned();
        assert!(
            authorize.contains("code_challenge_method=S256"),
            "{authorize}"
        );
        assert!(authorize.contains("nonce="), "{authorize}");
        let back = self.provider.log_in(&authorize, login).await;
        back.strip_prefix(&browser.base)
            .unwrap_or_else(|| panic!("back to Folio: {back}"))
            .to_owned()
    }

    /// The whole sign-in; the callback's answer.
    async fn sign_in(&self, browser: &Browser, email: &str, login: &str) -> Reply {
        let back = self.through_provider(browser, email, login).await;
        browser.get(&back).await
    }
}

fn assert_refused(reply: &Reply, why: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    assert_eq!(reply.problem_type(), "sign-in-refused");
    let detail = reply.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains(why), "{why}: {detail}");
    assert!(
        reply.headers.get_all("set-cookie").iter().all(|c| !c
            .to_str()
            .unwrap()
            .starts_with("folio_session=")
            || c.to_str().unwrap().contains("Max-Age=0")),
        "no session cookie"
    );
}

async fn has_session(browser: &Browser) -> Option<Value> {
    let current = browser.get("/api/v1/session").await;
    (current.status == StatusCode::OK).then(|| current.json())
}

async fn entra_sign_in_links_the_invitation_and_starts_a_folio_session(backend: Backend) {
    let sso = Sso::start(backend).await;
    sso.invite("bob@acme.example", "editor").await;
    sso.provider.person("bob", "bob@acme.example", true).await;
    let browser = sso.browser();
    let done = sso.sign_in(&browser, "bob@acme.example", "bob").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert_eq!(done.header("location"), Some("/"));
    let session = has_session(&browser).await.expect("signed in");
    assert_eq!(session["user"]["email"], "bob@acme.example");
    assert_eq!(session["user"]["role"], "editor");
    assert!(!session["csrf_token"].as_str().unwrap().is_empty());
    // The next sign-in finds bob by (tenant, oid), whatever the email says now.
    sso.provider
        .person("bob", "renamed@elsewhere.example", false)
        .await;
    let again = sso.browser();
    let done = sso.sign_in(&again, "bob@acme.example", "bob").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert_eq!(
        has_session(&again).await.unwrap()["user"]["email"],
        "bob@acme.example"
    );
}

#[tokio::test]
async fn entra_sign_in_links_the_invitation_and_starts_a_folio_session_sqlite() {
    entra_sign_in_links_the_invitation_and_starts_a_folio_session(Backend::Sqlite).await;
}

#[tokio::test]
async fn entra_sign_in_links_the_invitation_and_starts_a_folio_session_mysql() {
    entra_sign_in_links_the_invitation_and_starts_a_folio_session(Backend::MySql).await;
}

#[tokio::test]
async fn each_forged_answer_is_refused_and_starts_no_session() {
    let sso = Sso::start(Backend::Sqlite).await;
    sso.invite("bob@acme.example", "viewer").await;
    sso.provider.person("bob", "bob@acme.example", true).await;
    // Re-signed with the provider's published "forger" key, the honest
    // claims pass: the refusals below are for the claim each one alters.
    sso.provider.forge(Some("resign")).await;
    let resigned = sso.sign_in(&sso.browser(), "bob@acme.example", "bob").await;
    assert_eq!(
        resigned.status,
        StatusCode::SEE_OTHER,
        "{}",
        resigned.text()
    );
    for (mode, why) in [
        ("wrong_iss", "another issuer"),
        ("other_aud", "another audience"),
        ("expired", "expired"),
        ("nbf_future", "not valid yet"),
        ("alg_none", "RS256 or ES256"),
        ("hs256", "RS256 or ES256"),
        ("unknown_kid", "key the provider does not publish"),
        ("other_tid", "another organisation's tenant"),
        ("replay_nonce", "nonce"),
    ] {
        sso.provider.forge(Some(mode)).await;
        let browser = sso.browser();
        let reply = sso.sign_in(&browser, "bob@acme.example", "bob").await;
        assert_refused(&reply, why);
        assert!(has_session(&browser).await.is_none(), "{mode}: no session");
    }
}

#[tokio::test]
async fn state_must_match_and_a_sign_in_finishes_once() {
    let sso = Sso::start(Backend::Sqlite).await;
    sso.invite("bob@acme.example", "viewer").await;
    sso.provider.person("bob", "bob@acme.example", true).await;
    let browser = sso.browser();
    let back = sso
        .through_provider(&browser, "bob@acme.example", "bob")
        .await;
    // Another browser (no folio_oidc cookie) cannot finish it.
    assert_refused(&sso.browser().get(&back).await, "state");
    let tampered = regex_replace_state(&back);
    assert_refused(&browser.get(&tampered).await, "state");
    // The mismatch used the waiting sign-in up: the right answer now fails too.
    assert_refused(&browser.get(&back).await, "state");
    assert!(has_session(&browser).await.is_none());
    // A fresh one works, once.
    let back = sso
        .through_provider(&browser, "bob@acme.example", "bob")
        .await;
    assert_eq!(browser.get(&back).await.status, StatusCode::SEE_OTHER);
    assert_refused(&browser.get(&back).await, "state");
}

#[tokio::test]
async fn a_browser_sent_back_with_a_refusal_lands_on_the_sign_in_page() {
    let sso = Sso::start(Backend::Sqlite).await;
    sso.invite("bob@acme.example", "viewer").await;
    sso.provider.person("bob", "bob@acme.example", true).await;
    let browser = sso.browser();
    let back = sso
        .through_provider(&browser, "bob@acme.example", "bob")
        .await;
    // A navigation (Accept: text/html, as browsers send) with a forged
    // state: back to the portal's sign-in page, naming only the problem.
    let accept = [(
        "accept",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    )];
    let refused = browser.get_with(&regex_replace_state(&back), &accept).await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(
        refused.headers[reqwest::header::LOCATION],
        "/#/login?problem=sign-in-refused"
    );
    assert!(
        refused
            .headers
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("folio_session=")),
        "no session"
    );
    assert!(has_session(&browser).await.is_none());
    // The refusal used the waiting sign-in up, for a browser too.
    let again = browser.get_with(&back, &accept).await;
    assert_eq!(
        again.headers[reqwest::header::LOCATION],
        "/#/login?problem=sign-in-refused"
    );
    // A fresh, untampered one still signs in.
    let back = sso
        .through_provider(&browser, "bob@acme.example", "bob")
        .await;
    let done = browser.get_with(&back, &accept).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.headers[reqwest::header::LOCATION], "/");
    assert!(has_session(&browser).await.is_some());
}

fn regex_replace_state(url: &str) -> String {
    let (path, query) = url.split_once('?').unwrap();
    let query: Vec<String> = query
        .split('&')
        .map(|pair| {
            if pair.starts_with("state=") {
                "state=forged-state".to_owned()
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

#[tokio::test]
async fn first_sign_ins_without_invitation_create_accounts_only_when_allowed() {
    let sso = Sso::start(Backend::Sqlite).await;
    sso.provider
        .person("carol", "carol@acme.example", true)
        .await;
    let refused = sso
        .sign_in(&sso.browser(), "admin@acme.example", "carol")
        .await;
    assert_refused(&refused, "invite");
    let put = sso
        .admin
        .json(
            Method::PUT,
            "/api/v1/organisation/sign-in",
            &json!({"oidc": {"tenant_id": TENANT_A, "create_accounts": true, "default_role": "editor", "domains": ["acme.example"]}}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    // A guest of the tenant (its address is another directory's) neither
    // links to the account with that address nor becomes an account.
    sso.provider.guest("mallory", "admin@acme.example").await;
    let browser = sso.browser();
    assert_refused(
        &sso.sign_in(&browser, "admin@acme.example", "mallory").await,
        "invite",
    );
    let browser = sso.browser();
    let done = sso.sign_in(&browser, "admin@acme.example", "carol").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    let me = has_session(&browser).await.unwrap();
    assert_eq!(me["user"]["email"], "carol@acme.example");
    assert_eq!(me["user"]["role"], "editor");
}

#[tokio::test]
async fn disabling_a_person_ends_their_sessions_and_refuses_their_next_sign_in() {
    let sso = Sso::start(Backend::Sqlite).await;
    let bob = sso.invite("bob@acme.example", "viewer").await;
    sso.provider.person("bob", "bob@acme.example", true).await;
    let browser = sso.browser();
    assert_eq!(
        sso.sign_in(&browser, "bob@acme.example", "bob")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let disabled = sso
        .admin
        .json(
            Method::PATCH,
            &format!("/api/v1/users/{}", bob["id"].as_str().unwrap()),
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text());
    assert!(has_session(&browser).await.is_none());
    // Found by the address's domain as any address is; by organisation
    // too: the provider still vouches for bob, and Folio refuses.
    let again = sso.browser();
    let back = sso
        .through_provider(&again, "bob@acme.example", "bob")
        .await;
    assert_refused(&again.get(&back).await, "disabled");
    let org = &sso.system.acme_admin.organisation_id;
    let back = sso
        .through_provider_for(&again, &format!("organisation={org}"), "bob")
        .await;
    assert_refused(&again.get(&back).await, "disabled");
    assert!(has_session(&again).await.is_none());
}

#[tokio::test]
async fn only_sso_refuses_passwords_of_non_admins_and_a_provider_outage_leaves_the_admins_way_in() {
    let mut sso = Sso::start(Backend::Sqlite).await;
    sso.invite("bob@acme.example", "editor").await;
    let put = sso
        .admin
        .json(
            Method::PUT,
            "/api/v1/organisation/sign-in",
            &json!({"oidc": {"tenant_id": TENANT_A, "only_sso": true, "domains": ["acme.example"]}}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    let bob = sso.browser().sign_in("bob@acme.example", PASSWORD).await;
    assert_eq!(bob.status, StatusCode::FORBIDDEN, "{}", bob.text());
    assert_eq!(bob.problem_type(), "provider-sign-in-only");
    // A wrong password still says only that.
    let wrong = sso
        .browser()
        .sign_in("bob@acme.example", "wrong password!!")
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    sso.provider.stop();
    let start = sso
        .browser()
        .get("/api/v1/session/oidc/start?email=bob@acme.example")
        .await;
    assert_eq!(start.status, StatusCode::BAD_GATEWAY, "{}", start.text());
    assert_eq!(start.problem_type(), "provider-unavailable");
    let admin = sso.browser().sign_in("admin@acme.example", PASSWORD).await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.text());
    // Another organisation's people are not affected.
    let globex = sso
        .browser()
        .sign_in("admin@globex.example", PASSWORD)
        .await;
    assert_eq!(globex.status, StatusCode::OK);
}

#[tokio::test]
async fn a_plain_provider_signs_in_by_its_issuer_and_a_down_provider_leaves_passwords() {
    let mut sso = Sso::start(Backend::Sqlite).await;
    let globex = sso.system.signed_in("admin@globex.example").await;
    let issuer = sso.provider.generic_issuer();
    let put = globex
        .json(
            Method::PUT,
            "/api/v1/organisation/sign-in",
            &json!({"oidc": {"issuer": issuer, "client_id": APP, "client_secret": APP_SECRET, "domains": ["globex.example"]}}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    let settings = put.json();
    assert_eq!(settings["oidc"]["provider"], "oidc");
    assert_eq!(settings["oidc"]["client_secret_set"], true);
    assert!(!put.text().contains(APP_SECRET));
    // Acme's admin sees acme's settings, never globex's.
    let acme = sso.admin.get("/api/v1/organisation/sign-in").await;
    assert_eq!(acme.json()["oidc"]["provider"], "entra");
    assert_eq!(acme.json()["oidc"]["tenant_id"], TENANT_A);
    sso.provider
        .person("gina", "admin@globex.example", true)
        .await;
    let browser = sso.browser();
    let done = sso.sign_in(&browser, "admin@globex.example", "gina").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert_eq!(
        has_session(&browser).await.unwrap()["user"]["email"],
        "admin@globex.example"
    );
    let found = sso
        .browser()
        .get("/api/v1/session/oidc?email=admin@globex.example")
        .await;
    assert_eq!(found.json()["provider"], "oidc");
    // Down after its discovery document was read: the browser is sent there,
    // and passwords still work meanwhile.
    sso.provider.stop();
    let password = sso
        .browser()
        .sign_in("admin@globex.example", PASSWORD)
        .await;
    assert_eq!(password.status, StatusCode::OK);
}

#[tokio::test]
async fn the_settings_are_for_admins_with_csrf_and_bounded_input() {
    let sso = Sso::start(Backend::Sqlite).await;
    let (_, editor) = sso
        .system
        .user(&sso.admin, "ed@acme.example", "editor")
        .await;
    let body = json!({"oidc": {"tenant_id": TENANT_B}});
    let put = editor
        .json(Method::PUT, "/api/v1/organisation/sign-in", &body)
        .await;
    assert_eq!(put.status, StatusCode::FORBIDDEN);
    assert_eq!(put.problem_type(), "forbidden");
    assert_eq!(
        editor.get("/api/v1/organisation/sign-in").await.status,
        StatusCode::FORBIDDEN
    );
    let no_csrf = Browser {
        csrf: None,
        ..sso.admin.clone()
    };
    let put = no_csrf
        .json(Method::PUT, "/api/v1/organisation/sign-in", &body)
        .await;
    assert_eq!(put.problem_type(), "csrf-failed");
    let huge = json!({"oidc": {"issuer": "x".repeat(70_000)}});
    let put = sso
        .admin
        .json(Method::PUT, "/api/v1/organisation/sign-in", &huge)
        .await;
    assert_eq!(put.status, StatusCode::PAYLOAD_TOO_LARGE);
    for bad in [
        json!({"oidc": {"issuer": "http://idp.example.com", "client_id": "a", "client_secret": "b"}}),
        json!({"oidc": {"issuer": "https://idp.example.com", "client_id": "a"}}),
        json!({"oidc": {"tenant_id": "contoso.onmicrosoft.com"}}),
        json!({"oidc": {"tenant_id": TENANT_A, "default_role": "admin"}}),
        json!({"oidc": {"tenant_id": TENANT_A, "colour": "red"}}),
    ] {
        let put = sso
            .admin
            .json(Method::PUT, "/api/v1/organisation/sign-in", &bad)
            .await;
        assert_eq!(put.status, StatusCode::BAD_REQUEST, "{bad}: {}", put.text());
    }
    // Nothing changed.
    let now = sso.admin.get("/api/v1/organisation/sign-in").await.json();
    assert_eq!(now["oidc"]["tenant_id"], TENANT_A);
    // Start: bounded, one of email or organisation, unknown is 404.
    let browser = sso.browser();
    let long = format!(
        "/api/v1/session/oidc/start?email={}@a.example",
        "x".repeat(5000)
    );
    assert_eq!(browser.get(&long).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        browser.get("/api/v1/session/oidc/start").await.status,
        StatusCode::BAD_REQUEST
    );
    let unknown = browser
        .get("/api/v1/session/oidc/start?email=nobody@unclaimed.example")
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let globex = browser
        .get("/api/v1/session/oidc?email=admin@globex.example")
        .await;
    assert_eq!(globex.status, StatusCode::NOT_FOUND);
    // Off again.
    let off = sso
        .admin
        .json(
            Method::PUT,
            "/api/v1/organisation/sign-in",
            &json!({"oidc": null}),
        )
        .await;
    assert_eq!(off.json()["oidc"], Value::Null);
}

#[tokio::test]
async fn the_provider_sends_people_back_to_the_public_url_and_starts_are_limited() {
    let sso = Sso::start_with(Backend::Sqlite, |options| {
        options.providers.public_url = Some("https://folio.example.com".into());
        options.login.per_address = 3;
    })
    .await;
    let browser = sso.browser();
    let path = "/api/v1/session/oidc/start?email=admin@acme.example";
    let start = browser.get(path).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let location = reqwest::Url::parse(start.header("location").unwrap()).unwrap();
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(
        query["redirect_uri"],
        "https://folio.example.com/api/v1/session/oidc/callback"
    );
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["client_id"], APP);
    assert!(
        location
            .as_str()
            .starts_with(&sso.provider.tenant_issuer(TENANT_A))
    );
    let cookie = start.header("set-cookie").unwrap();
    for part in [
        "folio_oidc=",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/api/v1/session/oidc",
        "Max-Age=600",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    browser.get(path).await;
    browser.get(path).await;
    let limited = browser.get(path).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").is_some());
    // Password sign-in is counted on its own.
    let admin = sso.browser().sign_in("admin@acme.example", PASSWORD).await;
    assert_eq!(admin.status, StatusCode::OK);
}

#[tokio::test]
async fn a_rotated_key_is_fetched_again_when_a_token_names_it() {
    let sso = Sso::start_with(Backend::Sqlite, |options| {
        options.providers.keys_min_refresh = std::time::Duration::from_millis(300);
    })
    .await;
    sso.invite("bob@acme.example", "viewer").await;
    sso.provider.person("bob", "bob@acme.example", true).await;
    // Folio reads the keys while the provider does not list the new one yet.
    sso.provider.publish_forger_key(false).await;
    let honest = sso.sign_in(&sso.browser(), "bob@acme.example", "bob").await;
    assert_eq!(honest.status, StatusCode::SEE_OTHER, "{}", honest.text());
    // The provider rotates: its tokens now name a key Folio has not seen.
    sso.provider.publish_forger_key(true).await;
    sso.provider.forge(Some("resign")).await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let rotated = sso.browser();
    let done = sso.sign_in(&rotated, "bob@acme.example", "bob").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert!(has_session(&rotated).await.is_some());
}

/// The part of a start's redirect that is not random (state, nonce, PKCE).
fn fixed_part(start: &Reply) -> (StatusCode, String) {
    let location = start.header("location").unwrap_or_default();
    let mut url = reqwest::Url::parse(location).unwrap();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| !["state", "nonce", "code_challenge"].contains(&k.as_str()))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(kept);
    (start.status, url.to_string())
}

#[tokio::test]
async fn a_start_by_email_is_decided_by_its_domain_alone() {
    let sso = Sso::start(Backend::Sqlite).await;
    sso.invite("bob@acme.example", "viewer").await;
    let browser = sso.browser();
    let find = |email: &str| format!("/api/v1/session/oidc?email={email}");
    let start = |email: &str| format!("/api/v1/session/oidc/start?email={email}");
    // An address with an account and one without, in the same domain.
    let with = browser.get(&find("bob@acme.example")).await;
    let without = browser.get(&find("nobody@acme.example")).await;
    assert_eq!(with.status, StatusCode::OK, "{}", with.text());
    assert_eq!(with.status, without.status);
    assert_eq!(with.json()["provider"], without.json()["provider"]);
    assert_eq!(
        with.json()["start"]
            .as_str()
            .unwrap()
            .replace("bob", "nobody"),
        without.json()["start"].as_str().unwrap(),
        "the link differs only by the address it echoes"
    );
    let with = fixed_part(&browser.get(&start("bob@acme.example")).await);
    let without = fixed_part(&browser.get(&start("nobody@ACME.example")).await);
    assert_eq!(with.0, StatusCode::SEE_OTHER);
    assert_eq!(with, without);
    // A domain nobody claimed answers as an unknown address always did,
    // with an account there (globex has no provider) or without.
    for path in [find("admin@globex.example"), start("admin@globex.example")] {
        let known = browser.get(&path).await;
        let unknown = browser
            .get(&path.replace("admin@globex.example", "nobody@unclaimed.example"))
            .await;
        assert_eq!(known.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(known.status, unknown.status);
        assert_eq!(known.json(), unknown.json());
    }
    // The organisation's own link still works.
    let org = &sso.system.acme_admin.organisation_id;
    let by_org = browser
        .get(&format!("/api/v1/session/oidc/start?organisation={org}"))
        .await;
    assert_eq!(by_org.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_domain_is_served_by_one_organisation_and_checked() {
    let sso = Sso::start(Backend::Sqlite).await;
    let globex = sso.system.signed_in("admin@globex.example").await;
    let issuer = sso.provider.generic_issuer();
    let settings = |domains: Value| json!({"oidc": {"issuer": issuer, "client_id": APP, "client_secret": APP_SECRET, "domains": domains}});
    let path = "/api/v1/organisation/sign-in";
    let taken = globex
        .json(
            Method::PUT,
            path,
            &settings(json!(["globex.example", "ACME.example"])),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.text());
    assert_eq!(taken.problem_type(), "domain-taken");
    assert!(taken.text().contains("acme.example"), "{}", taken.text());
    assert_eq!(globex.get(path).await.json()["oidc"], Value::Null);
    let too_many: Vec<String> = (0..51).map(|i| format!("d{i}.globex.example")).collect();
    for bad in [
        json!(["*.globex.example"]),
        json!(["globex"]),
        json!(["globex .example"]),
        json!(["bob@globex.example"]),
        json!([""]),
        json!([format!("{}.example", "a".repeat(300))]),
        json!(too_many),
        json!("globex.example"),
    ] {
        let put = globex.json(Method::PUT, path, &settings(bad.clone())).await;
        assert_eq!(put.status, StatusCode::BAD_REQUEST, "{bad}: {}", put.text());
    }
    assert_eq!(globex.get(path).await.json()["oidc"], Value::Null);
    let put = globex
        .json(
            Method::PUT,
            path,
            &settings(json!([
                "Globex.Example",
                "mail.globex.example",
                "globex.example"
            ])),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    assert_eq!(
        put.json()["oidc"]["domains"],
        json!(["globex.example", "mail.globex.example"])
    );
    // Turning sign-in off frees the organisation's domains.
    let off = sso
        .admin
        .json(Method::PUT, path, &json!({"oidc": null}))
        .await;
    assert_eq!(off.status, StatusCode::OK);
    let claimed = globex
        .json(
            Method::PUT,
            path,
            &settings(json!(["globex.example", "acme.example"])),
        )
        .await;
    assert_eq!(claimed.status, StatusCode::OK, "{}", claimed.text());
    let found = sso
        .browser()
        .get("/api/v1/session/oidc?email=someone@acme.example")
        .await;
    assert_eq!(found.json()["provider"], "oidc");
}

/// Signs `login` in through the provider; the browser, with its CSRF token.
async fn signed_in_with_provider(sso: &Sso, email: &str, login: &str) -> Browser {
    let browser = sso.browser();
    let done = sso.sign_in(&browser, email, login).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    let session = has_session(&browser).await.expect("signed in");
    Browser {
        csrf: Some(session["csrf_token"].as_str().unwrap().to_owned()),
        ..browser
    }
}

async fn only_sso(sso: &Sso, on: bool, create_accounts: bool) {
    let put = sso
        .admin
        .json(
            Method::PUT,
            "/api/v1/organisation/sign-in",
            &json!({"oidc": {"tenant_id": TENANT_A, "only_sso": on,
                "create_accounts": create_accounts, "domains": ["acme.example"]}}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
}

fn identities(reply: &Reply) -> Vec<Value> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()["items"].as_array().unwrap().clone()
}

/// The path of the first identity in a person's own list.
fn identity_path(listed: &[Value]) -> String {
    format!(
        "/api/v1/session/identities/{}",
        listed[0]["id"].as_str().unwrap()
    )
}

async fn a_person_unlinks_their_identity_only_while_keeping_a_way_in(backend: Backend) {
    let sso = Sso::start(backend).await;
    sso.invite("bob@acme.example", "editor").await;
    sso.provider.person("bob", "bob@acme.example", true).await;
    let bob = signed_in_with_provider(&sso, "bob@acme.example", "bob").await;
    let listed = identities(&bob.get("/api/v1/session/identities").await);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["issuer"], sso.provider.tenant_issuer(TENANT_A));
    assert_eq!(listed[0]["current"], true);
    let path = identity_path(&listed);
    // Under only_sso bob's password is no way in.
    only_sso(&sso, true, false).await;
    let last = bob.delete(&path).await;
    assert_eq!(last.status, StatusCode::CONFLICT, "{}", last.text());
    assert_eq!(last.problem_type(), "last-way-in");
    let no_csrf = Browser {
        csrf: None,
        ..bob.clone()
    };
    assert_eq!(no_csrf.delete(&path).await.problem_type(), "csrf-failed");
    let bad = bob.delete("/api/v1/session/identities/not-an-id").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let long = format!("/api/v1/session/identities/{}", "a".repeat(5000));
    assert_eq!(bob.delete(&long).await.status, StatusCode::BAD_REQUEST);
    let unknown = format!("/api/v1/session/identities/{}", "0".repeat(32));
    assert_eq!(bob.delete(&unknown).await.status, StatusCode::NOT_FOUND);
    // Another person's identity is not bob's to unlink, even in his own
    // organisation: it answers as unknown and stays linked.
    sso.invite("carol@acme.example", "editor").await;
    sso.provider
        .person("carol", "carol@acme.example", true)
        .await;
    let carol = signed_in_with_provider(&sso, "carol@acme.example", "carol").await;
    let carols = identities(&carol.get("/api/v1/session/identities").await);
    let carols_path = identity_path(&carols);
    assert_eq!(bob.delete(&carols_path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        identities(&carol.get("/api/v1/session/identities").await).len(),
        1
    );
    assert_eq!(
        identities(&bob.get("/api/v1/session/identities").await).len(),
        1,
        "nothing changed"
    );
    // With the password usable again, the identity may go.
    only_sso(&sso, false, false).await;
    let done = bob.delete(&path).await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.text());
    assert!(identities(&bob.get("/api/v1/session/identities").await).is_empty());
    assert_eq!(bob.delete(&path).await.status, StatusCode::NOT_FOUND);
    // The account is an invitation again: the next sign-in links it.
    let again = signed_in_with_provider(&sso, "bob@acme.example", "bob").await;
    assert_eq!(
        identities(&again.get("/api/v1/session/identities").await).len(),
        1
    );
}

#[tokio::test]
async fn a_person_unlinks_their_identity_only_while_keeping_a_way_in_sqlite() {
    a_person_unlinks_their_identity_only_while_keeping_a_way_in(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_person_unlinks_their_identity_only_while_keeping_a_way_in_mysql() {
    a_person_unlinks_their_identity_only_while_keeping_a_way_in(Backend::MySql).await;
}

#[tokio::test]
async fn an_account_a_provider_created_keeps_its_identity_until_it_has_a_known_password() {
    let sso = Sso::start(Backend::Sqlite).await;
    only_sso(&sso, false, true).await;
    sso.provider
        .person("carol", "carol@acme.example", true)
        .await;
    let carol = signed_in_with_provider(&sso, "carol@acme.example", "carol").await;
    let listed = identities(&carol.get("/api/v1/session/identities").await);
    let path = identity_path(&listed);
    let last = carol.delete(&path).await;
    assert_eq!(last.status, StatusCode::CONFLICT, "{}", last.text());
    assert_eq!(last.problem_type(), "last-way-in");
    // An admin sets her a password: now she knows one.
    let me = has_session(&carol).await.unwrap();
    let reset = sso
        .admin
        .json(
            Method::POST,
            &format!(
                "/api/v1/users/{}/password",
                me["user"]["id"].as_str().unwrap()
            ),
            &json!({"new_password": PASSWORD}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::NO_CONTENT, "{}", reset.text());
    let carol = sso.system.signed_in("carol@acme.example").await;
    let done = carol.delete(&path).await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.text());
}

/// A client with only this API token.
fn script(sso: &Sso, token: &str) -> Browser {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    Browser {
        base: sso.system.base.clone(),
        http: reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap(),
        csrf: None,
    }
}

async fn api_token(browser: &Browser, scope: &str) -> String {
    let expires = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let created = browser
        .json(
            Method::POST,
            "/api/v1/session/tokens",
            &json!({"name": scope, "scope": scope, "expires_at":
                expires.format(&time::format_description::well_known::Rfc3339).unwrap()}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    created.json()["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn admins_unlink_their_own_peoples_identities_only() {
    let sso = Sso::start(Backend::Sqlite).await;
    let bob = sso.invite("bob@acme.example", "editor").await;
    sso.provider.person("bob", "bob@acme.example", true).await;
    signed_in_with_provider(&sso, "bob@acme.example", "bob").await;
    let list = format!("/api/v1/users/{}/identities", bob["id"].as_str().unwrap());
    let listed = identities(&sso.admin.get(&list).await);
    assert_eq!(listed.len(), 1);
    let one = format!("{list}/{}", listed[0]["id"].as_str().unwrap());
    // Not for editors, nor another organisation's admin, nor without CSRF.
    let (_, editor) = sso
        .system
        .user(&sso.admin, "ed@acme.example", "editor")
        .await;
    assert_eq!(editor.get(&list).await.status, StatusCode::FORBIDDEN);
    assert_eq!(editor.delete(&one).await.status, StatusCode::FORBIDDEN);
    let globex = sso.system.signed_in("admin@globex.example").await;
    assert_eq!(globex.get(&list).await.status, StatusCode::NOT_FOUND);
    assert_eq!(globex.delete(&one).await.status, StatusCode::NOT_FOUND);
    let no_csrf = Browser {
        csrf: None,
        ..sso.admin.clone()
    };
    assert_eq!(no_csrf.delete(&one).await.problem_type(), "csrf-failed");
    assert_eq!(
        sso.admin
            .get("/api/v1/users/not-a-user/identities")
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    // A read-only token acts as a viewer: it lists its owner's own, not
    // another person's, and unlinks nothing; a write token does.
    let read = script(&sso, &api_token(&sso.admin, "read").await);
    assert!(identities(&read.get("/api/v1/session/identities").await).is_empty());
    assert_eq!(read.get(&list).await.status, StatusCode::FORBIDDEN);
    let refused = read.delete(&one).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.problem_type(), "forbidden");
    assert_eq!(identities(&sso.admin.get(&list).await).len(), 1);
    // An admin may unlink even bob's only way in (he is an invitation again).
    only_sso(&sso, true, false).await;
    let write = script(&sso, &api_token(&sso.admin, "write").await);
    let done = write.delete(&one).await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.text());
    assert!(identities(&sso.admin.get(&list).await).is_empty());
    signed_in_with_provider(&sso, "bob@acme.example", "bob").await;
    assert_eq!(identities(&sso.admin.get(&list).await).len(), 1);
}

fn base64url_json(part: &str) -> Value {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Acme with the deployment's Entra app authenticating by `certificate`
/// (key and certificate PEM); the provider trusts `trusted_key`.
async fn with_certificate(certificate: String, trusted_key: &str) -> Sso {
    let sso = Sso::start_with(Backend::Sqlite, |options| {
        options.providers.entra_client_id = Some(CERT_APP.into());
        options.providers.entra_client_secret = None;
        options.providers.entra_client_certificate = Some(Secret::new(certificate));
    })
    .await;
    let callback = format!("{}/api/v1/session/oidc/callback", sso.system.base);
    sso.provider
        .setup_with_key_client(&callback, APP, APP_SECRET, CERT_APP, trusted_key)
        .await;
    sso.invite("bob@acme.example", "viewer").await;
    sso.provider.person("bob", "bob@acme.example", true).await;
    sso
}

#[tokio::test]
async fn the_deployments_entra_app_signs_in_with_a_certificate_assertion() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let (key, certificate) = client_certificate(CERT_APP);
    let sso = with_certificate(format!("{certificate}{key}"), &key).await;
    let browser = sso.browser();
    let done = sso.sign_in(&browser, "bob@acme.example", "bob").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert!(has_session(&browser).await.is_some());
    // The provider verified this assertion: as Entra ID documents it.
    let assertion = sso.provider.last_assertion().await.expect("an assertion");
    let parts: Vec<&str> = assertion.split('.').collect();
    let (header, claims) = (base64url_json(parts[0]), base64url_json(parts[1]));
    let der: String = certificate
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(der)
        .unwrap();
    let thumbprint =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&der));
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["x5t#S256"], thumbprint);
    assert_eq!(claims["iss"], CERT_APP);
    assert_eq!(claims["sub"], CERT_APP);
    assert_eq!(
        claims["aud"],
        format!("{}/token", sso.provider.tenant_issuer(TENANT_A))
    );
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert!(lifetime > 0 && lifetime <= 300, "{lifetime}");
    // Each token request has its own assertion.
    let again = sso.browser();
    let done = sso.sign_in(&again, "bob@acme.example", "bob").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    let next = sso.provider.last_assertion().await.unwrap();
    assert_ne!(
        base64url_json(next.split('.').nth(1).unwrap())["jti"],
        claims["jti"]
    );
}

#[tokio::test]
async fn an_assertion_signed_with_another_key_is_refused() {
    let (trusted, _) = client_certificate(CERT_APP);
    let (other_key, other_certificate) = client_certificate(CERT_APP);
    let sso = with_certificate(format!("{other_key}{other_certificate}"), &trusted).await;
    let browser = sso.browser();
    let refused = sso.sign_in(&browser, "bob@acme.example", "bob").await;
    assert_refused(&refused, "the provider answered with an error");
    assert!(has_session(&browser).await.is_none());
}

#[tokio::test]
async fn replicas_on_one_redis_share_a_key_rotation_without_fetching_it_again() {
    let sso = Sso::start_with(Backend::Sqlite, |options| {
        options.sessions = Some(Sessions::redis(&redis_url()));
        options.second_bff = true;
        options.providers.keys_min_refresh = std::time::Duration::from_secs(2);
    })
    .await;
    let replica_base = sso.system.replica_base.clone().unwrap();
    let callback = |base: &str| format!("{base}/api/v1/session/oidc/callback");
    sso.provider
        .setup_for_all(
            &[callback(&sso.system.base), callback(&replica_base)],
            APP,
            APP_SECRET,
        )
        .await;
    sso.invite("bob@acme.example", "viewer").await;
    sso.provider.person("bob", "bob@acme.example", true).await;
    let at_replica = || Browser {
        base: replica_base.clone(),
        ..sso.browser()
    };
    // The first replica reads the keys before the provider lists the new one.
    sso.provider.publish_forger_key(false).await;
    let first = sso.sign_in(&sso.browser(), "bob@acme.example", "bob").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.text());
    assert_eq!(sso.provider.jwks_fetches().await, 1);
    // The provider rotates; the first replica sees the unknown key and
    // fetches the keys again, once.
    sso.provider.publish_forger_key(true).await;
    sso.provider.forge(Some("resign")).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let rotated = sso.sign_in(&sso.browser(), "bob@acme.example", "bob").await;
    assert_eq!(rotated.status, StatusCode::SEE_OTHER, "{}", rotated.text());
    assert_eq!(sso.provider.jwks_fetches().await, 2);
    // The other replica finds the new key in Redis: no fetch of its own.
    let other = at_replica();
    let done = sso.sign_in(&other, "bob@acme.example", "bob").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert!(has_session(&other).await.is_some());
    assert_eq!(
        sso.provider.jwks_fetches().await,
        2,
        "one fetch for both replicas"
    );
    // A forged key neither lists makes the replicas together ask at most
    // once per interval (claimed in Redis), then refuse.
    sso.provider.forge(Some("unknown_kid")).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    for browser in [sso.browser(), at_replica(), sso.browser()] {
        assert_refused(
            &sso.sign_in(&browser, "bob@acme.example", "bob").await,
            "key the provider does not publish",
        );
    }
    assert_eq!(sso.provider.jwks_fetches().await, 3);
}

#[tokio::test]
async fn an_organisations_own_registration_may_authenticate_with_a_certificate() {
    let (key, certificate) = client_certificate(CERT_APP);
    let sso = Sso::start(Backend::Sqlite).await;
    let callback = format!("{}/api/v1/session/oidc/callback", sso.system.base);
    sso.provider
        .setup_with_key_client(&callback, APP, APP_SECRET, CERT_APP, &key)
        .await;
    let path = "/api/v1/organisation/sign-in";
    let pem = format!("{key}{certificate}");
    let own = |credential: Value| {
        let mut oidc =
            json!({"tenant_id": TENANT_A, "client_id": CERT_APP, "domains": ["acme.example"]});
        if let (Some(oidc), Some(extra)) = (oidc.as_object_mut(), credential.as_object()) {
            oidc.extend(extra.clone());
        }
        json!({ "oidc": oidc })
    };
    for bad in [
        json!({"client_certificate": "not a certificate"}),
        json!({"client_certificate": certificate.clone()}),
        json!({"client_certificate": "x".repeat(20_000)}),
        json!({"client_certificate": pem.clone(), "client_secret": APP_SECRET}),
    ] {
        let put = sso.admin.json(Method::PUT, path, &own(bad)).await;
        assert_eq!(put.status, StatusCode::BAD_REQUEST, "{}", put.text());
    }
    assert_eq!(
        sso.admin.get(path).await.json()["oidc"]["client_id"],
        Value::Null,
        "nothing changed"
    );
    let put = sso
        .admin
        .json(Method::PUT, path, &own(json!({"client_certificate": pem})))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    assert_eq!(put.json()["oidc"]["client_certificate_set"], true);
    assert_eq!(put.json()["oidc"]["client_secret_set"], false);
    assert!(!put.text().contains("PRIVATE KEY"));
    sso.invite("bob@acme.example", "viewer").await;
    sso.provider.person("bob", "bob@acme.example", true).await;
    let done = sso.sign_in(&sso.browser(), "bob@acme.example", "bob").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    let assertion = sso.provider.last_assertion().await.expect("an assertion");
    assert_eq!(
        base64url_json(assertion.split('.').nth(1).unwrap())["iss"],
        CERT_APP
    );
    // Left out for the same client, the stored certificate is kept.
    let again = sso.admin.json(Method::PUT, path, &own(json!({}))).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    assert_eq!(again.json()["oidc"]["client_certificate_set"], true);
    let done = sso.sign_in(&sso.browser(), "bob@acme.example", "bob").await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
}
