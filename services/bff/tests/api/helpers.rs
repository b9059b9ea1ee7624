use std::time::Duration;

use folio_bff::{Application, Settings, settings::LoginLimits};
use folio_fake_graph::FakeGraph;
use folio_platform::{db::Backend, https::HttpsFiles, secrets::Secret};
use folio_proto::users::v1::{self as users_pb, users_service_client::UsersServiceClient};
use folio_testkit::{Pki, TestDatabase, any_port};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::contract::contract;

pub const PASSWORD: &str = "correct horse battery staple";

/// Where sessions live for a run.
#[derive(Debug, Clone)]
pub enum Sessions {
    Memory,
    /// Redis at `url` (with `auth_token` as its password when given);
    /// over TLS trusting only `ca_file` when given.
    Redis {
        url: String,
        auth_token: Option<folio_platform::secrets::SecretSource>,
        ca_file: Option<std::path::PathBuf>,
    },
}

impl Sessions {
    pub fn redis(url: &str) -> Self {
        Self::Redis {
            url: url.to_owned(),
            auth_token: None,
            ca_file: None,
        }
    }
}

pub struct Options {
    pub max_upload_bytes: u64,
    /// The documents service's own limit, when lower than the bff's (so the
    /// service refuses, not the bff).
    pub documents_max_upload_bytes: Option<u64>,
    pub login: LoginLimits,
    pub sessions: Option<Sessions>,
    /// Also run the integration service against a fake Graph.
    pub onedrive: bool,
    /// Its timing; short test intervals when `None`.
    pub onedrive_timing: Option<folio_integration::Timing>,
    /// Trusted proxies in front of the bff (`X-Forwarded-For` entries).
    pub forwarded_hops: usize,
    /// Also run the notifications service (loopback endpoints allowed).
    pub notifications: bool,
    /// Requests per API token per minute.
    pub api_tokens_per_minute: u32,
    /// Sign-in with identity providers (the Entra authority, the deployment's app).
    pub providers: folio_bff::settings::ProviderSettings,
    /// Serve HTTPS with these files (as in the cluster) instead of plain HTTP.
    pub http_tls: Option<HttpsFiles>,
    /// Also run a second bff on the same services and session store (another
    /// replica), at `TestSystem::replica_base`.
    pub second_bff: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_upload_bytes: 32 << 20,
            documents_max_upload_bytes: None,
            login: LoginLimits {
                per_account: 5,
                per_address: 1000,
                window: Duration::from_secs(60),
                slow_down: Duration::from_millis(10),
            },
            sessions: None,
            onedrive: false,
            onedrive_timing: None,
            forwarded_hops: 0,
            notifications: false,
            api_tokens_per_minute: 10_000,
            providers: folio_bff::settings::ProviderSettings::default(),
            http_tls: None,
            second_bff: false,
        }
    }
}

/// users + documents + bff, in process, talking mTLS to each other.
pub struct TestSystem {
    pub base: String,
    /// With `Options::second_bff`: the other replica's address.
    pub replica_base: Option<String>,
    /// With `Options::onedrive`: the fake Graph behind the integration.
    pub onedrive: Option<OneDrive>,
    pub blob_dir: tempfile::TempDir,
    pub acme_admin: users_pb::User,
    _pki: Pki,
    stops: Vec<CancellationToken>,
    _dbs: Vec<TestDatabase>,
}

impl TestSystem {
    /// Stops the documents service (an outage behind the bff). It is the
    /// second service started (`stops`: users, documents, …).
    pub fn stop_documents(&self) {
        self.stops[1].cancel();
    }
}

impl Drop for TestSystem {
    fn drop(&mut self) {
        for stop in &self.stops {
            stop.cancel();
        }
    }
}

