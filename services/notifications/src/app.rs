//! Builds the notifications service from its settings and runs it until stopped.

use std::{sync::Arc, time::Duration};

use folio_platform::{
    db::Database,
    grpc,
    serve::DatabaseService,
    start::{StartError, bind, local_port},
    tls,
};
use folio_proto::notifications::v1::notifications_service_server::NotificationsServiceServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    api::{self, NotificationsApi},
    engine::{Engine, Mailer},
    settings::Settings,
};

static MIGRATE_MYSQL: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");
static MIGRATE_SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug)]
pub struct Application {
    grpc: TcpListener,
    http: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    engine: Arc<Engine>,
    stop: CancellationToken,
    secrets_refresh: Duration,
}

impl Application {
    /// Applies the pending migrations and returns: the rollout's migration
    /// Job (`FOLIO_MIGRATIONS=only`, docs/adr/0060).
    pub async fn migrate(settings: &Settings) -> Result<(), StartError> {
        Database::migrate(&settings.database, &MIGRATE_MYSQL, &MIGRATE_SQLITE).await?;
        Ok(())
    }

    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let tls = tls::server_config(&settings.platform.tls)?;
        let client = tls::client_config(&settings.platform.tls)?;
        let users = grpc::traced_channel(&settings.users_url, client.clone(), "notifications")
            .map_err(|e| StartError::Setup(format!("FOLIO_NOTIFICATIONS_USERS_URL: {e}")))?;
        let documents = grpc::traced_channel(&settings.documents_url, client, "notifications")
            .map_err(|e| StartError::Setup(format!("FOLIO_NOTIFICATIONS_DOCUMENTS_URL: {e}")))?;
        let db = Database::connect(&settings.database, &MIGRATE_MYSQL, &MIGRATE_SQLITE).await?;
        let mailer = Mailer::new(&settings.mail)
            .await
            .map_err(|e| StartError::Setup(format!("mail: {e}")))?;
        let engine = Engine::new(
            db,
            users,
            documents,
            settings.timing.clone(),
            settings.allow_private_webhooks,
            mailer,
            settings.mail.clone(),
        );
        Ok(Self {
            grpc: bind(settings.grpc_addr).await?,
            http: bind(settings.platform.http_addr).await?,
            tls,
            engine: Arc::new(engine),
            stop: CancellationToken::new(),
            secrets_refresh: settings.platform.secrets_refresh,
        })
    }

    pub fn port(&self) -> u16 {
        local_port(&self.grpc)
    }

    /// The health and metrics listener.
    pub fn http_port(&self) -> u16 {
        local_port(&self.http)
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
            tokio::spawn(engine.clone().run_reader(stop.clone())),
            tokio::spawn(engine.clone().run_sender(stop.clone())),
            tokio::spawn(engine.clone().run_mail_sender(stop.clone())),
            tokio::spawn(
                engine
                    .clone()
                    .keep_mail_login_fresh(secrets_refresh, stop.clone()),
            ),
        ];
        let service = DatabaseService {
            name: "notifications",
            grpc,
            tls,
            policy: api::caller_policy(),
            http: http.into(),
            routes: axum::Router::new(),
            db: engine.database().clone(),
            secrets_refresh,
            stop,
        };
        service
            .run(
                NotificationsServiceServer::new(NotificationsApi::new(engine)),
                background,
            )
            .await
    }
}
