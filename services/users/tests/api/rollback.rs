//! Rollback past a migration (docs/adr/0060): this image's users service,
//! the "previous release", starts and serves on the schema a later release
//! left behind (its migration applied, one this image does not know).

use folio_platform::db::{Backend, Credentials, Database, Migrations};
use folio_proto::users::v1 as pb;
use folio_testkit::{Pki, TestDatabase, backend_tests, later_migrations, migrations_dir};

use super::helpers::{PASSWORD, TestApp};

backend_tests!(the_previous_release_serves_on_a_newer_schema);

/// An expand step of a later release: a nullable column on a table this
/// image writes, and a table it does not know.
fn later_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::MySql => {
            "ALTER TABLE users ADD COLUMN synthetic_note VARCHAR(64) NULL;\n\
             CREATE TABLE synthetic_later (id BIGINT NOT NULL PRIMARY KEY);\n"
        }
        Backend::Sqlite => {
            "ALTER TABLE users ADD COLUMN synthetic_note TEXT;\n\
             CREATE TABLE synthetic_later (id INTEGER NOT NULL PRIMARY KEY);\n"
        }
    }
}

async fn the_previous_release_serves_on_a_newer_schema(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let (_dir, newer) =
        later_migrations(&migrations_dir("users", backend), later_sql(backend)).await;
    Database::connect_with(
        &db.url,
        &Credentials::none(),
        1,
        (&newer, &newer),
        Migrations::Apply,
    )
    .await
    .expect("the later release migrates")
    .close()
    .await;

    let app = TestApp::spawn_with(Pki::new(), db, None).await;
    let (_, admin) = app.organisation("Acme").await;
    let signed_in = app
        .bff()
        .authenticate(pb::AuthenticateRequest {
            email: admin.email.clone(),
            password: PASSWORD.into(),
        })
        .await
        .expect("the previous release serves: sign-in works")
        .into_inner();
    assert_eq!(signed_in.id, admin.id);
}
