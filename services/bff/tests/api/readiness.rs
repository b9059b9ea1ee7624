//! Readiness is the bff pod's own (docs/adr/0062): a domain service going
//! away leaves every bff replica in the load balancer, and the calls that
//! need it answer a prompt 503 problem instead.

use std::time::{Duration, Instant};

use folio_platform::db::Backend;
use reqwest::StatusCode;

use super::helpers::TestSystem;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_downstream_outage_keeps_the_bff_ready_and_fails_fast() {
    let system = TestSystem::spawn(Backend::Sqlite).await;
    let admin = system.signed_in("admin@acme.example").await;
    assert_eq!(admin.get("/api/v1/documents").await.status, StatusCode::OK);

    system.stop_documents();
    // The documents listener closes once its grace period has no call left.
    let started = Instant::now();
    let down = loop {
        let reply = admin.get("/api/v1/documents").await;
        if reply.status != StatusCode::OK || started.elapsed() > Duration::from_secs(20) {
            break reply;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        (down.status, down.problem_type().as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, "service-unavailable"),
        "{}",
        down.text()
    );
    assert_eq!(
        down.header("content-type"),
        Some("application/problem+json")
    );
    let problem = down.json();
    assert_eq!(problem["status"], 503);
    assert!(
        problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "the problem says what is unavailable: {problem}"
    );

    let timed = Instant::now();
    let again = admin.get("/api/v1/documents").await;
    assert_eq!(again.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        timed.elapsed() < Duration::from_secs(2),
        "fails fast, not after a timeout: {:?}",
        timed.elapsed()
    );

    let ready = system.browser().get("/readyz").await;
    assert_eq!(
        ready.status,
        StatusCode::OK,
        "the bff can still serve sign-in, the portal and users: it stays ready ({})",
        ready.text()
    );
    // What does not need documents still works.
    assert_eq!(admin.get("/api/v1/session").await.status, StatusCode::OK);
}
