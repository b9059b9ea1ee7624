//! One SQL layer, two backends: MySQL in production (and MariaDB in CI),
//! SQLite as the embedded default. Queries are runtime-checked through
//! sqlx's `Any` driver and written in the SQL both backends share; schema
//! migrations are kept per backend.

use std::{str::FromStr, time::Duration};

use sqlx::{
    AnyPool, Executor,
    any::AnyPoolOptions,
    migrate::{MigrateError, Migrator},
};

use crate::secrets::Secret;

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

    pub fn with_password(mut self, password: Option<&Secret>) -> Result<Self, DbError> {
        if let Some(password) = password {
            self.0
                .set_password(Some(password.expose()))
                .map_err(|()| DbError::MalformedUrl)?;
        }
        Ok(self)
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
}

/// Read-only SQLite connections beside the writer.
const SQLITE_READERS: u32 = 4;

impl Database {
    /// Connects and applies this service's migrations for the backend.
    pub async fn connect(
        url: &DatabaseUrl,
        max_connections: u32,
        mysql: &Migrator,
        sqlite: &Migrator,
    ) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let backend = url.backend();
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let options = match backend {
            Backend::MySql => options.max_connections(max_connections),
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
            .connect(url.0.as_str())
            .await
            .map_err(DbError::Connect)?;
        let migrator = match backend {
            Backend::MySql => mysql,
            Backend::Sqlite => sqlite,
        };
        migrator.run(&pool).await?;
        let readers = match backend {
            Backend::MySql => pool.clone(),
            Backend::Sqlite => AnyPoolOptions::new()
                .acquire_timeout(Duration::from_secs(10))
                .max_connections(SQLITE_READERS)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("PRAGMA query_only = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        Ok(())
                    })
                })
                .connect(url.0.as_str())
                .await
                .map_err(DbError::Connect)?,
        };
        Ok(Self {
            pool,
            readers,
            backend,
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

    /// Whether the database answers, for `/readyz`.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

impl crate::config::Env {
    /// `PREFIX+DATABASE_URL` with its password from `PREFIX+DATABASE_PASSWORD`
    /// (or `…_FILE`); a SQLite file named `default_file` in `FOLIO_DATA_DIR`
    /// when unset.
    pub async fn database_url(
        &self,
        default_file: &str,
    ) -> Result<DatabaseUrl, crate::config::ConfigError> {
        let url = match self.optional::<DatabaseUrl>("DATABASE_URL")? {
            Some(url) => url,
            None => DatabaseUrl::sqlite_file(&self.data_dir()?.join(default_file)),
        };
        url.with_password(self.secret("DATABASE_PASSWORD").await?.as_ref())
            .map_err(|e| crate::config::ConfigError::Invalid {
                var: self.var_name("DATABASE_URL"),
                reason: e.to_string(),
            })
    }
}
