//! API tokens over gRPC/mTLS: only the bff may use the RPCs, the database
//! holds the secret's SHA-256 and never the secret, and every query stays
//! inside the actor's organisation.

use folio_platform::db::Backend;
use folio_proto::users::v1 as pb;
use folio_testkit::backend_tests;
use sha2::{Digest, Sha256};
use sqlx::{Connection, Row};
use tonic::Code;

use super::helpers::{TestApp, actor};

backend_tests!(
    tokens_are_stored_as_digests_and_kept_to_their_organisation,
    only_the_bff_may_use_the_token_rpcs
);

fn in_an_hour() -> String {
    folio_platform::clock::rfc3339(folio_platform::clock::now_millis() + 3_600_000)
}

fn new_token(scope: pb::ApiTokenScope) -> pb::CreateApiTokenRequest {
    pb::CreateApiTokenRequest {
        name: "script".into(),
        expires_at: in_an_hour(),
        scope: scope.into(),
    }
}

async fn tokens_are_stored_as_digests_and_kept_to_their_organisation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, acme) = app.organisation("Acme").await;
    let (_, globex) = app.organisation("Globex").await;
    let viewer = app
        .provision(&acme, "vi@acme.example", pb::Role::Viewer)
        .await;
    let created = app
        .bff()
        .create_api_token(actor(&viewer).request(new_token(pb::ApiTokenScope::Write)))
        .await
        .unwrap()
        .into_inner();
    let token = created.token.unwrap();
    assert_eq!(token.user_email, "vi@acme.example");

    // The row holds the digest only.
    sqlx::any::install_default_drivers();
    let url = format!("{:?}", app.db.url);
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let rows = sqlx::query("SELECT secret_hash FROM api_tokens")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let stored: String = rows[0].try_get("secret_hash").unwrap();
    let digest: String = Sha256::digest(created.secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(stored, digest);
    assert!(!stored.contains(&created.secret[10..]));

    // It resolves to its owner as they are now.
    let resolved = app
        .bff()
        .authenticate_api_token(pb::AuthenticateApiTokenRequest {
            secret: created.secret.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resolved.user.unwrap().id, viewer.id);
    assert_eq!(resolved.scope, i32::from(pb::ApiTokenScope::Write));
    assert_eq!(resolved.token_id, token.id);

    // Another organisation's admin neither sees nor revokes it.
    let theirs = app
        .bff()
        .list_api_tokens(actor(&globex).request(pb::ListApiTokensRequest { organisation: true }))
        .await
        .unwrap()
        .into_inner();
    assert!(theirs.tokens.is_empty());
    let refused = app
        .bff()
        .revoke_api_token(actor(&globex).request(pb::RevokeApiTokenRequest {
            id: token.id.clone(),
            organisation: true,
        }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
    // A non-admin cannot list the organisation's tokens.
    let refused = app
        .bff()
        .list_api_tokens(actor(&viewer).request(pb::ListApiTokensRequest { organisation: true }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    // Acme's admin revokes it; it no longer resolves.
    app.bff()
        .revoke_api_token(actor(&acme).request(pb::RevokeApiTokenRequest {
            id: token.id.clone(),
            organisation: true,
        }))
        .await
        .unwrap();
    let gone = app
        .bff()
        .authenticate_api_token(pb::AuthenticateApiTokenRequest {
            secret: created.secret,
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::Unauthenticated);

    // Bad input is refused and stores nothing.
    for bad in [
        pb::CreateApiTokenRequest {
            expires_at: "soon".into(),
            ..new_token(pb::ApiTokenScope::Read)
        },
        pb::CreateApiTokenRequest {
            expires_at: folio_platform::clock::rfc3339(0),
            ..new_token(pb::ApiTokenScope::Read)
        },
        new_token(pb::ApiTokenScope::Unspecified),
        pb::CreateApiTokenRequest {
            name: "\u{1b}[31m".into(),
            ..new_token(pb::ApiTokenScope::Read)
        },
    ] {
        let refused = app
            .bff()
            .create_api_token(actor(&viewer).request(bad))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
    }
    let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM api_tokens")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(count, 1);
}

async fn only_the_bff_may_use_the_token_rpcs(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, acme) = app.organisation("Acme").await;
    for identity in ["documents", "integration", "operator"] {
        let mut client = app.client(identity);
        let codes = [
            client
                .create_api_token(actor(&acme).request(new_token(pb::ApiTokenScope::Read)))
                .await
                .unwrap_err()
                .code(),
            client
                .list_api_tokens(actor(&acme).request(pb::ListApiTokensRequest::default()))
                .await
                .unwrap_err()
                .code(),
            client
                .revoke_api_token(actor(&acme).request(pb::RevokeApiTokenRequest::default()))
                .await
                .unwrap_err()
                .code(),
            client
                .authenticate_api_token(pb::AuthenticateApiTokenRequest::default())
                .await
                .unwrap_err()
                .code(),
        ];
        assert_eq!(codes, [Code::PermissionDenied; 4], "{identity}");
    }
}
