//! The document list a bff replica keeps (docs/adr/0081) is never stale: a
//! change made through another replica, or by the integration, shows on the
//! next list, and one organisation's kept page never reaches another.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::helpers::{Browser, Options, Sessions, TestSystem, redis_url};

fn titles(reply: &super::helpers::Reply) -> Vec<String> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn list(browser: &Browser, query: &str) -> Vec<String> {
    titles(&browser.get(&format!("/api/v1/documents{query}")).await)
}

/// Two bff replicas on MariaDB and Redis, and acme's admin signed in: the
/// same session through the one and through the other.
async fn two_replicas() -> (TestSystem, Browser, Browser) {
    let system = TestSystem::spawn_with(
        folio_platform::db::Backend::MySql,
        Options {
            sessions: Some(Sessions::redis(&redis_url())),
            second_bff: true,
            ..Options::default()
        },
    )
    .await;
    let here = system.signed_in("admin@acme.example").await;
    let there = Browser {
        base: system.replica_base.clone().unwrap(),
        ..here.clone()
    };
    (system, here, there)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_another_replica_shows_on_the_next_list() {
    let (system, here, there) = two_replicas().await;
    let globex = system.signed_in("admin@globex.example").await;

    let lease = here.add_document("Lease", "lease.txt", b"lease").await;
    let lease_id = lease["document"]["id"].as_str().unwrap().to_owned();
    let lease_path = format!("/api/v1/documents/{lease_id}");
    // Asked twice, so that the second is answered from the kept page.
    for _ in 0..2 {
        assert_eq!(list(&here, "").await, ["Lease"]);
        assert_eq!(list(&here, "?task_status=open").await, Vec::<String>::new());
    }
    // Same query, other organisation: its own page.
    assert_eq!(list(&globex, "").await, Vec::<String>::new());

    let renamed = there
        .json(Method::PATCH, &lease_path, &json!({"title": "Lease 2027"}))
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text());
    assert_eq!(list(&here, "").await, ["Lease 2027"]);

    there.add_document("Deed", "deed.txt", b"deed").await;
    assert_eq!(list(&here, "").await, ["Deed", "Lease 2027"]);
    assert_eq!(list(&here, "?limit=1").await, ["Deed"]);

    let task = there
        .json(
            Method::POST,
            &format!("{lease_path}/tasks"),
            &json!({"title": "Sign it"}),
        )
        .await;
    assert_eq!(task.status, StatusCode::CREATED, "{}", task.text());
    assert_eq!(list(&here, "?task_status=open").await, ["Lease 2027"]);
    let task_id = task.json()["id"].as_str().unwrap().to_owned();
    let done = there
        .json(
            Method::PATCH,
            &format!("/api/v1/tasks/{task_id}"),
            &json!({"status": "done"}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    assert_eq!(list(&here, "?task_status=open").await, Vec::<String>::new());

    let gone = there.delete(&lease_path).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text());
    assert_eq!(list(&here, "").await, ["Deed"]);
    assert_eq!(list(&globex, "").await, Vec::<String>::new());
    // A bad query is refused as before, and keeps nothing.
    let bad = here.get("/api/v1/documents?limit=1000").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text());
    assert_eq!(list(&here, "").await, ["Deed"]);
}

/// Many lists at once while another replica changes the library: every
/// list that begins after a change has been answered shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_in_flight_see_every_change_answered_before_they_began() {
    let (_system, here, there) = two_replicas().await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let (here, stop) = (here.clone(), std::sync::Arc::clone(&stop));
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    list(&here, "").await;
                }
            })
        })
        .collect();
    for n in 0..10 {
        let title = format!("Doc {n}");
        let added: Value = there
            .add_document(&title, "doc.txt", title.as_bytes())
            .await;
        assert_eq!(added["document"]["title"], title.as_str());
        let seen = list(&here, "?limit=1").await;
        assert_eq!(seen, [title], "the list after change {n}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        reader.await.unwrap();
    }
}
