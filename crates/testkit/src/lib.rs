//! Test support shared by the services' test suites: real certificates, real
//! databases, real TLS. Panics on setup failure, as test helpers do.
#![allow(clippy::missing_panics_doc)]

pub mod moto;
pub mod oidc;
pub mod otlp;
pub mod process;
pub mod receivers;
pub mod seed;
pub mod servers;

pub use moto::Moto;
pub use servers::{MariaDb, Redis};

use std::{net::SocketAddr, sync::Arc};

use folio_platform::{
    config::Platform,
    db::{Backend, Credentials, DatabaseSettings, DatabaseUrl},
    grpc,
    pki::DevPki,
    tls::{self, TlsFiles},
};
use sqlx::{Connection, Executor, MySqlConnection};
use tempfile::TempDir;
use tonic::transport::Channel;

/// Where tests find MariaDB/MySQL; each test gets its own database there.
pub fn mysql_url() -> String {
    std::env::var("FOLIO_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

/// Port 0 on loopback: the OS picks a free port.
pub fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A development PKI in a temporary folder.
#[derive(Debug)]
pub struct Pki {
    pub pki: DevPki,
    _dir: TempDir,
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}

impl Pki {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let pki = DevPki::open(dir.path().join("pki")).expect("dev PKI");
        Self { pki, _dir: dir }
    }

    pub fn files(&self, identity: &str) -> TlsFiles {
        self.pki.identity(identity).expect("identity certificate")
    }

    /// The platform settings every service's test settings embed: any free
    /// port, plain HTTP, `identity`'s certificate, the default secrets
    /// refresh. The one place a new platform setting gets its test value.
    pub fn platform(&self, identity: &str) -> Platform {
        Platform {
            http_addr: any_port(),
            http_tls: None,
            tls: self.files(identity),
            secrets_refresh: folio_platform::secrets::DEFAULT_REFRESH,
        }
    }

    pub fn client_config(&self, identity: &str) -> Arc<rustls::ClientConfig> {
        tls::client_config(&self.files(identity)).expect("client TLS config")
    }

    /// A channel to `127.0.0.1:port` presenting `identity`'s certificate.
    pub fn channel(&self, identity: &str, port: u16) -> Channel {
        grpc::channel(
            &format!("https://127.0.0.1:{port}"),
            self.client_config(identity),
        )
        .expect("channel")
    }

    /// A channel that trusts this CA but presents no certificate.
    pub fn anonymous_channel(&self, port: u16) -> Channel {
        let config = tls::anonymous_client_config(self.pki.ca_cert_path()).expect("TLS config");
        grpc::channel(&format!("https://127.0.0.1:{port}"), config).expect("channel")
    }
}

/// A fresh, empty database for one test; dropped afterwards.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: DatabaseUrl,
    pub backend: Backend,
    mysql_name: Option<String>,
    _dir: Option<TempDir>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = DatabaseUrl::sqlite_file(&dir.path().join("test.db"));
                Self {
                    url,
                    backend,
                    mysql_name: None,
                    _dir: Some(dir),
                }
            }
            Backend::MySql => {
                let name = format!("folio_t_{}", uuid::Uuid::new_v4().simple());
                let mut conn = MySqlConnection::connect(&mysql_url())
                    .await
                    .expect("MariaDB/MySQL reachable at FOLIO_TEST_MYSQL_URL");
                conn.execute(
                    format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
                        .as_str(),
                )
                .await
                .expect("create test database");
                let url = format!("{}/{name}", mysql_url())
                    .parse()
                    .expect("database URL");
                Self {
                    url,
                    backend,
                    mysql_name: Some(name),
                    _dir: None,
                }
            }
        }
    }
}

/// Settings for a service's own database at `url`: no login secrets, a
/// small pool.
pub fn database_settings(url: DatabaseUrl) -> DatabaseSettings {
    DatabaseSettings {
        url,
        credentials: Credentials::none(),
        max_connections: 5,
    }
}

impl TestDatabase {
    /// Settings for a service whose database this is ([`database_settings`]).
    pub fn settings(&self) -> DatabaseSettings {
        database_settings(self.url.clone())
    }

    /// The MariaDB/MySQL database's name (`None` on SQLite).
    pub fn mysql_name(&self) -> Option<&str> {
        self.mysql_name.as_deref()
    }

    /// `mysql://host:port/<database>`, with no user name or password in it.
    pub fn url_without_login(&self) -> String {
        let name = self.mysql_name().expect("a MariaDB/MySQL test database");
        let mut url = url::Url::parse(&mysql_url()).expect("FOLIO_TEST_MYSQL_URL is a URL");
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_path(name);
        url.to_string()
    }
}

