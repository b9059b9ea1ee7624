//! The bff's listener in the cluster (docs/adr/0069): HTTPS with the
//! certificate it was given, a renewed certificate served without a restart,
//! and nothing for a client that speaks plain HTTP to it.

use std::time::{Duration, Instant};

use folio_platform::{db::Backend, https::HttpsFiles, pki::DevPki};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::helpers::{Options, TestSystem};

/// A client that trusts only `ca`. Each check uses a new one: a pooled
/// connection, or a TLS session it resumes, would show the certificate of an
/// earlier handshake.
fn client(ca: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca).expect("CA"))
        .tls_info(true)
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

/// The DER of the certificate the bff presented, and the status of `/healthz`.
async fn healthz(client: &reqwest::Client, base: &str) -> (StatusCode, Vec<u8>) {
    let reply = client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("HTTPS request");
    let served = reply
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("the server presented a certificate")
        .to_vec();
    (reply.status(), served)
}

fn der(pem_file: &std::path::Path) -> Vec<u8> {
    let pem = std::fs::read(pem_file).expect("certificate file");
    let leaf = rustls_pemfile::certs(&mut pem.as_slice())
        .next()
        .expect("a certificate")
        .expect("PEM");
    leaf.to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bff_serves_https_with_its_certificate_follows_a_renewal_and_refuses_plain_http() {
    // The listener's own certificate, from a CA of its own (in the cluster:
    // cert-manager's, mounted as files).
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = DevPki::open(dir.path().join("public")).expect("PKI");
    let issued = pki.identity("bff").expect("certificate");
    let ca = std::fs::read(pki.ca_cert_path()).expect("CA file");
    let system = TestSystem::spawn_with(
        Backend::Sqlite,
        Options {
            http_tls: Some(HttpsFiles {
                cert: issued.cert.clone(),
                key: issued.key.clone(),
            }),
            ..Options::default()
        },
    )
    .await;
    assert!(system.base.starts_with("https://"), "{}", system.base);

    let (status, served) = healthz(&client(&ca), &system.base).await;
    assert_eq!(status, StatusCode::OK);
    let first = der(&issued.cert);
    assert_eq!(served, first, "the certificate it was given");

    // cert-manager renews: new key pair, same files.
    pki.issue("bff").expect("renewal");
    let renewed = der(&issued.cert);
    assert_ne!(renewed, first);
    let started = Instant::now();
    loop {
        let (status, served) = healthz(&client(&ca), &system.base).await;
        assert_eq!(status, StatusCode::OK);
        if served == renewed {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the renewed certificate was not served without a restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Plain HTTP on the same port gets no HTTP answer at all.
    let plain = system.base.replace("https://", "http://");
    assert!(
        reqwest::Client::new()
            .get(format!("{plain}/healthz"))
            .send()
            .await
            .is_err(),
        "plain HTTP was answered"
    );
    let addr = system.base.trim_start_matches("https://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut answer))
        .await
        .expect("the connection is closed, not left hanging");
    assert!(
        !answer.starts_with(b"HTTP/"),
        "plain HTTP got an HTTP answer: {}",
        String::from_utf8_lossy(&answer)
    );
}
