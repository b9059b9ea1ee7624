//! Rollback past a migration (docs/adr/0060): the previous release's
//! migration set starts on the schema a later release left behind, on
//! SQLite and on MariaDB/MySQL; serving pods verify instead of migrating,
//! so their login needs no DDL rights.
#![allow(unreachable_pub)]

use folio_platform::db::{Backend, Credentials, Database, DatabaseUrl, DbError, Migrations};
use folio_testkit::{TestDatabase, TestDbUser, backend_tests, later_migrations, migrations_dir};
use sqlx::migrate::{MigrateError, Migrator};

backend_tests!(
    the_previous_migrations_start_on_a_newer_schema,
    verify_refuses_a_schema_behind_the_image
);

const LATER: i64 = 99_990_101_000_000;

/// An expand step of a later release: a nullable column and a new table.
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

/// The users service's migrations as this image has them.
async fn current(backend: Backend) -> Migrator {
    Migrator::new(migrations_dir("users", backend))
        .await
        .expect("the users migrations resolve")
}

async fn connect(
    url: &DatabaseUrl,
    migrator: &Migrator,
    mode: Migrations,
) -> Result<Database, DbError> {
    Database::connect_with(url, &Credentials::none(), 2, (migrator, migrator), mode).await
}

async fn users(db: &Database) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(db.reader())
        .await
        .expect("the users table reads")
}

async fn the_previous_migrations_start_on_a_newer_schema(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let (_dir, newer) =
        later_migrations(&migrations_dir("users", backend), later_sql(backend)).await;
    let previous = current(backend).await;

    let next = connect(&db.url, &newer, Migrations::Apply)
        .await
        .expect("the later release migrates");
    // sqlx on its own refuses a database that has a migration it does not
    // know: this is what would stop a rolled-back image.
    match previous.run(&next.pool).await {
        Err(MigrateError::VersionMissing(version)) => assert_eq!(version, LATER),
        other => panic!("plain sqlx should refuse the newer schema, got {other:?}"),
    }
    next.close().await;

    for mode in [Migrations::Apply, Migrations::Verify] {
        let rolled_back = connect(&db.url, &previous, mode)
            .await
            .unwrap_or_else(|e| panic!("{mode:?}: the previous release starts: {e}"));
        assert!(rolled_back.ping().await, "{mode:?}: ready");
        assert_eq!(users(&rolled_back).await, 0, "{mode:?}: its tables read");
        rolled_back.close().await;
    }
}

async fn verify_refuses_a_schema_behind_the_image(backend: Backend) {
    let db = TestDatabase::create(backend).await;
    let previous = current(backend).await;
    match connect(&db.url, &previous, Migrations::Verify).await {
        Err(DbError::SchemaBehind { version, .. }) => assert_eq!(version, 20_261_124_000_001),
        other => panic!("an empty schema must be refused, got {other:?}"),
    }
    connect(&db.url, &previous, Migrations::Apply)
        .await
        .expect("migrates")
        .close()
        .await;
    let (_dir, newer) =
        later_migrations(&migrations_dir("users", backend), later_sql(backend)).await;
    match connect(&db.url, &newer, Migrations::Verify).await {
        Err(DbError::SchemaBehind { version, .. }) => assert_eq!(version, LATER),
        other => panic!("a new image before its migration Job must be refused, got {other:?}"),
    }
}

/// The serving login has SELECT, INSERT, UPDATE and DELETE only: it starts
/// in verify mode, and cannot change the schema even when asked to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_login_needs_no_ddl_rights() {
    let db = TestDatabase::create(Backend::MySql).await;
    let previous = current(Backend::MySql).await;
    connect(&db.url, &previous, Migrations::Apply)
        .await
        .expect("the migration login migrates")
        .close()
        .await;
    let runtime =
        TestDbUser::create_with_rights(&db, "runtime-pw", "SELECT, INSERT, UPDATE, DELETE").await;
    let url: DatabaseUrl = db
        .url_without_login()
        .replacen(
            "mysql://",
            &format!("mysql://{}:runtime-pw@", runtime.name),
            1,
        )
        .parse()
        .expect("runtime URL");

    let serving = connect(&url, &previous, Migrations::Verify)
        .await
        .expect("the serving pod starts without DDL rights");
    assert_eq!(users(&serving).await, 0);
    serving.close().await;

    let (_dir, newer) = later_migrations(
        &migrations_dir("users", Backend::MySql),
        later_sql(Backend::MySql),
    )
    .await;
    assert!(
        matches!(
            connect(&url, &newer, Migrations::Apply).await,
            Err(DbError::Migrate(_))
        ),
        "the runtime login must not be able to run DDL"
    );
    let check = connect(&db.url, &previous, Migrations::Verify)
        .await
        .expect("root reads");
    let later_tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'synthetic_later' AND table_schema = DATABASE()",
    )
    .fetch_one(&check.pool)
    .await
    .expect("information_schema reads");
    assert_eq!(later_tables, 0, "schema unchanged");
    check.close().await;
}
