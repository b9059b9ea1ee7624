//! Organisations' identity provider settings and people's provider
//! identities (docs/adr/0066, 0067), at the users service's gRPC surface.

use folio_platform::db::Backend;
use folio_proto::users::v1 as pb;
use sqlx::{Connection, Row};
use tonic::Code;

use super::helpers::{TestApp, actor};

const ISSUER: &str = "https://idp.example.com/realms/acme";
const SECRET: &str = "the-client-secret-of-acme";

fn generic() -> pb::PutSignInSettingsRequest {
    pb::PutSignInSettingsRequest {
        oidc: Some(pb::OidcSettings {
            preset: pb::OidcPreset::Generic.into(),
            issuer: ISSUER.into(),
            client_id: "folio".into(),
            ..Default::default()
        }),
        client_secret: Some(SECRET.into()),
        client_certificate: None,
    }
}

fn identity(org: &pb::Organisation, subject: &str, email: &str) -> pb::OidcSignInRequest {
    pb::OidcSignInRequest {
        organisation_id: org.id.clone(),
        issuer: ISSUER.into(),
        subject: subject.into(),
        email: email.into(),
        email_verified: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn only_the_bff_calls_the_sign_in_rpcs() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, admin) = app.organisation("Acme").await;
    for caller in ["documents", "integration", "notifications", "operator"] {
        let mut client = app.client(caller);
        let codes = [
            client
                .get_sign_in_settings(actor(&admin).request(pb::GetSignInSettingsRequest {}))
                .await
                .unwrap_err()
                .code(),
            client
                .put_sign_in_settings(actor(&admin).request(generic()))
                .await
                .unwrap_err()
                .code(),
            client
                .find_oidc_provider(pb::FindOidcProviderRequest {
                    email: "admin@acme.example".into(),
                    ..Default::default()
                })
                .await
                .unwrap_err()
                .code(),
            client
                .oidc_sign_in(pb::OidcSignInRequest::default())
                .await
                .unwrap_err()
                .code(),
            client
                .list_oidc_identities(
                    actor(&admin).request(pb::ListOidcIdentitiesRequest::default()),
                )
                .await
                .unwrap_err()
                .code(),
            client
                .unlink_oidc_identity(
                    actor(&admin).request(pb::UnlinkOidcIdentityRequest::default()),
                )
                .await
                .unwrap_err()
                .code(),
        ];
        assert_eq!(codes, [Code::PermissionDenied; 6], "{caller}");
    }
}

