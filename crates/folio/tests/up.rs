//! `folio up` as a newcomer runs it: the services answer, the printed admin
//! can sign in over mTLS, and everything survives a restart.

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    process::{Child, Command, Stdio},
};

use folio_platform::{grpc, pki::DevPki, tls};
use folio_proto::users::v1::{AuthenticateRequest, users_service_client::UsersServiceClient};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Up {
    child: Child,
    banner: Vec<String>,
}

/// Nine free ports: users gRPC and HTTP, documents gRPC and HTTP, bff,
/// integration gRPC and HTTP, notifications gRPC and HTTP.
fn free_ports() -> [u16; 9] {
    std::array::from_fn(|_| free_port())
}

fn start(data_dir: &std::path::Path, ports: &[u16; 9]) -> Up {
    start_with(data_dir, ports, &[])
}

fn start_with(data_dir: &std::path::Path, ports: &[u16; 9], env: &[(&str, &str)]) -> Up {
    // The addresses, in the order of `ports`.
    let addresses = [
        "FOLIO_USERS_GRPC_ADDR",
        "FOLIO_USERS_HTTP_ADDR",
        "FOLIO_DOCUMENTS_GRPC_ADDR",
        "FOLIO_DOCUMENTS_HTTP_ADDR",
        "FOLIO_BFF_ADDR",
        "FOLIO_INTEGRATION_GRPC_ADDR",
        "FOLIO_INTEGRATION_HTTP_ADDR",
        "FOLIO_NOTIFICATIONS_GRPC_ADDR",
        "FOLIO_NOTIFICATIONS_HTTP_ADDR",
    ]
    .into_iter()
    .zip(ports.map(|port| format!("127.0.0.1:{port}")));
    let mut child = Command::new(env!("CARGO_BIN_EXE_folio"))
        .arg("up")
        .envs(env.iter().copied())
        .env("FOLIO_DATA_DIR", data_dir)
        .envs(addresses)
        .env_remove("FOLIO_ADMIN_EMAIL")
        .env_remove("FOLIO_ADMIN_PASSWORD")
        .env_remove("FOLIO_DATABASE_URL")
        .env_remove("FOLIO_REDIS_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut banner = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.starts_with("Press ctrl-c");
        banner.push(line);
        if done {
            break;
        }
    }
    Up { child, banner }
}

fn stop(mut up: Up) {
    let pid = up.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(
        up.child.wait().unwrap().success(),
        "graceful exit on SIGTERM"
    );
}

async fn sign_in(data_dir: &std::path::Path, port: u16, email: &str, password: &str) -> bool {
    let pki = DevPki::open(data_dir.join("pki")).unwrap();
    let channel = grpc::channel(
        &format!("https://localhost:{port}"),
        tls::client_config(&pki.identity("bff").unwrap()).unwrap(),
    )
    .unwrap();
    UsersServiceClient::new(channel)
        .authenticate(AuthenticateRequest {
            email: email.into(),
            password: password.into(),
        })
        .await
        .is_ok()
}

async fn http_status(port: u16, path: &str) -> u16 {
    folio_testkit::http_get(port, path).await.0
}

