//! Sessions in Redis over TLS with an AUTH token, as ElastiCache serves them
//! with encryption in transit (`rediss://`): the bff verifies the server's
//! certificate (here against `FOLIO_BFF_REDIS_CA_FILE`) and keeps nothing in
//! a Redis it cannot verify.

use folio_platform::db::Backend;
use folio_testkit::{Pki, Redis};
use redis::AsyncCommands;
use reqwest::StatusCode;

use super::helpers::{Options, PASSWORD, Sessions, TestSystem};

const TOKEN: &str = "elasticache-auth-token-0123456789";

/// The system with sessions in `redis` at `url`, trusting `ca`'s CA.
async fn system(url: &str, auth_token: Option<&str>, ca: &Pki) -> TestSystem {
    TestSystem::spawn_with(
        Backend::Sqlite,
        Options {
            sessions: Some(Sessions::Redis {
                url: url.to_owned(),
                auth_token: auth_token.map(str::to_owned),
                ca_file: Some(ca.pki.ca_cert_path()),
            }),
            ..Options::default()
        },
    )
    .await
}

/// The session keys in `redis`, read with a client of our own over TLS.
async fn session_keys(redis: &Redis, pki: &Pki) -> Vec<String> {
    let client = redis::Client::build_with_tls(
        redis.url(),
        redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(std::fs::read(pki.pki.ca_cert_path()).unwrap()),
        },
    )
    .unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    // `<prefix>session:<hash>`; `<prefix>user-sessions:<id>` is the index.
    conn.keys("*:session:*").await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_live_in_redis_over_verified_tls() {
    let pki = Pki::new();
    let redis = Redis::start_tls(&pki, TOKEN);
    // The token apart from the URL, as the chart gives it (from Secrets Manager).
    let address = format!("rediss://localhost:{}", redis.port());
    let system = system(&address, Some(TOKEN), &pki).await;

    let admin = system.signed_in("admin@acme.example").await;
    assert_eq!(admin.get("/api/v1/documents").await.status, StatusCode::OK);
    assert_eq!(system.browser().get("/readyz").await.status, StatusCode::OK);
    assert_eq!(session_keys(&redis, &pki).await.len(), 1);

    assert_eq!(
        admin.delete("/api/v1/session").await.status,
        StatusCode::NO_CONTENT
    );
    assert!(session_keys(&redis, &pki).await.is_empty());
    assert_eq!(
        admin.get("/api/v1/documents").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverifiable_redis_or_a_wrong_or_missing_token_gets_no_session() {
    let pki = Pki::new();
    let redis = Redis::start_tls(&pki, TOKEN);
    let stranger = Pki::new();
    let address = format!("rediss://localhost:{}", redis.port());
    for (url, token, ca, what) in [
        (
            redis.url(),
            None,
            &stranger,
            "a certificate from another CA",
        ),
        (
            address.as_str(),
            Some("not-the-token"),
            &pki,
            "a wrong AUTH token",
        ),
        (address.as_str(), None, &pki, "no AUTH token"),
    ] {
        let system = system(url, token, ca).await;
        let sign_in = system
            .browser()
            .sign_in("admin@acme.example", PASSWORD)
            .await;
        assert_eq!(
            (sign_in.status, sign_in.problem_type().as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "service-unavailable"),
            "{what}"
        );
        assert!(
            !sign_in.text().contains(TOKEN) && !sign_in.text().contains("certificate"),
            "no internals in the answer: {}",
            sign_in.text()
        );
        assert_eq!(
            system.browser().get("/readyz").await.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{what}"
        );
    }
    assert!(session_keys(&redis, &pki).await.is_empty());
}
