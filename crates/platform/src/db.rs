//! One SQL layer, two backends: MySQL in production (and MariaDB in CI),
//! SQLite as the embedded default. Queries are runtime-checked through
//! sqlx's `Any` driver and written in the SQL both backends share; schema
//! migrations are kept per backend.
//!
//! The user name and password may come from secrets ([`Credentials`]); they
//! are fetched again on an interval ([`Database::keep_credentials_fresh`])
//! and a changed value is used for every new connection, so a rotated
//! password needs no restart. Open connections stay as they are.
//!
//! Migrations are expand-then-contract (docs/adr/0060): a schema newer than
//! the image is normal during a rollback, so migrations this image does not
//! know are ignored. In a cluster they run once per rollout, by a Job with
//! its own DDL login (`FOLIO_MIGRATIONS=only`); the serving pods only check
//! that the schema has what they need (`FOLIO_MIGRATIONS=verify`).

use std::{
    borrow::Cow,
    collections::HashMap,
    str::FromStr,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use sqlx::{
    AnyPool, ConnectOptions, Connection, Executor,
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::{MigrateError, Migrator},
};
use tokio_util::sync::CancellationToken;

use crate::{
    config::{ConfigError, Env},
    secrets::{FetchError, Secret, SecretSource},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    MySql,
    Sqlite,
}

impl Backend {
    fn of(url: &str) -> Option<Self> {
        if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            Some(Self::MySql)
        } else if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else {
            None
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database URL must start with mysql:// or sqlite:")]
    UnsupportedUrl,
    #[error("database URL is malformed")]
    MalformedUrl,
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] MigrateError),
    #[error(transparent)]
    Secret(#[from] FetchError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "the database schema lacks migration {version} ({description}) of this image: \
         run the migrations first (FOLIO_MIGRATIONS=only)"
    )]
    SchemaBehind { version: i64, description: String },
    #[error("migration {version} in the database differs from this image's")]
    SchemaDiffers { version: i64 },
}

/// What a service does with its migrations at start: `FOLIO_MIGRATIONS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Migrations {
    /// Apply the pending ones, then serve (local runs, tests, `folio up`).
    #[default]
    Apply,
    /// Apply nothing; refuse to start unless every migration of this image
    /// is in the database (serving pods, whose login has no DDL rights).
    Verify,
    /// Apply the pending ones and exit (the rollout's migration Job).
    Only,
}

impl FromStr for Migrations {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "apply" => Ok(Self::Apply),
            "verify" => Ok(Self::Verify),
            "only" => Ok(Self::Only),
            _ => Err("expected apply, verify or only".to_owned()),
        }
    }
}

impl Migrations {
    /// `FOLIO_MIGRATIONS`; `apply` when unset.
    pub fn from_env() -> Result<Self, ConfigError> {
        crate::config::Env::new("FOLIO_").or("MIGRATIONS", Self::Apply)
    }
}

/// `known` with migrations it does not know tolerated: an older image on a
/// newer schema (a rollback) must start. Applied migrations it does know
/// are still checked against their checksums.
fn tolerant(known: &Migrator) -> Migrator {
    let mut migrator = Migrator {
        migrations: Cow::Owned(known.iter().cloned().collect()),
        ..Migrator::DEFAULT
    };
    migrator.set_ignore_missing(true);
    migrator.set_locking(known.locking);
    migrator
}