pub fn redis_url() -> String {
    std::env::var("FOLIO_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The fake OneDrive the integration is pointed at, with one app allowed
/// into one drive.
pub struct OneDrive {
    pub graph: FakeGraph,
    /// The folder a connection mirrors (`/Client files`).
    pub folder: String,
    pub root: String,
}

impl OneDrive {
    pub const TENANT: &str = "contoso.onmicrosoft.com";
    pub const APP_ID: &str = "0b6f2a34-6d0a-4c8e-9a55-0f3c1f0e9a11";
    pub const DRIVE: &str = "b!contoso-drive";
    pub const SECRET: &str = "correct-client-secret";

    async fn start() -> Self {
        let graph = FakeGraph::start().await.expect("fake Graph starts");
        graph.add_app(Self::TENANT, Self::APP_ID, Self::SECRET);
        let root = graph.add_drive(Self::TENANT, Self::DRIVE);
        let folder = graph.add_folder(Self::DRIVE, &root, "Client files");
        Self {
            graph,
            folder,
            root,
        }
    }

    /// What the portal's connect form sends.
    pub fn connect_form() -> Value {
        json!({
            "tenant_id": Self::TENANT,
            "app_id": Self::APP_ID,
            "client_secret": Self::SECRET,
            "drive_id": Self::DRIVE,
            "folder": "/Client files",
        })
    }
}

impl TestSystem {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, Options::default()).await
    }

    pub async fn spawn_with(backend: Backend, options: Options) -> Self {
        folio_platform::telemetry::init(folio_platform::telemetry::LogFormat::Text);
        let pki = Pki::new();
        let users_db = TestDatabase::create(backend).await;
        let users = folio_users::Application::build(folio_users::Settings {
            platform: pki.platform("users"),
            database: users_db.settings(),
            grpc_addr: any_port(),
            bootstrap: None,
            secrets_key: Some(folio_platform::secrets::SecretSource::given(
                Secret::new("7a".repeat(32)),
                "FOLIO_USERS_SECRETS_KEY",
            )),
        })
        .await
        .expect("users starts");
        let users_port = users.port();
        let mut stops = vec![users.stop_token()];
        tokio::spawn(users.run_until_stopped());

        let documents_db = TestDatabase::create(backend).await;
        let blob_dir = tempfile::tempdir().unwrap();
        let documents = folio_documents::Application::build(folio_documents::Settings {
            platform: pki.platform("documents"),
            database: folio_platform::db::DatabaseSettings {
                max_connections: 10,
                ..documents_db.settings()
            },
            grpc_addr: any_port(),
            blobs: folio_documents::settings::BlobLocation::Directory(blob_dir.path().to_owned()),
            max_upload_bytes: options
                .documents_max_upload_bytes
                .unwrap_or(options.max_upload_bytes),
            users_url: format!("https://127.0.0.1:{users_port}"),
            retention_interval: std::time::Duration::from_secs(3600),
        })
        .await
        .expect("documents starts");
        let documents_port = documents.port();
        stops.push(documents.stop_token());
        tokio::spawn(documents.run_until_stopped());

        let mut dbs = vec![users_db, documents_db];
        let (onedrive, integration_url) = if options.onedrive {
            let onedrive = OneDrive::start().await;
            let db = TestDatabase::create(backend).await;
            let integration = folio_integration::Application::build(folio_integration::Settings {
                platform: pki.platform("integration"),
                database: db.settings(),
                grpc_addr: any_port(),
                documents_url: format!("https://127.0.0.1:{documents_port}"),
                public_url: None,
                graph_url: Some(onedrive.graph.graph_url().parse().unwrap()),
                token_url: onedrive.graph.token_url(),
                graph_scope: None,
                client_secrets: folio_integration::ClientSecretsConfig::sealed_with(
                    &"5e".repeat(32),
                ),
                timing: options
                    .onedrive_timing
                    .clone()
                    .unwrap_or_else(folio_integration::Timing::brisk),
            })
            .await
            .expect("integration starts");
            let url = format!("https://localhost:{}", integration.port());
            stops.push(integration.stop_token());
            tokio::spawn(integration.run_until_stopped());
            dbs.push(db);
            (Some(onedrive), url)
        } else {
            // Nothing listens there: the OneDrive endpoints answer 503.
            let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = unused.local_addr().unwrap().port();
            (None, format!("https://localhost:{port}"))
        };

        let notifications_url = if options.notifications {
            let db = TestDatabase::create(backend).await;
            let notifications =
                folio_notifications::Application::build(folio_notifications::Settings {
                    platform: pki.platform("notifications"),
                    database: db.settings(),
                    grpc_addr: any_port(),
                    users_url: format!("https://127.0.0.1:{users_port}"),
                    documents_url: format!("https://127.0.0.1:{documents_port}"),
                    allow_private_webhooks: true,
                    timing: folio_notifications::Timing::brisk(),
                    mail: folio_notifications::settings::MailSettings::off(),
                })
                .await
                .expect("notifications starts");
            let url = format!("https://localhost:{}", notifications.port());
            stops.push(notifications.stop_token());
            tokio::spawn(notifications.run_until_stopped());
            dbs.push(db);
            url
        } else {
            // Nothing listens there: the webhook endpoints answer 503.
            let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("https://localhost:{}", unused.local_addr().unwrap().port())
        };

        // MariaDB runs pair with Redis sessions, SQLite runs with in-process ones.
        let sessions = options.sessions.unwrap_or(match backend {
            Backend::MySql => Sessions::redis(&redis_url()),
            Backend::Sqlite => Sessions::Memory,
        });
        let redis_prefix = format!("folio-test:{}:", uuid::Uuid::new_v4().simple());
        let mut bases = Vec::new();
        let replicas = if options.second_bff { 2 } else { 1 };
        for _ in 0..replicas {
            let bff = Application::build(Settings {
                platform: folio_platform::config::Platform {
                    secrets_refresh: Duration::from_millis(200),
                    http_tls: options.http_tls.clone(),
                    ..pki.platform("bff")
                },
                users_url: format!("https://localhost:{users_port}"),
                documents_url: format!("https://localhost:{documents_port}"),
                integration_url: integration_url.clone(),
                notifications_url: notifications_url.clone(),
                redis_url: match &sessions {
                    Sessions::Redis { url, .. } => Some(Secret::new(url.clone())),
                    Sessions::Memory => None,
                },
                redis_auth_token: match &sessions {
                    Sessions::Redis { auth_token, .. } => auth_token.clone(),
                    Sessions::Memory => None,
                },
                redis_ca_file: match &sessions {
                    Sessions::Redis { ca_file, .. } => ca_file.clone(),
                    Sessions::Memory => None,
                },
                redis_prefix: redis_prefix.clone(),
                cookie_secure: false,
                session_idle: Duration::from_secs(600),
                session_absolute: Duration::from_secs(3600),
                login: options.login,
                max_upload_bytes: options.max_upload_bytes,
                forwarded_hops: options.forwarded_hops,
                api_tokens_per_minute: options.api_tokens_per_minute,
                providers: options.providers.clone(),
            })
            .await
            .expect("bff starts");
            let scheme = if options.http_tls.is_some() {
                "https"
            } else {
                "http"
            };
            bases.push(format!("{scheme}://127.0.0.1:{}", bff.port()));
            stops.push(bff.stop_token());
            tokio::spawn(bff.run_until_stopped());
        }
        let replica_base = bases.get(1).cloned();
        let base = bases.swap_remove(0);

        let mut operator = UsersServiceClient::new(pki.channel("operator", users_port));
        let mut organisation = async |name: &str| {
            operator
                .create_organisation(users_pb::CreateOrganisationRequest {
                    name: name.into(),
                    admin_email: format!("admin@{name}.example"),
                    admin_display_name: format!("{name} admin"),
                    admin_password: PASSWORD.into(),
                })
                .await
                .unwrap()
                .into_inner()
                .admin
                .unwrap()
        };
        let acme_admin = organisation("acme").await;
        organisation("globex").await;
        Self {
            base,
            replica_base,
            onedrive,
            blob_dir,
            acme_admin,
            _pki: pki,
            stops,
            _dbs: dbs,
        }
    }

    /// A browser without a session.
    pub fn browser(&self) -> Browser {
        Browser {
            base: self.base.clone(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap(),
            csrf: None,
        }
    }

    /// A browser signed in as `email`.
    pub async fn signed_in(&self, email: &str) -> Browser {
        let mut browser = self.browser();
        let response = browser.sign_in(email, PASSWORD).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{email} signs in: {}",
            response.text()
        );
        browser.csrf = Some(response.json()["csrf_token"].as_str().unwrap().to_owned());
        browser
    }

    /// Provisions a user through the API as `admin` and signs them in.
    pub async fn user(&self, admin: &Browser, email: &str, role: &str) -> (Value, Browser) {
        let created = admin
            .json(
                Method::POST,
                "/api/v1/users",
                &json!({"email": email, "display_name": email.split('@').next().unwrap(), "role": role, "password": PASSWORD}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        (created.json(), self.signed_in(email).await)
    }

    /// Every file in the blob folder.
    pub fn blob_count(&self) -> usize {
        fn walk(dir: &std::path::Path) -> usize {
            std::fs::read_dir(dir)
                .map(|entries| {
                    entries
                        .map(|e| e.unwrap().path())
                        .map(|p| if p.is_dir() { walk(&p) } else { 1 })
                        .sum()
                })
                .unwrap_or(0)
        }
        walk(self.blob_dir.path())
    }
}

/// What came back, already checked against the contract.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn problem_type(&self) -> String {
        self.json()["type"]
            .as_str()
            .unwrap_or_default()
            .replace("https://folio.dev/problems/", "")
    }
}

