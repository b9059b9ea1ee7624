use bytes::Bytes;
use folio_documents::{
    Application, Settings,
    settings::{BlobLocation, S3Credentials, S3Settings},
};
use folio_platform::{
    actor::Actor,
    db::{Backend, Database, DatabaseUrl},
    secrets::Secret,
};
use folio_proto::{
    documents::v1::{
        self as pb, documents_service_client::DocumentsServiceClient, upload_header,
        upload_version_request,
    },
    users::v1::users_service_client::UsersServiceClient,
};
use folio_testkit::{Moto, Pki, TestDatabase, any_port, moto, seed};
use futures::StreamExt;
use std::time::Duration;

use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use tonic::{Status, transport::Channel};

pub use folio_testkit::seed::Org;

/// Where the service under test keeps its blobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blobs {
    /// A temporary folder (the embedded default).
    Folder,
    /// A bucket in a moto S3 of this test, under the key prefix `blobs/`.
    S3,
}

/// What a test runs on: the database and the blob store.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub db: Backend,
    pub blobs: Blobs,
}

impl From<Backend> for Setup {
    fn from(db: Backend) -> Self {
        Self {
            db,
            blobs: Blobs::Folder,
        }
    }
}

/// The blob store of a running test, for looking at what it holds.
pub enum BlobStorage {
    Folder(TempDir),
    S3 { moto: Moto, bucket: String },
}

pub const S3_PREFIX: &str = "blobs";

impl BlobStorage {
    async fn new(blobs: Blobs) -> Self {
        match blobs {
            Blobs::Folder => Self::Folder(tempfile::tempdir().unwrap()),
            Blobs::S3 => {
                let moto = Moto::start();
                let bucket = format!(
                    "folio-test-{}",
                    &uuid::Uuid::new_v4().simple().to_string()[..12]
                );
                moto.create_bucket(&bucket).await;
                Self::S3 { moto, bucket }
            }
        }
    }

    /// The service's setting for this store (SSE-KMS with `kms_key_id`).
    pub fn location(&self, kms_key_id: Option<&str>) -> BlobLocation {
        match self {
            Self::Folder(dir) => BlobLocation::Directory(dir.path().to_owned()),
            Self::S3 { moto, bucket } => BlobLocation::S3(S3Settings {
                bucket: bucket.clone(),
                prefix: S3_PREFIX.to_owned(),
                region: moto::REGION.to_owned(),
                endpoint: Some(moto.endpoint()),
                kms_key_id: kms_key_id.map(str::to_owned),
                credentials: S3Credentials::Static {
                    access_key_id: moto::ACCESS_KEY_ID.to_owned(),
                    secret_access_key: Secret::new(moto::SECRET_ACCESS_KEY),
                },
            }),
        }
    }
}

pub struct TestApp {
    pub port: u16,
    /// The documents service's own database, for looking at what it stores.
    db_url: DatabaseUrl,
    max_upload_bytes: u64,
    kms_key_id: Option<String>,
    pub pki: Pki,
    pub blobs: BlobStorage,
    pub acme: Org,
    pub globex: Org,
    users_port: u16,
    stops: Vec<CancellationToken>,
    _dbs: Vec<TestDatabase>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        for stop in &self.stops {
            stop.cancel();
        }
    }
}

impl TestApp {
    pub async fn spawn(setup: impl Into<Setup>) -> Self {
        Self::spawn_with_limit(setup, 64 << 20).await
    }

    pub async fn spawn_with_limit(setup: impl Into<Setup>, max_upload_bytes: u64) -> Self {
        Self::spawn_with(setup.into(), max_upload_bytes, None).await
    }

    /// With S3, objects are encrypted with `kms_key_id` when given.
    pub async fn spawn_with(setup: Setup, max_upload_bytes: u64, kms_key_id: Option<&str>) -> Self {
        Self::spawn_with_retention(
            setup,
            max_upload_bytes,
            kms_key_id,
            Duration::from_secs(3600),
        )
        .await
    }

    async fn spawn_with_retention(
        setup: Setup,
        max_upload_bytes: u64,
        kms_key_id: Option<&str>,
        retention_interval: Duration,
    ) -> Self {
        let backend = setup.db;
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

        let db = TestDatabase::create(backend).await;
        let blobs = BlobStorage::new(setup.blobs).await;
        let (port, stop) = start_documents(
            &pki,
            &db.url,
            &blobs,
            kms_key_id,
            max_upload_bytes,
            users_port,
            retention_interval,
        )
        .await;

        let acme = seed::organisation(&pki, users_port, "acme").await;
        let globex = seed::organisation(&pki, users_port, "globex").await;
        Self {
            port,
            db_url: db.url.clone(),
            max_upload_bytes,
            kms_key_id: kms_key_id.map(str::to_owned),
            pki,
            blobs,
            acme,
            globex,
            users_port,
            stops: vec![users_stop, stop],
            _dbs: vec![users_db, db],
        }
    }

