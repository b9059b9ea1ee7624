//! Counterparts of the notifications service, per test: a client system's
//! webhook endpoint that verifies every delivery with the `standardwebhooks`
//! library. `scripts/install-notify-receivers` (run by `./scripts/test`)
//! installs its Python packages into `~/.cache/folio-venv-notify`; set
//! `FOLIO_NOTIFY_PYTHON` to use another interpreter with them.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    sync::mpsc,
    time::Duration,
};

use serde_json::{Value, json};

use crate::process::Tied;

const RECEIVER: &str = include_str!("python/webhook_receiver.py");

fn python() -> PathBuf {
    if let Some(path) = std::env::var_os("FOLIO_NOTIFY_PYTHON") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache/folio-venv-notify/bin/python")
}

/// A Python program from `source`, run with the notify virtualenv; returns
/// the process and the first line it printed on stdout (its port).
fn start_python(name: &str, source: &str, args: &[String]) -> (Tied, u16, tempfile::TempDir) {
    let python = python();
    assert!(
        python.is_file(),
        "{} not found — the notifications tests need aiosmtpd and standardwebhooks: \
         run scripts/install-notify-receivers (./scripts/test does), or set FOLIO_NOTIFY_PYTHON",
        python.display()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join(name);
    std::fs::write(&script, source).expect("script written");
    let mut all = vec![script.display().to_string()];
    all.extend(args.iter().cloned());
    let mut process = Tied::spawn_with_stdout(&python, all);
    let stdout = process.stdout();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().and_then(Result::ok);
        let _ = tx.send(first);
        for _ in lines {}
    });
    let port = rx
        .recv_timeout(Duration::from_secs(30))
        .ok()
        .flatten()
        .and_then(|line| line.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} did not start"));
    (process, port, dir)
}

/// One delivery as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub body: Value,
    /// Whether `standardwebhooks` accepted the signature.
    pub verified: bool,
    pub error: Option<String>,
}

/// A webhook endpoint on a free loopback port. Dropping it stops it.
#[derive(Debug)]
pub struct WebhookReceiver {
    port: u16,
    http: reqwest::Client,
    _process: Tied,
    _dir: tempfile::TempDir,
}

impl WebhookReceiver {
    pub fn start() -> Self {
        let (process, port, dir) = start_python("webhook_receiver.py", RECEIVER, &[]);
        Self {
            port,
            http: reqwest::Client::new(),
            _process: process,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn control(&self, body: Value) {
        self.http
            .post(self.url("/_control"))
            .json(&body)
            .send()
            .await
            .expect("receiver control");
    }

    /// The secret deliveries are verified with.
    pub async fn set_secret(&self, secret: &str) {
        self.control(json!({ "secret": secret })).await;
    }

    /// The status to answer deliveries with from now on.
    pub async fn answer(&self, status: u16) {
        self.control(json!({ "status": status })).await;
    }

    /// Seconds to wait before answering each delivery.
    pub async fn delay(&self, seconds: f64) {
        self.control(json!({ "delay": seconds })).await;
    }

    /// Every delivery received so far, in order.
    pub async fn received(&self) -> Vec<Received> {
        let list: Vec<Value> = self
            .http
            .get(self.url("/_received"))
            .send()
            .await
            .expect("receiver answers")
            .json()
            .await
            .expect("receiver JSON");
        list.into_iter()
            .map(|v| Received {
                id: v["id"].as_str().unwrap_or_default().to_owned(),
                timestamp: v["timestamp"].as_str().unwrap_or_default().to_owned(),
                body: serde_json::from_str(v["body"].as_str().unwrap_or("null"))
                    .unwrap_or(Value::Null),
                verified: v["verified"].as_bool().unwrap_or(false),
                error: v["error"].as_str().map(str::to_owned),
            })
            .collect()
    }
}
