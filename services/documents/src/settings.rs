//! The documents service's configuration, from `FOLIO_DOCUMENTS_*` variables.

use std::{net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use folio_platform::{
    config::{ByteSize, ConfigError, Env},
    db::{Credentials, DatabaseUrl},
    tls::TlsFiles,
};

pub const PREFIX: &str = "FOLIO_DOCUMENTS_";

/// Where blobs live. `file:///abs/dir` (or a plain path) for a local folder;
/// S3 arrives with the cloud back ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobLocation {
    Directory(PathBuf),
}

impl FromStr for BlobLocation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("file://") {
            return Ok(Self::Directory(PathBuf::from(path)));
        }
        if s.contains("://") {
            return Err("only file:// blob locations are supported".to_owned());
        }
        Ok(Self::Directory(PathBuf::from(s)))
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub grpc_addr: SocketAddr,
    /// Plain HTTP for `/healthz` and `/readyz`.
    pub http_addr: SocketAddr,
    pub database_url: DatabaseUrl,
    /// User name and password from secrets, when not in the URL.
    pub database_credentials: Credentials,
    pub database_max_connections: u32,
    /// How often secrets that can change are fetched again (0: never).
    pub secrets_refresh: Duration,
    pub blobs: BlobLocation,
    pub max_upload_bytes: u64,
    /// `https://host:port` of the users service (assignee checks).
    pub users_url: String,
    pub tls: TlsFiles,
}

impl Settings {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let env = Env::new(PREFIX);
        let global = Env::new("FOLIO_");
        let data_dir = env.data_dir()?;
        let database_url = env.database_url("documents.db")?;
        Ok(Self {
            grpc_addr: env.or("GRPC_ADDR", SocketAddr::from(([127, 0, 0, 1], 50052)))?,
            http_addr: env.or("HTTP_ADDR", SocketAddr::from(([127, 0, 0, 1], 8082)))?,
            database_url,
            database_credentials: Credentials::from_env(&env).await?,
            database_max_connections: env.or("DATABASE_MAX_CONNECTIONS", 10)?,
            secrets_refresh: global.secrets_refresh()?,
            blobs: env.or("BLOB_URL", BlobLocation::Directory(data_dir.join("blobs")))?,
            max_upload_bytes: env.or("MAX_UPLOAD_BYTES", ByteSize(2 << 30))?.0,
            users_url: env.or("USERS_URL", "https://localhost:50051".to_owned())?,
            tls: TlsFiles::from_env(&env, "documents")?,
        })
    }
}
