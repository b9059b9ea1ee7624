//! Sessions in Redis over TLS with an AUTH token, as ElastiCache serves them
//! with encryption in transit (`rediss://`): the bff verifies the server's
//! certificate (here against `FOLIO_BFF_REDIS_CA_FILE`), keeps nothing in a
//! Redis it cannot verify or log in to, and follows a rotated token without
//! a restart.

use std::{sync::Arc, time::Duration};

use folio_platform::{
    db::Backend,
    secrets::{FileSecrets, SecretSource},
};
use folio_testkit::{Pki, Redis};
use redis::AsyncCommands;
use reqwest::StatusCode;
use tempfile::TempDir;

use super::helpers::{Options, PASSWORD, Sessions, TestSystem};

const TOKEN: &str = "elasticache-auth-token-0123456789";
const ROTATED: &str = "rotated-auth-token-9876543210abcdef";

/// The AUTH token in a secret file, as `FOLIO_BFF_REDIS_AUTH_TOKEN_FILE`
/// names it (Secrets Manager behaves the same through the same source).
struct TokenFile(TempDir);

impl TokenFile {
    fn new(token: &str) -> Self {
        let file = Self(tempfile::tempdir().unwrap());
        file.set(token);
        file
    }

    fn set(&self, token: &str) {
        std::fs::write(self.0.path().join("redis-auth-token"), token).unwrap();
    }

    fn source(&self) -> SecretSource {
        let files = FileSecrets {
            dir: self.0.path().to_owned(),
        };
        SecretSource::new(
            Arc::new(files),
            "redis-auth-token",
            "FOLIO_BFF_REDIS_AUTH_TOKEN_FILE",
        )
    }
}

/// The system with sessions in Redis at `url`, trusting `ca`'s CA.
async fn system(url: &str, auth_token: Option<&TokenFile>, ca: &Pki) -> TestSystem {
    TestSystem::spawn_with(
        Backend::Sqlite,
        Options {
            sessions: Some(Sessions::Redis {
                url: url.to_owned(),
                auth_token: auth_token.map(TokenFile::source),
                ca_file: Some(ca.pki.ca_cert_path()),
            }),
            ..Options::default()
        },
    )
    .await
}

/// A connection of our own to `redis` over TLS, logged in with `token`.
async fn admin(redis: &Redis, pki: &Pki, token: &str) -> redis::aio::MultiplexedConnection {
    let url = format!("rediss://:{token}@localhost:{}", redis.port());
    let certificates = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(std::fs::read(pki.pki.ca_cert_path()).unwrap()),
    };
    redis::Client::build_with_tls(url, certificates)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// The session keys in `redis`.
async fn session_keys(redis: &Redis, pki: &Pki) -> Vec<String> {
    // `<prefix>session:<hash>`; `<prefix>user-sessions:<id>` is the index.
    admin(redis, pki, TOKEN)
        .await
        .keys("*:session:*")
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_live_in_redis_over_verified_tls() {
    let pki = Pki::new();
    let redis = Redis::start_tls(&pki, TOKEN);
    // The token apart from the URL, as the chart gives it (from Secrets Manager).
    let address = format!("rediss://localhost:{}", redis.port());
    let token = TokenFile::new(TOKEN);
    let system = system(&address, Some(&token), &pki).await;

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
    let wrong = TokenFile::new("not-the-token");
    for (url, token, ca, what) in [
        (
            redis.url(),
            None,
            &stranger,
            "a certificate from another CA",
        ),
        (address.as_str(), Some(&wrong), &pki, "a wrong AUTH token"),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_auth_token_is_followed_without_a_restart() {
    let pki = Pki::new();
    let redis = Redis::start_tls(&pki, TOKEN);
    let token = TokenFile::new(TOKEN);
    let address = format!("rediss://localhost:{}", redis.port());
    let system = system(&address, Some(&token), &pki).await;
    let admin_browser = system.signed_in("admin@acme.example").await;

    // Rotate: Redis takes the new token, then the secret does.
    let mut conn = admin(&redis, &pki, TOKEN).await;
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg(ROTATED)
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    token.set(ROTATED);
    // Two refresh intervals (200 ms in these tests): every connection has
    // logged in again with the new token.
    tokio::time::sleep(Duration::from_millis(600)).await;
    // Drop every connection but ours: the bff must open new ones, which
    // only the rotated token lets in.
    redis::cmd("CLIENT")
        .arg(&["KILL", "TYPE", "normal", "SKIPME", "yes"][..])
        .query_async::<u64>(&mut conn)
        .await
        .unwrap();

    assert_eq!(
        admin_browser.get("/api/v1/documents").await.status,
        StatusCode::OK,
        "the session survives the rotation"
    );
    let again = system
        .browser()
        .sign_in("admin@acme.example", PASSWORD)
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
}
