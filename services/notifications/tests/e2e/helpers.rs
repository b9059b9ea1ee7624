//! A whole world per test: users, documents and notifications over real
//! mTLS, two seeded organisations, a database per service.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use folio_notifications::{Application, Settings, Timing, settings::MailSettings};
use folio_platform::{actor::Actor, db::Backend};
use folio_proto::{
    documents::v1::{self as docs, documents_service_client::DocumentsServiceClient},
    notifications::v1::{self as pb, notifications_service_client::NotificationsServiceClient},
};
use folio_testkit::{Pki, TestDatabase, any_port, seed};
use sqlx::{AnyPool, Row};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// One running notifications instance; dropping it stops it.
pub struct Instance {
    pub port: u16,
    pub http_port: u16,
    stop: CancellationToken,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl Instance {
    /// Stops it and waits until it has.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(done) = self.done.take() {
            let _ = done.await;
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub struct World {
    pub pki: Pki,
    pub org: seed::Org,
    /// The admin of another organisation.
    pub stranger: Actor,
    pub notifications: Instance,
    pub notifications_db: TestDatabase,
    pub users_port: u16,
    pub documents_port: u16,
    pub timing: Timing,
    /// How the world's notifications instances send mail.
    pub mail: MailSettings,
    stops: Vec<CancellationToken>,
    _blobs: TempDir,
    _dbs: Vec<TestDatabase>,
}

impl Drop for World {
    fn drop(&mut self) {
        for stop in &self.stops {
            stop.cancel();
        }
    }
}

impl World {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, Timing::brisk()).await
    }

    pub async fn start_with(backend: Backend, timing: Timing) -> Self {
        Self::start_full(backend, timing, MailSettings::off()).await
    }

    pub async fn start_with_mail(backend: Backend, mail: MailSettings) -> Self {
        Self::start_full(backend, Timing::brisk(), mail).await
    }

    pub async fn start_full(backend: Backend, timing: Timing, mail: MailSettings) -> Self {
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
        let documents = folio_documents::Application::build(folio_documents::Settings {
            platform: pki.platform("documents"),
            database: folio_platform::db::DatabaseSettings {
                max_connections: 10,
                ..documents_db.settings()
            },
            grpc_addr: any_port(),
            blobs: folio_documents::settings::BlobLocation::Directory(blobs.path().to_owned()),
            max_upload_bytes: 1 << 20,
            users_url: format!("https://127.0.0.1:{users_port}"),
            retention_interval: std::time::Duration::from_secs(3600),
        })
        .await
        .expect("documents service starts");
        let documents_port = documents.port();
        let documents_stop = documents.stop_token();
        tokio::spawn(documents.run_until_stopped());

        let org = seed::organisation(&pki, users_port, "acme").await;
        let stranger = seed::organisation(&pki, users_port, "globex").await.admin;
        let notifications_db = TestDatabase::create(backend).await;
        let mut world = Self {
            pki,
            org,
            stranger,
            notifications: Instance {
                port: 0,
                http_port: 0,
                stop: CancellationToken::new(),
                done: None,
            },
            notifications_db,
            users_port,
            documents_port,
            timing,
            mail,
            stops: vec![users_stop, documents_stop],
            _blobs: blobs,
            _dbs: vec![users_db, documents_db],
        };
        world.notifications = world.spawn_notifications().await;
        world
    }

    pub fn settings(&self) -> Settings {
        Settings {
            platform: self.pki.platform("notifications"),
            grpc_addr: any_port(),
            database: self.notifications_db.settings(),
            users_url: format!("https://127.0.0.1:{}", self.users_port),
            documents_url: format!("https://127.0.0.1:{}", self.documents_port),
            allow_private_webhooks: true,
            timing: self.timing.clone(),
            mail: self.mail.clone(),
        }
    }

    /// Another notifications instance on the same database.
    pub async fn spawn_notifications(&self) -> Instance {
        Self::spawn(self.settings()).await
    }

    pub async fn spawn(settings: Settings) -> Instance {
        let app = Application::build(settings)
            .await
            .expect("notifications starts");
        let port = app.port();
        let http_port = app.http_port();
        let stop = app.stop_token();
        let done = tokio::spawn(async move {
            let _ = app.run_until_stopped().await;
        });
        Instance {
            port,
            http_port,
            stop,
            done: Some(done),
        }
    }

