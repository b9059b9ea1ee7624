//! An ended session stays ended (issue 12, point 6): with Redis sessions,
//! the idle-clock refresh of a request that read its session just before a
//! concurrent disable or role change must not bring the old session back.
//! A TCP proxy between the bff and the real Redis holds that refresh write
//! while the other request ends or changes the session.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use folio_platform::db::Backend;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use super::helpers::{Options, PASSWORD, Sessions, TestSystem, redis_url};

/// Commands that write a key, as they appear in RESP (`\r\nSET\r\n`); a
/// removal (`DEL`, `SREM`) is not among them and passes at once.
const WRITES: &[&str] = &[
    "SET", "SETEX", "HSET", "EXPIRE", "MULTI", "EVAL", "EVALSHA", "FCALL",
];

/// Passes Redis traffic through, holding back for `delay` every write that
/// names the session key it is armed with.
#[derive(Clone)]
struct DelayingProxy {
    port: u16,
    armed: Arc<Mutex<Option<String>>>,
}

fn is_held_write(chunk: &[u8], key: &str) -> bool {
    let text = String::from_utf8_lossy(chunk).to_uppercase();
    text.contains(&key.to_uppercase())
        && WRITES
            .iter()
            .any(|command| text.contains(&format!("\r\n{command}\r\n")))
}

impl DelayingProxy {
    async fn start(upstream: String, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed: Arc<Mutex<Option<String>>> = Arc::default();
        let proxy = Self {
            port,
            armed: Arc::clone(&armed),
        };
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let armed = Arc::clone(&armed);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match client_read.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let key = armed.lock().unwrap().clone();
                        if key.is_some_and(|key| is_held_write(&buf[..n], &key)) {
                            tokio::time::sleep(delay).await;
                        }
                        if server_write.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                });
            }
        });
        proxy
    }

    fn arm(&self, session_key: &str) {
        *self.armed.lock().unwrap() = Some(session_key.to_owned());
    }

    fn disarm(&self) {
        *self.armed.lock().unwrap() = None;
    }
}

/// A session made by hand: its cookie, its CSRF token and the hash the
/// store keys it by.
struct Handle {
    cookie: String,
    csrf: String,
    key: String,
}

async fn sign_in(system: &TestSystem, email: &str) -> Handle {
    let reply = system.browser().sign_in(email, PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let cookie = reply
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = cookie.split_once('=').unwrap().1;
    let key = Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Handle {
        cookie,
        csrf: reply.json()["csrf_token"].as_str().unwrap().to_owned(),
        key,
    }
}

async fn call(
    system: &TestSystem,
    handle: &Handle,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> StatusCode {
    let browser = system.browser();
    let mut request = browser
        .http
        .request(method.clone(), format!("{}{path}", browser.base))
        .header("cookie", &handle.cookie)
        .header("x-csrf-token", &handle.csrf);
    if let Some(body) = body {
        request = request.json(&body);
    }
    browser.send(request, &method, path).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ended_session_stays_ended_while_its_refresh_is_delayed() {
    let upstream = redis_url()
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    // Under the Redis client's response timeout (500 ms), so the held write still lands.
    let delay = Duration::from_millis(450);
    let proxy = DelayingProxy::start(upstream, delay).await;
    let system = TestSystem::spawn_with(
        Backend::Sqlite,
        Options {
            sessions: Some(Sessions::redis(&format!(
                "redis://127.0.0.1:{}",
                proxy.port
            ))),
            ..Options::default()
        },
    )
    .await;
    let admin = system.signed_in("admin@acme.example").await;
    let doc = admin.add_document("Plan", "plan.txt", b"v1").await;
    let doc_path = format!(
        "/api/v1/documents/{}",
        doc["document"]["id"].as_str().unwrap()
    );
    let (leaver, _) = system.user(&admin, "leaver@acme.example", "editor").await;
    let (demoted, _) = system.user(&admin, "demoted@acme.example", "editor").await;
    let leaver_session = Arc::new(sign_in(&system, "leaver@acme.example").await);
    let demoted_session = Arc::new(sign_in(&system, "demoted@acme.example").await);
    // The idle clock restarts at most once a second: let a second pass.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // A request reads the leaver's session; its refresh is held while an
    // admin disables the leaver (which ends their sessions).
    proxy.arm(&leaver_session.key);
    let reading = {
        let (system_base, handle) = (system.base.clone(), Arc::clone(&leaver_session));
        tokio::spawn(async move {
            reqwest::Client::new()
                .get(format!("{system_base}/api/v1/documents"))
                .header("cookie", &handle.cookie)
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let disabled = admin
        .json(
            Method::PATCH,
            &format!("/api/v1/users/{}", leaver["id"].as_str().unwrap()),
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.text());
    // Read before it ended: served, or refused once its refresh found it gone.
    let read = reading.await.unwrap();
    assert!(
        [StatusCode::OK, StatusCode::UNAUTHORIZED].contains(&read),
        "{read}"
    );
    proxy.disarm();
    assert_eq!(
        call(
            &system,
            &leaver_session,
            Method::GET,
            "/api/v1/documents",
            None
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "the disabled user's session came back"
    );

    // The same with a role change: the held refresh must not restore the old role.
    proxy.arm(&demoted_session.key);
    let reading = {
        let (system_base, handle) = (system.base.clone(), Arc::clone(&demoted_session));
        tokio::spawn(async move {
            reqwest::Client::new()
                .get(format!("{system_base}/api/v1/documents"))
                .header("cookie", &handle.cookie)
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let demotion = admin
        .json(
            Method::PATCH,
            &format!("/api/v1/users/{}", demoted["id"].as_str().unwrap()),
            &json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(demotion.status, StatusCode::OK, "{}", demotion.text());
    assert_eq!(reading.await.unwrap(), StatusCode::OK);
    proxy.disarm();
    assert_eq!(
        call(
            &system,
            &demoted_session,
            Method::PATCH,
            &doc_path,
            Some(json!({"title": "Edited by a viewer"})),
        )
        .await,
        StatusCode::FORBIDDEN,
        "the demoted user's session got its old role back"
    );
    assert_eq!(
        call(&system, &demoted_session, Method::GET, &doc_path, None).await,
        StatusCode::OK,
        "the demoted user is still signed in, as a viewer"
    );
}