#[tokio::test]
async fn the_client_secret_is_sealed_for_its_organisation_and_never_answered() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (acme, admin) = app.organisation("Acme").await;
    let (globex, globex_admin) = app.organisation("Globex").await;
    let stored = app
        .bff()
        .put_sign_in_settings(actor(&admin).request(generic()))
        .await
        .unwrap()
        .into_inner();
    assert!(stored.oidc.as_ref().unwrap().client_secret_set);
    assert!(!format!("{stored:?}").contains(SECRET));
    let found = app
        .bff()
        .find_oidc_provider(pb::FindOidcProviderRequest {
            organisation_id: acme.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.client_secret, SECRET);
    assert!(!format!("{found:?}").contains(SECRET), "Debug redacts it");

    sqlx::any::install_default_drivers();
    let url = format!("{:?}", app.db.url);
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let row = sqlx::query("SELECT secret_sealed, secret_nonce FROM oidc_settings")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let sealed: String = row.try_get("secret_sealed").unwrap();
    let nonce: String = row.try_get("secret_nonce").unwrap();
    assert!(!sealed.contains(SECRET) && !sealed.contains(&hex(SECRET)));

    // Copied into another organisation's row, it does not open there.
    app.bff()
        .put_sign_in_settings(actor(&globex_admin).request(generic()))
        .await
        .unwrap();
    sqlx::query("UPDATE oidc_settings SET secret_sealed = ?, secret_nonce = ? WHERE org_id = ?")
        .bind(&sealed)
        .bind(&nonce)
        .bind(&globex.id)
        .execute(&mut conn)
        .await
        .unwrap();
    let copied = app
        .bff()
        .find_oidc_provider(pb::FindOidcProviderRequest {
            organisation_id: globex.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(copied.code(), Code::FailedPrecondition);
    assert!(!copied.message().contains(SECRET));
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn identities_are_matched_by_issuer_and_subject_within_their_organisation() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (acme, admin) = app.organisation("Acme").await;
    let (globex, _) = app.organisation("Globex").await;
    let bob = app
        .provision(&admin, "bob@acme.example", pb::Role::Editor)
        .await;
    app.bff()
        .put_sign_in_settings(actor(&admin).request(generic()))
        .await
        .unwrap();
    // An unverified address does not link.
    let mut unverified = identity(&acme, "s-1", "bob@acme.example");
    unverified.email_verified = false;
    let refused = app.bff().oidc_sign_in(unverified).await.unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
    // Verified: linked to the invitation; from then on by the subject.
    let linked = app
        .bff()
        .oidc_sign_in(identity(&acme, "s-1", "bob@acme.example"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(linked.id, bob.id);
    let again = app
        .bff()
        .oidc_sign_in(identity(&acme, "s-1", "changed@else.example"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.id, bob.id);
    // Another subject with bob's address does not get bob's account.
    let other = app
        .bff()
        .oidc_sign_in(identity(&acme, "s-2", "bob@acme.example"))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::NotFound);
    // The same identity for another organisation (without a provider) is refused.
    let elsewhere = app
        .bff()
        .oidc_sign_in(identity(&globex, "s-1", "bob@acme.example"))
        .await
        .unwrap_err();
    assert_eq!(elsewhere.code(), Code::FailedPrecondition);
    // Oversized subjects are refused and change nothing.
    let long = app
        .bff()
        .oidc_sign_in(identity(&acme, &"s".repeat(300), "bob@acme.example"))
        .await
        .unwrap_err();
    assert_eq!(long.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn an_email_finds_the_organisation_of_its_domain_whatever_its_accounts() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (acme, acme_admin) = app.organisation("Acme").await;
    let (_, globex_admin) = app.organisation("Globex").await;
    let find = async |email: &str, organisation_id: &str| {
        app.bff()
            .find_oidc_provider(pb::FindOidcProviderRequest {
                email: email.into(),
                organisation_id: organisation_id.into(),
            })
            .await
    };
    let with_domains = |domains: &[&str]| {
        let mut request = generic();
        if let Some(oidc) = request.oidc.as_mut() {
            oidc.domains = domains.iter().map(|d| (*d).to_owned()).collect();
        }
        request
    };
    app.bff()
        .put_sign_in_settings(actor(&acme_admin).request(with_domains(&["Consultants.example"])))
        .await
        .unwrap();
    // Accounts in both organisations, in neither: the domain alone decides.
    app.provision(&acme_admin, "pat@consultants.example", pb::Role::Editor)
        .await;
    app.provision(&globex_admin, "pat@consultants.example", pb::Role::Viewer)
        .await;
    for email in ["pat@consultants.example", "nobody@CONSULTANTS.example"] {
        let found = find(email, "").await.unwrap().into_inner();
        assert_eq!(found.organisation_id, acme.id, "{email}");
    }
    // Another organisation cannot claim it; nothing of its settings changes.
    let taken = app
        .bff()
        .put_sign_in_settings(
            actor(&globex_admin).request(with_domains(&["globex.example", "consultants.example"])),
        )
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
    assert!(
        taken.message().contains("consultants.example"),
        "{}",
        taken.message()
    );
    let globex = app
        .bff()
        .get_sign_in_settings(actor(&globex_admin).request(pb::GetSignInSettingsRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert!(globex.oidc.is_none());
    // A domain nobody serves answers as an unknown address did, whatever
    // accounts it has (globex's admin has one, globex has no provider).
    let known = find("admin@globex.example", "").await.unwrap_err();
    let unknown = find("nobody@unclaimed.example", "").await.unwrap_err();
    assert_eq!(known.code(), Code::NotFound);
    assert_eq!(known.code(), unknown.code());
    assert_eq!(known.message(), unknown.message());
    // By organisation, as before.
    let by_org = find("", &acme.id).await.unwrap().into_inner();
    assert_eq!(by_org.organisation_id, acme.id);
    // Bad domains are refused.
    for bad in ["*.acme.example", "acme", "a b.example"] {
        let refused = app
            .bff()
            .put_sign_in_settings(actor(&acme_admin).request(with_domains(&[bad])))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{bad}");
    }
}

#[tokio::test]
async fn a_client_certificate_is_stored_instead_of_a_secret_and_never_answered() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (acme, admin) = app.organisation("Acme").await;
    let pem = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n\
               -----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n";
    let with = |secret: Option<&str>, certificate: Option<&str>| pb::PutSignInSettingsRequest {
        client_secret: secret.map(str::to_owned),
        client_certificate: certificate.map(str::to_owned),
        ..generic()
    };
    for (secret, certificate) in [
        (Some(SECRET), Some(pem)),
        (None, Some("no PEM here")),
        (
            None,
            Some("-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n"),
        ),
    ] {
        let refused = app
            .bff()
            .put_sign_in_settings(actor(&admin).request(with(secret, certificate)))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
    }
    let put = app
        .bff()
        .put_sign_in_settings(actor(&admin).request(with(None, Some(pem))))
        .await
        .unwrap()
        .into_inner();
    let oidc = put.oidc.unwrap();
    assert!(oidc.client_certificate_set);
    assert!(!oidc.client_secret_set);
    let found = app
        .bff()
        .find_oidc_provider(pb::FindOidcProviderRequest {
            organisation_id: acme.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.client_certificate, pem.trim());
    assert!(found.client_secret.is_empty());
    assert!(!format!("{found:?}").contains("PRIVATE KEY"));
    // Back to a secret: the certificate is gone.
    app.bff()
        .put_sign_in_settings(actor(&admin).request(with(Some(SECRET), None)))
        .await
        .unwrap();
    let found = app
        .bff()
        .find_oidc_provider(pb::FindOidcProviderRequest {
            organisation_id: acme.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.client_secret, SECRET);
    assert!(found.client_certificate.is_empty());
}
