//! Builds the documents service from its settings and runs it until stopped.

use std::{sync::Arc, time::Duration};

use folio_platform::{
    db::Database,
    grpc,
    serve::DatabaseService,
    start::{StartError, bind, local_port},
    tls,
};
use folio_proto::documents::v1::documents_service_server::DocumentsServiceServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    api::{self, DocumentsApi},
    directory::Directory,
    library::Library,
    settings::{BlobLocation, Settings},
    store::blobs::{BlobStore, S3_MAX_COPY},
};

pub(crate) static MIGRATE_MYSQL: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");
pub(crate) static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug)]
pub struct Application {
    grpc: TcpListener,
    http: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    library: Library,
    stop: CancellationToken,
    secrets_refresh: Duration,
    retention_interval: Duration,
}

impl Application {
    /// Applies this image's pending migrations and returns: the rollout's
    /// migration Job (`FOLIO_MIGRATIONS=only`), which runs with the DDL login.
    pub async fn migrate(settings: &Settings) -> Result<(), StartError> {
        Database::migrate(&settings.database, &MIGRATE_MYSQL, &MIGRATE_SQLITE).await?;
        Ok(())
    }

    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let tls = tls::server_config(&settings.platform.tls)?;
        let users = grpc::traced_channel(
            &settings.users_url,
            tls::client_config(&settings.platform.tls)?,
            "documents",
        )
        .map_err(|e| StartError::Setup(format!("FOLIO_DOCUMENTS_USERS_URL: {e}")))?;
        let blobs = match &settings.blobs {
            BlobLocation::Directory(dir) => BlobStore::local(dir)
                .map_err(|e| StartError::Setup(format!("blob directory {}: {e}", dir.display())))?,
            BlobLocation::S3(s3) => {
                if settings.max_upload_bytes > S3_MAX_COPY {
                    return Err(StartError::Setup(format!(
                        "FOLIO_DOCUMENTS_MAX_UPLOAD_BYTES: at most {S3_MAX_COPY} bytes (5GiB) \
                         with an s3:// blob store, the most S3 copies in one request"
                    )));
                }
                BlobStore::s3(s3).map_err(|e| {
                    StartError::Setup(format!("FOLIO_DOCUMENTS_BLOB_URL s3://{}: {e}", s3.bucket))
                })?
            }
        };
        let db = Database::connect(&settings.database, &MIGRATE_MYSQL, &MIGRATE_SQLITE).await?;
        let library = Library::new(db, blobs, Directory::new(users), settings.max_upload_bytes);
        Ok(Self {
            grpc: bind(settings.grpc_addr).await?,
            http: bind(settings.platform.http_addr).await?,
            tls,
            library,
            stop: CancellationToken::new(),
            secrets_refresh: settings.platform.secrets_refresh,
            retention_interval: settings.retention_interval,
        })
    }

    pub fn port(&self) -> u16 {
        local_port(&self.grpc)
    }

    pub fn http_port(&self) -> u16 {
        local_port(&self.http)
    }

    /// Cancelling this token stops the service gracefully.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    pub async fn run_until_stopped(self) -> Result<(), StartError> {
        let retention = tokio::spawn(run_retention(
            self.library.clone(),
            self.retention_interval,
            self.stop.clone(),
        ));
        let service = DatabaseService {
            name: "documents",
            grpc: self.grpc,
            tls: self.tls,
            policy: api::caller_policy(),
            http: self.http.into(),
            routes: Default::default(),
            db: self.library.database().clone(),
            secrets_refresh: self.secrets_refresh,
            stop: self.stop,
        };
        let api = DocumentsServiceServer::new(DocumentsApi::new(self.library))
            .max_decoding_message_size(folio_proto::MAX_MESSAGE)
            .max_encoding_message_size(folio_proto::MAX_MESSAGE);
        service.run(api, vec![retention]).await
    }
}

/// Applies retention every `interval` until stopped. A failed pass is logged
/// and retried at the next tick; what it did not finish stays queued.
async fn run_retention(library: Library, interval: Duration, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match library
            .apply_retention(folio_platform::clock::now_millis())
            .await
        {
            Ok(pass) if pass.versions_removed > 0 || pass.blobs_deleted > 0 => {
                tracing::info!(?pass, "retention pass");
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "retention pass failed; retrying at the next interval");
            }
        }
    }
}