    /// Stops the world's own notifications instance.
    pub async fn notifications_stop_and_wait(&self) {
        self.notifications.stop.cancel();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    pub fn admin(&self) -> Actor {
        self.org.admin
    }

    /// The client the bff would use.
    pub fn client(&self) -> NotificationsServiceClient<Channel> {
        NotificationsServiceClient::new(self.pki.channel("bff", self.notifications.port))
    }

    pub fn documents(&self) -> DocumentsServiceClient<Channel> {
        DocumentsServiceClient::new(self.pki.channel("bff", self.documents_port))
    }

    pub async fn create_webhook(&self, url: &str, events: &[&str]) -> pb::CreatedWebhook {
        self.client()
            .create_webhook(self.admin().request(pb::CreateWebhookRequest {
                url: url.into(),
                events: events.iter().map(|e| (*e).to_owned()).collect(),
            }))
            .await
            .expect("webhook registered")
            .into_inner()
    }

    pub async fn deliveries(&self, webhook_id: &str) -> Vec<pb::Delivery> {
        self.deliveries_via(self.notifications.port, webhook_id)
            .await
    }

    /// The delivery log, asked of the instance on `port`.
    pub async fn deliveries_via(&self, port: u16, webhook_id: &str) -> Vec<pb::Delivery> {
        NotificationsServiceClient::new(self.pki.channel("bff", port))
            .list_deliveries(self.admin().request(pb::ListDeliveriesRequest {
                webhook_id: webhook_id.into(),
                limit: 100,
            }))
            .await
            .expect("deliveries listed")
            .into_inner()
            .deliveries
    }

    /// A new document (one version) of `actor`'s organisation.
    pub async fn upload(&self, actor: &Actor, title: &str) -> docs::Document {
        let target = docs::upload_header::Target::NewDocument(docs::NewDocument {
            title: title.into(),
            ..Default::default()
        });
        self.upload_with(
            actor,
            docs::UploadHeader {
                target: Some(target),
                ..Default::default()
            },
            title,
        )
        .await
    }

    /// A version with `content` as `header` says (its file name and media
    /// type filled in).
    pub async fn upload_with(
        &self,
        actor: &Actor,
        header: docs::UploadHeader,
        content: &str,
    ) -> docs::Document {
        let header = docs::UploadHeader {
            file_name: "file.txt".into(),
            media_type: "text/plain".into(),
            source: docs::VersionSource::Upload.into(),
            ..header
        };
        let messages = [
            docs::upload_version_request::Part::Header(header),
            docs::upload_version_request::Part::Chunk(bytes::Bytes::from(content.to_owned())),
        ]
        .into_iter()
        .map(|part| docs::UploadVersionRequest { part: Some(part) });
        self.documents()
            .upload_version(actor.request(tokio_stream::iter(messages)))
            .await
            .expect("uploaded")
            .into_inner()
            .document
            .expect("a document")
    }

    pub async fn create_task(
        &self,
        actor: &Actor,
        document: &str,
        assignee: Option<&Actor>,
    ) -> docs::Task {
        self.documents()
            .create_task(actor.request(docs::CreateTaskRequest {
                document_id: document.into(),
                title: "Review".into(),
                assignee_id: assignee.map(|a| a.user_id.to_string()).unwrap_or_default(),
                ..Default::default()
            }))
            .await
            .expect("task created")
            .into_inner()
    }

    pub async fn update_task(&self, actor: &Actor, request: docs::UpdateTaskRequest) -> docs::Task {
        self.documents()
            .update_task(actor.request(request))
            .await
            .expect("task updated")
            .into_inner()
    }

    pub async fn pool(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        let url = format!("{:?}", self.notifications_db.url);
        sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .expect("notifications database")
    }

    /// The stored position of `org`'s log.
    pub async fn position(&self, org: uuid::Uuid) -> i64 {
        let pool = self.pool().await;
        let row = sqlx::query("SELECT after_sequence FROM positions WHERE org_id = ?")
            .bind(org.to_string())
            .fetch_optional(&pool)
            .await
            .unwrap();
        row.map_or(0, |r| r.get::<i64, _>("after_sequence"))
    }

    /// The newest sequence in `org`'s log.
    pub async fn newest_event(&self, actor: &Actor) -> u64 {
        self.documents()
            .list_events(actor.request(docs::ListEventsRequest {
                after: 0,
                limit: 1,
                newest_first: true,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .events
            .first()
            .map_or(0, |e| e.sequence)
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
