//! Request parts are capped while they are read (issue 12, point 3): a
//! 256 MiB multipart text part must not grow the bff's memory. The bff runs
//! as its own process here (the `folio-bff` binary, in-process sessions,
//! the users service of this test behind it), so its resident memory is its
//! own: `VmRSS` of that child process, sampled while the part is sent.

use std::{
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use folio_proto::users::v1::{self as pb, users_service_client::UsersServiceClient};
use folio_testkit::{Pki, TestDatabase, any_port};
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{contract::contract, helpers::PASSWORD};

const MIB: u64 = 1 << 20;

struct ChildBff(Child);

impl Drop for ChildBff {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Resident memory of `pid` in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS in /proc/<pid>/status")
        * 1024
}

/// Sends a multipart body whose `description` part is `size` bytes, as a
/// client would, without holding it: the bff may answer before it is all
/// sent. The status and body of the answer.
async fn send_huge_description(
    port: u16,
    cookie: &str,
    csrf: &str,
    size: u64,
) -> Option<(u16, Option<String>, Vec<u8>)> {
    let boundary = "folio-memory-test";
    let head =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n");
    let tail = format!(
        "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nx\r\n--{boundary}--\r\n"
    );
    let length = head.len() as u64 + size + tail.len() as u64;
    let request = format!(
        "POST /api/v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n{head}"
    );
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let sender = tokio::spawn(async move {
        let block = vec![b'a'; 64 * 1024];
        writer.write_all(request.as_bytes()).await?;
        let mut left = size;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            writer.write_all(&block[..n]).await?;
            left -= n as u64;
        }
        writer.write_all(tail.as_bytes()).await?;
        std::io::Result::Ok(())
    });
    let mut answer = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(60), reader.read(&mut buf)).await {
            Ok(Ok(0)) => break,
            Ok(Err(error)) => {
                eprintln!("reading the answer: {error}");
                break;
            }
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the bff did not answer within a minute"),
        }
        if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..end]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if answer.len() >= end + 4 + length {
                break;
            }
        }
    }
    sender.abort();
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&answer[..end]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap();
    let content_type = head.lines().find_map(|l| {
        l.to_lowercase()
            .strip_prefix("content-type:")
            .map(|v| v.trim().to_owned())
    });
    Some((status, content_type, answer[end + 4..].to_vec()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_text_part_leaves_the_bff_memory_flat() {
    folio_platform::telemetry::init(folio_platform::telemetry::LogFormat::Text);
    let pki = Pki::new();
    let db = TestDatabase::create(folio_platform::db::Backend::Sqlite).await;
    let users = folio_users::Application::build(folio_users::Settings {
        platform: pki.platform("users"),
        database: db.settings(),
        grpc_addr: any_port(),
        bootstrap: None,
        secrets_key: None,
    })
    .await
    .expect("users starts");
    let users_port = users.port();
    let stop = users.stop_token();
    tokio::spawn(users.run_until_stopped());
    UsersServiceClient::new(pki.channel("operator", users_port))
        .create_organisation(pb::CreateOrganisationRequest {
            name: "acme".into(),
            admin_email: "admin@acme.example".into(),
            admin_display_name: "Acme admin".into(),
            admin_password: PASSWORD.into(),
        })
        .await
        .unwrap();

    let port = free_port();
    let tls = pki.files("bff");
    let child = Command::new(env!("CARGO_BIN_EXE_folio-bff"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("FOLIO_BFF_ADDR", format!("127.0.0.1:{port}"))
        .env(
            "FOLIO_BFF_USERS_URL",
            format!("https://localhost:{users_port}"),
        )
        .env(
            "FOLIO_BFF_DOCUMENTS_URL",
            format!("https://localhost:{}", free_port()),
        )
        .env(
            "FOLIO_BFF_INTEGRATION_URL",
            format!("https://localhost:{}", free_port()),
        )
        .env("FOLIO_BFF_COOKIE_SECURE", "false")
        .env("FOLIO_BFF_MAX_UPLOAD_BYTES", "1GiB")
        .env("FOLIO_BFF_TLS_CERT_FILE", &tls.cert)
        .env("FOLIO_BFF_TLS_KEY_FILE", &tls.key)
        .env("FOLIO_BFF_TLS_CA_FILE", &tls.ca)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the folio-bff binary starts");
    let bff = ChildBff(child);
    let pid = bff.0.id();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for attempt in 0.. {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status() == StatusCode::OK
        {
            break;
        }
        assert!(attempt < 200, "the bff did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let signed_in = http
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"email": "admin@acme.example", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK);
    let cookie = signed_in
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = signed_in.json::<serde_json::Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Warm up the paths the big request takes, then measure from there.
    send_huge_description(port, &cookie, &csrf, 4 * MIB).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss(pid);
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    let answer = send_huge_description(port, &cookie, &csrf, 256 * MIB).await;
    // Whatever the bff still does with the rest of the connection counts too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let after = rss(pid);
    let peak = peak.load(Ordering::Relaxed).max(after);

    eprintln!(
        "bff (pid {pid}) VmRSS before {} KiB, peak {} KiB, after {} KiB",
        before / 1024,
        peak / 1024,
        after / 1024
    );
    assert!(
        peak <= before + 8 * MIB,
        "a 256 MiB text part raised the bff's resident memory from {before} to {peak} bytes"
    );
    let (status, content_type, body) = answer.expect("the bff answers before closing");
    contract().check(
        "POST",
        "/api/v1/documents",
        status,
        content_type.as_deref(),
        &body,
    );
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        problem["type"],
        "https://folio.dev/problems/payload-too-large"
    );
    stop.cancel();
}

/// Sends `head` and then `first` as the start of a chunked body that never
/// ends, and waits for the answer: a body refused while it is read gets
/// its 413 at once; one buffered whole would keep the client waiting.
async fn answer_to_an_unending_body(port: u16, head: &str, first: &[u8]) -> Option<String> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(head.as_bytes()).await.unwrap();
    let first = first.to_vec();
    // The body goes on arriving (in chunks of the same filler) until the
    // server answers or 1 MiB more was sent: the server may let one chunk
    // past a cap (it cannot choose the transport's chunk sizes), never more.
    let sending = tokio::spawn(async move {
        let filler = vec![b'a'; 16 * 1024];
        let mut chunk = first;
        for _ in 0..64 {
            let framed = [
                format!("{:x}\r\n", chunk.len()).into_bytes(),
                chunk,
                b"\r\n".to_vec(),
            ]
            .concat();
            if writer.write_all(&framed).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            chunk = filler.clone();
        }
        // Held open, never finished: the body is still arriving.
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(writer);
    });
    let mut answer = Vec::new();
    let mut buf = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    sending.abort();
    read.ok()?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    text.split(' ').nth(1).map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_bodies_are_refused_while_still_arriving() {
    let system = super::helpers::TestSystem::spawn(folio_platform::db::Backend::Sqlite).await;
    let port: u16 = system.base.rsplit(':').next().unwrap().parse().unwrap();
    // Signed in by hand: the raw requests below carry the cookie themselves.
    let signed_in = system
        .browser()
        .sign_in("admin@acme.example", super::helpers::PASSWORD)
        .await;
    let cookie = signed_in
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = signed_in.json()["csrf_token"].as_str().unwrap().to_owned();

    // A JSON body past 64 KiB, its length undeclared.
    let json_head = format!(
        "PATCH /api/v1/documents/01900000-0000-7000-8000-000000000000 HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let mut json_start = b"{\"title\": \"".to_vec();
    json_start.resize(100 * 1024, b'a');
    assert_eq!(
        answer_to_an_unending_body(port, &json_head, &json_start)
            .await
            .as_deref(),
        Some("413"),
        "a JSON body is refused once it passes 64 KiB"
    );

    // A multipart text part past 64 KiB.
    let form_head = format!(
        "POST /api/v1/documents HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Type: multipart/form-data; boundary=b0undary\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let mut form_start =
        b"--b0undary\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n".to_vec();
    form_start.resize(100 * 1024, b'a');
    assert_eq!(
        answer_to_an_unending_body(port, &form_head, &form_start)
            .await
            .as_deref(),
        Some("413"),
        "a text part is refused once it passes 64 KiB"
    );

    // Part headers that never end are capped too.
    let mut headers_start =
        b"--b0undary\r\nContent-Disposition: form-data; name=\"title\"\r\nX-Pad: ".to_vec();
    headers_start.resize(100 * 1024, b'a');
    assert_eq!(
        answer_to_an_unending_body(port, &form_head, &headers_start)
            .await
            .as_deref(),
        Some("413"),
        "part headers are capped"
    );
}