/// Every migration of `known` is in the database with the same checksum.
/// Later ones (a newer release's) are fine.
async fn verify(pool: &AnyPool, known: &Migrator) -> Result<(), DbError> {
    let rows: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_all(pool)
            .await
            .unwrap_or_default();
    let applied: HashMap<i64, Vec<u8>> = rows.into_iter().collect();
    for migration in known
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
    {
        match applied.get(&migration.version) {
            None => {
                return Err(DbError::SchemaBehind {
                    version: migration.version,
                    description: migration.description.to_string(),
                });
            }
            Some(checksum) if **checksum != *migration.checksum => {
                return Err(DbError::SchemaDiffers {
                    version: migration.version,
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// A database URL whose password may come from a secret. Its `Debug` hides the password.
#[derive(Clone)]
pub struct DatabaseUrl(url::Url);

impl FromStr for DatabaseUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if Backend::of(s).is_none() {
            return Err("expected a mysql://… or sqlite:… URL".to_owned());
        }
        url::Url::parse(s)
            .map(Self)
            .map_err(|_| "malformed URL".to_owned())
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.0.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some("redacted"));
        }
        f.write_str(shown.as_str())
    }
}

impl DatabaseUrl {
    /// A SQLite file, created when missing.
    pub fn sqlite_file(path: &std::path::Path) -> Self {
        Self(
            url::Url::parse(&format!("sqlite://{}?mode=rwc", path.display()))
                .unwrap_or_else(|_| unreachable_url()),
        )
    }

    pub fn backend(&self) -> Backend {
        Backend::of(self.0.as_str()).unwrap_or(Backend::Sqlite)
    }

    pub fn with_password(self, password: Option<&Secret>) -> Result<Self, DbError> {
        self.with_login(None, password)
    }

    /// This URL with the user name and password replaced where given.
    pub fn with_login(
        mut self,
        username: Option<&Secret>,
        password: Option<&Secret>,
    ) -> Result<Self, DbError> {
        if let Some(username) = username {
            self.0
                .set_username(username.expose())
                .map_err(|()| DbError::MalformedUrl)?;
        }
        if let Some(password) = password {
            self.0
                .set_password(Some(password.expose()))
                .map_err(|()| DbError::MalformedUrl)?;
        }
        Ok(self)
    }

    fn connect_options(&self) -> Result<AnyConnectOptions, DbError> {
        AnyConnectOptions::from_url(&self.0).map_err(|_| DbError::MalformedUrl)
    }
}

/// Where a database's user name and password come from when they are not in
/// its URL: `PREFIX+DATABASE_USERNAME` and `PREFIX+DATABASE_PASSWORD`, each
/// given directly, in a file (`…_FILE`) or in Secrets Manager (`…_SECRET`).
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub username: Option<SecretSource>,
    pub password: Option<SecretSource>,
}

impl Credentials {
    /// No secrets: whatever the URL says.
    pub fn none() -> Self {
        Self::default()
    }

    /// `PREFIX+DATABASE_USERNAME*` and `PREFIX+DATABASE_PASSWORD*`.
    pub async fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            username: env.secret_source("DATABASE_USERNAME").await?,
            password: env.secret_source("DATABASE_PASSWORD").await?,
        })
    }

    fn is_none(&self) -> bool {
        self.username.is_none() && self.password.is_none()
    }

    async fn fetch(&self) -> Result<Login, FetchError> {
        let fetch = async |source: &Option<SecretSource>| match source {
            Some(source) => source.fetch().await.map(Some),
            None => Ok(None),
        };
        Ok(Login {
            username: fetch(&self.username).await?,
            password: fetch(&self.password).await?,
        })
    }
}

/// The user name and password last fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Login {
    username: Option<Secret>,
    password: Option<Secret>,
}

/// What a pool needs to log in again with fresh credentials.
#[derive(Debug)]
struct Relogin {
    url: DatabaseUrl,
    credentials: Credentials,
    current: Mutex<Login>,
}

impl Relogin {
    /// Fetches the credentials and, when they changed, makes new connections
    /// of every pool use them.
    async fn refresh(&self, pools: &[&AnyPool]) -> Result<bool, DbError> {
        let fresh = self.credentials.fetch().await?;
        if *self.current.lock().unwrap_or_else(PoisonError::into_inner) == fresh {
            return Ok(false);
        }
        let options = self
            .url
            .clone()
            .with_login(fresh.username.as_ref(), fresh.password.as_ref())?
            .connect_options()?;
        for pool in pools {
            pool.set_connect_options(options.clone());
        }
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = fresh;
        Ok(true)
    }
}

fn unreachable_url() -> url::Url {
    // "sqlite::memory:" always parses; used only if a path makes a bad URL.
    url::Url::parse("sqlite::memory:").unwrap_or_else(|_| std::process::abort())
}

/// Pools of connections plus what kind of database is behind them.
#[derive(Debug, Clone)]
pub struct Database {
    /// For writes, and reads that must see them inside a transaction.
    pub pool: AnyPool,
    /// For reads alone. On SQLite, several read-only connections beside the
    /// single writer (WAL lets readers proceed while one writes); on MySQL,
    /// the same pool.
    readers: AnyPool,
    pub backend: Backend,
    relogin: Option<Arc<Relogin>>,
}