    /// Stops the documents service and starts it again on the same database
    /// and blobs, running retention every `retention_interval`.
    pub async fn restart(&mut self, retention_interval: Duration) {
        if let Some(stop) = self.stops.pop() {
            stop.cancel();
        }
        // Let the old one let go of its port and pool.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (port, stop) = start_documents(
            &self.pki,
            &self.db_url,
            &self.blobs,
            self.kms_key_id.as_deref(),
            self.max_upload_bytes,
            self.users_port,
            retention_interval,
        )
        .await;
        self.port = port;
        self.stops.push(stop);
    }

    /// The service's database (already migrated), to see or stage what it stores.
    pub async fn sql(&self) -> sqlx::pool::PoolConnection<sqlx::Any> {
        static MYSQL: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");
        static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
        let settings = folio_platform::db::DatabaseSettings {
            max_connections: 2,
            ..folio_testkit::database_settings(self.db_url.clone())
        };
        let db = Database::connect(&settings, &MYSQL, &SQLITE)
            .await
            .expect("the test database");
        db.pool.acquire().await.expect("a connection")
    }

    pub fn users(&self) -> UsersServiceClient<Channel> {
        UsersServiceClient::new(self.pki.channel("bff", self.users_port))
    }

    pub fn client(&self) -> DocumentsServiceClient<Channel> {
        self.client_as("bff")
    }

    pub fn client_as(&self, identity: &str) -> DocumentsServiceClient<Channel> {
        DocumentsServiceClient::new(self.pki.channel(identity, self.port))
            .max_decoding_message_size(folio_proto::MAX_MESSAGE)
    }

    /// Everything the blob store holds: every file under the folder
    /// (relative to it), or every key in the bucket and every multipart
    /// upload begun and not finished (`open upload: <key>`).
    pub async fn blob_files(&self) -> Vec<String> {
        fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else {
                    out.push(path.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        let mut files = Vec::new();
        match &self.blobs {
            BlobStorage::Folder(dir) => walk(dir.path(), dir.path(), &mut files),
            BlobStorage::S3 { moto, bucket } => {
                files.extend(moto.keys(bucket).await);
                let open = moto.open_uploads(bucket).await;
                files.extend(open.into_iter().map(|key| format!("open upload: {key}")));
            }
        }
        files.sort();
        files
    }

    pub async fn upload(
        &self,
        actor: &Actor,
        target: upload_header::Target,
        file_name: &str,
        content: &[u8],
    ) -> Result<pb::UploadVersionResponse, Status> {
        let header = pb::UploadHeader {
            target: Some(target),
            file_name: file_name.into(),
            media_type: "text/plain".into(),
            note: format!("note for {file_name}"),
            source: pb::VersionSource::Upload.into(),
            ..Default::default()
        };
        upload_messages(self.client(), actor, header, content).await
    }

    pub async fn create(
        &self,
        actor: &Actor,
        title: &str,
        content: &[u8],
    ) -> pb::UploadVersionResponse {
        self.upload(
            actor,
            upload_header::Target::NewDocument(pb::NewDocument {
                title: title.into(),
                description: format!("about {title}"),
                tags: vec![],
            }),
            &format!("{title}.txt"),
            content,
        )
        .await
        .expect("document created")
    }

    pub async fn download(
        &self,
        actor: &Actor,
        document_id: &str,
        number: u32,
        range: Option<pb::ByteRange>,
    ) -> Result<(pb::Version, Vec<u8>), Status> {
        let mut stream = self
            .client()
            .download_version(actor.request(pb::DownloadVersionRequest {
                document_id: document_id.into(),
                number,
                range,
            }))
            .await?
            .into_inner();
        let mut version = None;
        let mut content = Vec::new();
        while let Some(message) = stream.next().await {
            match message?.part {
                Some(pb::download_version_response::Part::Version(v)) => version = Some(v),
                Some(pb::download_version_response::Part::Chunk(c)) => {
                    content.extend_from_slice(&c);
                }
                None => {}
            }
        }
        Ok((version.expect("version first"), content))
    }
}

async fn start_documents(
    pki: &Pki,
    db_url: &DatabaseUrl,
    blobs: &BlobStorage,
    kms_key_id: Option<&str>,
    max_upload_bytes: u64,
    users_port: u16,
    retention_interval: Duration,
) -> (u16, CancellationToken) {
    let app = Application::build(Settings {
        platform: pki.platform("documents"),
        database: folio_platform::db::DatabaseSettings {
            max_connections: 10,
            ..folio_testkit::database_settings(db_url.clone())
        },
        grpc_addr: any_port(),
        blobs: blobs.location(kms_key_id),
        max_upload_bytes,
        users_url: format!("https://127.0.0.1:{users_port}"),
        retention_interval,
    })
    .await
    .expect("documents service starts");
    let port = app.port();
    let stop = app.stop_token();
    tokio::spawn(app.run_until_stopped());
    (port, stop)
}

pub fn chunk_messages(header: pb::UploadHeader, content: &[u8]) -> Vec<pb::UploadVersionRequest> {
    std::iter::once(upload_version_request::Part::Header(header))
        .chain(
            content
                .chunks(64 * 1024)
                .map(|c| upload_version_request::Part::Chunk(Bytes::copy_from_slice(c))),
        )
        .map(|part| pb::UploadVersionRequest { part: Some(part) })
        .collect()
}

pub async fn upload_messages(
    mut client: DocumentsServiceClient<Channel>,
    actor: &Actor,
    header: pb::UploadHeader,
    content: &[u8],
) -> Result<pb::UploadVersionResponse, Status> {
    let messages = chunk_messages(header, content);
    client
        .upload_version(actor.request(futures::stream::iter(messages)))
        .await
        .map(tonic::Response::into_inner)
}

pub fn existing(id: &str) -> upload_header::Target {
    upload_header::Target::DocumentId(id.into())
}
