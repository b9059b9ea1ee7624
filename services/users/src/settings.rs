//! The users service's configuration, from `FOLIO_USERS_*` variables.

use std::net::SocketAddr;

use folio_platform::{
    config::{ConfigError, Env},
    db::DatabaseUrl,
    secrets::Secret,
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
    pub database_max_connections: u32,
    pub tls: TlsFiles,
    pub bootstrap: Option<Bootstrap>,
}

impl Settings {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let env = Env::new(PREFIX);
        let database_url = env.database_url("users.db").await?;
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
            database_max_connections: env.or("DATABASE_MAX_CONNECTIONS", 10)?,
            tls: TlsFiles::from_env(&env, "users")?,
            bootstrap,
        })
    }
}