/// A MariaDB/MySQL account of one test with every right on one test
/// database (`'<name>'@'%'`); dropped afterwards.
#[derive(Debug)]
pub struct TestDbUser {
    pub name: String,
}

/// `text` as a quoted SQL string literal.
fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

async fn admin_connection() -> MySqlConnection {
    MySqlConnection::connect(&mysql_url())
        .await
        .expect("MariaDB/MySQL reachable at FOLIO_TEST_MYSQL_URL")
}

impl TestDbUser {
    pub async fn create(database: &TestDatabase, password: &str) -> Self {
        Self::create_with_rights(database, password, "ALL PRIVILEGES").await
    }

    /// An account with only `rights` (e.g. `SELECT, INSERT, UPDATE, DELETE`:
    /// a serving pod's login, which has no DDL rights).
    pub async fn create_with_rights(database: &TestDatabase, password: &str, rights: &str) -> Self {
        let name = format!(
            "folio_u_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let db = database
            .mysql_name()
            .expect("a MariaDB/MySQL test database");
        let mut conn = admin_connection().await;
        conn.execute(
            format!(
                "CREATE USER '{name}'@'%' IDENTIFIED BY {}",
                sql_string(password)
            )
            .as_str(),
        )
        .await
        .expect("create test user");
        conn.execute(format!("GRANT {rights} ON `{db}`.* TO '{name}'@'%'").as_str())
            .await
            .expect("grant the test database");
        Self { name }
    }

    /// Changes the account's password; connections already open stay open.
    pub async fn set_password(&self, password: &str) {
        admin_connection()
            .await
            .execute(
                format!(
                    "ALTER USER '{}'@'%' IDENTIFIED BY {}",
                    self.name,
                    sql_string(password)
                )
                .as_str(),
            )
            .await
            .expect("change the test user's password");
    }

    /// Ends every open connection of the account; how many there were.
    pub async fn kill_connections(&self) -> usize {
        let mut conn = admin_connection().await;
        // As text: the id is BIGINT on MariaDB and BIGINT UNSIGNED on MySQL.
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(id AS CHAR) FROM information_schema.processlist WHERE user = ?",
        )
        .bind(&self.name)
        .fetch_all(&mut conn)
        .await
        .expect("list the test user's connections");
        for id in &ids {
            // A connection may end by itself meanwhile.
            let _ = conn.execute(format!("KILL CONNECTION {id}").as_str()).await;
        }
        ids.len()
    }
}

impl Drop for TestDbUser {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = MySqlConnection::connect(&mysql_url()).await {
                    let _ = conn
                        .execute(format!("DROP USER IF EXISTS '{name}'@'%'").as_str())
                        .await;
                }
            });
        })
        .join();
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = self.mysql_name.take() {
            // Drop cannot await; a short-lived runtime on its own thread can.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    if let Ok(mut conn) = MySqlConnection::connect(&mysql_url()).await {
                        let _ = conn
                            .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// Runs one async test body once per backend: `backend_tests!(body_fn);`
/// expands to a module with a `sqlite` and a `mysql` test.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(folio_platform::db::Backend::Sqlite).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn mysql() {
                    super::$name(folio_platform::db::Backend::MySql).await;
                }
            }
        )+
    };
}

/// A plain HTTP/1.1 GET on loopback (health endpoints); the status and the
/// whole response.
pub async fn http_get(port: u16, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("the port answers");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .expect("request sent");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("response read");
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

/// The next release's migrations, for rollback tests: a copy of `dir` (one
/// service's migrations for one backend) plus `later_sql` as a migration
/// dated after every one of them. An expand step, as docs/adr/0060 asks.
pub async fn later_migrations(
    dir: &std::path::Path,
    later_sql: &str,
) -> (TempDir, sqlx::migrate::Migrator) {
    let copy = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(dir).expect("migrations folder") {
        let entry = entry.expect("migration file");
        std::fs::copy(entry.path(), copy.path().join(entry.file_name())).expect("copy migration");
    }
    std::fs::write(
        copy.path().join("99990101000000_synthetic_later.sql"),
        later_sql,
    )
    .expect("write the later migration");
    let migrator = sqlx::migrate::Migrator::new(copy.path())
        .await
        .expect("the later migration set resolves");
    (copy, migrator)
}

/// The migrations of `service` for `backend`, read from the repository.
pub fn migrations_dir(service: &str, backend: Backend) -> std::path::PathBuf {
    let backend = match backend {
        Backend::MySql => "mysql",
        Backend::Sqlite => "sqlite",
    };
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../services")
        .join(service)
        .join("migrations")
        .join(backend)
}
