//! The users service's configuration, from `FOLIO_USERS_*` variables.

use std::net::SocketAddr;

use folio_platform::{
    config::{ConfigError, Env, Platform, PlatformVars},
    db::DatabaseSettings,
    secrets::{Secret, SecretSource},
};

pub const PREFIX: &str = "FOLIO_USERS_";

/// Its [`Platform`]: plain HTTP for `/healthz` and `/readyz`.
pub const PLATFORM: PlatformVars = PlatformVars {
    identity: "users",
    http_addr_key: "HTTP_ADDR",
    http_port: 8081,
    https: false,
};

/// The first organisation and admin, created at start when absent.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub organisation: String,
    pub email: String,
    pub password: Secret,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub platform: Platform,
    /// gRPC over mTLS.
    pub grpc_addr: SocketAddr,
    pub database: DatabaseSettings,
    pub bootstrap: Option<Bootstrap>,
    /// The key (64 hex digits) sign-in client secrets are sealed with
    /// (`FOLIO_USERS_SECRETS_KEY`, `…_FILE`, `…_SECRET`); without one, only
    /// Entra ID with the deployment's app can be configured.
    pub secrets_key: Option<SecretSource>,
}

impl Settings {
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::read(&Env::new(PREFIX)).await
    }

    /// From `env` (`FOLIO_USERS_` and the global `FOLIO_` variables).
    pub async fn read(env: &Env) -> Result<Self, ConfigError> {
        let database = DatabaseSettings::from_env(env, "users.db").await?;
        let global = env.global();
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
            platform: Platform::from_env(env, &PLATFORM)?,
            database,
            bootstrap,
            secrets_key: env.secret_source("SECRETS_KEY").await?,
        })
    }
}
