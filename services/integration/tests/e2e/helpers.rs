//! A whole world per test: the real users, documents and integration
//! services over real mTLS, the fake Graph, and a database per service.

use std::{
    future::Future,
    net::SocketAddr,
    time::{Duration, Instant},
};

use bytes::Bytes;
use folio_fake_graph::FakeGraph;
use folio_integration::{Application, ClientSecretsConfig, Settings, Timing};
use folio_platform::{actor::Actor, db::Backend};
use folio_proto::{
    documents::v1::{self as docs, documents_service_client::DocumentsServiceClient},
    integration::v1::{self as pb, integration_service_client::IntegrationServiceClient},
};
use folio_testkit::{Pki, TestDatabase, any_port, seed};
use futures::StreamExt;
use sqlx::{AnyPool, Row};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

pub const TENANT: &str = "contoso.onmicrosoft.com";
pub const APP_ID: &str = "0b6f2a34-6d0a-4c8e-9a55-0f3c1f0e9a11";
pub const SECRET: &str = "correct-client-secret";
/// The key client secrets are sealed with in the integration's database.
pub const SECRETS_KEY: &str = "6d3f0a1b2c4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";
pub const DRIVE: &str = "b!contoso-drive";

/// One running integration instance.
pub struct Instance {
    pub port: u16,
    pub http_port: u16,
    stop: CancellationToken,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub struct World {
    pub graph: FakeGraph,
    pub pki: Pki,
    pub admin: Actor,
    pub editor: Actor,
    pub viewer: Actor,
    /// An admin of another organisation.
    pub stranger: Actor,
    /// The connected folder.
    pub folder: String,
    /// A folder beside it, not mirrored.
    pub outside: String,
    pub integration: Instance,
    pub integration_db: TestDatabase,
    pub documents_port: u16,
    documents_settings: folio_documents::Settings,
    documents_stop: Option<CancellationToken>,
    users_stop: CancellationToken,
    pub timing: Timing,
    _blobs: TempDir,
    _dbs: Vec<TestDatabase>,
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(stop) = &self.documents_stop {
            stop.cancel();
        }
        self.users_stop.cancel();
    }
}

