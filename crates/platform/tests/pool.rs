//! The connection pool on MariaDB/MySQL: no ping on a busy connection's
//! path, yet a connection the server closed while it sat idle is replaced
//! without the caller seeing it, and one that broke in use is not handed
//! out again.
#![allow(unreachable_pub)]

use std::time::Duration;

use folio_platform::db::{Backend, Credentials, Database, Migrations};
use folio_testkit::{TestDatabase, migrations_dir, mysql_url};
use sqlx::{Connection, Executor, migrate::Migrator, mysql::MySqlConnection};

async fn connect(db: &TestDatabase) -> Database {
    let migrator = Migrator::new(migrations_dir("users", Backend::MySql))
        .await
        .expect("the users migrations resolve");
    Database::connect_with(
        &db.url,
        &Credentials::none(),
        1,
        (&migrator, &migrator),
        Migrations::Apply,
    )
    .await
    .expect("connects")
}

/// The server-side id of the pool's one connection.
async fn connection_id(db: &Database) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT CAST(CONNECTION_ID() AS SIGNED)")
        .fetch_one(db.reader())
        .await
}

async fn kill(id: i64) {
    let mut admin = MySqlConnection::connect(&mysql_url()).await.unwrap();
    admin
        .execute(format!("KILL CONNECTION {id}").as_str())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_killed_while_idle_is_replaced_unseen() {
    let test_db = TestDatabase::create(Backend::MySql).await;
    let db = connect(&test_db).await;
    let first = connection_id(&db).await.unwrap();

    kill(first).await;
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let second = connection_id(&db).await.expect("the caller never sees it");
    assert_ne!(first, second, "a new connection serves");
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_broke_in_use_is_not_handed_out_again() {
    let test_db = TestDatabase::create(Backend::MySql).await;
    let db = connect(&test_db).await;
    let first = connection_id(&db).await.unwrap();

    // Killed and used again at once, as under load: that one query fails
    // (no ping stands in its way), and the connection is dropped after it.
    kill(first).await;
    assert!(connection_id(&db).await.is_err());
    let second = connection_id(&db).await.expect("a fresh connection");
    assert_ne!(first, second);
    db.close().await;
}

/// A document's tags are aggregated with GROUP_CONCAT, which MySQL cuts at
/// 1,024 bytes unless the session allows more (MariaDB's default is 1 MiB,
/// so the session's own figure is what shows the setting was made).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connection_allows_long_aggregated_text() {
    let test_db = TestDatabase::create(Backend::MySql).await;
    let db = connect(&test_db).await;
    let limit: i64 = sqlx::query_scalar("SELECT CAST(@@SESSION.group_concat_max_len AS SIGNED)")
        .fetch_one(db.reader())
        .await
        .unwrap();
    assert_eq!(limit, 65_536);
    db.close().await;
}
