//! Builds the integration service from its settings and runs it until stopped.

use std::{sync::Arc, time::Duration};

use folio_platform::{
    db::Database,
    grpc,
    https::HttpListener,
    serve::DatabaseService,
    start::{StartError, bind, local_port},
    tls,
};
use folio_proto::integration::v1::integration_service_server::IntegrationServiceServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::{
    api::{self, IntegrationApi, webhook},
    documents::Documents,
    engine::Engine,
    graph::Graph,
    secrets::ClientSecrets,
    settings::Settings,
};

static MIGRATE_MYSQL: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");
static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug)]
pub struct Application {
    grpc: TcpListener,
    http: HttpListener,
    tls: Arc<rustls::ServerConfig>,
    engine: Arc<Engine>,
    stop: CancellationToken,
    secrets_refresh: Duration,
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
        let documents = grpc::traced_channel(
            &settings.documents_url,
            tls::client_config(&settings.platform.tls)?,
            "integration",
        )
        .map_err(|e| StartError::Setup(format!("FOLIO_INTEGRATION_DOCUMENTS_URL: {e}")))?;
        let scope = settings
            .graph_scope
            .clone()
            .unwrap_or_else(|| crate::graph::scope_for(settings.graph_url.as_ref()));
        let graph = Graph::new(
            settings.graph_url.clone(),
            settings.token_url.clone(),
            scope,
        )
        .map_err(|e| StartError::Setup(format!("Graph client: {e}")))?;
        let db = Database::connect(&settings.database, &MIGRATE_MYSQL, &MIGRATE_SQLITE).await?;
        let http = HttpListener::bind(
            settings.platform.http_addr,
            settings.platform.http_tls.as_ref(),
        )
        .await?;
        let public_url = match &settings.public_url {
            Some(url) => url.clone(),
            None => {
                let addr = http
                    .local_addr()
                    .map_err(|e| StartError::Setup(format!("webhook listener: {e}")))?;
                Url::parse(&format!("{}://{addr}", http.scheme()))
                    .map_err(|e| StartError::Setup(format!("webhook address: {e}")))?
            }
        };
        let engine = Engine::new(
            db,
            graph,
            Documents::new(documents),
            ClientSecrets::open(&settings.client_secrets)
                .await
                .map_err(StartError::Setup)?,
            settings.timing.clone(),
            &public_url,
        )
        .map_err(|e| StartError::Setup(format!("FOLIO_INTEGRATION_PUBLIC_URL: {e}")))?;
        Ok(Self {
            grpc: bind(settings.grpc_addr).await?,
            http,
            tls,
            engine: Arc::new(engine),
            stop: CancellationToken::new(),
            secrets_refresh: settings.platform.secrets_refresh,
        })
    }

    pub fn port(&self) -> u16 {
        local_port(&self.grpc)
    }

    /// The webhook and health listener.
    pub fn http_port(&self) -> u16 {
        self.http.port()
    }

    /// Cancelling this token stops the service gracefully.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    pub async fn run_until_stopped(self) -> Result<(), StartError> {
        let Self {
            grpc,
            http,
            tls,
            engine,
            stop,
            secrets_refresh,
        } = self;
        let background = vec![
            tokio::spawn(engine.clone().run_sync_worker(stop.clone())),
            tokio::spawn(engine.clone().run_reconciler(stop.clone())),
            tokio::spawn(engine.clone().run_gauges(stop.clone())),
        ];
        let service = DatabaseService {
            name: "integration",
            grpc,
            tls,
            policy: api::caller_policy(),
            http,
            routes: webhook::router(engine.clone()),
            db: engine.database().clone(),
            secrets_refresh,
            stop,
        };
        service
            .run(
                IntegrationServiceServer::new(IntegrationApi::new(engine)),
                background,
            )
            .await
    }
}