impl World {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, Timing::brisk()).await
    }

    pub async fn start_with(backend: Backend, timing: Timing) -> Self {
        folio_platform::telemetry::init(folio_platform::telemetry::LogFormat::Text);
        let pki = Pki::new();

        let users_db = TestDatabase::create(backend).await;
        let users = folio_users::Application::build(folio_users::Settings {
            platform: pki.platform("users"),
            database: users_db.settings(),
            grpc_addr: any_port(),
            bootstrap: None,
            secrets_key: None,
        })
        .await
        .expect("users service starts");
        let users_port = users.port();
        let users_stop = users.stop_token();
        tokio::spawn(users.run_until_stopped());

        let documents_db = TestDatabase::create(backend).await;
        let blobs = tempfile::tempdir().unwrap();
        let documents_settings = folio_documents::Settings {
            platform: pki.platform("documents"),
            database: folio_platform::db::DatabaseSettings {
                max_connections: 10,
                ..documents_db.settings()
            },
            grpc_addr: any_port(),
            blobs: folio_documents::settings::BlobLocation::Directory(blobs.path().to_owned()),
            max_upload_bytes: 256 << 20,
            users_url: format!("https://127.0.0.1:{users_port}"),
            retention_interval: std::time::Duration::from_secs(3600),
        };
        let documents = folio_documents::Application::build(documents_settings.clone())
            .await
            .expect("documents service starts");
        let documents_port = documents.port();
        let documents_stop = documents.stop_token();
        tokio::spawn(documents.run_until_stopped());

        let seed::Org {
            admin,
            editor,
            viewer,
        } = seed::organisation(&pki, users_port, "acme").await;
        let stranger = seed::organisation(&pki, users_port, "globex").await.admin;

        let graph = FakeGraph::start().await.expect("fake Graph starts");
        graph.add_app(TENANT, APP_ID, SECRET);
        let root = graph.add_drive(TENANT, DRIVE);
        let folder = graph.add_folder(DRIVE, &root, "Client files");
        let outside = graph.add_folder(DRIVE, &root, "Private");

        let integration_db = TestDatabase::create(backend).await;
        let mut world = Self {
            graph,
            pki,
            admin,
            editor,
            viewer,
            stranger,
            folder,
            outside,
            integration: Instance {
                port: 0,
                http_port: 0,
                stop: CancellationToken::new(),
            },
            integration_db,
            documents_port,
            documents_settings,
            documents_stop: Some(documents_stop),
            users_stop,
            timing,
            _blobs: blobs,
            _dbs: vec![users_db, documents_db],
        };
        world.integration = world.spawn_integration().await;
        world
    }

    /// Another integration instance on the same database.
    pub async fn spawn_integration(&self) -> Instance {
        self.spawn_integration_with(Self::database_secrets()).await
    }

    /// Client secrets sealed in the integration's database with [`SECRETS_KEY`].
    pub fn database_secrets() -> ClientSecretsConfig {
        ClientSecretsConfig::sealed_with(SECRETS_KEY)
    }

    /// Another instance, keeping Graph client secrets in `client_secrets`.
    pub async fn spawn_integration_with(&self, client_secrets: ClientSecretsConfig) -> Instance {
        self.spawn_integration_configured(client_secrets, |_| {})
            .await
    }

    /// Another instance, with its settings changed by `configure`.
    pub async fn spawn_integration_configured(
        &self,
        client_secrets: ClientSecretsConfig,
        configure: impl FnOnce(&mut Settings),
    ) -> Instance {
        let mut settings = Settings {
            platform: self.pki.platform("integration"),
            database: self.integration_db.settings(),
            grpc_addr: any_port(),
            documents_url: format!("https://127.0.0.1:{}", self.documents_port),
            public_url: None,
            graph_url: Some(self.graph.graph_url().parse().unwrap()),
            token_url: self.graph.token_url(),
            graph_scope: None,
            client_secrets,
            timing: self.timing.clone(),
        };
        configure(&mut settings);
        let app = Application::build(settings)
            .await
            .expect("integration service starts");
        let instance = Instance {
            port: app.port(),
            http_port: app.http_port(),
            stop: app.stop_token(),
        };
        tokio::spawn(app.run_until_stopped());
        instance
    }

    pub fn stop_integration(instance: &Instance) {
        instance.stop.cancel();
    }

    pub fn stop_documents(&mut self) {
        if let Some(stop) = self.documents_stop.take() {
            stop.cancel();
        }
    }

    /// Starts documents again on the same port, database and blobs.
    pub async fn restart_documents(&mut self) {
        let mut settings = self.documents_settings.clone();
        settings.grpc_addr = SocketAddr::from(([127, 0, 0, 1], self.documents_port));
        let deadline = Instant::now() + Duration::from_secs(10);
        let app = loop {
            match folio_documents::Application::build(settings.clone()).await {
                Ok(app) => break app,
                Err(e) if Instant::now() < deadline => {
                    tracing::info!(%e, "documents port not free yet");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("documents restarts: {e}"),
            }
        };
        self.documents_stop = Some(app.stop_token());
        tokio::spawn(app.run_until_stopped());
    }

    pub fn integration(&self) -> IntegrationServiceClient<Channel> {
        self.integration_as("bff", self.integration.port)
    }

    pub fn integration_as(&self, identity: &str, port: u16) -> IntegrationServiceClient<Channel> {
        IntegrationServiceClient::new(self.pki.channel(identity, port))
    }

    pub fn documents(&self) -> DocumentsServiceClient<Channel> {
        DocumentsServiceClient::new(self.pki.channel("bff", self.documents_port))
            .max_decoding_message_size(folio_proto::MAX_MESSAGE)
    }

    pub fn connect_request(&self) -> pb::ConnectRequest {
        pb::ConnectRequest {
            tenant_id: TENANT.into(),
            app_id: APP_ID.into(),
            client_secret: SECRET.into(),
            drive_id: DRIVE.into(),
            folder: self.folder.clone(),
        }
    }

    pub async fn connect(&self) -> pb::Connection {
        self.integration()
            .connect_one_drive(self.admin.request(self.connect_request()))
            .await
            .expect("connected")
            .into_inner()
    }

    pub async fn connection(&self) -> pb::Connection {
        self.integration()
            .get_connection(self.admin.request(pb::GetConnectionRequest {}))
            .await
            .expect("connection")
            .into_inner()
    }

    /// What the bff does before asking the integration to send a document:
    /// records in documents that the editor sends it to OneDrive.
    pub async fn share(&self, document_id: &str) {
        self.documents()
            .share_with_one_drive(self.editor.request(docs::ShareWithOneDriveRequest {
                document_id: document_id.into(),
            }))
            .await
            .expect("shared with OneDrive");
    }

    /// Every live document of the admin's organisation.
    pub async fn documents_list(&self) -> Vec<docs::Document> {
        let mut all = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = self
                .documents()
                .list_documents(self.admin.request(docs::ListDocumentsRequest {
                    cursor: cursor.clone(),
                    limit: 100,
                    ..Default::default()
                }))
                .await
                .expect("list documents")
                .into_inner();
            all.extend(page.documents);
            if page.next_cursor.is_empty() {
                return all;
            }
            cursor = page.next_cursor;
        }
    }

    pub async fn document_named(&self, file_name: &str) -> Option<docs::Document> {
        self.documents_list()
            .await
            .into_iter()
            .find(|d| d.current.as_ref().is_some_and(|v| v.file_name == file_name))
    }

    pub async fn versions(&self, document_id: &str) -> Vec<docs::Version> {
        self.documents()
            .list_versions(self.admin.request(docs::ListVersionsRequest {
                document_id: document_id.into(),
            }))
            .await
            .expect("versions")
            .into_inner()
            .versions
    }

    pub async fn content(&self, document_id: &str, number: u32) -> Vec<u8> {
        let mut stream = self
            .documents()
            .download_version(self.admin.request(docs::DownloadVersionRequest {
                document_id: document_id.into(),
                number,
                range: None,
            }))
            .await
            .expect("download")
            .into_inner();
        let mut content = Vec::new();
        while let Some(message) = stream.next().await {
            if let Some(docs::download_version_response::Part::Chunk(c)) = message.unwrap().part {
                content.extend_from_slice(&c);
            }
        }
        content
    }

    /// Uploads a new document as `actor` (as the portal would).
    pub async fn upload(
        &self,
        actor: &Actor,
        file_name: &str,
        content: Bytes,
    ) -> docs::UploadVersionResponse {
        let header = docs::UploadHeader {
            target: Some(docs::upload_header::Target::NewDocument(
                docs::NewDocument {
                    title: file_name.into(),
                    ..Default::default()
                },
            )),
            file_name: file_name.into(),
            media_type: "application/octet-stream".into(),
            note: String::new(),
            source: docs::VersionSource::Upload.into(),
            ..Default::default()
        };
        let chunks: Vec<Bytes> = content
            .chunks(256 * 1024)
            .map(Bytes::copy_from_slice)
            .collect();
        let messages = std::iter::once(docs::upload_version_request::Part::Header(header))
            .chain(
                chunks
                    .into_iter()
                    .map(docs::upload_version_request::Part::Chunk),
            )
            .map(|part| docs::UploadVersionRequest { part: Some(part) });
        self.documents()
            .upload_version(actor.request(futures::stream::iter(messages)))
            .await
            .expect("uploaded")
            .into_inner()
    }

    /// The integration's own database, for looking at the inbox.
    pub async fn integration_pool(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        let url = format!("{:?}", self.integration_db.url);
        sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .expect("integration database")
    }

    pub async fn inbox_rows(&self) -> i64 {
        let pool = self.integration_pool().await;
        let n = sqlx::query("SELECT COUNT(*) AS n FROM inbox")
            .fetch_one(&pool)
            .await
            .unwrap()
            .try_get::<i64, _>("n")
            .unwrap();
        pool.close().await;
        n
    }

    /// The sum of a metric's samples whose labels contain `labels` (e.g.
    /// `outcome="failed"`), scraped from `/metrics`; `None` when absent.
    pub async fn metric(&self, name: &str, labels: &str) -> Option<f64> {
        let text = reqwest::get(self.webhook_url("/metrics"))
            .await
            .expect("metrics answer")
            .text()
            .await
            .unwrap();
        let samples: Vec<f64> = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                let (metric, rest) = match series.split_once('{') {
                    Some((metric, rest)) => (metric, rest),
                    None => (series, ""),
                };
                (metric == name && rest.contains(labels)).then(|| value.parse().ok())?
            })
            .collect();
        (!samples.is_empty()).then(|| samples.iter().sum())
    }

    pub fn webhook_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.integration.http_port)
    }

    /// Asks for a sync now and waits until one has completed after it.
    pub async fn next_sync(&self) {
        let before = self.connection().await.last_sync_at;
        self.integration()
            .sync_now(self.admin.request(pb::SyncNowRequest {}))
            .await
            .expect("sync now");
        eventually(Duration::from_secs(20), "a new sync", || async {
            let now = self.connection().await.last_sync_at;
            (!now.is_empty() && now != before).then_some(())
        })
        .await;
    }
}

impl World {
    /// A sync now, then until Graph sees no delta for a while: nothing is
    /// left in flight.
    pub async fn settle(&self) {
        self.next_sync().await;
        let mut last = self.graph.delta_requests();
        let mut quiet_since = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(20);
        while quiet_since.elapsed() < Duration::from_millis(1000) {
            assert!(Instant::now() < deadline, "the connection never settled");
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = self.graph.delta_requests();
            if now != last {
                last = now;
                quiet_since = Instant::now();
            }
        }
    }
}

/// Polls `check` until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
