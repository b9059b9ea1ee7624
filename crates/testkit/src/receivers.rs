//! Counterparts of the notifications service, per test: a client system's
//! webhook endpoint that verifies every delivery with the `standardwebhooks`
//! library. `scripts/install-notify-receivers` (run by `./scripts/test`)
//! installs its Python packages into `~/.cache/folio-venv-notify`; set
//! `FOLIO_NOTIFY_PYTHON` to use another interpreter with them.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::process::Tied;

const RECEIVER: &str = include_str!("python/webhook_receiver.py");
const SMTP_SERVER: &str = include_str!("python/smtp_server.py");

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
/// the process and the first line it printed on stdout.
fn start_python(name: &str, source: &str, args: &[String]) -> (Tied, String, tempfile::TempDir) {
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
    let line = process
        .first_line()
        .unwrap_or_else(|| panic!("{name} did not start"));
    (process, line, dir)
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
        let (process, line, dir) = start_python("webhook_receiver.py", RECEIVER, &[]);
        let port = line.parse().expect("the receiver prints its port");
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

/// How a test SMTP server behaves.
#[derive(Debug, Clone, Default)]
pub struct SmtpOptions {
    /// Offers STARTTLS with this certificate and key.
    pub starttls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Speaks TLS from the first byte (smtps://) with this certificate and key.
    pub implicit_tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Answers 550 to every recipient.
    pub refuse: bool,
    /// Requires AUTH with this user name and password (over TLS only);
    /// [`SmtpServer::set_login`] changes it.
    pub auth: Option<(String, String)>,
    /// Seconds to wait before accepting each message.
    pub delay: Option<f64>,
}

/// One message as the server accepted it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Whether the session was under TLS (STARTTLS or implicit).
    pub tls: bool,
    pub authenticated: bool,
    /// The raw message (headers and MIME body).
    pub data: String,
    /// As Python's `email` package reads it.
    pub subject: String,
    pub message_id: String,
    pub header_to: String,
    /// `multipart/alternative` for a plain-text and an HTML part.
    pub content_type: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

/// A real SMTP server (aiosmtpd) on a free loopback port. Dropping it stops it.
#[derive(Debug)]
pub struct SmtpServer {
    port: u16,
    outdir: tempfile::TempDir,
    /// The login AUTH accepts, read by the server on every AUTH.
    login: tempfile::TempDir,
    _process: Tied,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    pub fn start(options: &SmtpOptions) -> Self {
        let port = crate::process::free_port();
        let outdir = tempfile::tempdir().expect("temp dir");
        let mut args = vec![port.to_string(), outdir.path().display().to_string()];
        let pair = |flag: &str, (cert, key): &(std::path::PathBuf, std::path::PathBuf)| {
            vec![
                flag.to_owned(),
                cert.display().to_string(),
                key.display().to_string(),
            ]
        };
        if let Some(p) = &options.starttls {
            args.extend(pair("--starttls", p));
        }
        if let Some(p) = &options.implicit_tls {
            args.extend(pair("--implicit-tls", p));
        }
        if options.refuse {
            args.push("--refuse".to_owned());
        }
        if let Some(delay) = options.delay {
            args.extend(["--delay".to_owned(), delay.to_string()]);
        }
        let login = tempfile::tempdir().expect("temp dir");
        if let Some((user, password)) = &options.auth {
            let file = login.path().join("login");
            std::fs::write(&file, format!("{user}\n{password}")).expect("login file");
            args.extend(["--auth".to_owned(), file.display().to_string()]);
        }
        let (process, line, dir) = start_python("smtp_server.py", SMTP_SERVER, &args);
        assert_eq!(line, "ready", "smtp_server.py did not start");
        Self {
            port,
            outdir,
            login,
            _process: process,
            _dir: dir,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// From now on AUTH accepts only this login (a rotated password).
    pub fn set_login(&self, user: &str, password: &str) {
        let tmp = self.login.path().join(".login");
        std::fs::write(&tmp, format!("{user}\n{password}")).expect("login file");
        std::fs::rename(tmp, self.login.path().join("login")).expect("login file");
    }

    /// Every message accepted so far, in order.
    pub fn received(&self) -> Vec<Mail> {
        let mut files: Vec<(u64, std::path::PathBuf)> = std::fs::read_dir(self.outdir.path())
            .expect("outdir")
            .filter_map(|e| {
                let path = e.ok()?.path();
                let n = path.file_stem()?.to_str()?.parse().ok()?;
                (path.extension()? == "json").then_some((n, path))
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, path)| {
                let v: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("mail"))
                    .expect("mail JSON");
                Mail {
                    from: v["from"].as_str().unwrap_or_default().to_owned(),
                    to: v["to"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|t| t.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                    tls: v["tls"].as_bool().unwrap_or(false),
                    authenticated: v["authenticated"].as_bool().unwrap_or(false),
                    data: v["data"].as_str().unwrap_or_default().to_owned(),
                    subject: v["subject"].as_str().unwrap_or_default().to_owned(),
                    message_id: v["message_id"].as_str().unwrap_or_default().to_owned(),
                    header_to: v["header_to"].as_str().unwrap_or_default().to_owned(),
                    content_type: v["content_type"].as_str().unwrap_or_default().to_owned(),
                    text: v["text"].as_str().map(str::to_owned),
                    html: v["html"].as_str().map(str::to_owned),
                }
            })
            .collect()
    }
}