#[tokio::test]
async fn up_starts_the_system_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports();
    let first = start(dir.path(), &ports);
    let admin = first
        .banner
        .iter()
        .find_map(|l| l.strip_prefix("  first admin: "))
        .expect("the banner names the first admin")
        .to_owned();
    let (email, rest) = admin
        .split_once(" / ")
        .expect("a generated password is shown");
    let password = rest.split_whitespace().next().unwrap().to_owned();
    assert_eq!(http_status(ports[1], "/readyz").await, 200);
    assert_eq!(http_status(ports[3], "/readyz").await, 200);
    assert_eq!(
        http_status(ports[6], "/readyz").await,
        200,
        "the integration"
    );
    assert_eq!(http_status(ports[8], "/readyz").await, 200, "notifications");
    assert!(sign_in(dir.path(), ports[0], email, &password).await);
    assert!(!sign_in(dir.path(), ports[0], email, "not the password").await);

    // The portal and its API answer on the bff's address.
    let portal_line = format!("http://127.0.0.1:{}/", ports[4]);
    assert!(
        first.banner.iter().any(|l| l.contains(&portal_line)),
        "{:?}",
        first.banner
    );
    assert_eq!(http_status(ports[4], "/readyz").await, 200);
    let portal = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{}", ports[4]);
    let session = portal
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), 200);
    assert!(
        !session.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Secure"),
        "plain HTTP locally"
    );
    assert_eq!(
        portal
            .get(format!("{base}/api/v1/documents"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Onboarding a client: the operator command, over mTLS, against the running system.
    let org = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_folio"))
            .arg("org")
            .args(args)
            .env("FOLIO_DATA_DIR", dir.path())
            .env("FOLIO_USERS_GRPC_ADDR", format!("127.0.0.1:{}", ports[0]))
            .output()
            .unwrap()
    };
    let created = org(&[
        "create",
        "--name",
        "Globex",
        "--admin-email",
        "boss@globex.example",
        "--admin-password",
        "globex admin password",
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let again = org(&[
        "create",
        "--name",
        "Globex",
        "--admin-email",
        "other@globex.example",
        "--admin-password",
        "globex admin password",
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let listed = String::from_utf8(org(&["list"]).stdout).unwrap();
    assert!(
        listed.contains("Globex") && listed.contains("Folio"),
        "{listed}"
    );
    assert!(
        sign_in(
            dir.path(),
            ports[0],
            "boss@globex.example",
            "globex admin password"
        )
        .await
    );
    stop(first);

    let second = start(dir.path(), &ports);
    assert!(
        second
            .banner
            .iter()
            .any(|l| l.contains("password as set at first start")),
        "{:?}",
        second.banner
    );
    assert!(
        sign_in(dir.path(), ports[0], email, &password).await,
        "data survives a restart"
    );
    stop(second);
}

/// `FOLIO_FAKE_GRAPH=1`: a file dropped into the folder the banner names
/// becomes a document, once the admin connects with the printed values.
#[tokio::test]
async fn the_fake_onedrive_demo_mirrors_a_dropped_file() {
    let dir = tempfile::tempdir().unwrap();
    let ports = free_ports();
    let up = start_with(dir.path(), &ports, &[("FOLIO_FAKE_GRAPH", "1")]);
    let folder = dir.path().join("onedrive");
    assert!(
        up.banner
            .iter()
            .any(|l| l.contains(&folder.display().to_string())),
        "the banner names the fake OneDrive folder: {:?}",
        up.banner
    );
    let values = up
        .banner
        .iter()
        .find_map(|l| l.trim().strip_prefix("connect it (OneDrive page) with "))
        .expect("the banner prints what to connect with")
        .to_owned();
    let field = |name: &str| {
        values
            .split(", ")
            .find_map(|part| part.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} in {values}"))
            .trim()
            .to_owned()
    };
    let admin = up
        .banner
        .iter()
        .find_map(|l| l.strip_prefix("  first admin: "))
        .unwrap()
        .to_owned();
    let (email, rest) = admin.split_once(" / ").unwrap();
    let password = rest.split_whitespace().next().unwrap();

    let base = format!("http://127.0.0.1:{}", ports[4]);
    let portal = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let session: serde_json::Value = portal
        .post(format!("{base}/api/v1/session"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = session["csrf_token"].as_str().unwrap().to_owned();
    let connected = portal
        .put(format!("{base}/api/v1/onedrive/connection"))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({
            "tenant_id": field("tenant "),
            "app_id": field("app id "),
            "client_secret": field("client secret "),
            "drive_id": field("drive "),
            "folder": field("folder "),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        connected.status(),
        201,
        "{}",
        connected.text().await.unwrap()
    );

    std::fs::write(folder.join("dropped.txt"), b"dropped into OneDrive").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let list: serde_json::Value = portal
            .get(format!("{base}/api/v1/documents"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found = list["items"].as_array().unwrap().iter().any(|d| {
            d["current"]["file_name"] == "dropped.txt" && d["current"]["source"] == "onedrive"
        });
        if found {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the dropped file never became a document: {list}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    stop(up);
}