#[derive(Clone)]
pub struct Browser {
    pub base: String,
    pub http: reqwest::Client,
    pub csrf: Option<String>,
}

/// One part of a multipart body: (name, file name, bytes).
pub type Part<'a> = (&'a str, Option<&'a str>, Vec<u8>);

impl Browser {
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
        method: &Method,
        path: &str,
    ) -> Reply {
        let response = request.send().await.expect("the bff answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        let path_only = path.split('?').next().unwrap();
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
        contract().check(
            method.as_str(),
            path_only,
            status.as_u16(),
            content_type,
            &body,
        );
        assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(csrf) = &self.csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path), &Method::GET, path)
            .await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.request(Method::GET, path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request, &Method::GET, path).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.request(Method::DELETE, path), &Method::DELETE, path)
            .await
    }

    /// Connects the organisation's OneDrive (the fake one) as the portal's
    /// form does; the browser must be an admin's. The 201 reply.
    pub async fn connect_onedrive(&self) -> Reply {
        let connected = self
            .json(
                Method::PUT,
                "/api/v1/onedrive/connection",
                &OneDrive::connect_form(),
            )
            .await;
        assert_eq!(
            connected.status,
            StatusCode::CREATED,
            "{}",
            connected.text()
        );
        connected
    }

    /// `POST /api/v1/session` with these credentials.
    pub async fn sign_in(&self, email: &str, password: &str) -> Reply {
        let credentials = json!({"email": email, "password": password});
        self.json(Method::POST, "/api/v1/session", &credentials)
            .await
    }

    pub async fn json(&self, method: Method, path: &str, body: &Value) -> Reply {
        let request = self.request(method.clone(), path).json(body);
        self.send(request, &method, path).await
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let request = self
            .request(method.clone(), path)
            .header("content-type", content_type)
            .body(body);
        self.send(request, &method, path).await
    }

    pub async fn multipart(&self, path: &str, parts: Vec<Part<'_>>) -> Reply {
        let mut form = reqwest::multipart::Form::new();
        for (name, file_name, bytes) in parts {
            let mut part = reqwest::multipart::Part::bytes(bytes);
            if let Some(file_name) = file_name {
                part = part
                    .file_name(file_name.to_owned())
                    .mime_str("text/plain")
                    .unwrap();
            }
            form = form.part(name.to_owned(), part);
        }
        let request = self.request(Method::POST, path).multipart(form);
        self.send(request, &Method::POST, path).await
    }

    /// Adds a document whose first version is `content`.
    pub async fn add_document(&self, title: &str, file_name: &str, content: &[u8]) -> Value {
        let reply = self
            .multipart(
                "/api/v1/documents",
                vec![
                    ("title", None, title.as_bytes().to_vec()),
                    ("file", Some(file_name), content.to_vec()),
                ],
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        reply.json()
    }
}
