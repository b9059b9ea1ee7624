//! The database over TLS, as on RDS where each service's account is created
//! `REQUIRE SSL`: the URL's `ssl-mode` and `ssl-ca` decide, the server's
//! certificate is verified, and a connection that cannot be secured or
//! verified stops start-up with a clear error.

use folio_proto::users::v1 as pb;
use folio_testkit::{MariaDb, Pki};
use folio_users::Application;

use super::helpers::{PASSWORD, settings};

const ACCOUNT: &str = "folio_users";
const ACCOUNT_PASSWORD: &str = "tls-only-Pa55word";

async fn server(pki: &Pki) -> MariaDb {
    let server = MariaDb::start_tls(pki).await;
    server
        .create_tls_account("folio_users", ACCOUNT, ACCOUNT_PASSWORD)
        .await;
    server
}

fn url(server: &MariaDb, host: &str, tls: &str) -> String {
    format!(
        "mysql://{ACCOUNT}:{ACCOUNT_PASSWORD}@{host}:{}/folio_users?{tls}",
        server.port()
    )
}

async fn start(pki: &Pki, database_url: &str) -> Result<Application, String> {
    let database_url = database_url.parse().expect("a database URL");
    Application::build(settings(pki, database_url, None))
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_runs_on_a_database_that_requires_tls() {
    let pki = Pki::new();
    let server = server(&pki).await;
    let ca = server.ca().display();
    let app = start(
        &pki,
        &url(
            &server,
            "localhost",
            &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
        ),
    )
    .await
    .expect("starts over verified TLS");
    let port = app.port();
    let stop = app.stop_token();
    tokio::spawn(app.run_until_stopped());

    // Migrations ran and the service reads and writes over that connection.
    let made = pb::users_service_client::UsersServiceClient::new(pki.channel("operator", port))
        .create_organisation(pb::CreateOrganisationRequest {
            name: "Acme".into(),
            admin_email: "admin@acme.example".into(),
            admin_display_name: "Admin".into(),
            admin_password: PASSWORD.into(),
        })
        .await
        .expect("organisation created")
        .into_inner();
    assert_eq!(made.organisation.unwrap().name, "Acme");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_is_not_secured_or_not_verified_stops_start_up() {
    let pki = Pki::new();
    let server = server(&pki).await;
    let stranger = Pki::new();
    let cases = [
        // The account requires TLS: plain is refused by the server.
        (
            url(&server, "127.0.0.1", "ssl-mode=DISABLED"),
            "Access denied",
        ),
        // A certificate from a CA we do not trust.
        (
            url(
                &server,
                "localhost",
                &format!(
                    "ssl-mode=VERIFY_CA&ssl-ca={}",
                    stranger.pki.ca_cert_path().display()
                ),
            ),
            "invalid peer certificate",
        ),
        // A certificate for another name than the one we dialled.
        (
            url(
                &server,
                "127.0.0.2",
                &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={}", server.ca().display()),
            ),
            "certificate not valid for name",
        ),
    ];
    for (database_url, expected) in cases {
        let error = start(&pki, &database_url)
            .await
            .err()
            .unwrap_or_else(|| panic!("{database_url} must not start"));
        assert!(
            error.contains(expected),
            "{database_url}: expected {expected:?} in {error:?}"
        );
        assert!(
            !error.contains(ACCOUNT_PASSWORD),
            "no password in {error:?}"
        );
    }
}
