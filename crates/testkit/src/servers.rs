//! Private Redis and MariaDB servers for one test, for what the shared ones
//! cannot show: an outage, or TLS as the managed services (ElastiCache, RDS)
//! speak it. Each runs from the machine's own binaries on a free loopback
//! port, with certificates from the test's [`Pki`], and stops when dropped.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use sqlx::{Connection, Executor, MySqlConnection};
use tempfile::TempDir;

use crate::{
    Pki,
    process::{Tied, free_port},
};

/// Waits until `port` accepts TCP connections, keeping the server's stderr
/// drained (so it never blocks on a full pipe); panics with what it wrote if
/// it exits or does not listen within 30 s.
fn until_listening(what: &str, process: &mut Tied, port: u16) {
    let log = Arc::new(Mutex::new(String::new()));
    let mut stderr = process.stderr();
    let drained = Arc::clone(&log);
    std::thread::spawn(move || {
        let mut buffer = [0_u8; 4096];
        while let Ok(n @ 1..) = stderr.read(&mut buffer) {
            let mut log = drained.lock().unwrap_or_else(PoisonError::into_inner);
            if log.len() < 64 << 10 {
                log.push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        }
    });
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if process.exited() || started.elapsed() > Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(100));
            let log = log.lock().unwrap_or_else(PoisonError::into_inner);
            panic!("{what} did not listen on port {port}:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A private `redis-server`.
#[derive(Debug)]
pub struct Redis {
    port: u16,
    url: String,
    _process: Tied,
}

impl Redis {
    /// Plain Redis, no password, on `port` (so a test can start it again
    /// on the same port after dropping it).
    pub fn start_on(port: u16) -> Self {
        Self::spawn(
            port,
            &["--port", &port.to_string()],
            format!("redis://127.0.0.1:{port}"),
        )
    }

    /// Redis as ElastiCache runs it with encryption in transit: TLS only
    /// (a certificate for `localhost` from `pki`) and an AUTH token.
    pub fn start_tls(pki: &Pki, token: &str) -> Self {
        let port = free_port();
        let tls = pki.files("redis");
        let path = |p: &Path| p.to_str().expect("UTF-8 path").to_owned();
        Self::spawn(
            port,
            &[
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--tls-cert-file",
                &path(&tls.cert),
                "--tls-key-file",
                &path(&tls.key),
                "--tls-ca-cert-file",
                &path(&tls.ca),
                "--tls-auth-clients",
                "no",
                "--requirepass",
                token,
            ],
            format!("rediss://:{token}@localhost:{port}"),
        )
    }

    fn spawn(port: u16, args: &[&str], url: String) -> Self {
        let mut args = args.to_vec();
        args.extend([
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            "",
        ]);
        let mut process = Tied::spawn("redis-server", args);
        until_listening("redis-server", &mut process, port);
        Self {
            port,
            url,
            _process: process,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`, or `rediss://:<token>@localhost:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// A private MariaDB (`mariadbd` with a fresh data directory) that speaks
/// TLS with a certificate for `localhost` from the test's [`Pki`], like RDS.
/// `root` has no password and may connect without TLS; accounts made with
/// [`MariaDb::create_tls_account`] must use TLS.
#[derive(Debug)]
pub struct MariaDb {
    port: u16,
    ca: PathBuf,
    _process: Tied,
    _dir: TempDir,
}

impl MariaDb {
    pub async fn start_tls(pki: &Pki) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        // Its own temporary directory: bootstraps running side by side in
        // the shared /tmp have removed each other's temporary tables.
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).expect("temp dir for mariadbd");
        let installed = Command::new("mariadb-install-db")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .output()
            .expect("mariadb-install-db is installed (MariaDB server package)");
        assert!(
            installed.status.success(),
            "mariadb-install-db failed:\n{}",
            String::from_utf8_lossy(&installed.stderr)
        );
        let tls = pki.files("mariadb");
        let port = free_port();
        let mut process = Tied::spawn(
            "/usr/sbin/mariadbd",
            [
                "--no-defaults".to_owned(),
                format!("--datadir={}", data.display()),
                format!("--tmpdir={}", tmp.display()),
                format!("--socket={}", dir.path().join("sock").display()),
                format!("--pid-file={}", dir.path().join("pid").display()),
                format!("--port={port}"),
                // 127.0.0.2 too: an address the certificate does not name.
                "--bind-address=127.0.0.1,127.0.0.2".to_owned(),
                "--user=root".to_owned(),
                "--skip-log-bin".to_owned(),
                "--innodb-buffer-pool-size=16M".to_owned(),
                format!("--ssl-cert={}", tls.cert.display()),
                format!("--ssl-key={}", tls.key.display()),
                format!("--ssl-ca={}", tls.ca.display()),
            ],
        );
        until_listening("mariadbd", &mut process, port);
        Self {
            port,
            ca: tls.ca,
            _process: process,
            _dir: dir,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The CA that signed the server's certificate.
    pub fn ca(&self) -> &Path {
        &self.ca
    }

    /// Runs statements as `root`.
    pub async fn admin(&self, statements: &[&str]) {
        let url = format!(
            "mysql://root@127.0.0.1:{}/mysql?ssl-mode=DISABLED",
            self.port
        );
        let mut conn = MySqlConnection::connect(&url)
            .await
            .expect("root connects to the private MariaDB");
        for statement in statements {
            conn.execute(*statement)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
    }

    /// Database `name` and an account `user` with every right on it that
    /// must connect over TLS (`REQUIRE SSL`, as the RDS runbook creates them).
    pub async fn create_tls_account(&self, name: &str, user: &str, password: &str) {
        self.admin(&[
            &format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"),
            &format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}' REQUIRE SSL"),
            &format!("GRANT ALL PRIVILEGES ON {name}.* TO '{user}'@'%'"),
        ])
        .await;
    }
}
