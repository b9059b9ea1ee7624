//! The users service's configuration, from `FOLIO_USERS_*` variables.

use std::{net::SocketAddr, time::Duration};

use folio_platform::{
    config::{ConfigError, Env},
    db::{Credentials, DatabaseUrl},
    secrets::{Secret, SecretSource},
    tls::TlsFiles,
};

pub const PREFIX: &str = "FOLIO_USERS_";

/// The first organisation and admin, created at start when absent.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub organisation: String,
    pub email: String,
    pub password: Secret,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// gRPC over mTLS.
    pub grpc_addr: SocketAddr,
    /// Plain HTTP for `/healthz` and `/readyz`.
    pub http_addr: SocketAddr,
    pub database_url: DatabaseUrl,
    /// User name and password from secrets, when not in the URL.
    pub database_credentials: Credentials,
    pub database_max_connections: u32,
    /// How often secrets that can change are fetched again (0: never).
    pub secrets_refresh: Duration,
    pub tls: TlsFiles,
    pub bootstrap: Option<Bootstrap>,
    /// The key (64 hex digits) sign-in client secrets are sealed with
    /// (`FOLIO_USERS_SECRETS_KEY`, `…_FILE`, `…_SECRET`); without one, only
    /// Entra ID with the deployment's app can be configured.
    pub secrets_key: Option<SecretSource>,
}

impl Settings {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let env = Env::new(PREFIX);
        let database_url = env.database_url("users.db")?;
        let global = Env::new("FOLIO_");
        let bootstrap = match (
            global.optional::<String>("ADMIN_EMAIL")?,
            global.secret("ADMIN_PASSWORD").await?,
        ) {
            (Some(email), Some(password)) => Some(Bootstrap {
                organisation: global.or("ADMIN_ORGANISATION", "Folio".to_owned())?,
                email,
                password,
            }),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Missing {
                    var: "FOLIO_ADMIN_EMAIL and FOLIO_ADMIN_PASSWORD (set both or neither)"
                        .to_owned(),
                });
            }
        };
        Ok(Self {
            grpc_addr: env.or("GRPC_ADDR", SocketAddr::from(([127, 0, 0, 1], 50051)))?,
            http_addr: env.or("HTTP_ADDR", SocketAddr::from(([127, 0, 0, 1], 8081)))?,
            database_url,
            database_credentials: Credentials::from_env(&env).await?,
            database_max_connections: env.or("DATABASE_MAX_CONNECTIONS", 10)?,
            secrets_refresh: global.secrets_refresh()?,
            tls: TlsFiles::from_env(&env, "users")?,
            bootstrap,
            secrets_key: env.secret_source("SECRETS_KEY").await?,
        })
    }
}
