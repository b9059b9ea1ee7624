//! The `folio-users` binary configured the way it is in the cloud: database
//! login from AWS Secrets Manager (moto here), through environment variables
//! only. A rotated password reaches new connections without a restart, and a
//! missing secret stops start-up with an error that names it.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

use folio_platform::db::Backend;
use folio_proto::users::v1 as pb;
use folio_testkit::{Moto, Pki, TestDatabase, TestDbUser};

use super::helpers::{PASSWORD, http_get};

const BINARY: &str = env!("CARGO_BIN_EXE_folio-users");
const FIRST: &str = "First-Pa55word-5c1e";
/// Characters that must be escaped in a URL and in SQL.
const ROTATED: &str = "R0tated:p@ss/w%rd#?&'x";

fn rds_secret(username: &str, password: &str) -> String {
    serde_json::json!({
        "engine": "mysql",
        "host": "127.0.0.1",
        "port": 3306,
        "username": username,
        "password": password,
    })
    .to_string()
}

/// `folio-users` as a child process, with its log collected.
struct Service {
    child: Child,
    log: Arc<Mutex<String>>,
    grpc_port: u16,
    http_port: u16,
}

/// The environment of a `folio-users` process that takes its database login
/// from Secrets Manager, and nothing else from this process's environment.
fn command(
    moto: &Moto,
    pki: &Pki,
    database_url: &str,
    secret: &str,
    data: &std::path::Path,
) -> Command {
    let tls = pki.files("users");
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .envs(moto.sdk_env())
        .env("FOLIO_DATA_DIR", data)
        .env("FOLIO_LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .env("FOLIO_SECRETS_REFRESH_SECS", "1")
        .env("FOLIO_USERS_GRPC_ADDR", "127.0.0.1:0")
        .env("FOLIO_USERS_HTTP_ADDR", "127.0.0.1:0")
        .env("FOLIO_USERS_DATABASE_URL", database_url)
        .env(
            "FOLIO_USERS_DATABASE_USERNAME_SECRET",
            format!("aws:{secret}#username"),
        )
        .env(
            "FOLIO_USERS_DATABASE_PASSWORD_SECRET",
            format!("aws:{secret}#password"),
        )
        .env("FOLIO_USERS_TLS_CERT_FILE", &tls.cert)
        .env("FOLIO_USERS_TLS_KEY_FILE", &tls.key)
        .env("FOLIO_USERS_TLS_CA_FILE", &tls.ca)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

impl Service {
    /// Starts the process and waits for the line saying where it listens.
    fn start(mut command: Command) -> Self {
        let mut child = command.spawn().expect("folio-users starts");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stdout_log = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(event) = serde_json::from_str::<serde_json::Value>(&line)
                    && event["message"] == "users listening"
                {
                    let port = |key: &str| event[key].as_u64().and_then(|p| u16::try_from(p).ok());
                    let _ = tx.send((port("grpc_port"), port("http_port")));
                }
                let mut log = stdout_log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let stderr = child.stderr.take().unwrap();
        let stderr_log = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text);
            stderr_log.lock().unwrap().push_str(&text);
        });
        let Ok((Some(grpc_port), Some(http_port))) = rx.recv_timeout(Duration::from_secs(60))
        else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("folio-users did not start:\n{}", log.lock().unwrap());
        };
        Self {
            child,
            log,
            grpc_port,
            http_port,
        }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    async fn ready(&self) -> bool {
        http_get(self.http_port, "/readyz").await.0 == 200
    }

    async fn create_organisation(&self, pki: &Pki, name: &str) -> Result<(), tonic::Status> {
        pb::users_service_client::UsersServiceClient::new(pki.channel("operator", self.grpc_port))
            .create_organisation(pb::CreateOrganisationRequest {
                name: name.into(),
                admin_email: format!("admin@{}.example", name.to_lowercase()),
                admin_display_name: "Admin".into(),
                admin_password: PASSWORD.into(),
            })
            .await
            .map(|_| ())
    }

    /// SIGTERM, then the exit status (within the shutdown grace period).
    fn terminate(mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "folio-users did not stop:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `/readyz` until it answers 200; how long that took.
async fn until_ready(service: &Service, within: Duration) -> Duration {
    let start = Instant::now();
    while !service.ready().await {
        assert!(
            start.elapsed() < within,
            "not ready {within:?} after the secret changed:\n{}",
            service.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_database_password_reaches_new_connections_without_a_restart() {
    let moto = Moto::start();
    let secrets = moto.secrets();
    let pki = Pki::new();
    let db = TestDatabase::create(Backend::MySql).await;
    let account = TestDbUser::create(&db, FIRST).await;
    let secret = format!("folio/test/users-db-{}", uuid::Uuid::new_v4().simple());
    secrets
        .create_secret()
        .name(&secret)
        .secret_string(rds_secret(&account.name, FIRST))
        .send()
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let service = Service::start(command(
        &moto,
        &pki,
        &db.url_without_login(),
        &secret,
        data.path(),
    ));
    assert!(service.ready().await, "{}", service.log());
    service.create_organisation(&pki, "Before").await.unwrap();

    // The database password changes and every open connection ends: the
    // service must open new ones, and the old password no longer works.
    account.set_password(ROTATED).await;
    assert!(account.kill_connections().await > 0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!service.ready().await, "the old password still works?");
    assert!(service.create_organisation(&pki, "Refused").await.is_err());

    // Then the secret follows, as a rotation does; no restart.
    secrets
        .put_secret_value()
        .secret_id(&secret)
        .secret_string(rds_secret(&account.name, ROTATED))
        .send()
        .await
        .unwrap();
    let took = until_ready(&service, Duration::from_secs(15)).await;
    println!("ready {took:?} after the secret changed (refresh every 1 s)");
    service.create_organisation(&pki, "After").await.unwrap();
    let names: Vec<String> = pb::users_service_client::UsersServiceClient::new(
        pki.channel("operator", service.grpc_port),
    )
    .list_organisations(pb::ListOrganisationsRequest {})
    .await
    .unwrap()
    .into_inner()
    .organisations
    .into_iter()
    .map(|o| o.name)
    .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"Before".to_owned()) && names.contains(&"After".to_owned()));

    assert!(
        service.log().contains("database credentials changed"),
        "{}",
        service.log()
    );
    let log = Arc::clone(&service.log);
    let status = service.terminate();
    assert!(status.success(), "{status}");
    std::thread::sleep(Duration::from_millis(200));
    // No value of the secret anywhere in what the process said, even at debug level.
    let log = log.lock().unwrap().clone();
    assert!(log.contains("users service running"), "{log}");
    for value in [FIRST, ROTATED, "R0tated", "p@ss", "R0tated%3Ap%40ss"] {
        assert!(!log.contains(value), "{value} appears in the log:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_secret_stops_start_up_naming_it_and_no_value() {
    let moto = Moto::start();
    let secret = format!("folio/test/users-db-{}", uuid::Uuid::new_v4().simple());
    moto.secrets()
        .create_secret()
        .name(&secret)
        .secret_string(rds_secret("folio_users_5c1e", FIRST))
        .send()
        .await
        .unwrap();
    let pki = Pki::new();
    let data = tempfile::tempdir().unwrap();
    let url = "mysql://127.0.0.1:3306/folio_never_reached";

    let run = |command: &mut Command| {
        let output = command.output().expect("folio-users runs");
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "started anyway:\n{text}");
        text
    };

    let missing = format!("folio/test/absent-{}", uuid::Uuid::new_v4().simple());
    let text = run(command(&moto, &pki, url, &secret, data.path()).env(
        "FOLIO_USERS_DATABASE_PASSWORD_SECRET",
        format!("aws:{missing}#password"),
    ));
    assert!(
        text.contains(&format!(
            "FOLIO_USERS_DATABASE_PASSWORD_SECRET: secret aws:{missing}#password is not set"
        )),
        "{text}"
    );

    // The secret exists but has no such key: the error names the key and
    // shows nothing of what the secret holds.
    let text = run(command(&moto, &pki, url, &secret, data.path()).env(
        "FOLIO_USERS_DATABASE_PASSWORD_SECRET",
        format!("aws:{secret}#passwd"),
    ));
    assert!(
        text.contains(&format!(
            r#"FOLIO_USERS_DATABASE_PASSWORD_SECRET: secret aws:{secret}#passwd cannot be read: it has no key "passwd""#
        )),
        "{text}"
    );
    for value in [FIRST, "folio_users_5c1e"] {
        assert!(!text.contains(value), "{value} appears:\n{text}");
    }
}