/// How long a pooled connection may sit unused before it is pinged on
/// acquire.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// What every pool shares. sqlx pings a connection on every acquire and
/// again on every release, two round trips on each query's path; the
/// release ping already finds a connection that broke while in use, so
/// acquire pings only one that sat idle (the server may have closed it
/// meanwhile: a restart, `wait_timeout`, a killed connection).
fn pool_options() -> AnyPoolOptions {
    AnyPoolOptions::new()
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= IDLE_BEFORE_PING {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// Read-only SQLite connections beside the writer.
const SQLITE_READERS: u32 = 4;

impl Database {
    /// Connects with the URL and the credentials' current values, and applies
    /// or verifies this service's migrations for the backend as
    /// `FOLIO_MIGRATIONS` says ([`Migrations`]).
    pub async fn connect(
        settings: &DatabaseSettings,
        mysql: &Migrator,
        sqlite: &Migrator,
    ) -> Result<Self, DbError> {
        let migrations = Migrations::from_env()?;
        Self::connect_with(
            &settings.url,
            &settings.credentials,
            settings.max_connections,
            (mysql, sqlite),
            migrations,
        )
        .await
    }

    /// Applies the pending migrations and closes the connection: the
    /// rollout's migration Job (`FOLIO_MIGRATIONS=only`).
    pub async fn migrate(
        settings: &DatabaseSettings,
        mysql: &Migrator,
        sqlite: &Migrator,
    ) -> Result<(), DbError> {
        let db = Self::connect_with(
            &settings.url,
            &settings.credentials,
            1,
            (mysql, sqlite),
            Migrations::Only,
        )
        .await?;
        db.close().await;
        Ok(())
    }

    /// [`Database::connect`] with the migration mode given.
    pub async fn connect_with(
        url: &DatabaseUrl,
        credentials: &Credentials,
        max_connections: u32,
        (mysql, sqlite): (&Migrator, &Migrator),
        migrations: Migrations,
    ) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let backend = url.backend();
        let login = credentials.fetch().await?;
        let connect_options = url
            .clone()
            .with_login(login.username.as_ref(), login.password.as_ref())?
            .connect_options()?;
        let relogin = (!credentials.is_none()).then(|| {
            Arc::new(Relogin {
                url: url.clone(),
                credentials: credentials.clone(),
                current: Mutex::new(login),
            })
        });
        let options = pool_options();
        let options = match backend {
            // MySQL cuts a GROUP_CONCAT at 1,024 bytes by default (MariaDB
            // at 1 MiB); a document's aggregated tags (at most 20 of 50
            // characters, about 4 KiB) must never be cut.
            Backend::MySql => options
                .max_connections(max_connections)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("SET SESSION group_concat_max_len = 65536")
                            .await?;
                        Ok(())
                    })
                }),
            // One writer at a time is what SQLite allows anyway; a single
            // connection turns lock contention into orderly queueing.
            Backend::Sqlite => options.max_connections(1).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    Ok(())
                })
            }),
        };
        let pool = options
            .connect_with(connect_options.clone())
            .await
            .map_err(DbError::Connect)?;
        let migrator = match backend {
            Backend::MySql => mysql,
            Backend::Sqlite => sqlite,
        };
        match migrations {
            Migrations::Apply | Migrations::Only => tolerant(migrator).run(&pool).await?,
            Migrations::Verify => verify(&pool, migrator).await?,
        }
        let readers = match backend {
            Backend::MySql => pool.clone(),
            Backend::Sqlite => pool_options()
                .max_connections(SQLITE_READERS)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("PRAGMA query_only = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        Ok(())
                    })
                })
                .connect_with(connect_options)
                .await
                .map_err(DbError::Connect)?,
        };
        Ok(Self {
            pool,
            readers,
            backend,
            relogin,
        })
    }

    /// The pool for plain reads.
    pub fn reader(&self) -> &AnyPool {
        &self.readers
    }

    /// Closes every connection (graceful shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
        self.readers.close().await;
    }

    /// Fetches the credentials again; when they changed, new connections use
    /// them (connections already open are kept). True when they changed.
    pub async fn refresh_credentials(&self) -> Result<bool, DbError> {
        match &self.relogin {
            Some(relogin) => relogin.refresh(&[&self.pool, &self.readers]).await,
            None => Ok(false),
        }
    }

    /// Refreshes the credentials every `period` until `stop` is cancelled.
    /// A failed refresh is logged (naming the variable, never a value) and
    /// the credentials in use are kept. A zero period never refreshes.
    pub async fn keep_credentials_fresh(&self, period: Duration, stop: CancellationToken) {
        if self.relogin.is_none() || period.is_zero() {
            stop.cancelled().await;
            return;
        }
        loop {
            let refreshed = tokio::select! {
                () = stop.cancelled() => return,
                refreshed = async {
                    tokio::time::sleep(period).await;
                    self.refresh_credentials().await
                } => refreshed,
            };
            match refreshed {
                Ok(true) => {
                    tracing::info!("database credentials changed; new connections use them");
                }
                Ok(false) => tracing::debug!("database credentials unchanged"),
                Err(error) => tracing::warn!(
                    %error,
                    "cannot refresh the database credentials; keeping the current ones"
                ),
            }
        }
    }

    /// Whether the database answers, for `/readyz`.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// Where a service's database is and how it logs in, embedded in the
/// `Settings` of each database-backed service.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: DatabaseUrl,
    /// User name and password from secrets, when not in the URL.
    pub credentials: Credentials,
    pub max_connections: u32,
}

impl DatabaseSettings {
    /// `PREFIX+DATABASE_URL` (a SQLite file named `default_file` in
    /// `FOLIO_DATA_DIR` when unset), `…_DATABASE_USERNAME*`, `…_PASSWORD*`
    /// and `…_DATABASE_MAX_CONNECTIONS` (10).
    pub async fn from_env(
        env: &crate::config::Env,
        default_file: &str,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            url: env.database_url(default_file)?,
            credentials: Credentials::from_env(env).await?,
            max_connections: env.or("DATABASE_MAX_CONNECTIONS", 10)?,
        })
    }
}

impl crate::config::Env {
    /// `PREFIX+DATABASE_URL`, or a SQLite file named `default_file` in
    /// `FOLIO_DATA_DIR` when unset. The login comes apart: [`Credentials`].
    pub fn database_url(&self, default_file: &str) -> Result<DatabaseUrl, ConfigError> {
        match self.optional::<DatabaseUrl>("DATABASE_URL")? {
            Some(url) => Ok(url),
            None => Ok(DatabaseUrl::sqlite_file(
                &self.data_dir()?.join(default_file),
            )),
        }
    }
}
