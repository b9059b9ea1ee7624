//! A private AWS for one test: `moto_server` (S3, Secrets Manager, …) on a
//! free loopback port, started by the test and stopped when it is dropped.
//!
//! `scripts/install-moto` (run by `./scripts/test`) installs moto into
//! `~/.cache/folio-venv-moto`; set `FOLIO_MOTO_SERVER` to use another
//! `moto_server`.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    sync::mpsc,
    time::Duration,
};

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};

use crate::process::Tied;

/// The region and key every test uses with moto (which checks no signature).
pub const REGION: &str = "us-east-1";
pub const ACCESS_KEY_ID: &str = "folio-test";
pub const SECRET_ACCESS_KEY: &str = "folio-test-secret";

/// A running `moto_server`. Dropping it stops the server.
#[derive(Debug)]
pub struct Moto {
    port: u16,
    _process: Tied,
    http: reqwest::Client,
}

fn moto_server() -> PathBuf {
    if let Some(path) = std::env::var_os("FOLIO_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache/folio-venv-moto/bin/moto_server")
}

impl Moto {
    /// Starts `moto_server` on 127.0.0.1 and waits until it listens.
    /// Panics with what to do when moto is not installed or does not start.
    pub fn start() -> Self {
        let server = moto_server();
        assert!(
            server.is_file(),
            "moto_server not found at {} — the S3 and Secrets Manager tests need moto: \
             run scripts/install-moto (./scripts/test does) to install it into \
             ~/.cache/folio-venv-moto, or set FOLIO_MOTO_SERVER to a moto_server",
            server.display()
        );
        let mut process = Tied::spawn(&server, ["-H", "127.0.0.1", "-p", "0"]);
        let stderr = process.stderr();
        let (tx, rx) = mpsc::channel();
        // Reads moto's log: the first line naming its address gives the port;
        // everything after is drained so that moto never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut seen = String::new();
            let mut found = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if !found {
                    if let Some(port) = line
                        .split("http://127.0.0.1:")
                        .nth(1)
                        .and_then(|rest| rest.trim().parse::<u16>().ok())
                    {
                        found = true;
                        let _ = tx.send(Ok(port));
                    } else {
                        seen.push_str(&line);
                        seen.push('\n');
                    }
                }
            }
            if !found {
                let _ = tx.send(Err(seen));
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(port)) => port,
            Ok(Err(output)) => panic!(
                "moto_server ({}) exited before listening:\n{output}",
                server.display()
            ),
            Err(_) => panic!(
                "moto_server ({}) did not listen within 60 s",
                server.display()
            ),
        };
        Self {
            port,
            _process: process,
            http: reqwest::Client::new(),
        }
    }

    /// `http://127.0.0.1:<port>`: the endpoint for every AWS service.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Variables that point an AWS SDK (in a child process) at this server
    /// for Secrets Manager, with test credentials and no instance metadata.
    pub fn sdk_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", self.endpoint()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }

    /// A real Secrets Manager client talking to this server.
    pub fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(self.endpoint())
            .credentials_provider(Credentials::new(
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
                None,
                None,
                "folio-testkit",
            ))
            .http_client(folio_platform::aws::http_client())
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    }

    fn s3(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        // moto takes the account from the credential in the header and
        // checks no signature; anonymous reads of objects are refused.
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/20260101/{REGION}/s3/aws4_request, \
             SignedHeaders=host, Signature=0"
        );
        self.http
            .request(method, format!("{}/{path}", self.endpoint()))
            .header("authorization", auth)
    }

    async fn s3_ok(&self, request: reqwest::RequestBuilder) -> reqwest::Response {
        let response = request.send().await.expect("moto answers");
        assert!(
            response.status().is_success(),
            "moto refused an S3 request: {}",
            response.status()
        );
        response
    }

    pub async fn create_bucket(&self, bucket: &str) {
        self.s3_ok(self.s3(reqwest::Method::PUT, bucket)).await;
    }

    /// Every object key in the bucket (a listing, as S3 gives it).
    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let xml = self
            .s3_ok(self.s3(
                reqwest::Method::GET,
                &format!("{bucket}?list-type=2&max-keys=1000"),
            ))
            .await
            .text()
            .await
            .unwrap();
        assert!(!xml.contains("<IsTruncated>true"), "more than 1000 keys");
        let mut keys = elements(&xml, "Key");
        keys.sort();
        keys
    }

    /// The keys of multipart uploads begun and neither completed nor aborted.
    pub async fn open_uploads(&self, bucket: &str) -> Vec<String> {
        let xml = self
            .s3_ok(self.s3(reqwest::Method::GET, &format!("{bucket}?uploads")))
            .await
            .text()
            .await
            .unwrap();
        let mut keys = elements(&xml, "Key");
        keys.sort();
        keys
    }

    /// Every open multipart upload's key and how many parts it has so far.
    pub async fn upload_parts(&self, bucket: &str) -> Vec<(String, usize)> {
        let xml = self
            .s3_ok(self.s3(reqwest::Method::GET, &format!("{bucket}?uploads")))
            .await
            .text()
            .await
            .unwrap();
        let mut uploads = Vec::new();
        for upload in xml.split("<Upload>").skip(1) {
            let key = elements(upload, "Key").remove(0);
            let id = elements(upload, "UploadId").remove(0);
            let parts = self
                .s3_ok(self.s3(
                    reqwest::Method::GET,
                    &format!("{bucket}/{key}?uploadId={id}&max-parts=10000"),
                ))
                .await
                .text()
                .await
                .unwrap();
            uploads.push((key, parts.matches("<Part>").count()));
        }
        uploads
    }

    /// The headers of a `HEAD` of one object (`etag`, `x-amz-server-side-encryption`, …).
    pub async fn head(&self, bucket: &str, key: &str) -> reqwest::header::HeaderMap {
        self.s3_ok(self.s3(reqwest::Method::HEAD, &format!("{bucket}/{key}")))
            .await
            .headers()
            .clone()
    }
}

/// The text of every `<name>…</name>` in a (flat, known) XML answer.
fn elements(xml: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split_once(&close).map(|(text, _)| text))
        .map(|text| {
            text.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&")
        })
        .collect()
}
